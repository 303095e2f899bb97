//! Rollback: uninstalling a deployment's patches from hosts, restore-required hosts,
//! and finishing the rollback action.

use std::collections::{BTreeMap, BTreeSet};

use crate::backend::{ActError, ActionRequest};
use crate::model::{ActionState, DeploymentState, HostState, RingState, Transition, Verb};

use super::Engine;
use super::act::{Record, Scope};

impl Engine {
    /// Roll back hosts: every host in scope that succeeded, failed or waits for its
    /// reboot is uninstalled over a few minutes (the action runs, with progress) if
    /// every patch of its deployment it has is uninstallable; a host with a patch that
    /// cannot be uninstalled is not touched and counted as "restore required". Rolling
    /// back a deployment stops its new installs (state rolling-back, rolled-back when
    /// done); rolling back a ring halts it.
    pub(super) fn rollback(
        &mut self,
        scope: Scope,
        hosts: Vec<usize>,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        if !self.summary.capabilities.rollback {
            return Err(ActError::Unsupported("this fleet cannot roll back".into()));
        }
        if let Scope::Deployment(d) = scope
            && matches!(
                self.deployments[d].state,
                DeploymentState::RollingBack | DeploymentState::RolledBack
            )
        {
            return Err(ActError::Conflict(format!(
                "{} is already {}",
                self.deployments[d].name,
                self.deployments[d].state.words()
            )));
        }
        let mut uninstall = Vec::new();
        let mut restore: BTreeMap<String, u32> = BTreeMap::new();
        let mut restore_hosts = Vec::new();
        // The patches uninstalled: of each host's deployment, those it has.
        let mut uninstalled: BTreeSet<String> = BTreeSet::new();
        for h in hosts {
            let state = self.hosts[h].state;
            let finished = matches!(
                state,
                HostState::Succeeded | HostState::Failed | HostState::PendingReboot
            );
            // A host a deployment gave back is rolled back if it has its patches and
            // is not busy. A patch its own deployment also carries came from there
            // (this month's cumulative update is in both the workstation and the
            // server deployments): such a host is not this deployment's to roll back.
            let given_back = match scope {
                Scope::Deployment(d) => {
                    let own = self.host_runs[h].deployment;
                    own != Some(d)
                        && !state.is_in_flight()
                        && self.hosts[h].installed.iter().any(|p| {
                            self.deployments[d].patch_ids.iter().any(|i| i == p)
                                && own.is_none_or(|o| {
                                    !self.deployments[o].patch_ids.iter().any(|i| i == p)
                                })
                        })
                }
                _ => false,
            };
            let theirs = match scope {
                Scope::Deployment(d) => self.host_runs[h].deployment == Some(d),
                _ => true,
            };
            let eligible =
                ((theirs && finished) || given_back) && self.host_runs[h].uninstall.is_none();
            let owner = match scope {
                Scope::Deployment(d) => Some(d),
                _ => self.host_runs[h].deployment,
            };
            let Some(d) = owner.filter(|_| eligible) else {
                if let Scope::Host(_) = scope {
                    return Err(ActError::Conflict(format!(
                        "{} is {}: only succeeded, failed or pending-reboot hosts can be rolled back",
                        self.hosts[h].name,
                        state.as_str()
                    )));
                }
                continue;
            };
            let committed = state != HostState::PendingReboot;
            let blocking: Vec<String> = self.deployments[d]
                .patch_ids
                .iter()
                .filter(|id| committed && self.hosts[h].has_installed(id))
                .filter_map(|id| self.patches.iter().find(|p| &p.id == id))
                .filter(|p| !p.uninstallable)
                .map(|p| p.kb.clone())
                .collect();
            if blocking.is_empty() {
                uninstall.push(h);
                // What it has of them: installed, or staged for its reboot.
                uninstalled.extend(
                    self.deployments[d]
                        .patch_ids
                        .iter()
                        .filter(|id| !committed || self.hosts[h].has_installed(id))
                        .cloned(),
                );
            } else {
                for kb in blocking {
                    *restore.entry(kb).or_default() += 1;
                }
                restore_hosts.push(h);
            }
        }
        let a = self.record(Record::asked(
            Verb::Rollback,
            scope,
            request,
            actor,
            ActionState::Running,
        ));
        let restore_count = restore_hosts.len() as u32;
        self.action_runs[a].restore = restore_count;
        self.action_runs[a].restore_hosts = restore_hosts.iter().map(|&h| h as u32).collect();
        self.action_runs[a].restore_kbs = restore.keys().cloned().collect();
        let mut detail = Vec::new();
        if !uninstall.is_empty() {
            let kbs: Vec<&str> = self
                .patches
                .iter()
                .filter(|p| uninstalled.contains(&p.id))
                .map(|p| p.kb.as_str())
                .collect();
            let what = if kbs.is_empty() {
                // A failed first install: nothing of it stayed.
                "rolling back the failed install".to_string()
            } else {
                format!("uninstalling {}", kbs.join(", "))
            };
            // One host is the target itself; a ring or a deployment says how many.
            detail.push(match (scope, uninstall.len()) {
                (Scope::Host(_), _) => what,
                (_, 1) => format!("{what} from 1 host"),
                (_, n) => format!("{what} from {n} hosts"),
            });
        }
        if restore_count > 0 {
            let kbs: Vec<String> = restore.keys().cloned().collect();
            let who = if restore_count == 1 {
                format!("{} needs", self.hosts[restore_hosts[0]].name)
            } else {
                format!("{restore_count} hosts need")
            };
            detail.push(format!(
                "restore required: {who} a restore, {} cannot be uninstalled",
                kbs.join(", ")
            ));
        }
        if uninstall.is_empty() && restore_count == 0 {
            detail.push("nothing to roll back".into());
        }
        self.actions[a].detail = Some(detail.join("; "));
        self.actions[a].progress_total = uninstall.len() as u32;
        match scope {
            Scope::Deployment(d) => {
                // A first approval waiting for its second (to open or resume) is moot.
                self.close_first_approval(
                    d,
                    ActionState::Failed,
                    format!("the deployment is rolled back by {actor}"),
                );
                let dep = &mut self.deployments[d];
                dep.state = DeploymentState::RollingBack;
                dep.state_reason = Some(format!("rollback by {actor}"));
                dep.pending_approval = None;
                self.dirty.deployments.insert(d);
                self.action_runs[a].deployment = Some(d);
                if let Some(r) = self.current_ring(d)
                    && matches!(
                        self.rings[r].state,
                        RingState::Deploying | RingState::Soaking | RingState::Paused
                    )
                {
                    self.set_ring_state(r, RingState::Halted, Some(format!("rollback by {actor}")));
                }
            }
            Scope::Ring(r) => {
                let active = matches!(
                    self.rings[r].state,
                    RingState::Deploying | RingState::Soaking | RingState::Paused
                );
                let reason = format!("rollback of {} by {actor}", self.rings[r].name);
                // Rolling back the deployment's current ring halts the deployment too:
                // approving it later resumes the ring.
                match self.ring_runs[r].deployment {
                    Some(d)
                        if active
                            && self.current_ring(d) == Some(r)
                            && matches!(
                                self.deployments[d].state,
                                DeploymentState::Running
                                    | DeploymentState::AwaitingApproval
                                    | DeploymentState::Paused
                            ) =>
                    {
                        self.halt(d, Some(r), reason);
                    }
                    _ if active => self.set_ring_state(r, RingState::Halted, Some(reason)),
                    _ => {}
                }
            }
            Scope::Host(_) | Scope::Fleet => {}
        }
        if let Scope::Deployment(d) = scope {
            self.action_runs[a].patches = Some(self.deployments[d].patch_ids.clone());
        }
        for &h in &uninstall {
            self.disarm(h);
            self.host_runs[h].uninstall = Some(a);
            self.histories[h].push(Transition {
                at: self.now,
                state: self.hosts[h].state,
                note: Some(format!("rollback by {actor}: uninstalling").into()),
            });
            self.dirty.hosts.insert(h as u32);
            self.arm_in(h, 60, 300);
        }
        if uninstall.is_empty() {
            self.finish_action(a);
        }
        Ok(a)
    }

    pub(super) fn finish_uninstall(&mut self, h: usize, a: usize) {
        self.host_runs[h].uninstall = None;
        let ids = match &self.action_runs[a].patches {
            Some(ids) => Some(ids.clone()),
            None => self.host_runs[h]
                .deployment
                .map(|d| self.deployments[d].patch_ids.clone()),
        };
        if let Some(ids) = ids {
            self.hosts[h].installed = self.hosts[h]
                .installed
                .without(|id| ids.iter().any(|i| i == id));
            let kbs: Vec<String> = ids
                .iter()
                .filter_map(|id| self.patches.iter().find(|p| &p.id == id))
                .map(|p| p.kb.clone())
                .collect();
            let note = format!("uninstalled {}", kbs.join(", "));
            let owned = self.action_runs[a]
                .deployment
                .is_none_or(|d| self.host_runs[h].deployment == Some(d));
            if owned {
                self.hosts[h].failure = None;
                self.set_state(h, HostState::RolledBack, Some(note));
            } else {
                // A host another deployment owns now keeps its state there.
                let state = self.hosts[h].state;
                self.histories[h].push(Transition {
                    at: self.now,
                    state,
                    note: Some(note.into()),
                });
                self.dirty.hosts.insert(h as u32);
            }
        }
        self.actions[a].progress_done += 1;
        self.dirty.actions.insert(a);
        if self.actions[a].progress_done >= self.actions[a].progress_total {
            self.finish_action(a);
        }
        if let Some(e) = self.host_runs[h].adopt.take() {
            self.adopt(h, e);
        }
    }

    pub(super) fn finish_action(&mut self, a: usize) {
        let run = self.action_runs[a].clone();
        self.actions[a].state = if run.restore > 0 {
            ActionState::Partial
        } else {
            ActionState::Succeeded
        };
        self.actions[a].finished_at = Some(self.now);
        self.dirty.actions.insert(a);
        if let Some(d) = run.deployment
            && self.deployments[d].state == DeploymentState::RollingBack
        {
            let dep = &mut self.deployments[d];
            dep.state = DeploymentState::RolledBack;
            dep.state_reason = (run.restore > 0)
                .then(|| format!("rolled back; {} hosts need a restore", run.restore));
            self.dirty.deployments.insert(d);
        }
    }
}
