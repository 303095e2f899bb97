//! Managed instances to hosts: reachability from the ping status, the lifecycle state
//! from the latest patch command's invocation and the patch state counts, failures
//! from the invocation's plugin and the patches in state FAILED.

use chrono::{DateTime, Utc};

use super::super::wire::{
    Instance, Invocation, InvocationDetails, InvocationStatus, PatchComplianceState, PatchRow,
    PatchState, PingStatus, Plugin, PluginStatus, RebootOption, ResourceType,
};
use super::{hresult, last_line, platform_words};
use crate::model::{Criticality, Failure, Host, HostKind, HostState, Interned};

/// Everything SSM says about one instance.
#[derive(Debug, Clone, Copy)]
pub struct HostEvidence<'a> {
    pub instance: &'a Instance,
    pub patch_state: Option<&'a PatchState>,
    /// Its invocation of the latest patch command that targeted it, if any.
    pub invocation: Option<&'a Invocation>,
    /// When that command was requested (a patch state older than it is stale).
    pub command_requested: Option<DateTime<Utc>>,
    /// The command's deployment id.
    pub deployment_id: Option<&'a str>,
    /// Its patches (or only those in FAILED), when fetched.
    pub patches: &'a [PatchRow],
    /// That command is a rollback (the operator's document, not an install): its
    /// outcome is rolled back or a rollback failure, never an install's.
    pub rollback: bool,
}

/// Is the instance answering, and if not why, in words.
fn reachable(ping: &PingStatus) -> Result<(), String> {
    match ping {
        PingStatus::Online => Ok(()),
        PingStatus::ConnectionLost => Err("SSM agent connection lost".into()),
        PingStatus::Inactive => Err("SSM agent inactive".into()),
        PingStatus::Unknown(word) => {
            Err(format!("SSM ping status '{word}' (unknown to patchdeck)"))
        }
    }
}

/// Where the instance runs, in words (shown as the host's model).
fn resource_words(resource: &ResourceType) -> String {
    match resource {
        ResourceType::Ec2Instance => "EC2 instance".into(),
        ResourceType::ManagedInstance => "hybrid managed node".into(),
        ResourceType::Unknown(word) if word.is_empty() => "managed node".into(),
        ResourceType::Unknown(word) => word.clone(),
    }
}

/// What an invocation says of the host's lifecycle, before the patch state is read.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Pending(String),
    Installing(Option<String>),
    /// Running, but the instance stopped answering.
    Rebooting,
    /// The document ran to the end: the patch state decides.
    Ran,
    Failed,
    /// Never reached the instance: not a failure (does not count against MaxErrors).
    Offline(String),
}

fn phase_by_status(status: &InvocationStatus, online: bool) -> Phase {
    match status {
        InvocationStatus::Pending => Phase::Pending("queued".into()),
        InvocationStatus::Delayed => Phase::Pending("delayed by SSM".into()),
        InvocationStatus::InProgress if online => Phase::Installing(None),
        InvocationStatus::InProgress => Phase::Rebooting,
        InvocationStatus::Success => Phase::Ran,
        InvocationStatus::Cancelled => Phase::Pending("cancelled".into()),
        InvocationStatus::Cancelling => Phase::Installing(Some("cancel requested".into())),
        InvocationStatus::Failed | InvocationStatus::TimedOut => Phase::Failed,
        InvocationStatus::Unknown(word) => Phase::Pending(format!(
            "SSM invocation status '{word}' (unknown to patchdeck)"
        )),
    }
}

/// The invocation's phase: its `StatusDetails` first (finer), its `Status` for details
/// that only repeat it or are unknown.
fn phase(invocation: &Invocation, online: bool) -> Phase {
    match &invocation.details {
        InvocationDetails::Pending
        | InvocationDetails::InProgress
        | InvocationDetails::Success
        | InvocationDetails::Failed
        | InvocationDetails::Unknown(_) => phase_by_status(&invocation.status, online),
        InvocationDetails::Delayed => Phase::Pending("delayed by SSM".into()),
        InvocationDetails::Cancelled => Phase::Pending("cancelled".into()),
        InvocationDetails::Cancelling => Phase::Installing(Some("cancel requested".into())),
        InvocationDetails::AccessDenied
        | InvocationDetails::ExecutionTimedOut
        | InvocationDetails::InvalidPlatform => Phase::Failed,
        InvocationDetails::DeliveryTimedOut => Phase::Offline("delivery timed out".into()),
        InvocationDetails::Undeliverable => Phase::Offline("undeliverable".into()),
        InvocationDetails::Terminated => Phase::Pending("not attempted: MaxErrors tripped".into()),
    }
}

/// Did this plugin fail (its status, in words when not)?
fn plugin_failed(plugin: &Plugin) -> bool {
    match &plugin.status {
        PluginStatus::Failed | PluginStatus::TimedOut => true,
        PluginStatus::Pending
        | PluginStatus::InProgress
        | PluginStatus::Success
        | PluginStatus::Cancelled => false,
        PluginStatus::Unknown(_) => plugin.response_code > 0,
    }
}

/// The failure of a failed invocation: code = the first HRESULT in the plugin output,
/// else `ssm-exit-<ResponseCode>`, else `ssm-<StatusDetails>`; the patch is the first
/// FAILED patch when known.
pub fn host_failure(invocation: &Invocation, patches: &[PatchRow], at: DateTime<Utc>) -> Failure {
    let plugin = invocation
        .plugins
        .iter()
        .find(|p| plugin_failed(p))
        .or(invocation.plugins.first());
    let failed_patch = patches
        .iter()
        .find(|p| p.state == PatchComplianceState::Failed)
        .map(|p| p.kb.to_ascii_lowercase());
    let output = plugin.map_or("", |p| p.output.as_str());
    let code = match (hresult(output), plugin.map(|p| p.response_code)) {
        (Some(code), _) => code,
        (None, Some(exit)) if exit > 0 => format!("ssm-exit-{exit}"),
        _ => format!("ssm-{}", invocation.details.as_str()),
    };
    let details = plugin.map_or(invocation.details.as_str(), |p| p.details.as_str());
    let message = match last_line(output) {
        Some(line) => format!("{details}: {line}"),
        None => details.to_string(),
    };
    Failure {
        code: code.into(),
        message: message.into(),
        patch_id: failed_patch.map(Interned::from),
        at: plugin.and_then(|p| p.finished).unwrap_or(at),
    }
}

/// A patch state's verdict when the document ran (or when no command is known).
fn by_counts(
    state: &PatchState,
    patches: &[PatchRow],
) -> (HostState, Option<String>, Option<Failure>) {
    let failed_kb = || {
        patches
            .iter()
            .find(|p| p.state == PatchComplianceState::Failed)
            .map(|p| p.kb.to_ascii_lowercase())
    };
    if state.failed > 0 {
        let failure = Failure {
            code: "patch-failed".into(),
            message: format!(
                "{} patch(es) in state FAILED after {}",
                state.failed,
                state.operation.as_str()
            )
            .into(),
            patch_id: failed_kb().map(Interned::from),
            at: state.operation_end,
        };
        return (HostState::Failed, None, Some(failure));
    }
    if state.installed_pending_reboot > 0 {
        let note = match &state.reboot_option {
            Some(RebootOption::NoReboot) => "NoReboot: the reboot is left to the operator".into(),
            Some(RebootOption::RebootIfNeeded) => "reboot expected (RebootIfNeeded)".into(),
            Some(RebootOption::Unknown(word)) => format!("reboot option '{word}'"),
            None => "installed, reboot pending".into(),
        };
        return (HostState::PendingReboot, Some(note), None);
    }
    if state.missing > 0 {
        let note = format!("{} patch(es) missing", state.missing);
        return (HostState::Pending, Some(note), None);
    }
    (HostState::Succeeded, None, None)
}

/// The host's state, a note for its history and its failure.
fn state(
    evidence: &HostEvidence,
    now: DateTime<Utc>,
) -> (HostState, Option<String>, Option<Failure>) {
    let online = reachable(&evidence.instance.ping);
    let Some(invocation) = evidence.invocation else {
        return match (online, evidence.patch_state) {
            (Err(why), _) => (HostState::Offline, Some(why), None),
            (Ok(()), Some(state)) => by_counts(state, evidence.patches),
            (Ok(()), None) => (
                HostState::Pending,
                Some("no patch state reported yet".into()),
                None,
            ),
        };
    };
    if evidence.rollback {
        return rollback_state(evidence, invocation, online.is_ok(), now);
    }
    match phase(invocation, online.is_ok()) {
        Phase::Pending(note) => (HostState::Pending, Some(note), None),
        Phase::Installing(note) => (HostState::Installing, note, None),
        Phase::Rebooting => (
            HostState::Rebooting,
            Some("not reporting (reboot?)".into()),
            None,
        ),
        Phase::Offline(note) => (HostState::Offline, Some(note), None),
        Phase::Failed => {
            let failure = host_failure(invocation, evidence.patches, now);
            (HostState::Failed, None, Some(failure))
        }
        Phase::Ran => {
            let fresh = evidence.patch_state.filter(|s| {
                evidence
                    .command_requested
                    .is_none_or(|asked| s.operation_end >= asked)
            });
            match fresh {
                None => (
                    HostState::Verifying,
                    Some("waiting for a compliance report".into()),
                    None,
                ),
                Some(state) if state.missing > 0 && state.failed == 0 => {
                    let failure = Failure {
                        code: "missing-after-install".into(),
                        message: format!("{} patch(es) still missing after install", state.missing)
                            .into(),
                        patch_id: None,
                        at: state.operation_end,
                    };
                    (HostState::Failed, None, Some(failure))
                }
                Some(state) => by_counts(state, evidence.patches),
            }
        }
    }
}

/// A host whose newest command is a rollback: rolled back when it ran to the end
/// (the operator's document says nothing of patch states), a failure with code
/// `rollback-<code>` ("rollback failed: ...") when it failed; in flight, the install
/// words with a note that it is a rollback.
fn rollback_state(
    evidence: &HostEvidence,
    invocation: &Invocation,
    online: bool,
    now: DateTime<Utc>,
) -> (HostState, Option<String>, Option<Failure>) {
    match phase(invocation, online) {
        Phase::Ran => (
            HostState::RolledBack,
            Some("rolled back by the operator's document".into()),
            None,
        ),
        Phase::Failed => {
            let mut failure = host_failure(invocation, evidence.patches, now);
            failure.code = format!("rollback-{}", failure.code).into();
            failure.message = format!("rollback failed: {}", failure.message).into();
            (HostState::Failed, None, Some(failure))
        }
        Phase::Pending(note) => (HostState::Pending, Some(format!("rollback {note}")), None),
        Phase::Installing(note) => (
            HostState::Installing,
            Some(note.map_or_else(|| "rolling back".into(), |n| format!("rolling back, {n}"))),
            None,
        ),
        Phase::Rebooting => (
            HostState::Rebooting,
            Some("rolling back, not reporting (reboot?)".into()),
            None,
        ),
        Phase::Offline(note) => (HostState::Offline, Some(format!("rollback {note}")), None),
    }
}

/// Output lines an invocation's words carry, and columns each.
const OUTPUT_LINES: usize = 3;
const OUTPUT_COLUMNS: usize = 120;

/// What one invocation did, as a host's history says it (no patch state: that is the
/// newest invocation's alone): the document ran, failed, or is on its way.
pub fn invocation_state(invocation: &Invocation, rollback: bool) -> HostState {
    match phase(invocation, true) {
        Phase::Pending(_) => HostState::Pending,
        Phase::Installing(_) => HostState::Installing,
        Phase::Rebooting => HostState::Rebooting,
        Phase::Ran if rollback => HostState::RolledBack,
        Phase::Ran => HostState::Succeeded,
        Phase::Failed => HostState::Failed,
        Phase::Offline(_) => HostState::Offline,
    }
}

/// One invocation in words, made safe: its `StatusDetails`, the failing (else first)
/// plugin's `ResponseCode` and the first lines of its output ("StatusDetails Failed,
/// ResponseCode 1: Installing KB5070007 | Installation failed 0x800f0922").
pub fn invocation_words(invocation: &Invocation) -> String {
    let mut words = format!("StatusDetails {}", invocation.details.as_str());
    let plugin = invocation
        .plugins
        .iter()
        .find(|p| plugin_failed(p))
        .or(invocation.plugins.first());
    if let Some(plugin) = plugin {
        if plugin.response_code >= 0 {
            words.push_str(&format!(", ResponseCode {}", plugin.response_code));
        }
        let lines: Vec<String> = plugin
            .output
            .lines()
            .map(|l| crate::text::clean(l.trim()).into_owned())
            .filter(|l| !l.is_empty())
            .take(OUTPUT_LINES)
            .map(|l| crate::text::fit(&l, OUTPUT_COLUMNS))
            .collect();
        if !lines.is_empty() {
            words.push_str(": ");
            words.push_str(&lines.join(" | "));
        }
    }
    words
}

/// The host of one managed instance in ring `ring_id`, as of `now`.
pub fn host(evidence: &HostEvidence, ring_id: &str, now: DateTime<Utc>) -> Host {
    let instance = evidence.instance;
    let (state, _note, failure) = state(evidence, now);
    let name = instance
        .computer_name
        .clone()
        .or_else(|| instance.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| instance.id.clone());
    let os = format!("{} {}", instance.platform_name, instance.platform_version);
    let os = if os.trim().is_empty() {
        platform_words(&instance.platform)
    } else {
        os.trim().to_string()
    };
    let installed = evidence
        .patches
        .iter()
        .filter(|p| installed(&p.state))
        .map(|p| Interned::from(p.kb.to_ascii_lowercase()))
        .collect();
    Host {
        id: instance.id.as_str().into(),
        name: name.into(),
        ring_id: ring_id.into(),
        kind: HostKind::Server,
        site: platform_words(&instance.platform).into(),
        os: os.into(),
        model: resource_words(&instance.resource_type).into(),
        group_id: None,
        tier: None,
        criticality: Criticality::Medium,
        exposed: false,
        roaming: false,
        state,
        deployment_id: evidence.deployment_id.map(Interned::from),
        failure: failure.map(Box::new),
        last_seen: instance.last_ping.unwrap_or(now),
        deferred_until: None,
        exception: None,
        installed,
        history: Vec::new(),
        updated_at: now,
        as_of: None,
        version: 1,
    }
}

/// Is a patch in this state installed (verified by SSM)?
pub fn installed(state: &PatchComplianceState) -> bool {
    match state {
        PatchComplianceState::Installed
        | PatchComplianceState::InstalledOther
        | PatchComplianceState::InstalledPendingReboot
        | PatchComplianceState::InstalledRejected => true,
        PatchComplianceState::Missing
        | PatchComplianceState::NotApplicable
        | PatchComplianceState::Failed
        | PatchComplianceState::AvailableSecurityUpdate
        | PatchComplianceState::Unknown(_) => false,
    }
}

/// The state note of a host (why it is in its state), for the host detail.
pub fn host_note(evidence: &HostEvidence, now: DateTime<Utc>) -> Option<String> {
    state(evidence, now).1
}
