//! The fleet summary: its clock, capabilities and the emergency in progress.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{HostCounts, Version};

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
