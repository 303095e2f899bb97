//! A measure of a store for `patchdeck bench`: actions per second (the writes the
//! gateway makes for one action: claim its key, audit it, journal it, keep the action,
//! answer the key) and the latency of appending one event. Run it on an empty store of
//! its own: it writes what it measures.

use std::time::{Duration, Instant};

use chrono::Utc;

use super::types::{AuditEntry, Claim, IdempotentAnswer, JournalEntry, ReplayRequest};
use super::{Store, StoreResult};
use crate::model::{
    Action, ActionState, Change, Event, Identity, Role, Seq, Target, TargetKind, Verb,
};

/// What [`measure`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreBench {
    pub store: String,
    pub actions: usize,
    pub actions_per_sec: f64,
    pub events: usize,
    pub event_append_p50: Duration,
    pub event_append_p99: Duration,
    pub event_append_max: Duration,
}

impl std::fmt::Display for StoreBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {:.0} actions/s ({} actions); event append p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} events)",
            self.store,
            self.actions_per_sec,
            self.actions,
            self.event_append_p50.as_secs_f64() * 1e3,
            self.event_append_p99.as_secs_f64() * 1e3,
            self.event_append_max.as_secs_f64() * 1e3,
            self.events
        )
    }
}

/// Takes `actions` actions one after another, then appends `events` events one at a
/// time after the last stored, each awaited (committed) before the next.
pub async fn measure(store: &impl Store, actions: usize, events: usize) -> StoreResult<StoreBench> {
    let actor = Identity::new("bench", Role::Approver);
    let target = Target {
        kind: TargetKind::Deployment,
        id: "dep-bench".into(),
    };
    let started = Instant::now();
    for n in 0..actions {
        let now = Utc::now();
        let key = format!("bench-{}-{n}", now.timestamp_nanos_opt().unwrap_or(0));
        let claim = store
            .claim_key(&actor.name, &key, "POST /bench", "bench", now)
            .await?;
        debug_assert_eq!(claim, Claim::Claimed);
        let action = Action {
            id: format!("act-bench-{key}"),
            verb: Verb::Pause,
            target: target.clone(),
            target_name: "bench".into(),
            by: actor.name.clone(),
            at: now,
            reason: None,
            ticket: None,
            state: ActionState::Succeeded,
            progress_done: 0,
            progress_total: 0,
            detail: None,
            finished_at: Some(now),
            version: 1,
        };
        store
            .append_audit(&AuditEntry {
                at: now,
                identity: actor.name.clone(),
                verb: "pause".into(),
                target: target.clone(),
                reason: None,
                ticket: None,
                idempotency_key: Some(key.clone()),
                status: 200,
                problem_type: None,
                action_id: Some(action.id.clone()),
                gateway: Some("bench".into()),
            })
            .await?;
        store
            .append_journal(&JournalEntry {
                fleet_time: now,
                actor: actor.clone(),
                request: Some(ReplayRequest {
                    verb: Verb::Pause,
                    target: target.clone(),
                    reason: None,
                    ticket: None,
                    patch_id: None,
                    cve: None,
                    override_reason: None,
                    exception: Default::default(),
                    if_match: None,
                }),
                action_id: Some(action.id.clone()),
                idempotency_key: Some(key.clone()),
            })
            .await?;
        store.put_action(&action).await?;
        let body = serde_json::to_vec(&action).unwrap_or_default();
        store
            .answer_key(
                &actor.name,
                &key,
                &IdempotentAnswer {
                    status: 200,
                    content_type: "application/json".into(),
                    etag: Some("\"1\"".into()),
                    body,
                },
                now,
            )
            .await?;
    }
    let actions_secs = started.elapsed().as_secs_f64();

    let first: Seq = store.event_bounds().await?.last + 1;
    let mut latencies = Vec::with_capacity(events);
    for n in 0..events {
        let event = Event {
            seq: first + n as Seq,
            at: Utc::now(),
            change: Change::Action(Action {
                id: format!("act-bench-event-{n}"),
                verb: Verb::Pause,
                target: target.clone(),
                target_name: "bench".into(),
                by: actor.name.clone(),
                at: Utc::now(),
                reason: None,
                ticket: None,
                state: ActionState::Running,
                progress_done: n as u32,
                progress_total: events as u32,
                detail: None,
                finished_at: None,
                version: 1,
            }),
        };
        let start = Instant::now();
        store.append_events(std::slice::from_ref(&event)).await?;
        latencies.push(start.elapsed());
    }
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Ok(StoreBench {
        store: store.name().to_string(),
        actions,
        actions_per_sec: if actions_secs > 0.0 {
            actions as f64 / actions_secs
        } else {
            0.0
        },
        events,
        event_append_p50: at(0.5),
        event_append_p99: at(0.99),
        event_append_max: latencies.last().copied().unwrap_or_default(),
    })
}
