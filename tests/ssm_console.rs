//! The console on an SSM fleet: the demo account of `dev fake-ssm` (bad-patch story)
//! read by `SsmBackend` through the real SDK, Test approved and done, Pilot approved and
//! failing with 0x800f0922, shown at 80x24 as an engineer would see it, then 45 s
//! later with no poll (old data shown as old) and the failed instance's detail. The
//! clock is the test's; nothing waits.

mod common;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration};
use crossterm::event::KeyCode;
use insta::assert_snapshot;

use common::{console_with, fleet_of, press, screen};
use patchdeck::app::{Context, Msg, update};
use patchdeck::backend::aws_ssm::budget::RecordedSleeps;
use patchdeck::backend::aws_ssm::fake::{DemoStory, FakeSsm, demo_fleet};
use patchdeck::backend::aws_ssm::{Hooks, NoWait, SsmBackend, SsmSettings};
use patchdeck::backend::{ActionRequest, Backend, HostQuery};
use patchdeck::model::{HostState, Identity, Role, Target, TargetKind, Verb};

/// 2026-12-01T23:00:00Z: Test's and Pilot's maintenance windows are open (an approval sends at once).
const START: f64 = 1_796_166_000.0;

#[tokio::test]
async fn the_fake_accounts_groups_commands_and_failed_instances_at_80x24() {
    let fake = FakeSsm::start(demo_fleet(START, 40, DemoStory::BadPatch))
        .await
        .expect("fake");
    let client = fake.client(1, &NoWait::default());
    let mut settings: SsmSettings =
        toml::from_str(&patchdeck::dev::demo_settings()).expect("demo settings");
    settings.poll_in_flight_secs = 0;
    settings.soak_minutes = 0;
    let clock = Arc::new(Mutex::new(
        DateTime::from_timestamp(START as i64, 0).expect("time"),
    ));
    let hooks = Hooks {
        clock: {
            let clock = clock.clone();
            Arc::new(move || *clock.lock().expect("clock"))
        },
        sleep: RecordedSleeps::default().sleeper(),
    };
    let backend = SsmBackend::start_with(client, settings, None, hooks)
        .await
        .expect("start");
    let step = |n: usize| {
        for _ in 0..n {
            let mut fleet = fake.fleet();
            fleet.advance(60.0);
            fleet.step();
            *clock.lock().expect("clock") += Duration::seconds(60);
        }
    };
    let approve = || {
        backend
            .act(
                ActionRequest::new(
                    Verb::Approve,
                    Target {
                        kind: TargetKind::Deployment,
                        id: "dep-0001".into(),
                    },
                ),
                &Identity::new("alice", Role::Approver),
            )
            .expect("approved")
    };

    approve();
    backend.settle().await;
    step(8);
    backend.poll_once().await.expect("poll");
    backend.poll_once().await.expect("poll");
    approve();
    backend.settle().await;
    step(3);
    backend.poll_once().await.expect("poll");

    let context = Context {
        name: "aws-ssm".into(),
        api_url: "http://127.0.0.1:7070".into(),
        demo: false,
        read_only: false,
        insecure_http: false,
    };
    let mut app = console_with(fleet_of(&*backend), context, Role::Approver);
    let main = screen(&mut app, 80, 24);
    assert!(main.contains("Test"), "{main}");
    assert_snapshot!("ssm_fleet_80x24", main);
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Enter);
    let failed = screen(&mut app, 80, 24);
    assert!(failed.contains("0x800f0922"), "{failed}");
    assert_snapshot!("ssm_failed_instances_80x24", failed);

    // SSM throttles (or the gateway polls slowly): no poll completes and the console's
    // clock goes on. 45 s on, the data is old and says so, never "LIVE".
    let read_at = app.fleet.summary.as_ref().and_then(|s| s.as_of);
    assert!(read_at.is_some(), "every poll moves the summary's age");
    let later = app.now + Duration::seconds(45);
    update(&mut app, Msg::Tick(later));
    let old = screen(&mut app, 80, 24);
    assert!(
        old.lines()
            .next()
            .is_some_and(|l| l.contains("as of 45s ago")),
        "{old}"
    );
    assert!(!old.contains("LIVE"), "{old}");
    assert_snapshot!("ssm_old_data_80x24", old);

    // The failed instance's detail: its own age, then its history, one line per
    // command that reached it, with SSM's StatusDetails, ResponseCode and output.
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    let failing = backend
        .hosts(&HostQuery::default())
        .items
        .into_iter()
        .find(|h| h.state == HostState::Failed)
        .expect("a failed instance");
    let detail = backend.host(&failing.id).expect("its detail");
    assert!(detail.history.len() > 1, "{:?}", detail.history);
    update(
        &mut app,
        Msg::HostDetail {
            id: failing.id.to_string(),
            result: Box::new(Ok(detail)),
        },
    );
    let host = screen(&mut app, 80, 24);
    assert!(host.contains("as of 45s ago"), "{host}");
    assert!(host.contains("StatusDetails Failed"), "{host}");
    assert_snapshot!("ssm_host_detail_old_80x24", host);
}

/// One rule, in one place: data older than 30 s is old; the simulator's (no age) is
/// live; a detail shows the later of its own age and the fleet's.
#[test]
fn data_older_than_thirty_seconds_is_shown_with_its_age_never_as_live() {
    use patchdeck::app::age;
    use patchdeck::app::viewport::{ConnectionHealth, connection_words};
    let mut app = common::console();
    assert_eq!(
        connection_words(&app).0,
        "LIVE",
        "the simulator says no age"
    );
    let now = app.fleet_now();
    let at = |secs: i64| now - Duration::seconds(secs);
    let mut summary = app.fleet.summary.clone().expect("summary");
    summary.as_of = Some(at(30));
    app.fleet.summary = Some(summary.clone());
    assert_eq!(connection_words(&app).0, "LIVE", "30 s is not yet old");
    summary.as_of = Some(at(40));
    app.fleet.summary = Some(summary);
    assert_eq!(
        connection_words(&app),
        ("as of 40s ago".to_string(), ConnectionHealth::Degraded)
    );
    assert_eq!(
        age::old_words(&app, Some(at(90))).as_deref(),
        Some("as of 40s ago")
    );
    assert_eq!(age::old_words(&app, Some(at(5))), None, "read since: fresh");
    assert!(
        age::detail_words(&app, None).is_some_and(|w| w.starts_with("as of 40s ago (")),
        "with the time it was read"
    );
}
