//! Pausing, resuming and halting deployments and rings; retrying hosts.

use crate::backend::{ActError, ActionRequest};
use crate::model::{DeploymentState, HostState, RingState, Verb};

use super::Engine;
use super::act::Scope;

impl Engine {
    pub(super) fn pause_deployment(
        &mut self,
        d: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let state = self.deployments[d].state;
        if !matches!(
            state,
            DeploymentState::Running | DeploymentState::AwaitingApproval
        ) {
            return Err(ActError::Conflict(format!(
                "{} is {}: only a running deployment can be paused",
                self.deployments[d].name,
                state.words()
            )));
        }
        self.deployment_runs[d].paused_from = Some(state);
        let dep = &mut self.deployments[d];
        dep.state = DeploymentState::Paused;
        dep.state_reason = Some(format!(
            "paused by {actor}: installs under way finish, no new ones start"
        ));
        self.dirty.deployments.insert(d);
        Ok(self.done(Verb::Pause, Scope::Deployment(d), request, actor, None))
    }

    pub(super) fn resume_deployment(
        &mut self,
        d: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let state = self.deployments[d].state;
        if state != DeploymentState::Paused {
            let hint = if state == DeploymentState::Halted {
                " (a halted deployment is resumed by approving it)"
            } else {
                ""
            };
            return Err(ActError::Conflict(format!(
                "{} is {}, not paused{hint}",
                self.deployments[d].name,
                state.words()
            )));
        }
        let back = self.deployment_runs[d]
            .paused_from
            .take()
            .unwrap_or(DeploymentState::Running);
        let dep = &mut self.deployments[d];
        dep.state = back;
        dep.state_reason = None;
        self.dirty.deployments.insert(d);
        if back == DeploymentState::AwaitingApproval
            && let Some(n) = self.deployments[d].next_ring.clone()
        {
            let name = self
                .ring_index(&n)
                .map(|n| self.rings[n].name.clone())
                .unwrap_or(n);
            self.deployments[d].state_reason = Some(format!("gate to {name} awaits approval"));
        }
        Ok(self.done(Verb::Resume, Scope::Deployment(d), request, actor, None))
    }

    pub(super) fn halt_deployment(
        &mut self,
        d: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let state = self.deployments[d].state;
        if !matches!(
            state,
            DeploymentState::Running | DeploymentState::AwaitingApproval | DeploymentState::Paused
        ) {
            return Err(ActError::Conflict(format!(
                "{} is {}: only a running, paused or waiting deployment can be halted",
                self.deployments[d].name,
                state.words()
            )));
        }
        let reason = format!(
            "halted by {actor}: {}",
            request.reason.as_deref().unwrap_or("no reason given")
        );
        let ring = self.current_ring(d).filter(|&r| {
            matches!(
                self.rings[r].state,
                RingState::Deploying | RingState::Soaking | RingState::Paused
            )
        });
        self.halt(d, ring, reason);
        Ok(self.done(Verb::Halt, Scope::Deployment(d), request, actor, None))
    }

    /// Pause a ring: no new installs start in it (installs under way finish), its gate
    /// waits. A ring paused before its turn stays paused when approval opens it.
    pub(super) fn pause_ring(
        &mut self,
        r: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let state = self.rings[r].state;
        if matches!(state, RingState::Paused | RingState::Halted) {
            return Err(ActError::Conflict(format!(
                "{} is already {}",
                self.rings[r].name,
                state.words()
            )));
        }
        self.ring_runs[r].paused_from = Some(state);
        self.set_ring_state(
            r,
            RingState::Paused,
            Some(format!(
                "paused by {actor}: installs under way finish, no new ones start"
            )),
        );
        Ok(self.done(Verb::Pause, Scope::Ring(r), request, actor, None))
    }

    pub(super) fn resume_ring(
        &mut self,
        r: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        if self.rings[r].state != RingState::Paused {
            return Err(ActError::Conflict(format!(
                "{} is {}, not paused",
                self.rings[r].name,
                self.rings[r].state.words()
            )));
        }
        let back = self.ring_runs[r]
            .paused_from
            .take()
            .unwrap_or(RingState::Deploying);
        self.set_ring_state(r, back, None);
        Ok(self.done(Verb::Resume, Scope::Ring(r), request, actor, None))
    }

    pub(super) fn retry(
        &mut self,
        h: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let state = self.hosts[h].state;
        if !matches!(state, HostState::Failed | HostState::RolledBack)
            || self.host_runs[h].deployment.is_none()
        {
            return Err(ActError::Conflict(format!(
                "{} is {}: only failed or rolled-back hosts can be retried",
                self.hosts[h].name,
                state.as_str()
            )));
        }
        let code = self.hosts[h].failure.take().map(|f| f.code);
        self.host_runs[h].last_failure = None;
        let note = match code {
            Some(code) => format!("retry by {actor} after {code}"),
            None => format!("retry by {actor}"),
        };
        self.set_state(h, HostState::Pending, Some(note));
        self.enqueue_front(h);
        Ok(self.done(
            Verb::Retry,
            Scope::Host(h),
            request,
            actor,
            Some("re-queued".into()),
        ))
    }
}
