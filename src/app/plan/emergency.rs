//! The emergency wizard's plan: the patches it offers, the order it would patch the
//! fleet in, and the planned emergency deployment.

use std::collections::BTreeMap;

use super::blast::measure_hosts;
use super::{PlannedAction, PlannedTarget};
use crate::model::{
    Criticality, Fleet, Host, HostState, Patch, PendingEmergency, Target, TargetKind, Verb,
};

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
        order.push((format!("{} criticality", criticality.as_str()), n));
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
    let seen_state = super::current_state(
        fleet,
        &Target {
            kind: TargetKind::Fleet,
            id: "fleet".into(),
        },
    )
    .map_or("normal".into(), |(state, _)| state);
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
            seen_state,
        }],
        blast,
        confirm_text: Some(cve.clone()),
        patch_id: Some(patch.id.clone()),
        cve: Some(cve),
    }
}

/// Plan the confirmation of an emergency another approver requested: the same
/// emergency (same patch and CVE), titled as a confirmation.
pub fn plan_confirm_emergency(
    fleet: &Fleet,
    pending: &PendingEmergency,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PlannedAction, String> {
    let patch = fleet
        .patches
        .get(&pending.patch_id)
        .ok_or_else(|| format!("patch {} is not known here", pending.kb))?;
    let mut plan = plan_emergency(fleet, patch, now);
    plan.title = format!(
        "CONFIRM the EMERGENCY of {} for {} requested by {}",
        pending.kb, pending.cve, pending.requested_by
    );
    plan.cve = Some(pending.cve.clone());
    plan.confirm_text = Some(pending.cve.clone());
    Ok(plan)
}
