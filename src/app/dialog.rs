//! Fleet actions as values: a key plans an action (target, blast radius), the plan opens
//! a dialog, and only a confirmed dialog emits `Effect::Act`. Nothing destructive can
//! skip its dialog, and one confirmation sends each request once (with a fixed
//! Idempotency-Key that a retry reuses).

use std::collections::{BTreeMap, BTreeSet};

use tui_input::Input;

use super::outcome::TargetOutcome;
use crate::backend::ActionRequest;
use crate::model::{
    Criticality, Deployment, DeploymentState, Fleet, Host, HostKind, HostState, Patch, Ring, Role,
    Target, TargetKind, Verb, WindowStatus,
};

/// One thing an action will be sent to, as the operator saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTarget {
    pub target: Target,
    pub name: String,
    /// Version seen when planning: sent as If-Match.
    pub version: u64,
    /// State seen when planning, in words, to say what changed on a 412.
    pub seen_state: String,
}

/// What an action will touch, shown before anything is sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlastRadius {
    pub rings: Vec<String>,
    pub hosts: u32,
    pub servers: u32,
    /// "payments (web, app, db)" for each server patching group touched.
    pub groups: Vec<String>,
    /// Hosts that will reboot.
    pub reboots: u32,
    /// Patches that cannot be uninstalled, and hosts where a rollback needs a restore.
    pub not_uninstallable: Vec<String>,
    pub restore_hosts: u32,
    /// When it will run: each ring's maintenance window now.
    pub windows: Vec<String>,
    /// Hosts skipped and why ("3 hosts are not failed: not retried").
    pub notes: Vec<String>,
}

/// A fleet action ready for confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAction {
    pub verb: Verb,
    /// "Halt deployment 2026-11 Patch Tuesday"
    pub title: String,
    pub targets: Vec<PlannedTarget>,
    pub blast: BlastRadius,
    /// The operator must type this (case-insensitive) to confirm.
    pub confirm_text: Option<String>,
    /// Emergency: the patch and CVE.
    pub patch_id: Option<String>,
    pub cve: Option<String>,
}

impl PlannedAction {
    pub fn needs_reason(&self) -> bool {
        self.verb.needs_reason()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Reason,
    Ticket,
    Confirm,
}

/// Where a dialog stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Editing,
    /// Requests sent; waiting for these idempotency keys.
    Sending {
        waiting: BTreeSet<String>,
    },
    /// Some requests did not succeed: what to tell, and whether Enter sends again.
    Problem {
        message: String,
        resend: Resend,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// Enter plans again against the current fleet (after a 412).
    Replan,
    /// Enter sends the failed requests again with the same keys (after a timeout).
    SameKeys,
    /// Nothing to retry; Enter closes.
    No,
}

#[derive(Debug, Clone)]
pub struct ConfirmDialog {
    pub plan: PlannedAction,
    pub reason: Input,
    pub ticket: Input,
    pub confirm: Input,
    pub field: Field,
    pub error: Option<String>,
    pub stage: Stage,
    /// Idempotency key of each target (same order as plan.targets).
    pub keys: Vec<String>,
    /// Keys whose request succeeded.
    pub done: BTreeSet<String>,
    /// Results to report when the dialog closes.
    pub outcomes: Vec<TargetOutcome>,
}

impl ConfirmDialog {
    pub fn new(plan: PlannedAction, keys: Vec<String>) -> ConfirmDialog {
        let field = if plan.needs_reason() {
            Field::Reason
        } else if plan.confirm_text.is_some() {
            Field::Confirm
        } else {
            Field::Reason
        };
        ConfirmDialog {
            plan,
            reason: Input::default(),
            ticket: Input::default(),
            confirm: Input::default(),
            field,
            error: None,
            stage: Stage::Editing,
            keys,
            done: BTreeSet::new(),
            outcomes: Vec::new(),
        }
    }

    pub fn fields(&self) -> Vec<Field> {
        let mut fields = vec![Field::Reason, Field::Ticket];
        if self.plan.confirm_text.is_some() {
            fields.push(Field::Confirm);
        }
        fields
    }

    pub fn input_mut(&mut self, field: Field) -> &mut Input {
        match field {
            Field::Reason => &mut self.reason,
            Field::Ticket => &mut self.ticket,
            Field::Confirm => &mut self.confirm,
        }
    }

    /// What is missing before the action may be sent, and which field to fix.
    pub fn validate(&self) -> Result<(), (Field, String)> {
        if self.plan.targets.is_empty() {
            return Err((self.field, "nothing to act on".into()));
        }
        if self.plan.needs_reason() {
            if self.reason.value().trim().is_empty() {
                return Err((
                    Field::Reason,
                    format!("a reason is required to {}", self.plan.verb.as_str()),
                ));
            }
            if self.ticket.value().trim().is_empty() {
                return Err((
                    Field::Ticket,
                    format!("a ticket is required to {}", self.plan.verb.as_str()),
                ));
            }
        }
        if let Some(expected) = &self.plan.confirm_text
            && !self
                .confirm
                .value()
                .trim()
                .eq_ignore_ascii_case(expected.trim())
        {
            return Err((Field::Confirm, format!("type `{expected}` to confirm")));
        }
        Ok(())
    }

    /// The request for one planned target: the reason and ticket as typed, and the
    /// version seen as `If-Match`.
    pub fn request(&self, planned: &PlannedTarget) -> ActionRequest {
        let text = |input: &Input| {
            let value = input.value().trim();
            (!value.is_empty()).then(|| value.to_string())
        };
        ActionRequest {
            verb: self.plan.verb,
            target: planned.target.clone(),
            reason: text(&self.reason),
            ticket: text(&self.ticket),
            patch_id: self.plan.patch_id.clone(),
            cve: self.plan.cve.clone(),
            if_match: Some(planned.version),
        }
    }
}

/// The least role for a verb on a target kind, and whether this identity has it.
pub fn role_check(
    verb: Verb,
    kind: TargetKind,
    role: Option<Role>,
    read_only: bool,
) -> Result<(), String> {
    if read_only {
        return Err("read-only: actions are disabled".into());
    }
    let needed = Role::required_for(verb, kind);
    match role {
        Some(role) if role < needed => Err(format!(
            "needs role {} (you are {})",
            needed.as_str(),
            role.as_str()
        )),
        _ => Ok(()),
    }
}

fn window_words(ring: &Ring, now: chrono::DateTime<chrono::Utc>) -> String {
    match ring.window.status(now) {
        WindowStatus::Open { closes_at } => format!(
            "{}: window open now ({} left)",
            ring.name,
            crate::text::duration(closes_at - now)
        ),
        WindowStatus::Closed { opens_at } => format!(
            "{}: waits for its window, opens in {}",
            ring.name,
            crate::text::duration(opens_at - now)
        ),
    }
}

/// Count hosts, servers, groups and reboots of a host set into a blast radius.
fn measure_hosts<'a>(
    fleet: &Fleet,
    hosts: impl IntoIterator<Item = &'a Host>,
    patches: &[&Patch],
    rolling_back: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> BlastRadius {
    let mut blast = BlastRadius::default();
    let mut rings = BTreeSet::new();
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let reboot = patches.iter().any(|p| p.reboot_required);
    let mut stuck_kbs: BTreeSet<String> = BTreeSet::new();
    for host in hosts {
        // A rollback touches what the host has installed: it reboots to uninstall, and
        // what cannot be uninstalled means a restore.
        let (reboots, restore) = if rolling_back {
            let installed: Vec<&&Patch> = patches
                .iter()
                .filter(|p| host.installed.contains(&p.id))
                .collect();
            let stuck: Vec<&&&Patch> = installed.iter().filter(|p| !p.uninstallable).collect();
            stuck_kbs.extend(stuck.iter().map(|p| p.kb.clone()));
            (
                installed
                    .iter()
                    .any(|p| p.uninstallable && p.reboot_required),
                !stuck.is_empty(),
            )
        } else {
            (reboot, false)
        };
        blast.hosts += 1;
        rings.insert(host.ring_id.clone());
        if host.kind == HostKind::Server {
            blast.servers += 1;
            if let Some(group) = &host.group_id {
                let tiers = groups.entry(group.clone()).or_default();
                if let Some(tier) = host.tier {
                    tiers.insert(format!("{tier:?}").to_lowercase());
                }
            }
        }
        if reboots {
            blast.reboots += 1;
        }
        if restore {
            blast.restore_hosts += 1;
        }
    }
    blast.not_uninstallable = stuck_kbs.into_iter().collect();
    for ring_id in &rings {
        if let Some(ring) = fleet.rings.get(ring_id) {
            blast.rings.push(ring.name.clone());
            blast.windows.push(window_words(ring, now));
            for group in &ring.groups {
                if let Some(tiers) = groups.get(&group.id) {
                    blast.groups.push(format!(
                        "{} / {} ({})",
                        group.name,
                        group.service,
                        tiers.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        } else {
            blast.rings.push(ring_id.clone());
        }
    }
    blast
}

fn deployment_patches<'a>(fleet: &'a Fleet, deployment: &Deployment) -> Vec<&'a Patch> {
    deployment
        .patch_ids
        .iter()
        .filter_map(|id| fleet.patches.get(id))
        .collect()
}

fn deployment_target(deployment: &Deployment) -> PlannedTarget {
    PlannedTarget {
        target: Target {
            kind: TargetKind::Deployment,
            id: deployment.id.clone(),
        },
        name: deployment.name.clone(),
        version: deployment.version,
        seen_state: state_word(deployment.state),
    }
}

fn ring_target(ring: &Ring) -> PlannedTarget {
    PlannedTarget {
        target: Target {
            kind: TargetKind::Ring,
            id: ring.id.clone(),
        },
        name: ring.name.clone(),
        version: ring.version,
        seen_state: state_word(ring.state),
    }
}

fn host_target(host: &Host) -> PlannedTarget {
    PlannedTarget {
        target: Target {
            kind: TargetKind::Host,
            id: host.id.clone(),
        },
        name: host.name.clone(),
        version: host.version,
        seen_state: host.state.as_str().to_string(),
    }
}

/// Hosts a deployment has touched (anything installed or attempted).
fn touched_hosts<'a>(fleet: &'a Fleet, deployment_id: &str, ring: Option<&str>) -> Vec<&'a Host> {
    fleet
        .hosts
        .values()
        .filter(|h| {
            h.deployment_id.as_deref() == Some(deployment_id)
                && ring.is_none_or(|r| h.ring_id == r)
                && matches!(
                    h.state,
                    HostState::Succeeded
                        | HostState::Failed
                        | HostState::Installing
                        | HostState::PendingReboot
                        | HostState::Rebooting
                        | HostState::Verifying
                )
        })
        .collect()
}

/// The deployment running in a ring (for ring rollback), if any.
fn deployment_in_ring<'a>(fleet: &'a Fleet, ring_id: &str) -> Option<&'a Deployment> {
    fleet
        .deployments
        .values()
        .filter(|d| d.rings.iter().any(|r| r == ring_id))
        .max_by_key(|d| (d.state.is_active(), d.created_at))
}

/// Plan a deployment action.
pub fn plan_deployment(
    fleet: &Fleet,
    verb: Verb,
    deployment: &Deployment,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PlannedAction, String> {
    let patches = deployment_patches(fleet, deployment);
    let (blast, title) = match verb {
        // A halted deployment: approval resumes its ring once the failures are handled
        // (retried, excluded or rolled back); the fleet refuses it otherwise.
        Verb::Approve if deployment.state == DeploymentState::Halted => {
            let ring = deployment
                .current_ring
                .as_deref()
                .ok_or_else(|| format!("{} is halted outside any ring", deployment.name))?;
            let hosts = fleet.hosts.values().filter(|h| {
                h.ring_id == ring
                    && h.deployment_id.as_deref() == Some(deployment.id.as_str())
                    && matches!(h.state, HostState::Pending | HostState::Deferred)
            });
            let mut blast = measure_hosts(fleet, hosts, &patches, false, now);
            blast.notes.push(format!(
                "resumes {} where it halted; its soak starts again in full",
                fleet.ring_name(ring)
            ));
            let failed = fleet
                .hosts
                .values()
                .filter(|h| {
                    h.ring_id == ring
                        && h.deployment_id.as_deref() == Some(deployment.id.as_str())
                        && h.state == HostState::Failed
                })
                .count();
            if failed > 0 {
                blast.notes.push(format!(
                    "{failed} hosts still failed: retry, exclude or roll them back first, or the fleet refuses"
                ));
            }
            (
                blast,
                format!(
                    "Approve resuming {} in {}",
                    deployment.name,
                    fleet.ring_name(ring)
                ),
            )
        }
        Verb::Approve => {
            let next = deployment
                .next_ring
                .as_deref()
                .ok_or_else(|| format!("{} has no ring waiting for approval", deployment.name))?;
            if deployment.state != DeploymentState::AwaitingApproval {
                return Err(format!(
                    "{} is {}, not awaiting approval",
                    deployment.name,
                    state_word(deployment.state)
                ));
            }
            let hosts = fleet
                .hosts
                .values()
                .filter(|h| h.ring_id == next && h.state != HostState::Excluded);
            let mut blast = measure_hosts(fleet, hosts, &patches, false, now);
            if fleet.rings.get(next).is_some_and(|r| r.production) {
                blast.notes.push(format!(
                    "{} is a production ring: a second, different approver must also approve",
                    fleet.ring_name(next)
                ));
            }
            (
                blast,
                format!("Approve {} for {}", deployment.name, fleet.ring_name(next)),
            )
        }
        Verb::Decline | Verb::Pause | Verb::Resume | Verb::Halt => {
            let ring = deployment
                .current_ring
                .clone()
                .or(deployment.next_ring.clone());
            let hosts = fleet.hosts.values().filter(|h| {
                h.deployment_id.as_deref() == Some(deployment.id.as_str())
                    && (h.state.is_in_flight()
                        || h.state == HostState::Pending
                        || h.state == HostState::Deferred)
            });
            let mut blast = measure_hosts(fleet, hosts, &patches, false, now);
            blast.reboots = 0;
            let what = match verb {
                Verb::Decline => "no further ring will open",
                Verb::Pause => "no new installs start; installs under way finish",
                Verb::Resume => "installs start again in open windows",
                _ => "installs stop now; nothing new starts until resumed or rolled back",
            };
            blast.notes.push(format!(
                "{what} ({})",
                ring.map(|r| fleet.ring_name(&r))
                    .unwrap_or_else(|| "no ring".into())
            ));
            (
                blast,
                format!("{} {}", capitalised(verb.as_str()), deployment.name),
            )
        }
        Verb::Rollback => {
            let hosts = touched_hosts(fleet, &deployment.id, None);
            let mut blast = measure_hosts(fleet, hosts, &patches, true, now);
            rollback_notes(&mut blast);
            (blast, format!("Roll back {}", deployment.name))
        }
        other => return Err(format!("{} does not apply to a deployment", other.as_str())),
    };
    Ok(PlannedAction {
        verb,
        title,
        targets: vec![deployment_target(deployment)],
        blast,
        confirm_text: (verb == Verb::Halt).then(|| deployment.name.clone()),
        patch_id: None,
        cve: None,
    })
}

fn rollback_notes(blast: &mut BlastRadius) {
    if !blast.not_uninstallable.is_empty() {
        blast.notes.push(format!(
            "RESTORE REQUIRED on {} hosts: {} cannot be uninstalled",
            blast.restore_hosts,
            blast.not_uninstallable.join(", ")
        ));
    }
    blast.notes.push(if blast.reboots > 0 {
        format!(
            "{} hosts reboot to uninstall, in their maintenance window",
            blast.reboots
        )
    } else {
        "no reboot needed to uninstall".into()
    });
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Plan a ring action (pause, resume, rollback).
pub fn plan_ring(
    fleet: &Fleet,
    verb: Verb,
    ring: &Ring,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PlannedAction, String> {
    let (blast, confirm_text) = match verb {
        Verb::Pause | Verb::Resume => {
            let hosts = fleet.hosts.values().filter(|h| {
                h.ring_id == ring.id && (h.state.is_in_flight() || h.state == HostState::Pending)
            });
            let mut blast = measure_hosts(fleet, hosts, &[], false, now);
            blast.notes.push(if verb == Verb::Pause {
                "no new installs start in this ring; installs under way finish".into()
            } else {
                "installs start again when the window is open".into()
            });
            (blast, None)
        }
        Verb::Rollback => {
            let deployment = deployment_in_ring(fleet, &ring.id)
                .ok_or_else(|| format!("nothing has been deployed to {}", ring.name))?;
            let patches = deployment_patches(fleet, deployment);
            let hosts = touched_hosts(fleet, &deployment.id, Some(&ring.id));
            let mut blast = measure_hosts(fleet, hosts, &patches, true, now);
            blast
                .notes
                .insert(0, format!("rolls back {} in this ring", deployment.name));
            rollback_notes(&mut blast);
            (blast, Some(ring.name.clone()))
        }
        other => return Err(format!("{} does not apply to a ring", other.as_str())),
    };
    Ok(PlannedAction {
        verb,
        title: format!("{} ring {}", capitalised(verb.as_str()), ring.name),
        targets: vec![ring_target(ring)],
        blast,
        confirm_text,
        patch_id: None,
        cve: None,
    })
}

/// Plan a host action (retry, exclude, rollback) on a set of hosts.
pub fn plan_hosts(
    fleet: &Fleet,
    verb: Verb,
    host_ids: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PlannedAction, String> {
    let hosts: Vec<&Host> = host_ids
        .iter()
        .filter_map(|id| fleet.hosts.get(id))
        .collect();
    if hosts.is_empty() {
        return Err("select hosts first (a failure group, a host, or Space in a host list)".into());
    }
    let (chosen, skipped): (Vec<&Host>, Vec<&Host>) = hosts
        .into_iter()
        .partition(|h| host_eligible(verb, h.state));
    if chosen.is_empty() {
        return Err(format!(
            "none of the selected hosts can be {}",
            past_tense(verb)
        ));
    }
    let mut patch_ids = BTreeSet::new();
    for host in &chosen {
        if let Some(deployment) = host
            .deployment_id
            .as_ref()
            .and_then(|d| fleet.deployments.get(d))
        {
            patch_ids.extend(deployment.patch_ids.iter().cloned());
        }
    }
    let patches: Vec<&Patch> = patch_ids
        .iter()
        .filter_map(|id| fleet.patches.get(id))
        .collect();
    let mut blast = measure_hosts(
        fleet,
        chosen.iter().copied(),
        &patches,
        verb == Verb::Rollback,
        now,
    );
    match verb {
        Verb::Exclude => {
            blast.reboots = 0;
            blast.notes.push("an exception is recorded with your reason and ticket; these hosts are never deployed to until it expires".into());
        }
        Verb::Rollback => rollback_notes(&mut blast),
        _ => blast
            .notes
            .push("re-queued: installs again in its ring's window".into()),
    }
    if !skipped.is_empty() {
        blast.notes.push(format!(
            "{} selected hosts skipped: not in a state to be {}",
            skipped.len(),
            past_tense(verb)
        ));
    }
    let title = if chosen.len() == 1 {
        format!("{} host {}", capitalised(verb.as_str()), chosen[0].name)
    } else {
        format!("{} {} hosts", capitalised(verb.as_str()), chosen.len())
    };
    Ok(PlannedAction {
        verb,
        title,
        targets: chosen.into_iter().map(host_target).collect(),
        blast,
        confirm_text: None,
        patch_id: None,
        cve: None,
    })
}

/// Can a host in `state` take `verb`?
pub fn host_eligible(verb: Verb, state: HostState) -> bool {
    match verb {
        Verb::Retry => state == HostState::Failed,
        Verb::Exclude => state != HostState::Excluded,
        Verb::Rollback => matches!(
            state,
            HostState::Succeeded | HostState::Failed | HostState::PendingReboot
        ),
        _ => false,
    }
}

fn past_tense(verb: Verb) -> &'static str {
    match verb {
        Verb::Retry => "retried",
        Verb::Exclude => "excluded",
        Verb::Rollback => "rolled back",
        _ => "acted on",
    }
}

/// Hosts an emergency would target, in the order it would patch them: a small
/// look-alike test group, then exposed and mission-critical, then by criticality.
pub fn emergency_order(fleet: &Fleet) -> Vec<(String, u32)> {
    let eligible: Vec<&Host> = fleet
        .hosts
        .values()
        .filter(|h| !matches!(h.state, HostState::Excluded))
        .collect();
    let first_wave = eligible
        .iter()
        .filter(|h| h.exposed || h.criticality == Criticality::MissionCritical)
        .count() as u32;
    let mut by_criticality: BTreeMap<Criticality, u32> = BTreeMap::new();
    for host in eligible
        .iter()
        .filter(|h| !(h.exposed || h.criticality == Criticality::MissionCritical))
    {
        *by_criticality.entry(host.criticality).or_default() += 1;
    }
    let test_group = (first_wave / 20).clamp(1, 25).min(first_wave.max(1));
    let mut order = vec![
        (
            "look-alike test group (models and tiers of the critical hosts)".to_string(),
            test_group,
        ),
        (
            "exposed and mission-critical".to_string(),
            first_wave.saturating_sub(test_group),
        ),
    ];
    for (criticality, n) in by_criticality {
        order.push((
            format!("{} criticality", format!("{criticality:?}").to_lowercase()),
            n,
        ));
    }
    order
}

/// Patches offered by the emergency wizard: exploited first, then critical, newest first.
pub fn emergency_candidates(fleet: &Fleet) -> Vec<&Patch> {
    let mut patches: Vec<&Patch> = fleet.patches.values().collect();
    patches.sort_by(|a, b| {
        b.exploited_cves
            .is_empty()
            .cmp(&a.exploited_cves.is_empty())
            .reverse()
            .then_with(|| a.severity.cmp(&b.severity))
            .then_with(|| b.released_at.cmp(&a.released_at))
            .then_with(|| a.id.cmp(&b.id))
    });
    patches
}

/// Plan an emergency deployment of a patch.
pub fn plan_emergency(
    fleet: &Fleet,
    patch: &Patch,
    now: chrono::DateTime<chrono::Utc>,
) -> PlannedAction {
    let cve = patch
        .exploited_cves
        .first()
        .or(patch.cves.first())
        .cloned()
        .unwrap_or_else(|| patch.kb.clone());
    let hosts = fleet
        .hosts
        .values()
        .filter(|h| h.state != HostState::Excluded);
    let mut blast = measure_hosts(fleet, hosts, &[patch], false, now);
    blast.windows = vec!["maintenance windows are overridden: installs start now".into()];
    if !patch.uninstallable {
        blast.notes.push(format!(
            "{} cannot be uninstalled: the rollback plan is a restore",
            patch.kb
        ));
    }
    let version = fleet.summary.as_ref().map_or(0, |s| s.version);
    PlannedAction {
        verb: Verb::Emergency,
        title: format!("EMERGENCY deployment of {} for {}", patch.kb, cve),
        targets: vec![PlannedTarget {
            target: Target {
                kind: TargetKind::Fleet,
                id: "fleet".into(),
            },
            name: "the whole fleet".into(),
            version,
            seen_state: "normal".into(),
        }],
        blast,
        confirm_text: Some(cve.clone()),
        patch_id: Some(patch.id.clone()),
        cve: Some(cve),
    }
}

/// What changed on a target since the plan, in words (for a 412).
pub fn what_changed(fleet: &Fleet, planned: &PlannedTarget) -> String {
    match current_state(fleet, &planned.target) {
        None => format!("{} is gone", planned.name),
        Some((state, version)) if state != planned.seen_state => format!(
            "{}: {} -> {} (version {} -> {})",
            planned.name, planned.seen_state, state, planned.version, version
        ),
        Some((_, version)) => format!(
            "{}: changed on the server (version {} -> {})",
            planned.name, planned.version, version
        ),
    }
}

/// A target's state in words and its version, as the console knows them now.
pub fn current_state(fleet: &Fleet, target: &Target) -> Option<(String, u64)> {
    Some(match target.kind {
        TargetKind::Deployment => {
            let d = fleet.deployments.get(&target.id)?;
            (state_word(d.state), d.version)
        }
        TargetKind::Ring => {
            let r = fleet.rings.get(&target.id)?;
            (state_word(r.state), r.version)
        }
        TargetKind::Host => {
            let h = fleet.hosts.get(&target.id)?;
            (h.state.as_str().to_string(), h.version)
        }
        TargetKind::Fleet => {
            let summary = fleet.summary.as_ref()?;
            let state = if summary.emergency.is_some() {
                "in emergency"
            } else {
                "normal"
            };
            (state.to_string(), summary.version)
        }
    })
}

/// A state as the API spells it ("awaiting-approval").
pub fn state_word(state: impl serde::Serialize) -> String {
    match serde_json::to_value(state) {
        Ok(serde_json::Value::String(word)) => word,
        _ => "unknown".into(),
    }
}
