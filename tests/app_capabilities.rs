//! A verb the fleet cannot do (a vendor's capabilities) is not offered: the footer
//! says so, the key refuses with the fleet's reason, and help says why; a verb the
//! fleet does its own way carries its note in help.

mod common;

use crossterm::event::KeyCode;

use common::*;
use patchdeck::app::{App, NOT_ON_THIS_FLEET};
use patchdeck::keys::KeyAction;
use patchdeck::model::{Role, Verb, VerbSupport};

fn on_a_fleet_without_rollback() -> App {
    let mut fleet = fleet_of(&*standard_simulator());
    let summary = fleet.summary.as_mut().expect("a summary");
    summary.capabilities.rollback = false;
    summary.capabilities.verbs = vec![
        VerbSupport {
            verb: Verb::Rollback,
            available: false,
            note: "SSM has no rollback: configure a rollback document per platform".into(),
        },
        VerbSupport {
            verb: Verb::Pause,
            available: true,
            note: "pause cancels the pending hosts; resume sends a new command".into(),
        },
    ];
    console_with(fleet, demo_context(), Role::Approver)
}

#[test]
fn a_verb_the_fleet_cannot_do_is_refused_with_its_reason_everywhere() {
    let mut app = on_a_fleet_without_rollback();
    let why = app
        .availability(KeyAction::Rollback)
        .expect_err("rollback is not offered");
    assert!(why.starts_with(NOT_ON_THIS_FLEET), "{why}");
    assert!(why.contains("configure a rollback document"), "{why}");
    assert!(
        app.availability(KeyAction::Halt).is_ok(),
        "other verbs stay"
    );

    let footer = screen(&mut app, 200, 30);
    assert!(
        footer.contains("(not on this fleet: ? says why)"),
        "{footer}"
    );

    press(&mut app, KeyCode::Char('?'));
    let help = screen(&mut app, 200, 60);
    assert!(
        help.contains("unavailable here: not on this fleet: SSM has no rollback"),
        "{help}"
    );
    assert!(
        help.contains("(this fleet: pause cancels the pending hosts; resume sends a new command)"),
        "{help}"
    );
}

#[test]
fn the_simulator_offers_every_verb() {
    let app = console_as(Role::Approver);
    assert!(app.fleet_note(KeyAction::PauseResume).is_none());
    assert!(
        app.availability(KeyAction::Rollback)
            .map_err(|why| why.starts_with(NOT_ON_THIS_FLEET))
            != Err(true)
    );
}
