//! Patches: what a vendor ships, how severe, whether it reboots or can be uninstalled.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Version;

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
