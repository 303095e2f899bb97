//! Rings, their gates and server patching groups (with tiers and criticality).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::{HostCounts, MaintenanceWindow, Version};

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

impl RingState {
    pub const ALL: [RingState; 6] = [
        RingState::Waiting,
        RingState::Deploying,
        RingState::Soaking,
        RingState::Paused,
        RingState::Halted,
        RingState::Done,
    ];

    /// The word used in the API and on screen ("waiting"), as serde spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RingState::Waiting => "waiting",
            RingState::Deploying => "deploying",
            RingState::Soaking => "soaking",
            RingState::Paused => "paused",
            RingState::Halted => "halted",
            RingState::Done => "done",
        }
    }

    /// The word in a sentence: the API word with spaces ("waiting").
    pub fn words(self) -> String {
        self.as_str().replace('-', " ")
    }
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

impl GateState {
    pub const ALL: [GateState; 6] = [
        GateState::NotReached,
        GateState::Soaking,
        GateState::AwaitingApproval,
        GateState::AwaitingSecondApprover,
        GateState::Passed,
        GateState::Blocked,
    ];

    /// The word used in the API and on screen ("not-reached"), as serde spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            GateState::NotReached => "not-reached",
            GateState::Soaking => "soaking",
            GateState::AwaitingApproval => "awaiting-approval",
            GateState::AwaitingSecondApprover => "awaiting-second-approver",
            GateState::Passed => "passed",
            GateState::Blocked => "blocked",
        }
    }

    /// The word in a sentence: the API word with spaces ("not reached").
    pub fn words(self) -> String {
        self.as_str().replace('-', " ")
    }
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

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Web, Tier::App, Tier::Db, Tier::File];

    /// The word used in the API and on screen ("web"), as serde spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Web => "web",
            Tier::App => "app",
            Tier::Db => "db",
            Tier::File => "file",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Criticality {
    MissionCritical,
    High,
    Medium,
    Low,
}

impl Criticality {
    pub const ALL: [Criticality; 4] = [
        Criticality::MissionCritical,
        Criticality::High,
        Criticality::Medium,
        Criticality::Low,
    ];

    /// The word used in the API and on screen ("mission-critical"), as serde spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Criticality::MissionCritical => "mission-critical",
            Criticality::High => "high",
            Criticality::Medium => "medium",
            Criticality::Low => "low",
        }
    }

    /// The word in a sentence: the API word with spaces ("mission critical").
    pub fn words(self) -> String {
        self.as_str().replace('-', " ")
    }
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
    /// Server patching groups in this ring (empty for workstation rings). Shared: a
    /// ring's thousands of groups rarely change, and a copy of the ring for each of its
    /// events (the event log, every stream, every console) is a reference count.
    #[serde(default)]
    pub groups: Arc<[PatchingGroup]>,
    pub counts: HostCounts,
    /// When the data this ring comes from was read from its fleet (a polled vendor
    /// fleet, e.g. SSM); none: live (the simulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<DateTime<Utc>>,
    pub version: Version,
}

impl Ring {
    /// A copy without its patching groups (thousands in a big fleet), for what reads
    /// only the ring's state, gate, window and counts: the notice detector keeps one
    /// per ring change.
    pub fn without_groups(&self) -> Ring {
        let Ring {
            id,
            name,
            order,
            kind,
            site,
            production,
            state,
            gate,
            window,
            soak_ends_at,
            state_reason,
            groups: _,
            counts,
            as_of,
            version,
        } = self;
        Ring {
            id: id.clone(),
            name: name.clone(),
            order: *order,
            kind: *kind,
            site: site.clone(),
            production: *production,
            state: *state,
            gate: gate.clone(),
            window: window.clone(),
            soak_ends_at: *soak_ends_at,
            state_reason: state_reason.clone(),
            groups: Arc::default(),
            counts: *counts,
            as_of: *as_of,
            version: *version,
        }
    }
}
