//! The emergency wizard's plan: the patches it offers and the planned emergency
//! deployment (the order it patches the fleet in is the server's dry run).

use super::{PlannedAction, PlannedTarget};
use crate::model::{Fleet, Patch, PendingEmergency, Target, TargetKind, Verb};

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

/// Plan an emergency deployment of a patch (its stages are the server's dry run).
pub fn plan_emergency(fleet: &Fleet, patch: &Patch) -> PlannedAction {
    let cve = patch
        .exploited_cves
        .first()
        .or(patch.cves.first())
        .cloned()
        .unwrap_or_else(|| patch.kb.clone());
    let mut notes = Vec::new();
    if !patch.uninstallable {
        notes.push(format!(
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
        notes,
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
) -> Result<PlannedAction, String> {
    let patch = fleet
        .patches
        .get(&pending.patch_id)
        .ok_or_else(|| format!("patch {} is not known here", pending.kb))?;
    let mut plan = plan_emergency(fleet, patch);
    plan.title = format!(
        "CONFIRM the EMERGENCY of {} for {} requested by {}",
        pending.kb, pending.cve, pending.requested_by
    );
    plan.cve = Some(pending.cve.clone());
    plan.confirm_text = Some(pending.cve.clone());
    Ok(plan)
}
