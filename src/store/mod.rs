//! The durable store behind the gateway: what `patchdeck serve` must not lose when it
//! is stopped, crashes or is killed. One seam, [`Store`], with two real engines:
//! SQLite ([`SqliteStore`], embedded, the default; one writer, WAL) and PostgreSQL
//! ([`PgStore`], for several gateways on one database). [`AnyStore`] is the one the
//! gateway holds, opened from `sqlite:PATH` or `postgres://...`.
//!
//! A write returns only once it is committed to disk; a refusal is a typed
//! [`StoreError`] that names the store. The schema is versioned by migrations that run
//! when a store is opened; a schema newer than this binary knows is refused.
//!
//! Depends on `model` only: the gateway converts its own types.

mod any;
mod engine;
mod error;
mod location;
mod migrate;
mod postgres;
mod sqlite;
mod types;

pub mod bench;

use std::future::Future;

use chrono::{DateTime, Duration, Utc};

use crate::model::{Action, Event, Seq, Version};

pub use any::AnyStore;
pub use error::StoreError;
pub use location::{DEFAULT_FILE, Location, redact};
pub use migrate::SCHEMA_VERSION;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use types::{
    AuditEntry, Audited, Claim, EventBounds, EventsCompacted, HostException, IdempotentAnswer,
    JournalEntry, Journaled, Lease, LeaseOutcome, PendingRequest, ReplayRequest, RingRollout,
    Versioned,
};

/// A result of the store.
pub type StoreResult<T> = Result<T, StoreError>;

/// What the gateway must not lose. Every write is committed before its future
/// resolves; every method is safe to call from several gateways at once on one
/// PostgreSQL database (the atomic ones say how).
pub trait Store: Send + Sync {
    /// The store as shown to people: `sqlite:/path` or `postgres://user@host/db`.
    fn name(&self) -> &str;

    /// The schema version of the database (the highest migration applied).
    fn schema_version(&self) -> impl Future<Output = StoreResult<i64>> + Send;

    // (a) The audit trail: append-only, every attempt, accepted or refused.

    /// Append one attempt; returns its place in the trail.
    fn append_audit(&self, entry: &AuditEntry) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Entries after `after` (0 for the first), oldest first, at most `limit`.
    fn audit_after(
        &self,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<Audited>>> + Send;

    // (b) Actions with their final outcomes.

    /// Keep an action; a stored newer version wins (returns false then).
    fn put_action(&self, action: &Action) -> impl Future<Output = StoreResult<bool>> + Send;
    fn action(&self, id: &str) -> impl Future<Output = StoreResult<Option<Action>>> + Send;
    /// Every action, in the order they were taken.
    fn actions(&self) -> impl Future<Output = StoreResult<Vec<Action>>> + Send;

    // (c) Pending two-person requests.

    /// Keep a first approval unless one for the same id is still pending (that one is
    /// returned: the caller may be the second approver). An expired one is replaced.
    fn put_pending(
        &self,
        request: &PendingRequest,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<PendingRequest>>> + Send;
    /// The pending request of `id`, if it has not expired.
    fn pending(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<PendingRequest>>> + Send;
    /// Every request still pending, oldest first.
    fn pending_requests(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<PendingRequest>>> + Send;
    /// Remove and return the pending request of `id` if it has not expired. Atomic:
    /// of two gateways taking the same request, one gets it.
    fn take_pending(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<PendingRequest>>> + Send;
    /// Forget requests that expired; returns how many.
    fn expire_pending(&self, now: DateTime<Utc>) -> impl Future<Output = StoreResult<u64>> + Send;

    // (d) Idempotency keys per identity.

    /// Claim `key` of `identity` for a request with `fingerprint`, or find what it
    /// was used for. Atomic: of any number of gateways claiming one key, one gets
    /// [`Claim::Claimed`].
    fn claim_key(
        &self,
        identity: &str,
        key: &str,
        fingerprint: &str,
        claimant: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Claim>> + Send;
    /// Store the answer of a claimed key.
    fn answer_key(
        &self,
        identity: &str,
        key: &str,
        answer: &IdempotentAnswer,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Give up a claim that was not answered (nothing was done): the key can be used
    /// again.
    fn release_key(
        &self,
        identity: &str,
        key: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Keys claimed by `claimant` that have no answer (after a crash: look them up in
    /// the journal before answering or releasing them).
    fn unanswered_keys(
        &self,
        claimant: &str,
    ) -> impl Future<Output = StoreResult<Vec<(String, String)>>> + Send;
    /// Forget keys claimed before `before`; returns how many.
    fn forget_keys(&self, before: DateTime<Utc>) -> impl Future<Output = StoreResult<u64>> + Send;

    // (e) Exceptions.

    fn put_exception(
        &self,
        exception: &HostException,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn remove_exception(&self, host_id: &str) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Every exception, by host id.
    fn exceptions(&self) -> impl Future<Output = StoreResult<Vec<HostException>>> + Send;

    // (f) The rollout's own state per ring.

    /// Store a ring's state if it is still at `expected` (None: not stored yet);
    /// returns the new version, or [`StoreError::Conflict`].
    fn put_ring_rollout(
        &self,
        rollout: &RingRollout,
        expected: Option<Version>,
    ) -> impl Future<Output = StoreResult<Version>> + Send;
    fn ring_rollout(
        &self,
        ring_id: &str,
    ) -> impl Future<Output = StoreResult<Option<Versioned<RingRollout>>>> + Send;
    fn ring_rollouts(
        &self,
    ) -> impl Future<Output = StoreResult<Vec<Versioned<RingRollout>>>> + Send;

    // (g) The event log.

    /// Append events with their sequence numbers (increasing, above the last stored),
    /// all or none.
    fn append_events(&self, events: &[Event]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Events after `since`, oldest first, at most `limit`; `EventsCompacted` when some
    /// after `since` were compacted away (answer 410, the caller lists again).
    fn events_since(
        &self,
        since: Seq,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Result<Vec<Event>, EventsCompacted>>> + Send;
    fn event_bounds(&self) -> impl Future<Output = StoreResult<EventBounds>> + Send;
    /// Drop events up to and including `through`; returns how many.
    fn compact_events(&self, through: Seq) -> impl Future<Output = StoreResult<u64>> + Send;

    // (h) Leases.

    /// Take or renew lease `name` for `ttl` from `now`. Held by another holder until it
    /// expires; then it passes to the first who asks. Atomic across gateways.
    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<LeaseOutcome>> + Send;
    /// Let go of a lease we hold (another holder may take it at once).
    fn release_lease(
        &self,
        name: &str,
        holder: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    // (j) Settings of the store's user (e.g. the simulator's seed), one integer each.

    /// The value of setting `name`, if set.
    fn meta(&self, name: &str) -> impl Future<Output = StoreResult<Option<i64>>> + Send;
    /// Set `name` to `value` unless it is set already; returns the value stored (the
    /// first one wins, across gateways too).
    fn init_meta(&self, name: &str, value: i64) -> impl Future<Output = StoreResult<i64>> + Send;

    // (i) The replay journal.

    /// Append an accepted action; returns its place.
    fn append_journal(&self, entry: &JournalEntry)
    -> impl Future<Output = StoreResult<u64>> + Send;
    /// Entries after `after` (0 for the first), oldest first, at most `limit`.
    fn journal_after(
        &self,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<Journaled>>> + Send;
}
