//! Patch groups to rings, `AWS-RunPatchBaseline` commands to deployments (MaxConcurrency
//! as the rate, MaxErrors as the failure gate), patch rows to patches.

use chrono::{DateTime, Utc};

use super::super::wire::{Command, CommandDetails, CommandStatus, PatchGroup, PatchRow};
use super::{Limit, operating_system_words, slug};
use crate::model::{
    Deployment, DeploymentLimits, DeploymentState, Gate, GateMode, GateState, Host, HostCounts,
    MaintenanceWindow, Patch, PatchKind, Ring, RingKind, RingState, Severity,
};

/// The ring id of a patch group.
pub fn ring_id(group: &str) -> String {
    slug(group)
}

/// A deployment with what the model has no field for yet: its command's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedDeployment {
    pub deployment: Deployment,
    /// `MaxConcurrency`: how many hosts install at once.
    pub rate: Limit,
    /// `MaxErrors`: how many failures stop the command.
    pub failure_gate: Limit,
    /// The patch groups the command targets (ring ids).
    pub ring_ids: Vec<String>,
}

fn counted(hosts: &[&Host]) -> HostCounts {
    let mut counts = HostCounts::default();
    for host in hosts {
        counts.add(host.state);
    }
    counts
}

fn in_flight(status: &CommandStatus) -> DeploymentState {
    match status {
        CommandStatus::Pending | CommandStatus::InProgress | CommandStatus::Cancelling => {
            DeploymentState::Running
        }
        CommandStatus::Success => DeploymentState::Completed,
        CommandStatus::Cancelled | CommandStatus::Failed | CommandStatus::TimedOut => {
            DeploymentState::Halted
        }
        CommandStatus::Unknown(_) => DeploymentState::Running,
    }
}

/// The deployment state of a command and why, from its `StatusDetails` (finer) and its
/// `Status` where the details only repeat it or are unknown.
fn command_state(command: &Command, failure_gate: &Limit) -> (DeploymentState, Option<String>) {
    let failed = format!("{} of {}", command.error_count, command.target_count);
    let reason = |text: &str| Some(text.to_string());
    match &command.details {
        CommandDetails::Pending | CommandDetails::InProgress | CommandDetails::Delayed => {
            (DeploymentState::Running, None)
        }
        CommandDetails::Cancelling => (
            DeploymentState::Running,
            reason("cancel requested: invocations still running"),
        ),
        CommandDetails::Cancelled => (DeploymentState::Halted, reason("cancelled")),
        CommandDetails::Success => (DeploymentState::Completed, None),
        CommandDetails::Failed => (
            DeploymentState::Halted,
            Some(format!(
                "MaxErrors {} exceeded: {failed} failed",
                failure_gate.words()
            )),
        ),
        CommandDetails::Incomplete => (
            DeploymentState::Completed,
            Some(format!(
                "incomplete: {failed} failed, not enough to pass MaxErrors"
            )),
        ),
        CommandDetails::AccessDenied => (
            DeploymentState::Halted,
            reason("access denied to the command's role or targets"),
        ),
        CommandDetails::DeliveryTimedOut => (DeploymentState::Halted, reason("delivery timed out")),
        CommandDetails::ExecutionTimedOut => {
            (DeploymentState::Halted, reason("execution timed out"))
        }
        CommandDetails::NoInstancesInTag => (
            DeploymentState::Halted,
            reason("no instances carry the target tag"),
        ),
        CommandDetails::LimitExceeded => {
            (DeploymentState::Halted, reason("an SSM limit was exceeded"))
        }
        CommandDetails::RateExceeded => (DeploymentState::Halted, reason("SSM rate exceeded")),
        CommandDetails::Unknown(word) if word.is_empty() => (in_flight(&command.status), None),
        CommandDetails::Unknown(word) => {
            let state = in_flight(&command.status);
            let why = format!(
                "SSM status '{}' / '{word}' (unknown to patchdeck)",
                command.status.as_str()
            );
            (state, Some(why))
        }
    }
}

/// The patch groups a command targets (`tag:Patch Group` / `tag:PatchGroup` values).
fn target_groups(command: &Command) -> Vec<String> {
    let mut groups = Vec::new();
    for (key, values) in &command.targets {
        if matches!(key.as_str(), "tag:Patch Group" | "tag:PatchGroup") {
            groups.extend(values.iter().map(|g| ring_id(g)));
        }
    }
    groups
}

/// The deployment of one `AWS-RunPatchBaseline` command, counted over `hosts` (the
/// hosts of its invocations), as of `now`.
pub fn deployment(command: &Command, hosts: &[&Host], now: DateTime<Utc>) -> MappedDeployment {
    let rate = Limit::parse(&command.max_concurrency);
    let failure_gate = Limit::parse(&command.max_errors);
    let (state, state_reason) = command_state(command, &failure_gate);
    let ring_ids = target_groups(command);
    let name = if command.comment.is_empty() {
        let rings = if ring_ids.is_empty() {
            "instances".into()
        } else {
            ring_ids.join(", ")
        };
        format!(
            "{} {} on {rings}",
            command.document,
            command.operation.as_deref().unwrap_or("Install")
        )
    } else {
        command.comment.clone()
    };
    let current_ring = match state {
        DeploymentState::Running => ring_ids.first().cloned(),
        _ => None,
    };
    let deployment = Deployment {
        id: format!("cmd-{}", command.id),
        name,
        patch_ids: Vec::new(),
        rings: ring_ids.clone(),
        current_ring,
        next_ring: None,
        state,
        state_reason,
        emergency: false,
        approvals: Vec::new(),
        pending_approval: None,
        counts: counted(hosts),
        rate_per_hour: 0.0,
        eta: None,
        created_at: command.requested.unwrap_or(now),
        created_by: "ssm".into(),
        requested_state: None,
        as_of: None,
        limits: Some(DeploymentLimits {
            rate: rate.words(),
            failure_gate: failure_gate.words(),
        }),
        version: 1,
    };
    MappedDeployment {
        deployment,
        rate,
        failure_gate,
        ring_ids,
    }
}

/// The ring of a patch group at position `order`, with its `hosts` and the latest
/// patch command that targeted it.
pub fn ring(
    group: &PatchGroup,
    order: u32,
    hosts: &[&Host],
    latest: Option<&MappedDeployment>,
) -> Ring {
    let (state, reason) =
        match latest.map(|d| (d.deployment.state, d.deployment.state_reason.clone())) {
            None => (RingState::Waiting, None),
            Some((DeploymentState::Running, reason)) => (RingState::Deploying, reason),
            Some((DeploymentState::Completed, reason)) => (RingState::Done, reason),
            Some((DeploymentState::Halted, reason)) => (RingState::Halted, reason),
            Some((DeploymentState::Paused, reason)) => (RingState::Paused, reason),
            Some((
                DeploymentState::AwaitingApproval
                | DeploymentState::RollingBack
                | DeploymentState::RolledBack
                | DeploymentState::Declined,
                reason,
            )) => (RingState::Waiting, reason),
        };
    let failure_threshold_pct = match latest.map(|d| &d.failure_gate) {
        Some(Limit::Percent(p)) => (*p).max(1),
        _ => 5,
    };
    let gate_state = match state {
        RingState::Halted => GateState::Blocked,
        RingState::Done => GateState::AwaitingApproval,
        RingState::Waiting | RingState::Deploying | RingState::Soaking | RingState::Paused => {
            GateState::NotReached
        }
    };
    Ring {
        id: ring_id(&group.name),
        name: group.name.clone(),
        order,
        kind: RingKind::Servers,
        site: Some(operating_system_words(&group.operating_system)),
        production: false,
        state,
        gate: Gate {
            mode: GateMode::Manual,
            success_threshold_pct: 95,
            failure_threshold_pct,
            min_soak_secs: 0,
            state: gate_state,
            blocked_reason: if gate_state == GateState::Blocked {
                reason.clone()
            } else {
                None
            },
        },
        window: MaintenanceWindow::always("UTC", 0),
        soak_ends_at: None,
        state_reason: reason,
        groups: Default::default(),
        counts: counted(hosts),
        as_of: None,
        version: 1,
    }
}

/// MSRC words for Windows; Linux repositories' words to the nearest.
fn severity(word: &str) -> Severity {
    match word.to_ascii_lowercase().as_str() {
        "critical" => Severity::Critical,
        "important" | "high" => Severity::Important,
        "moderate" | "medium" => Severity::Moderate,
        _ => Severity::Low,
    }
}

fn kind(classification: &str, title: &str) -> PatchKind {
    if title.to_ascii_lowercase().contains("cumulative") {
        return PatchKind::CumulativeUpdate;
    }
    match classification {
        "UpdateRollups" => PatchKind::Rollup,
        "Drivers" => PatchKind::Driver,
        "Applications" => PatchKind::Application,
        _ => PatchKind::Hotfix,
    }
}

/// The patch of a `DescribeInstancePatches` row; `product` from the baseline's OS.
/// SSM says nothing of supersedence, reboots or uninstalling per patch.
pub fn patch(row: &PatchRow, product: &str, first_seen: DateTime<Utc>) -> Patch {
    Patch {
        id: row.kb.to_ascii_lowercase(),
        kb: row.kb.clone(),
        title: row.title.clone(),
        product: product.to_string(),
        kind: kind(&row.classification, &row.title),
        severity: severity(&row.severity),
        released_at: row.installed_time.unwrap_or(first_seen),
        cves: row.cves.clone(),
        exploited_cves: Vec::new(),
        reboot_required: false,
        uninstallable: false,
        supersedes: Vec::new(),
        version: 1,
    }
}
