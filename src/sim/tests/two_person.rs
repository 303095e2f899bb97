//! The two-person rule beyond ring approvals: emergencies (request, confirmation,
//! override, expiry) and resuming a halted production ring; persons, not tokens.

use super::*;

/// Another token of alice's (her jump host): another name, the same person.
fn alice_jump() -> Identity {
    Identity {
        name: "alice-jump".into(),
        role: Role::Approver,
        person: "alice".into(),
    }
}

fn emergency_of(patch_id: &str) -> ActionRequest {
    let mut body = request(Verb::Emergency, TargetKind::Fleet, "fleet");
    body.patch_id = Some(patch_id.into());
    body
}

fn zero_day_patch(sim: &Simulator) -> crate::model::Patch {
    sim.patches()
        .items
        .into_iter()
        .find(|p| !p.exploited_cves.is_empty())
        .expect("zero-day patch")
}

fn action(sim: &Simulator, id: &str) -> crate::model::Action {
    sim.actions()
        .items
        .into_iter()
        .find(|a| a.id == id)
        .expect("action")
}

#[test]
fn an_emergency_waits_for_a_second_person_and_then_starts() {
    let sim = sim(1000, 10, Scenario::ZeroDay);
    let patch = zero_day_patch(&sim);
    let asked = sim
        .act(emergency_of(&patch.id), &approver("alice"))
        .unwrap();
    assert_eq!(asked.state, ActionState::AwaitingSecondApprover);
    assert!(
        asked.detail.as_deref().unwrap().contains("another person"),
        "{:?}",
        asked.detail
    );
    let summary = sim.summary().0;
    assert!(summary.emergency.is_none(), "nothing started yet");
    let pending = summary.pending_emergency.expect("pending in the summary");
    assert_eq!(pending.action_id, asked.id);
    assert_eq!(
        (pending.requested_by.as_str(), pending.person.as_str()),
        ("alice", "alice")
    );
    assert_eq!(pending.kb, patch.kb);
    assert_eq!(pending.cve, patch.exploited_cves[0]);
    assert_eq!(
        (pending.reason.as_str(), pending.ticket.as_str()),
        ("testing", "CHG-1")
    );
    assert_eq!(pending.override_needed, None);
    assert_eq!(
        pending.expires_at - pending.requested_at,
        chrono::Duration::minutes(30)
    );
    assert_eq!(
        sim.deployments()
            .items
            .iter()
            .filter(|d| d.emergency)
            .count(),
        0
    );

    // The same person, with the same token or another one, cannot confirm.
    for same in [approver("alice"), alice_jump(), approver("Alice")] {
        let refused = sim.act(emergency_of(&patch.id), &same);
        assert!(
            matches!(&refused, Err(ActError::SecondApproverRequired(m)) if m.contains("another person")),
            "{refused:?}"
        );
    }
    // Another patch waits until this request is settled.
    let other = sim
        .patches()
        .items
        .into_iter()
        .find(|p| p.id != patch.id)
        .unwrap();
    assert!(matches!(
        sim.act(emergency_of(&other.id), &approver("bob")),
        Err(ActError::Conflict(m)) if m.contains("alice asked for an emergency")
    ));

    let started = sim.act(emergency_of(&patch.id), &approver("bob")).unwrap();
    assert_eq!(started.state, ActionState::Succeeded);
    assert!(
        started
            .detail
            .as_deref()
            .unwrap()
            .starts_with("confirmed the request of alice; "),
        "{:?}",
        started.detail
    );
    let summary = sim.summary().0;
    assert!(summary.pending_emergency.is_none());
    let emergency = summary.emergency.expect("started");
    assert_eq!(emergency.started_by, "alice");
    assert_eq!(emergency.confirmed_by, "bob");
    assert_eq!(emergency.override_reason, None);
    let first = action(&sim, &asked.id);
    assert_eq!(first.state, ActionState::Succeeded);
    assert_eq!(
        first.detail.as_deref(),
        Some("started after confirmation by bob")
    );
    assert_counts_consistent(&sim);
}

#[test]
fn an_unconfirmed_emergency_expires_with_the_fleet_clock() {
    let sim = sim(500, 10, Scenario::ZeroDay);
    let patch = zero_day_patch(&sim);
    let asked = sim
        .act(emergency_of(&patch.id), &approver("alice"))
        .unwrap();
    sim.advance(29 * 60);
    assert!(sim.summary().0.pending_emergency.is_some());
    let seq = sim.sequence();
    sim.advance(2 * 60);
    assert!(sim.summary().0.pending_emergency.is_none(), "expired");
    let expired = action(&sim, &asked.id);
    assert_eq!(expired.state, ActionState::Failed);
    let detail = expired.detail.unwrap();
    assert!(
        detail.starts_with("expired at ") && detail.contains("within 30 minutes"),
        "{detail}"
    );
    // Live consoles hear of it: a summary event and an action event.
    let events = sim.events_since(seq).unwrap();
    assert!(events.iter().any(|e| matches!(
        &e.change,
        Change::Summary(s) if s.pending_emergency.is_none()
    )));
    assert!(events.iter().any(|e| matches!(
        &e.change,
        Change::Action(a) if a.id == asked.id && a.state == ActionState::Failed
    )));
    // Too late to confirm: bob's call is a new request, awaiting someone else.
    let late = sim.act(emergency_of(&patch.id), &approver("bob")).unwrap();
    assert_eq!(late.state, ActionState::AwaitingSecondApprover);
    assert!(sim.summary().0.emergency.is_none());
}

#[test]
fn a_halted_patch_that_cannot_be_uninstalled_needs_the_confirmers_override() {
    let sim = sim(2000, 4, Scenario::BadPatch);
    advance_until(&sim, 30 * 60, |sim| {
        deployment_named(sim, "2026-11 Patch Tuesday").state == DeploymentState::Halted
    })
    .expect("halted");
    let asked = sim
        .act(emergency_of("KB5032201"), &approver("alice"))
        .unwrap();
    assert_eq!(asked.state, ActionState::AwaitingSecondApprover);
    let pending = sim.summary().0.pending_emergency.unwrap();
    let needed = pending.override_needed.expect("an override is needed");
    assert!(needed.contains("fixes no known exploited CVE"), "{needed}");
    assert!(
        needed.contains("halted") && needed.contains("cannot be uninstalled"),
        "{needed}"
    );

    let refused = sim.act(emergency_of("KB5032201"), &approver("bob"));
    assert!(
        matches!(&refused, Err(ActError::Invalid(m)) if m.contains("override_reason")),
        "{refused:?}"
    );
    let mut blank = emergency_of("KB5032201");
    blank.override_reason = Some("   ".into());
    assert!(matches!(
        sim.act(blank, &approver("bob")),
        Err(ActError::Invalid(_))
    ));
    assert!(sim.summary().0.emergency.is_none());

    let mut overridden = emergency_of("KB5032201");
    overridden.override_reason = Some("vendor re-released the fix; CAB-991".into());
    let started = sim.act(overridden, &approver("bob")).unwrap();
    assert_eq!(started.state, ActionState::Succeeded);
    assert!(
        started
            .detail
            .as_deref()
            .unwrap()
            .contains("override: vendor re-released the fix; CAB-991"),
        "{:?}",
        started.detail
    );
    let emergency = sim.summary().0.emergency.unwrap();
    assert_eq!(
        emergency.override_reason.as_deref(),
        Some("vendor re-released the fix; CAB-991")
    );
}

/// Pilot's gate opened Wave 1 (alice and bob approved), then alice halted it.
fn halted_wave_1() -> (Arc<Simulator>, crate::model::Deployment) {
    let sim = sim(1000, 6, Scenario::PatchTuesday);
    advance_until(&sim, 3600, |sim| {
        deployment_named(sim, "2026-11 Patch Tuesday").state == DeploymentState::AwaitingApproval
    })
    .expect("awaiting approval");
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
    let approve = || request(Verb::Approve, TargetKind::Deployment, &dep.id);
    sim.act(approve(), &approver("alice")).unwrap();
    // Two tokens of one person are one approver for opening a ring too.
    assert!(matches!(
        sim.act(approve(), &alice_jump()),
        Err(ActError::SecondApproverRequired(_))
    ));
    sim.act(approve(), &approver("bob")).unwrap();
    assert_eq!(ring(&sim, "wave-1").state, RingState::Deploying);
    sim.advance(300);
    sim.act(
        request(Verb::Halt, TargetKind::Deployment, &dep.id),
        &approver("alice"),
    )
    .unwrap();
    assert_eq!(ring(&sim, "wave-1").state, RingState::Halted);
    (sim, dep)
}

#[test]
fn resuming_a_halted_production_ring_takes_two_persons() {
    let (sim, dep) = halted_wave_1();
    let approve = || request(Verb::Approve, TargetKind::Deployment, &dep.id);

    // alice halted it and may be the first to resume, never both.
    let first = sim.act(approve(), &approver("alice")).unwrap();
    assert_eq!(first.state, ActionState::AwaitingSecondApprover);
    let dep_now = deployment_named(&sim, "2026-11 Patch Tuesday");
    assert_eq!(dep_now.state, DeploymentState::Halted);
    let pending = dep_now.pending_approval.expect("pending resume");
    assert!(pending.resume);
    assert_eq!(
        (pending.ring_id.as_str(), pending.first_person.as_str()),
        ("wave-1", "alice")
    );
    assert_eq!(
        ring(&sim, "wave-1").gate.state,
        GateState::AwaitingSecondApprover
    );
    for same in [approver("alice"), alice_jump()] {
        let refused = sim.act(approve(), &same);
        assert!(
            matches!(&refused, Err(ActError::SecondApproverRequired(m)) if m.contains("resuming")),
            "{refused:?}"
        );
    }
    let second = sim.act(approve(), &approver("bob")).unwrap();
    assert_eq!(second.state, ActionState::Succeeded);
    assert!(
        second
            .detail
            .as_deref()
            .unwrap()
            .contains("approved by alice and bob")
    );
    let dep_now = deployment_named(&sim, "2026-11 Patch Tuesday");
    assert_eq!(dep_now.state, DeploymentState::Running);
    assert!(dep_now.pending_approval.is_none());
    assert_eq!(ring(&sim, "wave-1").state, RingState::Deploying);
    assert_eq!(action(&sim, &first.id).state, ActionState::Succeeded);
}

#[test]
fn a_rollback_drops_a_pending_resume() {
    let (sim, dep) = halted_wave_1();
    let first = sim
        .act(
            request(Verb::Approve, TargetKind::Deployment, &dep.id),
            &approver("alice"),
        )
        .unwrap();
    sim.act(
        request(Verb::Rollback, TargetKind::Deployment, &dep.id),
        &approver("bob"),
    )
    .unwrap();
    let dep_now = deployment_named(&sim, "2026-11 Patch Tuesday");
    assert!(dep_now.pending_approval.is_none());
    let first = action(&sim, &first.id);
    assert_eq!(first.state, ActionState::Failed);
    assert!(first.detail.unwrap().contains("rolled back by bob"));
}

/// 16,000 pauses and resumes later, the engine holds ACTIONS_KEPT actions, not all of
/// them, ids go on counting, and the emergency request made before them (which the
/// engine still acts on) is kept: its confirmation works.
#[test]
fn old_finished_actions_are_forgotten_but_not_the_ones_still_awaited() {
    let sim = sim(300, 10, Scenario::ZeroDay);
    let patch = zero_day_patch(&sim);
    let asked = sim
        .act(emergency_of(&patch.id), &approver("alice"))
        .unwrap();
    let oscar = Identity::new("oscar", Role::Operator);
    let mut last = String::new();
    for _ in 0..8_000 {
        for verb in [Verb::Pause, Verb::Resume] {
            last = sim
                .act(request(verb, TargetKind::Ring, "pilot"), &oscar)
                .unwrap()
                .id;
        }
    }
    assert_eq!(last, "act-016001", "ids go on counting");
    let kept = sim.engine_actions_kept();
    assert!(
        (crate::sim::ACTIONS_KEPT..=crate::sim::ACTIONS_KEPT * 3 / 2).contains(&kept),
        "{kept} actions kept"
    );
    let confirmed = sim
        .act(emergency_of(&patch.id), &approver("bob"))
        .expect("the request made before is still there to confirm");
    assert_eq!(confirmed.state, ActionState::Succeeded);
    assert!(sim.summary().0.emergency.is_some());
    // The request itself is still listed only if among the last ACTIONS_LISTED; it is
    // not, but it was kept while it was awaited.
    assert!(sim.actions().items.iter().all(|a| a.id != asked.id));
}
