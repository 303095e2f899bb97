//! The step after a halt, in words: whether the halt's cause is still there and what the
//! ring's gate needs to pass once resumed. Which pending hosts look like the ones that
//! failed (same model, same patch) is the server's plan to say (`sim::engine::lookalike`).

use std::collections::BTreeMap;

use crate::model::{Deployment, Fleet, Host, HostState, Ring};

/// Notes for resuming `deployment` in `ring` after a halt (or a pause), first the most
/// important: the cause, then the gate.
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
    // Test coverage from the synced hosts (the server's plan says the same when it
    // plans the resume; a refused plan says nothing, so the console says it).
    if let Some(coverage) = crate::model::coverage(
        deployment,
        &ring.id,
        fleet.rings.values(),
        fleet.hosts.values(),
    ) {
        notes.extend(coverage.notes());
    }
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
    let mut counted: Vec<(&str, usize)> = groups.iter().map(|(c, h)| (*c, h.len())).collect();
    counted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    counted
        .iter()
        .map(|(code, n)| format!("{} x{n}", crate::text::clean(code)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn by_code<'a>(failed: &[&'a Host]) -> BTreeMap<&'a str, Vec<&'a Host>> {
    let mut groups: BTreeMap<&str, Vec<&Host>> = BTreeMap::new();
    for host in failed {
        if let Some(failure) = &host.failure {
            groups.entry(&failure.code).or_default().push(host);
        }
    }
    groups
}
