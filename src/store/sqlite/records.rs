//! The records of the SQLite store: each method of [`Store`] as SQL on the writer or a
//! reader connection.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{SqliteStore, bodies, err, q, rows};
use crate::model::{Action, Event, Seq, Version};
use crate::store::engine::{
    self as sql, AuditRow, KeyRow, bounds, limit, ms, page, to_json, versioned,
};
use crate::store::migrate;
use crate::store::types::*;
use crate::store::{Store, StoreError, StoreResult};

impl Store for SqliteStore {
    fn name(&self) -> &str {
        &self.inner.name
    }

    async fn schema_version(&self) -> StoreResult<i64> {
        self.read(|store, conn| {
            conn.query_row(migrate::CURRENT_VERSION, [], |row| row.get(0))
                .map_err(|e| err(store, e))
        })
        .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<u64> {
        let entry = entry.clone();
        self.write(move |store, conn| {
            let seq: i64 = conn
                .prepare_cached(&q(sql::AUDIT_INSERT))
                .and_then(|mut s| {
                    s.query_row(
                        params![
                            ms(entry.at),
                            entry.identity,
                            entry.verb,
                            sql::kind_word(entry.target.kind),
                            entry.target.id,
                            entry.reason,
                            entry.ticket,
                            entry.idempotency_key,
                            i64::from(entry.status),
                            entry.problem_type,
                            entry.action_id,
                            entry.gateway
                        ],
                        |row| row.get(0),
                    )
                })
                .map_err(|e| err(store, e))?;
            Ok(seq as u64)
        })
        .await
    }

    async fn audit_after(&self, after: u64, max: usize) -> StoreResult<Vec<Audited>> {
        self.read(move |store, conn| {
            let found = rows(
                store,
                conn,
                sql::AUDIT_AFTER,
                params![after as i64, limit(max)],
                |r| {
                    Ok(AuditRow {
                        seq: r.get(0)?,
                        at_ms: r.get(1)?,
                        identity: r.get(2)?,
                        verb: r.get(3)?,
                        target_kind: r.get(4)?,
                        target_id: r.get(5)?,
                        reason: r.get(6)?,
                        ticket: r.get(7)?,
                        idempotency_key: r.get(8)?,
                        status: r.get(9)?,
                        problem_type: r.get(10)?,
                        action_id: r.get(11)?,
                        gateway: r.get(12)?,
                    })
                },
            )?;
            found.into_iter().map(|row| row.into_entry(store)).collect()
        })
        .await
    }

    async fn put_action(&self, action: &Action) -> StoreResult<bool> {
        let (id, version, at, body) = (
            action.id.clone(),
            action.version as i64,
            ms(action.at),
            to_json(action),
        );
        self.write(move |store, conn| {
            let applied = conn
                .prepare_cached(&q(sql::ACTION_PUT))
                .and_then(|mut s| s.exists(params![id, version, at, body]))
                .map_err(|e| err(store, e))?;
            Ok(applied)
        })
        .await
    }

    async fn action(&self, id: &str) -> StoreResult<Option<Action>> {
        let id = id.to_string();
        self.read(move |store, conn| {
            let found = rows(store, conn, sql::ACTION_GET, params![id], |r| r.get(0))?;
            Ok(bodies(store, "action", found)?.pop())
        })
        .await
    }

    async fn actions(&self) -> StoreResult<Vec<Action>> {
        self.read(|store, conn| {
            let found = rows(store, conn, sql::ACTIONS_ALL, [], |r| r.get(0))?;
            bodies(store, "action", found)
        })
        .await
    }

    async fn put_pending(
        &self,
        request: &PendingRequest,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PendingRequest>> {
        let request = request.clone();
        self.write(move |store, conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| err(store, e))?;
            let stored = tx
                .prepare_cached(&q(sql::PENDING_PUT))
                .and_then(|mut s| {
                    s.exists(params![
                        request.id,
                        request.first_approver.name,
                        ms(request.requested_at),
                        ms(request.expires_at),
                        to_json(&request),
                        ms(now)
                    ])
                })
                .map_err(|e| err(store, e))?;
            let existing = if stored {
                None
            } else {
                let found = rows(
                    store,
                    &tx,
                    sql::PENDING_GET,
                    params![request.id, ms(now)],
                    |r| r.get(0),
                )?;
                bodies(store, "pending request", found)?.pop()
            };
            tx.commit().map_err(|e| err(store, e))?;
            Ok(existing)
        })
        .await
    }

    async fn pending(&self, id: &str, now: DateTime<Utc>) -> StoreResult<Option<PendingRequest>> {
        let id = id.to_string();
        self.read(move |store, conn| {
            let found = rows(store, conn, sql::PENDING_GET, params![id, ms(now)], |r| {
                r.get(0)
            })?;
            Ok(bodies(store, "pending request", found)?.pop())
        })
        .await
    }

    async fn pending_requests(&self, now: DateTime<Utc>) -> StoreResult<Vec<PendingRequest>> {
        self.read(move |store, conn| {
            let found = rows(store, conn, sql::PENDING_ALL, params![ms(now)], |r| {
                r.get(0)
            })?;
            bodies(store, "pending request", found)
        })
        .await
    }

    async fn take_pending(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PendingRequest>> {
        let id = id.to_string();
        self.write(move |store, conn| {
            let found = rows(store, conn, sql::PENDING_TAKE, params![id, ms(now)], |r| {
                r.get(0)
            })?;
            Ok(bodies(store, "pending request", found)?.pop())
        })
        .await
    }

    async fn expire_pending(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.write(move |store, conn| {
            let gone = conn
                .execute(&q(sql::PENDING_EXPIRE), params![ms(now)])
                .map_err(|e| err(store, e))?;
            Ok(gone as u64)
        })
        .await
    }

    async fn claim_key(
        &self,
        identity: &str,
        key: &str,
        fingerprint: &str,
        claimant: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Claim> {
        let (identity, key, fingerprint, claimant) = (
            identity.to_string(),
            key.to_string(),
            fingerprint.to_string(),
            claimant.to_string(),
        );
        self.write(move |store, conn| {
            // One statement claims; another process's writer waits on the file lock.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| err(store, e))?;
            let claimed = tx
                .prepare_cached(&q(sql::KEY_CLAIM))
                .and_then(|mut s| s.exists(params![identity, key, fingerprint, claimant, ms(now)]))
                .map_err(|e| err(store, e))?;
            let claim = if claimed {
                Claim::Claimed
            } else {
                let row = tx
                    .query_row(&q(sql::KEY_GET), params![identity, key], |r| {
                        Ok(KeyRow {
                            fingerprint: r.get(0)?,
                            claimed_by: r.get(1)?,
                            status: r.get(2)?,
                            content_type: r.get(3)?,
                            etag: r.get(4)?,
                            body: r.get(5)?,
                        })
                    })
                    .map_err(|e| err(store, e))?;
                row.claim(&fingerprint)
            };
            tx.commit().map_err(|e| err(store, e))?;
            Ok(claim)
        })
        .await
    }

    async fn answer_key(
        &self,
        identity: &str,
        key: &str,
        answer: &IdempotentAnswer,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (identity, key, answer) = (identity.to_string(), key.to_string(), answer.clone());
        self.write(move |store, conn| {
            let changed = conn
                .execute(
                    &q(sql::KEY_ANSWER),
                    params![
                        identity,
                        key,
                        i64::from(answer.status),
                        answer.content_type,
                        answer.etag,
                        answer.body,
                        ms(now)
                    ],
                )
                .map_err(|e| err(store, e))?;
            if changed == 0 {
                return Err(StoreError::Conflict {
                    store: store.to_string(),
                    detail: format!("idempotency key `{key}` of {identity} was not claimed"),
                });
            }
            Ok(())
        })
        .await
    }

    async fn release_key(&self, identity: &str, key: &str) -> StoreResult<()> {
        let (identity, key) = (identity.to_string(), key.to_string());
        self.write(move |store, conn| {
            conn.execute(&q(sql::KEY_RELEASE), params![identity, key])
                .map_err(|e| err(store, e))?;
            Ok(())
        })
        .await
    }

    async fn unanswered_keys(&self, claimant: &str) -> StoreResult<Vec<(String, String)>> {
        let claimant = claimant.to_string();
        self.read(move |store, conn| {
            rows(store, conn, sql::KEY_UNANSWERED, params![claimant], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .await
    }

    async fn forget_keys(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.write(move |store, conn| {
            let gone = conn
                .execute(&q(sql::KEY_FORGET), params![ms(before)])
                .map_err(|e| err(store, e))?;
            Ok(gone as u64)
        })
        .await
    }

    async fn put_exception(&self, exception: &HostException) -> StoreResult<()> {
        let x = exception.clone();
        self.write(move |store, conn| {
            conn.execute(
                &q(sql::EXCEPTION_PUT),
                params![
                    x.host_id,
                    x.exception.owner,
                    x.exception.reason,
                    x.exception.ticket,
                    ms(x.exception.expires_at),
                    x.exception.compensating_control,
                    sql::exception_terms(&x.exception)
                ],
            )
            .map_err(|e| err(store, e))?;
            Ok(())
        })
        .await
    }

    async fn remove_exception(&self, host_id: &str) -> StoreResult<bool> {
        let host_id = host_id.to_string();
        self.write(move |store, conn| {
            let gone = conn
                .execute(&q(sql::EXCEPTION_REMOVE), params![host_id])
                .map_err(|e| err(store, e))?;
            Ok(gone > 0)
        })
        .await
    }

    async fn exceptions(&self) -> StoreResult<Vec<HostException>> {
        self.read(|store, conn| {
            rows(store, conn, sql::EXCEPTIONS_ALL, [], |r| {
                Ok(sql::exception_from_row(
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
        })
        .await
    }

    async fn put_ring_rollout(
        &self,
        rollout: &RingRollout,
        expected: Option<Version>,
    ) -> StoreResult<Version> {
        let rollout = rollout.clone();
        self.write(move |store, conn| {
            let body = to_json(&rollout);
            let written: Option<i64> = match expected {
                None => conn.query_row(
                    &q(sql::ROLLOUT_INSERT),
                    params![rollout.ring_id, body],
                    |r| r.get(0),
                ),
                Some(version) => conn.query_row(
                    &q(sql::ROLLOUT_UPDATE),
                    params![rollout.ring_id, body, version as i64],
                    |r| r.get(0),
                ),
            }
            .optional()
            .map_err(|e| err(store, e))?;
            if let Some(version) = written {
                return Ok(version as Version);
            }
            let current: Option<i64> = conn
                .query_row(&q(sql::ROLLOUT_GET), params![rollout.ring_id], |r| r.get(1))
                .optional()
                .map_err(|e| err(store, e))?;
            Err(sql::rollout_conflict(store, &rollout, expected, current))
        })
        .await
    }

    async fn ring_rollout(&self, ring_id: &str) -> StoreResult<Option<Versioned<RingRollout>>> {
        let ring_id = ring_id.to_string();
        self.read(move |store, conn| {
            let found = rows(store, conn, sql::ROLLOUT_GET, params![ring_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            versioned(store, found).map(|mut v| v.pop())
        })
        .await
    }

    async fn ring_rollouts(&self) -> StoreResult<Vec<Versioned<RingRollout>>> {
        self.read(|store, conn| {
            let found = rows(store, conn, sql::ROLLOUTS_ALL, [], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            versioned(store, found)
        })
        .await
    }

    async fn append_events(&self, events: &[Event]) -> StoreResult<()> {
        let rows: Vec<(i64, i64, &'static str, String)> = events
            .iter()
            .map(|e| (e.seq as i64, ms(e.at), e.change.kind(), to_json(e)))
            .collect();
        self.write(move |store, conn| {
            let e = |error| err(store, error);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(e)?;
            {
                let mut insert = tx.prepare_cached(&q(sql::EVENT_INSERT)).map_err(e)?;
                for (seq, at, kind, body) in &rows {
                    insert
                        .execute(params![seq, at, kind, body])
                        .map_err(|error| match err(store, error) {
                            StoreError::Conflict { store, .. } => StoreError::Conflict {
                                store,
                                detail: format!("event {seq} is already stored"),
                            },
                            other => other,
                        })?;
                }
            }
            tx.commit().map_err(e)
        })
        .await
    }

    async fn events_since(
        &self,
        since: Seq,
        max: usize,
    ) -> StoreResult<Result<Vec<Event>, EventsCompacted>> {
        self.read(move |store, conn| {
            let found = rows(
                store,
                conn,
                sql::EVENTS_SINCE,
                params![since as i64, limit(max)],
                |r| {
                    Ok((
                        r.get::<_, Option<i64>>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                },
            )?;
            page(store, since, found)
        })
        .await
    }

    async fn event_bounds(&self) -> StoreResult<EventBounds> {
        self.read(|store, conn| {
            let (mark, last): (Option<i64>, Option<i64>) = conn
                .query_row(sql::EVENT_BOUNDS, [], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| err(store, e))?;
            Ok(bounds(mark, last))
        })
        .await
    }

    async fn compact_events(&self, through: Seq) -> StoreResult<u64> {
        self.write(move |store, conn| {
            let e = |error| err(store, error);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(e)?;
            let (mark, last): (Option<i64>, Option<i64>) = tx
                .query_row(sql::EVENT_BOUNDS, [], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(e)?;
            let bounds = bounds(mark, last);
            let through = (through.min(bounds.last) as i64).max(bounds.oldest_retained as i64);
            let gone = tx
                .execute("DELETE FROM events WHERE seq <= ?1", params![through])
                .map_err(e)?;
            tx.execute(
                "UPDATE store_meta SET value = ?1 WHERE name = 'events_compacted_through'",
                params![through],
            )
            .map_err(e)?;
            tx.commit().map_err(e)?;
            Ok(gone as u64)
        })
        .await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<LeaseOutcome> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.write(move |store, conn| {
            let e = |error| err(store, error);
            let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(String, i64, i64)> {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            };
            let held = conn
                .query_row(
                    &q(sql::LEASE_ACQUIRE),
                    params![name, holder, ms(now + ttl), ms(now)],
                    read,
                )
                .optional()
                .map_err(e)?;
            if let Some((holder, expires, term)) = held {
                return Ok(LeaseOutcome::Held(sql::lease_from_row(
                    &name, holder, expires, term,
                )));
            }
            let (holder, expires, term) = conn
                .query_row(&q(sql::LEASE_GET), params![name], read)
                .map_err(e)?;
            Ok(LeaseOutcome::HeldBy(sql::lease_from_row(
                &name, holder, expires, term,
            )))
        })
        .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<bool> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.write(move |store, conn| {
            let changed = conn
                .execute(&q(sql::LEASE_RELEASE), params![name, holder])
                .map_err(|e| err(store, e))?;
            Ok(changed > 0)
        })
        .await
    }

    async fn meta(&self, name: &str) -> StoreResult<Option<i64>> {
        let name = name.to_string();
        self.read(move |store, conn| {
            conn.query_row(&q(sql::META_GET), params![name], |row| row.get(0))
                .optional()
                .map_err(|e| err(store, e))
        })
        .await
    }

    async fn init_meta(&self, name: &str, value: i64) -> StoreResult<i64> {
        let name = name.to_string();
        self.write(move |store, conn| {
            conn.execute(&q(sql::META_INIT), params![name, value])
                .map_err(|e| err(store, e))?;
            conn.query_row(&q(sql::META_GET), params![name], |row| row.get(0))
                .map_err(|e| err(store, e))
        })
        .await
    }

    async fn append_journal(&self, entry: &JournalEntry) -> StoreResult<u64> {
        let entry = entry.clone();
        self.write(move |store, conn| {
            let seq: i64 = conn
                .query_row(
                    &q(sql::JOURNAL_INSERT),
                    params![
                        ms(entry.fleet_time),
                        to_json(&entry.actor),
                        to_json(&entry.request),
                        entry.action_id,
                        entry.idempotency_key
                    ],
                    |r| r.get(0),
                )
                .map_err(|e| err(store, e))?;
            Ok(seq as u64)
        })
        .await
    }

    async fn journal_after(&self, after: u64, max: usize) -> StoreResult<Vec<Journaled>> {
        self.read(move |store, conn| {
            let found = rows(
                store,
                conn,
                sql::JOURNAL_AFTER,
                params![after as i64, limit(max)],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                },
            )?;
            found
                .into_iter()
                .map(|(seq, at, actor, request, action_id, key)| {
                    Ok(Journaled {
                        seq: seq as u64,
                        entry: sql::journal_from_row(store, at, &actor, &request, action_id, key)?,
                    })
                })
                .collect()
        })
        .await
    }
}
