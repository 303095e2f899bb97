//! Drift: what changed on a target since the operator looked at the plan (before
//! sending, and in the words of a 412).

use super::PlannedTarget;
use crate::model::{Fleet, Target, TargetKind, Verb};

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
            (d.state.as_str().to_string(), d.version)
        }
        TargetKind::Ring => {
            let r = fleet.rings.get(&target.id)?;
            (r.state.as_str().to_string(), r.version)
        }
        TargetKind::Host => {
            let h = fleet.hosts.get(target.id.as_str())?;
            (h.state.as_str().to_string(), h.version)
        }
        TargetKind::Fleet => {
            let summary = fleet.summary.as_ref()?;
            let state = if summary.emergency.is_some() {
                "in emergency"
            } else if summary.pending_emergency.is_some() {
                "emergency requested"
            } else {
                "normal"
            };
            (state.to_string(), summary.version)
        }
    })
}

/// Can a planned target still take the action, and its version now; `None` if gone.
/// A host may move on (failed -> rolled back) and still take the action: only a host
/// that can no longer take it counts as changed; other targets change with their state.
pub fn still_takes(fleet: &Fleet, verb: Verb, planned: &PlannedTarget) -> Option<(bool, u64)> {
    match planned.target.kind {
        TargetKind::Host => fleet
            .hosts
            .get(planned.target.id.as_str())
            .map(|h| (verb.spec().host_takes(h), h.version)),
        _ => current_state(fleet, &planned.target)
            .map(|(state, version)| (state == planned.seen_state, version)),
    }
}
