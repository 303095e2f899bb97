//! Domain types shared by every part of patchdeck: the simulator produces them, the API
//! serves and parses them, the console shows them. Pure data plus small, pure helpers.
//!
//! Every resource has a stable string `id` and a monotonic `version`. Times are UTC.

mod action;
mod counts;
mod coverage;
mod deployment;
mod event;
mod exception;
mod fleet;
mod host;
mod interned;
mod notice;
mod patch;
mod plan;
mod ring;
mod summary;
mod verb;
mod window;

#[cfg(test)]
mod tests;

pub use action::{Action, ActionState, Identity};
pub use counts::HostCounts;
pub use coverage::{Coverage, Gap, NOTE_PREFIX, NOTED_GAPS, Trait, coverage};
pub use deployment::{Approval, Deployment, DeploymentLimits, DeploymentState, PendingApproval};
pub use event::{Change, Event};
pub use exception::{
    DEFAULT_EXCEPTION_MAX_DAYS, EXCEPTION_NEAR_DAYS, Exception, ExceptionPolicy, ExceptionStanding,
    ExceptionTerms, Expiry, Renewal,
};
pub use fleet::Fleet;
pub use host::{Failure, Host, HostKind, HostState, Transition};
pub use interned::{Interned, PatchList};
pub use notice::{
    Named, Notice, NoticeDetector, NoticeKind, NoticeRules, NoticeSeverity, WINDOW_WARNING_MINUTES,
};
pub use patch::{Patch, PatchKind, Severity};
pub use plan::{
    ActionPlan, ApprovalPlan, ApprovalStep, PLAN_HOST_IDS, PlanHosts, PlanStage, PlanWindow,
    Skipped,
};
pub use ring::{
    Criticality, Gate, GateMode, GateState, PatchingGroup, Ring, RingKind, RingState, Tier,
};
pub use summary::{
    Capabilities, EMERGENCY_REQUEST_TTL_SECS, Emergency, PendingEmergency, Summary, VerbSupport,
};
pub use verb::{Role, Target, TargetKind, VERBS, Verb, VerbSpec};
pub use window::{MaintenanceWindow, WindowStatus};

/// The identity of actions the fleet takes by itself (a threshold halt, an automatic
/// gate).
pub const SYSTEM: &str = "system";

/// Global event sequence number (the SSE `id`).
pub type Seq = u64;
/// Per-resource version, bumped on every change; served as the ETag.
pub type Version = u64;
