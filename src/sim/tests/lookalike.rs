//! Look-alike warnings of a resume plan: they come from the failures kept on the hosts,
//! so rolling back the failed hosts does not make them disappear.

use super::*;

fn hosts_where(sim: &Simulator, keep: impl Fn(&Host) -> bool) -> Vec<Host> {
    all_hosts(sim).into_iter().filter(|h| keep(h)).collect()
}

#[test]
fn a_resume_after_rolling_back_the_failed_hosts_still_warns_of_their_look_alikes() {
    let sim = sim(2000, 4, Scenario::BadPatch);
    let name = "2026-11 Patch Tuesday";
    advance_until(&sim, 30 * 60, |sim| {
        deployment_named(sim, name).state == DeploymentState::Halted
    })
    .expect("the bad patch halts the deployment");
    let dep = deployment_named(&sim, name);
    let ring_id = dep.current_ring.clone().expect("a halted ring");
    // The installs under way when it halted finish (some fail too).
    advance_until(&sim, 6 * 3600, |sim| {
        hosts_where(sim, |h| h.ring_id == ring_id && h.state.is_in_flight()).is_empty()
    })
    .expect("the installs under way finish");
    let failed = hosts_where(&sim, |h| {
        h.state == HostState::Failed && h.ring_id == ring_id
    });
    assert!(failed.len() >= 5, "{}", failed.len());
    let model = failed[0].model.clone();
    let code = failed[0].failure.as_ref().expect("a failure").code.clone();
    assert!(failed.iter().all(|h| h.model == model));

    for host in &failed {
        let action = sim
            .act(
                request(Verb::Rollback, TargetKind::Host, &host.id),
                &approver("alice"),
            )
            .expect("rolled back");
        // One host is the target itself: no "from 1 hosts".
        let detail = action.detail.unwrap_or_default();
        assert!(
            detail.starts_with("uninstalling KB") || detail == "rolling back the failed install",
            "{detail}"
        );
        assert!(!detail.contains("hosts"), "{detail}");
    }
    advance_until(&sim, 3600, |sim| {
        failed
            .iter()
            .all(|h| sim.host(&h.id).unwrap().state == HostState::RolledBack)
    })
    .expect("the rollback finishes");
    assert!(sim.host(&failed[0].id).unwrap().failure.is_none());

    let later: Vec<String> = dep
        .rings
        .iter()
        .skip_while(|r| **r != ring_id)
        .cloned()
        .collect();
    let look_alikes = hosts_where(&sim, |h| {
        h.model == model
            && matches!(h.state, HostState::Pending | HostState::Deferred)
            && later.iter().any(|r| *r == h.ring_id)
    });
    assert!(!look_alikes.is_empty());
    let resume = request(Verb::Approve, TargetKind::Deployment, &dep.id);
    let plan = sim.plan(&resume, &approver("alice")).expect("a plan");
    let warning = format!("WARNING: {} pending hosts (", look_alikes.len());
    let said = format!(
        "share model {model} with the {} hosts that failed with {code}",
        failed.len()
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.starts_with(&warning) && n.contains(&said)),
        "{:?}",
        plan.notes
    );

    // Excluding the look-alikes: the plan says none is left.
    for host in &look_alikes {
        sim.act(
            request(Verb::Exclude, TargetKind::Host, &host.id),
            &approver("alice"),
        )
        .expect("excluded");
    }
    let plan = sim.plan(&resume, &approver("alice")).expect("a plan");
    assert!(
        plan.notes
            .iter()
            .any(|n| n.starts_with("look-alikes: no pending host shares model")),
        "{:?}",
        plan.notes
    );
    // No look-alike warning is left (the model's test coverage is another warning).
    assert!(
        !plan
            .notes
            .iter()
            .any(|n| n.starts_with("WARNING") && !n.starts_with("WARNING: test coverage"))
    );

    // A retried host is no longer one that failed.
    let retried = &failed[0];
    sim.act(
        request(Verb::Retry, TargetKind::Host, &retried.id),
        &approver("alice"),
    )
    .expect("retried");
    let plan = sim.plan(&resume, &approver("alice")).expect("a plan");
    let fewer = format!("the {} hosts that failed", failed.len() - 1);
    assert!(
        plan.notes.iter().any(|n| n.contains(&fewer)),
        "{:?}",
        plan.notes
    );
}
