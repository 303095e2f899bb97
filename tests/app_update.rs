//! The console's pure update: keys, sync updates and action results in, state and
//! effects out. Navigation, filter, command mode, every action dialog (validation,
//! idempotency, 412/timeout/403 handling, roles), multi-select and the emergency wizard,
//! on the deterministic simulated fleet of tests/common.

mod common;

use std::collections::BTreeSet;

use chrono::Duration;
use crossterm::event::KeyCode;

use common::*;
use patchdeck::app::confirm::{ConfirmDialog, Resend, Stage};
use patchdeck::app::lists::{HostFilter, Pane};
use patchdeck::app::{App, Dialog, Effect, ListId, Mode, Msg, Screen, WizardStep, update};
use patchdeck::audit::AuditResult;
use patchdeck::backend::{ActError, ActionCall, Backend, Outcome, Refusal, SyncUpdate};
use patchdeck::model::{
    Action, ApprovalStep, Change, DeploymentState, Event, HostState, Identity, Role, TargetKind,
    Verb,
};
use patchdeck::sim::{Scenario, Simulator};

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/// Move the cursor of the active list onto the row with this key.
fn select_row(app: &mut App, key: &str) {
    let list = app.active_list().expect("a list is active");
    press(app, KeyCode::Char('g'));
    for _ in 0..app.row_keys(list).len() {
        if app.selected_key(list).as_deref() == Some(key) {
            return;
        }
        press(app, KeyCode::Char('j'));
    }
    panic!("no row {key:?} in {list:?}: {:?}", app.row_keys(list));
}

/// The servers deployment, awaiting approval for the production servers ring.
fn servers_deployment(app: &App) -> String {
    app.fleet
        .deployments
        .values()
        .find(|d| d.state == DeploymentState::AwaitingApproval)
        .expect("a deployment awaits approval")
        .id
        .clone()
}

/// Focus Deployments with the servers deployment selected.
fn on_servers_deployment(app: &mut App) -> String {
    press(app, KeyCode::Char('2'));
    let id = servers_deployment(app);
    select_row(app, &id);
    id
}

fn confirm(app: &App) -> &ConfirmDialog {
    match &app.dialog {
        Some(Dialog::Confirm(confirm)) => confirm,
        other => panic!("expected a confirm dialog, got {other:?}"),
    }
}

fn flash(app: &App) -> String {
    app.flash
        .as_ref()
        .map(|f| f.text.clone())
        .unwrap_or_default()
}

/// Fill the dialog's fields in order (reason, ticket, typed confirmation), starting
/// from the reason field.
fn fill(app: &mut App, reason: &str, ticket: &str, typed: Option<&str>) {
    type_text(app, reason);
    press(app, KeyCode::Tab);
    type_text(app, ticket);
    if let Some(typed) = typed {
        press(app, KeyCode::Tab);
        type_text(app, typed);
    }
}

/// Answer a call as the API would, through the simulator: the action, or why not.
fn answer(simulator: &Simulator, call: &ActionCall) -> Outcome {
    let identity = Identity::new("you", Role::Approver);
    match simulator.act(call.request.clone(), &identity) {
        Ok(action) => Outcome::Succeeded(action),
        Err(ActError::VersionMismatch { current, .. }) => Outcome::VersionConflict {
            current_version: Some(current),
        },
        Err(other) => Outcome::Refused {
            status: 409,
            problem: Refusal {
                problem_type: "urn:patchdeck:problem:conflict".into(),
                title: "conflict".into(),
                detail: Some(other.to_string()),
            },
        },
    }
}

fn done(app: &mut App, call: &ActionCall, outcome: Outcome) -> Vec<Effect> {
    update(
        app,
        Msg::ActionDone {
            idempotency_key: call.idempotency_key.clone(),
            outcome,
        },
    )
}

/// Events from the simulator since the console's fleet, as the sync sends them.
fn sync_events(app: &mut App, simulator: &Simulator) {
    let events = simulator
        .events_since(app.fleet.sequence)
        .expect("events kept");
    update(app, Msg::Sync(SyncUpdate::Events(events)));
}

/// One hand-made event batch: each change at the next sequence numbers.
fn send_changes(app: &mut App, changes: Vec<Change>) {
    let at = app.fleet_now();
    let first = app.fleet.sequence + 1;
    let events = changes
        .into_iter()
        .enumerate()
        .map(|(i, change)| Event {
            seq: first + i as u64,
            at,
            change,
        })
        .collect();
    update(app, Msg::Sync(SyncUpdate::Events(events)));
}

/// A way to get somewhere in the console before a key is pressed.
type Setup = fn(&mut App);

/// The bad patch's error code: the biggest failure group of the standard fleet.
const FAIL_GROUP: &str = "0x800f0922";

/// Hosts of the bad patch's failure group.
fn big_group_size(app: &App) -> usize {
    let group = &app.failure_groups()[0];
    assert_eq!(group.code, FAIL_GROUP);
    assert!(group.count() > 1, "the bad patch failed on several hosts");
    group.count()
}

/// The code of the other failure group (a network error on one host or so).
fn other_group(app: &App) -> String {
    assert_eq!(app.failure_groups().len(), 2, "{:?}", app.failure_groups());
    app.failure_groups()[1].code.clone()
}

// ---------------------------------------------------------------------------------
// Navigation
// ---------------------------------------------------------------------------------

#[test]
fn j_k_g_and_capital_g_move_the_selection() {
    let mut app = console();
    let rings = ListId::Pane(Pane::Rings);
    assert_eq!(app.cursor(rings).selected, 0);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.cursor(rings).selected, 2);
    assert_eq!(app.selected_key(rings).as_deref(), Some("wave-1"));
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.selected_key(rings).as_deref(), Some("pilot"));
    press(&mut app, KeyCode::Char('G'));
    assert_eq!(app.selected_key(rings).as_deref(), Some("servers-prod"));
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(
        app.selected_key(rings).as_deref(),
        Some("servers-prod"),
        "j stops at the last row"
    );
    press(&mut app, KeyCode::Char('g'));
    assert_eq!(app.cursor(rings).selected, 0);
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.cursor(rings).selected, 0, "k stops at the first row");
}

#[test]
fn page_down_and_up_move_by_the_rows_on_screen() {
    let mut app = console();
    command(&mut app, "hosts");
    assert_eq!(app.host_rows.len(), HOSTS);
    let page = app.page_size(ListId::Hosts);
    assert!(page > 1 && page < HOSTS, "page of {page} rows");
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.cursor(ListId::Hosts).selected, page);
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.cursor(ListId::Hosts).selected, 2 * page);
    press(&mut app, KeyCode::PageUp);
    assert_eq!(app.cursor(ListId::Hosts).selected, page);
    press(&mut app, KeyCode::Char('G'));
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.cursor(ListId::Hosts).selected, HOSTS - 1);
    // A taller terminal shows more rows, so a page is longer.
    resize(&mut app, 200, 50);
    assert!(app.page_size(ListId::Hosts) > page);
}

#[test]
fn tab_shift_tab_and_digits_focus_panes() {
    let mut app = console();
    assert_eq!(app.focus, Pane::Rings);
    let mut seen = Vec::new();
    for _ in 0..6 {
        press(&mut app, KeyCode::Tab);
        seen.push(app.focus);
    }
    assert_eq!(
        seen,
        [
            Pane::Deployments,
            Pane::Failed,
            Pane::Actions,
            Pane::Compliance,
            Pane::Exceptions,
            Pane::Rings
        ]
    );
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Pane::Exceptions);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Pane::Compliance);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Pane::Actions);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Pane::Failed);
    for (key, pane) in [
        ('6', Pane::Exceptions),
        ('5', Pane::Compliance),
        ('2', Pane::Deployments),
        ('4', Pane::Actions),
        ('3', Pane::Failed),
        ('1', Pane::Rings),
    ] {
        press(&mut app, KeyCode::Char(key));
        assert_eq!(app.focus, pane, "key {key}");
    }
    // Rings keeps the last lower pane shown under it on small terminals.
    assert_eq!(app.lower_pane, Pane::Failed);
}

#[test]
fn selection_stays_on_its_row_when_rows_move_after_an_event_batch() {
    let mut app = console();
    let failed = ListId::Pane(Pane::Failed);
    press(&mut app, KeyCode::Char('3'));
    let other = other_group(&app);
    assert_eq!(app.row_keys(failed), [FAIL_GROUP, other.as_str()]);
    select_row(&mut app, &other);
    assert_eq!(app.cursor(failed).selected, 1);
    // The hosts of the big group are retried elsewhere: the group goes away and
    // the selected group moves up a row.
    let changes = app.failure_groups()[0]
        .hosts
        .iter()
        .map(|id| {
            let mut host = app.fleet.hosts[id.as_str()].clone();
            host.state = HostState::Pending;
            host.failure = None;
            host.version += 1;
            Change::Host(host)
        })
        .collect();
    send_changes(&mut app, changes);
    assert_eq!(app.row_keys(failed), [other.as_str()]);
    assert_eq!(app.cursor(failed).selected, 0);
    assert_eq!(app.selected_key(failed), Some(other));
}

#[test]
fn selection_follows_a_deployment_that_moves_down() {
    let mut app = console();
    let deployments = ListId::Pane(Pane::Deployments);
    let servers = on_servers_deployment(&mut app);
    let at = app.cursor(deployments).selected;
    // A new deployment arrives; it sorts first (newest active).
    let mut newer = app.fleet.deployments[&servers].clone();
    newer.id = "dep-9999".into();
    newer.name = "2026-11 out-of-band".into();
    newer.created_at = app.fleet_now();
    send_changes(&mut app, vec![Change::Deployment(newer)]);
    assert_eq!(&app.row_keys(deployments)[0], "dep-9999");
    assert_eq!(app.selected_key(deployments), Some(servers));
    assert_eq!(app.cursor(deployments).selected, at + 1);
}

// ---------------------------------------------------------------------------------
// Filter and command mode
// ---------------------------------------------------------------------------------

#[test]
fn slash_filters_as_you_type_enter_keeps_esc_clears() {
    let mut app = console();
    let rings = ListId::Pane(Pane::Rings);
    let all = app.row_keys(rings).len();
    press(&mut app, KeyCode::Char('/'));
    assert!(matches!(app.mode, Mode::Filter(_)));
    type_text(&mut app, "w");
    let after_w = app.row_keys(rings).len();
    assert!(after_w < all, "one letter already filters");
    type_text(&mut app, "ave");
    assert_eq!(app.row_keys(rings), ["wave-1", "wave-2", "wave-3"]);
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    assert_eq!(app.row_keys(rings).len(), after_w, "backspace widens again");
    type_text(&mut app, "ave");
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(app.cursor(rings).filter, "wave");
    assert_eq!(app.row_keys(rings).len(), 3, "Enter keeps the filter");
    // j moves inside the filtered rows.
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected_key(rings).as_deref(), Some("wave-2"));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.cursor(rings).filter, "");
    assert_eq!(app.row_keys(rings).len(), all, "Esc clears a kept filter");
    // Esc while typing clears too.
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "pil");
    assert_eq!(app.row_keys(rings), ["pilot"]);
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(app.row_keys(rings).len(), all);
}

#[test]
fn hosts_command_opens_the_host_list_with_its_filter() {
    let mut app = console();
    let effects = command(&mut app, "hosts failed pilot");
    assert!(effects.is_empty());
    assert_eq!(
        app.screen(),
        Some(&Screen::Hosts(HostFilter {
            state: Some(HostState::Failed),
            ring: Some("pilot".into()),
            error: None,
        }))
    );
    let failed_in_pilot = app
        .fleet
        .hosts
        .values()
        .filter(|h| h.state == HostState::Failed && h.ring_id == "pilot")
        .count();
    assert!(failed_in_pilot > 1);
    assert_eq!(app.host_rows.len(), failed_in_pilot);
    for id in &app.row_keys(ListId::Hosts).to_vec() {
        let host = &app.fleet.hosts[id.as_str()];
        assert_eq!(
            (host.state, host.ring_id.as_str()),
            (HostState::Failed, "pilot")
        );
    }
    // An error code narrows further.
    let other = app.failure_groups()[1].clone();
    command(&mut app, &format!("hosts failed {}", other.code));
    assert_eq!(app.host_rows.len(), other.count());
}

fn command_line(app: &App) -> String {
    match &app.mode {
        Mode::Command(input) => input.value().to_string(),
        other => panic!("expected command mode, got {other:?}"),
    }
}

#[test]
fn tab_completes_commands_and_their_arguments() {
    let mut app = console();
    press(&mut app, KeyCode::Char(':'));
    type_text(&mut app, "ho");
    press(&mut app, KeyCode::Tab);
    assert_eq!(
        command_line(&app),
        "hosts ",
        "one candidate: the word and a space"
    );
    type_text(&mut app, "fa");
    press(&mut app, KeyCode::Tab);
    assert_eq!(command_line(&app), "hosts failed ");
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.mode, Mode::Normal));
    press(&mut app, KeyCode::Char(':'));
    type_text(&mut app, "ri");
    press(&mut app, KeyCode::Tab);
    // `ring` and `rings` are both commands: Tab stops at their common prefix.
    assert_eq!(command_line(&app), "ring");
    type_text(&mut app, " pi");
    press(&mut app, KeyCode::Tab);
    assert_eq!(command_line(&app), "ring pilot ");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen(), Some(&Screen::Ring("pilot".into())));
    // Several candidates: the common prefix.
    press(&mut app, KeyCode::Char(':'));
    type_text(&mut app, "ring wa");
    press(&mut app, KeyCode::Tab);
    assert_eq!(command_line(&app), "ring wave-");
}

#[test]
fn unknown_command_flashes_an_error() {
    let mut app = console();
    let effects = command(&mut app, "frobnicate now");
    assert!(effects.is_empty());
    assert!(app.screen().is_none());
    assert!(app.flash.as_ref().is_some_and(|f| f.error));
    assert!(
        flash(&app).contains("unknown command `frobnicate`"),
        "{}",
        flash(&app)
    );
    command(&mut app, "ring atlantis");
    assert!(
        flash(&app).contains("no ring named `atlantis`"),
        "{}",
        flash(&app)
    );
    assert!(app.screen().is_none());
}

// ---------------------------------------------------------------------------------
// Enter, Esc, zoom, quit, suspend, ticks
// ---------------------------------------------------------------------------------

#[test]
fn enter_expands_a_failure_group_and_opens_a_host_esc_goes_back() {
    let mut app = console();
    let failed = ListId::Pane(Pane::Failed);
    press(&mut app, KeyCode::Char('3'));
    assert_eq!(app.row_keys(failed).len(), 2);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(app.expanded.contains(FAIL_GROUP));
    assert_eq!(app.row_keys(failed).len(), 2 + big_group_size(&app));
    press(&mut app, KeyCode::Char('j'));
    let first_host = app.failure_groups()[0].hosts[0].clone();
    let effects = press(&mut app, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::FetchHost(first_host.clone())]);
    assert_eq!(app.screen(), Some(&Screen::Host(first_host)));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.screen(), None);
    assert_eq!(app.focus, Pane::Failed);
    // Enter on the group again folds it.
    press(&mut app, KeyCode::Char('g'));
    press(&mut app, KeyCode::Enter);
    assert!(app.expanded.is_empty());
    assert_eq!(app.row_keys(failed).len(), 2);
}

#[test]
fn enter_opens_details_and_esc_closes_them() {
    let mut app = console();
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen(), Some(&Screen::Ring("pilot".into())));
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.screen(), Some(Screen::Deployment(_))));
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.screen(), Some(Screen::Action(_))));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.screen(), None);
    // From a host list, a host, and back step by step.
    command(&mut app, "hosts failed");
    let effects = press(&mut app, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::FetchHost(_)]));
    assert!(matches!(app.screen(), Some(Screen::Host(_))));
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.screen(), Some(Screen::Hosts(_))));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.screen(), None);
}

#[test]
fn z_zooms_the_focused_pane_and_esc_unzooms() {
    let mut app = console();
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('z'));
    assert!(app.zoomed);
    let zoomed = screen(&mut app, 80, 24);
    assert!(zoomed.contains("Failed hosts") && !zoomed.contains("Rings"));
    press(&mut app, KeyCode::Char('z'));
    assert!(!app.zoomed);
    press(&mut app, KeyCode::Char('z'));
    press(&mut app, KeyCode::Esc);
    assert!(!app.zoomed);
}

#[test]
fn ctrl_c_quits_from_every_mode() {
    let modes: [(&str, Setup); 6] = [
        ("normal", |_| {}),
        ("filter", |app| {
            press(app, KeyCode::Char('/'));
        }),
        ("command", |app| {
            press(app, KeyCode::Char(':'));
        }),
        ("help", |app| {
            press(app, KeyCode::Char('?'));
        }),
        ("dialog", |app| {
            on_servers_deployment(app);
            press(app, KeyCode::Char('H'));
        }),
        ("wizard", |app| {
            press(app, KeyCode::Char('E'));
        }),
    ];
    let base = console();
    for (name, enter) in modes {
        let mut app = base.clone();
        enter(&mut app);
        assert_eq!(ctrl(&mut app, 'c'), vec![Effect::Quit], "Ctrl-C in {name}");
    }
    // q quits in normal mode but is typed as text in the filter.
    let mut app = base.clone();
    assert_eq!(press(&mut app, KeyCode::Char('q')), vec![Effect::Quit]);
    press(&mut app, KeyCode::Char('/'));
    assert!(press(&mut app, KeyCode::Char('q')).is_empty());
}

#[test]
fn ctrl_z_suspends() {
    let mut app = console();
    assert_eq!(ctrl(&mut app, 'z'), vec![Effect::Suspend]);
    press(&mut app, KeyCode::Char('/'));
    assert_eq!(ctrl(&mut app, 'z'), vec![Effect::Suspend]);
}

#[test]
fn idle_ticks_do_not_redraw_within_the_same_minute() {
    let mut app = console();
    let start = app.now;
    assert_eq!(start.timestamp() % 60, 0, "the fleet starts on a minute");
    app.dirty = false;
    for secs in [1, 15, 30, 59] {
        update(&mut app, Msg::Tick(start + Duration::seconds(secs)));
        assert!(!app.dirty, "tick at +{secs}s redraws nothing");
    }
    update(&mut app, Msg::Tick(start + Duration::seconds(60)));
    assert!(app.dirty, "the header clock changes at the minute");
    app.dirty = false;
    update(&mut app, Msg::Tick(start + Duration::seconds(61)));
    assert!(!app.dirty);
}

#[test]
fn a_flash_goes_away_after_a_few_seconds() {
    let mut app = console();
    command(&mut app, "nonsense");
    assert!(app.flash.is_some());
    let at = app.now;
    update(&mut app, Msg::Tick(at + Duration::seconds(2)));
    assert!(app.flash.is_some());
    app.dirty = false;
    update(&mut app, Msg::Tick(at + Duration::seconds(9)));
    assert!(app.flash.is_none());
    assert!(app.dirty);
}

// ---------------------------------------------------------------------------------
// Dialogs: opening
// ---------------------------------------------------------------------------------

#[test]
fn action_keys_open_the_right_dialog_where_they_apply() {
    let base = console();
    let servers = servers_deployment(&base);
    let cases: [(&str, Setup, char, Verb, TargetKind); 10] = [
        (
            "a on a deployment",
            |app| {
                on_servers_deployment(app);
            },
            'a',
            Verb::Approve,
            TargetKind::Deployment,
        ),
        (
            "d on a deployment",
            |app| {
                on_servers_deployment(app);
            },
            'd',
            Verb::Decline,
            TargetKind::Deployment,
        ),
        (
            "p on a deployment",
            |app| {
                on_servers_deployment(app);
            },
            'p',
            Verb::Pause,
            TargetKind::Deployment,
        ),
        (
            "H on a deployment",
            |app| {
                on_servers_deployment(app);
            },
            'H',
            Verb::Halt,
            TargetKind::Deployment,
        ),
        (
            "R on a deployment",
            |app| {
                press(app, KeyCode::Char('2'));
            },
            'R',
            Verb::Rollback,
            TargetKind::Deployment,
        ),
        (
            "R on a ring",
            |app| {
                select_row(app, "pilot");
            },
            'R',
            Verb::Rollback,
            TargetKind::Ring,
        ),
        (
            "p on a ring",
            |app| {
                select_row(app, "servers-nonprod");
            },
            'p',
            Verb::Pause,
            TargetKind::Ring,
        ),
        (
            // The step after a halt: `p` offers the resume (an approval), not a pause.
            "p on a halted ring",
            |app| {
                select_row(app, "pilot");
            },
            'p',
            Verb::Approve,
            TargetKind::Deployment,
        ),
        (
            "r on a failure group",
            |app| {
                press(app, KeyCode::Char('3'));
            },
            'r',
            Verb::Retry,
            TargetKind::Host,
        ),
        (
            "x on a failure group",
            |app| {
                press(app, KeyCode::Char('3'));
            },
            'x',
            Verb::Exclude,
            TargetKind::Host,
        ),
    ];
    for (name, go, key, verb, kind) in cases {
        let mut app = base.clone();
        go(&mut app);
        let effects = press(&mut app, KeyCode::Char(key));
        assert!(acts(&effects).is_empty(), "{name}: opening sends nothing");
        assert!(
            matches!(effects.as_slice(), [Effect::Plan { requests, .. }] if requests.len() == confirm(&app).plan.targets.len()),
            "{name}: opening asks the server for the plan of each target: {effects:?}"
        );
        let dialog = confirm(&app);
        assert_eq!(dialog.plan.verb, verb, "{name}");
        assert_eq!(dialog.plan.targets[0].target.kind, kind, "{name}");
        assert_eq!(dialog.stage, Stage::Editing, "{name}");
        if name.ends_with("a deployment") && key != 'R' {
            assert_eq!(dialog.plan.targets[0].target.id, servers, "{name}");
        }
    }
    // r on the failure group plans one target per host of the group.
    let mut app = base.clone();
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(confirm(&app).plan.targets.len(), big_group_size(&app));
    // E opens the wizard.
    let mut app = base.clone();
    press(&mut app, KeyCode::Char('E'));
    assert!(matches!(app.dialog, Some(Dialog::Emergency(_))));
}

#[test]
fn the_ring_pause_dialog_shows_the_servers_plan_from_its_answer() {
    let simulator = standard_simulator();
    let mut app = console_on(&simulator);
    press(&mut app, KeyCode::Char('1'));
    select_row(&mut app, "wave-1");
    let effects = press(&mut app, KeyCode::Char('p'));
    let [Effect::Plan { id, requests }] = effects.as_slice() else {
        panic!("p asks for the server's plan: {effects:?}");
    };
    assert_eq!(requests[0].verb, Verb::Pause);
    assert_eq!(requests[0].target.id, "wave-1");
    assert!(confirm(&app).server.is_planning());
    assert!(screen(&mut app, 80, 24).contains("planning..."));
    // An answer to another question changes nothing.
    let plan = simulator
        .plan(&requests[0], app.identity.as_ref().unwrap())
        .unwrap();
    update(
        &mut app,
        Msg::Planned {
            id: "someone-else".into(),
            plans: vec![Ok(plan.clone())],
        },
    );
    assert!(confirm(&app).server.is_planning());
    update(
        &mut app,
        Msg::Planned {
            id: id.clone(),
            plans: vec![Ok(plan.clone())],
        },
    );
    let dialog = confirm(&app);
    assert_eq!(dialog.server.plans(), std::slice::from_ref(&plan));
    let shown = screen(&mut app, 80, 24);
    let stage = &plan.stages[0];
    assert_eq!(stage.ring_name, "Wave 1: Americas");
    assert!(
        shown.contains(&format!("Wave 1: Americas: {} hosts", stage.hosts.count)),
        "the ring and its hosts, as the server said: {shown}"
    );
    assert!(!shown.contains("planning..."), "{shown}");
}

#[test]
fn action_keys_that_do_not_apply_flash_instead_of_opening() {
    let mut app = console();
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Char('a'));
    assert!(app.dialog.is_none());
    // Approve on a completed deployment: nothing waits for approval.
    press(&mut app, KeyCode::Char('2'));
    let completed = app
        .fleet
        .deployments
        .values()
        .find(|d| d.state == DeploymentState::Completed)
        .expect("last month's deployment completed")
        .id
        .clone();
    select_row(&mut app, &completed);
    press(&mut app, KeyCode::Char('a'));
    assert!(app.dialog.is_none());
    assert!(
        flash(&app).contains("no ring waiting for approval")
            || flash(&app).contains("not awaiting approval"),
        "{}",
        flash(&app)
    );
}

// ---------------------------------------------------------------------------------
// Dialogs: validation and cancel
// ---------------------------------------------------------------------------------

#[test]
fn halt_needs_reason_ticket_and_the_typed_name() {
    let mut app = console();
    let id = on_servers_deployment(&mut app);
    let name = app.fleet.deployments[&id].name.clone();
    press(&mut app, KeyCode::Char('H'));
    assert_eq!(
        confirm(&app).plan.confirm_text.as_deref(),
        Some(name.as_str())
    );
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(
        confirm(&app).error.as_deref(),
        Some("a reason is required to halt")
    );
    type_text(&mut app, "pilot failures");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(
        confirm(&app).error.as_deref(),
        Some("a ticket is required to halt")
    );
    type_text(&mut app, "INC-1");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        confirm(&app)
            .error
            .as_deref()
            .unwrap_or("")
            .contains("to confirm")
    );
    type_text(&mut app, "2026-11 Patch Tuesday");
    assert!(
        press(&mut app, KeyCode::Enter).is_empty(),
        "another deployment's name is refused"
    );
    assert_eq!(confirm(&app).stage, Stage::Editing);
    for _ in 0.."2026-11 Patch Tuesday".len() {
        press(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, &name.to_uppercase());
    let calls = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(calls.len(), 1, "the name, case aside, confirms");
    assert_eq!(calls[0].request.verb, Verb::Halt);
    assert_eq!(calls[0].request.reason.as_deref(), Some("pilot failures"));
    assert_eq!(calls[0].request.ticket.as_deref(), Some("INC-1"));
}

#[test]
fn rollback_and_exclude_need_reason_and_ticket_ring_rollback_the_ring_name() {
    // Deployment rollback: reason and ticket, no typed name.
    let mut app = console();
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('R'));
    assert_eq!(confirm(&app).plan.confirm_text, None);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        confirm(&app)
            .error
            .as_deref()
            .unwrap_or("")
            .contains("reason")
    );
    type_text(&mut app, "bad patch");
    press(&mut app, KeyCode::Enter);
    assert!(
        confirm(&app)
            .error
            .as_deref()
            .unwrap_or("")
            .contains("ticket")
    );
    // The refused field has the focus.
    type_text(&mut app, "INC-2");
    assert_eq!(acts(&press(&mut app, KeyCode::Enter)).len(), 1);

    // Ring rollback: the ring's name must be typed.
    let mut app = console();
    select_row(&mut app, "pilot");
    press(&mut app, KeyCode::Char('R'));
    assert_eq!(confirm(&app).plan.confirm_text.as_deref(), Some("Pilot"));
    fill(&mut app, "bad patch", "INC-3", Some("Wave 1"));
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        confirm(&app)
            .error
            .as_deref()
            .unwrap_or("")
            .contains("`Pilot`")
    );
    for _ in 0.."Wave 1".len() {
        press(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "pilot");
    let calls = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].request.target.id, "pilot");

    // Exclude: reason and ticket.
    let mut app = console();
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('x'));
    type_text(&mut app, "kiosk, vendor fix due");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        confirm(&app)
            .error
            .as_deref()
            .unwrap_or("")
            .contains("ticket")
    );
    type_text(&mut app, "CHG-7");
    // And the exception's terms: a compensating control and an expiry.
    assert!(acts(&press(&mut app, KeyCode::Enter)).is_empty());
    type_text(&mut app, "kiosk mode, no local admin");
    assert!(acts(&press(&mut app, KeyCode::Enter)).is_empty());
    type_text(&mut app, "30");
    let hosts = big_group_size(&app);
    assert_eq!(acts(&press(&mut app, KeyCode::Enter)).len(), hosts);

    // Retry needs neither.
    let mut app = console();
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('r'));
    let hosts = big_group_size(&app);
    assert_eq!(acts(&press(&mut app, KeyCode::Enter)).len(), hosts);
}

#[test]
fn esc_cancels_a_dialog_without_effects() {
    let base = console();
    for key in ['a', 'd', 'p', 'H', 'R'] {
        let mut app = base.clone();
        on_servers_deployment(&mut app);
        press(&mut app, KeyCode::Char(key));
        assert!(app.dialog.is_some(), "{key} opens a dialog");
        fill(&mut app, "reason", "T-1", None);
        let effects = press(&mut app, KeyCode::Esc);
        assert!(effects.is_empty(), "{key}: Esc sends nothing");
        assert!(app.dialog.is_none(), "{key}: Esc closes");
        assert!(app.sent.is_empty());
    }
    let mut app = base.clone();
    press(&mut app, KeyCode::Char('E'));
    press(&mut app, KeyCode::Enter);
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(app.dialog.is_none());
}

// ---------------------------------------------------------------------------------
// Dialogs: sending once, results
// ---------------------------------------------------------------------------------

#[test]
fn confirm_sends_one_request_per_target_with_the_version_seen_and_a_key() {
    let mut app = console();
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('r'));
    let planned = confirm(&app).plan.targets.clone();
    let calls = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(calls.len(), planned.len());
    let keys: BTreeSet<&str> = calls.iter().map(|c| c.idempotency_key.as_str()).collect();
    assert_eq!(keys.len(), calls.len(), "one key per request");
    for (call, target) in calls.iter().zip(&planned) {
        assert_eq!(call.request.verb, Verb::Retry);
        assert_eq!(call.request.target, target.target);
        let host = &app.fleet.hosts[call.request.target.id.as_str()];
        assert_eq!(
            call.request.if_match,
            Some(host.version),
            "If-Match is the version seen"
        );
        assert!(call.idempotency_key.starts_with("test-"));
    }
    assert!(matches!(confirm(&app).stage, Stage::Sending { .. }));
}

#[test]
fn a_second_enter_while_sending_sends_nothing() {
    let mut app = console();
    on_servers_deployment(&mut app);
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(acts(&press(&mut app, KeyCode::Enter)).len(), 1);
    for _ in 0..3 {
        assert!(press(&mut app, KeyCode::Enter).is_empty());
    }
    assert_eq!(app.sent.len(), 1);
}

#[test]
fn success_closes_the_dialog_and_audits_the_outcome() {
    let simulator = standard_simulator();
    let mut app = console_on(&simulator);
    let id = on_servers_deployment(&mut app);
    press(&mut app, KeyCode::Char('H'));
    let name = app.fleet.deployments[&id].name.clone();
    fill(&mut app, "servers look wrong", "INC-42", Some(&name));
    let calls = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(calls.len(), 1);
    let result = answer(&simulator, &calls[0]);
    assert!(
        matches!(result, Outcome::Succeeded(_)),
        "the simulator halts: {result:?}"
    );
    let effects = done(&mut app, &calls[0], result);
    assert!(app.dialog.is_none(), "success closes the dialog");
    let [Effect::Audit(record)] = effects.as_slice() else {
        panic!("expected one audit record, got {effects:?}");
    };
    assert_eq!(record.action, Verb::Halt);
    assert_eq!(record.target_kind, TargetKind::Deployment);
    assert_eq!(record.target_id, id);
    assert_eq!(record.target_name, name);
    assert_eq!(record.reason.as_deref(), Some("servers look wrong"));
    assert_eq!(record.ticket.as_deref(), Some("INC-42"));
    assert_eq!(record.idempotency_key, calls[0].idempotency_key);
    assert_eq!(record.identity, "you (approver)");
    assert_eq!(record.outcome, "succeeded");
    assert!(record.action_id.is_some());
    assert!(flash(&app).contains("done"), "{}", flash(&app));
    // The action shows at once in the Actions pane.
    let action_id = record.action_id.clone().unwrap_or_default();
    assert!(app.fleet.actions.contains_key(&action_id));
    // A late duplicate answer changes nothing.
    assert!(done(&mut app, &calls[0], Outcome::Unanswered("late".into())).is_empty());
}

#[test]
fn first_approval_of_a_production_ring_says_a_second_approver_is_needed() {
    let simulator = standard_simulator();
    let mut app = console_on(&simulator);
    on_servers_deployment(&mut app);
    let effects = press(&mut app, KeyCode::Char('a'));
    assert!(
        confirm(&app).server.is_planning(),
        "planning until the server answers"
    );
    answer_plans(&mut app, &simulator, &effects);
    let approval = confirm(&app)
        .server
        .approval()
        .cloned()
        .expect("an approval step");
    assert_eq!(approval.step, ApprovalStep::First);
    assert!(
        approval.words.contains("second, different approver"),
        "{}",
        approval.words
    );
    let calls = acts(&press(&mut app, KeyCode::Enter));
    let effects = done(&mut app, &calls[0], answer(&simulator, &calls[0]));
    let [Effect::Audit(record)] = effects.as_slice() else {
        panic!("expected an audit record, got {effects:?}");
    };
    assert_eq!(record.outcome, "waits for a second approver");
    assert!(app.dialog.is_none());
}

#[test]
fn a_412_shows_what_changed_and_enter_replans_with_the_new_version_and_a_new_key() {
    let simulator = standard_simulator();
    let mut app = console_on(&simulator);
    let id = on_servers_deployment(&mut app);
    press(&mut app, KeyCode::Char('p'));
    let first = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(first.len(), 1);
    let seen = first[0].request.if_match.expect("If-Match sent");
    // Someone else pauses it first; the console learns it from the stream.
    act(
        &simulator,
        "m.okafor",
        Verb::Pause,
        TargetKind::Deployment,
        &id,
        None,
    );
    sync_events(&mut app, &simulator);
    let now_version = app.fleet.deployments[&id].version;
    assert!(now_version > seen);
    let result = answer(&simulator, &first[0]);
    assert_eq!(
        result,
        Outcome::VersionConflict {
            current_version: Some(now_version)
        }
    );
    let effects = done(&mut app, &first[0], result);
    assert_eq!(effects.len(), 1, "the refusal is audited");
    let Stage::Problem { message, resend } = &confirm(&app).stage else {
        panic!("expected a problem, got {:?}", confirm(&app).stage);
    };
    assert_eq!(*resend, Resend::Replan);
    assert!(
        message.contains("awaiting-approval -> paused"),
        "says what changed: {message}"
    );
    // Enter plans again: nothing sent yet (the server's plan is asked for again), the
    // new version, a new key.
    assert!(acts(&press(&mut app, KeyCode::Enter)).is_empty());
    let dialog = confirm(&app);
    assert_eq!(dialog.stage, Stage::Editing);
    assert_eq!(dialog.plan.targets[0].version, now_version);
    assert_ne!(dialog.keys[0], first[0].idempotency_key);
    let second = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].request.if_match, Some(now_version));
    assert_ne!(second[0].idempotency_key, first[0].idempotency_key);
}

#[test]
fn a_timeout_then_enter_resends_with_the_same_key() {
    let mut app = console();
    let id = on_servers_deployment(&mut app);
    press(&mut app, KeyCode::Char('H'));
    let name = app.fleet.deployments[&id].name.clone();
    fill(&mut app, "r", "t", Some(&name));
    let first = acts(&press(&mut app, KeyCode::Enter));
    done(
        &mut app,
        &first[0],
        Outcome::Unanswered("no answer in 10s".into()),
    );
    let Stage::Problem { message, resend } = &confirm(&app).stage else {
        panic!("expected a problem, got {:?}", confirm(&app).stage);
    };
    assert_eq!(*resend, Resend::SameKeys);
    assert!(message.contains("same idempotency key"), "{message}");
    let again = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].idempotency_key, first[0].idempotency_key);
    assert_eq!(again[0].request.if_match, first[0].request.if_match);
    assert_eq!(again[0].request, first[0].request);
    assert!(
        press(&mut app, KeyCode::Enter).is_empty(),
        "Enter again while resending sends nothing"
    );
}

#[test]
fn a_timeout_on_some_hosts_resends_only_those() {
    let mut app = console();
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('r'));
    let calls = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(calls.len(), big_group_size(&app));
    for call in &calls[1..] {
        let action = accepted(&app, call);
        done(&mut app, call, Outcome::Succeeded(action));
    }
    done(&mut app, &calls[0], Outcome::Unanswered("gone".into()));
    assert!(matches!(
        confirm(&app).stage,
        Stage::Problem {
            resend: Resend::SameKeys,
            ..
        }
    ));
    let again = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(again.len(), 1, "only the unanswered request again");
    assert_eq!(again[0].idempotency_key, calls[0].idempotency_key);
}

#[test]
fn a_403_is_shown_and_enter_closes_without_resending() {
    let mut app = console();
    on_servers_deployment(&mut app);
    press(&mut app, KeyCode::Char('d'));
    let calls = acts(&press(&mut app, KeyCode::Enter));
    let effects = done(
        &mut app,
        &calls[0],
        Outcome::Forbidden {
            status: 403,
            reason: "token lacks the approver role".into(),
        },
    );
    let [Effect::Audit(record)] = effects.as_slice() else {
        panic!("expected an audit record, got {effects:?}");
    };
    assert!(
        record.outcome.starts_with("forbidden"),
        "{}",
        record.outcome
    );
    let Stage::Problem { message, resend } = &confirm(&app).stage else {
        panic!("expected a problem");
    };
    assert_eq!(*resend, Resend::No);
    assert!(
        message.contains("token lacks the approver role"),
        "{message}"
    );
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(app.dialog.is_none());
}

#[test]
fn a_409_whose_words_say_changed_is_a_refusal_not_a_reason_to_replan() {
    for detail in [
        "the deployment changed state: it is halted",
        "ring pilot: paused -> halted",
    ] {
        let mut app = console();
        on_servers_deployment(&mut app);
        press(&mut app, KeyCode::Char('p'));
        let calls = acts(&press(&mut app, KeyCode::Enter));
        assert_eq!(calls.len(), 1);
        let refusal = Outcome::Refused {
            status: 409,
            problem: Refusal {
                problem_type: "urn:patchdeck:problem:conflict".into(),
                title: "conflict".into(),
                detail: Some(detail.into()),
            },
        };
        let effects = done(&mut app, &calls[0], refusal);
        let [Effect::Audit(record)] = effects.as_slice() else {
            panic!("expected an audit record, got {effects:?}");
        };
        assert_eq!(
            record.outcome,
            format!("refused: conflict: {detail} (HTTP 409)")
        );
        assert_eq!(
            record.result,
            Some(AuditResult::Refused {
                status: 409,
                problem_type: "urn:patchdeck:problem:conflict".into(),
            })
        );
        let Stage::Problem { message, resend } = &confirm(&app).stage else {
            panic!("expected a problem, got {:?}", confirm(&app).stage);
        };
        assert_eq!(*resend, Resend::No, "{message}");
        assert!(!message.contains("changed since you looked"), "{message}");
        assert!(message.contains(detail), "{message}");
        assert!(message.ends_with("Enter closes"), "{message}");
    }
}

#[test]
fn a_412_replans_even_when_nothing_seen_changed() {
    let mut app = console();
    on_servers_deployment(&mut app);
    press(&mut app, KeyCode::Char('p'));
    let calls = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(calls.len(), 1);
    done(
        &mut app,
        &calls[0],
        Outcome::VersionConflict {
            current_version: None,
        },
    );
    let Stage::Problem { message, resend } = &confirm(&app).stage else {
        panic!("expected a problem, got {:?}", confirm(&app).stage);
    };
    assert_eq!(*resend, Resend::Replan, "{message}");
    assert!(
        message.starts_with("changed since you looked: "),
        "{message}"
    );
    assert!(message.contains("changed on the server"), "{message}");
}

// ---------------------------------------------------------------------------------
// Roles and read-only
// ---------------------------------------------------------------------------------

#[test]
fn read_only_flashes_and_opens_no_dialog() {
    let context = patchdeck::app::Context {
        read_only: true,
        ..demo_context()
    };
    let base = console_with(fleet_of(&*standard_simulator()), context, Role::Approver);
    for (pane, keys) in [('1', "pR"), ('2', "adpHR"), ('3', "rxR"), ('4', "E")] {
        for key in keys.chars() {
            let mut app = base.clone();
            press(&mut app, KeyCode::Char(pane));
            let effects = press(&mut app, KeyCode::Char(key));
            assert!(effects.is_empty());
            assert!(app.dialog.is_none(), "{key} in pane {pane} opens nothing");
            assert!(flash(&app).contains("read-only"), "{key}: {}", flash(&app));
        }
    }
}

#[test]
fn viewers_and_operators_get_a_flash_for_keys_above_their_role() {
    let viewer = console_as(Role::Viewer);
    for key in ['r', 'x', 'R'] {
        let mut app = viewer.clone();
        press(&mut app, KeyCode::Char('3'));
        press(&mut app, KeyCode::Char(key));
        assert!(app.dialog.is_none(), "viewer {key}");
        assert!(
            flash(&app).contains("needs role operator (you are viewer)"),
            "{}",
            flash(&app)
        );
    }
    let operator = console_as(Role::Operator);
    for key in ['a', 'd', 'H', 'R'] {
        let mut app = operator.clone();
        on_servers_deployment(&mut app);
        press(&mut app, KeyCode::Char(key));
        assert!(app.dialog.is_none(), "operator {key}");
        assert!(
            flash(&app).contains("needs role approver (you are operator)"),
            "{}",
            flash(&app)
        );
    }
    let mut app = operator.clone();
    press(&mut app, KeyCode::Char('E'));
    assert!(app.dialog.is_none(), "operators cannot start an emergency");
    // What an operator may do opens as usual.
    for key in ['p', 'r', 'x'] {
        let mut app = operator.clone();
        if key == 'p' {
            on_servers_deployment(&mut app);
        } else {
            press(&mut app, KeyCode::Char('3'));
        }
        press(&mut app, KeyCode::Char(key));
        assert!(app.dialog.is_some(), "operator {key}");
    }
}

// ---------------------------------------------------------------------------------
// Multi-select
// ---------------------------------------------------------------------------------

#[test]
fn space_marks_hosts_and_r_plans_one_request_per_marked_host() {
    let mut app = console();
    command(&mut app, "hosts failed");
    let rows = app.row_keys(ListId::Hosts).to_vec();
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(app.cursor(ListId::Hosts).selected, 1, "Space moves down");
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(
        app.marked,
        BTreeSet::from([rows[0].clone(), rows[2].clone()])
    );
    let marked = app.marked.clone();
    press(&mut app, KeyCode::Char('r'));
    let calls = acts(&press(&mut app, KeyCode::Enter));
    let targets: BTreeSet<String> = calls.iter().map(|c| c.request.target.id.clone()).collect();
    assert_eq!(targets, marked);
}

#[test]
fn select_all_of_a_filtered_host_list_then_r_retries_each_failed_host() {
    let mut app = console();
    // Every Pilot host, filtered to one site: some failed, some not.
    command(&mut app, "hosts pilot");
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "NYC");
    press(&mut app, KeyCode::Enter);
    let shown = app.row_keys(ListId::Hosts).to_vec();
    assert!(
        shown
            .iter()
            .all(|id| app.fleet.hosts[id.as_str()].site == "NYC")
    );
    let failed: BTreeSet<String> = shown
        .iter()
        .filter(|id| app.fleet.hosts[id.as_str()].state == HostState::Failed)
        .cloned()
        .collect();
    assert!(
        !failed.is_empty() && failed.len() < shown.len(),
        "{shown:?}"
    );
    press(&mut app, KeyCode::Char('*'));
    assert_eq!(app.marked, shown.iter().cloned().collect());
    press(&mut app, KeyCode::Char('r'));
    let dialog = confirm(&app);
    assert!(
        dialog.plan.notes.iter().any(|n| n.contains("skipped")),
        "says which hosts are left out: {:?}",
        dialog.plan.notes
    );
    let calls = acts(&press(&mut app, KeyCode::Enter));
    let targets: BTreeSet<String> = calls.iter().map(|c| c.request.target.id.clone()).collect();
    assert_eq!(
        targets, failed,
        "one request per failed host, none for the rest"
    );
    assert_eq!(calls.len(), failed.len());
    // * marks the list again, and once more unmarks it.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('*'));
    assert_eq!(app.marked.len(), shown.len());
    press(&mut app, KeyCode::Char('*'));
    assert!(app.marked.is_empty());
}

// ---------------------------------------------------------------------------------
// Emergency wizard
// ---------------------------------------------------------------------------------

fn wizard_step(app: &App) -> WizardStep {
    match &app.dialog {
        Some(Dialog::Emergency(wizard)) => wizard.step,
        other => panic!("expected the emergency wizard, got {other:?}"),
    }
}

#[test]
fn emergency_wizard_needs_the_rollback_plan_ticked_then_the_cve_typed() {
    let mut app = console_on(&simulator(Scenario::ZeroDay, 3600));
    press(&mut app, KeyCode::Char('E'));
    assert_eq!(wizard_step(&app), WizardStep::Patch);
    press(&mut app, KeyCode::Enter);
    assert_eq!(wizard_step(&app), WizardStep::Targets);
    press(&mut app, KeyCode::Backspace);
    assert_eq!(wizard_step(&app), WizardStep::Patch, "Backspace steps back");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    assert_eq!(wizard_step(&app), WizardStep::RollbackPlan);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(
        wizard_step(&app),
        WizardStep::RollbackPlan,
        "cannot pass without ticking the rollback plan"
    );
    let Some(Dialog::Emergency(wizard)) = &app.dialog else {
        unreachable!()
    };
    assert!(
        wizard
            .error
            .as_deref()
            .unwrap_or("")
            .contains("rollback plan")
    );
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        wizard_step(&app),
        WizardStep::RollbackPlan,
        "ticked and unticked is not ticked"
    );
    press(&mut app, KeyCode::Char(' '));
    assert!(acts(&press(&mut app, KeyCode::Enter)).is_empty());
    let plan = confirm(&app).plan.clone();
    assert_eq!(plan.verb, Verb::Emergency);
    let cve = plan.cve.clone().expect("the exploited CVE");
    assert_eq!(plan.confirm_text.as_deref(), Some(cve.as_str()));
    fill(
        &mut app,
        "exploited in the wild",
        "INC-9001",
        Some("CVE-2026-00000"),
    );
    assert!(
        press(&mut app, KeyCode::Enter).is_empty(),
        "wrong CVE refused"
    );
    for _ in 0.."CVE-2026-00000".len() {
        press(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, &cve.to_lowercase());
    let calls = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].request.target.kind, TargetKind::Fleet);
    assert_eq!(calls[0].request.cve.as_deref(), Some(cve.as_str()));
    assert_eq!(calls[0].request.patch_id, plan.patch_id);
    assert_eq!(
        calls[0].request.if_match,
        app.fleet.summary.as_ref().map(|s| s.version)
    );
}

#[test]
fn emergency_needs_reason_and_ticket() {
    let mut app = console_on(&simulator(Scenario::ZeroDay, 3600));
    press(&mut app, KeyCode::Char('E'));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Enter);
    let cve = confirm(&app).plan.cve.clone().unwrap_or_default();
    // The CVE alone is not enough.
    press(&mut app, KeyCode::BackTab);
    type_text(&mut app, &cve);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        confirm(&app)
            .error
            .as_deref()
            .unwrap_or("")
            .contains("reason")
    );
}

#[test]
fn emergency_started_in_the_simulator_then_e_offers_to_leave_it() {
    let simulator = simulator(Scenario::ZeroDay, 3600);
    let mut app = console_on(&simulator);
    press(&mut app, KeyCode::Char('E'));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Enter);
    let cve = confirm(&app).plan.cve.clone().unwrap_or_default();
    fill(&mut app, "exploited", "INC-1", Some(&cve));
    let calls = acts(&press(&mut app, KeyCode::Enter));
    let result = answer(&simulator, &calls[0]);
    assert!(
        matches!(&result, Outcome::Succeeded(a) if a.state == patchdeck::model::ActionState::AwaitingSecondApprover),
        "{result:?}"
    );
    done(&mut app, &calls[0], result);
    sync_events(&mut app, &simulator);
    assert!(app.emergency().is_none(), "waiting for a second approver");
    // Two-person: bob confirms on his console.
    act(
        &simulator,
        "bob",
        Verb::Emergency,
        TargetKind::Fleet,
        "fleet",
        calls[0].request.patch_id.as_deref(),
    );
    sync_events(&mut app, &simulator);
    assert!(
        app.emergency().is_some(),
        "the console is in emergency mode"
    );
    press(&mut app, KeyCode::Char('E'));
    assert!(matches!(app.dialog, Some(Dialog::LeaveEmergency { .. })));
    type_text(&mut app, "CVE-0000-0000");
    press(&mut app, KeyCode::Enter);
    assert!(app.emergency().is_some(), "a wrong CVE does not leave");
    let mut app2 = app.clone();
    press(&mut app2, KeyCode::Esc);
    press(&mut app2, KeyCode::Char('E'));
    type_text(&mut app2, &cve);
    press(&mut app2, KeyCode::Enter);
    assert!(
        app2.emergency().is_none(),
        "the typed CVE leaves emergency mode"
    );
    let _ = app;
}

// ---------------------------------------------------------------------------------
// Acting twice by accident
// ---------------------------------------------------------------------------------

/// An action the API accepted for a call (the console only reads its id and state).
fn accepted(app: &App, call: &ActionCall) -> Action {
    let mut action = app
        .fleet
        .actions
        .values()
        .next()
        .cloned()
        .expect("the fleet has actions");
    action.id = format!("act-{}", call.idempotency_key);
    action.verb = call.request.verb;
    action.target = call.request.target.clone();
    action.state = patchdeck::model::ActionState::Running;
    action.version = 1;
    action
}

#[test]
fn replanning_after_a_412_leaves_out_the_targets_already_done() {
    let mut app = console();
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('r'));
    let calls = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(calls.len(), big_group_size(&app));
    for call in &calls[1..] {
        let action = accepted(&app, call);
        done(&mut app, call, Outcome::Succeeded(action));
    }
    // The first host changed meanwhile; the events of the other retries have not
    // arrived yet, so those hosts still read as failed.
    let changed = calls[0].request.target.id.clone();
    let mut host = app.fleet.hosts[changed.as_str()].clone();
    host.version += 1;
    send_changes(&mut app, vec![Change::Host(host.clone())]);
    done(
        &mut app,
        &calls[0],
        Outcome::VersionConflict {
            current_version: Some(host.version),
        },
    );
    assert!(matches!(
        confirm(&app).stage,
        Stage::Problem {
            resend: Resend::Replan,
            ..
        }
    ));
    assert!(acts(&press(&mut app, KeyCode::Enter)).is_empty());
    let plan = &confirm(&app).plan;
    assert_eq!(
        plan.targets
            .iter()
            .map(|t| t.target.id.clone())
            .collect::<Vec<_>>(),
        std::slice::from_ref(&changed),
        "only the refused host is planned again"
    );
    let again = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(
        again.len(),
        1,
        "the other retried hosts are not retried twice"
    );
    assert_eq!(again[0].request.target.id, changed);
    assert_eq!(again[0].request.if_match, Some(host.version));
}

#[test]
fn marks_are_cleared_once_sent_so_the_next_action_targets_what_is_selected() {
    let mut app = console();
    command(&mut app, "hosts failed");
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(app.marked.len(), 2);
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(acts(&press(&mut app, KeyCode::Enter)).len(), 2);
    assert!(app.marked.is_empty(), "the marks were used");
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('3'));
    let other = other_group(&app);
    select_row(&mut app, &other);
    press(&mut app, KeyCode::Char('x'));
    let targets: Vec<String> = confirm(&app)
        .plan
        .targets
        .iter()
        .map(|t| t.target.id.clone())
        .collect();
    assert_eq!(targets, app.failure_groups()[1].hosts);
}

#[test]
fn closing_a_dialog_while_sending_still_audits_and_reports_the_outcome() {
    let mut app = console();
    on_servers_deployment(&mut app);
    press(&mut app, KeyCode::Char('a'));
    let calls = acts(&press(&mut app, KeyCode::Enter));
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(app.dialog.is_none());
    assert!(flash(&app).contains("results will show in Actions"));
    let action = accepted(&app, &calls[0]);
    let effects = done(&mut app, &calls[0], Outcome::Succeeded(action));
    assert!(matches!(effects.as_slice(), [Effect::Audit(_)]));
    assert!(flash(&app).contains("accepted"), "{}", flash(&app));
    assert!(
        app.fleet
            .actions
            .contains_key(&format!("act-{}", calls[0].idempotency_key))
    );
}

#[test]
fn context_command_switches_to_a_known_context_only() {
    let mut app = console();
    app.contexts = vec!["demo".into(), "lab".into()];
    // Tab completes context names.
    assert_eq!(
        patchdeck::app::complete_command(&app, "context l"),
        "context lab "
    );
    let effects = command(&mut app, "context lab");
    assert_eq!(effects, vec![Effect::SwitchContext("lab".into())]);
    let effects = command(&mut app, "context prod");
    assert!(effects.is_empty());
    assert!(
        app.flash
            .as_ref()
            .unwrap()
            .text
            .contains("no context `prod`")
    );
    let effects = command(&mut app, "context demo");
    assert!(effects.is_empty(), "already there");
}

#[test]
fn switching_context_drops_the_old_fleet_but_keeps_unanswered_actions() {
    let mut app = console();
    app.contexts = vec!["demo".into(), "lab".into()];
    assert!(!app.fleet.hosts.is_empty());
    app.sent.insert(
        "k-1".into(),
        patchdeck::app::SentAction {
            call: ActionCall {
                request: patchdeck::backend::ActionRequest {
                    if_match: Some(1),
                    ..patchdeck::backend::ActionRequest::new(
                        Verb::Pause,
                        patchdeck::model::Target {
                            kind: TargetKind::Ring,
                            id: "pilot".into(),
                        },
                    )
                },
                idempotency_key: "k-1".into(),
            },
            target_name: "Pilot".into(),
            context: "demo".into(),
            api_url: "http://127.0.0.1:7070".into(),
            identity: "you (approver)".into(),
        },
    );
    let lab = patchdeck::app::Context {
        name: "lab".into(),
        api_url: "http://127.0.0.1:7071".into(),
        demo: false,
        read_only: true,
        insecure_http: false,
    };
    app.switch_context(lab);
    assert!(
        app.fleet.hosts.is_empty() && !app.synced,
        "nothing of the old fleet on screen"
    );
    assert_eq!(app.context.name, "lab");
    assert!(app.context.read_only);
    assert_eq!(app.contexts, ["demo", "lab"]);
    assert!(app.sent.contains_key("k-1"));
}

#[test]
fn approving_a_halted_deployment_plans_resuming_its_ring() {
    let mut app = console();
    press(&mut app, KeyCode::Char('2'));
    let halted = app
        .fleet
        .deployments
        .values()
        .find(|d| d.state == DeploymentState::Halted)
        .expect("the bad patch halted a deployment")
        .id
        .clone();
    select_row(&mut app, &halted);
    press(&mut app, KeyCode::Char('a'));
    let dialog = confirm(&app);
    assert!(
        dialog.plan.title.starts_with("Approve resuming"),
        "{}",
        dialog.plan.title
    );
    assert!(
        dialog.plan.notes.iter().any(|n| n.contains("still failed")),
        "the failed hosts are pointed out: {:?}",
        dialog.plan.notes
    );
}

/// Deliver a new state of a deployment as the event stream would.
fn deployment_event(
    app: &mut App,
    id: &str,
    change: impl FnOnce(&mut patchdeck::model::Deployment),
) {
    let mut deployment = app.fleet.deployments[id].clone();
    deployment.version += 1;
    change(&mut deployment);
    let event = Event {
        seq: app.fleet.sequence + 1,
        at: app.fleet_now(),
        change: Change::Deployment(deployment),
    };
    update(app, Msg::Sync(SyncUpdate::Events(vec![event])));
}

#[test]
fn progress_while_the_dialog_is_open_does_not_refuse_the_action() {
    let mut app = console();
    let id = on_servers_deployment(&mut app);
    press(&mut app, KeyCode::Char('p'));
    assert_eq!(confirm(&app).plan.verb, Verb::Pause);
    // Hosts finish: the version moves, the state does not.
    deployment_event(&mut app, &id, |d| d.counts.succeeded += 1);
    let now_version = app.fleet.deployments[&id].version;
    let effects = press(&mut app, KeyCode::Enter);
    let calls = acts(&effects);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].request.if_match,
        Some(now_version),
        "the version the console holds now"
    );
}

#[test]
fn a_state_change_while_the_dialog_is_open_is_shown_and_nothing_is_sent() {
    let mut app = console();
    let id = on_servers_deployment(&mut app);
    press(&mut app, KeyCode::Char('p'));
    deployment_event(&mut app, &id, |d| d.state = DeploymentState::Paused);
    let effects = press(&mut app, KeyCode::Enter);
    assert!(acts(&effects).is_empty(), "nothing is sent");
    match &confirm(&app).stage {
        Stage::Problem { message, resend } => {
            assert_eq!(*resend, Resend::Replan);
            assert!(message.contains("awaiting-approval -> paused"), "{message}");
        }
        other => panic!("expected the change to be shown, got {other:?}"),
    }
}

#[test]
fn a_host_that_moves_on_but_can_still_take_the_action_does_not_block_it() {
    let mut app = console();
    press(&mut app, KeyCode::Char('3'));
    select_row(&mut app, FAIL_GROUP);
    press(&mut app, KeyCode::Char('x'));
    let targets: Vec<String> = confirm(&app)
        .plan
        .targets
        .iter()
        .map(|t| t.target.id.clone())
        .collect();
    assert!(targets.len() > 1, "the whole group: {targets:?}");
    fill(&mut app, "bad driver on this model", "INC-1", None);
    // The exception's control and expiry (past the owner).
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "EDR in block mode");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "30");
    // One host is rolled back meanwhile: it can still be excluded.
    let mut host = app.fleet.hosts[targets[0].as_str()].clone();
    host.state = HostState::RolledBack;
    host.version += 1;
    let new_version = host.version;
    let event = Event {
        seq: app.fleet.sequence + 1,
        at: app.fleet_now(),
        change: Change::Host(host),
    };
    update(&mut app, Msg::Sync(SyncUpdate::Events(vec![event])));
    let effects = press(&mut app, KeyCode::Enter);
    let calls = acts(&effects);
    assert_eq!(calls.len(), targets.len(), "every host is sent");
    let moved = calls
        .iter()
        .find(|c| c.request.target.id == targets[0])
        .unwrap();
    assert_eq!(moved.request.if_match, Some(new_version));
}

#[test]
fn a_selection_never_outlives_its_list() {
    let mut app = console();
    command(&mut app, "hosts failed");
    press(&mut app, KeyCode::Char('*'));
    assert!(!app.marked.is_empty());
    // Esc lets go of the selection first, then closes the list.
    press(&mut app, KeyCode::Esc);
    assert!(app.marked.is_empty());
    assert!(matches!(app.screen(), Some(Screen::Hosts(_))));
    press(&mut app, KeyCode::Char('*'));
    assert!(!app.marked.is_empty());
    // Going to another pane lets go of it too.
    press(&mut app, KeyCode::Char('2'));
    assert!(app.marked.is_empty());
}

// ---------------------------------------------------------------------------------
// The connection tells the truth
// ---------------------------------------------------------------------------------

fn reconnecting(app: &mut App, since_secs_ago: i64, error: &str) {
    let now = app.now;
    update(
        app,
        Msg::Sync(SyncUpdate::Connection(
            patchdeck::backend::Connection::Reconnecting {
                since: now - Duration::seconds(since_secs_ago),
                attempt: 3,
                next_attempt_at: now + Duration::seconds(4),
                error: error.into(),
            },
        )),
    );
}

#[test]
fn nothing_ever_loaded_says_why_and_never_stale() {
    use patchdeck::app::viewport::{ConnectionHealth, connection_words, nothing_loaded_words};
    let context = patchdeck::app::Context {
        name: "--api".into(),
        api_url: "http://127.0.0.1:9".into(),
        demo: false,
        read_only: false,
        insecure_http: false,
    };
    let mut app = App::new(context, Default::default(), start());
    assert_eq!(nothing_loaded_words(&app), "loading the fleet...");
    reconnecting(
        &mut app,
        600,
        "cannot reach http://127.0.0.1:9/v1/me: Connection refused (os error 111)",
    );
    let (words, health) = connection_words(&app);
    assert!(!words.contains("STALE"), "{words}");
    assert_eq!(words, "NOT CONNECTED (retry 4s)");
    assert_eq!(health, ConnectionHealth::Stale);
    let cause = nothing_loaded_words(&app);
    assert!(
        cause.starts_with("cannot reach http://127.0.0.1:9/v1/me: Connection refused"),
        "{cause}"
    );
    assert!(!app.clock_frozen(), "nothing shown, nothing frozen");
}

#[test]
fn a_refused_token_stays_in_the_header_until_a_session_opens() {
    use patchdeck::app::viewport::connection_words;
    let mut app = console();
    reconnecting(
        &mut app,
        2,
        "the server did not accept the token (401 Unauthorized)",
    );
    assert!(app.token_refused());
    assert_eq!(connection_words(&app).0, "TOKEN REFUSED (retry 4s)");
    // Minutes later, after the toast is long gone, the header still says it.
    let later = app.now + Duration::minutes(5);
    update(&mut app, Msg::Tick(later));
    assert!(app.flash.is_none() || !flash(&app).contains("401"));
    assert!(connection_words(&app).0.starts_with("TOKEN REFUSED"));
    update(
        &mut app,
        Msg::Sync(SyncUpdate::Connection(
            patchdeck::backend::Connection::Live { since: later },
        )),
    );
    assert_eq!(connection_words(&app).0, "LIVE");
}

#[test]
fn clocks_and_countdowns_freeze_while_stale() {
    let simulator = standard_simulator();
    let mut fleet = fleet_of(&*simulator);
    fleet.summary.as_mut().expect("summary").clock_speed = 1.0;
    let mut app = console_with(fleet, demo_context(), Role::Approver);
    let start_now = app.fleet_now();
    let at = app.now + Duration::minutes(3);
    update(&mut app, Msg::Tick(at));
    assert_eq!(app.fleet_now(), start_now + Duration::minutes(3));
    reconnecting(&mut app, 0, "cannot reach http://x: Connection reset");
    let lost_at = app.fleet_now();
    let at = app.now + Duration::minutes(20);
    update(&mut app, Msg::Tick(at));
    assert!(app.clock_frozen());
    assert_eq!(app.fleet_now(), lost_at, "the fleet clock stands still");
    let text = screen(&mut app, 80, 24);
    assert!(text.lines().nth(1).unwrap().contains("FROZEN"), "{text}");
    let now = app.now;
    update(
        &mut app,
        Msg::Sync(SyncUpdate::Connection(
            patchdeck::backend::Connection::Live { since: now },
        )),
    );
    assert!(!app.clock_frozen());
    assert!(app.fleet_now() > lost_at);
}

#[test]
fn a_server_that_restarted_from_scratch_is_announced_with_what_was_lost() {
    let mut app = console();
    let before = app.fleet.actions.len();
    assert!(before > 0, "the story has actions");
    reconnecting(&mut app, 60, "cannot reach http://x: Connection refused");
    // The new server: an hour earlier, no events, no actions.
    let mut fresh = fleet_of(&*simulator(Scenario::BadPatch, 3600));
    fresh.sequence = 3;
    fresh.actions.clear();
    update(&mut app, Msg::Sync(SyncUpdate::Snapshot(Box::new(fresh))));
    let notice = app.notice.clone().expect("a notice");
    assert!(
        notice.starts_with("the server restarted from scratch"),
        "{notice}"
    );
    assert!(notice.contains("fleet clock back from"), "{notice}");
    assert!(notice.contains(&format!("{before} action")), "{notice}");
    assert!(app.problems.iter().any(|p| p == &notice));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("NOTICE"), "{text}");
    press(&mut app, KeyCode::Esc);
    assert!(app.notice.is_none(), "Esc dismisses it");
    // A list again of the same server (a 410) is no restart.
    let mut app = console();
    let same = fleet_of(&*standard_simulator());
    update(&mut app, Msg::Sync(SyncUpdate::Snapshot(Box::new(same))));
    assert!(app.notice.is_none());
}

// ---------------------------------------------------------------------------------
// The step after a halt
// ---------------------------------------------------------------------------------

#[test]
fn p_on_a_halted_ring_or_deployment_offers_resume_with_cause_and_gate() {
    let mut app = console();
    select_row(&mut app, "pilot");
    press(&mut app, KeyCode::Char('p'));
    let dialog = confirm(&app);
    assert_eq!(
        dialog.plan.verb,
        Verb::Approve,
        "the fleet resumes a halt by approval"
    );
    assert!(
        dialog.plan.title.starts_with("Resume "),
        "{}",
        dialog.plan.title
    );
    assert!(
        !dialog.plan.title.contains("Pause"),
        "{}",
        dialog.plan.title
    );
    let notes = dialog.plan.notes.join("\n");
    assert!(
        notes.contains("halt cause STILL THERE: 6 hosts still failed"),
        "{notes}"
    );
    assert!(notes.contains("gate needs 95% ok, now "), "{notes}");
    assert!(notes.contains("soak restarts"), "{notes}");
    // The look-alike warnings are the server's plan to say (sim::tests::lookalike); the
    // console says the test coverage (a refused plan cannot).
    assert!(
        !notes
            .lines()
            .any(|n| n.starts_with("WARNING: ") && !n.starts_with(patchdeck::model::NOTE_PREFIX)),
        "{notes}"
    );
    assert!(
        notes.contains("hardware model Contoso Book 14 G3"),
        "{notes}"
    );
    press(&mut app, KeyCode::Esc);
    // The same from the deployment.
    press(&mut app, KeyCode::Char('2'));
    let halted = app
        .fleet
        .deployments
        .values()
        .find(|d| d.state == DeploymentState::Halted)
        .expect("a halted deployment")
        .id
        .clone();
    select_row(&mut app, &halted);
    press(&mut app, KeyCode::Char('p'));
    assert_eq!(confirm(&app).plan.verb, Verb::Approve);
    assert!(confirm(&app).plan.title.starts_with("Resume "));
}

#[test]
fn once_the_failed_hosts_are_handled_the_resume_says_the_cause_is_cleared() {
    let mut app = console();
    let failed: Vec<_> = app
        .fleet
        .hosts
        .values()
        .filter(|h| h.ring_id == "pilot" && h.state == HostState::Failed)
        .cloned()
        .collect();
    let changes = failed
        .into_iter()
        .map(|mut h| {
            h.state = HostState::RolledBack;
            h.failure = None;
            h.version += 1;
            Change::Host(h)
        })
        .collect();
    send_changes(&mut app, changes);
    select_row(&mut app, "pilot");
    press(&mut app, KeyCode::Char('p'));
    let notes = confirm(&app).plan.notes.join("\n");
    assert!(notes.contains("halt cause cleared"), "{notes}");
    assert!(
        !notes
            .lines()
            .any(|n| n.starts_with("WARNING") && !n.starts_with(patchdeck::model::NOTE_PREFIX)),
        "{notes}"
    );
}

// ---------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------

fn audits(effects: &[Effect]) -> Vec<patchdeck::audit::AuditRecord> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Audit(record) => Some((**record).clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_actions_pane_opens_on_the_newest_action() {
    let mut app = console();
    let mut newer = app
        .fleet
        .actions
        .values()
        .next()
        .cloned()
        .expect("an action");
    newer.id = "zz-newest".into();
    newer.at += Duration::minutes(5);
    let mut older = newer.clone();
    older.id = "aa-oldest-but-sorted-first-by-id".into();
    older.at -= Duration::days(3);
    send_changes(&mut app, vec![Change::Action(older), Change::Action(newer)]);
    press(&mut app, KeyCode::Char('4'));
    assert_eq!(
        app.selected_key(ListId::Pane(Pane::Actions)).as_deref(),
        Some("zz-newest")
    );
    // Back to it later: on the newest again, not where the cursor was left.
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('1'));
    press(&mut app, KeyCode::Char('4'));
    assert_eq!(
        app.selected_key(ListId::Pane(Pane::Actions)).as_deref(),
        Some("zz-newest")
    );
}

#[test]
fn the_audit_gets_a_line_when_sent_one_with_the_answer_and_one_with_the_final_outcome() {
    let mut app = console();
    let id = on_servers_deployment(&mut app);
    press(&mut app, KeyCode::Char('H'));
    let name = app.fleet.deployments[&id].name.clone();
    fill(&mut app, "servers look wrong", "INC-42", Some(&name));
    let effects = press(&mut app, KeyCode::Enter);
    let calls = acts(&effects);
    let sent = audits(&effects);
    assert_eq!(sent.len(), 1, "{effects:?}");
    assert_eq!(sent[0].phase, patchdeck::audit::AuditPhase::Sent);
    assert_eq!(sent[0].idempotency_key, calls[0].idempotency_key);
    assert_eq!(sent[0].ticket.as_deref(), Some("INC-42"));
    assert_eq!(sent[0].fleet_time, Some(app.fleet_now()), "the fleet clock");
    assert_eq!(sent[0].time, app.now, "the wall clock");
    // Accepted, running.
    let mut action = accepted(&app, &calls[0]);
    action.progress_total = 12;
    let answer = audits(&done(
        &mut app,
        &calls[0],
        Outcome::Succeeded(action.clone()),
    ));
    assert_eq!(answer.len(), 1);
    assert_eq!(answer[0].phase, patchdeck::audit::AuditPhase::Answer);
    assert_eq!(answer[0].outcome, "accepted, running");
    // Progress is no final outcome; the end is.
    action.progress_done = 5;
    action.version = 2;
    send_changes(&mut app, vec![Change::Action(action.clone())]);
    assert!(app.awaiting_final.contains_key(&action.id));
    action.state = patchdeck::model::ActionState::Failed;
    action.progress_done = 9;
    action.detail = Some("3 hosts did not come back".into());
    action.version = 3;
    let at = app.fleet_now();
    let seq = app.fleet.sequence + 1;
    let effects = update(
        &mut app,
        Msg::Sync(SyncUpdate::Events(vec![Event {
            seq,
            at,
            change: Change::Action(action.clone()),
        }])),
    );
    let last = audits(&effects);
    assert_eq!(last.len(), 1, "{effects:?}");
    assert_eq!(last[0].phase, patchdeck::audit::AuditPhase::Final);
    assert_eq!(
        last[0].outcome,
        "failed, 9 of 12 hosts: 3 hosts did not come back"
    );
    assert_eq!(last[0].idempotency_key, calls[0].idempotency_key);
    assert!(app.awaiting_final.is_empty());
}

#[test]
fn quitting_with_actions_unanswered_asks_first_and_records_them_as_unknown() {
    let mut app = console();
    let id = on_servers_deployment(&mut app);
    press(&mut app, KeyCode::Char('H'));
    let name = app.fleet.deployments[&id].name.clone();
    fill(&mut app, "servers look wrong", "INC-42", Some(&name));
    let calls = acts(&press(&mut app, KeyCode::Enter));
    press(&mut app, KeyCode::Esc);
    assert!(app.dialog.is_none());
    assert!(
        press(&mut app, KeyCode::Char('q')).is_empty(),
        "q asks first"
    );
    assert!(matches!(app.dialog, Some(Dialog::Quit { unanswered: 1 })));
    assert!(press(&mut app, KeyCode::Char('n')).is_empty(), "n stays");
    assert!(app.dialog.is_none());
    assert!(ctrl(&mut app, 'c').is_empty(), "Ctrl-C asks too");
    let effects = press(&mut app, KeyCode::Char('y'));
    assert_eq!(effects.last(), Some(&Effect::Quit));
    let lines = audits(&effects);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].phase, patchdeck::audit::AuditPhase::Unknown);
    assert_eq!(lines[0].idempotency_key, calls[0].idempotency_key);
    assert!(lines[0].outcome.starts_with("unknown"));
    // Ctrl-C twice always leaves.
    let mut app = console();
    let id = on_servers_deployment(&mut app);
    press(&mut app, KeyCode::Char('H'));
    let name = app.fleet.deployments[&id].name.clone();
    fill(&mut app, "r", "T-1", Some(&name));
    press(&mut app, KeyCode::Enter);
    assert!(ctrl(&mut app, 'c').is_empty());
    assert_eq!(ctrl(&mut app, 'c').last(), Some(&Effect::Quit));
}

// ---------------------------------------------------------------------------------
// Reachable at 80x24
// ---------------------------------------------------------------------------------

#[test]
fn details_and_help_scroll_to_their_end_and_not_past_it() {
    let mut app = console();
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.screen(), Some(Screen::Deployment(_))));
    // The keys know the end from the layout and the screen's rows, before any draw.
    let max = patchdeck::app::viewport::scroll_max(&app);
    press(&mut app, KeyCode::Char('G'));
    assert_eq!(app.help_scroll, max, "G before any draw");
    press(&mut app, KeyCode::Char('g'));
    let top = screen(&mut app, 80, 24);
    assert!(max > 0, "the deployment detail is taller than 80x24: {top}");
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.help_scroll, 1);
    press(&mut app, KeyCode::Char('G'));
    assert_eq!(app.help_scroll, max);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.help_scroll, max, "never past the end");
    let bottom = screen(&mut app, 80, 24);
    assert_ne!(top, bottom);
    assert!(bottom.contains(&format!("of {}", max + 19)), "{bottom}");
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.help_scroll, max - 1);
    press(&mut app, KeyCode::Char('g'));
    assert_eq!(app.help_scroll, 0);
    // Help: End reaches its last line, which is not blank.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('?'));
    assert_eq!(app.help_scroll, 0, "a screen opens at its top");
    screen(&mut app, 80, 24);
    press(&mut app, KeyCode::End);
    let end = screen(&mut app, 80, 24);
    assert!(end.contains("States: waiting"), "{end}");
    assert!(!end.contains("more below"), "{end}");
}

// ---------------------------------------------------------------------------------
// Smaller
// ---------------------------------------------------------------------------------

#[test]
fn space_on_a_failure_group_row_marks_its_hosts_and_moves_down_like_everywhere() {
    let mut app = console();
    press(&mut app, KeyCode::Char('3'));
    let group = app.failure_groups()[0].hosts.clone();
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(app.marked, group.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(
        app.cursor(ListId::Pane(Pane::Failed)).selected,
        1,
        "Space moves down"
    );
    // Space on it again lets go of them.
    press(&mut app, KeyCode::Char('k'));
    press(&mut app, KeyCode::Char(' '));
    assert!(app.marked.is_empty());
}

#[test]
fn an_exploited_cve_is_announced_on_the_main_screen_before_e() {
    use patchdeck::app::viewport::exploited_words;
    let mut app = console_on(&simulator(Scenario::ZeroDay, 3600));
    let words = exploited_words(&app).expect("the zero-day is announced");
    assert!(
        words.contains("exploited: ") && words.contains("fixes it — E to start an emergency"),
        "{words}"
    );
    let shown = screen(&mut app, 80, 24);
    assert!(
        shown.lines().nth(2).unwrap().contains("exploited: "),
        "{shown}"
    );
    // The bad-patch story has none.
    assert!(exploited_words(&console()).is_none());
}

/// A ring approval whose first approver is another person rings this approver's bell
/// once (an Effect the console runs: the app writes nothing), not again while it
/// waits; a viewer's console never rings; the first approver's own console never does.
#[test]
fn the_awaited_approver_hears_the_bell_once_per_new_request() {
    let pending = |app: &App, ring_of: usize| {
        let mut fleet = app.fleet.clone();
        let deployment = fleet
            .deployments
            .values_mut()
            .filter(|d| d.next_ring.is_some())
            .nth(ring_of)
            .expect("a deployment with a next ring");
        deployment.pending_approval = Some(patchdeck::model::PendingApproval {
            ring_id: deployment.next_ring.clone().expect("its next ring"),
            first_approver: "alice".into(),
            first_person: "alice".into(),
            at: app.fleet_now(),
            resume: false,
        });
        fleet
    };
    let bells = |effects: &[Effect]| effects.iter().filter(|e| **e == Effect::Bell).count();
    let mut app = console();
    let fleet = pending(&app, 0);
    let first = update(
        &mut app,
        Msg::Sync(SyncUpdate::Snapshot(Box::new(fleet.clone()))),
    );
    assert_eq!(bells(&first), 1, "{first:?}");
    let again = update(&mut app, Msg::Sync(SyncUpdate::Snapshot(Box::new(fleet))));
    assert_eq!(bells(&again), 0, "once per request");
    assert!(
        patchdeck::app::viewport::banner_words(&app)
            .is_some_and(|w| w.contains("alice asks you to approve opening")),
        "{:?}",
        patchdeck::app::viewport::banner_words(&app)
    );
    let mut viewer = console_as(Role::Viewer);
    let fleet = pending(&viewer, 0);
    let effects = update(
        &mut viewer,
        Msg::Sync(SyncUpdate::Snapshot(Box::new(fleet))),
    );
    assert_eq!(bells(&effects), 0, "a viewer may not approve");
    let mut alice = console();
    update(
        &mut alice,
        Msg::Sync(SyncUpdate::Identity(patchdeck::model::Identity::new(
            "alice",
            Role::Approver,
        ))),
    );
    let fleet = pending(&alice, 0);
    let effects = update(&mut alice, Msg::Sync(SyncUpdate::Snapshot(Box::new(fleet))));
    assert_eq!(bells(&effects), 0, "the first approver is not awaited");
}

/// One rule words a ring's state: a ring "deploying" with nothing in flight while its
/// window is closed is waiting for its window, and says when it opens; a soak whose
/// time is up is not "soaking".
#[test]
fn a_ring_never_says_deploying_while_its_window_opens_in_hours() {
    use patchdeck::app::words::WindowWording;
    use patchdeck::model::RingState;
    use patchdeck::ui::words::ring_state_words;
    let mut app = console();
    let now = app.fleet_now();
    let mut fleet = app.fleet.clone();
    let ring = fleet.rings.values_mut().next().expect("a ring");
    let id = ring.id.clone();
    ring.state = RingState::Deploying;
    ring.counts.downloading = 0;
    ring.counts.installing = 0;
    ring.counts.pending_reboot = 0;
    ring.counts.rebooting = 0;
    ring.counts.verifying = 0;
    ring.window.days = Vec::new();
    ring.window.utc_offset_minutes = 0;
    ring.window.duration_minutes = 60;
    ring.window.start = (now + Duration::minutes(185)).time();
    update(&mut app, Msg::Sync(SyncUpdate::Snapshot(Box::new(fleet))));
    let ring = &app.fleet.rings[&id];
    assert_eq!(ring.counts.in_flight(), 0);
    let (column, _) = ring_state_words(&app, ring, WindowWording::Column);
    assert_eq!(column, "queued", "approved, held for its window");
    let (sentence, _) = ring_state_words(&app, ring, WindowWording::Sentence);
    let opens = (now + Duration::minutes(185)).format("%H:%M").to_string();
    assert!(
        sentence.starts_with(&format!("waiting for its window, opens {opens} (in 3h 0")),
        "{sentence}"
    );
    // A deployment in that ring is not "running" while nothing can run.
    use patchdeck::ui::words::deployment_state_words;
    if let Some(deployment) = app.fleet.deployments.values().find(|d| {
        d.current_ring.as_deref() == Some(id.as_str()) && d.state == DeploymentState::Running
    }) {
        let (column, _) = deployment_state_words(&app, deployment, WindowWording::Column);
        assert_eq!(column, "window closed");
    }
    // "done" never stands beside hosts still waiting, nor beside no hosts at all.
    let mut ring = app.fleet.rings[&id].clone();
    ring.state = RingState::Done;
    ring.counts.pending = 3;
    assert_eq!(
        ring_state_words(&app, &ring, WindowWording::Column).0,
        "waiting"
    );
    ring.counts = Default::default();
    assert_eq!(
        ring_state_words(&app, &ring, WindowWording::Column).0,
        "no hosts"
    );
}
