//! Compliance in the console: the server's figures asked for when the fleet moved (not
//! more than every few seconds, with the ETag), the strip on the main screen and the
//! Compliance tab (snapshots at 80x24 and 120x40), said stale or unknown when they
//! could not be fetched; and the ring detail's test coverage (bad-patch: Pilot's
//! Contoso Book 14 G3 never passed through Test).

mod common;

use chrono::Duration;
use crossterm::event::KeyCode;
use insta::assert_snapshot;

use common::*;
use patchdeck::app::compliance::{ComplianceAnswer, REFRESH_SECS, RETRY_SECS, STALE_SECS};
use patchdeck::app::lists::Pane;
use patchdeck::app::{App, Effect, Msg, Screen, update};
use patchdeck::backend::{Backend, HostQuery};
use patchdeck::compliance::{Compliance, CompliancePolicy, HostFacts, compute, verified};
use patchdeck::model::{Change, Event};
use patchdeck::sim::Simulator;

/// The figures as the server computes them (`GET /v1/compliance`): every host with its
/// history, under the default policy.
fn figures(simulator: &Simulator) -> Compliance {
    let patches = simulator.patches().items;
    let hosts: Vec<HostFacts> = simulator
        .hosts(&HostQuery {
            limit: 100_000,
            ..HostQuery::default()
        })
        .items
        .into_iter()
        .map(|host| {
            let full = simulator.host(&host.id).expect("the host");
            HostFacts {
                verified: verified(&full, &patches),
                host,
            }
        })
        .collect();
    let (summary, sequence) = simulator.summary();
    let (mut figures, _) = compute(&CompliancePolicy::default(), summary.now, &patches, &hosts);
    figures.sequence = sequence;
    figures
}

fn fetches(effects: &[Effect]) -> Vec<Option<String>> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::FetchCompliance { if_none_match } => Some(if_none_match.clone()),
            _ => None,
        })
        .collect()
}

fn tick(app: &mut App, secs: i64) -> Vec<Effect> {
    let now = app.now + Duration::seconds(secs);
    update(app, Msg::Tick(now))
}

fn answer(app: &mut App, figures: &Compliance, etag: &str) {
    update(
        app,
        Msg::Compliance(Ok(ComplianceAnswer::Changed {
            compliance: Box::new(figures.clone()),
            etag: Some(etag.into()),
        })),
    );
}

/// The standard console with the server's figures in.
fn console_with_figures() -> (App, Compliance) {
    let simulator = standard_simulator();
    let mut app = console_on(&simulator);
    let figures = figures(&simulator);
    assert!(
        app.compliance.in_flight,
        "the first tick after the sync asks"
    );
    answer(&mut app, &figures, "\"seq-1\"");
    (app, figures)
}

/// An event that moves the fleet's sequence.
fn move_fleet(app: &mut App) {
    let host = app.fleet.hosts.values().next().cloned().expect("a host");
    let mut changed = host.clone();
    changed.version += 1;
    let event = Event {
        seq: app.fleet.sequence + 1,
        at: app.fleet_now(),
        change: Change::Host(changed),
    };
    update(
        app,
        Msg::Sync(patchdeck::backend::SyncUpdate::Events(vec![event])),
    );
}

#[test]
fn figures_are_asked_for_when_the_fleet_moved_at_most_every_few_seconds_with_the_etag() {
    let simulator = standard_simulator();
    let mut app = console_on(&simulator);
    // The first tick after the sync asked, without a tag; nothing more while it is out.
    assert!(app.compliance.in_flight);
    assert!(fetches(&tick(&mut app, 60)).is_empty());
    answer(&mut app, &figures(&simulator), "\"seq-7\"");
    // Nothing moved: nothing asked, however long.
    assert!(fetches(&tick(&mut app, 600)).is_empty());
    // The fleet moved: asked again, with the tag, once the refresh time is up.
    move_fleet(&mut app);
    assert_eq!(fetches(&tick(&mut app, 0)), vec![Some("\"seq-7\"".into())]);
    update(&mut app, Msg::Compliance(Ok(ComplianceAnswer::NotModified)));
    assert!(app.compliance.figures.is_some(), "a 304 keeps the figures");
    move_fleet(&mut app);
    assert!(
        fetches(&tick(&mut app, 1)).is_empty(),
        "not sooner than {REFRESH_SECS}s"
    );
    assert_eq!(fetches(&tick(&mut app, REFRESH_SECS)).len(), 1);
}

#[test]
fn figures_that_could_not_be_fetched_are_marked_stale_never_shown_as_current() {
    let (mut app, figures) = console_with_figures();
    let current = screen(&mut app, 80, 24);
    let words = format!("compliant {:.1}%", figures.percent_compliant);
    assert!(current.contains(&words), "{current}");
    assert!(!current.contains("STALE"), "{current}");
    move_fleet(&mut app);
    assert_eq!(fetches(&tick(&mut app, REFRESH_SECS)).len(), 1);
    update(
        &mut app,
        Msg::Compliance(Err(
            "cannot reach http://127.0.0.1:7070/v1/compliance".into()
        )),
    );
    let stale = screen(&mut app, 80, 24);
    assert!(stale.contains("STALE"), "{stale}");
    // Retried later, not at once.
    assert!(fetches(&tick(&mut app, 1)).is_empty());
    assert_eq!(fetches(&tick(&mut app, RETRY_SECS)).len(), 1);
    // The tab says why.
    update(
        &mut app,
        Msg::Compliance(Err(
            "cannot reach http://127.0.0.1:7070/v1/compliance".into()
        )),
    );
    press(&mut app, KeyCode::Char('5'));
    let tab = screen(&mut app, 80, 24);
    assert!(tab.contains("could not fetch: cannot reach"), "{tab}");
}

#[test]
fn figures_not_confirmed_long_after_the_fleet_moved_are_stale_too() {
    let (mut app, _) = console_with_figures();
    move_fleet(&mut app);
    tick(&mut app, REFRESH_SECS);
    assert!(app.compliance.in_flight);
    // No answer comes.
    tick(&mut app, STALE_SECS + 1);
    let stale = screen(&mut app, 80, 24);
    assert!(stale.contains("STALE"), "{stale}");
}

#[test]
fn no_figures_and_a_failure_say_unknown() {
    let mut app = console();
    update(&mut app, Msg::Compliance(Err("not found (404)".into())));
    let main = screen(&mut app, 80, 24);
    assert!(main.contains("compliance unknown"), "{main}");
    assert!(!main.contains("compliant "), "{main}");
}

#[test]
fn the_strip_and_the_tab_at_80x24_and_120x40() {
    let (mut app, _) = console_with_figures();
    for (width, height) in [(80, 24), (120, 40)] {
        assert_snapshot!(
            format!("compliance_strip_{width}x{height}"),
            annotated(&draw(&mut app, width, height))
        );
    }
    press(&mut app, KeyCode::Char('5'));
    assert_eq!(app.focus, Pane::Compliance);
    for (width, height) in [(80, 24), (120, 40)] {
        assert_snapshot!(
            format!("compliance_tab_{width}x{height}"),
            annotated(&draw(&mut app, width, height))
        );
    }
    // Scrolled to its end: the patches.
    resize(&mut app, 80, 24);
    press(&mut app, KeyCode::Char('G'));
    assert_snapshot!(
        "compliance_tab_end_80x24",
        annotated(&draw(&mut app, 80, 24))
    );
}

#[test]
fn the_tab_bar_fits_at_80_columns_and_a_click_finds_each_tab() {
    let (mut app, _) = console_with_figures();
    press(&mut app, KeyCode::Char('5'));
    let text = screen(&mut app, 80, 24);
    let bar = text
        .lines()
        .find(|l| l.contains("5 Compliance"))
        .expect("the tab bar");
    for tab in ["2 Deploy", "3 Failed", "4 Actions", "5 Compliance"] {
        assert!(bar.contains(tab), "{bar}");
    }
}

#[test]
fn enter_on_a_ring_row_lists_the_hosts_it_counts() {
    let (mut app, figures) = console_with_figures();
    press(&mut app, KeyCode::Char('5'));
    let rows = app.row_keys(patchdeck::app::ListId::Pane(Pane::Compliance));
    let at = rows
        .iter()
        .position(|k| k == "ring:pilot")
        .expect("a row for Pilot");
    for _ in 0..at {
        press(&mut app, KeyCode::Char('j'));
    }
    press(&mut app, KeyCode::Enter);
    let Some(Screen::Hosts(filter)) = app.screen().cloned() else {
        panic!("Enter opens the hosts, got {:?}", app.screen());
    };
    assert_eq!(filter.ring.as_deref(), Some("pilot"));
    let pilot = figures
        .by_ring
        .iter()
        .find(|b| b.key == "pilot")
        .expect("Pilot's figures");
    assert_eq!(app.host_rows.len() as u32, pilot.hosts);
}

#[test]
fn pilot_detail_says_the_bad_model_never_passed_through_test() {
    let mut app = console();
    command(&mut app, "ring pilot");
    assert_eq!(app.screen(), Some(&Screen::Ring("pilot".into())));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("hardware model Contoso Book 14 G3"), "{text}");
    assert!(text.contains("never passed through Test"), "{text}");
    assert_snapshot!(
        "ring_detail_coverage_80x24",
        annotated(&draw(&mut app, 80, 24))
    );
}
