//! The terms of an exclude or a renew in an action body (owner, compensating control,
//! expires): refused on other verbs and where renew cannot change them, and the expiry
//! resolved on the fleet clock within the server's cap, so that the fleet and its
//! journal get a time.

use super::AppState;
use super::actions::trimmed;
use super::problem::ApiProblem;
use crate::api::wire::ActionBody;
use crate::model::{Expiry, Verb};

/// Longest accepted term, in characters (as a reason).
const MAX_TERM_CHARS: usize = 2000;

/// Terms only where the verb takes them, of sane lengths.
pub(super) fn check(verb: Verb, body: &ActionBody) -> Result<(), ApiProblem> {
    let terms = [
        ("owner", &body.owner),
        ("compensating_control", &body.compensating_control),
        ("expires", &body.expires),
    ];
    for (name, value) in terms {
        if value.is_some() && !matches!(verb, Verb::Exclude | Verb::Renew) {
            return Err(ApiProblem::invalid(format!(
                "`{name}` is for exclude and renew, not {}",
                verb.as_str()
            )));
        }
        if value
            .as_deref()
            .is_some_and(|v| v.chars().count() > MAX_TERM_CHARS)
        {
            return Err(ApiProblem::invalid(format!(
                "{name} is longer than {MAX_TERM_CHARS} characters"
            )));
        }
    }
    if verb == Verb::Renew && (body.owner.is_some() || body.compensating_control.is_some()) {
        return Err(ApiProblem::invalid(
            "renew takes a new expiry (with its reason and ticket); to change the owner or the control, revoke and exclude again",
        ));
    }
    Ok(())
}

/// The expiry asked for, as the time it ends at on the fleet clock now; refused when it
/// does not read, is not ahead, or lies beyond the cap (saying the cap).
pub(super) fn expiry(
    state: &AppState,
    verb: Verb,
    body: &ActionBody,
) -> Result<Option<Expiry>, ApiProblem> {
    let Some(text) = trimmed(&body.expires) else {
        return Ok(None);
    };
    let expiry = Expiry::parse(&text).map_err(ApiProblem::invalid)?;
    let now = state.backend.summary().0.now;
    let at = state
        .exceptions
        .resolve(expiry, now)
        .map_err(|why| ApiProblem::invalid(format!("{}: {why}", verb.as_str())))?;
    Ok(Some(Expiry::At(at)))
}
