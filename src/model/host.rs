//! Hosts: their lifecycle state, failures, the exception they may be under, history.

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use super::{Criticality, Exception, Interned, PatchList, Tier, Version};

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

    /// The word in a sentence: the API word with spaces ("pending reboot").
    pub fn words(self) -> String {
        self.as_str().replace('-', " ")
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
    pub code: Interned,
    pub message: Interned,
    /// The patch whose install failed.
    #[serde(default)]
    pub patch_id: Option<Interned>,
    pub at: DateTime<Utc>,
}

/// One step in a host's lifecycle history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub state: HostState,
    /// What happened ("KB5043080: 0x800f0922", "targeted by ..."): the same few words
    /// on many hosts, held once.
    #[serde(default)]
    pub note: Option<Interned>,
}

/// A host as every part holds it. What many hosts share (ring, site, OS, model, group,
/// deployment, patch ids, error codes) is [`Interned`] and what few hosts have (a
/// failure, an exception) is boxed, so a record costs a few hundred bytes, not kilobytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub id: CompactString,
    pub name: CompactString,
    pub ring_id: Interned,
    pub kind: HostKind,
    pub site: Interned,
    pub os: Interned,
    /// Hardware model, e.g. "Contoso Book 14 G3".
    pub model: Interned,
    /// Server patching group id (servers only).
    #[serde(default)]
    pub group_id: Option<Interned>,
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
    pub deployment_id: Option<Interned>,
    #[serde(default)]
    pub failure: Option<Box<Failure>>,
    pub last_seen: DateTime<Utc>,
    /// User deferral deadline (state deferred).
    #[serde(default)]
    pub deferred_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub exception: Option<Box<Exception>>,
    /// Patches verified installed.
    #[serde(default)]
    pub installed: PatchList,
    /// Lifecycle history: only in `GET /v1/hosts/{id}`, empty in lists and events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Transition>,
    pub updated_at: DateTime<Utc>,
    /// When the data this host comes from was read from its fleet (a polled vendor
    /// fleet, e.g. SSM); none: live (the simulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<DateTime<Utc>>,
    pub version: Version,
}

impl Host {
    /// Is patch `id` verified installed on the host?
    pub fn has_installed(&self, id: &str) -> bool {
        self.installed.iter().any(|p| p.as_str() == id)
    }
}
