//! What became of one action sent: made once from the answer (by the API client), then
//! matched on by the app and recorded in the audit log. No strings to search.

use crate::model::{Action, ActionState};

/// A refusal as the server explained it (an RFC 9457 problem: type, title, detail).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The problem `type` URI as sent ("urn:patchdeck:problem:conflict"); may be one
    /// this console does not know.
    pub problem_type: String,
    pub title: String,
    pub detail: Option<String>,
}

/// The outcome of one action request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The server recorded the action. Its state says how far it got: it may await a
    /// second approver, be running, or have failed on the fleet.
    Succeeded(Action),
    /// The server refused it, with a problem (409 conflict, 422 invalid, 404...).
    Refused { status: u16, problem: Refusal },
    /// 401 or 403: the token or its role does not allow this.
    Forbidden { status: u16, reason: String },
    /// 412: the target changed since the operator looked; nothing was done.
    VersionConflict { current_version: Option<u64> },
    /// No answer (timeout, connection lost) even after retries with the same key: the
    /// action may or may not have been done.
    Unanswered(String),
    /// Anything else: still busy after retries (429, 503), an answer that could not be
    /// read, a status without a problem, a request that could not be made.
    Failed { status: Option<u16>, reason: String },
}

impl Outcome {
    /// The action the server recorded, if it recorded one.
    pub fn action(&self) -> Option<&Action> {
        match self {
            Outcome::Succeeded(action) => Some(action),
            _ => None,
        }
    }

    /// Recorded and not failed on the fleet (it may still await approval or run).
    pub fn went_through(&self) -> bool {
        matches!(self, Outcome::Succeeded(action) if action.state != ActionState::Failed)
    }

    /// Recorded and finished successfully.
    pub fn succeeded_fully(&self) -> bool {
        matches!(self, Outcome::Succeeded(action) if action.state == ActionState::Succeeded)
    }

    /// The HTTP status of a refusal (none for a recorded action or no answer).
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Refused { status, .. } | Outcome::Forbidden { status, .. } => Some(*status),
            Outcome::VersionConflict { .. } => Some(412),
            Outcome::Failed { status, .. } => *status,
            Outcome::Succeeded(_) | Outcome::Unanswered(_) => None,
        }
    }
}
