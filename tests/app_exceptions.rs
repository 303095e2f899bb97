//! The console's exceptions: the `6 Exceptions` tab (soonest expiry first, expired and
//! near-expiry marked), its renew and revoke keys and the dialogs they open with the
//! server's plan, the exclude dialog's terms, and the notice that an exception expired
//! until it is seen. Snapshots at 80x24 (and the tab at 200x50).

mod common;

use crossterm::event::KeyCode;
use insta::assert_snapshot;

use common::*;
use patchdeck::app::{App, Dialog, Effect, Msg, Screen, update};
use patchdeck::backend::SyncUpdate;
use patchdeck::model::{Change, Event, Expiry, HostState, Verb};

/// The rows of the Exceptions pane, as the console orders them.
fn rows(app: &App) -> Vec<String> {
    app.row_keys(patchdeck::app::ListId::Pane(
        patchdeck::app::lists::Pane::Exceptions,
    ))
    .to_vec()
}

fn exceptions_tab() -> App {
    let mut app = console();
    press(&mut app, KeyCode::Char('6'));
    app
}

fn confirm(app: &App) -> &patchdeck::app::confirm::ConfirmDialog {
    match &app.dialog {
        Some(Dialog::Confirm(confirm)) => confirm,
        other => panic!("no confirm dialog: {other:?}"),
    }
}

#[test]
fn the_tab_lists_exceptions_soonest_expiry_first() {
    let mut app = exceptions_tab();
    assert_eq!(app.focus, patchdeck::app::lists::Pane::Exceptions);
    let rows = rows(&app);
    assert!(rows.len() >= 3, "{rows:?}");
    let expiries: Vec<_> = rows
        .iter()
        .map(|id| {
            app.fleet.hosts[id.as_str()]
                .exception
                .as_ref()
                .unwrap()
                .expires_at
        })
        .collect();
    let mut sorted = expiries.clone();
    sorted.sort();
    assert_eq!(expiries, sorted);
    let small = screen(&mut app, 80, 24);
    assert!(small.contains("6 Exceptions ("), "{small}");
    assert!(small.contains("EXPIRED"), "{small}");
    assert!(small.contains("(soon)"), "{small}");
    assert_snapshot!("exceptions_tab_80x24", annotated(&draw(&mut app, 80, 24)));
    assert_snapshot!("exceptions_tab_200x50", annotated(&draw(&mut app, 200, 50)));
}

#[test]
fn enter_opens_the_host_and_its_exception() {
    let mut app = exceptions_tab();
    let first = rows(&app)[0].clone();
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen(), Some(&Screen::Host(first)));
    let detail = screen(&mut app, 80, 24);
    assert!(detail.contains("EXCEPTION"), "{detail}");
    assert!(detail.contains("compensating"), "{detail}");
    assert!(
        detail.contains("renew"),
        "the footer offers renew: {detail}"
    );
}

#[test]
fn renew_asks_for_a_new_expiry_and_sends_it() {
    let mut app = exceptions_tab();
    let host = rows(&app)[0].clone();
    let effects = press(&mut app, KeyCode::Char('n'));
    answer_plans(&mut app, &standard_simulator(), &effects);
    assert_eq!(confirm(&app).plan.verb, Verb::Renew);
    assert!(
        confirm(&app)
            .plan
            .title
            .starts_with("Renew the exception of host")
    );
    assert_snapshot!("renew_dialog_80x24", screen(&mut app, 80, 24));
    type_text(&mut app, "vendor fix slipped");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "CHG-41100");
    press(&mut app, KeyCode::Tab);
    // An expiry that does not read is refused in the dialog.
    type_text(&mut app, "soon");
    press(&mut app, KeyCode::Enter);
    let error = confirm(&app).error.clone().unwrap_or_default();
    assert!(error.contains("give days (30)"), "{error}");
    for _ in 0..4 {
        press(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "21");
    let effects = press(&mut app, KeyCode::Enter);
    let sent: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Act(call) => Some(call.request.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1, "{effects:?}");
    assert_eq!(sent[0].target.id, host);
    assert_eq!(sent[0].exception.expires, Some(Expiry::Days(21)));
    assert_eq!(sent[0].exception.owner, None);
}

#[test]
fn revoke_from_the_tab_opens_its_dialog() {
    let mut app = exceptions_tab();
    let effects = press(&mut app, KeyCode::Char('X'));
    answer_plans(&mut app, &standard_simulator(), &effects);
    assert_eq!(confirm(&app).plan.verb, Verb::Revoke);
    assert_eq!(
        confirm(&app).fields(),
        vec![
            patchdeck::app::confirm::Field::Reason,
            patchdeck::app::confirm::Field::Ticket
        ]
    );
    assert_snapshot!("revoke_dialog_80x24", screen(&mut app, 80, 24));
}

#[test]
fn exclude_asks_for_the_owner_the_control_the_expiry_and_the_scope() {
    let mut app = console();
    // A failed host of Pilot, from the failure group.
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Down);
    let effects = press(&mut app, KeyCode::Char('x'));
    answer_plans(&mut app, &standard_simulator(), &effects);
    assert_eq!(confirm(&app).plan.verb, Verb::Exclude);
    assert_eq!(
        confirm(&app).owner.value(),
        "you",
        "the operator by default"
    );
    assert_snapshot!("exclude_dialog_80x24", screen(&mut app, 80, 24));
    type_text(&mut app, "model breaks with this CU");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "CHG-41200");
    press(&mut app, KeyCode::Enter);
    let error = confirm(&app).error.clone().unwrap_or_default();
    assert!(
        error.contains("compensating control is required"),
        "{error}"
    );
    assert_eq!(confirm(&app).field, patchdeck::app::confirm::Field::Control);
    type_text(&mut app, "EDR in block mode");
    press(&mut app, KeyCode::Enter);
    let error = confirm(&app).error.clone().unwrap_or_default();
    assert!(error.contains("an expiry is required"), "{error}");
    type_text(&mut app, "2026-12-01");
    // Leaving the expiry asks the server's plan again.
    let effects = press(&mut app, KeyCode::Tab);
    assert!(effects.iter().any(|e| matches!(e, Effect::Plan { .. })));
    type_text(&mut app, "KB5046617");
    let effects = press(&mut app, KeyCode::Enter);
    let Some(Effect::Act(call)) = effects.iter().find(|e| matches!(e, Effect::Act(_))) else {
        panic!("nothing sent: {effects:?}");
    };
    let terms = &call.request.exception;
    assert_eq!(terms.owner.as_deref(), Some("you"));
    assert_eq!(
        terms.compensating_control.as_deref(),
        Some("EDR in block mode")
    );
    assert!(matches!(terms.expires, Some(Expiry::At(_))));
    assert_eq!(call.request.patch_id.as_deref(), Some("KB5046617"));
}

/// The host `id` as the fleet would send it when its exception lapsed.
fn lapsed(app: &App, id: &str) -> Event {
    let mut host = app.fleet.hosts[id].clone();
    let now = app.fleet_now();
    if let Some(e) = host.exception.as_mut() {
        e.expires_at = now;
        e.lapsed_at = Some(now);
    }
    host.state = HostState::Pending;
    host.version += 1;
    Event {
        seq: app.fleet.sequence + 1,
        at: now,
        change: Change::Host(host),
    }
}

#[test]
fn an_expiry_is_loud_until_it_is_seen() {
    let mut app = console();
    let now = app.fleet_now();
    let in_force: Vec<String> = app
        .fleet
        .hosts
        .values()
        .filter(|h| h.exception.as_ref().is_some_and(|e| e.in_force(now)))
        .map(|h| h.id.to_string())
        .take(2)
        .collect();
    assert_eq!(in_force.len(), 2, "two exceptions in force");
    let first = lapsed(&app, &in_force[0]);
    update(&mut app, Msg::Sync(SyncUpdate::Events(vec![first])));
    assert!(
        app.notice
            .as_deref()
            .is_some_and(|n| n.starts_with("1 exception expired")),
        "{:?}",
        app.notice
    );
    let second = lapsed(&app, &in_force[1]);
    update(&mut app, Msg::Sync(SyncUpdate::Events(vec![second])));
    let words = app.notice.clone().unwrap_or_default();
    assert!(
        words.starts_with("2 exceptions expired: hosts back in the queue"),
        "{words}"
    );
    assert_snapshot!("exceptions_expired_notice_80x24", screen(&mut app, 80, 24));
    // The same host changing again is no new expiry.
    let mut again = app.fleet.hosts[in_force[1].as_str()].clone();
    again.version += 1;
    let seq = app.fleet.sequence + 1;
    update(
        &mut app,
        Msg::Sync(SyncUpdate::Events(vec![Event {
            seq,
            at: now,
            change: Change::Host(again),
        }])),
    );
    assert_eq!(app.notice.as_deref(), Some(words.as_str()));
    // Looking at the exceptions is seeing them.
    press(&mut app, KeyCode::Char('6'));
    assert_eq!(app.notice, None);
}

#[test]
fn the_tabs_fit_at_80_columns() {
    let mut app = exceptions_tab();
    let small = screen(&mut app, 80, 24);
    let tabs = small
        .lines()
        .find(|l| l.contains("6 Exc"))
        .expect("the tab line")
        .to_string();
    assert!(
        tabs.contains("2 Deployments") || tabs.contains("2 Deploys"),
        "{tabs}"
    );
    assert!(tabs.contains("4 Actions"), "{tabs}");
    assert!(tabs.chars().count() <= 80);
}
