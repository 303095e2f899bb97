//! Gates: what a ring's own deployment counts, soak, success and failure thresholds,
//! opening the next ring, and halting.

use std::collections::VecDeque;

use chrono::Duration;

use crate::model::{
    ActionState, Approval, DeploymentState, GateMode, GateState, HostCounts, HostState, RingState,
    Verb,
};

use super::act::{Record, Scope};
use super::{Engine, MIN_FAILURES_TO_HALT, SYSTEM};

impl Engine {
    /// The ring as its own deployment sees it: hosts an emergency borrowed count in the
    /// state they were in when taken, so an emergency never blocks a monthly gate.
    pub fn own_counts(&self, r: usize) -> HostCounts {
        let run = &self.ring_runs[r];
        let (c, minus, plus) = (&self.rings[r].counts, &run.lent, &run.lent_before);
        let f = |a: u32, m: u32, p: u32| (a + p).saturating_sub(m);
        HostCounts {
            total: f(c.total, minus.total, plus.total),
            pending: f(c.pending, minus.pending, plus.pending),
            downloading: f(c.downloading, minus.downloading, plus.downloading),
            installing: f(c.installing, minus.installing, plus.installing),
            pending_reboot: f(c.pending_reboot, minus.pending_reboot, plus.pending_reboot),
            rebooting: f(c.rebooting, minus.rebooting, plus.rebooting),
            verifying: f(c.verifying, minus.verifying, plus.verifying),
            succeeded: f(c.succeeded, minus.succeeded, plus.succeeded),
            failed: f(c.failed, minus.failed, plus.failed),
            rolled_back: f(c.rolled_back, minus.rolled_back, plus.rolled_back),
            excluded: f(c.excluded, minus.excluded, plus.excluded),
            offline: f(c.offline, minus.offline, plus.offline),
            deferred: f(c.deferred, minus.deferred, plus.deferred),
        }
    }

    /// Failure share of the hosts of a ring that finished, if it trips the threshold.
    pub(super) fn failure_tripped(&self, r: usize) -> Option<f64> {
        let c = &self.own_counts(r);
        let installed = installs_done(c);
        let least = (c.total / 50).clamp(MIN_FAILURES_TO_HALT, 25);
        if c.failed < least || installed == 0 {
            return None;
        }
        let pct = f64::from(c.failed) * 100.0 / f64::from(installed);
        (pct > f64::from(self.rings[r].gate.failure_threshold_pct)).then_some(pct)
    }

    /// Share of reachable targeted hosts (not excluded, not offline) that succeeded.
    pub(super) fn gate_success_pct(&self, r: usize) -> f64 {
        let c = &self.own_counts(r);
        let reachable = c.total.saturating_sub(c.excluded + c.offline);
        if reachable == 0 {
            return 100.0;
        }
        f64::from(c.succeeded) * 100.0 / f64::from(reachable)
    }

    pub(super) fn set_gate(&mut self, r: usize, state: GateState, reason: Option<String>) {
        let gate = &mut self.rings[r].gate;
        if gate.state != state || gate.blocked_reason != reason {
            gate.state = state;
            gate.blocked_reason = reason;
            self.dirty.rings.insert(r);
        }
    }

    pub(super) fn set_ring_state(&mut self, r: usize, state: RingState, reason: Option<String>) {
        let ring = &mut self.rings[r];
        if ring.state != state || ring.state_reason != reason {
            ring.state = state;
            ring.state_reason = reason;
            self.dirty.rings.insert(r);
        }
    }

    pub(super) fn evaluate_gate(&mut self, d: usize) {
        let Some(r) = self.current_ring(d) else {
            return;
        };
        match self.rings[r].state {
            RingState::Deploying => {
                if let Some(pct) = self.failure_tripped(r) {
                    self.system_halt(d, r, pct);
                    return;
                }
                let c = self.own_counts(r);
                if c.pending + c.in_flight() + c.deferred == 0 {
                    let soak = Duration::seconds(self.rings[r].gate.min_soak_secs as i64);
                    self.rings[r].soak_ends_at = Some(self.now + soak);
                    self.set_ring_state(r, RingState::Soaking, None);
                    self.set_gate(r, GateState::Soaking, None);
                    self.evaluate_soak(d, r);
                }
            }
            RingState::Soaking => self.evaluate_soak(d, r),
            _ => {}
        }
    }

    pub(super) fn evaluate_soak(&mut self, d: usize, r: usize) {
        let success = self.gate_success_pct(r);
        let threshold = f64::from(self.rings[r].gate.success_threshold_pct);
        if success < threshold {
            let reason = format!(
                "{success:.1}% of reachable hosts succeeded, the gate needs {threshold:.0}%"
            );
            let note = format!("{} gate blocked: {reason}", self.rings[r].name);
            self.set_gate(r, GateState::Blocked, Some(reason));
            if self.deployments[d].state_reason.as_ref() != Some(&note) {
                self.deployments[d].state_reason = Some(note);
                self.dirty.deployments.insert(d);
            }
            return;
        }
        if self.rings[r].gate.state == GateState::Blocked {
            self.deployments[d].state_reason = None;
            self.dirty.deployments.insert(d);
        }
        if self.rings[r].soak_ends_at.is_some_and(|end| self.now < end) {
            self.set_gate(r, GateState::Soaking, None);
            return;
        }
        let next = self.next_ring(d, r);
        match (next, self.rings[r].gate.mode) {
            (None, _) => {
                self.set_ring_state(r, RingState::Done, None);
                self.set_gate(r, GateState::Passed, None);
                self.complete(d);
            }
            (Some(n), GateMode::Automatic) => self.open_ring(d, n, SYSTEM),
            (Some(n), GateMode::Manual) => {
                self.set_gate(r, GateState::AwaitingApproval, None);
                let dep = &mut self.deployments[d];
                dep.state = DeploymentState::AwaitingApproval;
                dep.next_ring = Some(self.rings[n].id.clone());
                dep.state_reason = Some(format!("gate to {} awaits approval", self.rings[n].name));
                self.dirty.deployments.insert(d);
            }
        }
    }

    pub fn current_ring(&self, d: usize) -> Option<usize> {
        let id = self.deployments[d].current_ring.as_deref()?;
        self.ring_index(id)
    }

    pub(super) fn next_ring(&self, d: usize, r: usize) -> Option<usize> {
        let rings = &self.deployments[d].rings;
        let pos = rings.iter().position(|id| *id == self.rings[r].id)?;
        rings.get(pos + 1).and_then(|id| self.ring_index(id))
    }

    pub(super) fn complete(&mut self, d: usize) {
        let dep = &mut self.deployments[d];
        dep.state = DeploymentState::Completed;
        dep.current_ring = None;
        dep.next_ring = None;
        dep.state_reason = None;
        self.dirty.deployments.insert(d);
        if self
            .summary
            .emergency
            .as_ref()
            .is_some_and(|e| e.deployment_id == self.deployments[d].id)
        {
            self.summary.emergency = None;
            self.dirty.summary = true;
        }
    }

    /// Open ring `n` for deployment `d`: the previous ring is done, `n` deploys.
    pub fn open_ring(&mut self, d: usize, n: usize, by: &str) {
        if let Some(p) = self.current_ring(d)
            && p != n
        {
            self.set_ring_state(p, RingState::Done, None);
            self.set_gate(p, GateState::Passed, None);
        }
        // A ring paused before its turn stays paused: it will deploy when resumed.
        if self.rings[n].state == RingState::Paused {
            self.ring_runs[n].paused_from = Some(RingState::Deploying);
        } else {
            self.set_ring_state(n, RingState::Deploying, None);
            self.ring_runs[n].paused_from = None;
        }
        self.set_gate(n, GateState::NotReached, None);
        self.rings[n].soak_ends_at = None;
        self.ring_runs[n].deployment = Some(d);
        self.requeue(d, n);
        let ring_id = self.rings[n].id.clone();
        let now = self.now;
        let dep = &mut self.deployments[d];
        dep.current_ring = Some(ring_id.clone());
        dep.next_ring = None;
        dep.state = DeploymentState::Running;
        dep.state_reason = None;
        dep.pending_approval = None;
        dep.approvals.push(Approval {
            ring_id,
            by: by.to_string(),
            at: now,
        });
        self.deployment_runs[d].paused_from = None;
        self.dirty.deployments.insert(d);
    }

    /// Queue every pending host of deployment `d` in ring `r`, in member order.
    pub(super) fn requeue(&mut self, d: usize, r: usize) {
        let queue: VecDeque<u32> = self.ring_runs[r]
            .members
            .iter()
            .copied()
            .filter(|&h| {
                let h = h as usize;
                self.hosts[h].state == HostState::Pending && self.host_runs[h].deployment == Some(d)
            })
            .collect();
        self.ring_runs[r].queue = queue;
    }

    pub(super) fn system_halt(&mut self, d: usize, r: usize, pct: f64) {
        let limit = self.rings[r].gate.failure_threshold_pct;
        let c = self.own_counts(r);
        let reason = format!(
            "failure threshold: {pct:.0}% failed (limit {limit}%): {} of {} installs",
            c.failed,
            installs_done(&c)
        );
        self.halt(d, Some(r), reason.clone());
        let a = self.record(Record {
            verb: Verb::Halt,
            scope: Scope::Deployment(d),
            by: SYSTEM,
            reason: Some(reason),
            ticket: None,
            state: ActionState::Succeeded,
        });
        self.actions[a].detail = Some(format!("{} halted", self.rings[r].name));
        self.actions[a].finished_at = Some(self.now);
    }

    /// Settle the first half of a two-person approval: succeeded with the second, or
    /// failed when the deployment is declined or halted first.
    pub(super) fn close_first_approval(&mut self, d: usize, state: ActionState, detail: String) {
        if let Some(first) = self.deployment_runs[d].first_approval.take() {
            let action = &mut self.actions[first];
            action.state = state;
            action.finished_at = Some(self.now);
            action.detail = Some(detail);
            self.dirty.actions.insert(first);
        }
    }

    pub(super) fn halt(&mut self, d: usize, r: Option<usize>, reason: String) {
        self.close_first_approval(d, ActionState::Failed, reason.clone());
        let dep = &mut self.deployments[d];
        dep.state = DeploymentState::Halted;
        dep.state_reason = Some(reason.clone());
        dep.pending_approval = None;
        self.dirty.deployments.insert(d);
        if let Some(r) = r {
            self.set_ring_state(r, RingState::Halted, Some(reason.clone()));
            self.set_gate(r, GateState::Blocked, Some(reason));
            self.ring_runs[r].paused_from = None;
        }
    }
}

/// Hosts whose install is over: failed, or installed (waiting for or past the reboot).
/// Failures happen at install time, so this is the fair denominator of a failure rate.
pub(super) fn installs_done(c: &HostCounts) -> u32 {
    c.failed + c.pending_reboot + c.rebooting + c.verifying + c.succeeded
}
