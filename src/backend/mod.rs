//! The Backend seam: a fleet that can be read (lists with the sequence they are valid
//! at), watched (change events) and acted on. The simulator is one; vendor adapters
//! are others. The API server exposes any Backend as patchdeck API v1.
//!
//! Auth, roles, idempotency and paging belong to the server; the fleet's own rules
//! (what an action does, the two-person rule on production rings, `If-Match`) belong to
//! the Backend, so that they are applied atomically with the change.
//!
//! The seam also holds what a console sends and learns across it, whatever carries it
//! (today the API client): an [`ActionCall`], its [`Outcome`], and the [`SyncUpdate`]s
//! and [`Connection`] state of keeping a fleet in sync.

pub mod aws_ssm;
pub mod log;
mod outcome;
mod sync;

pub use outcome::{Outcome, Refusal};
pub use sync::{Connection, GatewayHealth, HostsPage, SyncUpdate};

use tokio::sync::broadcast;

use crate::model::{
    Action, ActionPlan, Capabilities, Deployment, Event, ExceptionTerms, Host, HostState, Identity,
    Patch, Ring, Seq, Summary, Target, Verb,
};

/// Items valid at one point of the event stream: watch from `sequence` to stay current.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub sequence: Seq,
}

/// Filter and page of a host list. Hosts are ordered by id; `after` is the last id of
/// the previous page (keyset paging, stable while hosts change).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostQuery {
    pub ring: Option<String>,
    pub state: Option<HostState>,
    /// Failure code, e.g. "0x800f0922".
    pub error: Option<String>,
    /// Case-insensitive substring of name, model, site or group.
    pub text: Option<String>,
    pub after: Option<String>,
    pub limit: usize,
}

impl HostQuery {
    /// Whether `host` has the state and the failure code asked for (any, when not
    /// asked). Ring and text are each fleet's to match: they index them their own way.
    pub fn admits_state_and_failure(&self, host: &Host) -> bool {
        self.state.is_none_or(|s| s == host.state)
            && self.error.as_ref().is_none_or(|code| {
                host.failure
                    .as_ref()
                    .is_some_and(|f| f.code.eq_ignore_ascii_case(code))
            })
    }
}

/// A page of hosts; `more` says whether hosts follow the last one.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPage {
    pub items: Vec<Host>,
    pub more: bool,
    pub sequence: Seq,
}

/// An action asked of the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRequest {
    pub verb: Verb,
    pub target: Target,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    /// Emergency: the patch to expedite (or found by `cve`). Exclude: the one patch the
    /// exception covers (none: every patch).
    pub patch_id: Option<String>,
    pub cve: Option<String>,
    /// Emergency confirmation only: why the second approver expedites a patch that
    /// fixes no known exploited CVE (or a halted one that cannot be uninstalled).
    pub override_reason: Option<String>,
    /// Exclude and renew: the exception's owner, compensating control and expiry
    /// (boxed: most requests have none, and requests travel in every `Effect`).
    pub exception: Box<ExceptionTerms>,
    /// Act only if the target is still at this version (`If-Match`).
    pub if_match: Option<u64>,
}

impl ActionRequest {
    /// `verb` on `target`, with no reason, ticket, patch or version yet.
    pub fn new(verb: Verb, target: Target) -> ActionRequest {
        ActionRequest {
            verb,
            target,
            reason: None,
            ticket: None,
            patch_id: None,
            cve: None,
            override_reason: None,
            exception: Box::default(),
            if_match: None,
        }
    }
}

impl ActionRequest {
    /// The request with its reason and ticket trimmed; a blank one is none.
    pub fn trimmed(&self) -> ActionRequest {
        let trim = |text: &Option<String>| {
            text.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        ActionRequest {
            reason: trim(&self.reason),
            ticket: trim(&self.ticket),
            exception: Box::new(ExceptionTerms {
                owner: trim(&self.exception.owner),
                compensating_control: trim(&self.exception.compensating_control),
                expires: self.exception.expires,
            }),
            ..self.clone()
        }
    }

    /// A verb that needs a reason and a ticket is refused without them, saying which
    /// is missing (every fleet's rule: the audit trail must say why).
    pub fn require_reason_and_ticket(&self) -> Result<(), ActError> {
        if !self.verb.needs_reason() {
            return Ok(());
        }
        let missing = match (&self.reason, &self.ticket) {
            (None, None) => "both are missing",
            (None, Some(_)) => "the reason is missing",
            (Some(_), None) => "the ticket is missing",
            (Some(_), Some(_)) => return Ok(()),
        };
        Err(ActError::Invalid(format!(
            "{} needs a reason and a ticket: {missing}",
            self.verb.as_str()
        )))
    }
}

/// An action as a console sends it: the request and the idempotency key that every
/// retry of it carries, so that it is done at most once.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionCall {
    pub request: ActionRequest,
    pub idempotency_key: String,
}

/// Why an action was refused. Each maps to one problem `type` of the API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActError {
    #[error("{0} not found")]
    NotFound(String),
    /// The target changed since the operator looked.
    #[error("{target} changed: now at version {current}, you acted on {expected}")]
    VersionMismatch {
        target: String,
        expected: u64,
        current: u64,
    },
    /// Not possible in the target's state ("deployment is halted").
    #[error("{0}")]
    Conflict(String),
    /// Two-person rule: the second approval came from the first approver.
    #[error("{0}")]
    SecondApproverRequired(String),
    /// A field is missing or wrong ("reason is required for halt").
    #[error("{0}")]
    Invalid(String),
    /// The backend cannot do this at all (e.g. a vendor without rollback).
    #[error("{0}")]
    Unsupported(String),
}

/// Events since a sequence number were compacted away: list again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("events before {oldest} were compacted")]
pub struct Compacted {
    /// Oldest sequence number still replayable.
    pub oldest: Seq,
}

pub trait Backend: Send + Sync + 'static {
    fn capabilities(&self) -> Capabilities;
    /// Whether the fleet is a pure function of the actions applied to it, so that a
    /// gateway rebuilds it by replaying its journal (the simulator). A vendor fleet
    /// (SSM) is not: its state is read from the vendor and what it must keep is in its
    /// own records, so a journal entry is never applied to it twice.
    fn replays_journal(&self) -> bool {
        true
    }
    fn summary(&self) -> (Summary, Seq);
    fn rings(&self) -> Listing<Ring>;
    fn ring(&self, id: &str) -> Option<Ring>;
    fn deployments(&self) -> Listing<Deployment>;
    fn deployment(&self, id: &str) -> Option<Deployment>;
    fn patches(&self) -> Listing<Patch>;
    /// The actions taken, oldest first; a backend may list only the last ones (the
    /// simulator lists its last `sim::ACTIONS_LISTED`).
    fn actions(&self) -> Listing<Action>;
    fn hosts(&self, query: &HostQuery) -> HostPage;
    /// One host with its lifecycle history.
    fn host(&self, id: &str) -> Option<Host>;
    /// Current sequence number (of the last event).
    fn sequence(&self) -> Seq;
    /// Events after `since`, in order; `Compacted` if some were dropped.
    fn events_since(&self, since: Seq) -> Result<Vec<Event>, Compacted>;
    /// At most `limit` events after `since`, in order: one chunk of a replay (the API
    /// server reads a stream's history this way, chunk after chunk). `Compacted` as
    /// for `events_since`. Override it where copying the whole history is costly.
    fn events_page(&self, since: Seq, limit: usize) -> Result<Vec<Event>, Compacted> {
        let mut events = self.events_since(since)?;
        events.truncate(limit);
        Ok(events)
    }
    /// Live events from now on. Subscribe, then call `events_since` to close the gap.
    fn subscribe(&self) -> broadcast::Receiver<Event>;
    /// Act. Returns the recorded action (the audit entry), which may be
    /// `awaiting-second-approver` for a first approval on a production ring.
    fn act(&self, request: ActionRequest, actor: &Identity) -> Result<Action, ActError>;
    /// What `act` would do with `request` now, without doing anything (a dry run):
    /// refused as the action would be, except that a second approval by the same person
    /// is a plan that says so.
    fn plan(&self, request: &ActionRequest, actor: &Identity) -> Result<ActionPlan, ActError> {
        let _ = (request, actor);
        Err(ActError::Unsupported(
            "this fleet cannot say what an action would do (no dry run)".into(),
        ))
    }
}
