//! The durable gateway: the server's fleet rebuilt from, and kept in, the store.
//!
//! Every accepted action is written to the store's journal before the fleet acts on it
//! (write-ahead), and so is every move of the fleet clock (a checkpoint entry). The
//! fleet is a pure function of the journal: each gateway applies the entries in journal
//! order (the clock moves to the entry's fleet time, never back, then the request is
//! acted on), so a restarted gateway, and every gateway on one PostgreSQL, rebuild the
//! same fleet with the same event ids. Only the holder of the `rollout` lease moves the
//! clock and writes the event log; the others follow the journal.
//!
//! A write the store refuses marks the gateway degraded (reads keep working; actions
//! are refused with 503 `store-unavailable`) until a write succeeds again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::idempotency::Stored;
use crate::backend::{ActError, ActionRequest, Backend};
use crate::model::{Action, Identity, Role, SYSTEM, Seq};
use crate::store::{
    AnyStore, AuditEntry, IdempotentAnswer, JournalEntry, ReplayRequest, Store, StoreError,
    StoreResult,
};

/// Name of the lease that says which gateway moves the fleet clock.
pub const ROLLOUT_LEASE: &str = "rollout";
/// How long a lease lasts unless renewed (renewed every third of it).
pub const LEASE_TTL: StdDuration = StdDuration::from_secs(6);
/// How often followers read the journal and the leader writes events.
const FOLLOW_INTERVAL: StdDuration = StdDuration::from_millis(250);
/// How often the leader writes a clock checkpoint (and moves the fleet clock).
const CLOCK_INTERVAL: StdDuration = StdDuration::from_secs(1);
/// Journal entries and events read or written at once.
const BATCH: usize = 1000;
/// Events the store keeps by default (older ones are compacted away).
pub const KEEP_EVENTS: u64 = 100_000;
/// How long idempotency keys are kept by default (then forgotten).
pub const KEEP_KEYS: StdDuration = StdDuration::from_secs(24 * 3600);
/// How often the leader compacts the event log (and, every minute, forgets old keys).
const COMPACT_INTERVAL: StdDuration = StdDuration::from_secs(1);
const FORGET_INTERVAL: StdDuration = StdDuration::from_secs(60);

/// How a gateway keeps its lease and its store (`serve` flags, some hidden for tests).
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// How long the rollout lease lasts unless renewed (renewed every third of it).
    pub lease_ttl: StdDuration,
    /// Events the log keeps; the leader compacts older ones away (0: keep all).
    pub keep_events: u64,
    /// Idempotency keys older than this are forgotten by the leader.
    pub keep_keys: StdDuration,
    /// Fault injection: abort the process right after journaling and acting on a
    /// request with an Idempotency-Key, before its answer is stored.
    pub abort_after_act: bool,
}

impl Default for GatewayOptions {
    fn default() -> GatewayOptions {
        GatewayOptions {
            lease_ttl: LEASE_TTL,
            keep_events: KEEP_EVENTS,
            keep_keys: KEEP_KEYS,
            abort_after_act: false,
        }
    }
}

/// The fleet clock the journal drives: the simulator, or any fleet that can be
/// rebuilt by replaying actions against a clock.
pub trait FleetClock: Send + Sync + 'static {
    fn fleet_time(&self) -> DateTime<Utc>;
    /// Move the clock forward to `fleet_time` (never back).
    fn advance_to(&self, fleet_time: DateTime<Utc>);
}

/// The outcome of one action as the fleet gave it.
pub type ActResult = Result<Action, ActError>;

/// What the journal did under each (identity, Idempotency-Key): the entry and its result.
type KeyedResults = HashMap<(String, String), (JournalEntry, ActResult)>;

/// The store, this gateway's id, and the fleet it keeps in step with the journal.
pub struct Gateway {
    store: AnyStore,
    id: String,
    fleet: Arc<dyn Backend>,
    clock: Arc<dyn FleetClock>,
    options: GatewayOptions,
    /// Journal entries applied to the fleet; held while applying (and acting).
    applied: tokio::sync::Mutex<u64>,
    health: Mutex<Health>,
    /// What `serve --notify`'s receivers have had, for `GET /v1/health`.
    notify_health: Mutex<Option<NotifyHealth>>,
}

/// Says, as JSON, how the webhook receivers of `serve --notify` are doing.
pub type NotifyHealth = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

#[derive(Debug, Clone, Default)]
struct Health {
    degraded: Option<String>,
    lease_holder: Option<String>,
    leader: bool,
    events_stored: Seq,
    checkpoints_written: u64,
    events_written: u64,
}

/// `GET /v1/health`.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    /// The store as shown to people (no password).
    pub store: String,
    pub degraded: bool,
    /// Why writes are refused, when degraded.
    pub reason: Option<String>,
    /// The gateway that moves the fleet clock now.
    pub lease_holder: Option<String>,
    /// This gateway's id.
    pub gateway: String,
    /// Clock checkpoints this gateway journaled since it started (only the leader).
    pub checkpoints_written: u64,
    /// Events this gateway appended to the stored log since it started (only the
    /// leader).
    pub events_written: u64,
    /// The webhook receivers of `serve --notify`: delivered, failed, dropped, the last
    /// error (absent without `--notify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<serde_json::Value>,
}

/// What rebuilding the fleet from the journal found.
#[derive(Debug, Clone, Default)]
pub struct Replayed {
    pub entries: u64,
    pub actions: u64,
    /// Keys claimed before a crash: answered from the journal, or released.
    pub keys_answered: usize,
    pub keys_released: usize,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("store", &self.store.name())
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl From<&ActionRequest> for ReplayRequest {
    fn from(r: &ActionRequest) -> ReplayRequest {
        ReplayRequest {
            verb: r.verb,
            target: r.target.clone(),
            reason: r.reason.clone(),
            ticket: r.ticket.clone(),
            patch_id: r.patch_id.clone(),
            cve: r.cve.clone(),
            override_reason: r.override_reason.clone(),
            exception: (*r.exception).clone(),
            if_match: r.if_match,
        }
    }
}

impl From<&ReplayRequest> for ActionRequest {
    fn from(r: &ReplayRequest) -> ActionRequest {
        ActionRequest {
            verb: r.verb,
            target: r.target.clone(),
            reason: r.reason.clone(),
            ticket: r.ticket.clone(),
            patch_id: r.patch_id.clone(),
            cve: r.cve.clone(),
            override_reason: r.override_reason.clone(),
            exception: Box::new(r.exception.clone()),
            if_match: r.if_match,
        }
    }
}

/// The answer a keyed request gets for `result` (as the server sent it).
fn answer_of(result: &ActResult) -> IdempotentAnswer {
    Stored::from_result(String::new(), result).to_answer()
}

/// A refused write: is the gateway degraded by it?
fn degrading(error: &StoreError) -> bool {
    error.refuses_writes() || matches!(error, StoreError::Other { .. })
}

impl Gateway {
    pub fn new(
        store: AnyStore,
        id: impl Into<String>,
        fleet: Arc<dyn Backend>,
        clock: Arc<dyn FleetClock>,
    ) -> Arc<Gateway> {
        Gateway::with_options(store, id, fleet, clock, GatewayOptions::default())
    }

    pub fn with_options(
        store: AnyStore,
        id: impl Into<String>,
        fleet: Arc<dyn Backend>,
        clock: Arc<dyn FleetClock>,
        options: GatewayOptions,
    ) -> Arc<Gateway> {
        Arc::new(Gateway {
            store,
            id: id.into(),
            fleet,
            clock,
            options,
            applied: tokio::sync::Mutex::new(0),
            health: Mutex::new(Health::default()),
            notify_health: Mutex::new(None),
        })
    }

    pub fn store(&self) -> &AnyStore {
        &self.store
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn health_mut(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes the outcome of a write: a refusal degrades, a success heals.
    fn note<T>(&self, result: &StoreResult<T>) {
        let mut health = self.health_mut();
        match result {
            Ok(_) => health.degraded = None,
            Err(error) if degrading(error) => health.degraded = Some(error.to_string()),
            Err(_) => {}
        }
    }

    pub fn degraded(&self) -> Option<String> {
        self.health_mut().degraded.clone()
    }

    /// Marks the gateway degraded (e.g. the store was opened read-only).
    pub fn set_degraded(&self, reason: impl Into<String>) {
        self.health_mut().degraded = Some(reason.into());
    }

    pub fn is_leader(&self) -> bool {
        self.health_mut().leader
    }

    /// Reports the receivers of `serve --notify` in `GET /v1/health`.
    pub fn set_notify_health(&self, report: NotifyHealth) {
        *self
            .notify_health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(report);
    }

    pub fn health(&self) -> HealthReport {
        let notify = self
            .notify_health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .map(|report| report());
        let health = self.health_mut().clone();
        HealthReport {
            store: self.store.name().to_string(),
            degraded: health.degraded.is_some(),
            reason: health.degraded,
            lease_holder: health.lease_holder,
            gateway: self.id.clone(),
            checkpoints_written: health.checkpoints_written,
            events_written: health.events_written,
            notify,
        }
    }

    /// Applies one entry: the clock to its fleet time, then its request.
    fn apply(&self, entry: &JournalEntry) -> Option<ActResult> {
        self.clock.advance_to(entry.fleet_time);
        let request = entry.request.as_ref()?;
        Some(self.fleet.act(ActionRequest::from(request), &entry.actor))
    }

    /// Applies an entry read back from the journal (at start, or written by another
    /// gateway). A fleet that is not rebuilt from its journal (a vendor's) is never
    /// handed one again: what it did is the vendor's and its own records' to say, and
    /// acting twice could send a ring's command twice. Keys such an entry claimed and
    /// did not answer are released; a retry meets the fleet's own state.
    fn reapply(&self, entry: &JournalEntry) -> Option<ActResult> {
        if !self.fleet.replays_journal() {
            return None;
        }
        self.apply(entry)
    }

    /// Applies the journal after `applied` through `through`; keyed results go to
    /// `answers` when given.
    async fn catch_up(
        &self,
        applied: &mut u64,
        through: u64,
        mut answers: Option<&mut KeyedResults>,
        replayed: &mut Replayed,
    ) -> StoreResult<()> {
        while *applied < through {
            let limit = usize::try_from(through - *applied).map_or(BATCH, |n| n.min(BATCH));
            let entries = self.store.journal_after(*applied, limit).await?;
            if entries.is_empty() {
                return Ok(());
            }
            for journaled in entries {
                if journaled.seq > through {
                    return Ok(());
                }
                let result = self.reapply(&journaled.entry);
                *applied = journaled.seq;
                replayed.entries += 1;
                if let Some(result) = result {
                    replayed.actions += 1;
                    if let (Some(answers), Some(key)) =
                        (answers.as_deref_mut(), &journaled.entry.idempotency_key)
                    {
                        answers.insert(
                            (journaled.entry.actor.name.clone(), key.clone()),
                            (journaled.entry.clone(), result),
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// Rebuilds the fleet from the whole journal (at start), then settles the keys this
    /// gateway claimed and did not answer before it stopped: answered from what the
    /// journal says was done, released when nothing was.
    pub async fn replay(&self) -> StoreResult<Replayed> {
        let mut applied = self.applied.lock().await;
        let mut replayed = Replayed::default();
        let mut answers = HashMap::new();
        self.catch_up(&mut applied, u64::MAX, Some(&mut answers), &mut replayed)
            .await?;
        for (identity, key) in self.store.unanswered_keys(&self.id).await? {
            match answers.get(&(identity.clone(), key.clone())) {
                Some((entry, result)) => {
                    let answer = answer_of(result);
                    self.store
                        .answer_key(&identity, &key, &answer, Utc::now())
                        .await?;
                    // The crash came before the attempt's audit row: write it now, so
                    // the trail has every attempt the fleet acted on.
                    if let Some(request) = &entry.request {
                        let problem_type =
                            serde_json::from_slice::<serde_json::Value>(&answer.body)
                                .ok()
                                .filter(|_| result.is_err())
                                .and_then(|body| body["type"].as_str().map(str::to_string));
                        self.audit(AuditEntry {
                            at: Utc::now(),
                            identity: identity.clone(),
                            verb: request.verb.as_str().to_string(),
                            target: request.target.clone(),
                            reason: request.reason.clone(),
                            ticket: request.ticket.clone(),
                            idempotency_key: Some(key.clone()),
                            status: answer.status,
                            problem_type,
                            action_id: result.as_ref().ok().map(|a| a.id.clone()),
                            gateway: None,
                        })
                        .await;
                    }
                    replayed.keys_answered += 1;
                }
                None => {
                    self.store.release_key(&identity, &key).await?;
                    replayed.keys_released += 1;
                }
            }
        }
        Ok(replayed)
    }

    /// Applies what other gateways journaled since.
    pub async fn follow(&self) -> StoreResult<()> {
        let mut applied = self.applied.lock().await;
        self.catch_up(&mut applied, u64::MAX, None, &mut Replayed::default())
            .await
    }

    /// Journals the action, then acts: the journal says it before the fleet does it,
    /// in the order every gateway applies it. A journal write refused = nothing done.
    pub async fn act(
        &self,
        request: ActionRequest,
        actor: &Identity,
        key: Option<&str>,
    ) -> StoreResult<ActResult> {
        let mut applied = self.applied.lock().await;
        let mut replayed = Replayed::default();
        self.catch_up(&mut applied, u64::MAX, None, &mut replayed)
            .await?;
        let entry = JournalEntry {
            fleet_time: self.clock.fleet_time(),
            actor: actor.clone(),
            request: Some(ReplayRequest::from(&request)),
            action_id: None,
            idempotency_key: key.map(str::to_string),
        };
        let written = self.store.append_journal(&entry).await;
        self.note(&written);
        let seq = written?;
        // Entries another gateway wrote between our catching up and our entry come
        // first, as they do everywhere.
        self.catch_up(&mut applied, seq - 1, None, &mut replayed)
            .await?;
        let result = self
            .apply(&entry)
            .unwrap_or_else(|| Err(ActError::Invalid("journal entry without a request".into())));
        *applied = seq;
        if self.options.abort_after_act && key.is_some() {
            eprintln!(
                "patchdeck: fault injection: aborting after journal entry {seq}, before its answer"
            );
            std::process::abort();
        }
        Ok(result)
    }

    /// Journals a clock checkpoint at `fleet_time`, then moves the clock there.
    pub async fn tick(&self, fleet_time: DateTime<Utc>) -> StoreResult<()> {
        let mut applied = self.applied.lock().await;
        let mut replayed = Replayed::default();
        self.catch_up(&mut applied, u64::MAX, None, &mut replayed)
            .await?;
        if fleet_time <= self.clock.fleet_time() {
            return Ok(());
        }
        let entry = JournalEntry {
            fleet_time,
            actor: Identity::new(SYSTEM, Role::Viewer),
            request: None,
            action_id: None,
            idempotency_key: None,
        };
        let written = self.store.append_journal(&entry).await;
        self.note(&written);
        let seq = written?;
        self.catch_up(&mut applied, seq - 1, None, &mut replayed)
            .await?;
        self.apply(&entry);
        *applied = seq;
        self.health_mut().checkpoints_written += 1;
        Ok(())
    }

    /// Appends an audit entry (refusals included); a refused write degrades.
    pub async fn audit(&self, mut entry: AuditEntry) {
        entry.gateway = Some(self.id.clone());
        let written = self.store.append_audit(&entry).await;
        self.note(&written);
    }

    /// Keeps an action's latest outcome.
    pub async fn put_action(&self, action: &Action) {
        let written = self.store.put_action(action).await;
        self.note(&written);
    }

    /// Takes or renews the rollout lease; returns whether we hold it.
    pub async fn renew_lease(&self) -> bool {
        let ttl =
            Duration::from_std(self.options.lease_ttl).unwrap_or_else(|_| Duration::seconds(6));
        let outcome = self
            .store
            .acquire_lease(ROLLOUT_LEASE, &self.id, ttl, Utc::now())
            .await;
        self.note(&outcome);
        let mut health = self.health_mut();
        match outcome {
            Ok(outcome) => {
                health.leader = outcome.is_held();
                health.lease_holder = Some(outcome.lease().holder.clone());
            }
            Err(_) => health.leader = false,
        }
        health.leader
    }

    /// Appends the fleet's events the store does not have yet, in order.
    pub async fn store_events(&self) -> StoreResult<()> {
        let mut last = self.health_mut().events_stored;
        if last == 0 {
            last = self.store.event_bounds().await?.last;
        }
        let events = match self.fleet.events_since(last) {
            Ok(events) => events,
            // The fleet's own log dropped them before we stored them: go on after.
            Err(compacted) => self
                .fleet
                .events_since(compacted.oldest.saturating_sub(1))
                .unwrap_or_default(),
        };
        for chunk in events.chunks(BATCH) {
            let written = self.store.append_events(chunk).await;
            self.note(&written);
            match written {
                Ok(()) => {}
                Err(StoreError::Conflict { .. }) => {
                    // Another gateway stored them first: start again from the store.
                    self.health_mut().events_stored = 0;
                    return Ok(());
                }
                Err(error) => return Err(error),
            }
            if let Some(event) = chunk.last() {
                let mut health = self.health_mut();
                health.events_stored = event.seq;
                health.events_written += chunk.len() as u64;
            }
        }
        Ok(())
    }

    /// Compacts the event log down to the last `keep_events` events; with `forget`,
    /// also forgets idempotency keys older than `keep_keys`. Returns (events dropped,
    /// keys forgotten).
    pub async fn compact(&self, forget: bool) -> StoreResult<(u64, u64)> {
        let mut dropped = 0;
        let keep = self.options.keep_events;
        if keep > 0 {
            let bounds = self.store.event_bounds().await?;
            if bounds.last.saturating_sub(bounds.oldest_retained) > keep {
                let compacted = self.store.compact_events(bounds.last - keep).await;
                self.note(&compacted);
                dropped = compacted?;
            }
        }
        let mut forgotten = 0;
        if forget {
            let keep_keys =
                Duration::from_std(self.options.keep_keys).unwrap_or_else(|_| Duration::days(1));
            let forgot = self.store.forget_keys(Utc::now() - keep_keys).await;
            self.note(&forgot);
            forgotten = forgot?;
        }
        Ok((dropped, forgotten))
    }

    /// The gateway's background work: renew the lease; as leader move the fleet clock
    /// at `speed` fleet seconds per second, store events and compact the store; as
    /// follower apply the journal. Ends when the returned handle is aborted.
    pub fn spawn(self: &Arc<Self>, speed: f64) -> tokio::task::JoinHandle<()> {
        let gateway = self.clone();
        let speed = if speed.is_finite() {
            speed.max(0.0)
        } else {
            0.0
        };
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(FOLLOW_INTERVAL);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let every =
                |period: StdDuration| (period.as_millis() / FOLLOW_INTERVAL.as_millis()).max(1);
            let renew_every = every(gateway.options.lease_ttl / 3);
            let tick_every = every(CLOCK_INTERVAL);
            let compact_every = every(COMPACT_INTERVAL);
            let forget_every = every(FORGET_INTERVAL);
            let mut round: u128 = 0;
            let mut target: Option<DateTime<Utc>> = None;
            let mut leader = false;
            loop {
                interval.tick().await;
                if round.is_multiple_of(renew_every) {
                    leader = gateway.renew_lease().await;
                }
                round += 1;
                if !leader {
                    target = None;
                    let _ = gateway.follow().await;
                    continue;
                }
                if speed > 0.0 && round.is_multiple_of(tick_every) {
                    let now = gateway.clock.fleet_time();
                    let step = Duration::milliseconds(
                        (speed * CLOCK_INTERVAL.as_secs_f64() * 1000.0) as i64,
                    );
                    let next = target.unwrap_or(now).max(now) + step;
                    if gateway.tick(next).await.is_ok() {
                        target = Some(next);
                    }
                } else {
                    let _ = gateway.follow().await;
                }
                let _ = gateway.store_events().await;
                if round.is_multiple_of(compact_every) {
                    let _ = gateway.compact(round % forget_every < compact_every).await;
                }
            }
        })
    }

    /// Lets go of the lease (a clean stop): another gateway may take it at once.
    pub async fn release(&self) {
        let _ = self.store.release_lease(ROLLOUT_LEASE, &self.id).await;
    }
}
