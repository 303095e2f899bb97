//! `GET` endpoints: single resources with `ETag: "<version>"`, lists in the `List<T>`
//! envelope with opaque cursors and `ETag: "seq-<sequence>"`, `If-None-Match` -> 304.

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::problem::ApiProblem;
use crate::api::wire::List;
use crate::backend::{HostQuery, Listing};
use crate::model::{Action, Deployment, HostState, Identity, Patch, Ring, Seq};

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page; larger `limit`s are lowered to this.
pub const MAX_LIMIT: usize = 1000;
/// Header carrying the event sequence a response is valid at (summary and lists).
pub const SEQUENCE_HEADER: &str = "patchdeck-sequence";

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageParams {
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct HostParams {
    ring: Option<String>,
    state: Option<String>,
    error: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// Items with a stable string id, which the cursors of in-memory lists point at.
trait Identified {
    fn id(&self) -> &str;
}

macro_rules! identified {
    ($($t:ty),*) => {
        $(impl Identified for $t {
            fn id(&self) -> &str {
                &self.id
            }
        })*
    };
}
identified!(Ring, Deployment, Patch, Action);

pub(crate) async fn me(Extension(identity): Extension<Identity>) -> Response {
    axum::Json(identity).into_response()
}

pub(crate) async fn summary(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (summary, sequence) = state.backend.summary();
    let mut response = resource(&headers, &summary, summary.version);
    set_sequence(&mut response, sequence);
    response
}

pub(crate) async fn rings(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiProblem> {
    page_in_memory("rings", state.backend.rings(), &headers, params)
}

pub(crate) async fn deployments(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiProblem> {
    page_in_memory("deployments", state.backend.deployments(), &headers, params)
}

pub(crate) async fn patches(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiProblem> {
    page_in_memory("patches", state.backend.patches(), &headers, params)
}

pub(crate) async fn actions(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiProblem> {
    page_in_memory("actions", state.backend.actions(), &headers, params)
}

pub(crate) async fn ring(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiProblem> {
    let ring = state
        .backend
        .ring(&id)
        .ok_or_else(|| ApiProblem::not_found(format!("no ring `{id}`")))?;
    Ok(resource(&headers, &ring, ring.version))
}

pub(crate) async fn deployment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiProblem> {
    let deployment = state
        .backend
        .deployment(&id)
        .ok_or_else(|| ApiProblem::not_found(format!("no deployment `{id}`")))?;
    Ok(resource(&headers, &deployment, deployment.version))
}

pub(crate) async fn host(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiProblem> {
    let host = state
        .backend
        .host(&id)
        .ok_or_else(|| ApiProblem::not_found(format!("no host `{id}`")))?;
    Ok(resource(&headers, &host, host.version))
}

pub(crate) async fn hosts(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<HostParams>, QueryRejection>,
) -> Result<Response, ApiProblem> {
    let Query(params) = params.map_err(|rejection| ApiProblem::malformed(rejection.body_text()))?;
    let non_empty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let host_state = match non_empty(params.state) {
        None => None,
        Some(word) => Some(HostState::parse(&word).ok_or_else(|| {
            let known: Vec<&str> = HostState::ALL.iter().map(|s| s.as_str()).collect();
            ApiProblem::malformed(format!(
                "unknown host state `{word}`; one of {}",
                known.join(", ")
            ))
        })?),
    };
    let query = HostQuery {
        ring: non_empty(params.ring),
        state: host_state,
        error: non_empty(params.error),
        text: non_empty(params.q),
        after: params
            .cursor
            .as_deref()
            .map(|cursor| decode_cursor("hosts", cursor))
            .transpose()?,
        limit: parse_limit(params.limit.as_deref())?,
    };
    let page = state.backend.hosts(&query);
    let next_cursor = match (page.more, page.items.last()) {
        (true, Some(last)) => Some(encode_cursor("hosts", &last.id)),
        _ => None,
    };
    Ok(list(
        &headers,
        List {
            items: page.items,
            next_cursor,
            sequence: page.sequence,
        },
    ))
}

/// Pages a small list held in memory: the cursor is the id of the last item sent.
fn page_in_memory<T: Identified + Serialize>(
    name: &str,
    listing: Listing<T>,
    headers: &HeaderMap,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiProblem> {
    let Query(params) = params.map_err(|rejection| ApiProblem::malformed(rejection.body_text()))?;
    let limit = parse_limit(params.limit.as_deref())?;
    let Listing {
        mut items,
        sequence,
    } = listing;
    let start = match params.cursor.as_deref() {
        None => 0,
        Some(cursor) => {
            let last = decode_cursor(name, cursor)?;
            items
                .iter()
                .position(|item| item.id() == last)
                .map(|at| at + 1)
                .ok_or_else(|| {
                    ApiProblem::malformed(format!(
                        "the cursor points at `{last}`, which is no longer listed; list {name} again from the start"
                    ))
                })?
        }
    };
    let end = start.saturating_add(limit).min(items.len());
    let more = end < items.len();
    items.truncate(end);
    let page: Vec<T> = items.drain(start.min(end)..).collect();
    let next_cursor = match (more, page.last()) {
        (true, Some(last)) => Some(encode_cursor(name, last.id())),
        _ => None,
    };
    Ok(list(
        headers,
        List {
            items: page,
            next_cursor,
            sequence,
        },
    ))
}

/// `limit`: 100 by default, at most 1000 (larger values are lowered), at least 1.
pub(crate) fn parse_limit(limit: Option<&str>) -> Result<usize, ApiProblem> {
    let Some(text) = limit else {
        return Ok(DEFAULT_LIMIT);
    };
    match text.trim().parse::<u64>() {
        Ok(0) | Err(_) => Err(ApiProblem::malformed(format!(
            "limit must be a whole number from 1 to {MAX_LIMIT}, got `{text}`"
        ))),
        Ok(n) => Ok(usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)),
    }
}

/// An opaque cursor: hex of "<list>:<last id>", so that a cursor of one list is not
/// mistaken for another's.
pub(crate) fn encode_cursor(list: &str, last_id: &str) -> String {
    format!("{list}:{last_id}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn decode_cursor(list: &str, cursor: &str) -> Result<String, ApiProblem> {
    let garbage = || {
        ApiProblem::malformed(format!(
            "`cursor` is not a cursor of {list}; use the next_cursor of a previous page"
        ))
    };
    if !cursor.len().is_multiple_of(2) || cursor.len() > 2048 {
        return Err(garbage());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|at| {
            cursor
                .get(at..at + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(garbage)?;
    let text = String::from_utf8(bytes).map_err(|_| garbage())?;
    text.strip_prefix(list)
        .and_then(|rest| rest.strip_prefix(':'))
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or_else(garbage)
}

/// One resource, `ETag: "<version>"`.
fn resource<T: Serialize>(headers: &HeaderMap, item: &T, version: u64) -> Response {
    respond_tagged(headers, item, format!("\"{version}\""))
}

/// A list, `ETag: "seq-<sequence>"` and the sequence header.
pub(crate) fn list<T: Serialize>(headers: &HeaderMap, page: List<T>) -> Response {
    let sequence = page.sequence;
    let mut response = respond_tagged(headers, &page, format!("\"seq-{sequence}\""));
    set_sequence(&mut response, sequence);
    response
}

pub(crate) fn set_sequence(response: &mut Response, sequence: Seq) {
    response
        .headers_mut()
        .insert(SEQUENCE_HEADER, HeaderValue::from(sequence));
}

pub(crate) fn respond_tagged<T: Serialize>(
    headers: &HeaderMap,
    body: &T,
    etag: String,
) -> Response {
    let etag_value =
        HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    let mut response = if if_none_match(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        axum::Json(body).into_response()
    };
    response.headers_mut().insert(header::ETAG, etag_value);
    response
}

/// Does `If-None-Match` name this ETag (weak comparison, `*` matches anything)?
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_one_list() {
        let cursor = encode_cursor("hosts", "host-00042");
        assert_eq!(decode_cursor("hosts", &cursor).unwrap(), "host-00042");
        assert!(decode_cursor("rings", &cursor).is_err());
        for garbage in ["zz", "abc", "", "686f737473", "686f737473:"] {
            assert!(decode_cursor("hosts", garbage).is_err(), "{garbage}");
        }
    }

    #[test]
    fn limits_default_clamp_and_refuse_nonsense() {
        assert_eq!(parse_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(parse_limit(Some("37")).unwrap(), 37);
        assert_eq!(parse_limit(Some("5000")).unwrap(), MAX_LIMIT);
        assert!(parse_limit(Some("0")).is_err());
        assert!(parse_limit(Some("-1")).is_err());
        assert!(parse_limit(Some("ten")).is_err());
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"3\", W/\"7\""),
        );
        assert!(if_none_match(&headers, "\"7\""));
        assert!(if_none_match(&headers, "\"3\""));
        assert!(!if_none_match(&headers, "\"4\""));
        assert!(!if_none_match(&HeaderMap::new(), "\"4\""));
    }
}
