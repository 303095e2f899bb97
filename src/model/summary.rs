//! The fleet summary: its clock, capabilities, the emergency in progress and the one
//! waiting for its second approver.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{HostCounts, Version};

/// What a backend can do; a vendor backend may lack some.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capabilities {
    pub rollback: bool,
    pub emergency: bool,
    pub two_person_rule: bool,
    /// Verbs this fleet cannot do, or does its own way, each with why or how
    /// ("SSM cannot pause: pending hosts are cancelled, resume sends a new command").
    /// A verb not listed is available as documented.
    #[serde(default)]
    pub verbs: Vec<VerbSupport>,
}

/// One verb as a fleet supports it: unavailable (with the reason) or available with a
/// note on how this fleet does it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerbSupport {
    pub verb: super::Verb,
    pub available: bool,
    pub note: String,
}

impl Capabilities {
    /// Why `verb` is unavailable on this fleet, if it is.
    pub fn unavailable(&self, verb: super::Verb) -> Option<&str> {
        self.verbs
            .iter()
            .find(|v| v.verb == verb && !v.available)
            .map(|v| v.note.as_str())
    }

    /// How this fleet does `verb` its own way, if it says.
    pub fn note(&self, verb: super::Verb) -> Option<&str> {
        self.verbs
            .iter()
            .find(|v| v.verb == verb && v.available)
            .map(|v| v.note.as_str())
    }
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
    /// The second approver who confirmed the request (empty: started by one approver,
    /// on a fleet without the two-person rule).
    #[serde(default)]
    pub confirmed_by: String,
    /// Why the second approver expedited a patch that fixes no known exploited CVE
    /// (or a halted one that cannot be uninstalled).
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// How long an emergency request waits for its second approver (fleet time).
pub const EMERGENCY_REQUEST_TTL_SECS: i64 = 30 * 60;

/// The first half of a two-person emergency: requested by one approver, waiting for a
/// second, different person to confirm it (the same `POST /v1/emergency` naming the
/// same patch) until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingEmergency {
    /// The requester's action, awaiting a second approver.
    pub action_id: String,
    /// The requester's token name, and the person behind it.
    pub requested_by: String,
    pub person: String,
    pub patch_id: String,
    pub kb: String,
    /// The CVE the emergency is for.
    pub cve: String,
    /// CVEs the patch fixes that are known to be exploited (empty: none is).
    #[serde(default)]
    pub exploited_cves: Vec<String>,
    /// Why the confirmation must carry an `override_reason` (the patch fixes no known
    /// exploited CVE, or it is halted and cannot be uninstalled); none: it need not.
    #[serde(default)]
    pub override_needed: Option<String>,
    pub reason: String,
    pub ticket: String,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
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
    /// An emergency requested by one approver, waiting for a second.
    #[serde(default)]
    pub pending_emergency: Option<PendingEmergency>,
    pub counts: HostCounts,
    pub capabilities: Capabilities,
    /// When a polled fleet last read its vendor (SSM: the last completed poll; every
    /// resource unchanged since is as of then). None: live (the simulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<DateTime<Utc>>,
    pub version: Version,
}
