//! What compliance says, as the API serves it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::CompliancePolicy;
use crate::model::{HostKind, Interned, Seq, Severity};

/// When a host was verified with a patch installed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verified {
    pub patch_id: Interned,
    pub at: DateTime<Utc>,
}

/// The fleet's compliance at `now` (fleet time), valid at event `sequence`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compliance {
    pub sequence: Seq,
    pub now: DateTime<Utc>,
    pub policy: CompliancePolicy,
    /// Every host.
    pub hosts: u32,
    /// Hosts measured: all but the excluded.
    pub measured: u32,
    /// Measured hosts with every due patch satisfied.
    pub compliant: u32,
    /// Measured hosts with a due patch not satisfied.
    pub past_line: u32,
    /// Hosts under an exception that has not expired (not measured).
    pub excluded: u32,
    /// Excluded hosts that would be past the line without their exception.
    pub excluded_past_line: u32,
    /// `compliant` of `measured`, percent, rounded down to 0.1 (100 when none measured).
    pub percent_compliant: f64,
    /// The host furthest past the line.
    pub oldest: Option<PastLine>,
    /// Measured hosts missing a counted patch released more than 30 days ago.
    pub past_30_days: u32,
    /// ... more than 60 days ago.
    pub past_60_days: u32,
    /// ... more than 12 weeks (84 days) ago: what is not patched in 12 weeks never is.
    pub past_12_weeks: u32,
    /// Median time from a counted patch's release to its verified install on a measured
    /// host, seconds; none when no install has a verified time.
    pub median_release_to_verified_secs: Option<u64>,
    pub by_ring: Vec<Breakdown>,
    pub by_site: Vec<Breakdown>,
    pub by_severity: Vec<SeverityCompliance>,
    pub by_patch: Vec<PatchCompliance>,
}

/// Compliance of the hosts that share a ring (their home ring) or a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// The ring id or the site.
    pub key: String,
    pub hosts: u32,
    pub measured: u32,
    pub compliant: u32,
    pub past_line: u32,
    pub excluded: u32,
    pub percent_compliant: f64,
}

/// Compliance of the counted patches of one severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeverityCompliance {
    pub severity: Severity,
    /// Patches of this severity.
    pub patches: u32,
    /// Host and patch pairs not satisfied (due or not), measured hosts.
    pub missing: u32,
    /// Measured hosts past the line on a patch of this severity.
    pub past_line: u32,
    pub median_release_to_verified_secs: Option<u64>,
}

/// Compliance of one counted patch over the measured hosts it applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchCompliance {
    pub patch_id: String,
    pub kb: String,
    pub title: String,
    pub severity: Severity,
    pub released_at: DateTime<Utc>,
    /// `released_at` plus the policy's `within_days`.
    pub due_at: DateTime<Utc>,
    /// Measured hosts the patch applies to.
    pub applicable: u32,
    /// Of those, hosts with the patch itself installed.
    pub installed: u32,
    /// Hosts satisfied only by a superseding patch (counted when the policy says so).
    pub superseded: u32,
    /// Hosts where it is not satisfied.
    pub missing: u32,
    /// Missing hosts past its due time.
    pub past_line: u32,
    pub median_release_to_verified_secs: Option<u64>,
}

/// A patch a host is missing after it was due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Missing {
    pub patch_id: String,
    pub kb: String,
    pub severity: Severity,
    pub released_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// A measured host past the line: how far, and what it misses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastLine {
    pub host_id: String,
    pub name: String,
    pub ring_id: String,
    pub site: String,
    pub kind: HostKind,
    pub model: String,
    pub os: String,
    /// The earliest due time it missed.
    pub due_at: DateTime<Utc>,
    /// Whole days since `due_at`.
    pub days_past: u32,
    /// Release of the oldest patch it misses.
    pub oldest_released_at: DateTime<Utc>,
    /// Whole days since that release.
    pub days_since_release: u32,
    /// The patches it misses after they were due, earliest due first.
    pub missing: Vec<Missing>,
    /// When its exception expired, if it had one (an expired exception excuses nothing).
    #[serde(default)]
    pub exception_expired_at: Option<DateTime<Utc>>,
}
