//! Plans (dry runs): a plan changes nothing, and the action then does what its plan
//! said (same stages, same hosts, same counts).

use super::*;
use crate::model::{ActionPlan, ApprovalStep, PLAN_HOST_IDS};

/// The hosts a ring counts (an emergency stage counts hosts of other rings).
fn hosts_in_ring(sim: &Simulator, ring: &str) -> Vec<Host> {
    let mut hosts = Vec::new();
    let mut after = None;
    loop {
        let page = sim.hosts(&HostQuery {
            ring: Some(ring.to_string()),
            after: after.clone(),
            limit: 500,
            ..HostQuery::default()
        });
        after = page.items.last().map(|h| h.id.to_string());
        hosts.extend(page.items);
        if !page.more {
            return hosts;
        }
    }
}

/// Sequence, actions and summary: what a plan must leave as it found.
fn footprint(sim: &Simulator) -> (u64, usize, u64) {
    (
        sim.sequence(),
        sim.actions().items.len(),
        sim.summary().0.version,
    )
}

fn plan(sim: &Simulator, request: &ActionRequest, who: &Identity) -> ActionPlan {
    let before = footprint(sim);
    let plan = sim.plan(request, who).expect("a plan");
    assert_eq!(footprint(sim), before, "a plan acts on nothing");
    plan
}

#[test]
fn an_emergency_starts_the_stages_its_plan_showed() {
    let sim = sim(2000, 10, Scenario::ZeroDay);
    let patch = sim
        .patches()
        .items
        .into_iter()
        .find(|p| !p.exploited_cves.is_empty())
        .expect("zero-day patch");
    let mut body = request(Verb::Emergency, TargetKind::Fleet, "fleet");
    body.patch_id = Some(patch.id.clone());
    let first = plan(&sim, &body, &approver("alice"));
    assert_eq!(first.approval.as_ref().unwrap().step, ApprovalStep::First);
    assert!(!first.stages.is_empty());
    sim.act(body.clone(), &approver("alice")).unwrap();

    let same = Identity {
        name: "alice-jump".into(),
        role: Role::Approver,
        person: "alice".into(),
    };
    let mine = plan(&sim, &body, &same);
    let approval = mine.approval.as_ref().unwrap();
    assert_eq!(approval.step, ApprovalStep::AlreadyYours);
    assert!(
        approval.words.contains("already approved"),
        "{}",
        approval.words
    );
    assert_eq!(approval.first_approver.as_deref(), Some("alice"));

    let second = plan(&sim, &body, &approver("bob"));
    let approval = second.approval.as_ref().unwrap();
    assert_eq!(approval.step, ApprovalStep::Completes);
    assert_eq!(approval.first_approver.as_deref(), Some("alice"));
    // Every plan of the emergency shows the same stages.
    assert_eq!(first.stages, second.stages);
    assert_eq!(mine.stages, second.stages);

    let action = sim.act(body, &approver("bob")).unwrap();
    assert_eq!(
        action
            .detail
            .as_deref()
            .map(|d| d.contains(&second.summary)),
        Some(true),
        "{:?} vs {}",
        action.detail,
        second.summary
    );
    let emergency = sim.summary().0.emergency.expect("started");
    let dep = sim.deployment(&emergency.deployment_id).unwrap();
    let planned: Vec<&str> = second.stages.iter().map(|s| s.ring_id.as_str()).collect();
    assert_eq!(planned, dep.rings);
    let mut total = 0;
    for stage in &second.stages {
        let ring = sim.ring(&stage.ring_id).unwrap();
        assert_eq!(stage.hosts.count, ring.counts.total, "{}", ring.name);
        assert_eq!(stage.ring_name, ring.name);
        assert!(stage.window.always && stage.window.open_now);
        let members: std::collections::BTreeSet<String> = hosts_in_ring(&sim, &ring.id)
            .into_iter()
            .map(|h| h.id.to_string())
            .collect();
        assert!(stage.hosts.host_ids.len() <= PLAN_HOST_IDS);
        assert!(stage.hosts.host_ids.iter().all(|id| members.contains(id)));
        total += stage.hosts.count;
    }
    assert_eq!(second.hosts, total);
}

#[test]
fn an_approval_opens_the_ring_its_plan_showed() {
    let sim = sim(1000, 6, Scenario::PatchTuesday);
    advance_until(&sim, 3600, |sim| {
        deployment_named(sim, "2026-11 Patch Tuesday").state == DeploymentState::AwaitingApproval
    })
    .expect("awaiting approval");
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
    let approve = request(Verb::Approve, TargetKind::Deployment, &dep.id);
    let first = plan(&sim, &approve, &approver("alice"));
    assert_eq!(first.approval.as_ref().unwrap().step, ApprovalStep::First);
    sim.act(approve.clone(), &approver("alice")).unwrap();
    // Asked again by the same person: the plan says so (the action is refused).
    let again = plan(&sim, &approve, &approver("alice"));
    assert_eq!(
        again.approval.as_ref().unwrap().step,
        ApprovalStep::AlreadyYours
    );
    let second = plan(&sim, &approve, &approver("bob"));
    assert_eq!(
        second.approval.as_ref().unwrap().step,
        ApprovalStep::Completes
    );
    assert_eq!(first.stages, second.stages);
    assert_eq!(again.stages, second.stages);
    assert_eq!(second.stages.len(), 1);
    let stage = &second.stages[0];
    assert_eq!(stage.ring_id, "wave-1");

    sim.act(approve, &approver("bob")).unwrap();
    let started: Vec<Host> = hosts_in_ring(&sim, "wave-1")
        .into_iter()
        .filter(|h| {
            h.deployment_id.as_deref() == Some(dep.id.as_str()) && h.state == HostState::Pending
        })
        .collect();
    assert_eq!(stage.hosts.count as usize, started.len());
    let ids: Vec<&str> = started.iter().map(|h| h.id.as_str()).collect();
    assert!(
        stage
            .hosts
            .host_ids
            .iter()
            .all(|id| ids.contains(&id.as_str()))
    );
    assert_eq!(
        second.reboots, stage.hosts.count,
        "the cumulative update reboots every host"
    );
}

#[test]
fn a_rollback_uninstalls_what_its_plan_showed_and_names_the_restores() {
    let sim = sim(1000, 6, Scenario::PatchTuesday);
    sim.advance(3 * 3600);
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
    let mut rollback = request(Verb::Rollback, TargetKind::Deployment, &dep.id);
    let plan = plan(&sim, &rollback, &approver("alice"));
    rollback.if_match = Some(plan.target_version);
    let action = sim.act(rollback, &approver("alice")).unwrap();
    assert_eq!(action.detail.as_deref(), Some(plan.summary.as_str()));
    assert_eq!(action.progress_total, plan.hosts);
    let restore = plan.restore_required.count;
    assert_eq!(
        restore > 0,
        action
            .detail
            .as_deref()
            .unwrap()
            .contains("restore required")
    );
    assert_eq!(restore > 0, !plan.not_uninstallable.is_empty());
}

#[test]
fn a_ring_pause_plan_names_the_ring_and_the_hosts_that_wait() {
    let sim = sim(1000, 6, Scenario::PatchTuesday);
    sim.advance(600);
    let pilot = ring(&sim, "pilot");
    let pause = request(Verb::Pause, TargetKind::Ring, "pilot");
    let plan = plan(&sim, &pause, &approver("alice"));
    assert_eq!(plan.stages.len(), 1);
    assert_eq!(plan.stages[0].ring_name, pilot.name);
    assert_eq!(plan.stages[0].hosts.count, pilot.counts.pending);
    assert_eq!(plan.reboots, 0, "a pause reboots nothing");
    // Nor while Pilot is starting its installs (hosts leave its queue).
    let starting = super::sim(1000, 6, Scenario::BadPatch);
    let deploying = self::plan(&starting, &pause, &approver("alice"));
    assert!(deploying.hosts > 0);
    assert_eq!(
        deploying.reboots, 0,
        "a pause of a deploying ring reboots nothing"
    );
    // A ring nobody deploys to yet says so.
    let wave = plan_of(&sim, Verb::Pause, "wave-3");
    assert!(
        wave.notes.iter().any(|n| n.contains("stays paused")),
        "{:?}",
        wave.notes
    );
}

fn plan_of(sim: &Simulator, verb: Verb, ring: &str) -> ActionPlan {
    plan(
        sim,
        &request(verb, TargetKind::Ring, ring),
        &approver("alice"),
    )
}

#[test]
fn a_plan_is_refused_as_the_action_would_be_but_not_for_a_missing_reason() {
    let sim = sim(500, 6, Scenario::PatchTuesday);
    let mut halt = request(Verb::Halt, TargetKind::Deployment, "nope");
    assert!(matches!(
        sim.plan(&halt, &approver("alice")),
        Err(ActError::NotFound(_))
    ));
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
    halt.target.id = dep.id.clone();
    halt.if_match = Some(dep.version + 7);
    assert!(matches!(
        sim.plan(&halt, &approver("alice")),
        Err(ActError::VersionMismatch { .. })
    ));
    halt.if_match = None;
    halt.reason = None;
    halt.ticket = None;
    let plan = plan(&sim, &halt, &approver("alice"));
    assert_eq!(plan.needs, ["reason", "ticket"]);
}
