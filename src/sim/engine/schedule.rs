//! Scheduling: the step of fleet time, maintenance windows, how many hosts of a ring
//! are in flight, starting the queued hosts, and each deployment's rate and ETA.

use chrono::Duration;
use rand::Rng;

use crate::model::{DeploymentState, HostKind, HostState, RingState};

use super::{Engine, STEP_SECS, at_minute, secs};

impl Engine {
    /// Advance the clock by one step and let the fleet move.
    pub fn step(&mut self) {
        self.now += Duration::seconds(STEP_SECS);
        self.expire_emergency_request();
        self.expire_exceptions();
        let now = secs(self.now);
        while let Some(&(at, h)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            self.host_runs[h as usize].due = None;
            self.on_timer(h as usize);
        }
        let groups: Vec<usize> = self.active_groups.iter().copied().collect();
        for g in groups {
            self.coordinate_group(g);
        }
        for r in 0..self.rings.len() {
            self.start_installs(r);
        }
        for d in 0..self.deployments.len() {
            if self.deployments[d].state == DeploymentState::Running {
                self.evaluate_gate(d);
            }
        }
        // Once a minute, rates and ETAs of deployments under way catch up.
        if now % 60 < STEP_SECS {
            for d in 0..self.deployments.len() {
                if self.deployments[d].state.is_active() && self.update_rate(d) {
                    self.dirty.deployments.insert(d);
                }
            }
        }
    }

    pub(super) fn in_window(&self, r: usize, d: Option<usize>) -> bool {
        d.is_some_and(|d| self.deployments[d].emergency) || self.rings[r].window.is_open(self.now)
    }

    /// Largest number of hosts of a ring in flight at once (emergencies go faster).
    pub(super) fn ring_cap(&self, r: usize) -> u32 {
        let members = self.ring_runs[r].members.len() as u32;
        let emergency = self.ring_runs[r]
            .deployment
            .is_some_and(|d| self.deployments[d].emergency);
        if emergency {
            (members / 5).clamp(50, 500)
        } else {
            (members / 10).clamp(25, 500)
        }
    }

    /// May ring `r` start installs now: open for its deployment (deploying, or soaking
    /// and done for hosts that come late), neither paused nor halted, in its window.
    pub(super) fn may_start(&self, r: usize) -> bool {
        let Some(d) = self.ring_runs[r].deployment else {
            return false;
        };
        matches!(
            self.rings[r].state,
            RingState::Deploying | RingState::Soaking | RingState::Done
        ) && matches!(
            self.deployments[d].state,
            DeploymentState::Running
                | DeploymentState::AwaitingApproval
                | DeploymentState::Completed
        ) && self.in_window(r, Some(d))
    }

    pub(super) fn start_installs(&mut self, r: usize) {
        if self.ring_runs[r].queue.is_empty() || !self.may_start(r) {
            return;
        }
        let Some(d) = self.ring_runs[r].deployment else {
            return;
        };
        let cap = self.ring_cap(r);
        while self.rings[r].counts.in_flight() < cap {
            let Some(h) = self.ring_runs[r].queue.pop_front() else {
                break;
            };
            let h = h as usize;
            if self.hosts[h].state != HostState::Pending
                || self.host_runs[h].deployment != Some(d)
                || self.host_runs[h].uninstall.is_some()
            {
                continue;
            }
            self.begin(h, d);
            // A server patching group starts together, so it can reboot in order.
            if let Some(g) = self.host_runs[h].group {
                for m in self.groups[g].members.clone() {
                    let m = m as usize;
                    if m != h
                        && self.hosts[m].state == HostState::Pending
                        && self.host_runs[m].deployment == Some(d)
                        && self.host_runs[m].uninstall.is_none()
                    {
                        self.begin(m, d);
                    }
                }
            }
        }
    }

    pub(super) fn begin(&mut self, h: usize, d: usize) {
        let emergency = self.deployments[d].emergency;
        let host = &self.hosts[h];
        let workstation = host.kind == HostKind::Workstation;
        if host.roaming && self.rng.random_bool(0.08) {
            let away = self.rng.random_range(2 * 3600..5 * 86400);
            self.hosts[h].last_seen = self.now - Duration::seconds(away);
            self.set_state(h, HostState::Offline, Some("not reachable".into()));
            self.arm_in(h, 1800, 36 * 3600);
            return;
        }
        if workstation && !emergency && self.rng.random_bool(0.05) {
            let until = self.rng.random_range(2 * 3600..24 * 3600);
            let deadline = self.now + Duration::seconds(until);
            self.hosts[h].deferred_until = Some(deadline);
            self.set_state(
                h,
                HostState::Deferred,
                Some(format!(
                    "user deferred until {}",
                    deadline.format("%Y-%m-%d %H:%M UTC")
                )),
            );
            self.arm(h, secs(deadline));
            return;
        }
        self.hosts[h].last_seen = self.now;
        self.set_state(h, HostState::Downloading, None);
        self.arm_in(h, 60, 240);
        if let Some(g) = self.host_runs[h].group {
            self.active_groups.insert(g);
        }
    }

    /// Recompute a deployment's rate (hosts finished in the last hour) and the ETA of its
    /// current ring at that rate (none when it is not deploying, or more than 30 days
    /// away). Returns whether either changed.
    pub(super) fn update_rate(&mut self, d: usize) -> bool {
        let now = secs(self.now);
        let run = &mut self.deployment_runs[d];
        while run.finished.front().is_some_and(|&t| t <= now - 3600) {
            run.finished.pop_front();
        }
        let age = (now - secs(self.deployments[d].created_at)).clamp(STEP_SECS, 3600);
        let rate = run.finished.len() as f64 * 3600.0 / age as f64;
        let rate = (rate * 10.0).round() / 10.0;
        let remaining = match self.current_ring(d) {
            Some(r) if self.rings[r].state == RingState::Deploying => {
                let c = self.own_counts(r);
                c.pending + c.in_flight() + c.deferred
            }
            _ => 0,
        };
        let eta =
            (self.deployments[d].state == DeploymentState::Running && rate > 0.0 && remaining > 0)
                .then(|| (f64::from(remaining) * 3600.0 / rate) as i64)
                .filter(|&secs| secs <= 30 * 86_400)
                // Minutes are precision enough, and keep events few.
                .map(|secs| at_minute(self.now + Duration::seconds(secs)));
        let dep = &mut self.deployments[d];
        let changed = dep.rate_per_hour != rate || dep.eta != eta;
        dep.rate_per_hour = rate;
        dep.eta = eta;
        changed
    }
}
