//! The step after a halt, in words: whether the halt's cause is still there, what the
//! ring's gate needs to pass once resumed, and which pending hosts look like the ones
//! that failed (same model, same patch), so a resume does not fail them again.

use std::collections::BTreeMap;

use crate::model::{Deployment, Fleet, Host, HostState, Ring};

/// Notes for resuming `deployment` in `ring` after a halt (or a pause), first the most
/// important: the cause, the gate, then the warnings.
pub fn after_halt_notes(fleet: &Fleet, deployment: &Deployment, ring: &Ring) -> Vec<String> {
    let mut notes = Vec::new();
    let in_ring = |h: &&Host| {
        h.ring_id == ring.id && h.deployment_id.as_deref() == Some(deployment.id.as_str())
    };
    let failed: Vec<&Host> = fleet
        .hosts
        .values()
        .filter(in_ring)
        .filter(|h| h.state == HostState::Failed)
        .collect();
    if let Some(reason) = ring
        .state_reason
        .as_deref()
        .or(deployment.state_reason.as_deref())
    {
        notes.push(format!("halted for: {}", crate::text::clean(reason)));
    }
    if failed.is_empty() {
        let c = &ring.counts;
        notes.push(format!(
            "halt cause cleared: no host in {} is failed now ({} rolled back, {} excluded)",
            ring.name, c.rolled_back, c.excluded
        ));
    } else {
        notes.push(format!(
            "halt cause STILL THERE: {} hosts still failed ({}): retry, exclude or roll them back first, or the fleet refuses",
            failed.len(),
            codes(&failed)
        ));
    }
    notes.push(gate_words(ring));
    notes.extend(look_alike_warnings(fleet, deployment, ring, &failed));
    notes
}

/// "gate needs 95% ok, now 26% (2 of 7); soak restarts (3d)".
pub fn gate_words(ring: &Ring) -> String {
    let c = &ring.counts;
    let reachable = c.total.saturating_sub(c.excluded + c.offline);
    let pct = (c.succeeded * 100).checked_div(reachable).unwrap_or(100);
    let soak = crate::text::duration(chrono::Duration::seconds(
        i64::try_from(ring.gate.min_soak_secs).unwrap_or(i64::MAX),
    ));
    format!(
        "gate needs {}% ok, now {pct}% ({} of {reachable}); soak restarts ({soak})",
        ring.gate.success_threshold_pct, c.succeeded
    )
}

/// "0x800f0922 ×5, 0x80070005 ×1", biggest first.
fn codes(failed: &[&Host]) -> String {
    let groups = by_code(failed);
    let mut counted: Vec<(&String, usize)> = groups.iter().map(|(c, h)| (*c, h.len())).collect();
    counted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    counted
        .iter()
        .map(|(code, n)| format!("{} x{n}", crate::text::clean(code)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn by_code<'a>(failed: &[&'a Host]) -> BTreeMap<&'a String, Vec<&'a Host>> {
    let mut groups: BTreeMap<&String, Vec<&Host>> = BTreeMap::new();
    for host in failed {
        if let Some(failure) = &host.failure {
            groups.entry(&failure.code).or_default().push(host);
        }
    }
    groups
}

/// Pending hosts sharing the biggest failure group's model, or its patch.
fn look_alike_warnings(
    fleet: &Fleet,
    deployment: &Deployment,
    ring: &Ring,
    failed: &[&Host],
) -> Vec<String> {
    let groups = by_code(failed);
    let Some((code, group)) = groups
        .iter()
        .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))
    else {
        return Vec::new();
    };
    // Hosts the resume (and the rings after it) would still install on.
    let later = |h: &Host| {
        fleet
            .rings
            .get(&h.ring_id)
            .is_some_and(|r| r.order > ring.order)
            && deployment.rings.contains(&h.ring_id)
    };
    let pending: Vec<&Host> = fleet
        .hosts
        .values()
        .filter(|h| matches!(h.state, HostState::Pending | HostState::Deferred))
        .filter(|h| h.ring_id == ring.id || later(h))
        .collect();
    let where_words = |hosts: &[&Host]| {
        let here = hosts.iter().filter(|h| h.ring_id == ring.id).count();
        format!(
            "{here} in {}, {} in later rings",
            ring.name,
            hosts.len() - here
        )
    };
    let code = crate::text::clean(code);
    let mut warnings = Vec::new();
    let model = &group[0].model;
    if group.iter().all(|h| &h.model == model) {
        let same: Vec<&Host> = pending
            .iter()
            .copied()
            .filter(|h| &h.model == model)
            .collect();
        if !same.is_empty() {
            warnings.push(format!(
                "WARNING: {} pending hosts ({}) are {}, the model of all {} hosts failed with {code}: exclude them first or they may fail too",
                same.len(),
                where_words(&same),
                crate::text::clean(model),
                group.len()
            ));
        }
    }
    let patch = group[0].failure.as_ref().and_then(|f| f.patch_id.clone());
    if let Some(patch) = patch
        && group
            .iter()
            .all(|h| h.failure.as_ref().and_then(|f| f.patch_id.as_ref()) == Some(&patch))
        && deployment.patch_ids.contains(&patch)
        && !pending.is_empty()
    {
        let kb = fleet
            .patches
            .get(&patch)
            .map_or(patch.clone(), |p| p.kb.clone());
        warnings.push(format!(
            "WARNING: {} pending hosts ({}) will install {}, the patch that failed on all {} hosts with {code}",
            pending.len(),
            where_words(&pending),
            crate::text::clean(&kb),
            group.len()
        ));
    }
    warnings
}
