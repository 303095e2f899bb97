//! Test-coverage warnings of a plan: in bad-patch, Test held no Contoso Book 14 G3, so
//! resuming the halted Pilot (approving it again) says so with host counts.

use super::*;
use crate::sim::generate::BAD_MODEL;

#[test]
fn resuming_the_halted_pilot_warns_that_the_bad_model_never_passed_through_test() {
    let sim = sim(2000, 4, Scenario::BadPatch);
    let name = "2026-11 Patch Tuesday";
    advance_until(&sim, 30 * 60, |sim| {
        deployment_named(sim, name).state == DeploymentState::Halted
    })
    .expect("the bad patch halts the deployment");
    let dep = deployment_named(&sim, name);
    let pilot = dep.current_ring.clone().expect("a halted ring");
    assert_eq!(ring(&sim, &pilot).name, "Pilot");
    // A resume is refused while Pilot is over its failure threshold: the installs under
    // way finish, then the failed hosts are rolled back, as an operator would.
    advance_until(&sim, 6 * 3600, |sim| {
        !all_hosts(sim)
            .iter()
            .any(|h| h.ring_id == pilot && h.state.is_in_flight())
    })
    .expect("the installs under way finish");
    let failed: Vec<String> = all_hosts(&sim)
        .into_iter()
        .filter(|h| h.ring_id == pilot && h.state == HostState::Failed)
        .map(|h| h.id.to_string())
        .collect();
    assert!(!failed.is_empty());
    for id in &failed {
        sim.act(
            request(Verb::Rollback, TargetKind::Host, id),
            &approver("alice"),
        )
        .expect("rolled back");
    }
    advance_until(&sim, 3600, |sim| {
        failed
            .iter()
            .all(|id| sim.host(id).unwrap().state == HostState::RolledBack)
    })
    .expect("the rollback finishes");
    let hosts = all_hosts(&sim);
    let later: Vec<&String> = dep
        .rings
        .iter()
        .skip_while(|r| **r != pilot)
        .skip(1)
        .collect();
    let in_pilot = hosts
        .iter()
        .filter(|h| h.model == BAD_MODEL && h.ring_id == pilot && h.state != HostState::Excluded)
        .count();
    let in_later = hosts
        .iter()
        // Hosts under an exception will not install it: no gap in the test bed.
        .filter(|h| {
            h.model == BAD_MODEL
                && later.iter().any(|r| **r == h.ring_id)
                && h.state != HostState::Excluded
        })
        .count();
    assert!(in_pilot > 0 && in_later > 0, "{in_pilot} {in_later}");
    let said = format!(
        "WARNING: test coverage: hardware model {BAD_MODEL} ({in_pilot} hosts in Pilot, {in_later} later) never passed through Test"
    );
    // A halted deployment resumes by approving it again (the console's `p` and `a`).
    {
        let request = request(Verb::Approve, TargetKind::Deployment, &dep.id);
        let plan = sim.plan(&request, &approver("alice")).expect("a plan");
        assert!(plan.notes.contains(&said), "{:?}", plan.notes);
        // Test's lab machines carry every other model and both OS builds.
        let coverage: Vec<&String> = plan
            .notes
            .iter()
            .filter(|n| n.contains("test coverage"))
            .collect();
        assert_eq!(coverage.len(), 1, "{coverage:?}");
    }
    // Retrying a host opens nothing: no coverage note.
    let plan = sim
        .plan(
            &request(Verb::Retry, TargetKind::Host, &failed[0]),
            &approver("alice"),
        )
        .expect("a plan");
    assert!(!plan.notes.iter().any(|n| n.contains("test coverage")));
}
