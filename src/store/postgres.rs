//! The shared store: PostgreSQL, for several gateways on one database. A few
//! connections, each reconnected when it drops; every write is one statement (or one
//! transaction), so it is committed, and atomic against other gateways, when it returns.
//!
//! Connections are not encrypted yet (`sslmode=require` is refused by the server
//! handshake): run the database on the gateways' own network or through a tunnel.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls, Row};

use super::engine::{self as sql, AuditRow, KeyRow, from_json, limit, ms, to_json};
use super::engine::{bounds, page, versioned};
use super::error::StoreError;
use super::migrate;
use super::types::*;
use super::{Store, StoreResult};
use crate::model::{Action, Event, Seq, Version};

/// Connections kept (queries on one connection are pipelined).
const CONNECTIONS: usize = 4;
/// How long connecting may take before the store is reported unavailable.
const CONNECT_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// Advisory lock key that serialises migrations of gateways starting together.
const MIGRATION_LOCK: i64 = 0x7061_7463_6864_6b01;

const EVENTS_INSERT: &str = "INSERT INTO events (seq, at_ms, kind, body) \
     SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[])";
/// Compaction in one statement: the mark moves to `through` (kept within the stored
/// range) and the events up to it go.
const EVENTS_COMPACT: &str = "WITH bounds AS (SELECT \
       (SELECT value FROM store_meta WHERE name = 'events_compacted_through') AS mark, \
       COALESCE((SELECT MAX(seq) FROM events), 0) AS last), \
     target AS (SELECT GREATEST(mark, LEAST($1, GREATEST(last, mark))) AS through FROM bounds), \
     gone AS (DELETE FROM events WHERE seq <= (SELECT through FROM target) RETURNING seq), \
     marked AS (UPDATE store_meta SET value = (SELECT through FROM target) \
       WHERE name = 'events_compacted_through' RETURNING value) \
     SELECT (SELECT COUNT(*) FROM gone), (SELECT value FROM marked)";

/// The PostgreSQL store. Cheap to clone (shares its connections).
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    config: Config,
    slots: Vec<tokio::sync::Mutex<Option<Arc<Client>>>>,
    next: AtomicUsize,
}

impl PgStore {
    /// Connects to `url` and migrates the database.
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        let name = super::location::redact(url);
        let mut config: Config = url
            .parse()
            .map_err(|e| StoreError::Url(format!("`{name}` is not a PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("patchdeck");
        let store = PgStore {
            inner: Arc::new(Inner {
                name,
                config,
                slots: (0..CONNECTIONS)
                    .map(|_| tokio::sync::Mutex::new(None))
                    .collect(),
                next: AtomicUsize::new(0),
            }),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn connect(&self) -> StoreResult<Client> {
        let (client, connection) = self
            .inner
            .config
            .connect(NoTls)
            .await
            .map_err(|e| self.err(e))?;
        tokio::spawn(async move {
            // Ends when the client is dropped or the server goes away; the next use
            // of the client reconnects.
            let _ = connection.await;
        });
        Ok(client)
    }

    /// A connected client, reconnecting its slot if the connection dropped.
    async fn client(&self) -> StoreResult<Arc<Client>> {
        let index = self.inner.next.fetch_add(1, Ordering::Relaxed) % self.inner.slots.len();
        let mut slot = self.inner.slots[index].lock().await;
        if let Some(client) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(client.clone());
        }
        let client = Arc::new(self.connect().await?);
        *slot = Some(client.clone());
        Ok(client)
    }

    /// Applies the migrations this database lacks, one gateway at a time.
    async fn migrate(&self) -> StoreResult<()> {
        let mut client = self.connect().await?;
        // Up to date: nothing to write (a read-only database still opens).
        if let Ok(row) = client.query_one(migrate::CURRENT_VERSION, &[]).await
            && migrate::pending(&self.inner.name, row.get(0))?.is_empty()
        {
            return Ok(());
        }
        let tx = client.transaction().await.map_err(|e| self.err(e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| self.err(e))?;
        tx.batch_execute(migrate::CREATE_SCHEMA_TABLE)
            .await
            .map_err(|e| self.err(e))?;
        let found: i64 = tx
            .query_one(migrate::CURRENT_VERSION, &[])
            .await
            .map_err(|e| self.err(e))?
            .get(0);
        for migration in migrate::pending(&self.inner.name, found)? {
            tx.batch_execute(migration.postgres)
                .await
                .map_err(|e| self.err(e))?;
            tx.execute(
                migrate::RECORD_VERSION,
                &[&migration.version, &migration.description, &ms(Utc::now())],
            )
            .await
            .map_err(|e| self.err(e))?;
        }
        tx.commit().await.map_err(|e| self.err(e))
    }

    fn err(&self, error: tokio_postgres::Error) -> StoreError {
        let store = &self.inner.name;
        if let Some(db) = error.as_db_error() {
            return StoreError::from_sqlstate(store, db.code().code(), db.message());
        }
        if let Some(code) = error.code() {
            return StoreError::from_sqlstate(store, code.code(), &error.to_string());
        }
        // No SQLSTATE: the connection itself failed (refused, timed out, closed).
        let mut detail = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            detail = format!("{detail}: {cause}");
            source = cause.source();
        }
        StoreError::Unavailable {
            store: store.clone(),
            detail,
        }
    }

    async fn query(&self, query: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
        let client = self.client().await?;
        client.query(query, params).await.map_err(|e| self.err(e))
    }

    async fn query_opt(
        &self,
        query: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Option<Row>> {
        let client = self.client().await?;
        client
            .query_opt(query, params)
            .await
            .map_err(|e| self.err(e))
    }

    async fn execute(&self, query: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        let client = self.client().await?;
        client.execute(query, params).await.map_err(|e| self.err(e))
    }

    /// The JSON bodies in column 0 of `rows`.
    fn bodies<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        rows: &[Row],
    ) -> StoreResult<Vec<T>> {
        rows.iter()
            .map(|r| from_json(&self.inner.name, what, r.get::<_, &str>(0)))
            .collect()
    }
}

impl Store for PgStore {
    fn name(&self) -> &str {
        &self.inner.name
    }

    async fn schema_version(&self) -> StoreResult<i64> {
        let rows = self.query(migrate::CURRENT_VERSION, &[]).await?;
        Ok(rows.first().map_or(0, |r| r.get(0)))
    }

    async fn append_audit(&self, e: &AuditEntry) -> StoreResult<u64> {
        let row = self
            .query(
                sql::AUDIT_INSERT,
                &[
                    &ms(e.at),
                    &e.identity,
                    &e.verb,
                    &sql::kind_word(e.target.kind),
                    &e.target.id,
                    &e.reason,
                    &e.ticket,
                    &e.idempotency_key,
                    &i64::from(e.status),
                    &e.problem_type,
                    &e.action_id,
                    &e.gateway,
                ],
            )
            .await?;
        Ok(row.first().map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    async fn audit_after(&self, after: u64, max: usize) -> StoreResult<Vec<Audited>> {
        let rows = self
            .query(sql::AUDIT_AFTER, &[&(after as i64), &limit(max)])
            .await?;
        rows.iter()
            .map(|r| {
                AuditRow {
                    seq: r.get(0),
                    at_ms: r.get(1),
                    identity: r.get(2),
                    verb: r.get(3),
                    target_kind: r.get(4),
                    target_id: r.get(5),
                    reason: r.get(6),
                    ticket: r.get(7),
                    idempotency_key: r.get(8),
                    status: r.get(9),
                    problem_type: r.get(10),
                    action_id: r.get(11),
                    gateway: r.get(12),
                }
                .into_entry(&self.inner.name)
            })
            .collect()
    }

    async fn put_action(&self, action: &Action) -> StoreResult<bool> {
        let rows = self
            .query(
                sql::ACTION_PUT,
                &[
                    &action.id,
                    &(action.version as i64),
                    &ms(action.at),
                    &to_json(action),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn action(&self, id: &str) -> StoreResult<Option<Action>> {
        let rows = self.query(sql::ACTION_GET, &[&id]).await?;
        Ok(self.bodies("action", &rows)?.pop())
    }

    async fn actions(&self) -> StoreResult<Vec<Action>> {
        let rows = self.query(sql::ACTIONS_ALL, &[]).await?;
        self.bodies("action", &rows)
    }

    async fn put_pending(
        &self,
        request: &PendingRequest,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PendingRequest>> {
        // Stored, or the live one found; if that one was taken or expired in between,
        // try again.
        for _ in 0..3 {
            let stored = self
                .query(
                    sql::PENDING_PUT,
                    &[
                        &request.id,
                        &request.first_approver.name,
                        &ms(request.requested_at),
                        &ms(request.expires_at),
                        &to_json(request),
                        &ms(now),
                    ],
                )
                .await?;
            if !stored.is_empty() {
                return Ok(None);
            }
            if let Some(existing) = self.pending(&request.id, now).await? {
                return Ok(Some(existing));
            }
        }
        Err(StoreError::Conflict {
            store: self.inner.name.clone(),
            detail: format!("pending request `{}` keeps changing", request.id),
        })
    }

    async fn pending(&self, id: &str, now: DateTime<Utc>) -> StoreResult<Option<PendingRequest>> {
        let rows = self.query(sql::PENDING_GET, &[&id, &ms(now)]).await?;
        Ok(self.bodies("pending request", &rows)?.pop())
    }

    async fn pending_requests(&self, now: DateTime<Utc>) -> StoreResult<Vec<PendingRequest>> {
        let rows = self.query(sql::PENDING_ALL, &[&ms(now)]).await?;
        self.bodies("pending request", &rows)
    }

    async fn take_pending(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PendingRequest>> {
        let rows = self.query(sql::PENDING_TAKE, &[&id, &ms(now)]).await?;
        Ok(self.bodies("pending request", &rows)?.pop())
    }

    async fn expire_pending(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.execute(sql::PENDING_EXPIRE, &[&ms(now)]).await
    }

    async fn claim_key(
        &self,
        identity: &str,
        key: &str,
        fingerprint: &str,
        claimant: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Claim> {
        // ON CONFLICT DO NOTHING waits for a concurrent claim to commit, so exactly one
        // claimant inserts; the others read its row. A row released in between is
        // claimed again.
        for _ in 0..3 {
            let claimed = self
                .query(
                    sql::KEY_CLAIM,
                    &[&identity, &key, &fingerprint, &claimant, &ms(now)],
                )
                .await?;
            if !claimed.is_empty() {
                return Ok(Claim::Claimed);
            }
            if let Some(r) = self.query_opt(sql::KEY_GET, &[&identity, &key]).await? {
                let row = KeyRow {
                    fingerprint: r.get(0),
                    claimed_by: r.get(1),
                    status: r.get(2),
                    content_type: r.get(3),
                    etag: r.get(4),
                    body: r.get(5),
                };
                return Ok(row.claim(fingerprint));
            }
        }
        Err(StoreError::Conflict {
            store: self.inner.name.clone(),
            detail: format!("idempotency key `{key}` of {identity} keeps changing"),
        })
    }

    async fn answer_key(
        &self,
        identity: &str,
        key: &str,
        answer: &IdempotentAnswer,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let changed = self
            .execute(
                sql::KEY_ANSWER,
                &[
                    &identity,
                    &key,
                    &i64::from(answer.status),
                    &answer.content_type,
                    &answer.etag,
                    &answer.body,
                    &ms(now),
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::Conflict {
                store: self.inner.name.clone(),
                detail: format!("idempotency key `{key}` of {identity} was not claimed"),
            });
        }
        Ok(())
    }

    async fn release_key(&self, identity: &str, key: &str) -> StoreResult<()> {
        self.execute(sql::KEY_RELEASE, &[&identity, &key]).await?;
        Ok(())
    }

    async fn unanswered_keys(&self, claimant: &str) -> StoreResult<Vec<(String, String)>> {
        let rows = self.query(sql::KEY_UNANSWERED, &[&claimant]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn forget_keys(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.execute(sql::KEY_FORGET, &[&ms(before)]).await
    }

    async fn put_exception(&self, x: &HostException) -> StoreResult<()> {
        self.execute(
            sql::EXCEPTION_PUT,
            &[
                &x.host_id,
                &x.exception.owner,
                &x.exception.reason,
                &x.exception.ticket,
                &ms(x.exception.expires_at),
                &x.exception.compensating_control,
                &sql::exception_terms(&x.exception),
            ],
        )
        .await?;
        Ok(())
    }

    async fn remove_exception(&self, host_id: &str) -> StoreResult<bool> {
        Ok(self.execute(sql::EXCEPTION_REMOVE, &[&host_id]).await? > 0)
    }

    async fn exceptions(&self) -> StoreResult<Vec<HostException>> {
        let rows = self.query(sql::EXCEPTIONS_ALL, &[]).await?;
        Ok(rows
            .iter()
            .map(|r| {
                sql::exception_from_row(
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                )
            })
            .collect())
    }

    async fn put_ring_rollout(
        &self,
        rollout: &RingRollout,
        expected: Option<Version>,
    ) -> StoreResult<Version> {
        let body = to_json(rollout);
        let written = match expected {
            None => {
                self.query_opt(sql::ROLLOUT_INSERT, &[&rollout.ring_id, &body])
                    .await?
            }
            Some(version) => {
                self.query_opt(
                    sql::ROLLOUT_UPDATE,
                    &[&rollout.ring_id, &body, &(version as i64)],
                )
                .await?
            }
        };
        if let Some(row) = written {
            return Ok(row.get::<_, i64>(0) as Version);
        }
        let current = self
            .query_opt(sql::ROLLOUT_GET, &[&rollout.ring_id])
            .await?
            .map(|r| r.get::<_, i64>(1));
        Err(sql::rollout_conflict(
            &self.inner.name,
            rollout,
            expected,
            current,
        ))
    }

    async fn ring_rollout(&self, ring_id: &str) -> StoreResult<Option<Versioned<RingRollout>>> {
        let rows = self.query(sql::ROLLOUT_GET, &[&ring_id]).await?;
        let found = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok(versioned(&self.inner.name, found)?.pop())
    }

    async fn ring_rollouts(&self) -> StoreResult<Vec<Versioned<RingRollout>>> {
        let rows = self.query(sql::ROLLOUTS_ALL, &[]).await?;
        let found = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        versioned(&self.inner.name, found)
    }

    async fn append_events(&self, events: &[Event]) -> StoreResult<()> {
        let seqs: Vec<i64> = events.iter().map(|e| e.seq as i64).collect();
        let ats: Vec<i64> = events.iter().map(|e| ms(e.at)).collect();
        let kinds: Vec<&str> = events.iter().map(|e| e.change.kind()).collect();
        let bodies: Vec<String> = events.iter().map(to_json).collect();
        self.execute(EVENTS_INSERT, &[&seqs, &ats, &kinds, &bodies])
            .await
            .map_err(|e| match e {
                StoreError::Conflict { store, .. } => StoreError::Conflict {
                    store,
                    detail: format!(
                        "an event of {}..={} is already stored",
                        seqs.first().copied().unwrap_or(0),
                        seqs.last().copied().unwrap_or(0)
                    ),
                },
                other => other,
            })?;
        Ok(())
    }

    async fn events_since(
        &self,
        since: Seq,
        max: usize,
    ) -> StoreResult<Result<Vec<Event>, EventsCompacted>> {
        let rows = self
            .query(sql::EVENTS_SINCE, &[&(since as i64), &limit(max)])
            .await?;
        let found = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        page(&self.inner.name, since, found)
    }

    async fn event_bounds(&self) -> StoreResult<EventBounds> {
        let rows = self.query(sql::EVENT_BOUNDS, &[]).await?;
        Ok(rows
            .first()
            .map_or(bounds(None, None), |r| bounds(r.get(0), r.get(1))))
    }

    async fn compact_events(&self, through: Seq) -> StoreResult<u64> {
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        let rows = self.query(EVENTS_COMPACT, &[&through]).await?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<LeaseOutcome> {
        let held = self
            .query_opt(
                sql::LEASE_ACQUIRE,
                &[&name, &holder, &ms(now + ttl), &ms(now)],
            )
            .await?;
        if let Some(r) = held {
            return Ok(LeaseOutcome::Held(sql::lease_from_row(
                name,
                r.get(0),
                r.get(1),
                r.get(2),
            )));
        }
        let r = self
            .query_opt(sql::LEASE_GET, &[&name])
            .await?
            .ok_or_else(|| StoreError::Conflict {
                store: self.inner.name.clone(),
                detail: format!("lease `{name}` vanished"),
            })?;
        Ok(LeaseOutcome::HeldBy(sql::lease_from_row(
            name,
            r.get(0),
            r.get(1),
            r.get(2),
        )))
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<bool> {
        Ok(self.execute(sql::LEASE_RELEASE, &[&name, &holder]).await? > 0)
    }

    async fn meta(&self, name: &str) -> StoreResult<Option<i64>> {
        let row = self.query_opt(sql::META_GET, &[&name]).await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn init_meta(&self, name: &str, value: i64) -> StoreResult<i64> {
        self.execute(sql::META_INIT, &[&name, &value]).await?;
        let row = self.query_opt(sql::META_GET, &[&name]).await?;
        row.map(|r| r.get(0)).ok_or_else(|| StoreError::Other {
            store: self.name().to_string(),
            detail: format!("setting {name} vanished"),
        })
    }

    async fn append_journal(&self, entry: &JournalEntry) -> StoreResult<u64> {
        let rows = self
            .query(
                sql::JOURNAL_INSERT,
                &[
                    &ms(entry.fleet_time),
                    &to_json(&entry.actor),
                    &to_json(&entry.request),
                    &entry.action_id,
                    &entry.idempotency_key,
                ],
            )
            .await?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    async fn journal_after(&self, after: u64, max: usize) -> StoreResult<Vec<Journaled>> {
        let rows = self
            .query(sql::JOURNAL_AFTER, &[&(after as i64), &limit(max)])
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Journaled {
                    seq: r.get::<_, i64>(0) as u64,
                    entry: sql::journal_from_row(
                        &self.inner.name,
                        r.get(1),
                        r.get(2),
                        r.get(3),
                        r.get(4),
                        r.get(5),
                    )?,
                })
            })
            .collect()
    }
}
