//! Dry runs (`?dry_run=true` on any action): the plan the Backend would carry out,
//! answered without acting.

use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::actions::{Call, action_request, allowed_verb, parse_body, parse_if_match, validate};
use super::problem::ApiProblem;

/// `?dry_run=true`: the answer is the plan, and nothing is done.
pub(super) fn asked(uri: &Uri) -> Result<bool, ApiProblem> {
    let mut dry = false;
    for pair in uri.query().unwrap_or_default().split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, "true"));
        if name != "dry_run" {
            continue;
        }
        dry = match value {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(ApiProblem::malformed(
                    "dry_run must be true or false (true answers with the plan and does nothing)",
                ));
            }
        };
    }
    Ok(dry)
}

/// A dry run: the role and the body are checked as for the action, `If-Match` may be
/// absent (and is checked when present), a missing reason or ticket is a note of the
/// plan; the answer is the plan. No journal, no action, no event, no audit entry, and
/// the `Idempotency-Key` (if any) is neither looked at nor consumed.
pub(super) fn plan(state: &AppState, call: &Call) -> Result<Response, ApiProblem> {
    let verb = allowed_verb(call)?;
    let body = parse_body(&call.body)?;
    validate(verb, &body, true)?;
    let request = action_request(state, verb, call, &body, parse_if_match(&call.headers)?)?;
    let plan = state
        .backend
        .plan(&request, &call.identity)
        .map_err(ApiProblem::from)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(plan)).into_response())
}
