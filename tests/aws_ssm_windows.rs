//! Maintenance windows through the real `aws_sdk_ssm` client against the fake SSM on
//! 127.0.0.1: windows and their targets read across pages, each ring's window from the
//! enabled window that targets its patch group, rings ordered by when their windows
//! open, a schedule not read shown always open with its next run, a throttled
//! `DescribeMaintenanceWindows` retried within the budget. The clock is the test's;
//! sleeps never wait.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveTime, Utc, Weekday};
use patchdeck::backend::ActionRequest;
use patchdeck::backend::Backend;
use patchdeck::backend::aws_ssm::budget::RecordedSleeps;
use patchdeck::backend::aws_ssm::fake::{
    FAKE_REGION, FakeFleet, FakeInstance, FakeSsm, FakeWindow, FakeWindowTarget,
};
use patchdeck::backend::aws_ssm::{Hooks, NoWait, SsmBackend, SsmClient, SsmError, SsmSettings};
use patchdeck::model::{
    ActionState, Change, DeploymentState, Identity, RingState, Role, Target, TargetKind, Verb,
    WindowStatus,
};
use patchdeck::store::{AnyStore, Location, Store};

/// 2026-12-02T01:00:00Z, a Wednesday.
const START: f64 = 1_796_173_200.0;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// Groups `canary`, `pilot`, `test`, `wave-1` (by name), windows for three of them:
/// test nightly 20:00 UTC, pilot nightly 23:00 UTC, wave-1 Tuesdays 22:00 in Berlin;
/// canary has none. A disabled window and one on another tag name nobody's group.
fn fleet() -> FakeFleet {
    let mut fleet = FakeFleet::new(START);
    for group in ["canary", "pilot", "test", "wave-1"] {
        fleet.add_patch_group(group, "corp-windows", "WINDOWS");
    }
    let hosts = [
        ("i-0000000000000001", "TEST01", "test"),
        ("i-0000000000000002", "PILOT01", "pilot"),
        ("i-0000000000000003", "WAVE01", "wave-1"),
        ("i-0000000000000004", "CANARY01", "canary"),
    ];
    for (id, name, group) in hosts {
        fleet.add_instance(FakeInstance::windows(id, name, group, "KB5070007"));
    }
    let wave = ("Europe/Berlin", 60);
    let windows = [
        (
            "mw-0000000000000wave",
            "wave-1-tuesday",
            "cron(0 22 ? * TUE *)",
            Some(wave),
            4,
            "wave-1",
        ),
        (
            "mw-00000000000pilot",
            "pilot-nightly",
            "cron(0 23 * * ? *)",
            None,
            4,
            "pilot",
        ),
        (
            "mw-000000000000test",
            "test-nightly",
            "cron(0 20 * * ? *)",
            None,
            3,
            "test",
        ),
    ];
    for (id, name, schedule, zone, hours, group) in windows {
        fleet.add_window(FakeWindow::for_group(
            id, name, schedule, zone, hours, group,
        ));
    }
    let mut disabled = FakeWindow::for_group(
        "mw-00000000disabled",
        "canary-disabled",
        "cron(0 1 * * ? *)",
        None,
        2,
        "canary",
    );
    disabled.enabled = false;
    fleet.add_window(disabled);
    let mut other_tag = FakeWindow::for_group(
        "mw-0000000othertag",
        "canary-by-team",
        "cron(0 2 * * ? *)",
        None,
        2,
        "canary",
    );
    other_tag.targets[0].key = "tag:Team".into();
    fleet.add_window(other_tag);
    fleet
}

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

    fn client(&self, max_attempts: u32, sleep: &NoWait) -> SsmClient {
        self.fake.client(max_attempts, sleep)
    }

    async fn start_stored(
        &self,
        settings: SsmSettings,
        store: Option<AnyStore>,
    ) -> Arc<SsmBackend> {
        let clock = self.clock.clone();
        let hooks = Hooks {
            clock: Arc::new(move || *clock.lock().expect("clock")),
            sleep: self.sleeps.sleeper(),
        };
        SsmBackend::start_with(self.client(1, &NoWait::default()), settings, store, hooks)
            .await
            .expect("start")
    }

    async fn start(&self, settings: SsmSettings) -> Arc<SsmBackend> {
        self.start_stored(settings, None).await
    }

    fn step(&self, secs: i64) {
        self.fake.fleet().advance(secs as f64);
        *self.clock.lock().expect("clock") += Duration::seconds(secs);
    }

    fn now(&self) -> DateTime<Utc> {
        *self.clock.lock().expect("clock")
    }
}

fn settings() -> SsmSettings {
    SsmSettings {
        region: Some(FAKE_REGION.into()),
        poll_in_flight_secs: 0,
        poll_sweep_secs: 300,
        ..SsmSettings::default()
    }
}

fn ring_ids(backend: &SsmBackend) -> Vec<String> {
    backend.rings().items.into_iter().map(|r| r.id).collect()
}

#[tokio::test]
async fn windows_and_their_targets_are_read_across_pages_in_ssms_shapes() {
    let mut fleet = fleet();
    fleet.windows[0].targets.push(FakeWindowTarget {
        id: "mw-0000000000000wave-more".into(),
        key: "tag:Patch Group".into(),
        values: vec!["wave-2".into()],
    });
    let rig = Rig::new(fleet).await;
    rig.fake.page_size("DescribeMaintenanceWindows", 2);
    rig.fake.page_size("DescribeMaintenanceWindowTargets", 1);
    let client = rig.client(1, &NoWait::default());
    let windows = client.windows().await.expect("windows");
    assert_eq!(windows.len(), 5, "every window, enabled or not");
    assert_eq!(
        rig.fake.count("DescribeMaintenanceWindows"),
        3,
        "pages of 2"
    );
    let wave = &windows[0];
    assert_eq!(wave.id, "mw-0000000000000wave");
    assert_eq!(wave.name, "wave-1-tuesday");
    assert_eq!(wave.schedule, "cron(0 22 ? * TUE *)");
    assert_eq!(wave.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!((wave.duration_hours, wave.cutoff_hours), (4, 1));
    assert!(wave.enabled);
    // Tuesday 2026-12-08 22:00 in Berlin.
    assert_eq!(wave.next_execution, Some(at("2026-12-08T21:00:00Z")));
    assert!(!windows[3].enabled);
    assert_eq!(
        windows[3].next_execution, None,
        "a disabled window does not run"
    );
    let targets = client.window_targets(&wave.id).await.expect("targets");
    assert_eq!(rig.fake.count("DescribeMaintenanceWindowTargets"), 2);
    let keys: Vec<(String, Vec<String>)> = targets.iter().flat_map(|t| t.targets.clone()).collect();
    assert_eq!(
        keys,
        [
            ("tag:Patch Group".to_string(), vec!["wave-1".to_string()]),
            ("tag:Patch Group".to_string(), vec!["wave-2".to_string()]),
        ]
    );
    assert_eq!(targets[0].resource_type, "INSTANCE");
    let recorded = rig.fake.requests();
    let first = recorded
        .iter()
        .find(|r| r.operation == "DescribeMaintenanceWindowTargets")
        .expect("a targets request");
    assert_eq!(first.body["WindowId"], "mw-0000000000000wave");
    assert_eq!(first.body["MaxResults"], 100);
    let unknown = client
        .window_targets("mw-nope")
        .await
        .expect_err("no window");
    assert!(
        matches!(&unknown, SsmError::Service { code, .. } if code == "DoesNotExistException"),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn each_ring_gets_the_enabled_window_that_targets_its_group() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(settings()).await;
    let wave = backend.ring("wave-1").expect("wave-1");
    assert_eq!(wave.window.days, vec![Weekday::Tue]);
    assert_eq!(
        wave.window.start,
        NaiveTime::from_hms_opt(22, 0, 0).unwrap()
    );
    assert_eq!(wave.window.duration_minutes, 240);
    assert_eq!(
        wave.window.utc_offset_minutes, 60,
        "Berlin's offset at its next run"
    );
    assert_eq!(wave.window.describe(), "Tue 22:00 +4h (Europe/Berlin)");
    assert_eq!(
        wave.window.status(rig.now()),
        WindowStatus::Closed {
            opens_at: at("2026-12-08T21:00:00Z")
        }
    );
    let pilot = backend.ring("pilot").expect("pilot");
    assert_eq!(pilot.window.describe(), "daily 23:00 +4h (UTC)");
    assert!(pilot.window.is_open(rig.now()), "23:00 to 03:00 UTC");
    // canary: only a disabled window and one on another tag name it.
    let canary = backend.ring("canary").expect("canary");
    assert_eq!(canary.window.describe(), "always (UTC)");
}

#[tokio::test]
async fn rings_go_by_when_their_windows_open_and_keep_that_order_as_days_pass() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(settings()).await;
    // By name it would be canary, pilot, test, wave-1.
    let order = ["test", "pilot", "wave-1", "canary"];
    assert_eq!(ring_ids(&backend), order);
    let orders: Vec<u32> = backend.rings().items.iter().map(|r| r.order).collect();
    assert_eq!(orders, [0, 1, 2, 3]);
    // A day later every next execution has moved; the order has not.
    rig.step(86_400);
    backend.poll_once().await.expect("sweep");
    assert_eq!(ring_ids(&backend), order);
    // A configured order wins over the windows.
    let configured = SsmSettings {
        ring_order: vec!["canary".into(), "wave-1".into()],
        ..settings()
    };
    let other = rig.start(configured).await;
    assert_eq!(ring_ids(&other), ["canary", "wave-1", "pilot", "test"]);
}

#[tokio::test]
async fn a_schedule_patchdeck_cannot_read_is_always_open_with_its_next_run() {
    let mut fleet = fleet();
    let test = fleet
        .window_mut("mw-000000000000test")
        .expect("test window");
    test.schedule = "rate(2 days)".into();
    test.next_execution = Some(1_796_248_800.0); // 2026-12-02T22:00:00Z
    let rig = Rig::new(fleet).await;
    let backend = rig.start(settings()).await;
    let ring = backend.ring("test").expect("test");
    assert!(ring.window.is_open(rig.now()));
    assert_eq!(
        ring.window.describe(),
        "always (UTC; SSM schedule rate(2 days) not read as a weekly window, next run 2026-12-02 22:00 UTC)"
    );
    // It still takes its place by its next run: Wednesday 22:00, after Tuesday's wave.
    assert_eq!(ring_ids(&backend), ["pilot", "wave-1", "test", "canary"]);
}

#[tokio::test]
async fn windows_are_read_by_the_sweep_and_a_change_is_an_event() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(settings()).await;
    let read = rig.fake.count("DescribeMaintenanceWindows");
    assert_eq!(read, 1);
    rig.step(60);
    backend.poll_once().await.expect("in-flight poll");
    assert_eq!(
        rig.fake.count("DescribeMaintenanceWindows"),
        read,
        "the in-flight tier does not read windows"
    );
    let since = backend.sequence();
    if let Some(w) = rig.fake.fleet().window_mut("mw-00000000000pilot") {
        w.schedule = "cron(0 21 * * ? *)".into();
    }
    rig.step(300);
    backend.poll_once().await.expect("sweep");
    assert_eq!(rig.fake.count("DescribeMaintenanceWindows"), read + 1);
    let pilot = backend.ring("pilot").expect("pilot");
    assert_eq!(pilot.window.describe(), "daily 21:00 +4h (UTC)");
    let events = backend.events_since(since).expect("events");
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.change, Change::Ring(r) if r.id == "pilot")),
        "the ring's new window is an event: {events:?}"
    );
}

#[tokio::test]
async fn a_throttled_describe_maintenance_windows_is_retried_within_the_budget() {
    // The SDK retries it (with backoff) before patchdeck sees it.
    let rig = Rig::new(fleet()).await;
    rig.fake.throttle_next("DescribeMaintenanceWindows", 2);
    let sleep = NoWait::default();
    let windows = rig
        .client(3, &sleep)
        .windows()
        .await
        .expect("third attempt");
    assert_eq!(windows.len(), 5);
    assert_eq!(sleep.asked().len(), 2, "a backoff before each retry");
    // Past the SDK's retries: the sweep fails as throttled, the budget halves its rate
    // and backs off, and the next sweep reads the windows.
    let backend = rig.start(settings()).await;
    let rate = backend.request_rate();
    rig.fake.throttle_next("DescribeMaintenanceWindows", 1);
    rig.step(600);
    let error = backend.poll_once().await.expect_err("throttled");
    assert!(matches!(error, SsmError::Throttled(_)), "{error:?}");
    assert_eq!(backend.request_rate(), rate / 2.0);
    let backoff = rig.sleeps.asked().last().copied().expect("a backoff");
    assert!(backoff >= StdDuration::from_secs(1), "{backoff:?}");
    assert!(backend.summary().0.name.contains("SSM is throttling"));
    backend.poll_once().await.expect("the sweep again");
    assert_eq!(
        backend.ring("wave-1").expect("wave-1").window.describe(),
        "Tue 22:00 +4h (Europe/Berlin)"
    );
    assert_eq!(backend.summary().0.name, "AWS SSM eu-west-1");
}

#[tokio::test]
async fn the_dry_run_of_an_approve_shows_the_rings_window_and_that_the_command_waits() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(settings()).await;
    let request = ActionRequest::new(
        Verb::Approve,
        Target {
            kind: TargetKind::Deployment,
            id: "dep-0001".into(),
        },
    );
    let plan = backend
        .plan(&request, &Identity::new("alice", Role::Approver))
        .expect("plan");
    let stage = plan.stages.first().expect("the first ring's stage");
    assert_eq!(stage.ring_id, "test");
    assert!(!stage.window.open_now && !stage.window.always);
    assert_eq!(stage.window.opens_at, Some(at("2026-12-02T20:00:00Z")));
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("the command is sent when test's window opens (Wed 20:00 UTC)")),
        "{:?}",
        plan.notes
    );
}

fn on_deployment(verb: Verb) -> ActionRequest {
    ActionRequest {
        reason: Some("patch night".into()),
        ticket: Some("CHG-14".into()),
        ..ActionRequest::new(
            verb,
            Target {
                kind: TargetKind::Deployment,
                id: "dep-0001".into(),
            },
        )
    }
}

fn alice() -> Identity {
    Identity::new("alice", Role::Approver)
}

/// test's window opens at 20:00 UTC, 19 hours after START.
const TO_OPENING: i64 = 19 * 3600;

/// The comments of the commands the fake SSM was sent.
fn sent(rig: &Rig) -> Vec<String> {
    let fleet = rig.fake.fleet();
    fleet.commands.iter().map(|c| c.comment.clone()).collect()
}

async fn approved_waiting(rig: &Rig, backend: &SsmBackend) {
    let action = backend
        .act(on_deployment(Verb::Approve), &alice())
        .expect("approve accepted");
    assert_eq!(action.state, ActionState::Running);
    assert!(
        action
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("waits for its window, opens Wed 20:00 UTC")),
        "{action:?}"
    );
    backend.settle().await;
    let ring = backend.ring("test").expect("test");
    assert_eq!(
        ring.state,
        RingState::Deploying,
        "opened, nothing in flight"
    );
    assert_eq!(ring.counts.in_flight(), 0);
    assert_eq!(
        ring.state_reason.as_deref(),
        Some("approved; waits for its window, opens Wed 20:00 UTC")
    );
    let dep = backend.deployment("dep-0001").expect("dep");
    assert_eq!(dep.state, DeploymentState::Running);
    assert_eq!(dep.current_ring.as_deref(), Some("test"));
    assert_eq!(
        rig.fake.count("SendCommand"),
        0,
        "nothing before the window"
    );
}

#[tokio::test]
async fn an_approved_ring_waits_for_its_window_and_its_command_goes_out_once_when_it_opens() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(settings()).await;
    approved_waiting(&rig, &backend).await;
    let again = backend.act(on_deployment(Verb::Approve), &alice());
    assert!(
        format!("{again:?}").contains("the command is sent when the window opens"),
        "{again:?}"
    );
    rig.step(TO_OPENING - 60);
    backend.poll_once().await.expect("poll");
    backend.settle().await;
    assert_eq!(rig.fake.count("SendCommand"), 0, "19:59: still closed");
    rig.step(120);
    backend.poll_once().await.expect("poll");
    backend.settle().await;
    assert_eq!(sent(&rig), vec!["patchdeck dep-0001 ring=test try=1"]);
    for _ in 0..3 {
        rig.step(60);
        backend.poll_once().await.expect("poll");
        backend.settle().await;
    }
    assert_eq!(rig.fake.count("SendCommand"), 1, "once");
    let approve = backend
        .actions()
        .items
        .into_iter()
        .find(|a| a.verb == Verb::Approve)
        .expect("approve");
    assert_eq!(approve.state, ActionState::Succeeded, "{approve:?}");
    assert_eq!(
        backend.ring("test").expect("test").state,
        RingState::Deploying
    );
}

#[tokio::test]
async fn a_restarted_gateway_still_waits_then_sends_once() {
    let dir = std::env::temp_dir().join(format!("patchdeck-window-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let location = Location::Sqlite {
        path: dir.join("gateway.db"),
        read_only: false,
    };
    let rig = Rig::new(fleet()).await;
    let store = AnyStore::open(&location).await.expect("store");
    let first = rig.start_stored(settings(), Some(store.clone())).await;
    approved_waiting(&rig, &first).await;
    drop(first);
    let stored = store.ring_rollout("dep-0001/test").await.expect("read");
    let stored = stored.expect("the wait is in the store").value;
    assert_eq!(stored.state, RingState::Waiting);
    assert_eq!(
        stored.gate_decision.as_deref(),
        Some("approved; waits for its window: patchdeck dep-0001 ring=test try=1")
    );
    rig.step(3600);
    let second = rig.start_stored(settings(), Some(store.clone())).await;
    let ring = second.ring("test").expect("test");
    assert_eq!(
        ring.state_reason.as_deref(),
        Some("approved; waits for its window, opens Wed 20:00 UTC"),
        "{ring:?}"
    );
    second.poll_once().await.expect("poll");
    second.settle().await;
    assert_eq!(rig.fake.count("SendCommand"), 0);
    rig.step(TO_OPENING - 3600 + 60);
    second.poll_once().await.expect("poll");
    second.settle().await;
    assert_eq!(sent(&rig), vec!["patchdeck dep-0001 ring=test try=1"]);
    drop(second);
    // Restarted after the send (the store still keeps the wait): the marker wins.
    let third = rig.start_stored(settings(), Some(store)).await;
    third.poll_once().await.expect("poll");
    third.settle().await;
    assert_eq!(rig.fake.count("SendCommand"), 1, "never twice");
    assert_eq!(
        third.deployment("dep-0001").expect("dep").state,
        DeploymentState::Running
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_halt_pause_or_decline_while_waiting_cancels_the_wait_and_sends_nothing() {
    for verb in [Verb::Halt, Verb::Pause, Verb::Decline] {
        let rig = Rig::new(fleet()).await;
        let backend = rig.start(settings()).await;
        approved_waiting(&rig, &backend).await;
        let plan = backend.plan(&on_deployment(verb), &alice()).expect("plan");
        assert!(
            verb == Verb::Decline
                || plan
                    .notes
                    .iter()
                    .any(|n| n.contains("waits for its window: the wait is cancelled")),
            "{verb:?}: {plan:?}"
        );
        backend
            .act(on_deployment(verb), &alice())
            .unwrap_or_else(|e| panic!("{verb:?}: {e:?}"));
        backend.settle().await;
        let approve = backend
            .actions()
            .items
            .into_iter()
            .find(|a| a.verb == Verb::Approve)
            .expect("approve");
        assert_eq!(approve.state, ActionState::Failed, "{verb:?}");
        assert!(
            approve
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("window opened: nothing was sent")),
            "{approve:?}"
        );
        rig.step(TO_OPENING + 60);
        backend.poll_once().await.expect("poll");
        backend.settle().await;
        assert_eq!(rig.fake.count("SendCommand"), 0, "{verb:?}: nothing sent");
        let dep = backend.deployment("dep-0001").expect("dep");
        let expected = match verb {
            Verb::Halt => DeploymentState::Halted,
            Verb::Pause => DeploymentState::Paused,
            _ => DeploymentState::Declined,
        };
        assert_eq!(dep.state, expected, "{verb:?}: {dep:?}");
    }
}

#[tokio::test]
async fn a_ring_with_no_window_is_sent_at_once() {
    let rig = Rig::new(fleet()).await;
    let settings = SsmSettings {
        ring_order: vec!["canary".into()],
        ..settings()
    };
    let backend = rig.start(settings).await;
    assert!(
        backend
            .ring("canary")
            .expect("canary")
            .window
            .is_open(rig.now())
    );
    backend
        .act(on_deployment(Verb::Approve), &alice())
        .expect("approved");
    backend.settle().await;
    assert_eq!(sent(&rig), vec!["patchdeck dep-0001 ring=canary try=1"]);
}

#[tokio::test]
async fn a_restart_between_the_opening_and_ssms_answer_adopts_the_command_never_twice() {
    let dir = std::env::temp_dir().join(format!("patchdeck-window-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let location = Location::Sqlite {
        path: dir.join("gateway.db"),
        read_only: false,
    };
    let rig = Rig::new(fleet()).await;
    let store = AnyStore::open(&location).await.expect("store");
    let first = rig.start_stored(settings(), Some(store.clone())).await;
    approved_waiting(&rig, &first).await;
    rig.step(TO_OPENING + 60);
    // SSM acts on the SendCommand but its answer never comes; the gateway then dies.
    rig.fake.drop_next_response("SendCommand");
    first.poll_once().await.expect("poll");
    while rig.fake.count("SendCommand") == 0 {
        tokio::task::yield_now().await;
    }
    drop(first);
    let second = rig.start_stored(settings(), Some(store)).await;
    second.poll_once().await.expect("poll");
    second.settle().await;
    rig.step(60);
    second.poll_once().await.expect("poll");
    second.settle().await;
    assert_eq!(sent(&rig), vec!["patchdeck dep-0001 ring=test try=1"]);
    assert_eq!(rig.fake.count("SendCommand"), 1, "adopted by its marker");
    assert_eq!(
        second.ring("test").expect("test").state,
        RingState::Deploying
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_resume_after_a_pause_while_waiting_waits_again_and_sends_its_next_attempt_once() {
    let rig = Rig::new(fleet()).await;
    let backend = rig.start(settings()).await;
    approved_waiting(&rig, &backend).await;
    let pause = backend
        .act(on_deployment(Verb::Pause), &alice())
        .expect("paused");
    assert!(
        pause
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("its wait for the window is cancelled")),
        "{pause:?}"
    );
    backend.settle().await;
    let resume = backend
        .act(on_deployment(Verb::Resume), &alice())
        .expect("resumed");
    assert!(
        resume
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("waits for its window")),
        "{resume:?}"
    );
    backend.settle().await;
    assert_eq!(rig.fake.count("SendCommand"), 0);
    rig.step(TO_OPENING + 60);
    backend.poll_once().await.expect("poll");
    backend.settle().await;
    backend.poll_once().await.expect("poll");
    backend.settle().await;
    assert_eq!(sent(&rig), vec!["patchdeck dep-0001 ring=test try=2"]);
}
