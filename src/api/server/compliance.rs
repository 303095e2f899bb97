//! `GET /v1/compliance`: the fleet's compliance under the server's policy
//! ([`crate::compliance`]), and with `past=true` the hosts past the line, paged.
//!
//! Computed at most once per event sequence: a request at the sequence of the last
//! computation is answered from it. A new computation lists the hosts and reads the
//! history (for release-to-verified times) only of hosts whose version changed since,
//! so 100,000 hosts are read in full once, then by what changed.

use std::collections::HashMap;
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
use crate::model::{Seq, Version};

/// Hosts asked of the backend per page while computing.
const HOST_PAGE: usize = 1000;

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
    /// Each host as last read, with the version it was read at.
    hosts: HashMap<String, (Version, HostFacts)>,
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
        let mut seen: HashMap<String, (Version, HostFacts)> =
            HashMap::with_capacity(computed.hosts.len());
        let mut after = None;
        loop {
            let page = backend.hosts(&HostQuery {
                after: after.take(),
                limit: HOST_PAGE,
                ..HostQuery::default()
            });
            for mut host in page.items.iter().cloned() {
                let id = host.id.clone();
                let facts = match computed.hosts.remove(&id) {
                    Some((version, facts)) if version == host.version => facts,
                    _ => {
                        let full = backend.host(&id);
                        let times = full
                            .as_ref()
                            .map(|h| verified(h, &patches))
                            .unwrap_or_default();
                        host.history.clear();
                        HostFacts {
                            host,
                            verified: times,
                        }
                    }
                };
                seen.insert(id, (facts.host.version, facts));
            }
            match (page.more, page.items.last()) {
                (true, Some(last)) => after = Some(last.id.clone()),
                _ => break,
            }
        }
        let mut ordered: Vec<&HostFacts> = seen.values().map(|(_, facts)| facts).collect();
        ordered.sort_by(|a, b| a.host.id.cmp(&b.host.id));
        let (mut result, past) = compute(&self.policy, summary.now, &patches, ordered);
        result.sequence = sequence;
        let result = Arc::new(result);
        let past = Arc::new(past);
        *computed = Computed {
            sequence: Some(sequence),
            summary: Some(result.clone()),
            past: past.clone(),
            hosts: seen,
        };
        (result, past)
    }
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
