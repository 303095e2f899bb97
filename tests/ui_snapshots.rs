//! What the operator sees: the console drawn on a ratatui TestBackend at 80x24 (the
//! smallest supported terminal: Rings over one tabbed pane) and 200x50 (all four panes),
//! from a deterministic simulated fleet, snapshotted as text with insta.

mod common;

use chrono::Duration;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use ratatui::style::Modifier;

use common::*;
use patchdeck::app::plan::emergency_candidates;
use patchdeck::app::{App, Context, Msg, Screen, update};
use patchdeck::backend::Backend;
use patchdeck::backend::{Connection, SyncUpdate};
use patchdeck::model::{HostState, Role, TargetKind, Verb};
use patchdeck::sim::Scenario;

const SMALL: (u16, u16) = (80, 24);
const LARGE: (u16, u16) = (200, 50);

/// Snapshot the screen at both sizes, `<name>_80x24` and `<name>_200x50`, with what is
/// in reverse video and struck out listed under it.
fn snapshot_both(name: &str, app: &mut App) {
    for (width, height) in [SMALL, LARGE] {
        assert_snapshot!(
            format!("{name}_{width}x{height}"),
            annotated(&draw(app, width, height))
        );
    }
}

/// Press `key` and answer the dry runs it asks for as the standard simulator would
/// (the consoles of these tests show the standard fleet).
fn press_planned(app: &mut App, key: KeyCode) {
    let effects = press(app, key);
    answer_plans(app, &standard_simulator(), &effects);
}

/// A console with the pane of this digit focused; its title is in reverse video at
/// both sizes (the one sign of focus that does not need colour).
fn focused(key: char) -> App {
    let mut app = console();
    press(&mut app, KeyCode::Char(key));
    // The whole title, or the short one where the tabs are narrow ("2 Deploys").
    let title = format!("{key} {}", app.focus.title());
    let short = format!("{key} {}", app.focus.spec().short);
    for (width, height) in [SMALL, LARGE] {
        let reversed = runs_with(&draw(&mut app, width, height), Modifier::REVERSED);
        assert!(
            reversed
                .lines()
                .any(|l| l.contains(&title) || l.contains(&short)),
            "{title} in reverse video at {width}x{height}: {reversed}"
        );
    }
    app
}

#[test]
fn rings_focused() {
    snapshot_both("rings_focused", &mut focused('1'));
}

#[test]
fn deployments_focused() {
    snapshot_both("deployments_focused", &mut focused('2'));
}

#[test]
fn failed_hosts_focused() {
    snapshot_both("failed_hosts_focused", &mut focused('3'));
}

#[test]
fn actions_focused() {
    snapshot_both("actions_focused", &mut focused('4'));
}

#[test]
fn failure_group_expanded() {
    let mut app = focused('3');
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.expanded.len(), 1, "Enter on a group expands it");
    snapshot_both("failure_group_expanded", &mut app);
}

#[test]
fn ring_detail() {
    let mut app = focused('1');
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen(), Some(&Screen::Ring("pilot".into())));
    snapshot_both("ring_detail", &mut app);
}

#[test]
fn deployment_detail() {
    let mut app = focused('2');
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.screen(), Some(Screen::Deployment(_))));
    snapshot_both("deployment_detail", &mut app);
}

#[test]
fn host_detail_with_history() {
    let simulator = standard_simulator();
    let mut app = console_on(&simulator);
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('j'));
    let effects = press(&mut app, KeyCode::Enter);
    let Some(Screen::Host(id)) = app.screen().cloned() else {
        panic!("Enter on a failed host opens it, got {:?}", app.screen());
    };
    assert_eq!(effects, vec![patchdeck::app::Effect::FetchHost(id.clone())]);
    let host = simulator.host(&id).expect("the host exists");
    assert!(!host.history.is_empty(), "the simulator keeps history");
    update(
        &mut app,
        Msg::HostDetail {
            id,
            result: Box::new(Ok(host)),
        },
    );
    // Last seen is never before the latest thing the host reported (its failure).
    let shown = screen(&mut app, 80, 24);
    let at = |label: &str| {
        shown
            .lines()
            .find_map(|l| l.strip_prefix(&format!("│{label:<16}")))
            .map(|rest| rest.get(..12).unwrap_or(rest).to_string())
            .unwrap_or_else(|| panic!("no {label} line: {shown}"))
    };
    assert_eq!(at("last seen"), at("failed"), "{shown}");
    snapshot_both("host_detail", &mut app);
}

#[test]
fn action_detail() {
    let mut app = focused('4');
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.screen(), Some(Screen::Action(_))));
    snapshot_both("action_detail", &mut app);
}

#[test]
fn host_list_of_failed_hosts() {
    let mut app = console();
    command(&mut app, "hosts failed");
    assert!(matches!(app.screen(), Some(Screen::Hosts(_))));
    assert_eq!(
        app.host_rows.len(),
        app.fleet
            .hosts
            .values()
            .filter(|h| h.state == HostState::Failed)
            .count()
    );
    snapshot_both("hosts_failed", &mut app);
}

#[test]
fn help() {
    let mut app = console();
    press(&mut app, KeyCode::Char('?'));
    snapshot_both("help", &mut app);
}

#[test]
fn filter_in_progress() {
    let mut app = focused('1');
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "wave");
    snapshot_both("filter_in_progress", &mut app);
}

#[test]
fn command_mode_with_completion() {
    let mut app = console();
    press(&mut app, KeyCode::Char(':'));
    type_text(&mut app, "ring pi");
    snapshot_both("command_completion", &mut app);
}

#[test]
fn halt_confirm_dialog() {
    let mut app = focused('2');
    press(&mut app, KeyCode::Char('j'));
    press_planned(&mut app, KeyCode::Char('H'));
    assert!(app.dialog.is_some(), "H opens the halt dialog");
    snapshot_both("halt_dialog", &mut app);
}

#[test]
fn emergency_wizard_steps() {
    let simulator = simulator(Scenario::ZeroDay, 3600);
    let mut app = console_on(&simulator);
    press(&mut app, KeyCode::Char('E'));
    // The patch that fixes the exploited CVE is marked, whatever the width.
    for (width, height) in [SMALL, LARGE] {
        let shown = screen(&mut app, width, height);
        let row = shown
            .lines()
            .find(|l| l.contains("KB5032150") && l.contains("Critical"))
            .expect("the fix is offered");
        assert!(row.contains("EXPLOITED CVE-2026-41234"), "{shown}");
    }
    snapshot_both("emergency_1_patch", &mut app);
    let effects = press(&mut app, KeyCode::Enter);
    let planning = screen(&mut app, 80, 24);
    assert!(planning.contains("planning..."), "{planning}");
    answer_plans(&mut app, &simulator, &effects);
    snapshot_both("emergency_2_targets", &mut app);
    press(&mut app, KeyCode::Enter);
    snapshot_both("emergency_3_rollback_plan", &mut app);
    press(&mut app, KeyCode::Char(' '));
    let effects = press(&mut app, KeyCode::Enter);
    answer_plans(&mut app, &simulator, &effects);
    snapshot_both("emergency_4_confirm", &mut app);
}

#[test]
fn emergency_look() {
    let simulator = simulator(Scenario::ZeroDay, 3600);
    let patch = {
        let fleet = fleet_of(&*simulator);
        emergency_candidates(&fleet)[0].id.clone()
    };
    // Two-person: you ask, bob confirms.
    for approver in ["you", "bob"] {
        act(
            &simulator,
            approver,
            Verb::Emergency,
            TargetKind::Fleet,
            "fleet",
            Some(&patch),
        );
    }
    simulator.advance(1800);
    let mut app = console_on(&simulator);
    assert!(app.emergency().is_some(), "the fleet is in emergency");
    snapshot_both("emergency_look", &mut app);
}

#[test]
fn stale_connection() {
    let mut app = console();
    let now = app.now;
    update(
        &mut app,
        Msg::Sync(SyncUpdate::Connection(Connection::Reconnecting {
            since: now - Duration::minutes(2),
            attempt: 6,
            next_attempt_at: now + Duration::seconds(12),
            error: "connection refused".into(),
        })),
    );
    snapshot_both("stale_connection", &mut app);
}

#[test]
fn read_only() {
    let simulator = standard_simulator();
    let context = Context {
        read_only: true,
        ..demo_context()
    };
    let mut app = console_with(fleet_of(&*simulator), context, Role::Approver);
    press(&mut app, KeyCode::Char('2'));
    for (width, height) in [SMALL, LARGE] {
        let buffer = draw(&mut app, width, height);
        // Said in words, not only by strike-through (many terminals do not show it).
        let footer = text(&buffer).lines().last().unwrap_or_default().to_string();
        assert!(footer.contains("a/d/p/H/R/E (off: read-only)"), "{footer}");
        let dim = runs_with(&buffer, Modifier::DIM);
        assert!(dim.contains("a/d/p/H/R/E (off: read-only)"), "dim: {dim}");
    }
    snapshot_both("read_only", &mut app);
    press(&mut app, KeyCode::Char('?'));
    snapshot_both("read_only_help", &mut app);
    // The help says once, at the top, why the action keys do nothing.
    resize(&mut app, 80, 24);
    let top = annotated(&draw(&mut app, 80, 24));
    assert!(
        top.contains("READ-ONLY: every action key is disabled"),
        "{top}"
    );
    press(&mut app, KeyCode::PageDown);
    let help = annotated(&draw(&mut app, 80, 24));
    assert!(
        !help.contains("(unavailable here:"),
        "not repeated per key: {help}"
    );
    assert_snapshot!("read_only_help_scrolled_80x24", help);
}

#[test]
fn keys_a_viewer_may_not_use_say_who_may() {
    let mut app = console_as(Role::Viewer);
    press(&mut app, KeyCode::Char('2'));
    let footer = screen(&mut app, 80, 24)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(footer.contains("(approver only)"), "{footer}");
}

#[test]
fn terminal_too_small() {
    let mut app = console();
    let shown = screen(&mut app, 60, 20);
    assert!(shown.contains("terminal too small (need 80x24, have 60x20)"));
    assert_snapshot!("too_small_60x20", shown);
}

#[test]
fn rollback_dialog_counts() {
    // Pilot after the bad patch, as the server's dry run says: of the 15 hosts the
    // deployment touched there, 6 are uninstalled (and reboot) and 9 have a KB that
    // cannot be uninstalled (a restore).
    let mut app = focused('1');
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(
        app.selected_key(app.active_list().expect("the rings list"))
            .as_deref(),
        Some("pilot")
    );
    press_planned(&mut app, KeyCode::Char('R'));
    assert!(app.dialog.is_some(), "R opens the rollback dialog");
    for (width, height) in [SMALL, LARGE] {
        let shown = screen(&mut app, width, height);
        for counts in [
            "Pilot: 6 hosts",
            "6 hosts (0 servers), 6 will reboot",
            "9 hosts need a restore: KB5032201 cannot be uninstalled",
        ] {
            assert!(
                shown.contains(counts),
                "{counts:?} at {width}x{height}:\n{shown}"
            );
        }
    }
    snapshot_both("rollback_dialog_ring", &mut app);
}

#[test]
fn rollback_dialog_of_a_failure_group_counts_its_hosts() {
    // R on the 0x800f0922 group (5 hosts): one request per host, worded together.
    let mut app = focused('3');
    press_planned(&mut app, KeyCode::Char('R'));
    let shown = screen(&mut app, 80, 24);
    assert!(shown.contains("Rollback 5 hosts"), "{shown}");
    assert!(shown.contains("does     5 hosts: uninstalling"), "{shown}");
    assert!(shown.contains("Pilot: 5 hosts"), "{shown}");
    for wrong in ["1 hosts", "more like it", "(1 servers)"] {
        assert!(!shown.contains(wrong), "{wrong:?} in\n{shown}");
    }
    assert_snapshot!(
        "rollback_dialog_failure_group_80x24",
        annotated(&draw(&mut app, 80, 24))
    );
}

/// Text an API could send to do harm on a terminal: colours (CSI), a hyperlink (OSC 8),
/// a clipboard write (OSC 52), a device control string (DCS), a charset switch with an
/// intermediate byte (`ESC ( 0`), C1 string controls (OSC, APC), C0 and C1 controls (BS,
/// DEL, CR LF, the one-byte CSI, NEL), a right-to-left override and isolates (U+202E,
/// U+2066..U+2069), zero-width characters (U+200B, U+200D, U+FEFF), and wide CJK.
const HOSTILE: &str = concat!(
    "Pilot\x1b[31;1mRED\x1b[0m",
    "\x1b]8;;https://evil.example/\x07link\x1b]8;;\x07",
    "\x1b]52;c;ZXZpbC1jbGlwYm9hcmQ=\x07",
    "\x1bPq#0;2;0;0;0#0~~@@\x1b\\",
    "\x1b(0\u{9d}0;pwned\u{9c}\u{9f}apc-payload\u{9c}",
    "\x07\x08\x7f\u{9b}2J\u{85}\r\n",
    "\u{202e}lanoitator\u{202c}\u{2066}iso\u{2069}",
    "\u{200b}z\u{200d}w\u{feff}j",
    "巡检主机",
);

/// Characters that must never reach a cell: controls, bidi controls, zero-width ones.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
        )
}

/// Cells drawn with a border character, as (column, row): the layout's skeleton.
fn borders(buffer: &ratatui::buffer::Buffer) -> Vec<(u16, u16)> {
    let width = buffer.area.width;
    buffer
        .content
        .iter()
        .enumerate()
        .filter(|(_, cell)| {
            cell.symbol()
                .chars()
                .all(|c| ('\u{2500}'..='\u{257f}').contains(&c))
                && !cell.symbol().is_empty()
                && cell.symbol() != "─"
        })
        .map(|(i, _)| {
            (
                (i % usize::from(width)) as u16,
                (i / usize::from(width)) as u16,
            )
        })
        .collect()
}

/// The standard console with hostile text in the names and messages it shows: the
/// fleet's name, Pilot's halt reason, the Pilot deployment's name (20,000 characters)
/// and reason, each failed host's name and failure, and every action's actor, target,
/// reason and detail. Ring names too with `ring_names`.
fn hostile_console(ring_names: bool) -> App {
    let simulator = standard_simulator();
    let mut fleet = fleet_of(&*simulator);
    if ring_names {
        for ring in fleet.rings.values_mut() {
            ring.name = format!("{}{HOSTILE}", ring.name);
        }
    }
    let long = format!("{HOSTILE}{}{HOSTILE}", "x".repeat(20_000));
    assert!(long.chars().count() > 20_000);
    if let Some(summary) = fleet.summary.as_mut() {
        summary.name = HOSTILE.into();
    }
    let pilot = fleet.rings.get_mut("pilot").expect("Pilot");
    pilot.state_reason = Some(HOSTILE.into());
    for deployment in fleet.deployments.values_mut() {
        if deployment.current_ring.as_deref() == Some("pilot") {
            deployment.name = long.clone();
            deployment.state_reason = Some(HOSTILE.into());
        }
    }
    for host in fleet.hosts.values_mut() {
        if let Some(failure) = host.failure.as_mut() {
            host.name = HOSTILE.into();
            failure.code = HOSTILE.into();
            failure.message = long.as_str().into();
        }
    }
    for action in fleet.actions.values_mut() {
        action.by = HOSTILE.into();
        action.target_name = HOSTILE.into();
        action.reason = Some(HOSTILE.into());
        action.detail = Some(long.clone());
    }
    console_with(fleet, demo_context(), Role::Approver)
}

/// Nothing of the hostile text leaks into the cells, and the borders are where they
/// are on the standard console: the layout holds.
fn assert_harmless(app: &mut App, plain: &mut App, what: &str) {
    for (width, height) in [SMALL, LARGE] {
        let buffer = draw(app, width, height);
        for (i, cell) in buffer.content.iter().enumerate() {
            assert!(
                !cell.symbol().chars().any(unsafe_char),
                "{what} at {width}x{height}: cell {i} holds {:?}",
                cell.symbol()
            );
        }
        let shown = text(&buffer);
        for fragment in [
            "31;1m",
            "evil.example",
            "ZXZpbC",
            "#0;2",
            "2J",
            "]8;;",
            "]52;",
            "pwned",
            "apc-payload",
        ] {
            assert!(
                !shown.contains(fragment),
                "{what} at {width}x{height}: {fragment:?} leaked:\n{shown}"
            );
        }
        assert_eq!(
            borders(&buffer),
            borders(&draw(plain, width, height)),
            "{what} at {width}x{height}: the borders moved:\n{shown}"
        );
    }
}

#[test]
fn hostile_api_text_is_drawn_harmlessly() {
    let mut app = hostile_console(false);
    let mut plain = console();
    assert_harmless(&mut app, &mut plain, "the panes");
    snapshot_both("hostile_text", &mut app);

    for key in ['3', '4'] {
        press(&mut app, KeyCode::Char(key));
        press(&mut plain, KeyCode::Char(key));
        assert_harmless(&mut app, &mut plain, &format!("pane {key}"));
    }
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Enter);
    press(&mut plain, KeyCode::Char('4'));
    press(&mut plain, KeyCode::Enter);
    assert!(matches!(app.screen(), Some(Screen::Action(_))));
    assert_harmless(&mut app, &mut plain, "the action detail");
    snapshot_both("hostile_text_action_detail", &mut app);
}

#[test]
fn a_hostile_deployment_name_in_its_detail_screen() {
    let mut app = hostile_console(false);
    let mut plain = console();
    for app in [&mut app, &mut plain] {
        press(app, KeyCode::Char('2'));
        press(app, KeyCode::Enter);
        assert!(matches!(app.screen(), Some(Screen::Deployment(_))));
    }
    assert_harmless(&mut app, &mut plain, "the deployment detail");
    // The 20,000-character name takes at most three lines: the fields still show.
    for (width, height) in [SMALL, LARGE] {
        let shown = text(&draw(&mut app, width, height));
        assert!(shown.contains("…│"), "the name ends with …:\n{shown}");
        assert!(shown.contains("state           HALTED"), "{shown}");
        assert!(shown.contains("rings           Test > [Pilot]"), "{shown}");
    }
    snapshot_both("hostile_text_deployment_detail", &mut app);
    // The heading says the name is cut and where it is whole: G shows its end.
    let top = screen(&mut app, 80, 24);
    assert!(
        top.contains("(name cut: the whole name is at the end, G)"),
        "{top}"
    );
    press(&mut app, KeyCode::Char('G'));
    let end = screen(&mut app, 80, 24);
    assert!(end.contains("xxxxxxxx"), "{end}");
    assert!(!end.contains("more below"), "{end}");
    let Some(Screen::Deployment(id)) = app.screen().cloned() else {
        panic!("the deployment detail");
    };
    let name = patchdeck::text::clean(&app.fleet.deployments[&id].name).into_owned();
    let tail: String = name
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(
        end.contains(&tail),
        "the name's end {tail:?} is reachable:\n{end}"
    );
}

/// Ring names are API text too: cleaned wherever they are drawn (the rings pane, the
/// failed-hosts pane's ring column, the deployments pane's ring and approval columns,
/// the deployment detail's rings and approval lines).
#[test]
fn hostile_ring_names_are_drawn_harmlessly() {
    let mut app = hostile_console(true);
    let mut plain = console();
    assert_harmless(&mut app, &mut plain, "the panes");
    for app in [&mut app, &mut plain] {
        press(app, KeyCode::Char('2'));
        press(app, KeyCode::Enter);
    }
    assert_harmless(&mut app, &mut plain, "the deployment detail");
}

#[test]
fn insecure_http_is_shown_in_the_header() {
    let simulator = standard_simulator();
    let context = Context {
        name: "lab".into(),
        api_url: "http://10.0.0.1:7070".into(),
        demo: false,
        read_only: false,
        insecure_http: true,
    };
    let mut app = console_with(fleet_of(&*simulator), context.clone(), Role::Approver);
    for (width, height) in [SMALL, LARGE] {
        let buffer = draw(&mut app, width, height);
        let header = text(&buffer).lines().next().unwrap_or_default().to_string();
        assert!(header.contains(" INSECURE "), "{header}");
        let reversed = runs_with(&buffer, Modifier::REVERSED);
        assert!(reversed.contains("INSECURE"), "a badge: {reversed}");
    }
    assert_snapshot!("insecure_http_80x24", annotated(&draw(&mut app, 80, 24)));
    // Loopback or TLS: no badge.
    let safe = Context {
        insecure_http: false,
        ..context
    };
    let mut app = console_with(fleet_of(&*simulator), safe, Role::Approver);
    assert!(!text(&draw(&mut app, 80, 24)).contains("INSECURE"));
}

#[test]
fn unreachable_server_never_loaded() {
    let context = Context {
        name: "--api".into(),
        api_url: "http://127.0.0.1:9".into(),
        demo: false,
        read_only: false,
        insecure_http: false,
    };
    let now = start();
    let mut app = App::new(context, Default::default(), now);
    update(
        &mut app,
        Msg::Sync(SyncUpdate::Connection(Connection::Reconnecting {
            since: now - Duration::minutes(3),
            attempt: 9,
            next_attempt_at: now + Duration::seconds(20),
            error: "cannot reach http://127.0.0.1:9/v1/me: Connection refused (os error 111)"
                .into(),
        })),
    );
    let screen = annotated(&draw(&mut app, 80, 24));
    assert!(!screen.contains("STALE"), "{screen}");
    assert!(!screen.contains("loading the fleet"), "{screen}");
    snapshot_both("unreachable_server_never_loaded", &mut app);
}

#[test]
fn resume_after_halt_dialog() {
    // Pilot is halted by the failure threshold: `p` on it offers the resume.
    let mut app = focused('1');
    press(&mut app, KeyCode::Char('j'));
    press_planned(&mut app, KeyCode::Char('p'));
    let screen = annotated(&draw(&mut app, 80, 24));
    assert!(screen.contains("Resume "), "{screen}");
    assert!(screen.contains("STILL THERE"), "{screen}");
    assert!(
        screen.contains("gate needs 95% ok"),
        "no note is dropped at 80x24: {screen}"
    );
    // The console says the test coverage too (the refused plan cannot): in this small
    // fleet, several models never passed through Test, so the body scrolls under the
    // form, which stays in view.
    assert!(screen.contains("WARNING: test coverage"), "{screen}");
    assert!(
        screen.contains("> Reason"),
        "the form stays in view: {screen}"
    );
    assert_snapshot!("resume_after_halt_dialog_80x24", screen);

    // A halt reason long enough to make the dialog taller than 80x24: its body
    // scrolls (PgDn shows its end) under the form, which stays in view; the fields
    // keep every other key.
    press(&mut app, KeyCode::Esc);
    app.fleet.rings.get_mut("pilot").unwrap().state_reason = Some(
        "the failure threshold tripped while the service desk reported blue screens on \
         docking stations at three sites; the vendor confirmed a driver conflict with the \
         servicing stack and asked us to hold every ring until their hotfix ships; the \
         change board wants the failed hosts rolled back and the look-alikes excluded first, \
         and the on-call lead will look again at 06:00 with the vendor on the bridge call \
         to decide between the hotfix and a rollback of the whole ring; until then nobody \
         resumes Pilot or opens Wave 1, whatever the gate says, and the desk tells users to undock"
            .into(),
    );
    press_planned(&mut app, KeyCode::Char('p'));
    let tall = annotated(&draw(&mut app, 80, 24));
    assert!(tall.contains("more below: PgUp PgDn"), "{tall}");
    assert!(
        tall.contains("> Reason (optional): _") && tall.contains("Esc cancel  (1 request)"),
        "the focused field is in view: {tall}"
    );
    press(&mut app, KeyCode::PageDown);
    let end = annotated(&draw(&mut app, 80, 24));
    assert!(end.contains("Esc cancel  (1 request)"), "{end}");
    assert!(!end.contains("more below"), "{end}");
    assert_snapshot!("resume_after_halt_dialog_scrolled_80x24", end);
    press(&mut app, KeyCode::PageUp);
    assert_eq!(app.dialog_scroll, 0);
    type_text(&mut app, "j");
    let Some(patchdeck::app::Dialog::Confirm(confirm)) = &app.dialog else {
        panic!("the dialog stays open");
    };
    assert_eq!(confirm.reason.value(), "j", "j is typed, not a scroll");
}

#[test]
fn resume_after_rolling_back_the_failed_hosts_warns_of_their_look_alikes() {
    // The failed hosts of Pilot are rolled back (their failure is cleared): the
    // server's plan of the resume still warns of the pending hosts of their model.
    let simulator = standard_simulator();
    let failed: Vec<_> = fleet_of(&*simulator)
        .hosts
        .into_values()
        .filter(|h| h.ring_id == "pilot" && h.state == HostState::Failed)
        .collect();
    assert!(!failed.is_empty());
    for host in &failed {
        act(
            &simulator,
            "alice",
            Verb::Rollback,
            TargetKind::Host,
            &host.id,
            None,
        );
    }
    simulator.advance(3600);
    let mut app = console_on(&simulator);
    press(&mut app, KeyCode::Char('1'));
    press(&mut app, KeyCode::Char('j'));
    let effects = press(&mut app, KeyCode::Char('p'));
    answer_plans(&mut app, &simulator, &effects);
    let screen = annotated(&draw(&mut app, 80, 24));
    assert!(screen.contains("halt cause cleared"), "{screen}");
    assert!(screen.contains("gate needs"), "{screen}");
    let Some(patchdeck::app::Dialog::Confirm(confirm)) = &app.dialog else {
        panic!("the resume dialog is open");
    };
    let plan = confirm.server.plans().first().expect("the server's plan");
    assert!(
        plan.notes
            .iter()
            .any(|n| n.starts_with("WARNING: ") && n.contains("share model")),
        "{:?}",
        plan.notes
    );
    assert!(screen.contains("WARNING: "), "{screen}");
    assert_snapshot!("resume_after_rollback_dialog_80x24", screen);
}

#[test]
fn quit_with_unanswered_actions() {
    let mut app = focused('1');
    press(&mut app, KeyCode::Char('p'));
    press(&mut app, KeyCode::Enter);
    assert!(!app.sent.is_empty(), "the pause is sent");
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('q'));
    let screen = annotated(&draw(&mut app, 80, 24));
    assert!(screen.contains("Quit?"), "{screen}");
    assert_snapshot!("quit_with_unanswered_actions_80x24", screen);
}

#[test]
fn the_emergency_checklist_folds_to_one_line_and_c_toggles_it() {
    let simulator = simulator(Scenario::ZeroDay, 3600);
    let patch = {
        let fleet = fleet_of(&*simulator);
        emergency_candidates(&fleet)[0].id.clone()
    };
    // Two-person: you ask, bob confirms.
    for approver in ["you", "bob"] {
        act(
            &simulator,
            approver,
            Verb::Emergency,
            TargetKind::Fleet,
            "fleet",
            Some(&patch),
        );
    }
    simulator.advance(1800);
    let mut app = console_on(&simulator);
    let folded = screen(&mut app, 80, 24);
    let row = folded.lines().nth(2).expect("row 2");
    // Built from the stages the server created; ticked only from the fleet's counts.
    assert!(
        row.contains("checklist 1/5 done; next: no look-alike hosts found"),
        "{folded}"
    );
    assert!(
        folded.lines().nth(3).unwrap().contains("1 Rings"),
        "{folded}"
    );
    press(&mut app, KeyCode::Char('c'));
    let open = screen(&mut app, 80, 24);
    for item in [
        "[ ] no look-alike hosts found: test by hand",
        "[ ] rollback plan ready",
        // Every stage's count at 80 columns (the names come after them).
        "[~] critical first, then the rest: 15/15, 0/14, 0/271 (exposed and",
    ] {
        assert!(open.contains(item), "{item}: {open}");
    }
    assert!(open.contains("c folds"), "{open}");
    assert_snapshot!(
        "emergency_checklist_80x24",
        annotated(&draw(&mut app, 80, 24))
    );
    press(&mut app, KeyCode::Char('c'));
    assert_eq!(screen(&mut app, 80, 24), folded);
    // On a tall terminal it opens unless folded by hand.
    let mut tall = console_on(&simulator);
    assert!(screen(&mut tall, 200, 50).contains("[ ] rollback plan ready"));
}

/// The approve dialog of the servers deployment (awaiting approval for the production
/// servers ring) once the server's plan came, after `before` approved first (if
/// anyone): the two-person step is said first.
fn approve_dialog(before: Option<&str>) -> String {
    let simulator = standard_simulator();
    if let Some(first) = before {
        act(
            &simulator,
            first,
            Verb::Approve,
            TargetKind::Deployment,
            &awaiting(&simulator),
            None,
        );
    }
    let id = awaiting(&simulator);
    let mut app = console_on(&simulator);
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('g'));
    while app
        .selected_key(app.active_list().expect("deployments"))
        .as_deref()
        != Some(id.as_str())
    {
        press(&mut app, KeyCode::Char('j'));
    }
    let effects = press(&mut app, KeyCode::Char('a'));
    let planning = screen(&mut app, 80, 24);
    assert!(planning.contains("planning..."), "{planning}");
    answer_plans(&mut app, &simulator, &effects);
    annotated(&draw(&mut app, 80, 24))
}

fn awaiting(simulator: &patchdeck::sim::Simulator) -> String {
    simulator
        .deployments()
        .items
        .into_iter()
        .find(|d| d.state == patchdeck::model::DeploymentState::AwaitingApproval)
        .expect("a deployment awaits approval")
        .id
}

#[test]
fn approve_dialog_says_where_the_two_person_rule_stands() {
    let first = approve_dialog(None);
    assert!(
        first.contains("Approval: first of two approvals"),
        "{first}"
    );
    assert_snapshot!("approve_first_80x24", first);
    let completes = approve_dialog(Some("alice"));
    assert!(
        completes.contains("Approval: completes the two-person rule"),
        "{completes}"
    );
    assert!(completes.contains("alice approved at"), "{completes}");
    assert_snapshot!("approve_completes_80x24", completes);
    let mine = approve_dialog(Some("you"));
    assert!(mine.contains("Approval: YOU ALREADY APPROVED"), "{mine}");
    assert_snapshot!("approve_already_yours_80x24", mine);
}

// ---------------------------------------------------------------------------------
// Reachable at 80x24: scrolled screens, wrapped values, the lines that announce
// ---------------------------------------------------------------------------------

/// The deployment detail scrolled to its end with G: its last patches and the marker
/// "lines a-b of n" say where the view is.
#[test]
fn deployment_detail_scrolled_to_its_end_80x24() {
    let mut app = focused('2');
    resize(&mut app, 80, 24);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('G'));
    assert!(app.help_scroll > 0, "the detail is taller than 80x24");
    assert_snapshot!(annotated(&draw(&mut app, 80, 24)));
}

/// Help at its end (End): its last line, never a blank page.
#[test]
fn help_at_its_end_80x24() {
    let mut app = console();
    press(&mut app, KeyCode::Char('?'));
    press(&mut app, KeyCode::End);
    let shown = screen(&mut app, 80, 24);
    assert!(shown.contains("States: waiting"), "{shown}");
    assert_snapshot!(annotated(&draw(&mut app, 80, 24)));
}

/// A long reason wraps under the value column of its label, never at column 0.
#[test]
fn a_wrapped_reason_continues_under_its_label_80x24() {
    let mut app = console();
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Enter);
    let Some(Screen::Deployment(id)) = app.screen().cloned() else {
        panic!("Enter opens the deployment, got {:?}", app.screen());
    };
    let mut fleet = app.fleet.clone();
    fleet.deployments.get_mut(&id).expect("it").state_reason = Some(
        "halted by the failure threshold: 5 of 12 hosts failed with 0x800f0922 on \
         Contoso Book 14 G3 while installing KB5032201, above the 10% the gate allows"
            .into(),
    );
    update(&mut app, Msg::Sync(SyncUpdate::Snapshot(Box::new(fleet))));
    let shown = screen(&mut app, 80, 24);
    let why: Vec<&str> = shown
        .lines()
        .skip_while(|l| !l.contains("why"))
        .take(3)
        .collect();
    assert!(why[1].starts_with("│                "), "{shown}");
    assert_snapshot!(annotated(&draw(&mut app, 80, 24)));
}

/// A ring approval awaiting this approver (the first approver is another person) is
/// said on the main screen.
#[test]
fn the_awaited_approver_is_told_on_the_main_screen_80x24() {
    let mut app = console();
    let mut fleet = app.fleet.clone();
    let deployment = fleet
        .deployments
        .values_mut()
        .find(|d| d.next_ring.is_some())
        .expect("a deployment with a next ring");
    let ring = deployment.next_ring.clone().expect("its next ring");
    deployment.pending_approval = Some(patchdeck::model::PendingApproval {
        ring_id: ring,
        first_approver: "alice".into(),
        first_person: "alice".into(),
        at: app.fleet_now(),
        resume: false,
    });
    let effects = update(&mut app, Msg::Sync(SyncUpdate::Snapshot(Box::new(fleet))));
    assert!(
        effects.contains(&patchdeck::app::Effect::Bell),
        "{effects:?}"
    );
    let shown = screen(&mut app, 80, 24);
    assert!(
        shown.contains("alice asks you to approve opening"),
        "{shown}"
    );
    // The way there from where the cursor is (Rings focused, on Test): not just "a".
    assert!(shown.contains("(move to it, press a)"), "{shown}");
    assert_snapshot!(annotated(&draw(&mut app, 80, 24)));
}

#[test]
fn a_message_longer_than_the_footer_is_shown_whole() {
    let mut app = console();
    let long = "the server refused the action: Pilot still has 40% failed (limit 10%): \
                retry, exclude or roll back the failed hosts first, then approve again \
                (HTTP 409, request 7f3a)";
    update(&mut app, Msg::Sync(SyncUpdate::Problem(long.to_string())));
    let shown = screen(&mut app, 80, 24);
    assert!(shown.contains("then approve again"), "{shown}");
    assert!(shown.contains("request 7f3a)"), "{shown}");
    assert_snapshot!("long_message_80x24", shown);
    // Longer than its rows: cut at the last one, marked.
    let endless = "refused: ".repeat(200);
    update(&mut app, Msg::Sync(SyncUpdate::Problem(endless)));
    let shown = screen(&mut app, 80, 24);
    assert!(shown.contains("…"), "{shown}");
}

/// An exploited CVE in the fleet is announced before `E`: which CVE, which KB fixes
/// it, and the key.
#[test]
fn an_exploited_cve_is_announced_on_the_main_screen_80x24() {
    let simulator = simulator(Scenario::ZeroDay, 0);
    let mut app = console_on(&simulator);
    let shown = screen(&mut app, 80, 24);
    assert!(
        shown.contains("exploited: KB") && shown.contains("fixes it — E to start an emergency"),
        "{shown}"
    );
    assert_snapshot!(annotated(&draw(&mut app, 80, 24)));
}

/// The first screen of a big fleet: every list but the hosts, of which only the failed
/// ones; the header says the rest is still being listed and the host list counts only
/// what it has. Then the pages come in and both say the whole fleet.
#[test]
fn the_first_screen_before_every_host_is_listed() {
    use patchdeck::backend::HostsPage;
    let simulator = standard_simulator();
    let whole = fleet_of(&*simulator);
    let mut first = whole.clone();
    first.hosts.retain(|_, h| h.state == HostState::Failed);
    first.listing_hosts = true;
    let failed = first.hosts.len();
    let total = whole.hosts.len();
    let mut app = console_with(first, demo_context(), Role::Approver);
    // Not live before every host is in: the sync says so only after the last page.
    let since = app.now;
    update(
        &mut app,
        Msg::Sync(SyncUpdate::Connection(Connection::Connecting { since })),
    );
    let header_says = |app: &mut App| {
        let shown = screen(app, 80, 24);
        shown.lines().next().unwrap_or_default().to_string()
    };
    let first_line = header_says(&mut app);
    let percent = failed * 100 / total;
    assert!(
        first_line.contains(&format!("listing hosts {percent}%")) && !first_line.contains("LIVE"),
        "{first_line}"
    );
    // The failed hosts are all in; how many are under an exception is not known yet.
    resize(&mut app, 100, 30);
    let main = screen(&mut app, 100, 30);
    assert!(
        main.contains(&format!("3 Failed hosts ({failed})")) && main.contains("6 Exceptions (…)"),
        "{main}"
    );
    resize(&mut app, 80, 24);
    command(&mut app, "hosts");
    assert_eq!(app.host_rows.len(), failed);
    snapshot_both("first_screen_listing_hosts", &mut app);
    let rest: Vec<_> = whole
        .hosts
        .values()
        .filter(|h| h.state != HostState::Failed)
        .cloned()
        .collect();
    let (half, other) = rest.split_at(rest.len() / 2);
    update(
        &mut app,
        Msg::Sync(SyncUpdate::Hosts(Box::new(HostsPage {
            hosts: half.to_vec(),
            listed: failed + half.len(),
            done: false,
        }))),
    );
    let percent = (failed + half.len()) * 100 / total;
    let first_line = header_says(&mut app);
    assert!(
        first_line.contains(&format!("listing hosts {percent}%")),
        "{first_line}"
    );
    update(
        &mut app,
        Msg::Sync(SyncUpdate::Hosts(Box::new(HostsPage {
            hosts: other.to_vec(),
            listed: total,
            done: true,
        }))),
    );
    assert_eq!(app.host_rows.len(), total);
    update(
        &mut app,
        Msg::Sync(SyncUpdate::Connection(Connection::Live { since })),
    );
    let done = screen(&mut app, 80, 24);
    assert!(
        !done.contains("listing") && !done.contains("listed so far"),
        "{done}"
    );
    assert!(app.fleet.same_content(&whole));
}
