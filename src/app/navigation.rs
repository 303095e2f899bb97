//! Moving through lists: each list's rows worked out from the fleet, cursors kept on
//! their rows, screens opened and closed, panes focused, hosts marked, filters typed.

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::exceptions;
use super::lists::{self, Pane};
use super::row_keys::RowKeys;
use super::{App, Effect, ListCursor, ListId, Mode, Screen};
use crate::keys::KeyAction;

impl App {
    /// Rings in the order the console shows them: rollout order, and in an emergency
    /// its stages first.
    pub fn rings_shown(&self) -> Vec<&crate::model::Ring> {
        let mut rings = self.fleet.rings_in_order();
        if let Some(deployment) = self
            .emergency()
            .and_then(|e| self.fleet.deployments.get(&e.deployment_id))
        {
            rings.sort_by_key(|r| !deployment.rings.contains(&r.id));
        }
        rings
    }

    /// Row keys of a list, in order, with its filter applied.
    pub fn row_keys(&self, list: ListId) -> RowKeys<'_> {
        match list {
            ListId::Pane(pane) => RowKeys::Keys(self.pane_keys(pane)),
            ListId::Hosts => RowKeys::Hosts {
                index: &self.host_index,
                rows: &self.host_rows,
            },
        }
    }

    /// A pane's row keys, in order, with its filter applied.
    pub fn pane_keys(&self, pane: Pane) -> &[String] {
        &self.pane_rows[pane.index()]
    }

    /// Work out a pane's rows from the fleet, its filter and what is expanded.
    pub(super) fn compute_pane_rows(&self, pane: Pane) -> Vec<String> {
        let filter = &self.cursor(ListId::Pane(pane)).filter;
        match pane {
            Pane::Rings => self
                .rings_shown()
                .into_iter()
                .filter(|r| lists::ring_matches(r, filter))
                .map(|r| r.id.clone())
                .collect(),
            Pane::Deployments => lists::deployments_in_order(&self.fleet)
                .into_iter()
                .filter(|d| lists::deployment_matches(d, &self.fleet, filter))
                .map(|d| d.id.clone())
                .collect(),
            Pane::Failed => {
                let mut keys = Vec::new();
                for group in self.failure_groups() {
                    let group_matches = lists::matches(filter, &[&group.code, &group.message]);
                    let hosts: Vec<&String> = group
                        .hosts
                        .iter()
                        .filter(|id| {
                            group_matches
                                || self
                                    .fleet
                                    .hosts
                                    .get(id.as_str())
                                    .is_some_and(|h| lists::host_matches(h, filter))
                        })
                        .collect();
                    if hosts.is_empty() {
                        continue;
                    }
                    keys.push(failure_row_key(&group.code, None));
                    if self.expanded.contains(&group.code) {
                        keys.extend(
                            hosts
                                .into_iter()
                                .map(|h| failure_row_key(&group.code, Some(h))),
                        );
                    }
                }
                keys
            }
            Pane::Actions => lists::actions_in_order(&self.fleet)
                .into_iter()
                .filter(|a| lists::action_matches(a, filter))
                .map(|a| a.id.clone())
                .collect(),
            Pane::Compliance => super::compliance::row_keys(self, filter),
            Pane::Exceptions => exceptions::exceptions_in_order(&self.fleet, &self.exception_hosts)
                .into_iter()
                .filter(|h| exceptions::exception_matches(&self.fleet, h, filter))
                .map(|h| h.id.to_string())
                .collect(),
        }
    }

    /// Key of the selected row of a list.
    pub fn selected_key(&self, list: ListId) -> Option<String> {
        let keys = self.row_keys(list);
        keys.get(self.cursor(list).selected.min(keys.len().saturating_sub(1)))
            .map(str::to_string)
    }

    /// Recompute what is derived from the fleet, and keep selections on their rows.
    pub(super) fn fleet_changed(&mut self) {
        // An emergency starting (here or on another console) puts its stages on top:
        // show them from the first, whatever ring was selected.
        let emergency = self.emergency().map(|e| e.deployment_id.clone());
        if emergency.is_some() && emergency != self.emergency_shown {
            self.cursors[Pane::Rings.index()] = ListCursor::default();
        }
        self.emergency_shown = emergency;
        self.recompute_host_rows();
        for pane in Pane::ALL {
            self.reselect(ListId::Pane(pane));
        }
        self.reselect(ListId::Hosts);
        self.dirty = true;
    }

    pub(super) fn recompute_host_rows(&mut self) {
        let Some(Screen::Hosts(filter)) = self
            .screens
            .iter()
            .rev()
            .find(|s| matches!(s, Screen::Hosts(_)))
        else {
            self.host_rows.clear();
            return;
        };
        // By name; failed hosts after, earliest failure first.
        if !self.host_index.fits(&self.fleet) {
            self.host_index = super::host_index::HostIndex::build(&self.fleet);
        }
        self.host_rows = self.host_index.matching(filter, &self.hosts_cursor.filter);
    }

    /// After rows may have changed: work them out again, and find the selected key
    /// again (or clamp).
    pub(super) fn reselect(&mut self, list: ListId) {
        if let ListId::Pane(pane) = list {
            // The Exceptions pane's rows change only with its hosts or its filter.
            let exceptions = (pane == Pane::Exceptions).then(|| {
                (
                    self.exception_hosts.generation(),
                    self.cursor(list).filter.clone(),
                )
            });
            if exceptions.is_none() || exceptions != self.exception_rows_of {
                self.pane_rows[pane.index()] = self.compute_pane_rows(pane);
                if exceptions.is_some() {
                    self.exception_rows_of = exceptions;
                }
            }
        }
        let cursor = self.cursor(list);
        let keys = self.row_keys(list);
        let found = cursor
            .selected_key
            .as_ref()
            .and_then(|key| keys.position(key));
        let selected = found.unwrap_or(cursor.selected.min(keys.len().saturating_sub(1)));
        let key = keys.get(selected).map(str::to_string);
        let cursor = self.cursor_mut(list);
        cursor.selected = selected;
        cursor.selected_key = key;
    }

    pub(super) fn move_cursor(
        &mut self,
        list: ListId,
        to: impl FnOnce(usize, usize, usize) -> usize,
    ) {
        let page = self.page_size(list);
        let current = self.cursor(list).selected;
        let keys = self.row_keys(list);
        let moved = keys.len().checked_sub(1).map(|last| {
            let selected = to(current.min(last), last, page).min(last);
            (selected, keys[selected].to_string())
        });
        let cursor = self.cursor_mut(list);
        match moved {
            None => {
                *cursor = ListCursor {
                    filter: std::mem::take(&mut cursor.filter),
                    ..ListCursor::default()
                };
            }
            Some((selected, key)) => {
                cursor.selected = selected;
                cursor.selected_key = Some(key);
                cursor.offset = visible_offset(cursor.offset, selected, page);
                self.dirty = true;
            }
        }
    }

    pub(super) fn open_screen(&mut self, screen: Screen) {
        if matches!(screen, Screen::Hosts(_)) {
            self.hosts_cursor = ListCursor::default();
        }
        if let Screen::Host(id) = &screen
            && !self.host_details.contains_key(id)
        {
            // The view shows "loading" until the answer arrives.
        }
        self.screens.push(screen);
        // A screen opens at its top.
        self.help_scroll = 0;
        self.recompute_host_rows();
        self.reselect(ListId::Hosts);
        self.dirty = true;
    }

    pub(super) fn close_screen(&mut self) {
        self.screens.pop();
        self.help_scroll = 0;
        self.recompute_host_rows();
        self.reselect(ListId::Hosts);
        self.dirty = true;
    }
}

/// Row key in the Failed pane: a group ("0x800f0922") or one of its hosts.
pub fn failure_row_key(code: &str, host: Option<&str>) -> String {
    match host {
        None => code.to_string(),
        Some(host) => format!("{code}\u{0}{host}"),
    }
}

/// Split a Failed-pane row key into (code, host).
pub fn parse_failure_row_key(key: &str) -> (&str, Option<&str>) {
    match key.split_once('\u{0}') {
        Some((code, host)) => (code, Some(host)),
        None => (key, None),
    }
}

/// First row to show so that `selected` is visible in `height` rows, moving as little
/// as possible from `offset`.
pub fn visible_offset(offset: usize, selected: usize, height: usize) -> usize {
    let height = height.max(1);
    if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    }
}

pub(super) fn focus(app: &mut App, pane: Pane) {
    app.screens.clear();
    // A selection belongs to the list it was made in.
    app.marked.clear();
    let opened = app.focus != pane;
    app.focus = pane;
    if opened && pane == Pane::Actions {
        // The Actions pane opens on the newest action.
        app.move_cursor(ListId::Pane(Pane::Actions), |_, _, _| 0);
    }
    if pane != Pane::Rings {
        app.lower_pane = pane;
    }
    // Looking at the exceptions is seeing the expiries the notice tells of.
    if pane == Pane::Exceptions && app.notice.is_some() && app.notice == app.lapsed_notice {
        app.notice = None;
    }
    app.dirty = true;
}

/// Hosts the selection points at: marked hosts, else the selected host row.
pub fn selected_hosts(app: &App) -> Vec<String> {
    if !app.marked.is_empty() {
        return app.marked.iter().cloned().collect();
    }
    match app.active_list() {
        Some(ListId::Hosts | ListId::Pane(Pane::Exceptions)) => app
            .selected_key(app.active_list().unwrap_or(ListId::Hosts))
            .into_iter()
            .collect(),
        Some(ListId::Pane(Pane::Failed)) => match app.selected_key(ListId::Pane(Pane::Failed)) {
            Some(key) => {
                let (code, host) = parse_failure_row_key(&key);
                match host {
                    Some(host) => vec![host.to_string()],
                    None => app
                        .failure_groups()
                        .iter()
                        .find(|g| g.code == code)
                        .map(|g| g.hosts.clone())
                        .unwrap_or_default(),
                }
            }
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

pub(super) fn on_mark(app: &mut App, action: KeyAction) {
    let list = app.active_list();
    let host_rows: Vec<String> = match list {
        Some(list @ (ListId::Hosts | ListId::Pane(Pane::Exceptions))) => {
            app.row_keys(list).iter().map(str::to_string).collect()
        }
        Some(ListId::Pane(Pane::Failed)) => app
            .pane_keys(Pane::Failed)
            .iter()
            .filter_map(|k| parse_failure_row_key(k).1.map(str::to_string))
            .collect(),
        _ => {
            app.set_flash(
                "select hosts in a host list or an expanded failure group",
                true,
            );
            app.dirty = true;
            return;
        }
    };
    if action == KeyAction::SelectAll {
        if host_rows.iter().all(|h| app.marked.contains(h)) {
            for host in &host_rows {
                app.marked.remove(host);
            }
        } else {
            app.marked.extend(host_rows);
        }
    } else {
        // Space always marks (or unmarks) what the cursor is on, then moves down one
        // row: a host, or on a failure group's row every host of the group.
        let targets: Vec<String> = match list {
            Some(ListId::Pane(Pane::Failed)) => {
                match app.selected_key(ListId::Pane(Pane::Failed)) {
                    Some(key) => match parse_failure_row_key(&key) {
                        (_, Some(host)) => vec![host.to_string()],
                        (code, None) => app
                            .failure_groups()
                            .iter()
                            .find(|g| g.code == code)
                            .map(|g| g.hosts.clone())
                            .unwrap_or_default(),
                    },
                    None => Vec::new(),
                }
            }
            Some(list) => app.selected_key(list).into_iter().collect(),
            None => Vec::new(),
        };
        if targets.iter().all(|h| app.marked.contains(h)) {
            for host in &targets {
                app.marked.remove(host);
            }
        } else {
            app.marked.extend(targets);
        }
        if let Some(list) = list {
            app.move_cursor(list, |at, _, _| at + 1);
        }
    }
    app.dirty = true;
}

pub(super) fn open_selected(app: &mut App) -> Vec<Effect> {
    let Some(list) = app.active_list() else {
        return Vec::new();
    };
    let Some(key) = app.selected_key(list) else {
        return Vec::new();
    };
    match list {
        ListId::Pane(Pane::Rings) => app.open_screen(Screen::Ring(key)),
        ListId::Pane(Pane::Deployments) => app.open_screen(Screen::Deployment(key)),
        ListId::Pane(Pane::Actions) => app.open_screen(Screen::Action(key)),
        ListId::Pane(Pane::Compliance) => return super::compliance::open_row(app, &key),
        ListId::Pane(Pane::Exceptions) => return open_host(app, key),
        ListId::Pane(Pane::Failed) => {
            let (code, host) = parse_failure_row_key(&key);
            match host {
                Some(host) => return open_host(app, host.to_string()),
                None => {
                    let code = code.to_string();
                    if !app.expanded.remove(&code) {
                        app.expanded.insert(code);
                    }
                    app.reselect(list);
                    app.dirty = true;
                }
            }
        }
        ListId::Hosts => return open_host(app, key),
    }
    Vec::new()
}

pub(super) fn open_host(app: &mut App, id: String) -> Vec<Effect> {
    app.open_screen(Screen::Host(id.clone()));
    vec![Effect::FetchHost(id)]
}

pub(super) fn on_filter_key(app: &mut App, mut input: Input, event: KeyEvent) -> Vec<Effect> {
    let Some(list) = app.active_list() else {
        return Vec::new();
    };
    match event.code {
        KeyCode::Esc => {
            app.cursor_mut(list).filter.clear();
        }
        KeyCode::Enter => {}
        _ => {
            input.handle_event(&crossterm::event::Event::Key(event));
            app.cursor_mut(list).filter = input.value().to_string();
            app.mode = Mode::Filter(input);
        }
    }
    app.recompute_host_rows();
    let cursor = app.cursor_mut(list);
    cursor.selected = 0;
    cursor.offset = 0;
    cursor.selected_key = None;
    app.reselect(list);
    app.dirty = true;
    Vec::new()
}
