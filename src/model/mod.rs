//! Domain types shared by every part of patchdeck: the simulator produces them, the API
//! serves and parses them, the console shows them. Pure data plus small, pure helpers.
//!
//! Every resource has a stable string `id` and a monotonic `version`. Times are UTC.

mod fleet;
mod window;

pub use fleet::Fleet;
pub use window::{MaintenanceWindow, WindowStatus};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The identity of actions the fleet takes by itself (a threshold halt, an automatic
/// gate).
pub const SYSTEM: &str = "system";

/// Global event sequence number (the SSE `id`).
pub type Seq = u64;
/// Per-resource version, bumped on every change; served as the ETag.
pub type Version = u64;

// ---------------------------------------------------------------------------------
// Patches
// ---------------------------------------------------------------------------------

/// MSRC-style severity of a security update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Critical,
    Important,
    Moderate,
    Low,
}

/// What kind of update a patch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PatchKind {
    /// Fixes one problem.
    Hotfix,
    /// Several hotfixes together.
    Rollup,
    /// Everything so far; supersedes older updates.
    CumulativeUpdate,
    /// A driver or firmware update.
    Driver,
    /// A third-party application update (browser, runtime...).
    Application,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patch {
    /// Stable id, e.g. "kb5070001".
    pub id: String,
    /// Vendor id as people say it, e.g. "KB5070001".
    pub kb: String,
    pub title: String,
    pub product: String,
    pub kind: PatchKind,
    pub severity: Severity,
    pub released_at: DateTime<Utc>,
    #[serde(default)]
    pub cves: Vec<String>,
    /// CVEs known to be exploited in the wild (a zero-day).
    #[serde(default)]
    pub exploited_cves: Vec<String>,
    pub reboot_required: bool,
    /// Can it be uninstalled? If not, rollback means restoring the machine.
    pub uninstallable: bool,
    /// Ids of patches this one supersedes.
    #[serde(default)]
    pub supersedes: Vec<String>,
    pub version: Version,
}

// ---------------------------------------------------------------------------------
// Host counts (progress of a ring, a deployment or the fleet)
// ---------------------------------------------------------------------------------

/// How many hosts are in each lifecycle state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostCounts {
    pub total: u32,
    pub pending: u32,
    pub downloading: u32,
    pub installing: u32,
    pub pending_reboot: u32,
    pub rebooting: u32,
    pub verifying: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub rolled_back: u32,
    pub excluded: u32,
    pub offline: u32,
    pub deferred: u32,
}

impl HostCounts {
    /// Hosts with work under way (downloading to verifying).
    pub fn in_flight(&self) -> u32 {
        self.downloading + self.installing + self.pending_reboot + self.rebooting + self.verifying
    }

    /// Adds one host in `state`.
    pub fn add(&mut self, state: HostState) {
        self.total += 1;
        *self.slot(state) += 1;
    }

    /// Removes one host in `state` (the inverse of `add`).
    pub fn remove(&mut self, state: HostState) {
        self.total = self.total.saturating_sub(1);
        let slot = self.slot(state);
        *slot = slot.saturating_sub(1);
    }

    /// The counter for one state.
    pub fn get(&self, state: HostState) -> u32 {
        let mut copy = *self;
        *copy.slot(state)
    }

    fn slot(&mut self, state: HostState) -> &mut u32 {
        match state {
            HostState::Pending => &mut self.pending,
            HostState::Downloading => &mut self.downloading,
            HostState::Installing => &mut self.installing,
            HostState::PendingReboot => &mut self.pending_reboot,
            HostState::Rebooting => &mut self.rebooting,
            HostState::Verifying => &mut self.verifying,
            HostState::Succeeded => &mut self.succeeded,
            HostState::Failed => &mut self.failed,
            HostState::RolledBack => &mut self.rolled_back,
            HostState::Excluded => &mut self.excluded,
            HostState::Offline => &mut self.offline,
            HostState::Deferred => &mut self.deferred,
        }
    }

    /// Share of hosts that reached a final, verified success, in percent of the hosts
    /// that are targeted (excluded hosts do not count).
    pub fn success_pct(&self) -> f64 {
        let targeted = self.total.saturating_sub(self.excluded);
        if targeted == 0 {
            return 0.0;
        }
        f64::from(self.succeeded) * 100.0 / f64::from(targeted)
    }

    /// Share of targeted hosts that failed, in percent.
    pub fn failure_pct(&self) -> f64 {
        let targeted = self.total.saturating_sub(self.excluded);
        if targeted == 0 {
            return 0.0;
        }
        f64::from(self.failed) * 100.0 / f64::from(targeted)
    }
}

// ---------------------------------------------------------------------------------
// Rings, gates, patching groups
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RingKind {
    /// Workstations (Test, Pilot, Wave 1..3).
    Workstations,
    /// Servers, organised in patching groups with a reboot order.
    Servers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RingState {
    /// Not reached yet by the rollout.
    Waiting,
    /// Installs are running.
    Deploying,
    /// Installs finished; soak time is running before the gate.
    Soaking,
    /// An operator paused new installs.
    Paused,
    /// Stopped: by an operator or by the failure threshold.
    Halted,
    /// Finished and through its gate.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateMode {
    /// A person must approve the next ring.
    Manual,
    /// The next ring opens by itself once threshold and soak are met.
    Automatic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateState {
    /// The ring has not finished deploying.
    NotReached,
    /// Deployed; minimum soak time still running.
    Soaking,
    /// Threshold and soak met; waiting for a manual approval.
    AwaitingApproval,
    /// Production ring: one approver said yes, a second different approver is needed.
    AwaitingSecondApprover,
    /// Passed: the next ring may run.
    Passed,
    /// Success threshold not met or failure threshold tripped.
    Blocked,
}

/// The gate between a ring and the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    pub mode: GateMode,
    /// Minimum share of targeted hosts that must succeed, percent.
    pub success_threshold_pct: u8,
    /// Share of failed hosts that halts the ring, percent.
    pub failure_threshold_pct: u8,
    /// Minimum soak time after the ring finished, seconds.
    pub min_soak_secs: u64,
    pub state: GateState,
    /// Why the gate is blocked, in words.
    #[serde(default)]
    pub blocked_reason: Option<String>,
}

/// Service tier of a server, for the reboot order of multi-tier services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    Web,
    App,
    Db,
    File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Criticality {
    MissionCritical,
    High,
    Medium,
    Low,
}

/// A server patching group: owner, service, criticality and the reboot order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchingGroup {
    pub id: String,
    pub name: String,
    pub service: String,
    pub owner: String,
    pub criticality: Criticality,
    /// Order in which tiers go down (e.g. web, app, db); they come back up in reverse.
    pub reboot_order: Vec<Tier>,
    /// Hosts that are redundant with each other are patched one at a time.
    #[serde(default)]
    pub redundant: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ring {
    /// Stable id, e.g. "pilot" or "wave-2".
    pub id: String,
    pub name: String,
    /// Position in the rollout, 0 first.
    pub order: u32,
    pub kind: RingKind,
    /// Site or time zone the ring covers, for waves.
    #[serde(default)]
    pub site: Option<String>,
    /// Production rings need two different approvers (two-person rule).
    pub production: bool,
    pub state: RingState,
    pub gate: Gate,
    pub window: MaintenanceWindow,
    /// When soak time ends (set while soaking).
    #[serde(default)]
    pub soak_ends_at: Option<DateTime<Utc>>,
    /// Why the ring is halted or paused, in words.
    #[serde(default)]
    pub state_reason: Option<String>,
    /// Server patching groups in this ring (empty for workstation rings).
    #[serde(default)]
    pub groups: Vec<PatchingGroup>,
    pub counts: HostCounts,
    pub version: Version,
}

// ---------------------------------------------------------------------------------
// Deployments
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeploymentState {
    /// Waiting for approval to enter its next ring.
    AwaitingApproval,
    Running,
    Paused,
    Halted,
    RollingBack,
    RolledBack,
    Declined,
    Completed,
}

impl DeploymentState {
    /// Still in flight (shown in the Deployments pane by default).
    pub fn is_active(self) -> bool {
        !matches!(
            self,
            DeploymentState::RolledBack | DeploymentState::Declined | DeploymentState::Completed
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub ring_id: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// First half of a two-person approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingApproval {
    pub ring_id: String,
    pub first_approver: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub name: String,
    /// Patches deployed together (ids into /v1/patches).
    pub patch_ids: Vec<String>,
    /// Rings in rollout order.
    pub rings: Vec<String>,
    /// Ring now deploying or soaking.
    #[serde(default)]
    pub current_ring: Option<String>,
    /// Ring that approval would open next.
    #[serde(default)]
    pub next_ring: Option<String>,
    pub state: DeploymentState,
    #[serde(default)]
    pub state_reason: Option<String>,
    /// An expedited zero-day deployment.
    #[serde(default)]
    pub emergency: bool,
    #[serde(default)]
    pub approvals: Vec<Approval>,
    #[serde(default)]
    pub pending_approval: Option<PendingApproval>,
    pub counts: HostCounts,
    /// Hosts finishing per hour, recent rate.
    #[serde(default)]
    pub rate_per_hour: f64,
    #[serde(default)]
    pub eta: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub version: Version,
}

// ---------------------------------------------------------------------------------
// Hosts
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostState {
    Pending,
    Downloading,
    Installing,
    PendingReboot,
    Rebooting,
    Verifying,
    Succeeded,
    Failed,
    RolledBack,
    Excluded,
    Offline,
    Deferred,
}

impl HostState {
    pub const ALL: [HostState; 12] = [
        HostState::Pending,
        HostState::Downloading,
        HostState::Installing,
        HostState::PendingReboot,
        HostState::Rebooting,
        HostState::Verifying,
        HostState::Succeeded,
        HostState::Failed,
        HostState::RolledBack,
        HostState::Excluded,
        HostState::Offline,
        HostState::Deferred,
    ];

    /// The word used in the API and on screen ("pending-reboot").
    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Pending => "pending",
            HostState::Downloading => "downloading",
            HostState::Installing => "installing",
            HostState::PendingReboot => "pending-reboot",
            HostState::Rebooting => "rebooting",
            HostState::Verifying => "verifying",
            HostState::Succeeded => "succeeded",
            HostState::Failed => "failed",
            HostState::RolledBack => "rolled-back",
            HostState::Excluded => "excluded",
            HostState::Offline => "offline",
            HostState::Deferred => "deferred",
        }
    }

    pub fn parse(word: &str) -> Option<HostState> {
        HostState::ALL.into_iter().find(|s| s.as_str() == word)
    }

    /// Work under way on the host.
    pub fn is_in_flight(self) -> bool {
        matches!(
            self,
            HostState::Downloading
                | HostState::Installing
                | HostState::PendingReboot
                | HostState::Rebooting
                | HostState::Verifying
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKind {
    Workstation,
    Server,
}

/// Why a host failed: a Windows HRESULT-style code and its message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// e.g. "0x800f0922".
    pub code: String,
    pub message: String,
    /// The patch whose install failed.
    #[serde(default)]
    pub patch_id: Option<String>,
    pub at: DateTime<Utc>,
}

/// A documented exception: this host must not be patched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exception {
    pub owner: String,
    pub reason: String,
    #[serde(default)]
    pub ticket: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub compensating_control: String,
}

/// One step in a host's lifecycle history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub state: HostState,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub id: String,
    pub name: String,
    pub ring_id: String,
    pub kind: HostKind,
    pub site: String,
    pub os: String,
    /// Hardware model, e.g. "Contoso Book 14 G3".
    pub model: String,
    /// Server patching group id (servers only).
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub tier: Option<Tier>,
    pub criticality: Criticality,
    /// Reachable from the internet (DMZ, public cloud).
    #[serde(default)]
    pub exposed: bool,
    /// Roams off the office network (laptops).
    #[serde(default)]
    pub roaming: bool,
    pub state: HostState,
    /// Deployment that owns the host's current lifecycle.
    #[serde(default)]
    pub deployment_id: Option<String>,
    #[serde(default)]
    pub failure: Option<Failure>,
    pub last_seen: DateTime<Utc>,
    /// User deferral deadline (state deferred).
    #[serde(default)]
    pub deferred_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub exception: Option<Exception>,
    /// Patches verified installed.
    #[serde(default)]
    pub installed: Vec<String>,
    /// Lifecycle history: only in `GET /v1/hosts/{id}`, empty in lists and events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Transition>,
    pub updated_at: DateTime<Utc>,
    pub version: Version,
}

// ---------------------------------------------------------------------------------
// Actions (the server's audit trail)
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verb {
    Approve,
    Decline,
    Pause,
    Resume,
    Halt,
    Rollback,
    Retry,
    Exclude,
    Emergency,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Approve => "approve",
            Verb::Decline => "decline",
            Verb::Pause => "pause",
            Verb::Resume => "resume",
            Verb::Halt => "halt",
            Verb::Rollback => "rollback",
            Verb::Retry => "retry",
            Verb::Exclude => "exclude",
            Verb::Emergency => "emergency",
        }
    }

    pub const ALL: [Verb; 9] = [
        Verb::Approve,
        Verb::Decline,
        Verb::Pause,
        Verb::Resume,
        Verb::Halt,
        Verb::Rollback,
        Verb::Retry,
        Verb::Exclude,
        Verb::Emergency,
    ];

    pub fn parse(word: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|v| v.as_str() == word)
    }

    /// Reason and ticket are required for these.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Verb::Halt | Verb::Rollback | Verb::Exclude | Verb::Emergency
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    Deployment,
    Ring,
    Host,
    Fleet,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    pub kind: TargetKind,
    pub id: String,
}

/// Who may do what. Ordered: an approver may do everything an operator may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Viewer,
    Operator,
    Approver,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Approver => "approver",
        }
    }

    /// The least role allowed to perform `verb` on `target`.
    pub fn required_for(verb: Verb, target: TargetKind) -> Role {
        match (verb, target) {
            (Verb::Pause | Verb::Resume | Verb::Retry | Verb::Exclude, _) => Role::Operator,
            (Verb::Rollback, TargetKind::Host) => Role::Operator,
            _ => Role::Approver,
        }
    }
}

/// The authenticated identity behind a token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionState {
    /// Two-person rule: waiting for a second approver.
    AwaitingSecondApprover,
    /// Accepted, work under way (rollbacks, retries).
    Running,
    Succeeded,
    /// Some targets could not be acted on (e.g. restore required).
    Partial,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Stable id, sorts in the order actions were taken ("act-000042").
    pub id: String,
    pub verb: Verb,
    pub target: Target,
    /// Display name of the target (ring name, host name, deployment name).
    pub target_name: String,
    /// Identity that acted; "system" for automatic ones (threshold halt).
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub ticket: Option<String>,
    pub state: ActionState,
    /// Hosts done / to do, for actions that work through hosts.
    #[serde(default)]
    pub progress_done: u32,
    #[serde(default)]
    pub progress_total: u32,
    /// What happened, in words ("2 hosts need restore: KB5070007 cannot be uninstalled").
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    pub version: Version,
}

// ---------------------------------------------------------------------------------
// Summary and capabilities
// ---------------------------------------------------------------------------------

/// What a backend can do; a vendor backend may lack some.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capabilities {
    pub rollback: bool,
    pub emergency: bool,
    pub two_person_rule: bool,
}

/// An emergency (zero-day) deployment in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Emergency {
    pub deployment_id: String,
    pub cve: String,
    pub patch_id: String,
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub reason: String,
    pub ticket: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Fleet or backend name ("contoso (simulated)").
    pub name: String,
    /// Simulator scenario, if simulated.
    #[serde(default)]
    pub scenario: Option<String>,
    /// The fleet's clock (the simulator's clock may run faster than real time).
    pub now: DateTime<Utc>,
    /// Fleet seconds per real second (1 for real fleets, 0 frozen).
    pub clock_speed: f64,
    /// This month's Patch Tuesday.
    pub patch_tuesday: DateTime<Utc>,
    #[serde(default)]
    pub emergency: Option<Emergency>,
    pub counts: HostCounts,
    pub capabilities: Capabilities,
    pub version: Version,
}

// ---------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------

/// A change: the new state of one resource (upsert semantics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "item", rename_all = "kebab-case")]
pub enum Change {
    Summary(Summary),
    Ring(Ring),
    Deployment(Deployment),
    Host(Host),
    Patch(Patch),
    Action(Action),
}

impl Change {
    /// The SSE `event:` name.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Summary(_) => "summary",
            Change::Ring(_) => "ring",
            Change::Deployment(_) => "deployment",
            Change::Host(_) => "host",
            Change::Patch(_) => "patch",
            Change::Action(_) => "action",
        }
    }
}

/// One entry of the event stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Global sequence number; the SSE `id`.
    pub seq: Seq,
    /// Fleet time of the change.
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub change: Change,
}
