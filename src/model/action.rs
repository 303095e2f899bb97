//! Actions: the server's audit trail of verbs taken, and the identity taking them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Role, Target, Verb, Version};

/// The authenticated identity behind a token: the token's name (recorded in the audit
/// trail), its role, and the person it belongs to. One person may hold several tokens
/// (a laptop and a jump host); the two-person rule counts persons, not tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    pub name: String,
    pub role: Role,
    /// The person behind the token; empty (from a server before persons) means the
    /// name is the person. Read it with [`Identity::as_person`].
    #[serde(default)]
    pub person: String,
}

impl Identity {
    /// A token that is its own person (`person` = `name`).
    pub fn new(name: impl Into<String>, role: Role) -> Identity {
        let name = name.into();
        Identity {
            person: name.clone(),
            name,
            role,
        }
    }

    /// The person the two-person rule compares (the name when no person is given).
    pub fn as_person(&self) -> &str {
        if self.person.is_empty() {
            &self.name
        } else {
            &self.person
        }
    }

    /// Is `person` this identity's person? The two-person rule's comparison: persons
    /// are the same whatever their case.
    pub fn is_person(&self, person: &str) -> bool {
        self.as_person().to_lowercase() == person.to_lowercase()
    }
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

impl ActionState {
    pub const ALL: [ActionState; 5] = [
        ActionState::AwaitingSecondApprover,
        ActionState::Running,
        ActionState::Succeeded,
        ActionState::Partial,
        ActionState::Failed,
    ];

    /// The word used in the API and on screen ("awaiting-second-approver"), as serde spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::AwaitingSecondApprover => "awaiting-second-approver",
            ActionState::Running => "running",
            ActionState::Succeeded => "succeeded",
            ActionState::Partial => "partial",
            ActionState::Failed => "failed",
        }
    }

    /// The word in a sentence: the API word with spaces ("awaiting second approver").
    pub fn words(self) -> String {
        self.as_str().replace('-', " ")
    }
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
