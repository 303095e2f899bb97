//! Actions: validating a request, dispatching its verb to the handler for its target,
//! and recording the action.

use crate::backend::{ActError, ActionRequest};
use crate::model::{Action, ActionState, Identity, Target, TargetKind, Verb};

use super::{ActionRun, Engine};

/// An action to record: what was done to which target, by whom, why, and how it stands.
pub(super) struct Record<'a> {
    pub verb: Verb,
    pub scope: Scope,
    pub by: &'a str,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub state: ActionState,
}

impl<'a> Record<'a> {
    /// An action `actor` asked for with `request` (its reason and ticket).
    pub(super) fn asked(
        verb: Verb,
        scope: Scope,
        request: &ActionRequest,
        actor: &'a str,
        state: ActionState,
    ) -> Self {
        Record {
            verb,
            scope,
            by: actor,
            reason: request.reason.clone(),
            ticket: request.ticket.clone(),
            state,
        }
    }
}

impl Engine {
    /// Record an action; returns its index.
    pub(super) fn record(&mut self, record: Record<'_>) -> usize {
        let Record {
            verb,
            scope,
            by,
            reason,
            ticket,
            state,
        } = record;
        let (target, target_name) = self.target_of(scope);
        let a = self.actions.len();
        self.actions.push(Action {
            id: format!("act-{:06}", a + 1),
            verb,
            target,
            target_name,
            by: by.to_string(),
            at: self.now,
            reason,
            ticket,
            state,
            progress_done: 0,
            progress_total: 0,
            detail: None,
            finished_at: (state != ActionState::Running
                && state != ActionState::AwaitingSecondApprover)
                .then_some(self.now),
            version: 0,
        });
        self.action_runs.push(ActionRun::default());
        self.dirty.actions.insert(a);
        a
    }

    /// Validate and apply an action; returns the index of the recorded action.
    pub fn act(&mut self, request: &ActionRequest, identity: &Identity) -> Result<usize, ActError> {
        let actor = identity.name.as_str();
        let verb = request.verb;
        let request = request.trimmed();
        request.require_reason_and_ticket()?;
        let wrong_target = || {
            ActError::Invalid(format!(
                "{} does not apply to a {}",
                verb.as_str(),
                kind_name(request.target.kind)
            ))
        };
        let id = request.target.id.as_str();
        match request.target.kind {
            TargetKind::Deployment => {
                let d = self
                    .deployment_index(id)
                    .ok_or_else(|| ActError::NotFound(format!("deployment {id}")))?;
                check_version(
                    &request,
                    &self.deployments[d].name,
                    self.deployments[d].version,
                )?;
                match verb {
                    Verb::Approve => self.approve(d, &request, identity),
                    Verb::Decline => self.decline(d, &request, actor),
                    Verb::Pause => self.pause_deployment(d, &request, actor),
                    Verb::Resume => self.resume_deployment(d, &request, actor),
                    Verb::Halt => self.halt_deployment(d, &request, actor),
                    Verb::Rollback => {
                        // Its hosts, and hosts it gave back after installing its patches.
                        let ids = &self.deployments[d].patch_ids;
                        let hosts: Vec<usize> = (0..self.hosts.len())
                            .filter(|&h| {
                                self.host_runs[h].deployment == Some(d)
                                    || ids.iter().any(|p| self.hosts[h].has_installed(p))
                            })
                            .collect();
                        self.rollback(Scope::Deployment(d), hosts, &request, actor)
                    }
                    Verb::Retry | Verb::Exclude | Verb::Renew | Verb::Revoke | Verb::Emergency => {
                        Err(wrong_target())
                    }
                }
            }
            TargetKind::Ring => {
                let r = self
                    .ring_index(id)
                    .ok_or_else(|| ActError::NotFound(format!("ring {id}")))?;
                check_version(&request, &self.rings[r].name, self.rings[r].version)?;
                match verb {
                    Verb::Pause => self.pause_ring(r, &request, actor),
                    Verb::Resume => self.resume_ring(r, &request, actor),
                    Verb::Rollback => {
                        let hosts = self.ring_runs[r]
                            .members
                            .iter()
                            .map(|&h| h as usize)
                            .collect();
                        self.rollback(Scope::Ring(r), hosts, &request, actor)
                    }
                    Verb::Approve
                    | Verb::Decline
                    | Verb::Halt
                    | Verb::Retry
                    | Verb::Exclude
                    | Verb::Renew
                    | Verb::Revoke
                    | Verb::Emergency => Err(wrong_target()),
                }
            }
            TargetKind::Host => {
                let h = self
                    .host_index(id)
                    .ok_or_else(|| ActError::NotFound(format!("host {id}")))?;
                check_version(&request, &self.hosts[h].name, self.hosts[h].version)?;
                match verb {
                    Verb::Retry => self.retry(h, &request, actor),
                    Verb::Exclude => self.exclude(h, &request, actor),
                    Verb::Renew => self.renew(h, &request, actor),
                    Verb::Revoke => self.revoke(h, &request, actor),
                    Verb::Rollback => self.rollback(Scope::Host(h), vec![h], &request, actor),
                    Verb::Approve
                    | Verb::Decline
                    | Verb::Pause
                    | Verb::Resume
                    | Verb::Halt
                    | Verb::Emergency => Err(wrong_target()),
                }
            }
            TargetKind::Fleet => {
                check_version(&request, "the fleet", self.summary.version)?;
                match verb {
                    Verb::Emergency => self.emergency(&request, identity),
                    Verb::Approve
                    | Verb::Decline
                    | Verb::Pause
                    | Verb::Resume
                    | Verb::Halt
                    | Verb::Rollback
                    | Verb::Retry
                    | Verb::Exclude
                    | Verb::Renew
                    | Verb::Revoke => Err(wrong_target()),
                }
            }
        }
    }

    pub(super) fn target_of(&self, scope: Scope) -> (Target, String) {
        match scope {
            Scope::Deployment(d) => (
                Target {
                    kind: TargetKind::Deployment,
                    id: self.deployments[d].id.clone(),
                },
                self.deployments[d].name.clone(),
            ),
            Scope::Ring(r) => (
                Target {
                    kind: TargetKind::Ring,
                    id: self.rings[r].id.clone(),
                },
                self.rings[r].name.clone(),
            ),
            Scope::Host(h) => (
                Target {
                    kind: TargetKind::Host,
                    id: self.hosts[h].id.to_string(),
                },
                self.hosts[h].name.to_string(),
            ),
            Scope::Fleet => (
                Target {
                    kind: TargetKind::Fleet,
                    id: "fleet".into(),
                },
                self.summary.name.clone(),
            ),
        }
    }

    /// Record a finished action on `scope` with an optional detail.
    pub(super) fn done(
        &mut self,
        verb: Verb,
        scope: Scope,
        request: &ActionRequest,
        actor: &str,
        detail: Option<String>,
    ) -> usize {
        let a = self.record(Record::asked(
            verb,
            scope,
            request,
            actor,
            ActionState::Succeeded,
        ));
        self.actions[a].detail = detail;
        a
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Scope {
    Deployment(usize),
    Ring(usize),
    Host(usize),
    Fleet,
}

pub(super) fn check_version(
    request: &ActionRequest,
    target: &str,
    current: u64,
) -> Result<(), ActError> {
    match request.if_match {
        Some(expected) if expected != current => Err(ActError::VersionMismatch {
            target: target.to_string(),
            expected,
            current,
        }),
        _ => Ok(()),
    }
}

fn kind_name(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Deployment => "deployment",
        TargetKind::Ring => "ring",
        TargetKind::Host => "host",
        TargetKind::Fleet => "fleet",
    }
}
