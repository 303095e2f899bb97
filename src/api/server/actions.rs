//! `POST` actions: role check, body and `If-Match` validation, `Idempotency-Key`, and
//! the mapping of the backend's refusals to problem types. The fleet's own rules (the
//! two-person rule, the version check) are applied by the Backend, atomically.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};

use std::sync::Arc;

use super::gateway::Gateway;
use super::idempotency::{self, MAX_KEY_LEN, Stored, valid_key};
use super::problem::ApiProblem;
use super::{AppState, audit};
use crate::api::wire::{ActionBody, IDEMPOTENCY_KEY, ProblemType};
use crate::backend::ActionRequest;
use crate::model::{ExceptionTerms, Identity, Target, TargetKind, Verb};
use crate::store::{AuditEntry, Claim, Store};

/// Target id of `POST /v1/emergency` (the whole fleet).
pub const FLEET_TARGET_ID: &str = "fleet";

/// Longest accepted reason and ticket, in characters.
const MAX_REASON_CHARS: usize = 2000;
const MAX_TICKET_CHARS: usize = 200;
/// Longest accepted patch id or CVE id.
const MAX_ID_CHARS: usize = 100;

/// The verbs each kind of target answers to, from the verb table.
pub(crate) fn verbs_for(kind: TargetKind) -> Vec<Verb> {
    Verb::on(kind).collect()
}

fn collection(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Deployment => "deployments",
        TargetKind::Ring => "rings",
        TargetKind::Host => "hosts",
        TargetKind::Fleet => "fleet",
    }
}

/// The parts of an action request common to every route.
pub(super) struct Call {
    pub(super) identity: Identity,
    pub(super) kind: TargetKind,
    pub(super) id: String,
    pub(super) verb_word: String,
    pub(super) method: Method,
    pub(super) uri: Uri,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

pub(crate) async fn on_deployment(
    state: State<AppState>,
    identity: Extension<Identity>,
    path: Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    on_target(
        TargetKind::Deployment,
        state,
        identity,
        path,
        method,
        uri,
        headers,
        body,
    )
    .await
}

pub(crate) async fn on_ring(
    state: State<AppState>,
    identity: Extension<Identity>,
    path: Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    on_target(
        TargetKind::Ring,
        state,
        identity,
        path,
        method,
        uri,
        headers,
        body,
    )
    .await
}

pub(crate) async fn on_host(
    state: State<AppState>,
    identity: Extension<Identity>,
    path: Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    on_target(
        TargetKind::Host,
        state,
        identity,
        path,
        method,
        uri,
        headers,
        body,
    )
    .await
}

pub(crate) async fn emergency(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = Call {
        identity,
        kind: TargetKind::Fleet,
        id: FLEET_TARGET_ID.to_string(),
        verb_word: Verb::Emergency.as_str().to_string(),
        method,
        uri,
        headers,
        body,
    };
    act(&state, call)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

#[allow(clippy::too_many_arguments)]
async fn on_target(
    kind: TargetKind,
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path((id, verb_word)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = Call {
        identity,
        kind,
        id,
        verb_word,
        method,
        uri,
        headers,
        body,
    };
    act(&state, call)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// Decides and answers one action; every attempt (refusals too) goes to the audit
/// trail (the store's, or the one in memory) before the answer does.
async fn act(state: &AppState, call: Call) -> Result<Response, ApiProblem> {
    if super::dry_run::asked(&call.uri)? {
        return super::dry_run::plan(state, &call);
    }
    let decided = decide(state, &call).await;
    {
        let (status, problem_type, action_id) = match &decided {
            Ok((stored, _)) => answer_fields(stored.status.as_u16(), &stored.body),
            Err(problem) => (
                problem.status().as_u16(),
                Some(problem.problem.problem_type.clone()),
                None,
            ),
        };
        let body: ActionBody = parse_body(&call.body).unwrap_or_default();
        audit::record(
            state,
            AuditEntry {
                at: chrono::Utc::now(),
                identity: call.identity.name.clone(),
                verb: call.verb_word.clone(),
                target: Target {
                    kind: call.kind,
                    id: call.id.clone(),
                },
                reason: trimmed(&body.reason),
                ticket: trimmed(&body.ticket),
                idempotency_key: idempotency_key(&call.headers).ok().flatten(),
                status,
                problem_type,
                action_id,
                gateway: None,
            },
        )
        .await;
    }
    decided.map(|(stored, replayed)| stored.response(replayed))
}

/// Status, problem type and action id of an answer's body.
fn answer_fields(status: u16, body: &[u8]) -> (u16, Option<String>, Option<String>) {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_string);
    if status >= 400 {
        (status, text("type"), None)
    } else {
        (status, None, text("id"))
    }
}

/// A request refused before it reached a handler (401), audited with what its path says.
pub(crate) async fn audit_unauthenticated(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    problem: &ApiProblem,
) {
    if method != Method::POST {
        return;
    }
    let parts: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let (kind, id, verb) = match parts.as_slice() {
        ["v1", "emergency"] => (TargetKind::Fleet, FLEET_TARGET_ID, "emergency"),
        ["v1", collection, id, verb] => {
            let kind = match *collection {
                "deployments" => TargetKind::Deployment,
                "rings" => TargetKind::Ring,
                "hosts" => TargetKind::Host,
                _ => return,
            };
            (kind, *id, *verb)
        }
        _ => return,
    };
    audit::record(
        state,
        AuditEntry {
            at: chrono::Utc::now(),
            identity: String::new(),
            verb: verb.to_string(),
            target: Target {
                kind,
                id: id.to_string(),
            },
            reason: None,
            ticket: None,
            idempotency_key: None,
            status: problem.status().as_u16(),
            problem_type: Some(problem.problem.problem_type.clone()),
            action_id: None,
            gateway: None,
        },
    )
    .await;
}

/// The verb of `call` if its target answers to it and the caller's role may use it.
pub(super) fn allowed_verb(call: &Call) -> Result<Verb, ApiProblem> {
    let verb = Verb::parse(&call.verb_word)
        .filter(|verb| verbs_for(call.kind).contains(verb))
        .ok_or_else(|| {
            let known: Vec<&str> = verbs_for(call.kind).iter().map(|v| v.as_str()).collect();
            ApiProblem::not_found(format!(
                "no action `{}` on {}; one of {}",
                call.verb_word,
                collection(call.kind),
                known.join(", ")
            ))
        })?;
    let needed = verb.spec().required_role(call.kind);
    if call.identity.role < needed {
        return Err(ApiProblem::forbidden(
            needed,
            verb.as_str(),
            &describe(call.kind, &call.id),
        ));
    }
    Ok(verb)
}

/// The request of a call whose body `validate` passed. An exception's expiry given in
/// days becomes the time it ends at on the fleet clock now, within the server's cap:
/// what the fleet (and the journal) gets is that time.
pub(super) fn action_request(
    state: &AppState,
    verb: Verb,
    call: &Call,
    body: &ActionBody,
    if_match: Option<u64>,
) -> Result<ActionRequest, ApiProblem> {
    let expires = super::exception_terms::expiry(state, verb, body)?;
    Ok(ActionRequest {
        verb,
        target: Target {
            kind: call.kind,
            id: call.id.clone(),
        },
        reason: trimmed(&body.reason),
        ticket: trimmed(&body.ticket),
        patch_id: trimmed(&body.patch_id),
        cve: trimmed(&body.cve),
        override_reason: trimmed(&body.override_reason),
        exception: Box::new(ExceptionTerms {
            owner: trimmed(&body.owner),
            compensating_control: trimmed(&body.compensating_control),
            expires,
        }),
        if_match,
    })
}

/// The answer to one action and whether it is a replay of a stored one.
async fn decide(state: &AppState, call: &Call) -> Result<(Stored, bool), ApiProblem> {
    let verb = allowed_verb(call)?;
    let body = parse_body(&call.body)?;
    validate(verb, &body, false)?;
    let if_match = parse_if_match(&call.headers)?;
    if verb.is_destructive() && call.headers.get(header::IF_MATCH).is_none() {
        return Err(
            ApiProblem::new(ProblemType::PreconditionRequired, "If-Match required").detail(
                format!(
                    "{} needs `If-Match` with the version you looked at (the ETag of {}), or `*`",
                    verb.as_str(),
                    describe(call.kind, &call.id)
                ),
            ),
        );
    }
    let key = idempotency_key(&call.headers)?;

    let request = action_request(state, verb, call, &body, if_match)?;

    let Some(key) = key else {
        return match &state.gateway {
            None => Ok((
                perform(state, request, &call.identity, String::new()),
                false,
            )),
            Some(gateway) => {
                let answer = perform_durably(
                    gateway.clone(),
                    request,
                    call.identity.clone(),
                    None,
                    String::new(),
                )
                .await?;
                Ok((answer, false))
            }
        };
    };
    // Same method, path, If-Match and body (in canonical form) = the same request;
    // its SHA-256 is kept, not the request.
    let fingerprint = idempotency::digest(&format!(
        "{} {}\nif-match: {:?}\n{}",
        call.method,
        call.uri.path(),
        if_match,
        serde_json::to_string(&body).unwrap_or_default()
    ));
    let reused = || {
        ApiProblem::new(
            ProblemType::IdempotencyKeyReused,
            "Idempotency-Key reused for a different request",
        )
        .detail(format!(
            "the key `{key}` was first used for another request; use a new key for a new request"
        ))
    };
    // Requests with one key wait for each other here, on this gateway.
    let slot = state
        .idempotency
        .slot(&call.identity.name, &key, std::time::Instant::now())?;
    let mut stored = slot.lock_owned().await;
    if let Some(previous) = stored.as_ref() {
        if previous.fingerprint == fingerprint {
            return Ok((previous.clone(), true));
        }
        return Err(reused());
    }
    let Some(gateway) = &state.gateway else {
        // No await from here on: once the backend has acted, the answer is stored even
        // if the client has gone away, so its retry gets the answer instead of acting
        // again.
        let answer = perform(state, request, &call.identity, fingerprint);
        *stored = Some(answer.clone());
        return Ok((answer, false));
    };
    // Across gateways (and restarts), the store says who acts on a key.
    let claim = gateway
        .store()
        .claim_key(
            &call.identity.name,
            &key,
            &fingerprint,
            gateway.id(),
            chrono::Utc::now(),
        )
        .await
        .map_err(|error| ApiProblem::store_unavailable(&error))?;
    match claim {
        Claim::Replay(answer) => {
            let answer = Stored::from_answer(fingerprint, answer);
            *stored = Some(answer.clone());
            return Ok((answer, true));
        }
        Claim::Mismatch => return Err(reused()),
        Claim::InFlight { claimed_by } => {
            let mut problem = ApiProblem::new(ProblemType::Conflict, "Request in flight")
                .detail(format!(
                    "a request with Idempotency-Key `{key}` is being acted on by gateway `{claimed_by}`; retry later for its answer"
                ));
            problem.retry_after = Some(1);
            return Err(problem);
        }
        Claim::Claimed => {}
    }
    // Acting and storing the answer go on even if the client goes away, so that its
    // retry gets the answer instead of acting again.
    let gateway = gateway.clone();
    let identity = call.identity.clone();
    let task = tokio::spawn(async move {
        let performed = perform_durably(
            gateway.clone(),
            request,
            identity.clone(),
            Some(key.clone()),
            fingerprint,
        )
        .await;
        match &performed {
            Ok(answer) => {
                let kept = gateway
                    .store()
                    .answer_key(
                        &identity.name,
                        &key,
                        &answer.to_answer(),
                        chrono::Utc::now(),
                    )
                    .await;
                if kept.is_ok() {
                    *stored = Some(answer.clone());
                }
            }
            // Nothing was done: the key may be used again.
            Err(_) => {
                let _ = gateway.store().release_key(&identity.name, &key).await;
            }
        }
        performed
    });
    let answer = task.await.map_err(|_| {
        ApiProblem::new(ProblemType::Internal, "Internal error").detail("the action task failed")
    })??;
    Ok((answer, false))
}

/// Journal, act, keep the action: the journal first, so that nothing is done that is
/// not on disk; a journal the store refuses is a 503 and nothing done.
async fn perform_durably(
    gateway: Arc<Gateway>,
    request: ActionRequest,
    identity: Identity,
    key: Option<String>,
    fingerprint: String,
) -> Result<Stored, ApiProblem> {
    let result = gateway
        .act(request, &identity, key.as_deref())
        .await
        .map_err(|error| ApiProblem::store_unavailable(&error))?;
    if let Ok(action) = &result {
        gateway.put_action(action).await;
    }
    Ok(Stored::from_result(fingerprint, &result))
}

/// Asks the backend; the answer is the recorded Action or a problem, ready to be kept.
fn perform(
    state: &AppState,
    request: ActionRequest,
    identity: &Identity,
    fingerprint: String,
) -> Stored {
    Stored::from_result(fingerprint, &state.backend.act(request, identity))
}

/// The target in words: "deployment `dep-0002`", "the fleet".
fn describe(kind: TargetKind, id: &str) -> String {
    match kind {
        TargetKind::Deployment => format!("deployment `{id}`"),
        TargetKind::Ring => format!("ring `{id}`"),
        TargetKind::Host => format!("host `{id}`"),
        TargetKind::Fleet => "the fleet".to_string(),
    }
}

/// An empty body is an empty `ActionBody`; anything else must be a JSON object whose
/// members are known fields holding strings (or null). Details are short and never
/// echo more than a field's name, cut and cleaned.
pub(super) fn parse_body(body: &Bytes) -> Result<ActionBody, ApiProblem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ActionBody::default());
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|error| {
        ApiProblem::malformed(format!(
            "the body is not JSON (line {}, column {})",
            error.line(),
            error.column()
        ))
    })?;
    let serde_json::Value::Object(members) = &value else {
        return Err(ApiProblem::malformed(format!(
            "the body must be a JSON object with {}",
            ActionBody::FIELDS.join(", ")
        )));
    };
    for (name, member) in members {
        if !ActionBody::FIELDS.contains(&name.as_str()) {
            return Err(ApiProblem::invalid(format!(
                "unknown field `{}`; an action body has {}",
                crate::text::fit(name, 40),
                ActionBody::FIELDS.join(", ")
            )));
        }
        if !(member.is_string() || member.is_null()) {
            return Err(ApiProblem::invalid(format!("`{name}` must be a string")));
        }
    }
    serde_json::from_value(value)
        .map_err(|_| ApiProblem::malformed("the body is not an action body"))
}

pub(super) fn trimmed(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// Reason and ticket for the verbs that need them (not on a dry run: the plan notes
/// them), sane lengths, and what to expedite.
pub(super) fn validate(verb: Verb, body: &ActionBody, dry_run: bool) -> Result<(), ApiProblem> {
    if verb.needs_reason() && !dry_run {
        let missing: Vec<&str> = [("reason", &body.reason), ("ticket", &body.ticket)]
            .into_iter()
            .filter(|(_, value)| trimmed(value).is_none())
            .map(|(name, _)| name)
            .collect();
        if !missing.is_empty() {
            return Err(ApiProblem::invalid(format!(
                "{} needs a reason and a ticket; missing: {}",
                verb.as_str(),
                missing.join(", ")
            )));
        }
    }
    let too_long = |value: &Option<String>, max: usize| {
        value.as_deref().is_some_and(|v| v.chars().count() > max)
    };
    if too_long(&body.reason, MAX_REASON_CHARS) {
        return Err(ApiProblem::invalid(format!(
            "reason is longer than {MAX_REASON_CHARS} characters"
        )));
    }
    if too_long(&body.ticket, MAX_TICKET_CHARS) {
        return Err(ApiProblem::invalid(format!(
            "ticket is longer than {MAX_TICKET_CHARS} characters"
        )));
    }
    for (name, value) in body.texts() {
        if let Some((at, c, why)) = value.and_then(crate::text::first_unsafe) {
            return Err(ApiProblem::invalid(format!(
                "`{name}` has {} (U+{:04X}) at character {at}; remove it and send again",
                why.words(),
                u32::from(c)
            )));
        }
    }
    for (name, value) in [("patch_id", &body.patch_id), ("cve", &body.cve)] {
        if too_long(value, MAX_ID_CHARS) {
            return Err(ApiProblem::invalid(format!(
                "{name} is longer than {MAX_ID_CHARS} characters"
            )));
        }
    }
    super::exception_terms::check(verb, body)?;
    if verb == Verb::Emergency && trimmed(&body.patch_id).is_none() && trimmed(&body.cve).is_none()
    {
        return Err(ApiProblem::invalid(
            "emergency needs the patch to expedite: patch_id or cve",
        ));
    }
    Ok(())
}

/// `If-Match: "12"` (or a bare `12`); `*` means any version.
pub(super) fn parse_if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiProblem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    let unquoted = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    unquoted.parse::<u64>().map(Some).map_err(|_| {
        ApiProblem::malformed(
            "If-Match must be one version, as the ETag it came from (\"12\") or a bare number",
        )
    })
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiProblem> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if valid_key(key) => Ok(Some(key.to_string())),
        _ => Err(ApiProblem::malformed(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_if_match(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_MATCH, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn if_match_takes_quoted_or_bare_versions() {
        assert_eq!(parse_if_match(&HeaderMap::new()).unwrap(), None);
        assert_eq!(parse_if_match(&with_if_match("\"12\"")).unwrap(), Some(12));
        assert_eq!(parse_if_match(&with_if_match("12")).unwrap(), Some(12));
        assert_eq!(parse_if_match(&with_if_match("*")).unwrap(), None);
        assert!(parse_if_match(&with_if_match("\"1\", \"2\"")).is_err());
        assert!(parse_if_match(&with_if_match("W/\"1\"")).is_err());
    }

    #[test]
    fn the_known_fields_are_the_action_body_s_fields() {
        let full = ActionBody {
            reason: Some("r".into()),
            ticket: Some("t".into()),
            patch_id: Some("p".into()),
            cve: Some("c".into()),
            override_reason: Some("o".into()),
            owner: Some("w".into()),
            compensating_control: Some("k".into()),
            expires: Some("30".into()),
        };
        let value = serde_json::to_value(&full).unwrap();
        let names: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut known = ActionBody::FIELDS.to_vec();
        known.sort_unstable();
        assert_eq!(names, known);
        assert_eq!(full.texts().map(|(name, _)| name), ActionBody::FIELDS);
    }

    #[test]
    fn reason_and_ticket_are_required_where_the_verb_needs_them() {
        let blank = ActionBody {
            reason: Some("  ".into()),
            ..ActionBody::default()
        };
        let problem = validate(Verb::Halt, &blank, false).unwrap_err();
        assert!(validate(Verb::Halt, &blank, true).is_ok());
        assert_eq!(
            problem.problem.detail.as_deref(),
            Some("halt needs a reason and a ticket; missing: reason, ticket")
        );
        assert!(validate(Verb::Pause, &ActionBody::default(), false).is_ok());
        let full = ActionBody {
            reason: Some("bad patch".into()),
            ticket: Some("CHG-1".into()),
            ..ActionBody::default()
        };
        assert!(validate(Verb::Rollback, &full, false).is_ok());
        assert!(validate(Verb::Emergency, &full, false).is_err());
    }
}
