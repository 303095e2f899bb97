//! The action worker: one job at a time per lane, off the `act` path (two lanes run
//! it: sends and store writes in one, cancels in the other, so a halt's
//! `CancelCommand` never waits behind a queued or slow `SendCommand`). Each job first writes
//! the rollout state it carries to the store (when there is one), then calls SSM, then
//! reports through the event stream (the action Succeeded or Failed).
//!
//! Never a ring's command twice: `SendCommand` has no client token, so before sending
//! the worker looks for a command carrying the same marker (in the snapshot, then with
//! `ListCommands`) and adopts it; the SDK never retries a `SendCommand`; an answer that
//! never came (or a server error) is followed by the same look-up, and if no command
//! carries the marker the ring waits for a person to approve again (nothing resends by
//! itself).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::Core;
use crate::backend::aws_ssm::client::{SendSpec, SsmError};
use crate::backend::aws_ssm::rollout::Phase;
use crate::model::{Action, ActionState, Change, Version};
use crate::store::{HostException, RingRollout, Store, StoreError};

/// A write to the store that must precede the SSM call of its job.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreWrite {
    Rollout(RingRollout),
    Exception(HostException),
    /// A revoked exception: no longer kept.
    ExceptionRemoved(String),
    Action(Action),
}

/// Which ring attempt a send is.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRef {
    pub deployment: String,
    pub ring: String,
    pub attempt: u32,
}

#[derive(Debug)]
pub enum Job {
    /// Only store writes (a first approval, an exception, a soak start).
    Store(Vec<StoreWrite>),
    /// `SendCommand` of each spec (its comment is its marker), unless a command with
    /// that marker exists.
    Send {
        action_id: String,
        attempt: Option<AttemptRef>,
        specs: Vec<SendSpec>,
        writes: Vec<StoreWrite>,
    },
    /// `CancelCommand`.
    Cancel {
        action_id: String,
        command_id: String,
        writes: Vec<StoreWrite>,
    },
    /// Answers once every job before it is done.
    Notify(oneshot::Sender<()>),
}

/// Throttled sends tried again (SSM did not act on a throttled call).
const SEND_TRIES: u32 = 3;

pub async fn run(core: Arc<Core>, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut versions: HashMap<String, Version> = HashMap::new();
    while let Some(job) = queue.recv().await {
        match job {
            Job::Notify(done) => {
                let _ = done.send(());
            }
            Job::Store(writes) => {
                // Nothing waits on these but the next restart; a failure is said in
                // the next action that needs the store.
                let _ = write(&core, &mut versions, &writes).await;
            }
            Job::Send {
                action_id,
                attempt,
                specs,
                writes,
            } => {
                if let Some(why) = held_before_sent(&core, attempt.as_ref()) {
                    finish(&core, &mut versions, &action_id, attempt.as_ref(), Err(why)).await;
                    continue;
                }
                if let Err(error) = write(&core, &mut versions, &writes).await {
                    let why = format!("{error}; nothing was sent");
                    finish(&core, &mut versions, &action_id, attempt.as_ref(), Err(why)).await;
                    continue;
                }
                let mut sent = Vec::new();
                let mut failure = None;
                for spec in &specs {
                    match send_once(&core, spec).await {
                        Ok(id) => sent.push(id),
                        Err(why) => {
                            failure = Some(why);
                            break;
                        }
                    }
                }
                let outcome = match failure {
                    None => Ok(sent),
                    Some(why) => Err(why),
                };
                finish(&core, &mut versions, &action_id, attempt.as_ref(), outcome).await;
            }
            Job::Cancel {
                action_id,
                command_id,
                writes,
            } => {
                let outcome = match write(&core, &mut versions, &writes).await {
                    Err(error) => Err(format!("{error}; no cancel was sent")),
                    Ok(()) => core
                        .client
                        .cancel(&command_id)
                        .await
                        .map_err(|e| e.to_string()),
                };
                let detail = match &outcome {
                    Ok(()) => Ok(format!(
                        "CancelCommand sent for {command_id}: pending hosts are cancelled, invocations already running may finish"
                    )),
                    Err(why) => Err(format!("CancelCommand {command_id} failed: {why}")),
                };
                settle_action(&core, &mut versions, &action_id, detail).await;
                let mut state = core.lock();
                if !state.extra.contains(&command_id) {
                    state.extra.push(command_id);
                }
            }
        }
    }
}

/// A ring paused or halted after its send was queued (the cancel lane is ahead of
/// it): nothing is sent, and why.
fn held_before_sent(core: &Core, attempt: Option<&AttemptRef>) -> Option<String> {
    let a = attempt?;
    let state = core.lock();
    let (hold, _) = state.rollouts.get(&a.deployment)?.hold(&a.ring)?;
    Some(format!(
        "{} {} before its command was sent: nothing was sent",
        state.ring_name(&a.ring),
        hold.words()
    ))
}

/// The command carrying `marker`, if SSM has one: first what the last poll saw, then
/// `ListCommands` of the document.
async fn find_marked(core: &Core, spec: &SendSpec) -> Result<Option<String>, SsmError> {
    let seen = {
        let state = core.lock();
        state
            .records
            .commands
            .iter()
            .find(|c| c.comment == spec.comment)
            .map(|c| c.id.clone())
    };
    if seen.is_some() {
        return Ok(seen);
    }
    let listed = core.client.commands(&spec.document, None).await?;
    Ok(listed
        .into_iter()
        .find(|c| c.comment == spec.comment)
        .map(|c| c.id))
}

/// One spec sent at most once: adopted if its marker is found, sent otherwise; a lost
/// answer is looked up again, never resent.
async fn send_once(core: &Core, spec: &SendSpec) -> Result<String, String> {
    let mut tries = 0;
    loop {
        match find_marked(core, spec).await {
            Ok(Some(id)) => return Ok(id),
            Ok(None) => {}
            Err(SsmError::Throttled(_)) if tries < SEND_TRIES => {
                tries += 1;
                core.budget.throttled().await;
                continue;
            }
            Err(error) => return Err(format!("could not look for '{}': {error}", spec.comment)),
        }
        match core.client.send(spec).await {
            Ok(id) => return Ok(id),
            Err(SsmError::Throttled(_)) if tries < SEND_TRIES => {
                tries += 1;
                core.budget.throttled().await;
            }
            Err(error) if error.outcome_unknown() => {
                return match find_marked(core, spec).await {
                    Ok(Some(id)) => Ok(id),
                    _ => Err(format!(
                        "SSM did not answer SendCommand ({error}) and no command carries '{}': approve again to send",
                        spec.comment
                    )),
                };
            }
            Err(error) => return Err(error.to_string()),
        }
    }
}

async fn put_rollout(
    core: &Core,
    versions: &mut HashMap<String, Version>,
    record: &RingRollout,
) -> Result<(), StoreError> {
    let Some(store) = &core.store else {
        return Ok(());
    };
    for _ in 0..3 {
        let expected = match versions.get(&record.ring_id) {
            Some(v) => Some(*v),
            None => store
                .ring_rollout(&record.ring_id)
                .await?
                .map(|v| v.version),
        };
        match store.put_ring_rollout(record, expected).await {
            Ok(version) => {
                versions.insert(record.ring_id.clone(), version);
                return Ok(());
            }
            Err(StoreError::Conflict { .. }) => {
                versions.remove(&record.ring_id);
            }
            Err(error) => return Err(error),
        }
    }
    let expected = store
        .ring_rollout(&record.ring_id)
        .await?
        .map(|v| v.version);
    let version = store.put_ring_rollout(record, expected).await?;
    versions.insert(record.ring_id.clone(), version);
    Ok(())
}

async fn write(
    core: &Core,
    versions: &mut HashMap<String, Version>,
    writes: &[StoreWrite],
) -> Result<(), StoreError> {
    let Some(store) = &core.store else {
        return Ok(());
    };
    for w in writes {
        match w {
            StoreWrite::Rollout(record) => put_rollout(core, versions, record).await?,
            StoreWrite::Exception(exception) => store.put_exception(exception).await?,
            StoreWrite::ExceptionRemoved(host_id) => {
                store.remove_exception(host_id).await?;
            }
            StoreWrite::Action(action) => {
                store.put_action(action).await?;
            }
        }
    }
    Ok(())
}

/// A send's outcome into the rollout (the attempt's phase) and its action.
async fn finish(
    core: &Core,
    versions: &mut HashMap<String, Version>,
    action_id: &str,
    attempt: Option<&AttemptRef>,
    outcome: Result<Vec<String>, String>,
) {
    {
        let mut state = core.lock();
        if let Some(a) = attempt
            && let Some(rollout) = state.rollouts.get_mut(&a.deployment)
            && let Some(found) = rollout
                .attempts
                .iter_mut()
                .find(|x| x.ring == a.ring && x.attempt == a.attempt)
        {
            found.phase = match &outcome {
                Ok(ids) => Phase::Sent(ids.first().cloned().unwrap_or_default()),
                Err(why) if why.contains("approve again") => Phase::Unknown,
                Err(why) => Phase::Failed(why.clone()),
            };
        }
        if let Ok(ids) = &outcome {
            for id in ids {
                if !state.extra.contains(id) {
                    state.extra.push(id.clone());
                }
            }
        }
    }
    let detail = match outcome {
        Ok(ids) => Ok(match attempt {
            Some(a) => format!(
                "command {} sent to {} (attempt {})",
                ids.join(", "),
                a.ring,
                a.attempt
            ),
            None => format!("command {} sent", ids.join(", ")),
        }),
        Err(why) => Err(why),
    };
    settle_action(core, versions, action_id, detail).await;
}

/// The action Succeeded (or Failed) with `detail`, as an event and in the store.
async fn settle_action(
    core: &Core,
    versions: &mut HashMap<String, Version>,
    action_id: &str,
    detail: Result<String, String>,
) {
    let now = core.now();
    let settled = {
        let mut state = core.lock();
        let Some(action) = state.actions.iter_mut().find(|a| a.id == action_id) else {
            return;
        };
        let (s, text) = match detail {
            Ok(text) => (ActionState::Succeeded, text),
            Err(text) => (ActionState::Failed, text),
        };
        action.state = s;
        action.detail = Some(text);
        action.finished_at = Some(now);
        action.version += 1;
        let action = action.clone();
        core.emit(&mut state, vec![Change::Action(action.clone())]);
        core.refresh(&mut state);
        action
    };
    let _ = write(core, versions, &[StoreWrite::Action(settled)]).await;
}
