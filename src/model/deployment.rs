//! Deployments: patches rolled out ring by ring, with their approvals.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{HostCounts, Version};

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
    pub const ALL: [DeploymentState; 8] = [
        DeploymentState::AwaitingApproval,
        DeploymentState::Running,
        DeploymentState::Paused,
        DeploymentState::Halted,
        DeploymentState::RollingBack,
        DeploymentState::RolledBack,
        DeploymentState::Declined,
        DeploymentState::Completed,
    ];

    /// The word used in the API and on screen ("awaiting-approval"), as serde spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentState::AwaitingApproval => "awaiting-approval",
            DeploymentState::Running => "running",
            DeploymentState::Paused => "paused",
            DeploymentState::Halted => "halted",
            DeploymentState::RollingBack => "rolling-back",
            DeploymentState::RolledBack => "rolled-back",
            DeploymentState::Declined => "declined",
            DeploymentState::Completed => "completed",
        }
    }

    /// The word in a sentence: the API word with spaces ("awaiting approval").
    pub fn words(self) -> String {
        self.as_str().replace('-', " ")
    }
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

/// First half of a two-person approval: opening the production ring `ring_id`, or
/// (`resume`) resuming it after a halt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingApproval {
    pub ring_id: String,
    /// The first approver's token name (as the audit trail shows it).
    pub first_approver: String,
    /// The person behind it: the second approval must come from another person.
    #[serde(default)]
    pub first_person: String,
    pub at: DateTime<Utc>,
    /// The approval resumes the halted ring `ring_id` rather than opening it.
    #[serde(default)]
    pub resume: bool,
}

/// A deployment's rate and failure gate as its fleet sets them, in words (SSM's
/// `MaxConcurrency` and `MaxErrors`: "10%", "1 host").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentLimits {
    /// How many hosts install at once.
    pub rate: String,
    /// How many failures stop it.
    pub failure_gate: String,
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
    /// The state an operator asked for while the fleet has not reached it yet (halted
    /// requested: the cancel is sent, invocations are still running); none: `state` is
    /// all there is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_state: Option<DeploymentState>,
    /// When the data this deployment comes from was read from its fleet (a polled
    /// vendor fleet, e.g. SSM); none: live (the simulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<DateTime<Utc>>,
    /// The fleet's rate and failure gate (SSM's MaxConcurrency, MaxErrors); none: the
    /// rings' gates say it all (the simulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<DeploymentLimits>,
    pub version: Version,
}
