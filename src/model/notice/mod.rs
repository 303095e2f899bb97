//! Notices: what in a fleet change a person must hear of without watching the screen
//! (a halt, a gate or a second approver awaited, a window closing with work left, an
//! exploited CVE, an emergency started or ended), found by one pure detector that the
//! gateway's webhooks and the console's bell both run on the event stream.
//!
//! The detector keeps the fleet as far as it needs it (no hosts, no actions) and says a
//! notice when a resource moves into the state the notice is about, once: every notice
//! has a dedupe key, the same on every gateway and console that saw the same events
//! (it names the event's sequence number or a time the fleet gave). What the fleet held
//! when watching began is not news ([`NoticeDetector::prime`]).

mod detector;
#[cfg(test)]
mod tests;

pub use detector::NoticeDetector;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::Seq;

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeKind {
    /// A deployment stopped: by the failure threshold or by a person.
    DeploymentHalted,
    /// A ring stopped without its deployment halting with it (e.g. a roll-back).
    RingHalted,
    /// A ring's gate is through threshold and soak and waits for a person's approval.
    GateAwaitingApproval,
    /// One approver said yes (a production gate, a halted resume, an emergency): a
    /// second, different person must too.
    SecondApproverAwaited,
    /// A ring's maintenance window closes soon with hosts still pending.
    WindowClosing,
    /// A patch fixes a CVE now known to be exploited in the wild.
    ExploitedCve,
    EmergencyStarted,
    EmergencyEnded,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 8] = [
        NoticeKind::DeploymentHalted,
        NoticeKind::RingHalted,
        NoticeKind::GateAwaitingApproval,
        NoticeKind::SecondApproverAwaited,
        NoticeKind::WindowClosing,
        NoticeKind::ExploitedCve,
        NoticeKind::EmergencyStarted,
        NoticeKind::EmergencyEnded,
    ];

    /// The word used in the webhook payload ("deployment-halted"), as serde spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::DeploymentHalted => "deployment-halted",
            NoticeKind::RingHalted => "ring-halted",
            NoticeKind::GateAwaitingApproval => "gate-awaiting-approval",
            NoticeKind::SecondApproverAwaited => "second-approver-awaited",
            NoticeKind::WindowClosing => "window-closing",
            NoticeKind::ExploitedCve => "exploited-cve",
            NoticeKind::EmergencyStarted => "emergency-started",
            NoticeKind::EmergencyEnded => "emergency-ended",
        }
    }

    /// How loud: a halt, an exploited CVE and an emergency started are critical; what
    /// waits for a person is a warning; an emergency ended is information.
    pub fn severity(self) -> NoticeSeverity {
        match self {
            NoticeKind::DeploymentHalted
            | NoticeKind::RingHalted
            | NoticeKind::ExploitedCve
            | NoticeKind::EmergencyStarted => NoticeSeverity::Critical,
            NoticeKind::GateAwaitingApproval
            | NoticeKind::SecondApproverAwaited
            | NoticeKind::WindowClosing => NoticeSeverity::Warning,
            NoticeKind::EmergencyEnded => NoticeSeverity::Info,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeSeverity {
    Critical,
    Warning,
    Info,
}

impl NoticeSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeSeverity::Critical => "critical",
            NoticeSeverity::Warning => "warning",
            NoticeSeverity::Info => "info",
        }
    }
}

/// A resource a notice names: its id and its name for people (a patch's KB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// One notice: fields for machines and `text`, one line for a person (the words the
/// console flashes; fleet text in it is as the fleet sent it: clean it to show it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub severity: NoticeSeverity,
    /// The same for the same notice wherever it is detected: dedupe on it.
    pub key: String,
    /// The sequence number of the event that made it (of the listing, for a notice
    /// found in one; of the last event seen, for a window closing).
    pub sequence: Seq,
    /// Fleet time of the change (or of the moment a window was found closing).
    pub at: DateTime<Utc>,
    /// The fleet's name (its summary's).
    pub fleet: String,
    pub ring: Option<Named>,
    pub deployment: Option<Named>,
    pub patch: Option<Named>,
    /// Why: the halt's reason, the emergency's reason.
    pub cause: Option<String>,
    /// The person who asked: the first approver, who started the emergency.
    pub by: Option<String>,
    /// CVEs concerned: newly exploited ones, the emergency's.
    pub cves: Vec<String>,
    /// When the window closes (window-closing), or the emergency request expires.
    pub until: Option<DateTime<Utc>>,
    /// Hosts still pending in the ring (window-closing).
    pub pending_hosts: Option<u32>,
    pub text: String,
}

/// The detector's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoticeRules {
    /// A window closing within this long with hosts pending is said.
    pub window_warning: Duration,
}

/// Default lead time of a window-closing notice, minutes.
pub const WINDOW_WARNING_MINUTES: i64 = 30;

impl Default for NoticeRules {
    fn default() -> NoticeRules {
        NoticeRules {
            window_warning: Duration::minutes(WINDOW_WARNING_MINUTES),
        }
    }
}
