//! What both engines share: the SQL they both take (`$N` placeholders; SQLite is given
//! them as `?N`), and the conversions of times, words and JSON.

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::StoreError;
use super::types::{
    AuditEntry, Claim, EventBounds, EventsCompacted, HostException, IdempotentAnswer, JournalEntry,
    Lease, RingRollout, Versioned,
};
use crate::model::{Event, Exception, Seq, Target, TargetKind, Version};

pub(crate) const AUDIT_INSERT: &str = "INSERT INTO audit (at_ms, identity, verb, target_kind, \
     target_id, reason, ticket, idempotency_key, status, problem_type, action_id, gateway) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING seq";
pub(crate) const AUDIT_AFTER: &str = "SELECT seq, at_ms, identity, verb, target_kind, target_id, \
     reason, ticket, idempotency_key, status, problem_type, action_id, gateway \
     FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2";

pub(crate) const ACTION_PUT: &str = "INSERT INTO actions (id, version, at_ms, body) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET version = excluded.version, \
     at_ms = excluded.at_ms, body = excluded.body WHERE actions.version <= excluded.version \
     RETURNING id";
pub(crate) const ACTION_GET: &str = "SELECT body FROM actions WHERE id = $1";
pub(crate) const ACTIONS_ALL: &str = "SELECT body FROM actions ORDER BY at_ms, id";

pub(crate) const PENDING_PUT: &str = "INSERT INTO pending_requests \
     (id, first_approver, requested_at_ms, expires_at_ms, body) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (id) DO UPDATE SET first_approver = excluded.first_approver, \
     requested_at_ms = excluded.requested_at_ms, expires_at_ms = excluded.expires_at_ms, \
     body = excluded.body WHERE pending_requests.expires_at_ms <= $6 RETURNING id";
pub(crate) const PENDING_GET: &str =
    "SELECT body FROM pending_requests WHERE id = $1 AND expires_at_ms > $2";
pub(crate) const PENDING_ALL: &str = "SELECT body FROM pending_requests \
     WHERE expires_at_ms > $1 ORDER BY requested_at_ms, id";
pub(crate) const PENDING_TAKE: &str =
    "DELETE FROM pending_requests WHERE id = $1 AND expires_at_ms > $2 RETURNING body";
pub(crate) const PENDING_EXPIRE: &str = "DELETE FROM pending_requests WHERE expires_at_ms <= $1";

pub(crate) const KEY_CLAIM: &str = "INSERT INTO idempotency \
     (identity, key, fingerprint, claimed_by, claimed_at_ms) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (identity, key) DO NOTHING RETURNING claimed_at_ms";
pub(crate) const KEY_GET: &str = "SELECT fingerprint, claimed_by, status, content_type, etag, \
     body FROM idempotency WHERE identity = $1 AND key = $2";
pub(crate) const KEY_ANSWER: &str = "UPDATE idempotency SET status = $3, content_type = $4, \
     etag = $5, body = $6, answered_at_ms = $7 WHERE identity = $1 AND key = $2";
pub(crate) const KEY_RELEASE: &str =
    "DELETE FROM idempotency WHERE identity = $1 AND key = $2 AND status IS NULL";
pub(crate) const KEY_UNANSWERED: &str = "SELECT identity, key FROM idempotency \
     WHERE claimed_by = $1 AND status IS NULL ORDER BY identity, key";
pub(crate) const KEY_FORGET: &str = "DELETE FROM idempotency WHERE claimed_at_ms < $1";

pub(crate) const EXCEPTION_PUT: &str = "INSERT INTO exceptions \
     (host_id, owner, reason, ticket, expires_at_ms, compensating_control, terms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (host_id) DO UPDATE SET \
     owner = excluded.owner, reason = excluded.reason, ticket = excluded.ticket, \
     expires_at_ms = excluded.expires_at_ms, compensating_control = excluded.compensating_control, \
     terms = excluded.terms";
pub(crate) const EXCEPTION_REMOVE: &str = "DELETE FROM exceptions WHERE host_id = $1";
pub(crate) const EXCEPTIONS_ALL: &str = "SELECT host_id, owner, reason, ticket, expires_at_ms, \
     compensating_control, terms FROM exceptions ORDER BY host_id";

pub(crate) const ROLLOUT_INSERT: &str = "INSERT INTO ring_rollouts (ring_id, version, body) \
     VALUES ($1, 1, $2) ON CONFLICT (ring_id) DO NOTHING RETURNING version";
pub(crate) const ROLLOUT_UPDATE: &str = "UPDATE ring_rollouts SET version = version + 1, \
     body = $2 WHERE ring_id = $1 AND version = $3 RETURNING version";
pub(crate) const ROLLOUT_GET: &str = "SELECT body, version FROM ring_rollouts WHERE ring_id = $1";
pub(crate) const ROLLOUTS_ALL: &str = "SELECT body, version FROM ring_rollouts ORDER BY ring_id";

pub(crate) const EVENT_INSERT: &str =
    "INSERT INTO events (seq, at_ms, kind, body) VALUES ($1, $2, $3, $4)";
/// The compaction mark and a page of events, in one statement (one snapshot): rows with
/// a NULL seq carry the mark.
pub(crate) const EVENTS_SINCE: &str = "SELECT value, CAST(NULL AS BIGINT), CAST(NULL AS TEXT) \
     FROM store_meta WHERE name = 'events_compacted_through' \
     UNION ALL SELECT CAST(NULL AS BIGINT), seq, body FROM \
     (SELECT seq, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2) AS page";
pub(crate) const EVENT_BOUNDS: &str = "SELECT (SELECT value FROM store_meta \
     WHERE name = 'events_compacted_through'), (SELECT MAX(seq) FROM events)";

pub(crate) const LEASE_ACQUIRE: &str = "INSERT INTO leases (name, holder, expires_at_ms, term) \
     VALUES ($1, $2, $3, 1) ON CONFLICT (name) DO UPDATE SET \
     term = CASE WHEN leases.holder = excluded.holder THEN leases.term ELSE leases.term + 1 END, \
     holder = excluded.holder, expires_at_ms = excluded.expires_at_ms \
     WHERE leases.holder = excluded.holder OR leases.expires_at_ms <= $4 \
     RETURNING holder, expires_at_ms, term";
pub(crate) const LEASE_GET: &str = "SELECT holder, expires_at_ms, term FROM leases WHERE name = $1";
/// Release keeps the row (and its term) so that terms only increase.
pub(crate) const LEASE_RELEASE: &str = "UPDATE leases SET expires_at_ms = 0 \
     WHERE name = $1 AND holder = $2 AND expires_at_ms > 0";

pub(crate) const META_GET: &str = "SELECT value FROM store_meta WHERE name = $1";
pub(crate) const META_INIT: &str =
    "INSERT INTO store_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
pub(crate) const JOURNAL_INSERT: &str = "INSERT INTO journal \
     (fleet_time_ms, actor, request, action_id, idempotency_key) \
     VALUES ($1, $2, $3, $4, $5) RETURNING seq";
pub(crate) const JOURNAL_AFTER: &str = "SELECT seq, fleet_time_ms, actor, request, action_id, \
     idempotency_key FROM journal WHERE seq > $1 ORDER BY seq LIMIT $2";

/// Milliseconds since the epoch.
pub(crate) fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    // Model types always serialise (no maps with non-string keys).
    serde_json::to_string(value).unwrap_or_default()
}

pub(crate) fn from_json<T: DeserializeOwned>(
    store: &str,
    what: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::decode(store, what, e))
}

/// "deployment", "ring", "host", "fleet".
pub(crate) fn kind_word(kind: TargetKind) -> String {
    to_json(&kind).trim_matches('"').to_string()
}

pub(crate) fn kind_from_word(store: &str, word: &str) -> Result<TargetKind, StoreError> {
    serde_json::from_value(serde_json::Value::String(word.to_string()))
        .map_err(|e| StoreError::decode(store, "target kind", e))
}

/// A row of `audit` in the columns' order.
pub(crate) struct AuditRow {
    pub seq: i64,
    pub at_ms: i64,
    pub identity: String,
    pub verb: String,
    pub target_kind: String,
    pub target_id: String,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub idempotency_key: Option<String>,
    pub status: i64,
    pub problem_type: Option<String>,
    pub action_id: Option<String>,
    pub gateway: Option<String>,
}

impl AuditRow {
    pub fn into_entry(self, store: &str) -> Result<super::types::Audited, StoreError> {
        Ok(super::types::Audited {
            seq: self.seq as u64,
            entry: AuditEntry {
                at: from_ms(self.at_ms),
                identity: self.identity,
                verb: self.verb,
                target: Target {
                    kind: kind_from_word(store, &self.target_kind)?,
                    id: self.target_id,
                },
                reason: self.reason,
                ticket: self.ticket,
                idempotency_key: self.idempotency_key,
                status: u16::try_from(self.status).unwrap_or(0),
                problem_type: self.problem_type,
                action_id: self.action_id,
                gateway: self.gateway,
            },
        })
    }
}

/// A row of `idempotency` as [`KEY_GET`] reads it.
pub(crate) struct KeyRow {
    pub fingerprint: String,
    pub claimed_by: String,
    pub status: Option<i64>,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub body: Option<Vec<u8>>,
}

impl KeyRow {
    /// What a claim of the same key with `fingerprint` finds.
    pub fn claim(self, fingerprint: &str) -> Claim {
        if self.fingerprint != fingerprint {
            return Claim::Mismatch;
        }
        match self.status {
            None => Claim::InFlight {
                claimed_by: self.claimed_by,
            },
            Some(status) => Claim::Replay(IdempotentAnswer {
                status: u16::try_from(status).unwrap_or(500),
                content_type: self.content_type.unwrap_or_default(),
                etag: self.etag,
                body: self.body.unwrap_or_default(),
            }),
        }
    }
}

/// The `terms` column of `exceptions`: what an exception has besides its first columns.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ExceptionColumns {
    #[serde(default)]
    patch_id: Option<String>,
    #[serde(default)]
    granted_by: String,
    #[serde(default)]
    granted_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    renewals: Vec<crate::model::Renewal>,
    #[serde(default)]
    lapsed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The `terms` column of an exception's row (JSON).
pub(crate) fn exception_terms(exception: &Exception) -> String {
    serde_json::to_string(&ExceptionColumns {
        patch_id: exception.patch_id.clone(),
        granted_by: exception.granted_by.clone(),
        granted_at: exception.granted_at,
        renewals: exception.renewals.clone(),
        lapsed_at: exception.lapsed_at,
    })
    .unwrap_or_else(|_| "{}".into())
}

/// A row of `exceptions` in the columns' order; `terms` that do not read are none
/// (the row's first columns still hold the exception).
pub(crate) fn exception_from_row(
    host_id: String,
    owner: String,
    reason: String,
    ticket: Option<String>,
    expires_at_ms: i64,
    compensating_control: String,
    terms: String,
) -> HostException {
    let more: ExceptionColumns = serde_json::from_str(&terms).unwrap_or_default();
    HostException {
        host_id,
        exception: Exception {
            owner,
            reason,
            ticket,
            expires_at: from_ms(expires_at_ms),
            compensating_control,
            patch_id: more.patch_id,
            granted_by: more.granted_by,
            granted_at: more.granted_at,
            renewals: more.renewals,
            lapsed_at: more.lapsed_at,
        },
    }
}

pub(crate) fn lease_from_row(name: &str, holder: String, expires_at_ms: i64, term: i64) -> Lease {
    Lease {
        name: name.to_string(),
        holder,
        expires_at: from_ms(expires_at_ms),
        term: term as u64,
    }
}

/// A ring's rollout state changed under a writer.
pub(crate) fn rollout_conflict(
    store: &str,
    rollout: &RingRollout,
    expected: Option<u64>,
    current: Option<i64>,
) -> StoreError {
    let detail = match (expected, current) {
        (None, Some(current)) => format!(
            "ring `{}` already has a rollout state (version {current})",
            rollout.ring_id
        ),
        (Some(expected), Some(current)) => format!(
            "ring `{}` rollout state changed: it is at version {current}, the write was made on {expected}",
            rollout.ring_id
        ),
        (Some(expected), None) => format!(
            "ring `{}` has no rollout state to update (expected version {expected})",
            rollout.ring_id
        ),
        (None, None) => format!("ring `{}` rollout state changed", rollout.ring_id),
    };
    StoreError::Conflict {
        store: store.to_string(),
        detail,
    }
}

/// Journal row fields that are JSON.
pub(crate) fn journal_from_row(
    store: &str,
    fleet_time_ms: i64,
    actor: &str,
    request: &str,
    action_id: Option<String>,
    idempotency_key: Option<String>,
) -> Result<JournalEntry, StoreError> {
    Ok(JournalEntry {
        fleet_time: from_ms(fleet_time_ms),
        actor: from_json(store, "journal actor", actor)?,
        request: from_json(store, "journal request", request)?,
        action_id,
        idempotency_key,
    })
}

/// `i64` for a limit (SQL LIMIT takes a signed integer).
pub(crate) fn limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(crate) fn versioned(
    store: &str,
    found: Vec<(String, i64)>,
) -> Result<Vec<Versioned<RingRollout>>, StoreError> {
    found
        .into_iter()
        .map(|(body, version)| {
            Ok(Versioned {
                value: from_json(store, "ring rollout", &body)?,
                version: version as Version,
            })
        })
        .collect()
}

/// Bounds from the compaction mark and the highest stored sequence number.
pub(crate) fn bounds(mark: Option<i64>, last: Option<i64>) -> EventBounds {
    let mark = mark.unwrap_or(0).max(0) as Seq;
    EventBounds {
        oldest_retained: mark,
        last: (last.unwrap_or(0).max(0) as Seq).max(mark),
    }
}

/// A page of [`sql::EVENTS_SINCE`] rows: the mark row and event rows.
pub(crate) fn page(
    store: &str,
    since: Seq,
    found: Vec<(Option<i64>, Option<i64>, Option<String>)>,
) -> Result<Result<Vec<Event>, EventsCompacted>, StoreError> {
    let mut mark = 0;
    let mut events = Vec::new();
    for (value, seq, body) in found {
        match (value, seq, body) {
            (Some(value), _, _) => mark = value.max(0) as Seq,
            (None, Some(_), Some(body)) => events.push(from_json::<Event>(store, "event", &body)?),
            _ => {}
        }
    }
    if since < mark {
        return Ok(Err(EventsCompacted { oldest: mark + 1 }));
    }
    events.sort_by_key(|e| e.seq);
    Ok(Ok(events))
}
