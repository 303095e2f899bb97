//! Operator actions on rings and hosts: rollback, retry, exclude, pause and resume,
//! and If-Match on the fleet.

use super::*;

#[test]
fn rollback_uninstalls_where_possible_and_says_restore_required_elsewhere() {
    let sim = sim(1000, 7, Scenario::PatchTuesday);
    let pilot = ring(&sim, "pilot");
    let failed = pilot.counts.failed;
    assert!(failed > 0);
    let action = sim
        .act(
            request(Verb::Rollback, TargetKind::Ring, "pilot"),
            &approver("alice"),
        )
        .unwrap();
    assert_eq!(action.state, ActionState::Running);
    assert_eq!(
        action.progress_total, failed,
        "failed hosts have only uninstallable patches"
    );
    let detail = action.detail.clone().unwrap();
    let cu = sim.patches().items[1].kb.clone();
    assert!(detail.contains("restore required"), "{detail}");
    assert!(detail.contains(&cu), "{detail}");
    assert_eq!(ring(&sim, "pilot").state, RingState::Halted);
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
    assert_eq!(
        dep.state,
        DeploymentState::Halted,
        "rolling back its ring halts it"
    );
    sim.advance(600);
    let done = sim
        .actions()
        .items
        .into_iter()
        .find(|a| a.id == action.id)
        .unwrap();
    assert_eq!(done.state, ActionState::Partial);
    assert_eq!(done.progress_done, done.progress_total);
    assert!(done.finished_at.is_some());
    assert_eq!(ring(&sim, "pilot").counts.rolled_back, failed);
    assert_eq!(ring(&sim, "pilot").counts.failed, 0);

    // One succeeded host: not touched, restore required.
    let host = sim
        .hosts(&HostQuery {
            ring: Some("pilot".into()),
            state: Some(HostState::Succeeded),
            limit: 1,
            ..HostQuery::default()
        })
        .items
        .remove(0);
    let action = sim
        .act(
            request(Verb::Rollback, TargetKind::Host, &host.id),
            &approver("alice"),
        )
        .unwrap();
    assert_eq!(action.state, ActionState::Partial);
    let detail = action.detail.unwrap();
    assert!(
        detail.contains(host.name.as_str()) && detail.contains(&cu),
        "{detail}"
    );
    sim.advance(600);
    assert_eq!(sim.host(&host.id).unwrap().state, HostState::Succeeded);
    // Reason and ticket are required.
    let mut bare = request(Verb::Rollback, TargetKind::Host, &host.id);
    bare.ticket = None;
    assert!(matches!(
        sim.act(bare, &approver("alice")),
        Err(ActError::Invalid(_))
    ));
    assert_counts_consistent(&sim);
}

#[test]
fn retry_requeues_a_failed_host() {
    let sim = sim(1000, 8, Scenario::PatchTuesday);
    let host = sim
        .hosts(&HostQuery {
            state: Some(HostState::Failed),
            ring: Some("pilot".into()),
            limit: 1,
            ..HostQuery::default()
        })
        .items
        .remove(0);
    let mut stale = request(Verb::Retry, TargetKind::Host, &host.id);
    stale.if_match = Some(host.version + 1);
    assert!(matches!(
        sim.act(stale, &approver("olga")),
        Err(ActError::VersionMismatch { .. })
    ));
    let mut fresh = request(Verb::Retry, TargetKind::Host, &host.id);
    fresh.if_match = Some(host.version);
    fresh.reason = None;
    fresh.ticket = None;
    let action = sim.act(fresh, &approver("olga")).unwrap();
    assert_eq!(action.state, ActionState::Succeeded);
    let now = sim.host(&host.id).unwrap();
    assert_eq!(now.state, HostState::Pending);
    assert!(now.failure.is_none());
    assert!(now.version > host.version);
    sim.advance(STEP_SECS as u64);
    let later = sim.host(&host.id).unwrap();
    assert!(
        matches!(
            later.state,
            HostState::Downloading | HostState::Deferred | HostState::Offline
        ),
        "{:?}",
        later.state
    );
    // Only failed (or rolled-back) hosts can be retried.
    let again = sim.act(
        request(Verb::Retry, TargetKind::Host, &host.id),
        &approver("olga"),
    );
    assert!(matches!(again, Err(ActError::Conflict(_))), "{again:?}");
    assert!(matches!(
        sim.act(
            request(Verb::Retry, TargetKind::Host, "h-999999"),
            &approver("olga")
        ),
        Err(ActError::NotFound(_))
    ));
}

#[test]
fn exclude_records_an_exception() {
    let sim = sim(1000, 9, Scenario::PatchTuesday);
    let host = sim
        .hosts(&HostQuery {
            ring: Some("wave-2".into()),
            state: Some(HostState::Pending),
            limit: 1,
            ..HostQuery::default()
        })
        .items
        .remove(0);
    let excluded_before = ring(&sim, "wave-2").counts.excluded;
    let mut bare = request(Verb::Exclude, TargetKind::Host, &host.id);
    bare.reason = None;
    assert!(matches!(
        sim.act(bare, &approver("olga")),
        Err(ActError::Invalid(_))
    ));
    let action = sim
        .act(
            request(Verb::Exclude, TargetKind::Host, &host.id),
            &approver("olga"),
        )
        .unwrap();
    assert_eq!(action.state, ActionState::Succeeded);
    let host = sim.host(&host.id).unwrap();
    assert_eq!(host.state, HostState::Excluded);
    let exception = host.exception.unwrap();
    assert_eq!(exception.owner, "olga");
    assert_eq!(exception.reason, "testing");
    assert_eq!(exception.ticket.as_deref(), Some("CHG-1"));
    assert_eq!(exception.expires_at, sim.now() + chrono::Duration::days(30));
    assert!(!exception.compensating_control.is_empty());
    assert_eq!(ring(&sim, "wave-2").counts.excluded, excluded_before + 1);
    assert!(matches!(
        sim.act(
            request(Verb::Exclude, TargetKind::Host, &host.id),
            &approver("olga")
        ),
        Err(ActError::Conflict(_))
    ));
    assert_counts_consistent(&sim);
}

#[test]
fn pause_stops_new_installs_and_resume_restarts_them() {
    let sim = sim(2000, 11, Scenario::PatchTuesday);
    let action = sim
        .act(
            request(Verb::Pause, TargetKind::Ring, "servers-nonprod"),
            &approver("olga"),
        )
        .unwrap();
    assert_eq!(action.state, ActionState::Succeeded);
    assert_eq!(ring(&sim, "servers-nonprod").state, RingState::Paused);
    let pending = ring(&sim, "servers-nonprod").counts.pending;
    assert!(pending > 0);
    sim.advance(2 * 3600);
    let paused = ring(&sim, "servers-nonprod");
    assert_eq!(paused.counts.pending, pending, "no new installs");
    assert_eq!(paused.counts.in_flight(), 0, "installs under way finished");
    assert!(matches!(
        sim.act(
            request(Verb::Pause, TargetKind::Ring, "servers-nonprod"),
            &approver("olga")
        ),
        Err(ActError::Conflict(_))
    ));
    sim.act(
        request(Verb::Resume, TargetKind::Ring, "servers-nonprod"),
        &approver("olga"),
    )
    .unwrap();
    sim.advance(60);
    assert!(ring(&sim, "servers-nonprod").counts.pending < pending);
}

#[test]
fn pausing_a_deployment_lets_installs_under_way_finish() {
    let sim = sim(2000, 21, Scenario::PatchTuesday);
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday: servers");
    sim.act(
        request(Verb::Pause, TargetKind::Deployment, &dep.id),
        &approver("olga"),
    )
    .unwrap();
    let paused = sim.deployment(&dep.id).unwrap();
    assert_eq!(paused.state, DeploymentState::Paused);
    assert!(paused.state_reason.unwrap().contains("olga"));
    let before = ring(&sim, "servers-nonprod").counts;
    assert!(before.in_flight() > 0 && before.pending > 0);
    sim.advance(2 * 3600);
    let after = ring(&sim, "servers-nonprod").counts;
    assert_eq!(after.pending, before.pending, "no new installs");
    assert_eq!(after.in_flight(), 0, "installs under way finished");
    let resume = sim.act(
        request(Verb::Resume, TargetKind::Deployment, &dep.id),
        &approver("olga"),
    );
    assert_eq!(resume.unwrap().state, ActionState::Succeeded);
    assert_eq!(
        sim.deployment(&dep.id).unwrap().state,
        DeploymentState::Running
    );
    sim.advance(60);
    assert!(ring(&sim, "servers-nonprod").counts.pending < before.pending);
    let again = sim.act(
        request(Verb::Resume, TargetKind::Deployment, &dep.id),
        &approver("olga"),
    );
    assert!(matches!(again, Err(ActError::Conflict(_))), "{again:?}");
}

#[test]
fn a_ring_paused_before_its_turn_stays_paused_when_opened() {
    let sim = sim(1000, 19, Scenario::PatchTuesday);
    assert!(
        sim.actions().items.is_empty(),
        "the audit trail starts empty"
    );
    sim.act(
        request(Verb::Pause, TargetKind::Ring, "wave-1"),
        &approver("olga"),
    )
    .unwrap();
    advance_until(&sim, 3600, |sim| {
        deployment_named(sim, "2026-11 Patch Tuesday").state == DeploymentState::AwaitingApproval
    })
    .expect("awaiting approval");
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
    for who in ["alice", "bob"] {
        sim.act(
            request(Verb::Approve, TargetKind::Deployment, &dep.id),
            &approver(who),
        )
        .unwrap();
    }
    assert_eq!(ring(&sim, "wave-1").state, RingState::Paused);
    sim.advance(600);
    assert_eq!(ring(&sim, "wave-1").counts.in_flight(), 0);
    sim.act(
        request(Verb::Resume, TargetKind::Ring, "wave-1"),
        &approver("olga"),
    )
    .unwrap();
    assert_eq!(ring(&sim, "wave-1").state, RingState::Deploying);
    sim.advance(120);
    assert!(ring(&sim, "wave-1").counts.in_flight() > 0);
    let verbs: Vec<Verb> = sim.actions().items.iter().map(|a| a.verb).collect();
    assert_eq!(
        verbs,
        [Verb::Pause, Verb::Approve, Verb::Approve, Verb::Resume]
    );
}

#[test]
fn if_match_on_the_fleet_compares_the_summary_version() {
    let sim = sim(500, 13, Scenario::ZeroDay);
    let (summary, _) = sim.summary();
    let mut body = request(Verb::Emergency, TargetKind::Fleet, "fleet");
    body.cve = Some(format!("CVE-2026-{}", 41234));
    body.if_match = Some(summary.version + 5);
    assert!(matches!(
        sim.act(body.clone(), &approver("alice")),
        Err(ActError::VersionMismatch { .. })
    ));
    body.if_match = Some(summary.version);
    assert!(sim.act(body, &approver("alice")).is_ok());
}
