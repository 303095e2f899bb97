//! Maintenance windows through the real `aws_sdk_ssm` client against the fake SSM on
//! 127.0.0.1: windows and their targets read across pages, each ring's window from the
//! enabled window that targets its patch group, rings ordered by when their windows
//! open, a schedule not read shown always open with its next run, a throttled
//! `DescribeMaintenanceWindows` retried within the budget. The clock is the test's;
//! sleeps never wait.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveTime, Utc, Weekday};
use patchdeck::backend::Backend;
use patchdeck::backend::aws_ssm::budget::RecordedSleeps;
use patchdeck::backend::aws_ssm::fake::{
    FAKE_REGION, FakeFleet, FakeInstance, FakeSsm, FakeWindow, FakeWindowTarget,
};
use patchdeck::backend::aws_ssm::{Hooks, NoWait, SsmBackend, SsmClient, SsmError, SsmSettings};
use patchdeck::model::{Change, WindowStatus};

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

    async fn start(&self, settings: SsmSettings) -> Arc<SsmBackend> {
        let clock = self.clock.clone();
        let hooks = Hooks {
            clock: Arc::new(move || *clock.lock().expect("clock")),
            sleep: self.sleeps.sleeper(),
        };
        SsmBackend::start_with(self.client(1, &NoWait::default()), settings, None, hooks)
            .await
            .expect("start")
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
async fn the_dry_run_of_an_approve_shows_the_rings_window_and_that_ssm_will_not_wait() {
    use patchdeck::backend::ActionRequest;
    use patchdeck::model::{Identity, Role, Target, TargetKind, Verb};
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
        plan.notes.iter().any(|n| n.contains(
            "test's maintenance window is closed until Wed 20:00 UTC: SSM runs the command at once"
        )),
        "{:?}",
        plan.notes
    );
}
