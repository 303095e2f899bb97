//! `SsmBackend` through the real `aws_sdk_ssm` client against the fake SSM on
//! 127.0.0.1: reads from the snapshot, polls into events, approve as SendCommand with
//! its marker and limits, failures grouped by code, halt as CancelCommand, an offline
//! instance, throttling backoff, the two-person rule, and a restart that never sends a
//! ring's command twice. The clock is the test's; sleeps never wait.

use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use patchdeck::backend::aws_ssm::budget::RecordedSleeps;
use patchdeck::backend::aws_ssm::fake::{
    FAKE_REGION, FakeFleet, FakeInstance, FakeSsm, InstallOutcome,
};
use patchdeck::backend::aws_ssm::{
    Hooks, NoWait, RollbackDocument, SsmBackend, SsmClient, SsmError, SsmSettings,
};
use patchdeck::backend::{ActError, ActionRequest, Backend, HostQuery};
use patchdeck::model::{
    ActionState, Change, DeploymentState, GateState, HostState, Identity, RingState, Role, Target,
    TargetKind, Verb,
};
use patchdeck::store::{AnyStore, Location, Store};

/// 2026-12-02T01:00:00Z.
const START: f64 = 1_796_173_200.0;

fn fleet() -> FakeFleet {
    let mut fleet = FakeFleet::new(START);
    for group in ["wave-1", "pilot", "test"] {
        fleet.add_patch_group(group, "corp-windows", "WINDOWS");
    }
    let hosts = [
        ("i-0000000000000001", "TEST01", "test"),
        ("i-0000000000000002", "TEST02", "test"),
        ("i-0000000000000003", "PILOT01", "pilot"),
        ("i-0000000000000004", "PILOT02", "pilot"),
        ("i-0000000000000005", "PILOT03", "pilot"),
        ("i-0000000000000006", "WAVE01", "wave-1"),
        ("mi-000000000000007", "LAPTOP-OPS-07", "wave-1"),
    ];
    for (id, name, group) in hosts {
        fleet.add_instance(FakeInstance::windows(id, name, group, "KB5070007"));
    }
    fleet
}

/// The backend under test with its fake, clock and recorded sleeps.
struct Rig {
    fake: FakeSsm,
    clock: Arc<Mutex<DateTime<Utc>>>,
    sleeps: RecordedSleeps,
}

impl Rig {
    async fn new(fleet: FakeFleet) -> Rig {
        Rig {
            fake: FakeSsm::start(fleet).await.expect("fake"),
            clock: Arc::new(Mutex::new(
                DateTime::from_timestamp(START as i64, 0).expect("time"),
            )),
            sleeps: RecordedSleeps::default(),
        }
    }

    fn client(&self) -> SsmClient {
        self.client_with(1)
    }

    fn client_with(&self, max_attempts: u32) -> SsmClient {
        self.fake.client(max_attempts, &NoWait::default())
    }

    fn hooks(&self) -> Hooks {
        let clock = self.clock.clone();
        Hooks {
            clock: Arc::new(move || *clock.lock().expect("clock")),
            sleep: self.sleeps.sleeper(),
        }
    }

    async fn start(&self, store: Option<AnyStore>) -> Arc<SsmBackend> {
        self.start_as(settings(), store).await
    }

    async fn start_as(&self, settings: SsmSettings, store: Option<AnyStore>) -> Arc<SsmBackend> {
        SsmBackend::start_with(self.client(), settings, store, self.hooks())
            .await
            .expect("start")
    }

    /// Moves the fake's clock and ours, then steps its commands once.
    fn step(&self, secs: i64) {
        let mut fleet = self.fake.fleet();
        fleet.advance(secs as f64);
        fleet.step();
        *self.clock.lock().expect("clock") += Duration::seconds(secs);
    }

    fn requests(&self, operation: &str) -> Vec<serde_json::Value> {
        let requests = self.fake.requests();
        let of = requests.into_iter().filter(|r| r.operation == operation);
        of.map(|r| r.body).collect()
    }
}

fn settings() -> SsmSettings {
    SsmSettings {
        region: Some(FAKE_REGION.into()),
        ring_order: vec!["test".into(), "pilot".into(), "wave-1".into()],
        production: vec!["pilot".into()],
        max_concurrency: "50%".into(),
        max_errors: "1".into(),
        soak_minutes: 0,
        poll_in_flight_secs: 0,
        poll_sweep_secs: 300,
        ..SsmSettings::default()
    }
}

fn alice() -> Identity {
    Identity::new("alice", Role::Approver)
}

fn on_deployment(verb: Verb, id: &str) -> ActionRequest {
    ActionRequest::new(
        verb,
        Target {
            kind: TargetKind::Deployment,
            id: id.into(),
        },
    )
}

fn host_state(backend: &SsmBackend, id: &str) -> HostState {
    backend.host(id).expect("host").state
}

#[tokio::test]
async fn reads_come_from_the_snapshot_in_ring_order_with_keyset_pages_and_their_age() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(None).await;
    assert!(!backend.replays_journal());
    let rings = backend.rings();
    let ids: Vec<&str> = rings.items.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["test", "pilot", "wave-1"], "the configured order");
    assert_eq!(rings.sequence, 0);
    assert!(rings.items[1].production);
    assert!(rings.items.iter().all(|r| r.as_of.is_some()));

    let first = backend.hosts(&HostQuery {
        limit: 3,
        ..HostQuery::default()
    });
    assert_eq!(first.items.len(), 3);
    assert!(first.more);
    let next = backend.hosts(&HostQuery {
        limit: 10,
        after: first.items.last().map(|h| h.id.to_string()),
        ..HostQuery::default()
    });
    assert_eq!(next.items.len(), 4);
    assert!(!next.more);
    let pilot = backend.hosts(&HostQuery {
        ring: Some("pilot".into()),
        ..HostQuery::default()
    });
    assert_eq!(pilot.items.len(), 3);
    let laptop = backend.hosts(&HostQuery {
        text: Some("laptop".into()),
        ..HostQuery::default()
    });
    assert_eq!(laptop.items[0].id, "mi-000000000000007");
    assert!(laptop.items[0].as_of.is_some());
    assert_eq!(
        backend
            .host("i-0000000000000001")
            .expect("host")
            .history
            .len(),
        1
    );

    let deployments = backend.deployments();
    let dep = &deployments.items[0];
    assert_eq!(dep.id, "dep-0001");
    assert_eq!(dep.state, DeploymentState::AwaitingApproval);
    assert_eq!(dep.next_ring.as_deref(), Some("test"));
    assert_eq!(dep.rings, ["test", "pilot", "wave-1"]);
    assert!(dep.as_of.is_some());

    let (summary, _) = backend.summary();
    assert_eq!(summary.name, "AWS SSM eu-west-1");
    assert_eq!(summary.counts.total, 7);
    let caps = backend.capabilities();
    assert!(caps.two_person_rule && !caps.emergency && !caps.rollback);
    assert!(
        caps.note(Verb::Pause)
            .is_some_and(|n| n.contains("cannot pause"))
    );
    assert_eq!(
        caps.unavailable(Verb::Emergency),
        Some("no emergency document configured for SSM")
    );
    let emergency = ActionRequest::new(
        Verb::Emergency,
        Target {
            kind: TargetKind::Fleet,
            id: "fleet".into(),
        },
    );
    assert!(matches!(
        backend.act(emergency, &alice()),
        Err(ActError::Unsupported(_))
    ));
}

#[tokio::test]
async fn a_poll_turns_what_changed_into_events_and_an_offline_instance_keeps_its_last_ping() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(None).await;
    let mut live = backend.subscribe();
    let sweeps = rig.fake.count("DescribeInstanceInformation");
    backend.poll_once().await.expect("in-flight poll");
    assert_eq!(
        rig.fake.count("DescribeInstanceInformation"),
        sweeps,
        "nothing in flight and no sweep due: no instance read"
    );
    assert!(backend.events_since(0).expect("events").is_empty());

    rig.fake
        .fleet()
        .set_ping("i-0000000000000006", "ConnectionLost");
    rig.step(600);
    backend.poll_once().await.expect("sweep");
    let events = backend.events_since(0).expect("events");
    let kinds: Vec<(String, String)> = events
        .iter()
        .map(|e| match &e.change {
            Change::Host(h) => ("host".into(), h.id.to_string()),
            Change::Ring(r) => ("ring".into(), r.id.clone()),
            other => (other.kind().into(), String::new()),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("host".to_string(), "i-0000000000000006".to_string()),
            ("ring".to_string(), "wave-1".to_string()),
            ("summary".to_string(), String::new()),
        ]
    );
    assert_eq!(events[0].seq, 1);
    let lost = backend.host("i-0000000000000006").expect("host");
    assert_eq!(lost.state, HostState::Offline);
    assert_eq!(lost.version, 2);
    assert_eq!(lost.last_seen.timestamp(), START as i64);
    assert_eq!(live.recv().await.expect("live").seq, 1);
    assert_eq!(backend.events_page(0, 2).expect("page").len(), 2);
    assert_eq!(backend.sequence(), 3);
}

#[tokio::test]
async fn approve_sends_the_rings_command_with_its_marker_and_limits_once() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(None).await;
    let action = backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("approved");
    assert_eq!(action.state, ActionState::Running);
    backend.settle().await;
    let sent = rig.requests("SendCommand");
    assert_eq!(sent.len(), 1);
    let body = &sent[0];
    assert_eq!(body["Comment"], "patchdeck dep-0001 ring=test try=1");
    assert_eq!(body["MaxConcurrency"], "50%");
    assert_eq!(body["MaxErrors"], "1");
    assert_eq!(body["DocumentName"], "AWS-RunPatchBaseline");
    assert_eq!(body["Targets"][0]["Key"], "tag:Patch Group");
    assert_eq!(body["Targets"][0]["Values"][0], "test");
    assert_eq!(body["Parameters"]["Operation"][0], "Install");
    let done = backend
        .actions()
        .items
        .into_iter()
        .find(|a| a.id == action.id);
    let done = done.expect("action");
    assert_eq!(done.state, ActionState::Succeeded, "{:?}", done.detail);
    assert!(
        done.detail
            .as_deref()
            .is_some_and(|d| d.contains("sent to test"))
    );

    let dep = backend.deployment("dep-0001").expect("dep");
    assert_eq!(dep.state, DeploymentState::Running);
    assert_eq!(dep.current_ring.as_deref(), Some("test"));
    let again = backend.act(on_deployment(Verb::Approve, "dep-0001"), &alice());
    assert!(
        matches!(&again, Err(ActError::Conflict(why)) if why.contains("already deploying")),
        "{again:?}"
    );

    // Stepped to success: the in-flight poll sees it, the ring passes its gate.
    rig.step(60);
    backend.poll_once().await.expect("poll");
    for _ in 0..4 {
        rig.step(60);
    }
    backend.poll_once().await.expect("poll");
    assert_eq!(
        host_state(&backend, "i-0000000000000001"),
        HostState::Succeeded
    );
    let test = backend.ring("test").expect("ring");
    assert_eq!(test.state, RingState::Done);
    assert_eq!(test.gate.state, GateState::AwaitingApproval);
    let dep = backend.deployment("dep-0001").expect("dep");
    assert_eq!(dep.state, DeploymentState::AwaitingApproval);
    assert_eq!(dep.next_ring.as_deref(), Some("pilot"));
    assert_eq!(rig.fake.count("SendCommand"), 1);
}

/// Opens `test` and steps its command to success (five polls a minute apart).
async fn open_test(rig: &Rig, backend: &SsmBackend) {
    backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("test opened");
    backend.settle().await;
    for _ in 0..5 {
        rig.step(60);
        backend.poll_once().await.expect("poll");
    }
}

/// Opens `test` and steps it to success, then gets pilot's two approvals (alice, bob).
async fn through_test_to_pilot(rig: &Rig, backend: &SsmBackend) {
    open_test(rig, backend).await;
    let first = backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("first approval");
    assert_eq!(first.state, ActionState::AwaitingSecondApprover);
    let same_person = Identity {
        name: "alice-laptop".into(),
        role: Role::Approver,
        person: "Alice".into(),
    };
    let refused = backend.act(on_deployment(Verb::Approve, "dep-0001"), &same_person);
    assert!(
        matches!(refused, Err(ActError::SecondApproverRequired(_))),
        "{refused:?}"
    );
    let dep = backend.deployment("dep-0001").expect("dep");
    assert_eq!(
        dep.pending_approval.map(|p| p.ring_id).as_deref(),
        Some("pilot")
    );
    assert_eq!(
        rig.fake.count("SendCommand"),
        1,
        "pilot waits for a second person"
    );
    backend
        .act(
            on_deployment(Verb::Approve, "dep-0001"),
            &Identity::new("bob", Role::Approver),
        )
        .expect("second approval");
    backend.settle().await;
    assert_eq!(rig.fake.count("SendCommand"), 2);
    let first = backend
        .actions()
        .items
        .into_iter()
        .find(|a| a.id == first.id);
    assert_eq!(first.map(|a| a.state), Some(ActionState::Succeeded));
}

#[tokio::test]
async fn a_failing_ring_halts_with_its_hosts_grouped_by_code() {
    let mut fleet = fleet();
    for id in ["i-0000000000000003", "i-0000000000000004"] {
        fleet.instance_mut(id).expect("host").outcome = InstallOutcome::Fail {
            kb: "KB5070007".into(),
            response_code: 1,
            output: "Installation of KB5070007 failed with error 0x800f0922".into(),
        };
    }
    let rig = Rig::new(fleet).await;
    let backend = rig.start(None).await;
    through_test_to_pilot(&rig, &backend).await;
    for _ in 0..5 {
        rig.step(60);
        backend.poll_once().await.expect("poll");
    }
    let failed = backend.hosts(&HostQuery {
        error: Some("0x800F0922".into()),
        ..HostQuery::default()
    });
    let ids: Vec<&str> = failed.items.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["i-0000000000000003", "i-0000000000000004"]);
    assert!(
        failed
            .items
            .iter()
            .all(|h| h.deployment_id.as_deref() == Some("dep-0001"))
    );
    let pilot = backend.ring("pilot").expect("ring");
    assert_eq!(pilot.state, RingState::Halted);
    assert_eq!(pilot.gate.state, GateState::Blocked);
    let dep = backend.deployment("dep-0001").expect("dep");
    assert_eq!(dep.state, DeploymentState::Halted);
    assert!(
        dep.state_reason
            .as_deref()
            .is_some_and(|r| r.contains("MaxErrors")),
        "{:?}",
        dep.state_reason
    );
    // A failed host is retried with a command to it alone.
    let retry = ActionRequest::new(
        Verb::Retry,
        Target {
            kind: TargetKind::Host,
            id: "i-0000000000000003".into(),
        },
    );
    backend.act(retry, &alice()).expect("retry");
    backend.settle().await;
    let sent = rig.requests("SendCommand");
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2]["InstanceIds"][0], "i-0000000000000003");
}

#[tokio::test]
async fn halt_cancels_the_command_and_shows_requested_beside_effective() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(None).await;
    backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("approved");
    backend.settle().await;
    rig.step(60);
    backend.poll_once().await.expect("poll");
    let mut halt = on_deployment(Verb::Halt, "dep-0001");
    assert!(matches!(
        backend.act(halt.clone(), &alice()),
        Err(ActError::Invalid(_))
    ));
    halt.reason = Some("bad patch on TEST02".into());
    halt.ticket = Some("CHG-7".into());
    let plan = backend.plan(&halt, &alice()).expect("plan");
    assert!(
        plan.notes.iter().any(|n| n.contains("CancelCommand")),
        "{plan:?}"
    );
    backend.act(halt, &alice()).expect("halted");
    backend.settle().await;
    let cancels = rig.requests("CancelCommand");
    assert_eq!(cancels.len(), 1);
    let command = rig.fake.fleet().commands[0].id.clone();
    assert_eq!(cancels[0]["CommandId"], command.as_str());
    backend.poll_once().await.expect("poll");
    let dep = backend.deployment("dep-0001").expect("dep");
    assert_eq!(
        dep.state,
        DeploymentState::Running,
        "effective: still cancelling"
    );
    assert_eq!(dep.requested_state, Some(DeploymentState::Halted));
    rig.step(60);
    rig.step(60);
    backend.poll_once().await.expect("poll");
    let dep = backend.deployment("dep-0001").expect("dep");
    assert_eq!(dep.state, DeploymentState::Halted);
    assert_eq!(dep.requested_state, None);
    assert!(
        dep.state_reason
            .as_deref()
            .is_some_and(|r| r.contains("bad patch on TEST02")),
        "{:?}",
        dep.state_reason
    );
    assert_eq!(backend.ring("test").expect("ring").state, RingState::Halted);
}

#[tokio::test]
async fn throttling_backs_off_with_jitter_halves_the_rate_and_says_how_old_the_data_is() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(None).await;
    let rate = backend.request_rate();
    rig.fake.throttle_next("DescribeInstanceInformation", 1);
    rig.step(600);
    let error = backend.poll_once().await.expect_err("throttled");
    assert!(matches!(error, SsmError::Throttled(_)), "{error:?}");
    assert_eq!(backend.request_rate(), rate / 2.0);
    let waits: Vec<StdDuration> = rig.sleeps.asked();
    let backoff = waits.last().copied().expect("a backoff");
    assert!(
        backoff >= StdDuration::from_secs(1) && backoff < StdDuration::from_secs(2),
        "the first backoff, 1 s with jitter: {backoff:?}"
    );
    let (summary, _) = backend.summary();
    assert_eq!(
        summary.name,
        "AWS SSM eu-west-1: SSM is throttling, data as of 01:00:00 UTC (600 s old)"
    );
    backend.poll_once().await.expect("answered again");
    assert_eq!(backend.summary().0.name, "AWS SSM eu-west-1");
}

#[tokio::test]
async fn a_restarted_gateway_never_sends_a_rings_command_twice() {
    let dir = std::env::temp_dir().join(format!("patchdeck-ssm-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let location = Location::Sqlite {
        path: dir.join("gateway.db"),
        read_only: false,
    };
    let rig = Rig::new(fleet()).await;
    let store = AnyStore::open(&location).await.expect("store");
    let first = rig.start(Some(store.clone())).await;
    let exclude = ActionRequest {
        reason: Some("vendor app breaks".into()),
        ticket: Some("CHG-8".into()),
        exception: Box::new(patchdeck::model::ExceptionTerms {
            owner: None,
            compensating_control: Some("isolated VLAN".into()),
            expires: Some(patchdeck::model::Expiry::Days(30)),
        }),
        ..on_host(Verb::Exclude, "i-0000000000000006")
    };
    first.act(exclude, &alice()).expect("excluded");
    rig.fake.drop_next_response("SendCommand");
    first
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("approved");
    let deadline = Instant::now() + StdDuration::from_secs(10);
    while rig.fake.count("SendCommand") == 0 {
        assert!(Instant::now() < deadline, "the worker never sent");
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
    // The gateway keeps the events it served; the next backend numbers on after them.
    let logged = first.events_since(0).expect("events");
    assert!(!logged.is_empty());
    store.append_events(&logged).await.expect("events kept");
    drop(first);
    let stored = store.ring_rollout("dep-0001/test").await.expect("read");
    let stored = stored.expect("written before SendCommand");
    assert_eq!(stored.value.state, RingState::Deploying);

    let second = rig
        .start(Some(AnyStore::open(&location).await.expect("store")))
        .await;
    let dep = second.deployment("dep-0001").expect("dep");
    assert_eq!(
        dep.state,
        DeploymentState::Running,
        "{:?}",
        dep.state_reason
    );
    assert_eq!(second.sequence(), logged.last().map_or(0, |e| e.seq));
    assert_eq!(
        host_state(&second, "i-0000000000000006"),
        HostState::Excluded,
        "the exception is the store's"
    );
    let again = second.act(on_deployment(Verb::Approve, "dep-0001"), &alice());
    assert!(
        matches!(&again, Err(ActError::Conflict(why)) if why.contains("already deploying")),
        "{again:?}"
    );
    second.settle().await;
    assert_eq!(rig.fake.count("SendCommand"), 1);
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

fn on_host(verb: Verb, id: &str) -> ActionRequest {
    ActionRequest::new(
        verb,
        Target {
            kind: TargetKind::Host,
            id: id.into(),
        },
    )
}

#[tokio::test]
async fn pause_cancels_and_resume_sends_the_ring_again_as_its_next_attempt() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(None).await;
    backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("approved");
    backend.settle().await;
    rig.step(60);
    backend.poll_once().await.expect("poll");
    let plan = backend
        .plan(&on_deployment(Verb::Pause, "dep-0001"), &alice())
        .expect("plan");
    assert!(
        plan.notes.iter().any(|n| n.contains("SSM cannot pause")),
        "{plan:?}"
    );
    backend
        .act(on_deployment(Verb::Pause, "dep-0001"), &alice())
        .expect("paused");
    backend.settle().await;
    assert_eq!(rig.fake.count("CancelCommand"), 1);
    let early = backend.act(on_deployment(Verb::Resume, "dep-0001"), &alice());
    assert!(
        matches!(early, Err(ActError::Conflict(_))),
        "still cancelling: {early:?}"
    );
    for _ in 0..2 {
        rig.step(60);
    }
    backend.poll_once().await.expect("poll");
    let dep = backend.deployment("dep-0001").expect("dep");
    assert_eq!(dep.state, DeploymentState::Paused, "{:?}", dep.state_reason);
    assert_eq!(backend.ring("test").expect("ring").state, RingState::Paused);
    backend
        .act(on_deployment(Verb::Resume, "dep-0001"), &alice())
        .expect("resumed");
    backend.settle().await;
    let sent = rig.requests("SendCommand");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["Comment"], "patchdeck dep-0001 ring=test try=2");
    let dep = backend.deployment("dep-0001").expect("dep");
    assert_eq!(dep.state, DeploymentState::Running);
}

#[tokio::test]
async fn the_next_ring_waits_for_the_soak_and_a_production_ring_for_two_persons() {
    let rig = Rig::new(fleet()).await;
    let backend = rig
        .start_as(
            SsmSettings {
                soak_minutes: 60,
                ..settings()
            },
            None,
        )
        .await;
    backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("approved");
    backend.settle().await;
    for _ in 0..5 {
        rig.step(60);
        backend.poll_once().await.expect("poll");
    }
    assert_eq!(
        backend.ring("test").expect("ring").state,
        RingState::Soaking
    );
    let early = backend.act(on_deployment(Verb::Approve, "dep-0001"), &alice());
    assert!(
        matches!(&early, Err(ActError::Conflict(why)) if why.contains("soaking until")),
        "{early:?}"
    );
    rig.step(3600);
    backend.poll_once().await.expect("poll");
    let plan = backend
        .plan(&on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("plan");
    let approval = plan.approval.expect("two-person plan");
    assert_eq!(approval.step, patchdeck::model::ApprovalStep::First);
    assert_eq!(plan.stages[0].ring_id, "pilot");
    assert_eq!(plan.stages[0].hosts.count, 3);
    let first = backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("first approval");
    assert_eq!(first.state, ActionState::AwaitingSecondApprover);
    assert_eq!(
        backend.ring("test").expect("ring").gate.state,
        GateState::AwaitingSecondApprover
    );
    assert_eq!(rig.fake.count("SendCommand"), 1);
}

#[tokio::test]
async fn an_excluded_host_is_never_retried_and_rollback_needs_a_configured_document() {
    let mut fleet = fleet();
    fleet
        .instance_mut("i-0000000000000002")
        .expect("host")
        .outcome = InstallOutcome::Fail {
        kb: "KB5070007".into(),
        response_code: 1,
        output: "failed with error 0x80070005".into(),
    };
    let rig = Rig::new(fleet).await;
    let backend = rig.start(None).await;
    backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("approved");
    backend.settle().await;
    for _ in 0..5 {
        rig.step(60);
        backend.poll_once().await.expect("poll");
    }
    assert_eq!(
        host_state(&backend, "i-0000000000000002"),
        HostState::Failed
    );
    let rollback = ActionRequest {
        reason: Some("bad KB".into()),
        ticket: Some("CHG-9".into()),
        ..on_host(Verb::Rollback, "i-0000000000000002")
    };
    let refused = backend.act(rollback.clone(), &alice());
    assert!(
        matches!(refused, Err(ActError::Unsupported(_))),
        "{refused:?}"
    );
    let exclude = ActionRequest {
        reason: Some("vendor app breaks".into()),
        ticket: Some("CHG-8".into()),
        exception: Box::new(patchdeck::model::ExceptionTerms {
            owner: None,
            compensating_control: Some("isolated VLAN".into()),
            expires: Some(patchdeck::model::Expiry::Days(30)),
        }),
        ..on_host(Verb::Exclude, "i-0000000000000002")
    };
    backend.act(exclude, &alice()).expect("excluded");
    let host = backend.host("i-0000000000000002").expect("host");
    assert_eq!(host.state, HostState::Excluded);
    assert_eq!(host.exception.map(|e| e.owner).as_deref(), Some("alice"));
    let retry = backend.act(on_host(Verb::Retry, "i-0000000000000002"), &alice());
    assert!(matches!(retry, Err(ActError::Conflict(_))), "{retry:?}");
    assert_eq!(rig.fake.count("SendCommand"), 1);

    // With an operator-defined document, rollback runs it with the KB filled in.
    drop(backend);
    let configured = SsmSettings {
        rollback: vec![RollbackDocument {
            platform: "Windows".into(),
            document: "AWS-RunPowerShellScript".into(),
            commands: vec!["wusa.exe /uninstall /kb:{kb} /quiet /norestart".into()],
        }],
        ..settings()
    };
    let backend = rig.start_as(configured, None).await;
    assert!(backend.capabilities().rollback);
    let rollback = ActionRequest {
        target: Target {
            kind: TargetKind::Host,
            id: "i-0000000000000001".into(),
        },
        patch_id: Some("kb5070007".into()),
        ..rollback
    };
    backend.act(rollback, &alice()).expect("rolled back");
    backend.settle().await;
    let sent = rig.requests("SendCommand");
    let last = sent.last().expect("sent");
    assert_eq!(last["DocumentName"], "AWS-RunPowerShellScript");
    assert_eq!(
        last["Parameters"]["commands"][0],
        "wusa.exe /uninstall /kb:5070007 /quiet /norestart"
    );
    assert_eq!(last["InstanceIds"][0], "i-0000000000000001");
}

#[tokio::test]
async fn decline_is_rollout_state_only() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(None).await;
    let decline = ActionRequest {
        reason: Some("not this month".into()),
        ..on_deployment(Verb::Decline, "dep-0001")
    };
    backend.act(decline, &alice()).expect("declined");
    let dep = backend.deployment("dep-0001").expect("dep");
    assert_eq!(dep.state, DeploymentState::Declined);
    assert_eq!(
        dep.state_reason.as_deref(),
        Some("declined by alice: not this month")
    );
    let approve = backend.act(on_deployment(Verb::Approve, "dep-0001"), &alice());
    assert!(matches!(approve, Err(ActError::Conflict(_))));
    backend.settle().await;
    assert_eq!(
        rig.fake.count("SendCommand") + rig.fake.count("CancelCommand"),
        0
    );
}

#[tokio::test]
async fn a_send_command_that_fails_on_the_server_is_looked_up_not_retried() {
    use patchdeck::backend::aws_ssm::fake::FakeError;
    let rig = Rig::new(fleet()).await;
    let backend = SsmBackend::start_with(rig.client_with(3), settings(), None, rig.hooks())
        .await
        .expect("start");
    rig.fake.fail_next(
        "SendCommand",
        FakeError::new(500, "InternalServerError", "try again"),
    );
    let action = backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("approved");
    backend.settle().await;
    assert_eq!(
        rig.fake.count("SendCommand"),
        1,
        "the SDK retries other calls, never SendCommand"
    );
    let action = backend
        .actions()
        .items
        .into_iter()
        .find(|a| a.id == action.id);
    let action = action.expect("action");
    assert_eq!(action.state, ActionState::Failed);
    assert!(
        action
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("approve again")),
        "{:?}",
        action.detail
    );
    let test = backend.ring("test").expect("ring");
    assert_eq!(test.state, RingState::Halted);
    // A person approves again: attempt 2 is sent once.
    backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("approved again");
    backend.settle().await;
    let sent = rig.requests("SendCommand");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["Comment"], "patchdeck dep-0001 ring=test try=2");
}

#[tokio::test]
async fn a_restart_keeps_a_halt_and_its_reason_from_the_store() {
    let dir = std::env::temp_dir().join(format!("patchdeck-ssm-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let location = Location::Sqlite {
        path: dir.join("gateway.db"),
        read_only: false,
    };
    let rig = Rig::new(fleet()).await;
    let first = rig
        .start(Some(AnyStore::open(&location).await.expect("store")))
        .await;
    first
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("approved");
    first.settle().await;
    rig.step(60);
    first.poll_once().await.expect("poll");
    let halt = ActionRequest {
        reason: Some("bad patch on TEST02".into()),
        ticket: Some("CHG-7".into()),
        ..on_deployment(Verb::Halt, "dep-0001")
    };
    first.act(halt, &alice()).expect("halted");
    first.settle().await;
    drop(first);
    rig.step(60);
    rig.step(60);
    let second = rig
        .start(Some(AnyStore::open(&location).await.expect("store")))
        .await;
    let dep = second.deployment("dep-0001").expect("dep");
    assert_eq!(dep.state, DeploymentState::Halted);
    assert_eq!(
        dep.state_reason.as_deref(),
        Some("halted by alice: bad patch on TEST02"),
        "not 'cancelled outside patchdeck'"
    );
    let test = second.ring("test").expect("ring");
    assert_eq!(test.state, RingState::Halted);
    let halts: Vec<_> = second
        .actions()
        .items
        .into_iter()
        .filter(|a| a.verb == Verb::Halt)
        .collect();
    assert_eq!(halts.len(), 1, "the store's actions are listed");
    assert_eq!(halts[0].state, ActionState::Succeeded);
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_command_sent_outside_patchdeck_is_shown_read_only() {
    let rig = Rig::new(fleet()).await;
    let id = rig
        .client()
        .send_install("wave-1", "1", "0", "")
        .await
        .expect("sent by someone else");
    rig.fake.fleet().step();
    let backend = rig.start(None).await;
    let foreign = format!("cmd-{id}");
    let dep = backend.deployment(&foreign).expect("listed");
    assert_eq!(dep.state, DeploymentState::Running);
    assert_eq!(
        backend.deployments().items[0].id,
        "dep-0001",
        "patchdeck's first"
    );
    assert!(
        backend.deployments().items[0]
            .name
            .contains("rate 50%, failure gate 1 host")
    );
    assert_eq!(
        backend.ring("wave-1").expect("ring").state,
        RingState::Deploying
    );
    assert_eq!(
        backend.ring("pilot").expect("ring").state,
        RingState::Waiting
    );
    let halt = ActionRequest {
        reason: Some("not ours".into()),
        ticket: Some("CHG-1".into()),
        ..on_deployment(Verb::Halt, &foreign)
    };
    let refused = backend.act(halt, &alice());
    assert!(
        matches!(refused, Err(ActError::Unsupported(_))),
        "{refused:?}"
    );
    assert_eq!(rig.fake.count("CancelCommand"), 0);
}

#[tokio::test]
async fn the_gates_decision_is_kept_in_the_store() {
    let dir = std::env::temp_dir().join(format!("patchdeck-ssm-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let location = Location::Sqlite {
        path: dir.join("gateway.db"),
        read_only: false,
    };
    let store = AnyStore::open(&location).await.expect("store");
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(Some(store.clone())).await;
    backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("approved");
    backend.settle().await;
    for _ in 0..5 {
        rig.step(60);
        backend.poll_once().await.expect("poll");
    }
    backend.settle().await;
    let test = store.ring_rollout("dep-0001/test").await.expect("read");
    let test = test.expect("stored").value;
    assert_eq!(test.gate, GateState::AwaitingApproval);
    assert_eq!(
        test.gate_decision.as_deref(),
        Some("success 100% >= 95%, soak of 0 min met")
    );
    assert!(test.soak_started_at.is_some());
    let dep = store.ring_rollout("dep-0001").await.expect("read");
    let approvals = dep.expect("stored").value.approvals;
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].by, "alice");
    drop(backend);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_poller_reads_a_sent_command_on_its_own() {
    let rig = Rig::new(fleet()).await;
    let backend = rig
        .start_as(
            SsmSettings {
                poll_in_flight_secs: 1,
                ..settings()
            },
            None,
        )
        .await;
    backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("approved");
    backend.settle().await;
    let by_id = |rig: &Rig| {
        rig.requests("ListCommands")
            .iter()
            .filter(|b| b.get("CommandId").is_some())
            .count()
    };
    let deadline = Instant::now() + StdDuration::from_secs(10);
    while by_id(&rig) == 0 {
        assert!(
            Instant::now() < deadline,
            "the poller never read the command"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    let deadline = Instant::now() + StdDuration::from_secs(10);
    while backend
        .ring("test")
        .expect("ring")
        .state_reason
        .is_some_and(|r| r.contains("waiting for SSM to report"))
    {
        assert!(Instant::now() < deadline, "the poll was never applied");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    assert_eq!(
        backend.ring("test").expect("ring").state,
        RingState::Deploying
    );
}

fn with_rollback() -> SsmSettings {
    SsmSettings {
        rollback: vec![RollbackDocument {
            platform: "Windows".into(),
            document: "AWS-RunPowerShellScript".into(),
            commands: vec!["wusa.exe /uninstall /kb:{kb} /quiet /norestart".into()],
        }],
        ..settings()
    }
}

fn rollback_of(host: &str) -> ActionRequest {
    ActionRequest {
        reason: Some("bad KB".into()),
        ticket: Some("CHG-9".into()),
        patch_id: Some("kb5070007".into()),
        ..on_host(Verb::Rollback, host)
    }
}

#[tokio::test]
async fn after_every_ring_is_done_the_next_deployment_awaits_approval_and_opens_test() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(None).await;
    through_test_to_pilot(&rig, &backend).await;
    for _ in 0..5 {
        rig.step(60);
        backend.poll_once().await.expect("poll");
    }
    backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("wave-1 opened");
    backend.settle().await;
    for _ in 0..5 {
        rig.step(60);
        backend.poll_once().await.expect("poll");
    }
    let done = backend.deployment("dep-0001").expect("dep-0001");
    assert_eq!(done.state, DeploymentState::Completed, "{done:?}");
    let next = backend.deployment("dep-0002").expect("the next deployment");
    assert_eq!(next.state, DeploymentState::AwaitingApproval);
    assert_eq!(next.next_ring.as_deref(), Some("test"));
    assert_eq!(
        backend.deployments().items[0].id,
        "dep-0002",
        "newest first"
    );
    assert_eq!(
        backend.ring("test").expect("ring").state,
        RingState::Waiting
    );
    let refused = backend.act(on_deployment(Verb::Approve, "dep-0001"), &alice());
    assert!(matches!(refused, Err(ActError::Conflict(_))), "{refused:?}");
    backend
        .act(on_deployment(Verb::Approve, "dep-0002"), &alice())
        .expect("dep-0002 opens test");
    backend.settle().await;
    let sent = rig.requests("SendCommand");
    assert_eq!(sent.len(), 4, "test, pilot, wave-1, then test again");
    assert_eq!(sent[3]["Comment"], "patchdeck dep-0002 ring=test try=1");
    backend.poll_once().await.expect("poll");
    assert_eq!(
        backend.ring("test").expect("ring").state,
        RingState::Deploying
    );
    assert!(backend.deployment("dep-0003").is_none(), "one at a time");
}

#[tokio::test]
async fn a_rollback_is_polled_as_a_rollback_and_stays_one_after_a_sweep() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start_as(with_rollback(), None).await;
    backend
        .act(on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("approved");
    backend.settle().await;
    for _ in 0..5 {
        rig.step(60);
        backend.poll_once().await.expect("poll");
    }
    assert_eq!(
        host_state(&backend, "i-0000000000000001"),
        HostState::Succeeded
    );
    backend
        .act(rollback_of("i-0000000000000001"), &alice())
        .expect("rolled back");
    backend.settle().await;
    for _ in 0..3 {
        rig.step(60);
        backend.poll_once().await.expect("poll");
    }
    assert_eq!(
        host_state(&backend, "i-0000000000000001"),
        HostState::RolledBack,
        "not read as an install that succeeded"
    );
    let host = backend.host("i-0000000000000001").expect("host");
    assert!(
        host.history.len() >= 3,
        "the install, the rollback, now: {:?}",
        host.history
    );
    let notes: Vec<&str> = host
        .history
        .iter()
        .filter_map(|t| t.note.as_deref())
        .collect();
    assert!(
        notes[0].starts_with("dep-0001 test try 1")
            && notes[0].contains("StatusDetails Success, ResponseCode 0"),
        "{notes:?}"
    );
    assert!(
        notes[1].starts_with("rollback AWS-RunPowerShellScript"),
        "{notes:?}"
    );
    // A sweep lists commands by document: the rollback's is listed too.
    rig.step(300);
    backend.poll_once().await.expect("sweep");
    let listed = rig.requests("ListCommands");
    assert!(
        listed
            .iter()
            .any(|r| r["Filters"][0]["value"] == "AWS-RunPowerShellScript"),
        "{listed:?}"
    );
    assert_eq!(
        host_state(&backend, "i-0000000000000001"),
        HostState::RolledBack
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_is_not_queued_behind_a_send_that_waits() {
    use patchdeck::backend::aws_ssm::budget::Sleeper;
    let rig = Rig::new(fleet()).await;
    // Backoffs (a second or more) wait for the gate; with a budget this large, its
    // own waits stay far shorter (the test's sleeps never pass time, so a small
    // budget's debt would grow past a second).
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let sleep: Sleeper = {
        let gate = gate.clone();
        Arc::new(move |d| {
            let gate = gate.clone();
            Box::pin(async move {
                if d >= StdDuration::from_secs(1) {
                    let _ = gate.acquire().await.map(|p| p.forget());
                }
            })
        })
    };
    let hooks = Hooks {
        sleep,
        ..rig.hooks()
    };
    let settings = SsmSettings {
        max_requests_per_second: 1000.0,
        ..with_rollback()
    };
    let backend = SsmBackend::start_with(rig.client(), settings, None, hooks)
        .await
        .expect("start");
    through_test_to_pilot(&rig, &backend).await;
    rig.step(60);
    backend.poll_once().await.expect("poll");
    // Pilot's command runs. A rollback of a Test host is throttled: its lane backs
    // off (held at the gate).
    rig.fake.throttle_next("SendCommand", 1);
    backend
        .act(rollback_of("i-0000000000000001"), &alice())
        .expect("rollback queued");
    let rollbacks = |rig: &Rig| {
        rig.requests("SendCommand")
            .iter()
            .filter(|r| r["DocumentName"] == "AWS-RunPowerShellScript")
            .count()
    };
    let held = tokio::time::timeout(StdDuration::from_secs(20), async {
        while rollbacks(&rig) == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(held.is_ok(), "the rollback's send was tried and throttled");
    // Its lane now waits at the gate; the halt's cancel must not.
    let halt = ActionRequest {
        reason: Some("bad patch".into()),
        ticket: Some("CHG-7".into()),
        ..on_deployment(Verb::Halt, "dep-0001")
    };
    backend.act(halt, &alice()).expect("halted");
    let cancelled = tokio::time::timeout(StdDuration::from_secs(20), async {
        while rig.fake.count("CancelCommand") == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(
        cancelled.is_ok(),
        "CancelCommand went out while the send waited"
    );
    assert_eq!(rollbacks(&rig), 1, "the send still waits");
    gate.add_permits(100);
    backend.settle().await;
    assert_eq!(rollbacks(&rig), 2, "sent after its backoff");
}

#[tokio::test]
async fn the_plan_to_open_pilot_names_the_os_build_test_never_ran() {
    let mut fleet = fleet();
    let mut newer = FakeInstance::windows("i-0000000000000008", "PILOT04", "pilot", "KB5070007");
    newer.platform_name = "Microsoft Windows Server 2025 Datacenter".into();
    newer.platform_version = "10.0.26100".into();
    fleet.add_instance(newer);
    let rig = Rig::new(fleet).await;
    let backend = rig.start(None).await;
    let plan = backend
        .plan(&on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("plan");
    assert_eq!(plan.stages[0].ring_id, "test");
    assert!(
        !plan.notes.iter().any(|n| n.contains("test coverage")),
        "Test is the first ring: nothing before it to compare with: {:?}",
        plan.notes
    );
    open_test(&rig, &backend).await;
    let plan = backend
        .plan(&on_deployment(Verb::Approve, "dep-0001"), &alice())
        .expect("plan");
    assert_eq!(plan.stages[0].ring_id, "pilot");
    let warning = plan
        .notes
        .iter()
        .find(|n| n.contains("test coverage"))
        .unwrap_or_else(|| panic!("a coverage warning: {:?}", plan.notes));
    assert!(
        warning.contains("Windows Server 2025") && warning.contains("1 host"),
        "{warning}"
    );
    assert!(warning.contains("never passed through test"), "{warning}");
}
