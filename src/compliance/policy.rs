//! The compliance policy: which severities count, within how many days of release a
//! patch must be verified installed, and whether a superseding patch counts.

use serde::{Deserialize, Serialize};

use crate::model::Severity;

/// Most days a policy may give (ten years).
pub const MAX_WITHIN_DAYS: u32 = 3650;

/// What "compliant" means. The server's (`serve --compliance-policy FILE`, TOML), so
/// that every console and report agrees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompliancePolicy {
    /// Severities whose patches count ("critical", "important", "moderate", "low").
    #[serde(default = "default_severities")]
    pub severities: Vec<Severity>,
    /// A patch must be verified installed within this many days of its release.
    #[serde(default = "default_within_days")]
    pub within_days: u32,
    /// A patch counts as installed where a patch superseding it (directly or through
    /// others) is installed.
    #[serde(default = "default_count_superseding")]
    pub count_superseding: bool,
}

fn default_severities() -> Vec<Severity> {
    vec![Severity::Critical, Severity::Important]
}

fn default_within_days() -> u32 {
    30
}

fn default_count_superseding() -> bool {
    true
}

impl Default for CompliancePolicy {
    /// Critical and important patches within 30 days of release; supersedence counts.
    fn default() -> CompliancePolicy {
        CompliancePolicy {
            severities: default_severities(),
            within_days: default_within_days(),
            count_superseding: default_count_superseding(),
        }
    }
}

impl CompliancePolicy {
    /// Parse a policy file (TOML); missing fields take their defaults.
    pub fn from_toml(text: &str) -> Result<CompliancePolicy, String> {
        let policy: CompliancePolicy = toml::from_str(text).map_err(|e| e.to_string())?;
        policy.validate()?;
        Ok(policy)
    }

    /// The policy in `path` (TOML), or the default without one.
    pub fn load(path: Option<&std::path::Path>) -> Result<CompliancePolicy, String> {
        let Some(path) = path else {
            return Ok(CompliancePolicy::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the compliance policy {}: {e}", path.display()))?;
        CompliancePolicy::from_toml(&text)
            .map_err(|e| format!("compliance policy {}: {e}", path.display()))
    }

    /// A policy that says something: at least one severity, 1 to 3650 days.
    pub fn validate(&self) -> Result<(), String> {
        if self.severities.is_empty() {
            return Err(
                "severities: name at least one (critical, important, moderate, low)".into(),
            );
        }
        if !(1..=MAX_WITHIN_DAYS).contains(&self.within_days) {
            return Err(format!(
                "within_days: from 1 to {MAX_WITHIN_DAYS}, got {}",
                self.within_days
            ));
        }
        Ok(())
    }

    /// Does a patch of this severity count?
    pub fn counts(&self, severity: Severity) -> bool {
        self.severities.contains(&severity)
    }
}
