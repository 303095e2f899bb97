//! Every fleet action over real HTTP on 127.0.0.1: the API client against the simulator
//! behind the API v1 server. Each test acts, then reads the fleet back over HTTP and
//! checks what the action did to it. The simulator's clock moves only by `advance`.

mod e2e_support;

use patchdeck::api::client::{Client, ClientError};
use patchdeck::api::wire::ProblemType;
use patchdeck::backend::Backend;
use patchdeck::model::{
    ActionState, Deployment, DeploymentState, Fleet, Host, HostState, RingState, Role, TargetKind,
    Verb,
};
use patchdeck::sim::Scenario;

use e2e_support::fleet::{ServedFleet, call, justified};

const PEOPLE: &[(&str, Role)] = &[
    ("alice", Role::Approver),
    ("bob", Role::Approver),
    ("oscar", Role::Operator),
];

async fn serve(scenario: Scenario) -> (ServedFleet, Client) {
    let fleet = ServedFleet::start(scenario, PEOPLE).await;
    let alice = fleet.client("alice");
    (fleet, alice)
}

/// The whole fleet, read over HTTP.
async fn look(client: &Client) -> Fleet {
    client.snapshot().await.expect("read the fleet")
}

/// The active deployment whose current ring is `ring`.
fn deployment_in<'a>(fleet: &'a Fleet, ring: &str) -> &'a Deployment {
    fleet
        .deployments
        .values()
        .find(|d| d.state.is_active() && d.current_ring.as_deref() == Some(ring))
        .unwrap_or_else(|| panic!("no deployment in {ring}"))
}

fn hosts_in<'a>(fleet: &'a Fleet, ring: &str, state: HostState) -> Vec<&'a Host> {
    fleet
        .hosts
        .values()
        .filter(|h| h.ring_id == ring && h.state == state)
        .collect()
}

/// The problem type of a refused call.
fn problem_of<T: std::fmt::Debug>(result: Result<T, ClientError>) -> ProblemType {
    match result {
        Err(ClientError::Problem(problem)) => problem
            .kind()
            .unwrap_or_else(|| panic!("unknown problem type {problem:?}")),
        other => panic!("expected a problem, got {other:?}"),
    }
}

/// Advance the fleet clock a minute at a time until `done` holds (at most `minutes`).
fn advance_until(fleet: &ServedFleet, minutes: u32, done: impl Fn() -> bool) {
    for _ in 0..minutes {
        if done() {
            return;
        }
        fleet.sim.advance(60);
    }
    assert!(done(), "not reached within {minutes} fleet minutes");
}

#[tokio::test]
async fn halt_needs_a_reason_and_a_ticket_then_stops_the_deployment_and_its_ring() {
    let (fleet, alice) = serve(Scenario::PatchTuesday).await;
    let before = look(&alice).await;
    let servers = deployment_in(&before, "servers-nonprod").clone();

    let bare = call(Verb::Halt, TargetKind::Deployment, &servers.id);
    assert_eq!(problem_of(alice.act(&bare).await), ProblemType::Invalid);
    let mut no_ticket = bare.clone();
    no_ticket.request.reason = Some("CPU alarms on the db tier".into());
    no_ticket.idempotency_key.push_str("-2");
    match alice.act(&no_ticket).await {
        Err(ClientError::Problem(problem)) => {
            assert_eq!(problem.status, 422);
            assert!(problem.detail.unwrap_or_default().contains("ticket"));
        }
        other => panic!("a halt without a ticket was not refused: {other:?}"),
    }
    let unchanged = look(&alice).await;
    assert_eq!(unchanged.deployments[&servers.id], servers);
    assert_eq!(unchanged.actions.len(), before.actions.len());

    let halt = justified(
        Verb::Halt,
        TargetKind::Deployment,
        &servers.id,
        servers.version,
        "CPU alarms on the db tier",
        "INC-7",
    );
    let action = alice.act(&halt).await.expect("halt");
    assert_eq!(action.state, ActionState::Succeeded);
    assert_eq!(action.by, "alice");
    let after = look(&alice).await;
    let halted = &after.deployments[&servers.id];
    assert_eq!(halted.state, DeploymentState::Halted);
    assert!(
        halted
            .state_reason
            .as_deref()
            .unwrap_or_default()
            .contains("CPU alarms on the db tier")
    );
    assert_eq!(after.rings["servers-nonprod"].state, RingState::Halted);

    // Halted means no new installs: pending hosts stay pending while time passes.
    let pending = hosts_in(&after, "servers-nonprod", HostState::Pending).len();
    assert!(pending > 0);
    fleet.sim.advance(3600);
    let later = look(&alice).await;
    assert_eq!(
        hosts_in(&later, "servers-nonprod", HostState::Pending).len(),
        pending
    );
}

#[tokio::test]
async fn pause_and_resume_a_deployment() {
    let (fleet, alice) = serve(Scenario::PatchTuesday).await;
    let before = look(&alice).await;
    let servers = deployment_in(&before, "servers-nonprod").clone();
    let oscar = fleet.client("oscar");

    let paused = oscar
        .act(&call(Verb::Pause, TargetKind::Deployment, &servers.id))
        .await
        .expect("an operator may pause");
    assert_eq!(paused.by, "oscar");
    let now = look(&alice).await;
    assert_eq!(now.deployments[&servers.id].state, DeploymentState::Paused);
    let pending = hosts_in(&now, "servers-nonprod", HostState::Pending).len();
    assert!(pending > 0);
    fleet.sim.advance(1800);
    let later = look(&alice).await;
    assert_eq!(
        hosts_in(&later, "servers-nonprod", HostState::Pending).len(),
        pending,
        "a paused deployment started new installs"
    );
    assert_eq!(
        problem_of(
            oscar
                .act(&call(Verb::Pause, TargetKind::Deployment, &servers.id))
                .await
        ),
        ProblemType::Conflict
    );

    oscar
        .act(&call(Verb::Resume, TargetKind::Deployment, &servers.id))
        .await
        .expect("resume");
    assert_eq!(
        look(&alice).await.deployments[&servers.id].state,
        DeploymentState::Running
    );
    fleet.sim.advance(1800);
    let resumed = look(&alice).await;
    assert!(
        hosts_in(&resumed, "servers-nonprod", HostState::Pending).len() < pending,
        "a resumed deployment started no installs"
    );
}

#[tokio::test]
async fn pause_and_resume_a_ring() {
    let (fleet, alice) = serve(Scenario::PatchTuesday).await;
    let oscar = fleet.client("oscar");
    oscar
        .act(&call(Verb::Pause, TargetKind::Ring, "servers-nonprod"))
        .await
        .expect("pause the ring");
    let now = look(&alice).await;
    assert_eq!(now.rings["servers-nonprod"].state, RingState::Paused);
    let servers = deployment_in(&now, "servers-nonprod");
    assert_eq!(
        servers.state,
        DeploymentState::Running,
        "only the ring pauses"
    );
    let pending = hosts_in(&now, "servers-nonprod", HostState::Pending).len();
    fleet.sim.advance(1800);
    assert_eq!(
        hosts_in(&look(&alice).await, "servers-nonprod", HostState::Pending).len(),
        pending,
        "a paused ring started new installs"
    );

    oscar
        .act(&call(Verb::Resume, TargetKind::Ring, "servers-nonprod"))
        .await
        .expect("resume the ring");
    let resumed = look(&alice).await;
    assert_eq!(resumed.rings["servers-nonprod"].state, RingState::Deploying);
    assert_eq!(
        problem_of(
            oscar
                .act(&call(Verb::Resume, TargetKind::Ring, "servers-nonprod"))
                .await
        ),
        ProblemType::Conflict
    );
    fleet.sim.advance(1800);
    assert!(hosts_in(&look(&alice).await, "servers-nonprod", HostState::Pending).len() < pending);
}

#[tokio::test]
async fn decline_closes_the_gate_for_good() {
    let (fleet, alice) = serve(Scenario::PatchTuesday).await;
    // Pilot's soak ends 20 minutes in: its manual gate to Wave 1 waits.
    advance_until(&fleet, 30, || {
        fleet.sim.deployments().items.iter().any(|d| {
            d.state == DeploymentState::AwaitingApproval
                && d.current_ring.as_deref() == Some("pilot")
        })
    });
    let before = look(&alice).await;
    let workstations = deployment_in(&before, "pilot").clone();
    assert_eq!(workstations.next_ring.as_deref(), Some("wave-1"));
    let mut decline = call(Verb::Decline, TargetKind::Deployment, &workstations.id);
    decline.request.reason = Some("driver complaints from Pilot".into());
    alice.act(&decline).await.expect("decline");
    let after = look(&alice).await;
    let declined = &after.deployments[&workstations.id];
    assert_eq!(declined.state, DeploymentState::Declined);
    assert_eq!(declined.next_ring, None);
    assert!(
        declined
            .state_reason
            .as_deref()
            .unwrap_or_default()
            .contains("driver complaints from Pilot")
    );
    fleet.sim.advance(3600);
    let later = look(&alice).await;
    assert_eq!(later.rings["wave-1"].state, RingState::Waiting);
    assert_eq!(
        problem_of(
            alice
                .act(&call(
                    Verb::Approve,
                    TargetKind::Deployment,
                    &workstations.id
                ))
                .await
        ),
        ProblemType::Conflict,
        "a declined deployment was approved"
    );
}

#[tokio::test]
async fn approving_a_threshold_halt_resumes_the_ring_once_its_failures_are_handled() {
    let (fleet, alice) = serve(Scenario::BadPatch).await;
    let oscar = fleet.client("oscar");
    // Pilot opens at the start; the bad cumulative update trips its failure threshold.
    advance_until(&fleet, 180, || {
        fleet
            .sim
            .deployments()
            .items
            .iter()
            .any(|d| d.state == DeploymentState::Halted)
    });
    let halted = look(&alice).await;
    let workstations = deployment_in(&halted, "pilot").clone();
    assert_eq!(workstations.state, DeploymentState::Halted);
    assert_eq!(halted.rings["pilot"].state, RingState::Halted);
    let system_halt = halted
        .actions
        .values()
        .find(|a| a.verb == Verb::Halt && a.by == "system")
        .expect("the threshold halt is in the audit trail");
    assert!(
        system_halt
            .reason
            .as_deref()
            .unwrap_or_default()
            .starts_with("failure threshold")
    );
    let failed = hosts_in(&halted, "pilot", HostState::Failed);
    assert!(failed.len() >= patchdeck::sim::MIN_FAILURES_TO_HALT as usize);

    let approve = call(Verb::Approve, TargetKind::Deployment, &workstations.id);
    assert_eq!(
        problem_of(alice.act(&approve).await),
        ProblemType::Conflict,
        "resumed while the failures still trip the threshold"
    );
    for host in &failed {
        oscar
            .act(&justified(
                Verb::Exclude,
                TargetKind::Host,
                &host.id,
                host.version,
                "0x800f0922 on this model; vendor fix pending",
                "CHG-9",
            ))
            .await
            .expect("exclude a failed host");
    }
    let action = alice
        .act(&call(
            Verb::Approve,
            TargetKind::Deployment,
            &workstations.id,
        ))
        .await
        .expect("approve once the failures are excluded");
    assert_eq!(action.state, ActionState::Succeeded);
    assert_eq!(action.detail.as_deref(), Some("Pilot resumed"));
    let resumed = look(&alice).await;
    assert_eq!(
        resumed.deployments[&workstations.id].state,
        DeploymentState::Running
    );
    assert_eq!(resumed.rings["pilot"].state, RingState::Deploying);
}

#[tokio::test]
async fn rollback_of_a_host_uninstalls_what_can_be_uninstalled() {
    let (fleet, alice) = serve(Scenario::PatchTuesday).await;
    let oscar = fleet.client("oscar");
    let before = look(&alice).await;
    let workstations = deployment_in(&before, "pilot").clone();
    // Failed hosts never committed the cumulative update: the rest can be uninstalled.
    let host = hosts_in(&before, "pilot", HostState::Failed)[0].clone();
    assert!(workstations.patch_ids.iter().any(|p| host.has_installed(p)));

    let bare = call(Verb::Rollback, TargetKind::Host, &host.id);
    assert_eq!(problem_of(oscar.act(&bare).await), ProblemType::Invalid);
    let action = oscar
        .act(&justified(
            Verb::Rollback,
            TargetKind::Host,
            &host.id,
            host.version,
            "driver breaks docking",
            "INC-12",
        ))
        .await
        .expect("an operator may roll back a host");
    assert_eq!(action.state, ActionState::Running);
    assert_eq!(action.progress_total, 1);

    advance_until(&fleet, 10, || {
        fleet.sim.host(&host.id).map(|h| h.state) == Some(HostState::RolledBack)
    });
    let after = look(&alice).await;
    let rolled_back = &after.hosts[&host.id];
    assert!(
        workstations
            .patch_ids
            .iter()
            .all(|p| !rolled_back.has_installed(p)),
        "patches of the deployment are still installed: {:?}",
        rolled_back.installed
    );
    let done = &after.actions[&action.id];
    assert_eq!(done.state, ActionState::Succeeded);
    assert_eq!((done.progress_done, done.progress_total), (1, 1));
}

#[tokio::test]
async fn rollback_of_a_committed_cumulative_update_needs_a_restore() {
    let (_fleet, alice) = serve(Scenario::PatchTuesday).await;
    let before = look(&alice).await;
    let host = hosts_in(&before, "pilot", HostState::Succeeded)[0].clone();
    let action = alice
        .act(&justified(
            Verb::Rollback,
            TargetKind::Host,
            &host.id,
            host.version,
            "driver breaks docking",
            "INC-12",
        ))
        .await
        .expect("rollback");
    assert_eq!(action.state, ActionState::Partial);
    let detail = action.detail.unwrap_or_default();
    assert!(detail.contains("restore required"), "{detail}");
    let workstations = deployment_in(&before, "pilot");
    let cumulative = workstations
        .patch_ids
        .iter()
        .map(|id| &before.patches[id])
        .find(|p| !p.uninstallable)
        .expect("this month's cumulative update cannot be uninstalled");
    assert!(host.has_installed(&cumulative.id));
    assert!(detail.contains(&cumulative.kb), "{detail}");
    let after = look(&alice).await;
    assert_eq!(
        after.hosts[&host.id].state,
        HostState::Succeeded,
        "nothing was uninstalled"
    );
    assert_eq!(after.hosts[&host.id].installed, host.installed);
}

#[tokio::test]
async fn rollback_of_a_ring_halts_it_and_uninstalls_where_it_can() {
    let (fleet, alice) = serve(Scenario::PatchTuesday).await;
    let oscar = fleet.client("oscar");
    let before = look(&alice).await;
    let failed = hosts_in(&before, "pilot", HostState::Failed).len() as u32;
    let succeeded = hosts_in(&before, "pilot", HostState::Succeeded).len();
    assert!(failed > 0 && succeeded > 0);
    let rollback = justified(
        Verb::Rollback,
        TargetKind::Ring,
        "pilot",
        before.rings["pilot"].version,
        "Pilot reports blue screens",
        "INC-13",
    );
    assert!(
        matches!(oscar.act(&rollback).await, Err(ClientError::Forbidden(_))),
        "an operator rolled back a ring"
    );
    let action = alice.act(&rollback).await.expect("roll back Pilot");
    assert_eq!(action.state, ActionState::Running);
    assert_eq!(action.progress_total, failed);
    assert!(
        action
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("restore required")
    );
    assert_eq!(look(&alice).await.rings["pilot"].state, RingState::Halted);

    advance_until(&fleet, 10, || {
        Backend::actions(&*fleet.sim)
            .items
            .iter()
            .any(|a| a.id == action.id && a.finished_at.is_some())
    });
    let after = look(&alice).await;
    assert_eq!(after.actions[&action.id].state, ActionState::Partial);
    assert_eq!(
        hosts_in(&after, "pilot", HostState::RolledBack).len() as u32,
        failed
    );
    assert_eq!(
        hosts_in(&after, "pilot", HostState::Succeeded).len(),
        succeeded
    );
}

#[tokio::test]
async fn rollback_of_a_deployment_stops_it_and_touches_only_its_hosts() {
    let (fleet, alice) = serve(Scenario::PatchTuesday).await;
    let before = look(&alice).await;
    let servers = deployment_in(&before, "servers-nonprod").clone();
    // Its hosts that finished: those that committed a patch that cannot be uninstalled
    // need a restore, the others are uninstalled.
    let stuck: Vec<&str> = servers
        .patch_ids
        .iter()
        .filter(|id| !before.patches[*id].uninstallable)
        .map(String::as_str)
        .collect();
    assert!(!stuck.is_empty());
    let own: Vec<&Host> = before
        .hosts
        .values()
        .filter(|h| h.deployment_id.as_deref() == Some(servers.id.as_str()))
        .collect();
    let restore = own
        .iter()
        .filter(|h| matches!(h.state, HostState::Succeeded | HostState::Failed))
        .filter(|h| h.installed.iter().any(|p| stuck.contains(&p.as_str())))
        .count();
    assert!(restore > 1, "no server committed the update yet");
    // Hosts of other deployments that got the same patches from them.
    let others: Vec<&Host> = before
        .hosts
        .values()
        .filter(|h| h.deployment_id.as_deref() != Some(servers.id.as_str()))
        .filter(|h| servers.patch_ids.iter().any(|p| h.has_installed(p)))
        .collect();
    assert!(
        !others.is_empty(),
        "the workstations share the cumulative update"
    );

    let action = alice
        .act(&justified(
            Verb::Rollback,
            TargetKind::Deployment,
            &servers.id,
            servers.version,
            "db tier does not come back",
            "INC-14",
        ))
        .await
        .expect("roll back the servers");
    let detail = action.detail.clone().unwrap_or_default();
    assert!(
        detail.contains(&format!("restore required: {restore} hosts need a restore")),
        "{detail}"
    );
    let now = look(&alice).await;
    assert_eq!(now.rings["servers-nonprod"].state, RingState::Halted);
    assert!(matches!(
        now.deployments[&servers.id].state,
        DeploymentState::RollingBack | DeploymentState::RolledBack
    ));
    advance_until(&fleet, 30, || {
        fleet.sim.deployment(&servers.id).map(|d| d.state) == Some(DeploymentState::RolledBack)
    });
    let after = look(&alice).await;
    let finished = &after.actions[&action.id];
    assert_eq!(finished.state, ActionState::Partial);
    assert!(finished.finished_at.is_some());
    assert_eq!(finished.progress_done, finished.progress_total);
    assert_eq!(
        after.deployments[&servers.id].state_reason.as_deref(),
        Some(format!("rolled back; {restore} hosts need a restore").as_str())
    );
    for host in others {
        let now = &after.hosts[&host.id];
        assert_ne!(
            now.state,
            HostState::RolledBack,
            "{} was rolled back",
            host.name
        );
        assert!(
            host.installed.iter().all(|p| now.installed.contains(p)),
            "rolling back {} uninstalled from {} ({}), a host of another deployment",
            servers.name,
            host.name,
            host.ring_id
        );
    }
    // Nothing new starts in a rolled-back deployment.
    let pending = hosts_in(&after, "servers-nonprod", HostState::Pending).len();
    assert!(pending > 0);
    fleet.sim.advance(3600);
    assert_eq!(
        hosts_in(&look(&alice).await, "servers-nonprod", HostState::Pending).len(),
        pending
    );
    assert_eq!(
        problem_of(
            alice
                .act(&justified(
                    Verb::Rollback,
                    TargetKind::Deployment,
                    &servers.id,
                    look(&alice).await.deployments[&servers.id].version,
                    "again",
                    "INC-14",
                ))
                .await
        ),
        ProblemType::Conflict
    );
}

#[tokio::test]
async fn retry_requeues_a_failed_host() {
    let (fleet, alice) = serve(Scenario::PatchTuesday).await;
    let oscar = fleet.client("oscar");
    let before = look(&alice).await;
    let host = hosts_in(&before, "pilot", HostState::Failed)[0].clone();
    let code = host.failure.clone().expect("a failure").code;
    let action = oscar
        .act(&call(Verb::Retry, TargetKind::Host, &host.id))
        .await
        .expect("retry");
    assert_eq!(action.detail.as_deref(), Some("re-queued"));
    let requeued = oscar.host(&host.id).await.expect("the host");
    assert_eq!(requeued.state, HostState::Pending);
    assert_eq!(requeued.failure, None);
    let note = format!("retry by oscar after {code}");
    assert!(
        requeued
            .history
            .iter()
            .any(|t| t.note.as_deref() == Some(note.as_str())),
        "{:?}",
        requeued.history
    );
    // Front of the queue: it starts at the next step.
    fleet.sim.advance(patchdeck::sim::STEP_SECS as u64);
    let started = oscar.host(&host.id).await.expect("the host");
    assert_ne!(started.state, HostState::Pending);
    assert_ne!(started.state, HostState::Failed);
    assert_eq!(
        problem_of(
            oscar
                .act(&call(Verb::Retry, TargetKind::Host, &host.id))
                .await
        ),
        ProblemType::Conflict
    );
}

#[tokio::test]
async fn exclude_records_an_exception() {
    let (fleet, alice) = serve(Scenario::PatchTuesday).await;
    let oscar = fleet.client("oscar");
    let before = look(&alice).await;
    let host = hosts_in(&before, "pilot", HostState::Failed)[0].clone();
    let bare = call(Verb::Exclude, TargetKind::Host, &host.id);
    assert_eq!(problem_of(oscar.act(&bare).await), ProblemType::Invalid);
    oscar
        .act(&justified(
            Verb::Exclude,
            TargetKind::Host,
            &host.id,
            host.version,
            "lab instrument; vendor fix next quarter",
            "CHG-77",
        ))
        .await
        .expect("exclude");
    let after = look(&alice).await;
    let excluded = &after.hosts[&host.id];
    assert_eq!(excluded.state, HostState::Excluded);
    let exception = excluded.exception.as_ref().expect("an exception");
    assert_eq!(exception.owner, "oscar");
    assert_eq!(exception.reason, "lab instrument; vendor fix next quarter");
    assert_eq!(exception.ticket.as_deref(), Some("CHG-77"));
    let now = after.summary.as_ref().expect("a summary").now;
    assert_eq!(exception.expires_at, now + chrono::Duration::days(30));
    let (was, is) = (&before.rings["pilot"].counts, &after.rings["pilot"].counts);
    assert_eq!(is.excluded, was.excluded + 1);
    assert_eq!(is.failed, was.failed - 1);
    assert_eq!(
        problem_of(
            oscar
                .act(&justified(
                    Verb::Exclude,
                    TargetKind::Host,
                    &host.id,
                    look(&oscar).await.hosts[&host.id].version,
                    "again",
                    "CHG-77"
                ))
                .await
        ),
        ProblemType::Conflict
    );
    // Excluded hosts are never deployed to, even when everything else moves on.
    fleet.sim.advance(3600);
    assert_eq!(
        look(&alice).await.hosts[&host.id].state,
        HostState::Excluded
    );
}

#[tokio::test]
async fn emergency_starts_an_expedited_deployment_of_the_zero_day_fix() {
    let (fleet, alice) = serve(Scenario::ZeroDay).await;
    let oscar = fleet.client("oscar");
    let before = look(&alice).await;
    assert_eq!(before.summary.as_ref().unwrap().emergency, None);
    let fix = before
        .patches
        .values()
        .find(|p| !p.exploited_cves.is_empty())
        .expect("the zero-day fix")
        .clone();
    let cve = fix.exploited_cves[0].clone();

    let mut unjustified = call(Verb::Emergency, TargetKind::Fleet, "fleet");
    unjustified.request.cve = Some(cve.clone());
    assert_eq!(
        problem_of(alice.act(&unjustified).await),
        ProblemType::Invalid
    );
    let nothing = justified(
        Verb::Emergency,
        TargetKind::Fleet,
        "fleet",
        before.summary.as_ref().unwrap().version,
        "exploited",
        "SEC-1",
    );
    assert_eq!(problem_of(alice.act(&nothing).await), ProblemType::Invalid);
    let mut emergency = nothing.clone();
    emergency.idempotency_key.push_str("-cve");
    emergency.request.cve = Some(cve.clone());
    assert!(matches!(
        oscar.act(&emergency).await,
        Err(ClientError::Forbidden(_))
    ));

    // Two-person: alice's request waits, bob's confirmation starts it.
    let asked = alice.act(&emergency).await.expect("request the emergency");
    assert_eq!(asked.state, ActionState::AwaitingSecondApprover);
    let waiting = look(&alice).await;
    let pending = waiting.summary.as_ref().unwrap();
    assert_eq!(pending.emergency, None);
    assert_eq!(
        pending.pending_emergency.as_ref().unwrap().requested_by,
        "alice"
    );
    let bob = fleet.client("bob");
    let mut confirm = emergency.clone();
    confirm.idempotency_key.push_str("-bob");
    confirm.request.if_match = Some(pending.version);
    let action = bob.act(&confirm).await.expect("start the emergency");
    assert_eq!(action.verb, Verb::Emergency);
    assert_eq!(action.target.kind, TargetKind::Fleet);
    assert_eq!(action.state, ActionState::Succeeded);
    let after = look(&alice).await;
    let summary = after.summary.as_ref().expect("a summary");
    let state = summary
        .emergency
        .as_ref()
        .expect("Summary.emergency is set");
    assert_eq!(state.cve, cve);
    assert_eq!(state.patch_id, fix.id);
    assert_eq!(state.started_by, "alice");
    assert_eq!(state.confirmed_by, "bob");
    assert!(summary.pending_emergency.is_none());
    assert_eq!(
        (state.reason.as_str(), state.ticket.as_str()),
        ("exploited", "SEC-1")
    );
    let deployment = &after.deployments[&state.deployment_id];
    assert!(deployment.emergency);
    assert_eq!(deployment.state, DeploymentState::Running);
    assert_eq!(deployment.patch_ids, vec![fix.id.clone()]);
    let first = deployment.current_ring.clone().expect("a first stage");
    assert_eq!(deployment.rings.first(), Some(&first));
    assert_eq!(after.rings[&first].state, RingState::Deploying);

    let mut again = emergency.clone();
    again.idempotency_key.push_str("-again");
    again.request.if_match = after.summary.as_ref().map(|s| s.version);
    assert_eq!(problem_of(alice.act(&again).await), ProblemType::Conflict);

    // Windows are overridden: the first stage installs at once.
    fleet.sim.advance(60);
    let moving = look(&alice).await;
    assert!(moving.rings[&first].counts.in_flight() + moving.rings[&first].counts.succeeded > 0);
}

#[tokio::test]
async fn a_stale_if_match_is_refused_and_changes_nothing() {
    let (_fleet, alice) = serve(Scenario::PatchTuesday).await;
    let before = look(&alice).await;
    let servers = deployment_in(&before, "servers-nonprod").clone();
    let mut pause = call(Verb::Pause, TargetKind::Deployment, &servers.id);
    pause.request.if_match = Some(servers.version);
    alice.act(&pause).await.expect("pause at the version seen");
    let paused = look(&alice).await.deployments[&servers.id].clone();
    assert!(paused.version > servers.version);

    let mut resume = call(Verb::Resume, TargetKind::Deployment, &servers.id);
    resume.request.if_match = Some(servers.version);
    match alice.act(&resume).await {
        Err(ClientError::VersionMismatch { current_version }) => {
            assert_eq!(current_version, Some(paused.version))
        }
        other => panic!("a stale If-Match was not refused: {other:?}"),
    }
    let after = look(&alice).await;
    assert_eq!(after.deployments[&servers.id], paused);
    resume.request.if_match = Some(paused.version);
    resume.idempotency_key.push_str("-fresh");
    alice
        .act(&resume)
        .await
        .expect("resume at the current version");
}

#[tokio::test]
async fn the_same_idempotency_key_twice_acts_once() {
    let (fleet, alice) = serve(Scenario::PatchTuesday).await;
    let oscar = fleet.client("oscar");
    let before = look(&alice).await;
    let pause = call(Verb::Pause, TargetKind::Ring, "servers-nonprod");
    let first = oscar.act(&pause).await.expect("pause");
    let second = oscar.act(&pause).await.expect("the same request again");
    assert_eq!(first, second, "the replay is the recorded answer");
    let after = look(&alice).await;
    assert_eq!(after.actions.len(), before.actions.len() + 1);
    assert_eq!(after.rings["servers-nonprod"].state, RingState::Paused);
    // Acting again for real would have been refused: the ring is paused.
    let mut fresh = pause.clone();
    fresh.idempotency_key.push_str("-new");
    assert_eq!(problem_of(oscar.act(&fresh).await), ProblemType::Conflict);
    // The key belongs to that request: another request with it is refused.
    let mut other = pause.clone();
    other.request.verb = Verb::Resume;
    assert_eq!(
        problem_of(oscar.act(&other).await),
        ProblemType::IdempotencyKeyReused
    );
}

#[tokio::test]
async fn roles_are_enforced() {
    let fleet = ServedFleet::start(
        Scenario::PatchTuesday,
        &[("vera", Role::Viewer), ("oscar", Role::Operator)],
    )
    .await;
    let (vera, oscar) = (fleet.client("vera"), fleet.client("oscar"));
    let before = look(&vera).await;
    let servers = deployment_in(&before, "servers-nonprod").clone();
    assert!(matches!(
        vera.act(&call(Verb::Pause, TargetKind::Ring, "servers-nonprod"))
            .await,
        Err(ClientError::Forbidden(_))
    ));
    assert!(matches!(
        oscar
            .act(&justified(
                Verb::Halt,
                TargetKind::Deployment,
                &servers.id,
                servers.version,
                "r",
                "t"
            ))
            .await,
        Err(ClientError::Forbidden(_))
    ));
    assert!(matches!(
        oscar
            .act(&call(Verb::Approve, TargetKind::Deployment, &servers.id))
            .await,
        Err(ClientError::Forbidden(_))
    ));
    assert_eq!(look(&vera).await.actions.len(), before.actions.len());
}
