//! `GET /v1/compliance`: the fleet's compliance under the server's policy
//! ([`crate::compliance`]), and with `past=true` the hosts past the line, paged.
//!
//! Computed at most once per event sequence: a request at the sequence of the last
//! computation is answered from it. The first computation lists every host and reads
//! its history (for release-to-verified times); later ones follow the event log from
//! the last one and read again only the hosts that changed (a compacted log, a long
//! one or changed patches mean a listing again, reusing hosts whose version did not
//! change). So 100,000 hosts are read in full once, then by what changed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::AppState;
use super::problem::ApiProblem;
use super::resources::{
    decode_cursor, encode_cursor, list, parse_limit, respond_tagged, set_sequence,
};
use crate::api::wire::{List, ProblemType};
use crate::backend::{Backend, HostQuery};
use crate::compliance::{Compliance, CompliancePolicy, HostFacts, PastLine, compute, verified};
use crate::model::{Change, Host, Patch, Seq, Version};

/// Hosts asked of the backend per page while listing.
const HOST_PAGE: usize = 1000;
/// Events read per page while catching up.
const EVENT_PAGE: usize = 10_000;
/// More events than this since the last computation: list the hosts instead.
const MAX_EVENTS: usize = 200_000;

/// The last computation and what it read, under the server's policy.
pub(crate) struct ComplianceCache {
    policy: CompliancePolicy,
    inner: Mutex<Computed>,
}

#[derive(Default)]
struct Computed {
    sequence: Option<Seq>,
    summary: Option<Arc<Compliance>>,
    past: Arc<Vec<PastLine>>,
    /// Each host as last read, with the version it was read at, by id.
    hosts: BTreeMap<String, (Version, HostFacts)>,
    /// The patches it was computed with (verified times depend on them).
    patches: Vec<Patch>,
}

impl ComplianceCache {
    pub fn new(policy: CompliancePolicy) -> ComplianceCache {
        ComplianceCache {
            policy,
            inner: Mutex::new(Computed::default()),
        }
    }

    /// Compliance at the backend's sequence now, computed if that sequence is new.
    fn current(&self, backend: &dyn Backend) -> (Arc<Compliance>, Arc<Vec<PastLine>>) {
        let mut computed = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (summary, sequence) = backend.summary();
        if computed.sequence == Some(sequence)
            && let Some(done) = &computed.summary
        {
            return (done.clone(), computed.past.clone());
        }
        let patches = backend.patches().items;
        let caught_up = match computed.sequence {
            Some(since) if computed.patches == patches => {
                catch_up(&mut computed.hosts, backend, since, &patches)
            }
            _ => false,
        };
        if !caught_up {
            computed.hosts = list_all(std::mem::take(&mut computed.hosts), backend, &patches);
            // Reading every host with its history freed as much as the facts keep.
            crate::memory::give_back_freed();
        }
        let (mut result, past) = compute(
            &self.policy,
            summary.now,
            &patches,
            computed.hosts.values().map(|(_, facts)| facts),
        );
        result.sequence = sequence;
        let result = Arc::new(result);
        let past = Arc::new(past);
        computed.sequence = Some(sequence);
        computed.summary = Some(result.clone());
        computed.past = past.clone();
        computed.patches = patches;
        (result, past)
    }
}

/// A host as compliance needs it, its history read for the verified times.
fn facts_of(mut host: Host, backend: &dyn Backend, patches: &[Patch]) -> (Version, HostFacts) {
    let mut times = backend
        .host(&host.id)
        .map(|full| verified(&full, patches))
        .unwrap_or_default();
    times.shrink_to_fit();
    host.history.clear();
    (
        host.version,
        HostFacts {
            host,
            verified: times,
        },
    )
}

/// Every host, reusing what `known` read of a host whose version did not change.
fn list_all(
    mut known: BTreeMap<String, (Version, HostFacts)>,
    backend: &dyn Backend,
    patches: &[Patch],
) -> BTreeMap<String, (Version, HostFacts)> {
    // In id order, put in the map at the end in one pass: its nodes full.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = backend.hosts(&HostQuery {
            after: after.take(),
            limit: HOST_PAGE,
            ..HostQuery::default()
        });
        let next = match (page.more, page.items.last()) {
            (true, Some(last)) => Some(last.id.to_string()),
            _ => None,
        };
        for host in page.items {
            let entry = match known.remove(host.id.as_str()) {
                Some(entry) if entry.0 == host.version => entry,
                _ => facts_of(host, backend, patches),
            };
            seen.push((entry.1.host.id.to_string(), entry));
        }
        match next {
            Some(last) => after = Some(last),
            None => return seen.into_iter().collect(),
        }
    }
}

/// Bring `hosts` from sequence `since` to now by the host events in between (the
/// backend's event log), reading again only the hosts that changed. False when the log
/// no longer reaches back to `since` or is too long to be cheaper than a listing.
fn catch_up(
    hosts: &mut BTreeMap<String, (Version, HostFacts)>,
    backend: &dyn Backend,
    since: Seq,
    patches: &[Patch],
) -> bool {
    let mut changed: BTreeMap<String, Host> = BTreeMap::new();
    let mut cursor = since;
    let mut read = 0;
    loop {
        let Ok(events) = backend.events_page(cursor, EVENT_PAGE) else {
            return false;
        };
        let Some(last) = events.last() else { break };
        cursor = last.seq;
        read += events.len();
        if read > MAX_EVENTS {
            return false;
        }
        let full = events.len() == EVENT_PAGE;
        for event in events {
            if let Change::Host(host) = event.change {
                changed.insert(host.id.to_string(), host);
            }
        }
        if !full {
            break;
        }
    }
    for (id, host) in changed {
        if hosts
            .get(&id)
            .is_some_and(|(version, _)| *version >= host.version)
        {
            continue;
        }
        hosts.insert(id, facts_of(host, backend, patches));
    }
    true
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ComplianceParams {
    past: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// `GET /v1/compliance` (any role): the summary and breakdowns; `?past=true`: the
/// hosts past the line, earliest due first, paged by `cursor` and `limit`.
pub(crate) async fn compliance(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<ComplianceParams>, QueryRejection>,
) -> Result<Response, ApiProblem> {
    let Query(params) = params.map_err(|rejection| ApiProblem::malformed(rejection.body_text()))?;
    let past = match params.past.as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiProblem::malformed(format!(
                "past is true or false, got `{other}`"
            )));
        }
    };
    if !past && (params.cursor.is_some() || params.limit.is_some()) {
        return Err(ApiProblem::malformed(
            "cursor and limit page the hosts past the line: add past=true",
        ));
    }
    let limit = parse_limit(params.limit.as_deref())?;
    let after = params
        .cursor
        .as_deref()
        .map(|cursor| decode_cursor("compliance", cursor))
        .transpose()?;
    let cache = state.compliance.clone();
    let backend = state.backend.clone();
    let (summary, rows) = tokio::task::spawn_blocking(move || cache.current(backend.as_ref()))
        .await
        .map_err(|_| {
            ApiProblem::new(ProblemType::Internal, "Internal error")
                .detail("the compliance computation failed")
        })?;
    if !past {
        let mut response =
            respond_tagged(&headers, &*summary, format!("\"seq-{}\"", summary.sequence));
        set_sequence(&mut response, summary.sequence);
        return Ok(response);
    }
    // Keyset paging on (due_at, host id), the order of the rows: stable while the
    // fleet changes between pages.
    let start = match &after {
        None => 0,
        Some(key) => rows.partition_point(|row| row_key(row) <= *key),
    };
    let end = start.saturating_add(limit).min(rows.len());
    let page: Vec<PastLine> = rows[start..end].to_vec();
    let next_cursor = match (end < rows.len(), page.last()) {
        (true, Some(last)) => Some(encode_cursor("compliance", &row_key(last))),
        _ => None,
    };
    Ok(list(
        &headers,
        List {
            items: page,
            next_cursor,
            sequence: summary.sequence,
        },
    ))
}

/// A row's place in the order: the due time (sortable text) and the host id.
fn row_key(row: &PastLine) -> String {
    format!(
        "{}|{}",
        row.due_at.format("%Y-%m-%dT%H:%M:%S%.9fZ"),
        row.host_id
    )
}
