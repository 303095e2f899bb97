//! Verbs as a table: what an operator can do to a target, and who may.
//!
//! [`VERBS`] gives each verb its words, the key that asks for it, the least role per
//! target kind, the reason/ticket and typed-name rules, the target kinds it acts on and
//! which hosts can take it. The server (routes, role checks), the engine (reason and
//! ticket), the keymap (default keys) and the console (planning, the footer) read it.

use serde::{Deserialize, Serialize};

use super::{Host, HostState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verb {
    Approve,
    Decline,
    Pause,
    Resume,
    Halt,
    Rollback,
    Retry,
    Exclude,
    Renew,
    Revoke,
    Emergency,
}

impl Verb {
    /// The word used in the API and on screen ("rollback").
    pub fn as_str(self) -> &'static str {
        self.spec().word
    }

    pub const ALL: [Verb; 11] = [
        Verb::Approve,
        Verb::Decline,
        Verb::Pause,
        Verb::Resume,
        Verb::Halt,
        Verb::Rollback,
        Verb::Retry,
        Verb::Exclude,
        Verb::Renew,
        Verb::Revoke,
        Verb::Emergency,
    ];

    pub fn parse(word: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|v| v.as_str() == word)
    }

    /// This verb's entry in [`VERBS`].
    pub fn spec(self) -> &'static VerbSpec {
        let at = match self {
            Verb::Approve => 0,
            Verb::Decline => 1,
            Verb::Pause => 2,
            Verb::Resume => 3,
            Verb::Halt => 4,
            Verb::Retry => 5,
            Verb::Exclude => 6,
            Verb::Renew => 7,
            Verb::Revoke => 8,
            Verb::Rollback => 9,
            Verb::Emergency => 10,
        };
        &VERBS[at]
    }

    /// Reason and ticket are required for these.
    pub fn needs_reason(self) -> bool {
        self.spec().needs_reason
    }

    /// Halt, rollback, exclude, renew, revoke and emergency: the verbs that undo or
    /// override work (or the exception that holds it back).
    /// Besides a reason and a ticket they need `If-Match` (the version the operator
    /// looked at); the table marks them with `needs_reason`.
    pub fn is_destructive(self) -> bool {
        self.spec().needs_reason
    }

    /// "rolled back": what the verb made of a target.
    pub fn past_tense(self) -> &'static str {
        self.spec().past
    }

    /// The verbs a kind of target answers to, in the order the API lists them.
    pub fn on(kind: TargetKind) -> impl Iterator<Item = Verb> {
        VERBS
            .iter()
            .filter(move |spec| spec.targets.contains(&kind))
            .map(|spec| spec.verb)
    }
}

/// Everything the console, the server and the fleet need to know about one verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerbSpec {
    pub verb: Verb,
    /// The API word ("rollback").
    pub word: &'static str,
    /// What the verb made of a target ("rolled back").
    pub past: &'static str,
    /// The key action that asks for it (its name in the config's `[keys]` table) and its
    /// default key. Two verbs may share a key: see `when_paused`.
    pub key_action: &'static str,
    pub default_key: &'static str,
    /// Of two verbs sharing a key, the one meant when the target is paused (resume).
    pub when_paused: bool,
    /// The target kinds it acts on.
    pub targets: &'static [TargetKind],
    /// The least role allowed, and the target kinds where a lesser role suffices.
    pub role: Role,
    pub role_on: &'static [(TargetKind, Role)],
    /// A reason and a ticket are required.
    pub needs_reason: bool,
    /// Target kinds on which the operator types the target's name (the CVE for an
    /// emergency) to confirm.
    pub typed_name: &'static [TargetKind],
    /// Host states in which a host can take it (host verbs only).
    pub host_states: &'static [HostState],
    /// It acts on the host's exception (renew, revoke): the host must have one.
    pub on_exception: bool,
}

impl VerbSpec {
    /// The least role allowed to perform the verb on a kind of target.
    pub fn required_role(&self, kind: TargetKind) -> Role {
        self.role_on
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(self.role, |(_, role)| *role)
    }

    /// Does confirming it on this kind of target take typing the target's name?
    pub fn types_name(&self, kind: TargetKind) -> bool {
        self.typed_name.contains(&kind)
    }

    /// Can a host in `state` take it?
    pub fn host_eligible(&self, state: HostState) -> bool {
        self.host_states.contains(&state)
    }

    /// Can this host take it: its state, and an exception for the verbs that act on one.
    pub fn host_takes(&self, host: &Host) -> bool {
        self.host_eligible(host.state) && (!self.on_exception || host.exception.is_some())
    }
}

const NOT_EXCLUDED: [HostState; 11] = [
    HostState::Pending,
    HostState::Downloading,
    HostState::Installing,
    HostState::PendingReboot,
    HostState::Rebooting,
    HostState::Verifying,
    HostState::Succeeded,
    HostState::Failed,
    HostState::RolledBack,
    HostState::Offline,
    HostState::Deferred,
];

/// Every verb, in the order the API lists them. A new verb is one entry here (and its
/// variant) plus its handler in the engine.
pub const VERBS: [VerbSpec; 11] = [
    VerbSpec {
        verb: Verb::Approve,
        word: "approve",
        past: "approved",
        key_action: "approve",
        default_key: "a",
        when_paused: false,
        targets: &[TargetKind::Deployment],
        role: Role::Approver,
        role_on: &[],
        needs_reason: false,
        typed_name: &[],
        host_states: &[],
        on_exception: false,
    },
    VerbSpec {
        verb: Verb::Decline,
        word: "decline",
        past: "declined",
        key_action: "decline",
        default_key: "d",
        when_paused: false,
        targets: &[TargetKind::Deployment],
        role: Role::Approver,
        role_on: &[],
        needs_reason: false,
        typed_name: &[],
        host_states: &[],
        on_exception: false,
    },
    VerbSpec {
        verb: Verb::Pause,
        word: "pause",
        past: "paused",
        key_action: "pause-resume",
        default_key: "p",
        when_paused: false,
        targets: &[TargetKind::Deployment, TargetKind::Ring],
        role: Role::Operator,
        role_on: &[],
        needs_reason: false,
        typed_name: &[],
        host_states: &[],
        on_exception: false,
    },
    VerbSpec {
        verb: Verb::Resume,
        word: "resume",
        past: "resumed",
        key_action: "pause-resume",
        default_key: "p",
        when_paused: true,
        targets: &[TargetKind::Deployment, TargetKind::Ring],
        role: Role::Operator,
        role_on: &[],
        needs_reason: false,
        typed_name: &[],
        host_states: &[],
        on_exception: false,
    },
    VerbSpec {
        verb: Verb::Halt,
        word: "halt",
        past: "halted",
        key_action: "halt",
        default_key: "H",
        when_paused: false,
        targets: &[TargetKind::Deployment],
        role: Role::Approver,
        role_on: &[],
        needs_reason: true,
        typed_name: &[TargetKind::Deployment],
        host_states: &[],
        on_exception: false,
    },
    VerbSpec {
        verb: Verb::Retry,
        word: "retry",
        past: "retried",
        key_action: "retry",
        default_key: "r",
        when_paused: false,
        targets: &[TargetKind::Host],
        role: Role::Operator,
        role_on: &[],
        needs_reason: false,
        typed_name: &[],
        host_states: &[HostState::Failed],
        on_exception: false,
    },
    VerbSpec {
        verb: Verb::Exclude,
        word: "exclude",
        past: "excluded",
        key_action: "exclude",
        default_key: "x",
        when_paused: false,
        targets: &[TargetKind::Host],
        role: Role::Operator,
        role_on: &[],
        needs_reason: true,
        typed_name: &[],
        host_states: &NOT_EXCLUDED,
        on_exception: false,
    },
    VerbSpec {
        verb: Verb::Renew,
        word: "renew",
        past: "renewed",
        key_action: "renew",
        default_key: "n",
        when_paused: false,
        targets: &[TargetKind::Host],
        role: Role::Operator,
        role_on: &[],
        needs_reason: true,
        typed_name: &[],
        host_states: &HostState::ALL,
        on_exception: true,
    },
    VerbSpec {
        verb: Verb::Revoke,
        word: "revoke",
        past: "revoked",
        key_action: "revoke",
        default_key: "X",
        when_paused: false,
        targets: &[TargetKind::Host],
        role: Role::Operator,
        role_on: &[],
        needs_reason: true,
        typed_name: &[],
        host_states: &HostState::ALL,
        on_exception: true,
    },
    VerbSpec {
        verb: Verb::Rollback,
        word: "rollback",
        past: "rolled back",
        key_action: "rollback",
        default_key: "R",
        when_paused: false,
        targets: &[TargetKind::Deployment, TargetKind::Ring, TargetKind::Host],
        role: Role::Approver,
        role_on: &[(TargetKind::Host, Role::Operator)],
        needs_reason: true,
        typed_name: &[TargetKind::Ring],
        host_states: &[
            HostState::Succeeded,
            HostState::Failed,
            HostState::PendingReboot,
        ],
        on_exception: false,
    },
    VerbSpec {
        verb: Verb::Emergency,
        word: "emergency",
        past: "started as an emergency",
        key_action: "emergency",
        default_key: "E",
        when_paused: false,
        targets: &[TargetKind::Fleet],
        role: Role::Approver,
        role_on: &[],
        needs_reason: true,
        typed_name: &[TargetKind::Fleet],
        host_states: &[],
        on_exception: false,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    Deployment,
    Ring,
    Host,
    Fleet,
}

impl TargetKind {
    pub const ALL: [TargetKind; 4] = [
        TargetKind::Deployment,
        TargetKind::Ring,
        TargetKind::Host,
        TargetKind::Fleet,
    ];

    /// The word used in the API and on screen ("deployment"), as serde spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Deployment => "deployment",
            TargetKind::Ring => "ring",
            TargetKind::Host => "host",
            TargetKind::Fleet => "fleet",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    pub kind: TargetKind,
    pub id: String,
}

/// Who may do what. Ordered: an approver may do everything an operator may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Viewer,
    Operator,
    Approver,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Approver => "approver",
        }
    }

    /// The least role allowed to perform `verb` on `target`.
    pub fn required_for(verb: Verb, target: TargetKind) -> Role {
        verb.spec().required_role(target)
    }
}
