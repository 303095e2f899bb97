//! The console on an SSM fleet: the demo account of `dev fake-ssm` (bad-patch story)
//! read by `SsmBackend` through the real SDK, Test approved and done, Pilot approved and
//! failing with 0x800f0922, shown at 80x24 as an engineer would see it. The clock is
//! the test's; nothing waits.

mod common;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration};
use crossterm::event::KeyCode;
use insta::assert_snapshot;

use common::{console_with, fleet_of, press, screen};
use patchdeck::app::Context;
use patchdeck::backend::aws_ssm::budget::RecordedSleeps;
use patchdeck::backend::aws_ssm::fake::{DemoStory, FakeSsm, demo_fleet};
use patchdeck::backend::aws_ssm::{Hooks, NoWait, SsmBackend, SsmSettings};
use patchdeck::backend::{ActionRequest, Backend};
use patchdeck::model::{Identity, Role, Target, TargetKind, Verb};

/// 2026-12-02T01:00:00Z.
const START: f64 = 1_796_173_200.0;

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
}
