//! `update(state, msg) -> effects`: one message applied to the state. Sync updates
//! change the fleet, keys go to the dialog, the input line or the bound action.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;

use super::lists::Pane;
use super::navigation::{focus, on_filter_key, on_mark, open_selected};
use super::{App, Dialog, Effect, Mode, Msg, Screen, command, confirm, outcome, viewport, wizard};
use crate::backend::{GatewayHealth, SyncUpdate};
use crate::keys::{Key, KeyAction};

/// Apply one message. Returns the effects to run.
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Tick(now) => {
            app.now = now;
            if let Some(flash) = &app.flash
                && now - flash.at > Duration::seconds(8)
            {
                app.flash = None;
                app.dirty = true;
            }
            let marks = viewport::time_marks(app);
            if marks != app.time_marks {
                app.time_marks = marks;
                app.dirty = true;
            }
            let mut effects = super::notices::on_tick(app);
            effects.extend(super::compliance::due(app));
            effects
        }
        Msg::Resize { width, height } => {
            app.width = width;
            app.height = height;
            app.dirty = true;
            Vec::new()
        }
        Msg::Sync(update) => {
            let noticed = super::notices::on_sync(app, &update);
            apply_sync(app, update);
            let mut effects = super::records::final_records(app);
            let awaited = super::awaited::bell(app);
            // A request awaiting this console that is also a notice rings once.
            if noticed > 0 {
                effects.extend(super::notices::bells(app, noticed));
            } else if app.bell {
                effects.extend(awaited);
            }
            effects
        }
        Msg::HostDetail { id, result } => {
            app.host_details.insert(id, *result);
            app.dirty = true;
            Vec::new()
        }
        Msg::Planned { id, plans } => {
            super::plan::server::on_planned(app, &id, plans);
            Vec::new()
        }
        Msg::Compliance(answer) => {
            super::compliance::on_answer(app, answer);
            Vec::new()
        }
        Msg::ActionDone {
            idempotency_key,
            outcome,
        } => outcome::on_action_done(app, idempotency_key, outcome),
        Msg::Key(key) => on_key(app, key),
        Msg::Mouse(event) => super::mouse::on_mouse(app, event),
    }
}

/// The failure groups and the hosts under an exception follow the hosts `ids` that
/// changed (work in proportion to the change, not the fleet).
fn groups_follow(app: &mut App, ids: &[String]) {
    app.failures
        .update(&app.fleet, ids.iter().map(String::as_str));
    app.exception_hosts
        .update(&app.fleet, ids.iter().map(String::as_str));
}

fn apply_sync(app: &mut App, update: SyncUpdate) {
    match update {
        SyncUpdate::Identity(identity) => {
            app.identity = Some(identity);
            app.dirty = true;
        }
        SyncUpdate::Connection(connection) => {
            app.connection = connection;
            app.dirty = true;
        }
        SyncUpdate::Snapshot(fleet) => {
            if app.synced
                && let Some(words) = super::link::restart_words(&app.fleet, app.fleet_now(), &fleet)
            {
                app.problems.push(words.clone());
                app.notice = Some(words);
            }
            app.fleet = *fleet;
            app.host_index = super::host_index::HostIndex::build(&app.fleet);
            app.failures.rebuild(&app.fleet);
            app.exception_hosts.rebuild(&app.fleet);
            app.synced = true;
            if let Some(summary) = &app.fleet.summary {
                app.fleet_clock = (app.now, summary.now, summary.clock_speed);
            }
            app.fleet_changed();
        }
        SyncUpdate::Hosts(page) => {
            let done = page.done;
            let ids = page.merge_into(&mut app.fleet);
            if done {
                // Every host in: the index in name order again, built once.
                app.host_index = super::host_index::HostIndex::build(&app.fleet);
            } else {
                app.host_index
                    .append(&app.fleet, ids.iter().map(String::as_str));
            }
            groups_follow(app, &ids);
            app.fleet_changed();
        }
        SyncUpdate::Events(events) => {
            let mut changed = false;
            let mut last_at = None;
            let mut hosts = Vec::new();
            let mut lapsed = 0;
            for event in events {
                last_at = Some(event.at);
                if let crate::model::Change::Host(host) = &event.change {
                    hosts.push(host.id.to_string());
                    lapsed += usize::from(super::exceptions::lapsed_now(
                        app.fleet.hosts.get(&host.id),
                        host,
                    ));
                }
                changed |= app.fleet.apply(event);
            }
            app.exceptions_lapsed(lapsed);
            app.host_index
                .update(&app.fleet, hosts.iter().map(String::as_str));
            groups_follow(app, &hosts);
            if let Some(at) = last_at {
                let speed = app.fleet.summary.as_ref().map_or(1.0, |s| s.clock_speed);
                if at > app.fleet_now() || speed == 0.0 {
                    app.fleet_clock = (app.now, at, speed);
                }
            }
            if changed {
                app.fleet_changed();
            }
        }
        SyncUpdate::Gateway(health) => {
            if health != GatewayHealth::Ok || app.gateway.is_some() {
                app.set_flash(
                    match health {
                        GatewayHealth::Degraded => {
                            "gateway DEGRADED: its store refuses writes; reads work, actions are refused until it recovers"
                        }
                        GatewayHealth::Ok => "gateway recovered: its store takes writes again",
                    },
                    health == GatewayHealth::Degraded,
                );
            }
            app.gateway = Some(health);
            app.dirty = true;
        }
        SyncUpdate::Problem(problem) => {
            app.problems.push(problem.clone());
            if app.problems.len() > 20 {
                app.problems.remove(0);
            }
            app.set_flash(problem, true);
            app.dirty = true;
        }
    }
}

fn on_key(app: &mut App, event: KeyEvent) -> Vec<Effect> {
    let had_dialog = app.dialog.is_some();
    let effects = on_key_here(app, event);
    if app.dialog.is_some() != had_dialog {
        // A dialog opens at its top.
        app.dialog_scroll = 0;
    }
    effects
}

fn on_key_here(app: &mut App, event: KeyEvent) -> Vec<Effect> {
    // Ctrl-C quits from anywhere, whatever the mode.
    if event.code == KeyCode::Char('c') && event.modifiers.contains(KeyModifiers::CONTROL) {
        if let Some(Dialog::Quit { .. }) = app.dialog.take() {
            return super::records::on_quit_key(app, event);
        }
        return super::records::quit(app);
    }
    if event.code == KeyCode::Char('z') && event.modifiers.contains(KeyModifiers::CONTROL) {
        app.dirty = true;
        return vec![Effect::Suspend];
    }
    if app.dialog.is_some() && matches!(event.code, KeyCode::PageDown | KeyCode::PageUp) {
        // A dialog taller than the terminal scrolls by pages; its fields keep
        // every other key.
        let max = viewport::scroll_max(app);
        let page = viewport::screen_area(app).height.saturating_sub(3).max(1);
        let at = app.dialog_scroll.min(max);
        app.dialog_scroll = match event.code {
            KeyCode::PageDown => at.saturating_add(page).min(max),
            _ => at.saturating_sub(page),
        };
        app.dirty = true;
        return Vec::new();
    }
    if let Some(dialog) = app.dialog.take() {
        app.dirty = true;
        return on_dialog_key(app, dialog, event);
    }
    match std::mem::take(&mut app.mode) {
        Mode::Normal => {}
        Mode::Filter(input) => return on_filter_key(app, input, event),
        Mode::Command(input) => return command::on_command_key(app, input, event),
    }
    let key = Key::from_event(event);
    let Some(action) = app.keymap.action(key) else {
        return Vec::new();
    };
    if app.screen() == Some(&Screen::Help) {
        return on_help_key(app, action);
    }
    if app.screen().is_some() && app.active_list().is_none() && on_scroll_key(app, action) {
        // A detail screen scrolls with the list keys.
        return Vec::new();
    }
    on_action(app, action)
}

fn on_help_key(app: &mut App, action: KeyAction) -> Vec<Effect> {
    match action {
        KeyAction::Back | KeyAction::Help => app.close_screen(),
        KeyAction::Quit => return super::records::quit(app),
        KeyAction::Mouse => return super::mouse::toggle(app),
        _ => {
            on_scroll_key(app, action);
        }
    }
    app.dirty = true;
    Vec::new()
}

/// j/k, PgDn/PgUp, g/G on the help or a detail screen: scroll it, never past its end.
fn on_scroll_key(app: &mut App, action: KeyAction) -> bool {
    let max = viewport::scroll_max(app);
    let at = app.help_scroll.min(max);
    app.help_scroll = match action {
        KeyAction::Down => at.saturating_add(1).min(max),
        KeyAction::Up => at.saturating_sub(1),
        KeyAction::PageDown => at.saturating_add(10).min(max),
        KeyAction::PageUp => at.saturating_sub(10),
        KeyAction::Top => 0,
        KeyAction::Bottom => max,
        _ => return false,
    };
    app.dirty = true;
    true
}

fn on_action(app: &mut App, action: KeyAction) -> Vec<Effect> {
    let list = app.active_list();
    match action {
        KeyAction::Quit => return super::records::quit(app),
        KeyAction::Mouse => return super::mouse::toggle(app),
        KeyAction::NextPane => focus(app, app.focus.next()),
        KeyAction::PrevPane => focus(app, app.focus.prev()),
        KeyAction::RingsPane => focus(app, Pane::Rings),
        KeyAction::DeploymentsPane => focus(app, Pane::Deployments),
        KeyAction::FailedPane => focus(app, Pane::Failed),
        KeyAction::ActionsPane => focus(app, Pane::Actions),
        KeyAction::CompliancePane => focus(app, Pane::Compliance),
        KeyAction::ExceptionsPane => focus(app, Pane::Exceptions),
        KeyAction::Down => {
            if let Some(list) = list {
                app.move_cursor(list, |at, _, _| at + 1);
            }
        }
        KeyAction::Up => {
            if let Some(list) = list {
                app.move_cursor(list, |at, _, _| at.saturating_sub(1));
            }
        }
        KeyAction::Top => {
            if let Some(list) = list {
                app.move_cursor(list, |_, _, _| 0);
            }
        }
        KeyAction::Bottom => {
            if let Some(list) = list {
                app.move_cursor(list, |_, last, _| last);
            }
        }
        KeyAction::PageDown => {
            if let Some(list) = list {
                app.move_cursor(list, |at, _, page| at + page);
            }
        }
        KeyAction::PageUp => {
            if let Some(list) = list {
                app.move_cursor(list, |at, _, page| at.saturating_sub(page));
            }
        }
        KeyAction::Open => return open_selected(app),
        KeyAction::Back => {
            if app.notice.take().is_some() {
                // Esc first dismisses a notice the operator has now read.
            } else if !app.marked.is_empty() {
                // Esc first lets go of the selection, so it never acts later elsewhere.
                app.set_flash(format!("{} selected hosts let go", app.marked.len()), false);
                app.marked.clear();
            } else if app.screen().is_some() {
                app.close_screen();
            } else if app.zoomed {
                app.zoomed = false;
            } else if let Some(list) = list
                && !app.cursor(list).filter.is_empty()
            {
                app.cursor_mut(list).filter.clear();
                app.recompute_host_rows();
                app.reselect(list);
            }
            app.dirty = true;
        }
        KeyAction::Filter => {
            if let Some(list) = list {
                app.mode = Mode::Filter(Input::new(app.cursor(list).filter.clone()));
                app.dirty = true;
            }
        }
        KeyAction::Command => {
            app.mode = Mode::Command(Input::default());
            app.dirty = true;
        }
        KeyAction::Help => {
            app.open_screen(Screen::Help);
        }
        KeyAction::Zoom => {
            app.zoomed = !app.zoomed;
            app.dirty = true;
        }
        KeyAction::Checklist => {
            if app.emergency().is_some() {
                app.checklist_folded = Some(!app.checklist_is_folded());
            } else {
                app.set_flash("no emergency: there is no checklist to fold", false);
            }
            app.dirty = true;
        }
        KeyAction::Select | KeyAction::SelectAll => {
            on_mark(app, action);
        }
        KeyAction::Approve
        | KeyAction::Decline
        | KeyAction::PauseResume
        | KeyAction::Halt
        | KeyAction::Retry
        | KeyAction::Exclude
        | KeyAction::Renew
        | KeyAction::Revoke
        | KeyAction::Rollback
        | KeyAction::Emergency => return confirm::on_fleet_action(app, action),
    }
    Vec::new()
}

fn on_dialog_key(app: &mut App, dialog: Dialog, event: KeyEvent) -> Vec<Effect> {
    match dialog {
        Dialog::Confirm(dialog) => confirm::on_confirm_key(app, *dialog, event),
        Dialog::Emergency(dialog) => wizard::on_wizard_key(app, dialog, event),
        Dialog::LeaveEmergency { cve, input } => wizard::on_leave_key(app, cve, input, event),
        Dialog::Quit { .. } => super::records::on_quit_key(app, event),
    }
}
