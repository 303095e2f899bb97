//! The server's audit trail: every attempt at an action, accepted or refused (a 401
//! on an action path included), with who, verb, target, reason, ticket, status and
//! problem type. With a store it is the store's (durable, shared by gateways); without
//! one a bounded trail in memory ([`Limits::audit_in_memory`], the oldest go first).
//! `GET /v1/audit` pages it, oldest first (approvers only).
//!
//! [`Limits::audit_in_memory`]: super::Limits::audit_in_memory

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::AppState;
use super::problem::ApiProblem;
use super::resources::{PageParams, decode_cursor, encode_cursor, list, parse_limit};
use crate::api::wire::{AuditRecord, List, ProblemType};
use crate::model::{Identity, Role};
use crate::store::{AuditEntry, Audited, Store};

/// The least role that may read the audit trail.
pub const AUDIT_ROLE: Role = Role::Approver;

/// The trail of a server without a store: the last `capacity` attempts.
#[derive(Debug)]
pub(crate) struct MemoryTrail {
    capacity: usize,
    inner: Mutex<Trail>,
}

#[derive(Debug, Default)]
struct Trail {
    entries: VecDeque<Audited>,
    last: u64,
}

impl MemoryTrail {
    pub fn new(capacity: usize) -> MemoryTrail {
        MemoryTrail {
            capacity: capacity.max(1),
            inner: Mutex::new(Trail::default()),
        }
    }

    fn trail(&self) -> std::sync::MutexGuard<'_, Trail> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn append(&self, entry: AuditEntry) {
        let mut trail = self.trail();
        trail.last += 1;
        let seq = trail.last;
        trail.entries.push_back(Audited { seq, entry });
        while trail.entries.len() > self.capacity {
            trail.entries.pop_front();
        }
    }

    /// Entries after `after`, oldest first, at most `limit` (as the store pages).
    fn after(&self, after: u64, limit: usize) -> Vec<Audited> {
        let trail = self.trail();
        let start = trail
            .entries
            .partition_point(|audited| audited.seq <= after);
        trail.entries.range(start..).take(limit).cloned().collect()
    }
}

/// Appends one attempt to the trail: the store's, else the one in memory.
pub(crate) async fn record(state: &AppState, entry: AuditEntry) {
    match &state.gateway {
        Some(gateway) => gateway.audit(entry).await,
        None => state.audit.append(entry),
    }
}

/// `GET /v1/audit?cursor=&limit=`: the trail, oldest first, approvers only.
pub(crate) async fn audit(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    headers: HeaderMap,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiProblem> {
    if identity.role < AUDIT_ROLE {
        return Err(
            ApiProblem::new(ProblemType::Forbidden, "Role not allowed").detail(format!(
                "the audit trail needs the {} role",
                AUDIT_ROLE.as_str()
            )),
        );
    }
    let Query(params) = params.map_err(|rejection| ApiProblem::malformed(rejection.body_text()))?;
    let limit = parse_limit(params.limit.as_deref())?;
    let after = match params.cursor.as_deref() {
        None => 0,
        Some(cursor) => decode_cursor("audit", cursor)?
            .parse::<u64>()
            .map_err(|_| ApiProblem::malformed("`cursor` is not a cursor of audit"))?,
    };
    let sequence = state.backend.sequence();
    // One more than asked says whether a next page exists.
    let mut entries = match &state.gateway {
        Some(gateway) => gateway
            .store()
            .audit_after(after, limit + 1)
            .await
            .map_err(|error| {
                let mut problem = ApiProblem::new(ProblemType::Unavailable, "Store unavailable")
                    .detail(format!("the audit trail cannot be read: {error}"));
                problem.retry_after = Some(5);
                problem
            })?,
        None => state.audit.after(after, limit + 1),
    };
    let more = entries.len() > limit;
    entries.truncate(limit);
    let next_cursor = match (more, entries.last()) {
        (true, Some(last)) => Some(encode_cursor("audit", &last.seq.to_string())),
        _ => None,
    };
    Ok(list(
        &headers,
        List {
            items: entries.into_iter().map(to_record).collect::<Vec<_>>(),
            next_cursor,
            sequence,
        },
    ))
}

fn to_record(audited: Audited) -> AuditRecord {
    let entry = audited.entry;
    AuditRecord {
        seq: audited.seq,
        at: entry.at,
        identity: Some(entry.identity).filter(|name| !name.is_empty()),
        verb: entry.verb,
        target: entry.target,
        reason: entry.reason,
        ticket: entry.ticket,
        idempotency_key: entry.idempotency_key,
        status: entry.status,
        problem_type: entry.problem_type,
        action_id: entry.action_id,
        gateway: entry.gateway,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Target, TargetKind};

    fn entry(n: u16) -> AuditEntry {
        AuditEntry {
            at: chrono::Utc::now(),
            identity: "oscar".into(),
            verb: "pause".into(),
            target: Target {
                kind: TargetKind::Ring,
                id: "pilot".into(),
            },
            reason: None,
            ticket: None,
            idempotency_key: None,
            status: n,
            problem_type: None,
            action_id: None,
            gateway: None,
        }
    }

    #[test]
    fn the_memory_trail_keeps_the_last_entries_and_pages_by_seq() {
        let trail = MemoryTrail::new(3);
        for n in 1..=5 {
            trail.append(entry(n));
        }
        let seqs = |page: Vec<Audited>| page.iter().map(|a| a.seq).collect::<Vec<_>>();
        assert_eq!(seqs(trail.after(0, 10)), vec![3, 4, 5]);
        assert_eq!(seqs(trail.after(3, 1)), vec![4]);
        assert_eq!(seqs(trail.after(5, 10)), Vec::<u64>::new());
        assert_eq!(trail.after(0, 1)[0].entry.status, 3);
    }
}
