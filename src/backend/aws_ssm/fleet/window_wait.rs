//! A ring approved while its maintenance window is closed: its command waits (SSM's
//! `SendCommand` runs at once, not in the window), kept in the rollout and the store
//! (rollout.rs), and goes out once when the poller sees the fleet clock pass the
//! window's opening; a halt, pause or decline meanwhile cancels the wait (nothing sent).

use chrono::{DateTime, Utc};

use super::State;
use super::act::ring_spec;
use super::worker::{AttemptRef, Job, StoreWrite};
use crate::backend::aws_ssm::rollout::Phase;
use crate::backend::aws_ssm::settings::SsmSettings;
use crate::model::{ActionState, Change, RingState, WindowStatus};

/// The sends whose window is open at `now` (their attempts now intents), and when each
/// other wait opens, as the last view has the rings' windows. The store keeps the wait
/// until SSM has the command: a restart before the send waits again and the worker's
/// marker look-up sends it once.
pub fn due(state: &mut State, settings: &SsmSettings, now: DateTime<Utc>) -> Vec<Job> {
    let mut jobs = Vec::new();
    let rings = state.view.rings.clone();
    let mut opened = Vec::new();
    for rollout in state.rollouts.list.iter_mut() {
        if rollout.declined.is_some() {
            continue;
        }
        for ring in &rings {
            if rollout.hold(&ring.id).is_some() {
                continue;
            }
            let marker = match rollout.latest(&ring.id) {
                Some(a) if matches!(a.phase, Phase::Waiting(_)) => {
                    rollout.marker(&ring.id, a.attempt)
                }
                _ => continue,
            };
            let Some(attempt) = rollout.latest_mut(&ring.id) else {
                continue;
            };
            match ring.window.status(now) {
                WindowStatus::Closed { opens_at } => {
                    attempt.phase = Phase::Waiting(Some(opens_at));
                }
                WindowStatus::Open { .. } => {
                    attempt.phase = Phase::Intent;
                    let mut record = rollout.ring_record(&ring.id);
                    record.state = RingState::Deploying;
                    record.gate_decision = None;
                    rollout.rings.insert(ring.id.clone(), record);
                    opened.push((marker, ring.name.clone()));
                }
            }
        }
    }
    for (marker, group) in opened {
        let comment = marker.comment();
        let action_id = state
            .actions
            .iter()
            .rev()
            .find(|a| {
                a.state == ActionState::Running
                    && a.detail.as_deref().is_some_and(|d| d.contains(&comment))
            })
            .map(|a| a.id.clone())
            .unwrap_or_default();
        jobs.push(Job::Send {
            action_id,
            specs: vec![ring_spec(settings, group, &comment)],
            attempt: Some(AttemptRef {
                deployment: marker.deployment,
                ring: marker.ring,
                attempt: marker.attempt,
            }),
            writes: Vec::new(),
        });
    }
    jobs
}

/// Cancels `ring`'s wait in deployment `dep`, if it waits: its approve action fails with
/// `why` (an event and a store write); `drop_wait` also ends the attempt (a decline; a
/// hold keeps it, and the hold wins over it until a resume's new attempt).
pub fn cancel(
    state: &mut State,
    dep: &str,
    ring: &str,
    why: &str,
    drop_wait: bool,
    now: DateTime<Utc>,
) -> (Vec<Change>, Vec<StoreWrite>) {
    let Some(rollout) = state.rollouts.get_mut(dep) else {
        return (Vec::new(), Vec::new());
    };
    let Some(attempt) = rollout
        .latest_mut(ring)
        .filter(|a| matches!(a.phase, Phase::Waiting(_)))
    else {
        return (Vec::new(), Vec::new());
    };
    let number = attempt.attempt;
    if drop_wait {
        attempt.phase = Phase::Failed(why.to_string());
    }
    let comment = rollout.marker(ring, number).comment();
    let mut changes = Vec::new();
    let mut writes = Vec::new();
    for a in state.actions.iter_mut().filter(|a| {
        a.state == ActionState::Running && a.detail.as_deref().is_some_and(|d| d.contains(&comment))
    }) {
        a.state = ActionState::Failed;
        a.detail = Some(why.to_string());
        a.finished_at = Some(now);
        a.version += 1;
        changes.push(Change::Action(a.clone()));
        writes.push(StoreWrite::Action(a.clone()));
    }
    (changes, writes)
}
