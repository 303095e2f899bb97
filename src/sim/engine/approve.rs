//! Approving and declining a deployment at its gate (the two-person rule, resuming a
//! halted ring), and the two-person rule itself: two approvals count only when they
//! come from two persons.

use crate::backend::{ActError, ActionRequest};
use crate::model::{
    ActionState, Approval, DeploymentState, GateState, Identity, PendingApproval, RingState, Verb,
};

use super::Engine;
use super::act::{Record, Scope};

impl Engine {
    /// Approve a deployment:
    /// - awaiting approval: opens the next ring. A production ring needs two different
    ///   approvers: the first approval is recorded as pending (action
    ///   awaiting-second-approver), a second one by the same person (under any of their
    ///   tokens) is refused, one by another person opens the ring and completes both
    ///   actions.
    /// - halted: resumes the halted ring (the same ring, not the next one) once its
    ///   failures are handled (retried, excluded or rolled back so that the failure
    ///   threshold no longer trips). A production ring needs two persons to resume, as
    ///   to open (whoever halted it may be one of them); elsewhere one approver is
    ///   enough. The ring deploys
    ///   again and, once its installs are over, soaks again in full (a halt restarts the
    ///   soak). A bad patch is therefore handled without a new deployment: roll back or
    ///   exclude the broken hosts (or retry them once fixed), then approve.
    pub(super) fn approve(
        &mut self,
        d: usize,
        request: &ActionRequest,
        identity: &Identity,
    ) -> Result<usize, ActError> {
        let actor = identity.name.as_str();
        let name = self.deployments[d].name.clone();
        match self.deployments[d].state {
            DeploymentState::AwaitingApproval => {
                let n = self.deployments[d]
                    .next_ring
                    .as_deref()
                    .and_then(|id| self.ring_index(id))
                    .ok_or_else(|| {
                        ActError::Conflict(format!("{name} has no ring to open next"))
                    })?;
                let current = self.current_ring(d);
                if self.rings[n].production && self.summary.capabilities.two_person_rule {
                    let pending = self.deployments[d].pending_approval.clone();
                    match pending {
                        None => {
                            let detail = format!(
                                "first approval to open {}; a second, different approver must approve",
                                self.rings[n].name
                            );
                            let first = FirstApproval {
                                ring: n,
                                gate: current,
                                resume: false,
                            };
                            return Ok(
                                self.ask_second_approval(d, request, identity, first, detail)
                            );
                        }
                        Some(p) => {
                            another_person(
                                &p.first_person,
                                &p.first_approver,
                                identity,
                                &format!("opening {}", self.rings[n].name),
                            )?;
                            let detail = format!(
                                "{} opened after a second approval by {actor}",
                                self.rings[n].name
                            );
                            self.close_first_approval(d, ActionState::Succeeded, detail);
                            self.deployments[d].approvals.push(Approval {
                                ring_id: p.ring_id,
                                by: p.first_approver.clone(),
                                at: p.at,
                            });
                            self.open_ring(d, n, actor);
                            let detail = format!(
                                "{} opened (approved by {} and {actor})",
                                self.rings[n].name, p.first_approver
                            );
                            return Ok(self.done(
                                Verb::Approve,
                                Scope::Deployment(d),
                                request,
                                actor,
                                Some(detail),
                            ));
                        }
                    }
                }
                self.open_ring(d, n, actor);
                let detail = format!("{} opened", self.rings[n].name);
                Ok(self.done(
                    Verb::Approve,
                    Scope::Deployment(d),
                    request,
                    actor,
                    Some(detail),
                ))
            }
            DeploymentState::Halted => {
                let r = self
                    .current_ring(d)
                    .ok_or_else(|| ActError::Conflict(format!("{name} has no ring to resume")))?;
                if let Some(pct) = self.failure_tripped(r) {
                    return Err(ActError::Conflict(format!(
                        "{} still has {pct:.0}% failed (limit {}%): retry, exclude or roll back the failed hosts first",
                        self.rings[r].name, self.rings[r].gate.failure_threshold_pct
                    )));
                }
                let mut detail = format!("{} resumed", self.rings[r].name);
                if self.rings[r].production && self.summary.capabilities.two_person_rule {
                    let Some(p) = self.deployments[d].pending_approval.clone() else {
                        let detail = format!(
                            "first approval to resume {} after the halt; a second approver (another person) must approve too",
                            self.rings[r].name
                        );
                        let first = FirstApproval {
                            ring: r,
                            gate: Some(r),
                            resume: true,
                        };
                        return Ok(self.ask_second_approval(d, request, identity, first, detail));
                    };
                    another_person(
                        &p.first_person,
                        &p.first_approver,
                        identity,
                        &format!("resuming {}", self.rings[r].name),
                    )?;
                    self.close_first_approval(
                        d,
                        ActionState::Succeeded,
                        format!(
                            "{} resumed after a second approval by {actor}",
                            self.rings[r].name
                        ),
                    );
                    detail = format!(
                        "{} resumed (approved by {} and {actor})",
                        self.rings[r].name, p.first_approver
                    );
                }
                let dep = &mut self.deployments[d];
                dep.state = DeploymentState::Running;
                dep.state_reason = None;
                dep.pending_approval = None;
                self.dirty.deployments.insert(d);
                self.set_ring_state(r, RingState::Deploying, None);
                self.set_gate(r, GateState::NotReached, None);
                self.requeue(d, r);
                Ok(self.done(
                    Verb::Approve,
                    Scope::Deployment(d),
                    request,
                    actor,
                    Some(detail),
                ))
            }
            state => Err(ActError::Conflict(format!(
                "{name} is {}: no gate is waiting for approval",
                state.words()
            ))),
        }
    }

    /// The first of two approvals: recorded as awaiting a second approver, the
    /// deployment's `pending_approval` set, the gate (if any) marked as waiting.
    fn ask_second_approval(
        &mut self,
        d: usize,
        request: &ActionRequest,
        identity: &Identity,
        first: FirstApproval,
        detail: String,
    ) -> usize {
        let a = self.record(Record::asked(
            Verb::Approve,
            Scope::Deployment(d),
            request,
            &identity.name,
            ActionState::AwaitingSecondApprover,
        ));
        self.actions[a].detail = Some(detail);
        self.deployments[d].pending_approval = Some(PendingApproval {
            ring_id: self.rings[first.ring].id.clone(),
            first_approver: identity.name.clone(),
            first_person: identity.as_person().to_string(),
            at: self.now,
            resume: first.resume,
        });
        self.dirty.deployments.insert(d);
        self.deployment_runs[d].first_approval = Some(a);
        if let Some(gate) = first.gate {
            self.set_gate(gate, GateState::AwaitingSecondApprover, None);
        }
        a
    }

    pub(super) fn decline(
        &mut self,
        d: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let state = self.deployments[d].state;
        if !matches!(
            state,
            DeploymentState::AwaitingApproval | DeploymentState::Halted | DeploymentState::Paused
        ) {
            return Err(ActError::Conflict(format!(
                "{} is {}: only a deployment awaiting approval, paused or halted can be declined",
                self.deployments[d].name,
                state.words()
            )));
        }
        self.close_first_approval(d, ActionState::Failed, format!("declined by {actor}"));
        if let Some(r) = self.current_ring(d)
            && matches!(
                self.rings[r].gate.state,
                GateState::AwaitingApproval | GateState::AwaitingSecondApprover
            )
        {
            self.set_gate(
                r,
                GateState::Blocked,
                Some(format!("deployment declined by {actor}")),
            );
        }
        let dep = &mut self.deployments[d];
        dep.state = DeploymentState::Declined;
        dep.next_ring = None;
        dep.pending_approval = None;
        dep.state_reason = Some(match &request.reason {
            Some(reason) => format!("declined by {actor}: {reason}"),
            None => format!("declined by {actor}"),
        });
        self.dirty.deployments.insert(d);
        Ok(self.done(Verb::Decline, Scope::Deployment(d), request, actor, None))
    }
}

/// The two-person rule: the second approval of `what` must come from another person
/// than the first (`first_person`, who approved as `first_name`). Two tokens of one
/// person count once; persons are compared without regard to case ("Alice" is
/// "alice").
/// What a first approval is for: the ring it opens or resumes, the ring whose gate
/// waits for the second approval, and whether it resumes after a halt.
struct FirstApproval {
    ring: usize,
    gate: Option<usize>,
    resume: bool,
}

pub(super) fn another_person(
    first_person: &str,
    first_name: &str,
    actor: &Identity,
    what: &str,
) -> Result<(), ActError> {
    if !actor.is_person(first_person) {
        return Ok(());
    }
    let token = if first_name == actor.name {
        String::new()
    } else {
        format!(" (with the token {first_name})")
    };
    Err(ActError::SecondApproverRequired(format!(
        "{} already approved {what}{token}; the two-person rule needs a second approver who is another person",
        actor.as_person()
    )))
}
