//! Gates: soak and manual approval, the failure threshold halt, resuming a halted
//! ring, the two-person rule, halting and declining.

use super::*;

#[test]
fn pilot_soaks_then_its_manual_gate_awaits_approval() {
    let sim = sim(1000, 3, Scenario::PatchTuesday);
    let pilot = ring(&sim, "pilot");
    assert_eq!(pilot.state, RingState::Soaking);
    assert_eq!(pilot.gate.state, GateState::Soaking);
    let soak_ends = pilot.soak_ends_at.expect("soak end");
    assert!(soak_ends > sim.now());
    // Pilot has a few failures, grouped by a few codes.
    let failed = sim.hosts(&HostQuery {
        ring: Some("pilot".into()),
        state: Some(HostState::Failed),
        limit: 1000,
        ..HostQuery::default()
    });
    assert!(!failed.items.is_empty());
    let codes: std::collections::BTreeSet<_> = failed
        .items
        .iter()
        .map(|h| h.failure.as_ref().unwrap().code.clone())
        .collect();
    assert!((1..=3).contains(&codes.len()), "{codes:?}");

    let used = advance_until(&sim, 3600, |sim| {
        ring(sim, "pilot").gate.state == GateState::AwaitingApproval
    })
    .expect("the gate opens for approval after the soak");
    assert!(
        sim.now() >= soak_ends,
        "not before the soak ends ({used} s)"
    );
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
    assert_eq!(dep.state, DeploymentState::AwaitingApproval);
    assert_eq!(dep.next_ring.as_deref(), Some("wave-1"));
    // A manual gate never opens by itself.
    sim.advance(6 * 3600);
    assert_eq!(ring(&sim, "wave-1").state, RingState::Waiting);
}

#[test]
fn failure_threshold_halts_the_bad_patch_ring_within_minutes() {
    let sim = sim(2000, 4, Scenario::BadPatch);
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
    assert_eq!(dep.current_ring.as_deref(), Some("pilot"));
    assert_eq!(ring(&sim, "pilot").state, RingState::Deploying);
    let used = advance_until(&sim, 30 * 60, |sim| {
        deployment_named(sim, "2026-11 Patch Tuesday").state == DeploymentState::Halted
    })
    .expect("halted within 30 fleet minutes");
    assert!(used <= 30 * 60);
    let pilot = ring(&sim, "pilot");
    assert_eq!(pilot.state, RingState::Halted);
    assert_eq!(pilot.gate.state, GateState::Blocked);
    let halt = sim
        .actions()
        .items
        .into_iter()
        .find(|a| a.verb == Verb::Halt)
        .expect("a halt action");
    assert_eq!(halt.by, SYSTEM);
    assert_eq!(halt.target.id, dep.id);
    assert!(halt.reason.unwrap().starts_with("failure threshold: "));
    // The failures point at the model.
    let failed = sim.hosts(&HostQuery {
        ring: Some("pilot".into()),
        error: Some("0x800f0922".into()),
        limit: 1000,
        ..HostQuery::default()
    });
    assert!(failed.items.len() as u32 >= MIN_FAILURES_TO_HALT);
    assert!(failed.items.iter().all(|h| h.model == BAD_MODEL));
    // Halted: no new installs start.
    let pending = pilot.counts.pending;
    sim.advance(3600);
    assert_eq!(ring(&sim, "pilot").counts.pending, pending);
    assert_counts_consistent(&sim);
}

#[test]
fn approve_resumes_a_halted_ring_once_its_failures_are_handled() {
    let sim = sim(2000, 4, Scenario::BadPatch);
    advance_until(&sim, 30 * 60, |sim| {
        deployment_named(sim, "2026-11 Patch Tuesday").state == DeploymentState::Halted
    })
    .expect("halted");
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
    let err = sim
        .act(
            request(Verb::Approve, TargetKind::Deployment, &dep.id),
            &approver("alice"),
        )
        .unwrap_err();
    assert!(
        matches!(err, ActError::Conflict(ref m) if m.contains("retry, exclude or roll back")),
        "{err}"
    );
    // Exclude every failed host (documented exception for the model).
    let failed = sim.hosts(&HostQuery {
        ring: Some("pilot".into()),
        state: Some(HostState::Failed),
        limit: 1000,
        ..HostQuery::default()
    });
    for host in &failed.items {
        sim.act(
            request(Verb::Exclude, TargetKind::Host, &host.id),
            &approver("alice"),
        )
        .unwrap();
    }
    let action = sim
        .act(
            request(Verb::Approve, TargetKind::Deployment, &dep.id),
            &approver("alice"),
        )
        .unwrap();
    assert_eq!(action.state, ActionState::Succeeded);
    assert_eq!(
        deployment_named(&sim, "2026-11 Patch Tuesday").state,
        DeploymentState::Running
    );
    assert_eq!(ring(&sim, "pilot").state, RingState::Deploying);
    let pending = ring(&sim, "pilot").counts.pending;
    sim.advance(120);
    assert!(
        ring(&sim, "pilot").counts.pending < pending,
        "installs start again"
    );
}

#[test]
fn production_rings_need_two_different_approvers() {
    let sim = sim(1000, 6, Scenario::PatchTuesday);
    advance_until(&sim, 3600, |sim| {
        deployment_named(sim, "2026-11 Patch Tuesday").state == DeploymentState::AwaitingApproval
    })
    .expect("awaiting approval");
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
    let first = sim
        .act(
            request(Verb::Approve, TargetKind::Deployment, &dep.id),
            &approver("alice"),
        )
        .unwrap();
    assert_eq!(first.state, ActionState::AwaitingSecondApprover);
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
    assert_eq!(
        dep.pending_approval.as_ref().unwrap().first_approver,
        "alice"
    );
    assert_eq!(
        ring(&sim, "pilot").gate.state,
        GateState::AwaitingSecondApprover
    );
    assert_eq!(ring(&sim, "wave-1").state, RingState::Waiting);

    let again = sim.act(
        request(Verb::Approve, TargetKind::Deployment, &dep.id),
        &approver("alice"),
    );
    assert!(
        matches!(again, Err(ActError::SecondApproverRequired(_))),
        "{again:?}"
    );

    let second = sim
        .act(
            request(Verb::Approve, TargetKind::Deployment, &dep.id),
            &approver("bob"),
        )
        .unwrap();
    assert_eq!(second.state, ActionState::Succeeded);
    assert_eq!(ring(&sim, "wave-1").state, RingState::Deploying);
    assert_eq!(ring(&sim, "pilot").state, RingState::Done);
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
    assert_eq!(dep.state, DeploymentState::Running);
    assert!(dep.pending_approval.is_none());
    let approvers: Vec<&str> = dep
        .approvals
        .iter()
        .filter(|a| a.ring_id == "wave-1")
        .map(|a| a.by.as_str())
        .collect();
    assert_eq!(approvers, ["alice", "bob"]);
    let first_now = sim
        .actions()
        .items
        .into_iter()
        .find(|a| a.id == first.id)
        .unwrap();
    assert_eq!(first_now.state, ActionState::Succeeded);
    assert!(first_now.version > first.version);
    // Wave 1's window is open (Monday morning in New York): installs start.
    sim.advance(300);
    assert!(ring(&sim, "wave-1").counts.in_flight() > 0);
}

#[test]
fn halt_and_decline_a_deployment() {
    let sim = sim(1000, 12, Scenario::PatchTuesday);
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday: servers");
    let mut bare = request(Verb::Halt, TargetKind::Deployment, &dep.id);
    bare.reason = None;
    assert!(matches!(
        sim.act(bare, &approver("alice")),
        Err(ActError::Invalid(_))
    ));
    sim.act(
        request(Verb::Halt, TargetKind::Deployment, &dep.id),
        &approver("alice"),
    )
    .unwrap();
    let halted = sim.deployment(&dep.id).unwrap();
    assert_eq!(halted.state, DeploymentState::Halted);
    assert!(halted.state_reason.unwrap().contains("alice"));
    assert_eq!(ring(&sim, "servers-nonprod").state, RingState::Halted);
    sim.act(
        request(Verb::Decline, TargetKind::Deployment, &dep.id),
        &approver("alice"),
    )
    .unwrap();
    assert_eq!(
        sim.deployment(&dep.id).unwrap().state,
        DeploymentState::Declined
    );
    let again = sim.act(
        request(Verb::Approve, TargetKind::Deployment, &dep.id),
        &approver("bob"),
    );
    assert!(matches!(again, Err(ActError::Conflict(_))), "{again:?}");
    assert!(matches!(
        sim.act(
            request(Verb::Retry, TargetKind::Deployment, &dep.id),
            &approver("bob")
        ),
        Err(ActError::Invalid(_))
    ));
}
