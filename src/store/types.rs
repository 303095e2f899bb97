//! What the store keeps: plain records of model types, serialised as JSON where that is
//! simplest. Nothing here knows the API or the simulator; the gateway converts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Approval, Exception, GateState, Identity, RingState, Seq, Target, Version};

/// One attempt at an action, accepted or refused, as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When the gateway answered (wall clock, UTC).
    pub at: DateTime<Utc>,
    /// The identity that asked ("" when the token was not recognised).
    pub identity: String,
    /// The verb as asked, which may be one the target does not answer to.
    pub verb: String,
    pub target: Target,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub idempotency_key: Option<String>,
    /// HTTP status of the answer.
    pub status: u16,
    /// Problem `type` of a refusal ("version-mismatch"), none when accepted.
    pub problem_type: Option<String>,
    /// The action the fleet recorded, when it recorded one.
    pub action_id: Option<String>,
    /// Which gateway answered (its holder id), for several gateways on one database.
    pub gateway: Option<String>,
}

/// An audit entry with its place in the trail (1 first, increasing).
#[derive(Debug, Clone, PartialEq)]
pub struct Audited {
    pub seq: u64,
    pub entry: AuditEntry,
}

/// The first half of a two-person request, waiting for a second, different approver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// Stable id of what is being approved, e.g. "deployment/dep-0002/prod" or
    /// "fleet/emergency"; one pending request per id.
    pub id: String,
    pub target: Target,
    pub first_approver: Identity,
    pub requested_at: DateTime<Utc>,
    /// After this the first approval no longer counts.
    pub expires_at: DateTime<Utc>,
    /// The request as the first approver sent it (JSON the gateway can act on).
    pub request: serde_json::Value,
}

/// A stored answer to a request made under an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentAnswer {
    pub status: u16,
    pub content_type: String,
    pub etag: Option<String>,
    pub body: Vec<u8>,
}

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new and now ours: act, then store the answer (or release the key if
    /// nothing was done).
    Claimed,
    /// The same request was answered before: send this answer again, do not act.
    Replay(IdempotentAnswer),
    /// The same request is being acted on right now (by this or another gateway), or
    /// its gateway stopped between acting and answering: do not act.
    InFlight { claimed_by: String },
    /// The key was used for a different request.
    Mismatch,
}

/// A documented exception: this host must not be patched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostException {
    pub host_id: String,
    pub exception: Exception,
}

/// The rollout's own state of one ring: what a vendor without rings does not keep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RingRollout {
    pub ring_id: String,
    pub state: RingState,
    pub gate: GateState,
    /// Why the gate decided as it did ("success 97% >= 95%, soak 24h met").
    #[serde(default)]
    pub gate_decision: Option<String>,
    #[serde(default)]
    pub soak_started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub halt_reason: Option<String>,
    #[serde(default)]
    pub approvals: Vec<Approval>,
}

/// A ring's rollout state with the version it is stored at (compare-and-set).
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: Version,
}

/// Which events are still in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventBounds {
    /// Oldest sequence number a caller can still resume from (events after it are
    /// kept): every event with a smaller sequence number was compacted.
    pub oldest_retained: Seq,
    /// Sequence number of the last event stored (0 before any).
    pub last: Seq,
}

/// Events after the asked sequence number were compacted away: list again (HTTP 410).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("events before {oldest} were compacted")]
pub struct EventsCompacted {
    /// Oldest sequence number still replayable.
    pub oldest: Seq,
}

/// A lease: one holder at a time, until it stops renewing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub expires_at: DateTime<Utc>,
    /// Increases each time the lease passes to another holder (a fencing token).
    pub term: u64,
}

/// What asking for a lease gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// Ours until `expires_at`: renew before then.
    Held(Lease),
    /// Someone else's.
    HeldBy(Lease),
}

impl LeaseOutcome {
    pub fn is_held(&self) -> bool {
        matches!(self, LeaseOutcome::Held(_))
    }

    pub fn lease(&self) -> &Lease {
        match self {
            LeaseOutcome::Held(lease) | LeaseOutcome::HeldBy(lease) => lease,
        }
    }
}

/// An accepted action as the simulator needs it to act again: replaying the journal
/// against the seed and the clock rebuilds the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayRequest {
    pub verb: crate::model::Verb,
    pub target: Target,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub patch_id: Option<String>,
    pub cve: Option<String>,
    /// Emergency confirmations: the second approver's override (absent in older
    /// journals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
    /// Exclude and renew: the exception's terms, its expiry as a time (absent in older
    /// journals).
    #[serde(
        default,
        skip_serializing_if = "crate::model::ExceptionTerms::is_empty"
    )]
    pub exception: crate::model::ExceptionTerms,
    pub if_match: Option<u64>,
}

/// One entry of the replay journal: the fleet clock moves to `fleet_time` (never back),
/// then the request, if any, is acted on. An entry without a request is a clock
/// checkpoint. Every gateway applies the journal in order, so all rebuild one fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The fleet clock when the action was taken.
    pub fleet_time: DateTime<Utc>,
    pub actor: Identity,
    /// None: a clock checkpoint only.
    pub request: Option<ReplayRequest>,
    /// The action the fleet recorded.
    pub action_id: Option<String>,
    pub idempotency_key: Option<String>,
}

/// A journal entry with its place (1 first, increasing).
#[derive(Debug, Clone, PartialEq)]
pub struct Journaled {
    pub seq: u64,
    pub entry: JournalEntry,
}
