//! Actions on the SSM fleet: a request is validated against the view and the rollout
//! into a [`Decision`] (pure), which `act` applies (rollout state changed at once, the
//! action recorded as running, a job for the worker) and `plan` describes.
//!
//! approve opens the next ring (`SendCommand` with the ring's MaxConcurrency and
//! MaxErrors; two persons on production rings; the previous ring's gate must have
//! passed) or, on a halted deployment, sends its ring again (attempt n+1); pause and
//! halt are `CancelCommand` (SSM has no pause); resume is a new attempt; retry is a
//! command to the chosen instance; exclude, renew and revoke keep an exception in the
//! gateway's store; rollback is the operator's
//! document; emergency is unavailable; decline is rollout state only.

use chrono::{DateTime, Utc};

use super::decide::{Decided, Decision, IDS_PER_SEND, decide};
use super::window_wait;
use super::worker::{AttemptRef, Job, StoreWrite};
use super::{Core, State};
use crate::backend::aws_ssm::client::{SendSpec, SendTargets};
use crate::backend::aws_ssm::rollout::{Attempt, Marker, Phase, wait_record, wait_words};
use crate::backend::aws_ssm::settings::SsmSettings;
use crate::backend::{ActError, ActionRequest};
use crate::model::{
    Action, ActionState, Approval, Change, Exception, GateState, Identity, PendingApproval,
    Renewal, RingState, Verb, WindowStatus,
};
use crate::store::HostException;

fn new_action(
    state: &mut State,
    decided: &Decided,
    actor: &Identity,
    at: DateTime<Utc>,
    action_state: ActionState,
    detail: String,
) -> Action {
    let id = format!("act-{:06}", state.next_action);
    state.next_action += 1;
    let done = !matches!(
        action_state,
        ActionState::Running | ActionState::AwaitingSecondApprover
    );
    let action = Action {
        id,
        verb: decided.request.verb,
        target: decided.request.target.clone(),
        target_name: decided.target_name.clone(),
        by: actor.name.clone(),
        at,
        reason: decided.request.reason.clone(),
        ticket: decided.request.ticket.clone(),
        state: action_state,
        progress_done: 0,
        progress_total: 0,
        detail: Some(detail),
        finished_at: done.then_some(at),
        version: 1,
    };
    state.actions.push(action.clone());
    if state.actions.len() > super::ACTIONS_LISTED {
        state.actions.remove(0);
    }
    action
}

/// A ring's command: `AWS-RunPatchBaseline` Install to its patch group's tag, with the
/// ring's MaxConcurrency and MaxErrors, its marker the comment.
pub fn ring_spec(settings: &SsmSettings, group: String, marker: &str) -> SendSpec {
    SendSpec::install(
        SendTargets::Tag {
            key: settings.tag_key.clone(),
            value: group,
        },
        &settings.max_concurrency,
        &settings.max_errors,
        marker,
    )
}

/// Applies an action: the rollout state at once, the action recorded, the job queued.
pub fn act(core: &Core, request: ActionRequest, actor: &Identity) -> Result<Action, ActError> {
    let now = core.now();
    let mut state = core.lock();
    let decided = decide(&state, core, &request, actor, false)?;
    let settings = &core.settings;
    let (action, job, mut changes) = match decided.decision.clone() {
        Decision::Open {
            dep,
            ring,
            attempt,
            completes,
        } => {
            let marker = Marker {
                deployment: dep.clone(),
                ring: ring.clone(),
                attempt,
            }
            .comment();
            let group = state.ring_name(&ring);
            let mut changes = Vec::new();
            let mut first_id = None;
            if let Some(p) = &completes {
                first_id = state
                    .actions
                    .iter_mut()
                    .rev()
                    .find(|a| {
                        a.state == ActionState::AwaitingSecondApprover
                            && a.target.id == dep
                            && a.by == p.first_approver
                    })
                    .map(|a| {
                        a.state = ActionState::Succeeded;
                        a.detail = Some(format!(
                            "{group} opened after a second approval by {}",
                            actor.name
                        ));
                        a.finished_at = Some(now);
                        a.version += 1;
                        changes.push(Change::Action(a.clone()));
                        a.clone()
                    });
            }
            // A closed window holds the command until the poller sees it open.
            let opens_at = state
                .view
                .rings
                .iter()
                .find(|r| r.id == ring)
                .and_then(|r| match r.window.status(now) {
                    WindowStatus::Closed { opens_at } => Some(opens_at),
                    WindowStatus::Open { .. } => None,
                });
            let detail = match opens_at {
                Some(at) => format!("{}; then sends {marker}", wait_words(Some(at))),
                None => format!("sending {marker}"),
            };
            let action = new_action(
                &mut state,
                &decided,
                actor,
                now,
                ActionState::Running,
                detail,
            );
            let rollout = state
                .rollouts
                .get_mut(&dep)
                .ok_or_else(|| ActError::NotFound(format!("deployment {dep}")))?;
            if let Some(p) = completes {
                rollout.approvals.push(Approval {
                    ring_id: ring.clone(),
                    by: p.first_approver,
                    at: p.at,
                });
            }
            rollout.approvals.push(Approval {
                ring_id: ring.clone(),
                by: actor.name.clone(),
                at: now,
            });
            rollout.pending = None;
            rollout.attempts.push(Attempt {
                ring: ring.clone(),
                attempt,
                phase: match opens_at {
                    Some(at) => Phase::Waiting(Some(at)),
                    None => Phase::Intent,
                },
            });
            let mut record = rollout.ring_record(&ring);
            record.state = RingState::Deploying;
            record.gate = GateState::NotReached;
            record.halt_reason = None;
            record.soak_started_at = None;
            record.approvals.clear();
            record.gate_decision = None;
            if opens_at.is_some() {
                record.state = RingState::Waiting;
                record.gate_decision = Some(wait_record(&rollout.marker(&ring, attempt)));
            }
            rollout.rings.insert(ring.clone(), record.clone());
            let mut writes = vec![
                StoreWrite::Rollout(rollout.record()),
                StoreWrite::Rollout(record),
                StoreWrite::Action(action.clone()),
            ];
            if let Some(first) = first_id {
                writes.push(StoreWrite::Action(first));
            }
            let job = match opens_at {
                Some(_) => Job::Store(writes),
                None => Job::Send {
                    action_id: action.id.clone(),
                    attempt: Some(AttemptRef {
                        deployment: dep,
                        ring,
                        attempt,
                    }),
                    specs: vec![ring_spec(settings, group, &marker)],
                    writes,
                },
            };
            (action, Some(job), changes)
        }
        Decision::FirstApproval { dep, ring, resume } => {
            let what = if resume { "resume" } else { "open" };
            let name = state.ring_name(&ring);
            let detail = format!(
                "first approval to {what} {name}; a second, different approver must approve"
            );
            let action = new_action(
                &mut state,
                &decided,
                actor,
                now,
                ActionState::AwaitingSecondApprover,
                detail,
            );
            let rollout = state
                .rollouts
                .get_mut(&dep)
                .ok_or_else(|| ActError::NotFound(format!("deployment {dep}")))?;
            rollout.pending = Some(PendingApproval {
                ring_id: ring.clone(),
                first_approver: actor.name.clone(),
                first_person: actor.as_person().to_string(),
                at: now,
                resume,
            });
            let mut record = rollout.ring_record(&ring);
            record.gate = GateState::AwaitingSecondApprover;
            record.gate_decision = Some(actor.as_person().to_string());
            record.approvals = vec![Approval {
                ring_id: ring.clone(),
                by: actor.name.clone(),
                at: now,
            }];
            if resume {
                record.state = RingState::Halted;
            }
            rollout.rings.insert(ring, record.clone());
            let writes = vec![
                StoreWrite::Rollout(record),
                StoreWrite::Action(action.clone()),
            ];
            (action, Some(Job::Store(writes)), Vec::new())
        }
        Decision::Hold {
            dep,
            ring,
            state: hold,
            cancel,
        } => {
            let reason = decided
                .request
                .reason
                .clone()
                .unwrap_or_else(|| format!("{} by {}", hold.words(), actor.name));
            let why = format!("{} by {}: {reason}", hold.words(), actor.name);
            let name = state.ring_name(&ring);
            let (changes, mut writes) = window_wait::cancel(
                &mut state,
                &dep,
                &ring,
                &format!(
                    "{} before {name}'s window opened: nothing was sent",
                    hold.words()
                ),
                false,
                now,
            );
            let (action_state, detail) = match &cancel {
                Some(c) => (ActionState::Running, format!("cancelling command {c}")),
                None if !changes.is_empty() => (
                    ActionState::Succeeded,
                    format!(
                        "{name} {}; its wait for the window is cancelled, nothing was sent",
                        hold.words()
                    ),
                ),
                None => (
                    ActionState::Succeeded,
                    format!("{name} {}; no command was running", hold.words()),
                ),
            };
            let action = new_action(&mut state, &decided, actor, now, action_state, detail);
            let rollout = state
                .rollouts
                .get_mut(&dep)
                .ok_or_else(|| ActError::NotFound(format!("deployment {dep}")))?;
            let mut record = rollout.ring_record(&ring);
            record.state = hold;
            record.halt_reason = Some(why);
            rollout.rings.insert(ring, record.clone());
            writes.push(StoreWrite::Rollout(record));
            writes.push(StoreWrite::Action(action.clone()));
            let job = match cancel {
                Some(command_id) => Job::Cancel {
                    action_id: action.id.clone(),
                    command_id,
                    writes,
                },
                None => Job::Store(writes),
            };
            (action, Some(job), changes)
        }
        Decision::Decline { dep } => {
            let why = match &decided.request.reason {
                Some(reason) => format!("declined by {}: {reason}", actor.name),
                None => format!("declined by {}", actor.name),
            };
            let action = new_action(
                &mut state,
                &decided,
                actor,
                now,
                ActionState::Succeeded,
                why.clone(),
            );
            let waiting = state.rollouts.get(&dep).and_then(|r| {
                let a = r
                    .attempts
                    .iter()
                    .rev()
                    .find(|a| matches!(a.phase, Phase::Waiting(_)))?;
                Some(a.ring.clone())
            });
            let (mut changes, mut cancelled) = match waiting {
                Some(ring) => {
                    let name = state.ring_name(&ring);
                    window_wait::cancel(
                        &mut state,
                        &dep,
                        &ring,
                        &format!("declined before {name}'s window opened: nothing was sent"),
                        true,
                        now,
                    )
                }
                None => (Vec::new(), Vec::new()),
            };
            for a in state
                .actions
                .iter_mut()
                .filter(|a| a.state == ActionState::AwaitingSecondApprover && a.target.id == dep)
            {
                a.state = ActionState::Failed;
                a.detail = Some(why.clone());
                a.finished_at = Some(now);
                a.version += 1;
                changes.push(Change::Action(a.clone()));
            }
            let rollout = state
                .rollouts
                .get_mut(&dep)
                .ok_or_else(|| ActError::NotFound(format!("deployment {dep}")))?;
            rollout.declined = Some(why);
            rollout.pending = None;
            let mut writes = vec![
                StoreWrite::Rollout(rollout.record()),
                StoreWrite::Action(action.clone()),
            ];
            writes.append(&mut cancelled);
            (action, Some(Job::Store(writes)), changes)
        }
        Decision::Retry { dep, host } => {
            let prefix = dep.as_deref().unwrap_or("fleet");
            let id = format!("act-{:06}", state.next_action);
            let marker = format!("patchdeck {prefix} retry {id}");
            let spec = SendSpec::install(
                SendTargets::Instances(vec![host.clone()]),
                &settings.max_concurrency,
                &settings.max_errors,
                &marker,
            );
            let action = new_action(
                &mut state,
                &decided,
                actor,
                now,
                ActionState::Running,
                format!("sending {marker}"),
            );
            let job = Job::Send {
                action_id: action.id.clone(),
                attempt: None,
                specs: vec![spec],
                writes: vec![StoreWrite::Action(action.clone())],
            };
            (action, Some(job), Vec::new())
        }
        Decision::Exclude { host } => {
            let (action, writes) = exception_action(&mut state, &decided, actor, now, host)?;
            (action, Some(Job::Store(writes)), Vec::new())
        }
        Decision::Rollback {
            document,
            commands,
            hosts,
            kb,
        } => {
            let id = format!("act-{:06}", state.next_action);
            let commands: Vec<String> = commands.iter().map(|c| c.replace("{kb}", &kb)).collect();
            let specs: Vec<SendSpec> = hosts
                .chunks(IDS_PER_SEND)
                .enumerate()
                .map(|(n, ids)| SendSpec {
                    document: document.clone(),
                    parameters: vec![("commands".into(), commands.clone())],
                    targets: SendTargets::Instances(ids.to_vec()),
                    max_concurrency: settings.max_concurrency.clone(),
                    max_errors: settings.max_errors.clone(),
                    comment: format!("patchdeck rollback {id} batch={}", n + 1),
                })
                .collect();
            let detail = format!(
                "operator-defined rollback: {document} uninstalling KB{kb} on {} hosts",
                hosts.len()
            );
            let action = new_action(
                &mut state,
                &decided,
                actor,
                now,
                ActionState::Running,
                detail,
            );
            let job = Job::Send {
                action_id: action.id.clone(),
                attempt: None,
                specs,
                writes: vec![StoreWrite::Action(action.clone())],
            };
            (action, Some(job), Vec::new())
        }
    };
    changes.push(Change::Action(action.clone()));
    core.emit(&mut state, changes);
    core.refresh(&mut state);
    drop(state);
    if let Some(job) = job {
        core.queue(job);
    }
    Ok(action)
}

/// Exclude, renew or revoke on SSM: the exception is patchdeck's, kept in the gateway's
/// store (SSM has none); an excluded host is skipped by patchdeck's retries and
/// rollbacks. One patch only cannot be held back (SSM installs a baseline).
fn exception_action(
    state: &mut State,
    decided: &Decided,
    actor: &Identity,
    now: DateTime<Utc>,
    host: String,
) -> Result<(Action, Vec<StoreWrite>), ActError> {
    let request = &decided.request;
    let name = &decided.target_name;
    let current = state.exceptions.get(&host).cloned();
    let reason = request.reason.clone().unwrap_or_default();
    let expiry = |verb: Verb| {
        let at = request
            .exception
            .expires
            .map(|e| e.at(now))
            .ok_or_else(|| {
                ActError::Invalid(format!(
                    "{} needs an expiry: days (30) or a date (2027-01-15)",
                    verb.as_str()
                ))
            })?;
        if at <= now {
            return Err(ActError::Invalid(format!(
                "the expiry {} is not in the future",
                at.format("%Y-%m-%d %H:%M UTC")
            )));
        }
        Ok(at)
    };
    let (exception, detail) = match request.verb {
        Verb::Exclude => {
            if let Some(e) = current.as_ref().filter(|e| e.in_force(now)) {
                return Err(ActError::Conflict(format!(
                    "{name} already has an exception (until {}): renew or revoke it",
                    e.expires_at.format("%Y-%m-%d %H:%M UTC")
                )));
            }
            if request.patch_id.is_some() {
                return Err(ActError::Unsupported(
                    "SSM installs a patch baseline: an exception holds back every patch of a host, not one".into(),
                ));
            }
            let control = request
                .exception
                .compensating_control
                .clone()
                .ok_or_else(|| {
                    ActError::Invalid(
                        "exclude needs a compensating control: what protects the host meanwhile"
                            .into(),
                    )
                })?;
            let expires_at = expiry(Verb::Exclude)?;
            let exception = Exception {
                owner: request
                    .exception
                    .owner
                    .clone()
                    .unwrap_or_else(|| actor.name.clone()),
                reason,
                ticket: request.ticket.clone(),
                expires_at,
                compensating_control: control,
                patch_id: None,
                granted_by: actor.name.clone(),
                granted_at: Some(now),
                renewals: Vec::new(),
                lapsed_at: None,
            };
            let detail = format!(
                "excluded until {}: patchdeck's retries and rollbacks skip it; a ring's tag-targeted command still reaches it unless its Patch Group tag is removed",
                expires_at.format("%Y-%m-%d %H:%M UTC")
            );
            (Some(exception), detail)
        }
        Verb::Renew => {
            let Some(mut exception) = current else {
                return Err(ActError::Conflict(format!(
                    "{name} has no exception to renew (exclude it to grant one)"
                )));
            };
            let expires_at = expiry(Verb::Renew)?;
            let detail = format!(
                "exception renewed until {} (was {})",
                expires_at.format("%Y-%m-%d %H:%M UTC"),
                exception.expires_at.format("%Y-%m-%d %H:%M UTC")
            );
            exception.renewals.push(Renewal {
                at: now,
                by: actor.name.clone(),
                reason,
                ticket: request.ticket.clone(),
                from: exception.expires_at,
                expires_at,
            });
            exception.expires_at = expires_at;
            exception.lapsed_at = None;
            (Some(exception), detail)
        }
        _ => {
            if current.is_none() {
                return Err(ActError::Conflict(format!(
                    "{name} has no exception to revoke"
                )));
            }
            (
                None,
                "exception revoked: the host takes its ring's patches again".into(),
            )
        }
    };
    let write = match exception {
        Some(exception) => {
            state.exceptions.insert(host.clone(), exception.clone());
            StoreWrite::Exception(HostException {
                host_id: host,
                exception,
            })
        }
        None => {
            state.exceptions.remove(&host);
            StoreWrite::ExceptionRemoved(host)
        }
    };
    let action = new_action(state, decided, actor, now, ActionState::Succeeded, detail);
    let writes = vec![write, StoreWrite::Action(action.clone())];
    Ok((action, writes))
}
