//! The console's notices: the bad-patch halt, brought by the event stream, rings the
//! bell once (one `Effect::Bell`) and is flashed; the same events again ring nothing;
//! the fleet as it was at connecting is not news; `bell = false` keeps the flash only.

mod common;

use common::*;
use patchdeck::app::{App, Effect, Msg, update};
use patchdeck::backend::{Backend, SyncUpdate};
use patchdeck::model::Event;
use patchdeck::sim::{Scenario, Simulator};

fn bells(effects: &[Effect]) -> usize {
    effects.iter().filter(|e| **e == Effect::Bell).count()
}

fn flash(app: &App) -> String {
    app.flash
        .as_ref()
        .map(|f| f.text.clone())
        .unwrap_or_default()
}

/// Runs the story in 10-minute steps, each step's events to the console, until the
/// console flashes the halt: the effects of that step, and its events.
fn run_to_the_halt(app: &mut App, simulator: &Simulator) -> (Vec<Effect>, Vec<Event>) {
    for _ in 0..(RUN_SECS / 600) {
        simulator.advance(600);
        let events = simulator
            .events_since(app.fleet.sequence)
            .expect("nothing compacted");
        let effects = update(app, Msg::Sync(SyncUpdate::Events(events.clone())));
        if flash(app).starts_with("HALTED") {
            return (effects, events);
        }
    }
    panic!("no halt flashed; last flash: {}", flash(app));
}

#[test]
fn the_halt_rings_the_bell_once_and_is_flashed() {
    let simulator = simulator(Scenario::BadPatch, 0);
    let mut app = console_on(&simulator);
    let (effects, events) = run_to_the_halt(&mut app, &simulator);
    assert_eq!(bells(&effects), 1, "one notice, one bell: {effects:?}");
    let words = flash(&app);
    assert!(words.contains("in Pilot: failure threshold"), "{words}");
    assert!(
        app.flash.as_ref().unwrap().error,
        "a halt is flashed as an error"
    );
    // The same events again (a replay): no bell.
    let again = update(&mut app, Msg::Sync(SyncUpdate::Events(events)));
    assert_eq!(bells(&again), 0);
    // Nor when the fleet goes on without a new notice.
    simulator.advance(60);
    let events = simulator.events_since(app.fleet.sequence).unwrap();
    let later = update(&mut app, Msg::Sync(SyncUpdate::Events(events)));
    assert_eq!(bells(&later), 0, "{:?}", flash(&app));
}

#[test]
fn what_was_there_at_connecting_is_not_news() {
    // Halted before the console connects.
    let simulator = standard_simulator();
    let mut app = App::new(demo_context(), Default::default(), start());
    let effects = update(
        &mut app,
        Msg::Sync(SyncUpdate::Snapshot(Box::new(fleet_of(&*simulator)))),
    );
    assert_eq!(bells(&effects), 0);
    assert!(!flash(&app).starts_with("HALTED"), "{}", flash(&app));
}

#[test]
fn with_the_bell_off_the_halt_is_flashed_without_a_bell() {
    let simulator = simulator(Scenario::BadPatch, 0);
    let mut app = console_on(&simulator);
    app.bell = false;
    let (effects, _) = run_to_the_halt(&mut app, &simulator);
    assert_eq!(bells(&effects), 0);
    assert!(flash(&app).starts_with("HALTED"));
}
