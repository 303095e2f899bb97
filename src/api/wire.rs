//! Wire types of patchdeck API v1 that are not domain resources: list envelopes,
//! action bodies and RFC 9457 problems. Shared by the server and the client.

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use crate::backend::ActionRequest;
use crate::model::{Seq, Target};

/// Every list: `{"items": [...], "next_cursor": "..." | null, "sequence": N}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct List<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// Sequence number the items are valid at: watch events from here.
    pub sequence: Seq,
}

/// One attempt at an action in `GET /v1/audit`, accepted or refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Place in the trail (1 first, increasing): the cursor pages by it.
    pub seq: u64,
    /// When the server answered (wall clock, UTC).
    pub at: DateTime<Utc>,
    /// Who asked (the token's identity); null when the token was missing or unknown.
    pub identity: Option<String>,
    /// The verb as asked, which may be one the target does not answer to.
    pub verb: String,
    pub target: Target,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub idempotency_key: Option<String>,
    /// HTTP status of the answer.
    pub status: u16,
    /// Problem `type` URI of a refusal; null when accepted.
    pub problem_type: Option<String>,
    /// The action the fleet recorded, when it recorded one.
    pub action_id: Option<String>,
    /// Which gateway answered (several gateways on one store); null without a store.
    pub gateway: Option<String>,
}

/// Body of every `POST` action. `reason` and `ticket` are required for halt, rollback,
/// exclude, renew, revoke and emergency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// `POST /v1/emergency` only: the patch to expedite...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_id: Option<String>,
    /// ...or the exploited CVE it fixes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cve: Option<String>,
    /// `POST /v1/emergency`, the second approver's confirmation only: why a patch that
    /// fixes no known exploited CVE (or a halted one that cannot be uninstalled) is
    /// expedited anyway. Recorded in the action and the emergency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
    /// Exclude: who owns the exception, a person or a team (default: the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Exclude: what protects the host meanwhile (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensating_control: Option<String>,
    /// Exclude and renew: when the exception ends (required): days ("30", "30d"), a
    /// date ("2027-01-15", 00:00 UTC) or an RFC 3339 time, within the server's cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl ActionBody {
    /// The members an action body may have; any other is refused.
    pub const FIELDS: [&'static str; 8] = [
        "reason",
        "ticket",
        "patch_id",
        "cve",
        "override_reason",
        "owner",
        "compensating_control",
        "expires",
    ];

    /// Every text member with its name, for checks that apply to all of them.
    pub fn texts(&self) -> [(&'static str, Option<&str>); 8] {
        let [
            reason,
            ticket,
            patch_id,
            cve,
            override_reason,
            owner,
            compensating_control,
            expires,
        ] = Self::FIELDS;
        [
            (reason, self.reason.as_deref()),
            (ticket, self.ticket.as_deref()),
            (patch_id, self.patch_id.as_deref()),
            (cve, self.cve.as_deref()),
            (override_reason, self.override_reason.as_deref()),
            (owner, self.owner.as_deref()),
            (compensating_control, self.compensating_control.as_deref()),
            (expires, self.expires.as_deref()),
        ]
    }
}

impl From<&ActionRequest> for ActionBody {
    fn from(request: &ActionRequest) -> Self {
        ActionBody {
            reason: request.reason.clone(),
            ticket: request.ticket.clone(),
            patch_id: request.patch_id.clone(),
            cve: request.cve.clone(),
            override_reason: request.override_reason.clone(),
            owner: request.exception.owner.clone(),
            compensating_control: request.exception.compensating_control.clone(),
            expires: request.exception.expires.map(|e| e.to_text()),
        }
    }
}

/// Stable problem types (the `type` member of a problem+json body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    Malformed,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    SecondApproverRequired,
    VersionMismatch,
    Invalid,
    IdempotencyKeyReused,
    Compacted,
    PreconditionRequired,
    TooLarge,
    RateLimited,
    Unavailable,
    Unsupported,
    Internal,
}

impl ProblemType {
    pub const ALL: [ProblemType; 16] = [
        ProblemType::Malformed,
        ProblemType::Unauthorized,
        ProblemType::Forbidden,
        ProblemType::NotFound,
        ProblemType::Conflict,
        ProblemType::SecondApproverRequired,
        ProblemType::VersionMismatch,
        ProblemType::Invalid,
        ProblemType::IdempotencyKeyReused,
        ProblemType::Compacted,
        ProblemType::PreconditionRequired,
        ProblemType::TooLarge,
        ProblemType::RateLimited,
        ProblemType::Unavailable,
        ProblemType::Unsupported,
        ProblemType::Internal,
    ];

    /// The `type` URI.
    pub fn uri(self) -> &'static str {
        match self {
            ProblemType::Malformed => "urn:patchdeck:problem:malformed-request",
            ProblemType::Unauthorized => "urn:patchdeck:problem:unauthorized",
            ProblemType::Forbidden => "urn:patchdeck:problem:forbidden",
            ProblemType::NotFound => "urn:patchdeck:problem:not-found",
            ProblemType::Conflict => "urn:patchdeck:problem:conflict",
            ProblemType::SecondApproverRequired => "urn:patchdeck:problem:second-approver-required",
            ProblemType::VersionMismatch => "urn:patchdeck:problem:version-mismatch",
            ProblemType::Invalid => "urn:patchdeck:problem:invalid",
            ProblemType::IdempotencyKeyReused => "urn:patchdeck:problem:idempotency-key-reused",
            ProblemType::Compacted => "urn:patchdeck:problem:events-compacted",
            ProblemType::PreconditionRequired => "urn:patchdeck:problem:precondition-required",
            ProblemType::TooLarge => "urn:patchdeck:problem:too-large",
            ProblemType::RateLimited => "urn:patchdeck:problem:rate-limited",
            ProblemType::Unavailable => "urn:patchdeck:problem:unavailable",
            ProblemType::Unsupported => "urn:patchdeck:problem:unsupported",
            ProblemType::Internal => "urn:patchdeck:problem:internal",
        }
    }

    pub fn from_uri(uri: &str) -> Option<ProblemType> {
        ProblemType::ALL.into_iter().find(|t| t.uri() == uri)
    }

    /// HTTP status that goes with the type.
    pub fn status(self) -> u16 {
        match self {
            ProblemType::Malformed => 400,
            ProblemType::Unauthorized => 401,
            ProblemType::Forbidden => 403,
            ProblemType::NotFound => 404,
            ProblemType::Conflict | ProblemType::SecondApproverRequired => 409,
            ProblemType::Compacted => 410,
            ProblemType::VersionMismatch => 412,
            ProblemType::TooLarge => 413,
            ProblemType::PreconditionRequired => 428,
            ProblemType::Invalid | ProblemType::IdempotencyKeyReused => 422,
            ProblemType::RateLimited => 429,
            ProblemType::Internal => 500,
            ProblemType::Unsupported => 501,
            ProblemType::Unavailable => 503,
        }
    }
}

/// RFC 9457 problem details (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// 412: the target's current version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
    /// 410: the oldest sequence number still available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_sequence: Option<u64>,
}

impl Problem {
    pub fn new(problem_type: ProblemType, title: impl Into<String>) -> Self {
        Problem {
            problem_type: problem_type.uri().to_string(),
            title: title.into(),
            status: problem_type.status(),
            detail: None,
            current_version: None,
            oldest_sequence: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn kind(&self) -> Option<ProblemType> {
        ProblemType::from_uri(&self.problem_type)
    }
}

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Response header of a gateway with a store: `ok`, or `degraded` while its store
/// refuses writes.
pub const GATEWAY_HEADER: &str = "patchdeck-gateway";

/// One item of `GET /v1/exceptions`: a host under an exception, how the exception
/// stands at the fleet's clock, and the exception itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExceptionItem {
    pub host_id: String,
    pub host_name: String,
    pub ring_id: String,
    pub host_state: crate::model::HostState,
    pub standing: crate::model::ExceptionStanding,
    pub exception: crate::model::Exception,
}
