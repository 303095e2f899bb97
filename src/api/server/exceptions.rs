//! `GET /v1/exceptions`: every host under an exception (in force or expired), the
//! soonest expiry first, with how each stands at the fleet's clock; `?standing=`
//! keeps one standing (expired, near-expiry, in-force). Exceptions are few: the list
//! comes whole, without a cursor.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::AppState;
use super::problem::ApiProblem;
use super::resources::{MAX_LIMIT, list};
use crate::api::wire::{ExceptionItem, List};
use crate::backend::HostQuery;
use crate::model::{Exception, ExceptionStanding};

#[derive(Debug, Deserialize)]
pub(crate) struct ExceptionParams {
    standing: Option<String>,
}

pub(crate) async fn exceptions(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<ExceptionParams>, QueryRejection>,
) -> Result<Response, ApiProblem> {
    let Query(params) = params.map_err(|rejection| ApiProblem::malformed(rejection.body_text()))?;
    let wanted = match params.standing.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(word) => Some(
            ExceptionStanding::ALL
                .into_iter()
                .find(|s| s.as_str() == word)
                .ok_or_else(|| {
                    let known: Vec<&str> =
                        ExceptionStanding::ALL.iter().map(|s| s.as_str()).collect();
                    ApiProblem::malformed(format!(
                        "unknown standing `{}`; one of {}",
                        crate::text::fit(word, 40),
                        known.join(", ")
                    ))
                })?,
        ),
    };
    let now = state.backend.summary().0.now;
    let mut items = Vec::new();
    let mut query = HostQuery {
        limit: MAX_LIMIT,
        ..HostQuery::default()
    };
    let sequence = loop {
        let page = state.backend.hosts(&query);
        for host in &page.items {
            let Some(exception) = &host.exception else {
                continue;
            };
            let standing = exception.standing(now);
            if wanted.is_some_and(|w| w != standing) {
                continue;
            }
            items.push(ExceptionItem {
                host_id: host.id.to_string(),
                host_name: host.name.to_string(),
                ring_id: host.ring_id.to_string(),
                host_state: host.state,
                standing,
                exception: Exception::clone(exception),
            });
        }
        match (page.more, page.items.last()) {
            (true, Some(last)) => query.after = Some(last.id.to_string()),
            _ => break page.sequence,
        }
    };
    items.sort_by(|a, b| {
        a.exception
            .expires_at
            .cmp(&b.exception.expires_at)
            .then_with(|| a.host_id.cmp(&b.host_id))
    });
    Ok(list(
        &headers,
        List {
            items,
            next_cursor: None,
            sequence,
        },
    ))
}
