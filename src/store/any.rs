//! The store the gateway holds: one of the two engines, chosen by its location.
//!
//! An enum rather than `dyn Store`: the engines are a closed set of two, `Store`'s
//! async methods (`impl Future`) are then used without boxing every call, and the
//! contract tests run the same body against both through it.

use chrono::{DateTime, Duration, Utc};

use super::types::*;
use super::{Location, PgStore, SqliteStore, Store, StoreError, StoreResult};
use crate::model::{Action, Event, Seq, Version};

#[derive(Clone)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl AnyStore {
    /// Opens (and migrates) the store at `location`.
    pub async fn open(location: &Location) -> StoreResult<AnyStore> {
        match location {
            Location::Sqlite { path, read_only } => SqliteStore::open(path, *read_only)
                .await
                .map(AnyStore::Sqlite),
            Location::Postgres { url } => PgStore::open(url).await.map(AnyStore::Postgres),
        }
    }

    /// Opens the store named by `url` (`sqlite:PATH`, `postgres://...`); with none,
    /// the default SQLite file in the data directory.
    pub async fn open_url(url: Option<&str>) -> StoreResult<AnyStore> {
        let location = match url {
            Some(url) => Location::parse(url)?,
            None => Location::default_sqlite().ok_or_else(|| {
                StoreError::Url(
                    "no data directory for the default store (is HOME set?): use --store sqlite:PATH"
                        .to_string(),
                )
            })?,
        };
        AnyStore::open(&location).await
    }

    /// "sqlite" or "postgres".
    pub fn engine(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }

    /// Lets go of this handle's connections (the data is already committed).
    pub async fn close(self) {
        drop(self);
    }
}

/// Calls the same method on whichever engine this is.
macro_rules! dispatch {
    ($self:ident, $method:ident ( $($arg:expr),* )) => {
        match $self {
            AnyStore::Sqlite(store) => store.$method($($arg),*).await,
            AnyStore::Postgres(store) => store.$method($($arg),*).await,
        }
    };
}

impl Store for AnyStore {
    fn name(&self) -> &str {
        match self {
            AnyStore::Sqlite(store) => store.name(),
            AnyStore::Postgres(store) => store.name(),
        }
    }

    async fn schema_version(&self) -> StoreResult<i64> {
        dispatch!(self, schema_version())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<u64> {
        dispatch!(self, append_audit(entry))
    }

    async fn audit_after(&self, after: u64, limit: usize) -> StoreResult<Vec<Audited>> {
        dispatch!(self, audit_after(after, limit))
    }

    async fn put_action(&self, action: &Action) -> StoreResult<bool> {
        dispatch!(self, put_action(action))
    }

    async fn action(&self, id: &str) -> StoreResult<Option<Action>> {
        dispatch!(self, action(id))
    }

    async fn actions(&self) -> StoreResult<Vec<Action>> {
        dispatch!(self, actions())
    }

    async fn put_pending(
        &self,
        request: &PendingRequest,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PendingRequest>> {
        dispatch!(self, put_pending(request, now))
    }

    async fn pending(&self, id: &str, now: DateTime<Utc>) -> StoreResult<Option<PendingRequest>> {
        dispatch!(self, pending(id, now))
    }

    async fn pending_requests(&self, now: DateTime<Utc>) -> StoreResult<Vec<PendingRequest>> {
        dispatch!(self, pending_requests(now))
    }

    async fn take_pending(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PendingRequest>> {
        dispatch!(self, take_pending(id, now))
    }

    async fn expire_pending(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        dispatch!(self, expire_pending(now))
    }

    async fn claim_key(
        &self,
        identity: &str,
        key: &str,
        fingerprint: &str,
        claimant: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Claim> {
        dispatch!(self, claim_key(identity, key, fingerprint, claimant, now))
    }

    async fn answer_key(
        &self,
        identity: &str,
        key: &str,
        answer: &IdempotentAnswer,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        dispatch!(self, answer_key(identity, key, answer, now))
    }

    async fn release_key(&self, identity: &str, key: &str) -> StoreResult<()> {
        dispatch!(self, release_key(identity, key))
    }

    async fn unanswered_keys(&self, claimant: &str) -> StoreResult<Vec<(String, String)>> {
        dispatch!(self, unanswered_keys(claimant))
    }

    async fn forget_keys(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        dispatch!(self, forget_keys(before))
    }

    async fn put_exception(&self, exception: &HostException) -> StoreResult<()> {
        dispatch!(self, put_exception(exception))
    }

    async fn remove_exception(&self, host_id: &str) -> StoreResult<bool> {
        dispatch!(self, remove_exception(host_id))
    }

    async fn exceptions(&self) -> StoreResult<Vec<HostException>> {
        dispatch!(self, exceptions())
    }

    async fn put_ring_rollout(
        &self,
        rollout: &RingRollout,
        expected: Option<Version>,
    ) -> StoreResult<Version> {
        dispatch!(self, put_ring_rollout(rollout, expected))
    }

    async fn ring_rollout(&self, ring_id: &str) -> StoreResult<Option<Versioned<RingRollout>>> {
        dispatch!(self, ring_rollout(ring_id))
    }

    async fn ring_rollouts(&self) -> StoreResult<Vec<Versioned<RingRollout>>> {
        dispatch!(self, ring_rollouts())
    }

    async fn append_events(&self, events: &[Event]) -> StoreResult<()> {
        dispatch!(self, append_events(events))
    }

    async fn events_since(
        &self,
        since: Seq,
        limit: usize,
    ) -> StoreResult<Result<Vec<Event>, EventsCompacted>> {
        dispatch!(self, events_since(since, limit))
    }

    async fn event_bounds(&self) -> StoreResult<EventBounds> {
        dispatch!(self, event_bounds())
    }

    async fn compact_events(&self, through: Seq) -> StoreResult<u64> {
        dispatch!(self, compact_events(through))
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<LeaseOutcome> {
        dispatch!(self, acquire_lease(name, holder, ttl, now))
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<bool> {
        dispatch!(self, release_lease(name, holder))
    }

    async fn meta(&self, name: &str) -> StoreResult<Option<i64>> {
        dispatch!(self, meta(name))
    }

    async fn init_meta(&self, name: &str, value: i64) -> StoreResult<i64> {
        dispatch!(self, init_meta(name, value))
    }

    async fn append_journal(&self, entry: &JournalEntry) -> StoreResult<u64> {
        dispatch!(self, append_journal(entry))
    }

    async fn journal_after(&self, after: u64, limit: usize) -> StoreResult<Vec<Journaled>> {
        dispatch!(self, journal_after(after, limit))
    }
}
