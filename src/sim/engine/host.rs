//! One host's lifecycle: its state and the counts that follow it, its timer, and
//! each step of an install (download, install, reboot, verify, fail or succeed).

use rand::Rng;

use crate::model::{Failure, HostKind, HostState, Interned, Transition};

use super::{Applies, Engine, secs};

/// Random install failures: code, message, weight. Grouping by code shows the pattern.
pub const FAILURE_CODES: [(&str, &str, u32); 5] = [
    (
        "0x800f0922",
        "CBS_E_INSTALLERS_FAILED: the update could not be installed because the system reserved partition is full",
        40,
    ),
    (
        "0x80070005",
        "E_ACCESSDENIED: access is denied (endpoint protection blocked the servicing stack)",
        30,
    ),
    (
        "0x8024402c",
        "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED: the proxy or server name could not be resolved",
        20,
    ),
    (
        "0x80240022",
        "WU_E_ALL_UPDATES_FAILED: the operation failed for all the updates",
        6,
    ),
    (
        "0x80073712",
        "ERROR_SXS_COMPONENT_STORE_CORRUPT: the component store is corrupt; repair it with DISM /RestoreHealth",
        4,
    ),
];

/// A host that does not report healthy after its reboot.
const VERIFY_FAILURE: (&str, &str) = (
    "0x800705b4",
    "ERROR_TIMEOUT: the host did not report healthy within 15 minutes of its reboot",
);

impl Engine {
    /// Move a host to `state`, keeping every count in step and recording history.
    pub fn set_state(&mut self, h: usize, state: HostState, note: Option<String>) {
        let old = self.hosts[h].state;
        if old != state {
            let run = &self.host_runs[h];
            let stage = run.stage.filter(|_| !run.stage_done);
            for r in std::iter::once(run.home).chain(stage) {
                self.rings[r].counts.remove(old);
                self.rings[r].counts.add(state);
                self.dirty.rings.insert(r);
            }
            if let Some(d) = run.deployment {
                self.deployments[d].counts.remove(old);
                self.deployments[d].counts.add(state);
                self.dirty.deployments.insert(d);
            }
            if run.away_from.is_some() {
                let lent = &mut self.ring_runs[run.home].lent;
                lent.remove(old);
                lent.add(state);
            }
            self.summary.counts.remove(old);
            self.summary.counts.add(state);
            self.dirty.summary = true;
            self.hosts[h].state = state;
        }
        self.histories[h].push(Transition {
            at: self.now,
            state,
            note: note.map(Interned::from),
        });
        self.dirty.hosts.insert(h as u32);
    }

    /// Hand a host to another deployment (or none), moving it between deployment counts.
    pub(super) fn set_deployment(&mut self, h: usize, deployment: Option<usize>) {
        let state = self.hosts[h].state;
        if let Some(old) = self.host_runs[h].deployment {
            self.deployments[old].counts.remove(state);
            self.dirty.deployments.insert(old);
        }
        if let Some(new) = deployment {
            self.deployments[new].counts.add(state);
            self.dirty.deployments.insert(new);
        }
        self.host_runs[h].deployment = deployment;
        self.hosts[h].deployment_id = deployment.map(|d| self.deployments[d].id.as_str().into());
        self.dirty.hosts.insert(h as u32);
    }

    pub(super) fn arm(&mut self, h: usize, at: i64) {
        self.disarm(h);
        self.host_runs[h].due = Some(at);
        self.timers.insert((at, h as u32));
    }

    pub(super) fn arm_in(&mut self, h: usize, low: i64, high: i64) {
        let delay = self.rng.random_range(low..=high);
        self.arm(h, secs(self.now) + delay);
    }

    pub(super) fn disarm(&mut self, h: usize) {
        if let Some(at) = self.host_runs[h].due.take() {
            self.timers.remove(&(at, h as u32));
        }
    }

    /// The ring whose queue a host waits in.
    pub(super) fn queue_ring(&self, h: usize) -> usize {
        let run = &self.host_runs[h];
        match (run.stage, run.deployment) {
            (Some(stage), Some(d)) if self.deployments[d].emergency => stage,
            _ => run.home,
        }
    }

    pub(super) fn enqueue_front(&mut self, h: usize) {
        let r = self.queue_ring(h);
        self.ring_runs[r].queue.push_front(h as u32);
    }

    /// Patches of a deployment that apply to a host, in install order (the cumulative
    /// update last: it carries the reboot).
    pub(super) fn patches_for(&self, d: usize, h: usize) -> Vec<usize> {
        let host = &self.hosts[h];
        let mut list: Vec<usize> = self.deployments[d]
            .patch_ids
            .iter()
            .filter_map(|id| self.patches.iter().position(|p| &p.id == id))
            .filter(|&p| match &self.applies[p] {
                Applies::All => true,
                Applies::Workstations => host.kind == HostKind::Workstation,
                Applies::ModelPrefix(prefix) => host.model.starts_with(prefix.as_str()),
            })
            // A patch under an exception in force is held back.
            .filter(|&p| {
                host.exception
                    .as_ref()
                    .is_none_or(|e| !e.holds_back(&self.patches[p].id, self.now))
            })
            .collect();
        list.sort_by_key(|&p| {
            (
                self.patches[p].kind == crate::model::PatchKind::CumulativeUpdate,
                p,
            )
        });
        list
    }

    pub(super) fn on_timer(&mut self, h: usize) {
        if let Some(action) = self.host_runs[h].uninstall {
            self.finish_uninstall(h, action);
            return;
        }
        let server = self.hosts[h].kind == HostKind::Server;
        match self.hosts[h].state {
            HostState::Offline => {
                self.hosts[h].last_seen = self.now;
                self.set_state(h, HostState::Pending, Some("back online".into()));
                self.enqueue_front(h);
            }
            HostState::Deferred => {
                self.hosts[h].deferred_until = None;
                let r = self.queue_ring(h);
                let d = self.host_runs[h].deployment;
                if d == self.ring_runs[r].deployment && self.may_start(r) {
                    self.set_state(
                        h,
                        HostState::Downloading,
                        Some("deferral deadline reached".into()),
                    );
                    self.arm_in(h, 60, 240);
                } else {
                    // Paused, halted or out of its window: it waits its turn again.
                    self.set_state(
                        h,
                        HostState::Pending,
                        Some("deferral deadline reached; waiting for the ring".into()),
                    );
                    self.enqueue_front(h);
                }
            }
            HostState::Downloading => {
                self.set_state(h, HostState::Installing, None);
                self.arm_in(h, 180, 600);
            }
            HostState::Installing => self.finish_install(h),
            HostState::PendingReboot if !server => {
                let r = self.queue_ring(h);
                let d = self.host_runs[h].deployment;
                if self.in_window(r, d) {
                    self.set_state(h, HostState::Rebooting, Some("user restarted".into()));
                    self.arm_in(h, 90, 300);
                } else if let crate::model::WindowStatus::Closed { opens_at } =
                    self.rings[r].window.status(self.now)
                {
                    let jitter = self.rng.random_range(0..1800);
                    self.arm(h, secs(opens_at) + jitter);
                }
            }
            HostState::Rebooting if !server => {
                self.set_state(h, HostState::Verifying, Some("back up after reboot".into()));
                self.arm_in(h, 60, 180);
            }
            HostState::Verifying => self.finish_verify(h),
            _ => {}
        }
    }

    pub(super) fn finish_install(&mut self, h: usize) {
        let Some(d) = self.host_runs[h].deployment else {
            return;
        };
        let patches = self.patches_for(d, h);
        let dep_id = self.deployments[d].id.clone();
        let fault = self
            .faults
            .iter()
            .find(|f| self.deployments[f.deployment].id == dep_id && f.model == self.hosts[h].model)
            .and_then(|f| {
                let p = self.patches.iter().position(|p| p.id == f.patch_id)?;
                patches.contains(&p).then_some((p, f.code, f.message))
            });
        let fail_pct = if self.hosts[h].kind == HostKind::Server {
            1.0
        } else {
            2.0
        };
        let failure = match fault {
            Some(f) => Some(f),
            None if self.rng.random_bool(fail_pct / 100.0) && !patches.is_empty() => {
                let cu = *patches.last().unwrap_or(&patches[0]);
                let p = if self.rng.random_bool(0.8) {
                    cu
                } else {
                    patches[self.rng.random_range(0..patches.len())]
                };
                let total: u32 = FAILURE_CODES.iter().map(|c| c.2).sum();
                let mut pick = self.rng.random_range(0..total);
                let mut chosen = FAILURE_CODES[0];
                for code in FAILURE_CODES {
                    if pick < code.2 {
                        chosen = code;
                        break;
                    }
                    pick -= code.2;
                }
                Some((p, chosen.0, chosen.1))
            }
            None => None,
        };
        if let Some((p, code, message)) = failure {
            // Patches before the failing one were installed and committed.
            let before: Vec<String> = patches
                .iter()
                .take_while(|&&q| q != p)
                .map(|&q| self.patches[q].id.clone())
                .collect();
            self.install(h, before);
            self.fail(h, p, code, message);
            return;
        }
        let reboot = patches.iter().any(|&p| self.patches[p].reboot_required);
        if reboot {
            self.set_state(h, HostState::PendingReboot, None);
            if self.hosts[h].kind == HostKind::Server {
                if let Some(g) = self.host_runs[h].group {
                    self.active_groups.insert(g);
                }
            } else {
                // The user restarts, or the deadline restarts for them.
                self.arm_in(h, 300, 3600);
            }
        } else {
            self.set_state(h, HostState::Verifying, None);
            self.arm_in(h, 60, 180);
        }
    }

    pub(super) fn install(&mut self, h: usize, patch_ids: Vec<String>) {
        for id in patch_ids {
            if !self.hosts[h].has_installed(&id) {
                self.hosts[h].installed = self.hosts[h].installed.with(id.into());
            }
        }
    }

    pub(super) fn fail(&mut self, h: usize, p: usize, code: &str, message: &str) {
        let kb = self.patches[p].kb.clone();
        let failure = Failure {
            code: code.into(),
            message: message.into(),
            patch_id: Some(self.patches[p].id.as_str().into()),
            at: self.now,
        };
        self.host_runs[h].last_failure = self.host_runs[h]
            .deployment
            .map(|d| Box::new((d, failure.clone())));
        self.hosts[h].failure = Some(Box::new(failure));
        self.set_state(h, HostState::Failed, Some(format!("{kb}: {code}")));
        self.finished(h);
    }

    pub(super) fn finish_verify(&mut self, h: usize) {
        let Some(d) = self.host_runs[h].deployment else {
            return;
        };
        let patches = self.patches_for(d, h);
        if self.rng.random_bool(0.003) && !patches.is_empty() {
            let p = patches[patches.len() - 1];
            self.fail(h, p, VERIFY_FAILURE.0, VERIFY_FAILURE.1);
            return;
        }
        let ids: Vec<String> = patches
            .iter()
            .map(|&p| self.patches[p].id.clone())
            .collect();
        self.install(h, ids);
        self.hosts[h].last_seen = self.now;
        self.set_state(h, HostState::Succeeded, Some("verified installed".into()));
        self.finished(h);
    }

    /// A host reached a final state: count it for the rate, and hand it over if an
    /// emergency is waiting for it.
    pub(super) fn finished(&mut self, h: usize) {
        if let Some(d) = self.host_runs[h].deployment {
            let now = secs(self.now);
            let run = &mut self.deployment_runs[d];
            run.finished.push_back(now);
            while run.finished.front().is_some_and(|&t| t <= now - 3600) {
                run.finished.pop_front();
            }
        }
        if let Some(e) = self.host_runs[h].adopt.take() {
            self.adopt(h, e);
        } else if self.hosts[h].state == HostState::Succeeded {
            self.return_home(h);
        }
    }
}
