//! App state, messages and the pure `update(state, msg) -> effects`. No I/O, no drawing.
//!
//! Terminal keys, sync updates from the API client, timer ticks and the results of
//! effects all arrive as `Msg`s on one channel; `update` changes the state and returns
//! `Effect`s that the runner (src/console.rs) executes.

pub mod dialog;
pub mod failures;
pub mod keymap;
pub mod lists;
pub mod outcome;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::audit::AuditRecord;
use crate::backend::{ActionCall, Connection, Outcome, SyncUpdate};
use crate::model::{Emergency, Fleet, Host, HostState, Identity, TargetKind, Verb};
use dialog::{ConfirmDialog, Field, PlannedAction, Resend, Stage};
use failures::{FailureGroup, FailureIndex};
use keymap::{Key, KeyAction, Keymap};
use lists::{HostFilter, Pane};

/// Where the console is connected.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub name: String,
    pub api_url: String,
    /// Running on the built-in simulator.
    pub demo: bool,
    pub read_only: bool,
}

/// What arrives on the app's channel.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// Wall-clock tick (a few times a second).
    Tick(DateTime<Utc>),
    Sync(SyncUpdate),
    /// Answer to `Effect::FetchHost`.
    HostDetail {
        id: String,
        result: Box<Result<Host, String>>,
    },
    /// Answer to `Effect::Act`.
    ActionDone {
        idempotency_key: String,
        outcome: Outcome,
    },
}

/// What the runner must do for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Ctrl-Z: hand the terminal back and stop until resumed.
    Suspend,
    /// `:context NAME`: connect to another context of the config.
    SwitchContext(String),
    /// Load one host with its history (`GET /v1/hosts/{id}`).
    FetchHost(String),
    /// Send an action to the API.
    Act(ActionCall),
    /// Append to the local audit log.
    Audit(Box<AuditRecord>),
}

/// A screen pushed over the main panes.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Ring(String),
    Deployment(String),
    Host(String),
    Action(String),
    /// A host list (`:hosts failed`, a failure group opened, a ring's hosts).
    Hosts(HostFilter),
    Help,
}

/// A dialog over everything else; keys go to it first.
#[derive(Debug, Clone)]
pub enum Dialog {
    Confirm(Box<ConfirmDialog>),
    Emergency(EmergencyWizard),
    /// Leaving emergency mode: type the CVE.
    LeaveEmergency {
        cve: String,
        input: Input,
    },
}

/// The steps of `E` before the confirmation: pick the patch, see the order of targets,
/// confirm the rollback plan. Then reason, ticket and the CVE typed to confirm.
#[derive(Debug, Clone, PartialEq)]
pub struct EmergencyWizard {
    pub step: WizardStep,
    pub selected: usize,
    pub rollback_plan_ready: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WizardStep {
    Patch,
    Targets,
    RollbackPlan,
}

/// An action sent and not yet answered, for the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct SentAction {
    pub call: ActionCall,
    pub target_name: String,
    /// Context and API it was sent to (the operator may switch context meanwhile).
    pub context: String,
    pub api_url: String,
    /// "alice (approver)" as the console knew itself when sending.
    pub identity: String,
}

/// Input mode of the bottom line.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    #[default]
    Normal,
    /// `/`: filter the focused list as you type.
    Filter(Input),
    /// `:`: a command with completion.
    Command(Input),
}

/// Cursor of one list. The view keeps the selected row visible.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListCursor {
    pub selected: usize,
    pub offset: usize,
    /// Key of the selected row, to keep it selected while rows move.
    pub selected_key: Option<String>,
    pub filter: String,
}

/// Which list a cursor moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListId {
    Pane(Pane),
    Hosts,
}

/// A short message at the bottom (result of a command, an error).
#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    pub text: String,
    pub error: bool,
    pub at: DateTime<Utc>,
}

/// Everything the console shows and remembers.
#[derive(Debug, Clone)]
pub struct App {
    pub context: Context,
    pub keymap: Keymap,
    pub fleet: Fleet,
    /// Has a snapshot arrived yet.
    pub synced: bool,
    pub connection: Connection,
    pub identity: Option<Identity>,
    /// Wall clock, from the last tick.
    pub now: DateTime<Utc>,
    /// Fleet clock at `fleet_clock_at` (wall) and its speed.
    fleet_clock: (DateTime<Utc>, DateTime<Utc>, f64),
    pub width: u16,
    pub height: u16,
    pub focus: Pane,
    /// The pane shown under Rings on small terminals.
    pub lower_pane: Pane,
    pub zoomed: bool,
    pub cursors: [ListCursor; 4],
    pub hosts_cursor: ListCursor,
    pub screens: Vec<Screen>,
    pub mode: Mode,
    /// Error codes whose hosts are shown under the group.
    pub expanded: BTreeSet<String>,
    /// Hosts marked with Space.
    pub marked: BTreeSet<String>,
    /// Hosts loaded with their history, by id.
    pub host_details: std::collections::BTreeMap<String, Result<Host, String>>,
    pub flash: Option<Flash>,
    /// Problems reported by the sync (malformed data...), newest last.
    pub problems: Vec<String>,
    pub help_scroll: u16,
    // Derived from the fleet, recomputed when it changes.
    /// Failed hosts grouped by error code, kept current from the hosts that change.
    pub failures: FailureIndex,
    /// Row keys of each pane, in order, filtered: recomputed when rows may change
    /// (`reselect`), read by every frame without copying.
    pane_rows: [Vec<String>; 4],
    pub host_rows: Vec<String>,
    /// Lower-cased searchable text of every host, kept current with the fleet.
    pub host_search: lists::HostSearch,
    /// Something changed since the last draw.
    pub dirty: bool,
    /// What the time-dependent parts of the screen said at the last draw.
    time_marks: String,
    pub dialog: Option<Dialog>,
    /// Prefix of idempotency keys, unique per console session.
    pub session: String,
    next_key: u64,
    /// Requests sent and not answered, by idempotency key.
    pub sent: BTreeMap<String, SentAction>,
    /// The emergency (deployment id) the operator deliberately left.
    pub emergency_left: Option<String>,
    /// Names of the config's contexts, for `:context`.
    pub contexts: Vec<String>,
    /// The emergency whose stages the Rings pane last showed on top.
    emergency_shown: Option<String>,
}

/// Terminal size the console needs.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// After this long without a live stream, data is called stale rather than reconnecting.
pub const STALE_AFTER_SECS: i64 = 30;

impl App {
    pub fn new(context: Context, keymap: Keymap, now: DateTime<Utc>) -> App {
        App {
            context,
            keymap,
            fleet: Fleet::default(),
            synced: false,
            connection: Connection::Connecting { since: now },
            identity: None,
            now,
            fleet_clock: (now, now, 0.0),
            width: MIN_WIDTH,
            height: MIN_HEIGHT,
            focus: Pane::Rings,
            lower_pane: Pane::Failed,
            zoomed: false,
            cursors: Default::default(),
            hosts_cursor: ListCursor::default(),
            screens: Vec::new(),
            mode: Mode::Normal,
            expanded: BTreeSet::new(),
            marked: BTreeSet::new(),
            host_details: Default::default(),
            flash: None,
            problems: Vec::new(),
            help_scroll: 0,
            failures: FailureIndex::default(),
            pane_rows: Default::default(),
            host_rows: Vec::new(),
            host_search: lists::HostSearch::default(),
            dirty: true,
            time_marks: String::new(),
            dialog: None,
            session: "console".into(),
            next_key: 0,
            sent: BTreeMap::new(),
            emergency_left: None,
            contexts: Vec::new(),
            emergency_shown: None,
        }
    }

    /// Start over on another context: nothing of the old fleet is kept on screen.
    pub fn switch_context(&mut self, context: Context) {
        let mut fresh = App::new(context, self.keymap.clone(), self.now);
        fresh.session = self.session.clone();
        fresh.next_key = self.next_key;
        fresh.contexts = std::mem::take(&mut self.contexts);
        // Answers to actions sent from the old context still reach the audit log.
        fresh.sent = std::mem::take(&mut self.sent);
        fresh.identity = None;
        fresh.width = self.width;
        fresh.height = self.height;
        fresh.set_flash(format!("switched to context {}", fresh.context.name), false);
        *self = fresh;
    }

    /// A fresh idempotency key.
    fn new_key(&mut self) -> String {
        self.next_key += 1;
        format!("{}-{}", self.session, self.next_key)
    }

    /// The emergency the console shows as on (unless the operator left it).
    pub fn emergency(&self) -> Option<&Emergency> {
        self.fleet
            .summary
            .as_ref()
            .and_then(|s| s.emergency.as_ref())
            .filter(|e| self.emergency_left.as_deref() != Some(e.deployment_id.as_str()))
    }

    /// Can the operator use this key here? Err says why not.
    pub fn availability(&self, action: KeyAction) -> Result<(), String> {
        let Some(verb) = verb_of(action, self) else {
            return Ok(());
        };
        dialog::role_check(
            verb,
            self.target_kind_here(verb),
            self.identity.as_ref().map(|i| i.role),
            self.context.read_only,
        )
    }

    /// The kind of thing an action acts on from where the operator is.
    fn target_kind_here(&self, verb: Verb) -> TargetKind {
        if verb == Verb::Emergency {
            return TargetKind::Fleet;
        }
        match self.screen() {
            Some(Screen::Deployment(_)) => TargetKind::Deployment,
            Some(Screen::Ring(_)) => TargetKind::Ring,
            Some(Screen::Host(_) | Screen::Hosts(_)) => TargetKind::Host,
            _ => match self.focus {
                Pane::Rings => TargetKind::Ring,
                Pane::Deployments | Pane::Actions => TargetKind::Deployment,
                Pane::Failed => TargetKind::Host,
            },
        }
    }

    /// The fleet's clock now (the simulator's clock may run faster than real time).
    pub fn fleet_now(&self) -> DateTime<Utc> {
        let (wall, fleet, speed) = self.fleet_clock;
        let elapsed_ms = (self.now - wall).num_milliseconds().max(0) as f64;
        fleet + Duration::milliseconds((elapsed_ms * speed) as i64)
    }

    /// Is the data on screen current?
    pub fn is_live(&self) -> bool {
        matches!(self.connection, Connection::Live { .. })
    }

    /// Seconds since the data stopped being live, if it has.
    pub fn stale_for(&self) -> Option<Duration> {
        match &self.connection {
            Connection::Live { .. } => None,
            Connection::Connecting { since } | Connection::Reconnecting { since, .. } => {
                Some(self.now - *since)
            }
        }
    }

    pub fn too_small(&self) -> bool {
        self.width < MIN_WIDTH || self.height < MIN_HEIGHT
    }

    pub fn screen(&self) -> Option<&Screen> {
        self.screens.last()
    }

    pub fn cursor(&self, list: ListId) -> &ListCursor {
        match list {
            ListId::Pane(pane) => &self.cursors[pane.index()],
            ListId::Hosts => &self.hosts_cursor,
        }
    }

    fn cursor_mut(&mut self, list: ListId) -> &mut ListCursor {
        match list {
            ListId::Pane(pane) => &mut self.cursors[pane.index()],
            ListId::Hosts => &mut self.hosts_cursor,
        }
    }

    /// The list that keys move now.
    pub fn active_list(&self) -> Option<ListId> {
        match self.screen() {
            None => Some(ListId::Pane(self.focus)),
            Some(Screen::Hosts(_)) => Some(ListId::Hosts),
            Some(_) => None,
        }
    }

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

    /// Failed hosts by error code, biggest group first.
    pub fn failure_groups(&self) -> &[FailureGroup] {
        self.failures.groups()
    }

    /// Row keys of a list, in order, with its filter applied.
    pub fn row_keys(&self, list: ListId) -> &[String] {
        match list {
            ListId::Pane(pane) => &self.pane_rows[pane.index()],
            ListId::Hosts => &self.host_rows,
        }
    }

    /// Work out a pane's rows from the fleet, its filter and what is expanded.
    fn compute_pane_rows(&self, pane: Pane) -> Vec<String> {
        let list = ListId::Pane(pane);
        let filter = &self.cursor(list).filter;
        match list {
            ListId::Pane(Pane::Rings) => self
                .rings_shown()
                .into_iter()
                .filter(|r| lists::ring_matches(r, filter))
                .map(|r| r.id.clone())
                .collect(),
            ListId::Pane(Pane::Deployments) => lists::deployments_in_order(&self.fleet)
                .into_iter()
                .filter(|d| lists::deployment_matches(d, &self.fleet, filter))
                .map(|d| d.id.clone())
                .collect(),
            ListId::Pane(Pane::Failed) => {
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
                                    .get(*id)
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
            ListId::Pane(Pane::Actions) => lists::actions_in_order(&self.fleet)
                .into_iter()
                .filter(|a| lists::action_matches(a, filter))
                .map(|a| a.id.clone())
                .collect(),
            ListId::Hosts => unreachable!("host rows are kept in host_rows"),
        }
    }

    /// Key of the selected row of a list.
    pub fn selected_key(&self, list: ListId) -> Option<String> {
        let keys = self.row_keys(list);
        keys.get(self.cursor(list).selected.min(keys.len().saturating_sub(1)))
            .cloned()
    }

    /// Rows a list can show at once, from the layout of the current terminal size.
    pub fn page_size(&self, list: ListId) -> usize {
        let rows = match list {
            ListId::Hosts => self.height.saturating_sub(6),
            ListId::Pane(pane) => crate::ui::layout::list_height(self, pane),
        };
        usize::from(rows.max(1))
    }

    fn set_flash(&mut self, text: impl Into<String>, error: bool) {
        self.flash = Some(Flash {
            text: text.into(),
            error,
            at: self.now,
        });
    }

    /// Recompute what is derived from the fleet, and keep selections on their rows.
    fn fleet_changed(&mut self) {
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

    fn recompute_host_rows(&mut self) {
        let Some(Screen::Hosts(filter)) = self
            .screens
            .iter()
            .rev()
            .find(|s| matches!(s, Screen::Hosts(_)))
        else {
            self.host_rows.clear();
            return;
        };
        // Failed hosts: earliest failure first; otherwise by name.
        let mut hosts: Vec<(Option<DateTime<Utc>>, &str, &str)> = self
            .host_search
            .matching(&self.fleet, filter, &self.hosts_cursor.filter)
            .into_iter()
            .map(|h| {
                (
                    h.failure.as_ref().map(|f| f.at),
                    h.name.as_str(),
                    h.id.as_str(),
                )
            })
            .collect();
        hosts.sort_unstable();
        self.host_rows = hosts.into_iter().map(|(_, _, id)| id.to_string()).collect();
    }

    /// After rows may have changed: work them out again, and find the selected key
    /// again (or clamp).
    fn reselect(&mut self, list: ListId) {
        if let ListId::Pane(pane) = list {
            self.pane_rows[pane.index()] = self.compute_pane_rows(pane);
        }
        let cursor = self.cursor(list);
        let keys = self.row_keys(list);
        let found = cursor
            .selected_key
            .as_ref()
            .and_then(|key| keys.iter().position(|k| k == key));
        let selected = found.unwrap_or(cursor.selected.min(keys.len().saturating_sub(1)));
        let key = keys.get(selected).cloned();
        let cursor = self.cursor_mut(list);
        cursor.selected = selected;
        cursor.selected_key = key;
    }

    fn move_cursor(&mut self, list: ListId, to: impl FnOnce(usize, usize, usize) -> usize) {
        let page = self.page_size(list);
        let current = self.cursor(list).selected;
        let keys = self.row_keys(list);
        let moved = keys.len().checked_sub(1).map(|last| {
            let selected = to(current.min(last), last, page).min(last);
            (selected, keys[selected].clone())
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

    fn open_screen(&mut self, screen: Screen) {
        if matches!(screen, Screen::Hosts(_)) {
            self.hosts_cursor = ListCursor::default();
        }
        if let Screen::Host(id) = &screen
            && !self.host_details.contains_key(id)
        {
            // The view shows "loading" until the answer arrives.
        }
        self.screens.push(screen);
        self.recompute_host_rows();
        self.reselect(ListId::Hosts);
        self.dirty = true;
    }

    fn close_screen(&mut self) {
        self.screens.pop();
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

/// The commands of `:` mode, for completion and help.
pub const COMMANDS: [(&str, &str); 10] = [
    (
        "hosts",
        "hosts [STATE] [RING] [ERROR-CODE]: list hosts, e.g. :hosts failed pilot",
    ),
    ("ring", "ring NAME: open a ring, e.g. :ring pilot"),
    ("deployment", "deployment NAME: open a deployment"),
    ("rings", "rings: focus the Rings pane"),
    ("deployments", "deployments: focus the Deployments pane"),
    ("failed", "failed: focus the Failed hosts pane"),
    ("actions", "actions: focus the Actions pane"),
    (
        "context",
        "context NAME: switch to another context of the config",
    ),
    ("help", "help: list every key and command"),
    ("quit", "quit: leave patchdeck"),
];

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
            let marks = crate::ui::time_marks(app);
            if marks != app.time_marks {
                app.time_marks = marks;
                app.dirty = true;
            }
            Vec::new()
        }
        Msg::Resize { width, height } => {
            app.width = width;
            app.height = height;
            app.dirty = true;
            Vec::new()
        }
        Msg::Sync(update) => {
            apply_sync(app, update);
            Vec::new()
        }
        Msg::HostDetail { id, result } => {
            app.host_details.insert(id, *result);
            app.dirty = true;
            Vec::new()
        }
        Msg::ActionDone {
            idempotency_key,
            outcome,
        } => outcome::on_action_done(app, idempotency_key, outcome),
        Msg::Key(key) => on_key(app, key),
    }
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
            app.fleet = *fleet;
            app.host_search.rebuild(&app.fleet);
            app.failures.rebuild(&app.fleet);
            app.synced = true;
            if let Some(summary) = &app.fleet.summary {
                app.fleet_clock = (app.now, summary.now, summary.clock_speed);
            }
            app.fleet_changed();
        }
        SyncUpdate::Events(events) => {
            let mut changed = false;
            let mut last_at = None;
            let mut hosts = Vec::new();
            for event in events {
                last_at = Some(event.at);
                if let crate::model::Change::Host(host) = &event.change {
                    hosts.push(host.id.clone());
                }
                changed |= app.fleet.apply(event);
            }
            app.host_search
                .update(&app.fleet, hosts.iter().map(String::as_str));
            app.failures
                .update(&app.fleet, hosts.iter().map(String::as_str));
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
    // Ctrl-C quits from anywhere, whatever the mode.
    if event.code == KeyCode::Char('c') && event.modifiers.contains(KeyModifiers::CONTROL) {
        return vec![Effect::Quit];
    }
    if event.code == KeyCode::Char('z') && event.modifiers.contains(KeyModifiers::CONTROL) {
        app.dirty = true;
        return vec![Effect::Suspend];
    }
    if let Some(dialog) = app.dialog.take() {
        app.dirty = true;
        return on_dialog_key(app, dialog, event);
    }
    match std::mem::take(&mut app.mode) {
        Mode::Normal => {}
        Mode::Filter(input) => return on_filter_key(app, input, event),
        Mode::Command(input) => return on_command_key(app, input, event),
    }
    let key = Key::from_event(event);
    let Some(action) = app.keymap.action(key) else {
        return Vec::new();
    };
    if app.screen() == Some(&Screen::Help) {
        return on_help_key(app, action);
    }
    on_action(app, action)
}

fn on_help_key(app: &mut App, action: KeyAction) -> Vec<Effect> {
    match action {
        KeyAction::Back | KeyAction::Help => app.close_screen(),
        KeyAction::Quit => return vec![Effect::Quit],
        KeyAction::Down => app.help_scroll = app.help_scroll.saturating_add(1),
        KeyAction::Up => app.help_scroll = app.help_scroll.saturating_sub(1),
        KeyAction::PageDown => app.help_scroll = app.help_scroll.saturating_add(10),
        KeyAction::PageUp => app.help_scroll = app.help_scroll.saturating_sub(10),
        KeyAction::Top => app.help_scroll = 0,
        _ => return Vec::new(),
    }
    app.dirty = true;
    Vec::new()
}

fn on_action(app: &mut App, action: KeyAction) -> Vec<Effect> {
    let list = app.active_list();
    match action {
        KeyAction::Quit => return vec![Effect::Quit],
        KeyAction::NextPane => focus(app, app.focus.next()),
        KeyAction::PrevPane => focus(app, app.focus.prev()),
        KeyAction::RingsPane => focus(app, Pane::Rings),
        KeyAction::DeploymentsPane => focus(app, Pane::Deployments),
        KeyAction::FailedPane => focus(app, Pane::Failed),
        KeyAction::ActionsPane => focus(app, Pane::Actions),
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
            if !app.marked.is_empty() {
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
            app.help_scroll = 0;
            app.open_screen(Screen::Help);
        }
        KeyAction::Zoom => {
            app.zoomed = !app.zoomed;
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
        | KeyAction::Rollback
        | KeyAction::Emergency => return on_fleet_action(app, action),
    }
    Vec::new()
}

fn focus(app: &mut App, pane: Pane) {
    app.screens.clear();
    // A selection belongs to the list it was made in.
    app.marked.clear();
    app.focus = pane;
    if pane != Pane::Rings {
        app.lower_pane = pane;
    }
    app.dirty = true;
}

/// Hosts the selection points at: marked hosts, else the selected host row.
pub fn selected_hosts(app: &App) -> Vec<String> {
    if !app.marked.is_empty() {
        return app.marked.iter().cloned().collect();
    }
    match app.active_list() {
        Some(ListId::Hosts) => app.selected_key(ListId::Hosts).into_iter().collect(),
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

fn on_mark(app: &mut App, action: KeyAction) {
    let list = app.active_list();
    let host_rows: Vec<String> = match list {
        Some(ListId::Hosts) => app.row_keys(ListId::Hosts).to_vec(),
        Some(ListId::Pane(Pane::Failed)) => app
            .row_keys(ListId::Pane(Pane::Failed))
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
        let target = match list {
            Some(ListId::Pane(Pane::Failed)) => app
                .selected_key(ListId::Pane(Pane::Failed))
                .and_then(|k| parse_failure_row_key(&k).1.map(str::to_string)),
            Some(list) => app.selected_key(list),
            None => None,
        };
        if let Some(host) = target {
            if !app.marked.remove(&host) {
                app.marked.insert(host);
            }
            if let Some(list) = list {
                app.move_cursor(list, |at, _, _| at + 1);
            }
        }
    }
    app.dirty = true;
}

fn open_selected(app: &mut App) -> Vec<Effect> {
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

fn open_host(app: &mut App, id: String) -> Vec<Effect> {
    app.open_screen(Screen::Host(id.clone()));
    vec![Effect::FetchHost(id)]
}

fn on_filter_key(app: &mut App, mut input: Input, event: KeyEvent) -> Vec<Effect> {
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

fn on_command_key(app: &mut App, mut input: Input, event: KeyEvent) -> Vec<Effect> {
    app.dirty = true;
    match event.code {
        KeyCode::Esc => Vec::new(),
        KeyCode::Enter => run_command(app, input.value()),
        KeyCode::Tab => {
            let completed = complete_command(app, input.value());
            app.mode = Mode::Command(Input::new(completed));
            Vec::new()
        }
        _ => {
            input.handle_event(&crossterm::event::Event::Key(event));
            app.mode = Mode::Command(input);
            Vec::new()
        }
    }
}

/// Words that can follow a command, for completion.
fn command_arguments(app: &App, command: &str) -> Vec<String> {
    match command {
        "context" => app.contexts.clone(),
        "ring" => app
            .fleet
            .rings_in_order()
            .iter()
            .map(|r| r.id.clone())
            .collect(),
        "deployment" => lists::deployments_in_order(&app.fleet)
            .iter()
            .map(|d| d.id.clone())
            .collect(),
        "hosts" => {
            let mut words: Vec<String> = HostState::ALL
                .iter()
                .map(|s| s.as_str().to_string())
                .collect();
            words.extend(app.fleet.rings_in_order().iter().map(|r| r.id.clone()));
            words.extend(app.failure_groups().iter().map(|g| g.code.clone()));
            words
        }
        _ => Vec::new(),
    }
}

/// Complete the last word of a command line (common prefix of the candidates).
pub fn complete_command(app: &App, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let ends_with_space = line.ends_with(' ');
    let (done, partial): (Vec<&str>, &str) = if ends_with_space || words.is_empty() {
        (words.clone(), "")
    } else {
        (words[..words.len() - 1].to_vec(), words[words.len() - 1])
    };
    let candidates: Vec<String> = if done.is_empty() {
        COMMANDS.iter().map(|(c, _)| c.to_string()).collect()
    } else {
        command_arguments(app, done[0])
    };
    let partial_lower = partial.to_lowercase();
    let matching: Vec<&String> = candidates
        .iter()
        .filter(|c| c.to_lowercase().starts_with(&partial_lower))
        .collect();
    let completion = match matching.as_slice() {
        [] => return line.to_string(),
        [only] => format!("{only} "),
        many => common_prefix(many),
    };
    let mut out = done.join(" ");
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(&completion);
    out
}

fn common_prefix(words: &[&String]) -> String {
    let first = words[0];
    let mut len = first.len();
    for word in &words[1..] {
        len = len.min(
            first
                .chars()
                .zip(word.chars())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a.len_utf8())
                .sum(),
        );
    }
    first[..len].to_string()
}

/// Find a ring by id or by name, case-insensitively, or a unique prefix.
fn find_ring(app: &App, word: &str) -> Option<String> {
    let word = word.to_lowercase();
    let rings = app.fleet.rings_in_order();
    rings
        .iter()
        .find(|r| r.id.to_lowercase() == word || r.name.to_lowercase() == word)
        .or_else(|| {
            let prefixed: Vec<_> = rings
                .iter()
                .filter(|r| {
                    r.id.to_lowercase().starts_with(&word)
                        || r.name.to_lowercase().starts_with(&word)
                })
                .collect();
            (prefixed.len() == 1).then(|| prefixed[0])
        })
        .map(|r| r.id.clone())
}

fn run_command(app: &mut App, line: &str) -> Vec<Effect> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&command, args)) = words.split_first() else {
        return Vec::new();
    };
    match command {
        "q" | "quit" => return vec![Effect::Quit],
        "help" | "?" => {
            app.help_scroll = 0;
            app.open_screen(Screen::Help);
        }
        "rings" => focus(app, Pane::Rings),
        "deployments" | "deploys" => focus(app, Pane::Deployments),
        "failed" => focus(app, Pane::Failed),
        "actions" => focus(app, Pane::Actions),
        "ring" => match args.first().and_then(|w| find_ring(app, w)) {
            Some(id) => {
                app.screens.clear();
                app.open_screen(Screen::Ring(id));
            }
            None => app.set_flash(
                format!("no ring named `{}` (Tab completes)", args.join(" ")),
                true,
            ),
        },
        "deployment" => {
            let word = args.join(" ").to_lowercase();
            let found = lists::deployments_in_order(&app.fleet)
                .into_iter()
                .find(|d| d.id.to_lowercase() == word || d.name.to_lowercase().contains(&word))
                .map(|d| d.id.clone());
            match found {
                Some(id) if !word.is_empty() => {
                    app.screens.clear();
                    app.open_screen(Screen::Deployment(id));
                }
                _ => app.set_flash(format!("no deployment matching `{word}`"), true),
            }
        }
        "hosts" => {
            let mut filter = HostFilter::default();
            for arg in args {
                if let Some(state) = HostState::parse(&arg.to_lowercase()) {
                    filter.state = Some(state);
                } else if arg.starts_with("0x") {
                    filter.error = Some(arg.to_lowercase());
                } else if let Some(ring) = find_ring(app, arg) {
                    filter.ring = Some(ring);
                } else {
                    app.set_flash(
                        format!("`{arg}` is not a host state, ring or error code"),
                        true,
                    );
                    return Vec::new();
                }
            }
            app.screens.clear();
            app.open_screen(Screen::Hosts(filter));
        }
        "context" | "ctx" => match args.first() {
            None => app.set_flash(
                format!(
                    "context {} (others: {})",
                    app.context.name,
                    if app.contexts.is_empty() {
                        "none in the config".into()
                    } else {
                        app.contexts.join(", ")
                    }
                ),
                false,
            ),
            Some(name) if *name == app.context.name => {
                app.set_flash(format!("already on context {name}"), false)
            }
            Some(name) if app.contexts.iter().any(|c| c == name) => {
                return vec![Effect::SwitchContext((*name).to_string())];
            }
            Some(name) => app.set_flash(
                format!("no context `{name}` in the config (Tab completes)"),
                true,
            ),
        },
        other => app.set_flash(
            format!("unknown command `{other}` (Tab completes, ? for help)"),
            true,
        ),
    }
    app.dirty = true;
    Vec::new()
}

/// The verb a key means here (`p` is pause or resume depending on the target).
fn verb_of(action: KeyAction, app: &App) -> Option<Verb> {
    Some(match action {
        KeyAction::Approve => Verb::Approve,
        KeyAction::Decline => Verb::Decline,
        KeyAction::Halt => Verb::Halt,
        KeyAction::Retry => Verb::Retry,
        KeyAction::Exclude => Verb::Exclude,
        KeyAction::Rollback => Verb::Rollback,
        KeyAction::Emergency => Verb::Emergency,
        KeyAction::PauseResume => {
            let paused = match target_here(app) {
                Some(Here::Deployment(id)) => app
                    .fleet
                    .deployments
                    .get(&id)
                    .is_some_and(|d| d.state == crate::model::DeploymentState::Paused),
                Some(Here::Ring(id)) => app
                    .fleet
                    .rings
                    .get(&id)
                    .is_some_and(|r| r.state == crate::model::RingState::Paused),
                _ => false,
            };
            if paused { Verb::Resume } else { Verb::Pause }
        }
        _ => return None,
    })
}

/// What the operator points at.
#[derive(Debug, Clone, PartialEq)]
enum Here {
    Deployment(String),
    Ring(String),
    Hosts(Vec<String>),
}

fn target_here(app: &App) -> Option<Here> {
    match app.screen() {
        Some(Screen::Deployment(id)) => return Some(Here::Deployment(id.clone())),
        Some(Screen::Ring(id)) => return Some(Here::Ring(id.clone())),
        Some(Screen::Host(id)) => return Some(Here::Hosts(vec![id.clone()])),
        Some(Screen::Hosts(_)) => return Some(Here::Hosts(selected_hosts(app))),
        Some(_) => return None,
        None => {}
    }
    match app.focus {
        Pane::Deployments => app
            .selected_key(ListId::Pane(Pane::Deployments))
            .map(Here::Deployment),
        Pane::Rings => app.selected_key(ListId::Pane(Pane::Rings)).map(Here::Ring),
        Pane::Failed => Some(Here::Hosts(selected_hosts(app))),
        Pane::Actions => None,
    }
}

fn on_fleet_action(app: &mut App, action: KeyAction) -> Vec<Effect> {
    app.dirty = true;
    if let Err(why) = app.availability(action) {
        app.set_flash(format!("{}: {why}", action.label()), true);
        return Vec::new();
    }
    if action == KeyAction::Emergency {
        if let Some(emergency) = app.emergency() {
            app.dialog = Some(Dialog::LeaveEmergency {
                cve: emergency.cve.clone(),
                input: Input::default(),
            });
        } else if app.fleet.patches.is_empty() {
            app.set_flash("no patches known: nothing to deploy in an emergency", true);
        } else {
            app.dialog = Some(Dialog::Emergency(EmergencyWizard {
                step: WizardStep::Patch,
                selected: 0,
                rollback_plan_ready: false,
                error: None,
            }));
        }
        return Vec::new();
    }
    let Some(verb) = verb_of(action, app) else {
        return Vec::new();
    };
    match plan_here(app, verb) {
        Ok(plan) => open_confirm(app, plan),
        Err(why) => app.set_flash(format!("{}: {why}", action.label()), true),
    }
    Vec::new()
}

fn plan_here(app: &App, verb: Verb) -> Result<PlannedAction, String> {
    let now = app.fleet_now();
    let fleet = &app.fleet;
    match target_here(app) {
        Some(Here::Deployment(id)) => {
            let deployment = fleet
                .deployments
                .get(&id)
                .ok_or("that deployment is gone")?;
            dialog::plan_deployment(fleet, verb, deployment, now)
        }
        Some(Here::Ring(id)) => {
            let ring = fleet.rings.get(&id).ok_or("that ring is gone")?;
            match verb {
                Verb::Pause | Verb::Resume | Verb::Rollback => {
                    dialog::plan_ring(fleet, verb, ring, now)
                }
                // Approve, decline and halt act on the deployment in the ring.
                _ => {
                    let deployment = fleet
                        .deployments
                        .values()
                        .filter(|d| {
                            d.state.is_active()
                                && (d.current_ring.as_deref() == Some(id.as_str())
                                    || d.next_ring.as_deref() == Some(id.as_str()))
                        })
                        .max_by_key(|d| d.created_at)
                        .ok_or_else(|| format!("no deployment is in {}", ring.name))?;
                    let mut plan = dialog::plan_deployment(fleet, verb, deployment, now)?;
                    if verb == Verb::Halt {
                        plan.title =
                            format!("Halt {} ({} in this ring)", ring.name, deployment.name);
                        plan.confirm_text = Some(ring.name.clone());
                    }
                    Ok(plan)
                }
            }
        }
        Some(Here::Hosts(ids)) => match verb {
            Verb::Retry | Verb::Exclude | Verb::Rollback => {
                dialog::plan_hosts(fleet, verb, &ids, now)
            }
            _ => Err("select a deployment (2) or a ring (1) for this".into()),
        },
        None => Err("select a deployment, a ring or hosts first".into()),
    }
}

fn open_confirm(app: &mut App, plan: PlannedAction) {
    let keys = plan.targets.iter().map(|_| app.new_key()).collect();
    app.dialog = Some(Dialog::Confirm(Box::new(ConfirmDialog::new(plan, keys))));
}

fn on_dialog_key(app: &mut App, dialog: Dialog, event: KeyEvent) -> Vec<Effect> {
    match dialog {
        Dialog::Confirm(confirm) => on_confirm_key(app, *confirm, event),
        Dialog::Emergency(wizard) => on_wizard_key(app, wizard, event),
        Dialog::LeaveEmergency { cve, mut input } => {
            match event.code {
                KeyCode::Esc => {}
                KeyCode::Enter if input.value().trim().eq_ignore_ascii_case(&cve) => {
                    app.emergency_left = app.emergency().map(|e| e.deployment_id.clone());
                    app.reselect(ListId::Pane(Pane::Rings));
                    app.set_flash(
                        "left emergency mode (the emergency deployment itself goes on)",
                        false,
                    );
                }
                _ => {
                    input.handle_event(&crossterm::event::Event::Key(event));
                    app.dialog = Some(Dialog::LeaveEmergency { cve, input });
                }
            }
            Vec::new()
        }
    }
}

fn on_wizard_key(app: &mut App, mut wizard: EmergencyWizard, event: KeyEvent) -> Vec<Effect> {
    let candidates = dialog::emergency_candidates(&app.fleet);
    wizard.error = None;
    match (wizard.step, event.code) {
        (_, KeyCode::Esc) => return Vec::new(),
        (WizardStep::Patch, KeyCode::Down | KeyCode::Char('j')) => {
            wizard.selected = (wizard.selected + 1).min(candidates.len().saturating_sub(1));
        }
        (WizardStep::Patch, KeyCode::Up | KeyCode::Char('k')) => {
            wizard.selected = wizard.selected.saturating_sub(1);
        }
        (WizardStep::Patch, KeyCode::Enter) => wizard.step = WizardStep::Targets,
        (WizardStep::Targets, KeyCode::Enter) => wizard.step = WizardStep::RollbackPlan,
        (WizardStep::Targets, KeyCode::Backspace | KeyCode::BackTab) => {
            wizard.step = WizardStep::Patch
        }
        (WizardStep::RollbackPlan, KeyCode::Char(' ')) => {
            wizard.rollback_plan_ready = !wizard.rollback_plan_ready;
        }
        (WizardStep::RollbackPlan, KeyCode::Backspace | KeyCode::BackTab) => {
            wizard.step = WizardStep::Targets;
        }
        (WizardStep::RollbackPlan, KeyCode::Enter) => {
            if !wizard.rollback_plan_ready {
                wizard.error = Some("confirm the rollback plan first (Space)".into());
            } else if let Some(patch) = candidates.get(wizard.selected) {
                let plan = dialog::plan_emergency(&app.fleet, patch, app.fleet_now());
                open_confirm(app, plan);
                return Vec::new();
            }
        }
        _ => {}
    }
    app.dialog = Some(Dialog::Emergency(wizard));
    Vec::new()
}

fn on_confirm_key(app: &mut App, mut confirm: ConfirmDialog, event: KeyEvent) -> Vec<Effect> {
    let mut effects = Vec::new();
    match (&confirm.stage, event.code) {
        (Stage::Sending { .. }, KeyCode::Esc) => {
            app.set_flash("sent: results will show in Actions", false);
            return effects;
        }
        (_, KeyCode::Esc) => return effects,
        (Stage::Sending { .. }, _) => {}
        (Stage::Problem { resend, .. }, KeyCode::Enter) => match resend {
            Resend::No => return effects,
            Resend::SameKeys => effects = send(app, &mut confirm, true),
            Resend::Replan => {
                // Only what was not done: a target already acted on is not planned twice.
                let targets: Vec<String> = confirm
                    .plan
                    .targets
                    .iter()
                    .zip(&confirm.keys)
                    .filter(|(_, key)| !confirm.done.contains(*key))
                    .map(|(t, _)| t.target.id.clone())
                    .collect();
                match replan(app, &confirm.plan, &targets) {
                    Ok(plan) => {
                        confirm.keys = plan.targets.iter().map(|_| app.new_key()).collect();
                        confirm.plan = plan;
                        confirm.done.clear();
                        confirm.stage = Stage::Editing;
                        confirm.error =
                            Some("the fleet changed: check the preview again, Enter sends".into());
                    }
                    Err(why) => {
                        app.set_flash(why, true);
                        return effects;
                    }
                }
            }
        },
        (Stage::Problem { .. }, _) => {}
        (Stage::Editing, KeyCode::Enter) => match confirm.validate() {
            Ok(()) => effects = send(app, &mut confirm, false),
            Err((field, why)) => {
                confirm.field = field;
                confirm.error = Some(why);
            }
        },
        (Stage::Editing, KeyCode::Tab | KeyCode::Down) => {
            let fields = confirm.fields();
            let at = fields.iter().position(|f| *f == confirm.field).unwrap_or(0);
            confirm.field = fields[(at + 1) % fields.len()];
        }
        (Stage::Editing, KeyCode::BackTab | KeyCode::Up) => {
            let fields = confirm.fields();
            let at = fields.iter().position(|f| *f == confirm.field).unwrap_or(0);
            confirm.field = fields[(at + fields.len() - 1) % fields.len()];
        }
        (Stage::Editing, _) => {
            let field: Field = confirm.field;
            confirm
                .input_mut(field)
                .handle_event(&crossterm::event::Event::Key(event));
            confirm.error = None;
        }
    }
    app.dialog = Some(Dialog::Confirm(Box::new(confirm)));
    effects
}

/// Plan the same action again against the current fleet (after a 412).
fn replan(app: &App, old: &PlannedAction, target_ids: &[String]) -> Result<PlannedAction, String> {
    let now = app.fleet_now();
    let fleet = &app.fleet;
    let Some(first) = old.targets.first() else {
        return Err("nothing to act on".into());
    };
    let mut plan = match first.target.kind {
        TargetKind::Deployment => {
            let deployment = fleet
                .deployments
                .get(&first.target.id)
                .ok_or("the deployment is gone")?;
            dialog::plan_deployment(fleet, old.verb, deployment, now)?
        }
        TargetKind::Ring => {
            let ring = fleet
                .rings
                .get(&first.target.id)
                .ok_or("the ring is gone")?;
            dialog::plan_ring(fleet, old.verb, ring, now)?
        }
        // The host plan's own title counts the hosts left.
        TargetKind::Host => return dialog::plan_hosts(fleet, old.verb, target_ids, now),
        TargetKind::Fleet => {
            let patch = old
                .patch_id
                .as_ref()
                .and_then(|id| fleet.patches.get(id))
                .ok_or("the patch is gone")?;
            dialog::plan_emergency(fleet, patch, now)
        }
    };
    plan.title = old.title.clone();
    plan.confirm_text = old.confirm_text.clone();
    Ok(plan)
}

/// Emit one request per target not yet done, each with the idempotency key fixed for
/// it when the dialog opened: a resend after a timeout reuses it, so the server acts once.
fn send(app: &mut App, confirm: &mut ConfirmDialog, resend: bool) -> Vec<Effect> {
    if !resend {
        // The operator looked at the dialog, not at the version numbers: progress moves
        // versions all the time. Refuse here if a target's state changed since the plan;
        // otherwise send the version the console holds now, so the server refuses (412)
        // only what changed in flight.
        let mut changed = Vec::new();
        // A host may move on (failed -> rolled back) and still take the action: only a
        // host that can no longer take it counts as changed.
        let verb = confirm.plan.verb;
        for planned in &mut confirm.plan.targets {
            let still = match planned.target.kind {
                TargetKind::Host => app
                    .fleet
                    .hosts
                    .get(&planned.target.id)
                    .map(|h| (dialog::host_eligible(verb, h.state), h.version)),
                _ => dialog::current_state(&app.fleet, &planned.target)
                    .map(|(state, version)| (state == planned.seen_state, version)),
            };
            match still {
                Some((true, version)) => planned.version = version,
                _ => changed.push(dialog::what_changed(&app.fleet, planned)),
            }
        }
        if !changed.is_empty() {
            confirm.stage = Stage::Problem {
                message: format!(
                    "changed since you looked: {}. Nothing was sent. Enter plans again, Esc cancels",
                    changed.join("; ")
                ),
                resend: Resend::Replan,
            };
            return Vec::new();
        }
    }
    let mut waiting = BTreeSet::new();
    let mut effects = Vec::new();
    for (planned, key) in confirm.plan.targets.iter().zip(&confirm.keys) {
        if confirm.done.contains(key) {
            continue;
        }
        let call = ActionCall {
            request: confirm.request(planned),
            idempotency_key: key.clone(),
        };
        app.sent.insert(
            key.clone(),
            SentAction {
                call: call.clone(),
                target_name: planned.name.clone(),
                context: app.context.name.clone(),
                api_url: app.context.api_url.clone(),
                identity: app.identity.as_ref().map_or("unknown".into(), |i| {
                    format!("{} ({})", i.name, i.role.as_str())
                }),
            },
        );
        waiting.insert(key.clone());
        effects.push(Effect::Act(call));
    }
    confirm.stage = Stage::Sending { waiting };
    confirm.error = None;
    // The marks were for this action: the next one acts on what is selected then.
    if confirm
        .plan
        .targets
        .iter()
        .any(|t| t.target.kind == TargetKind::Host)
    {
        app.marked.clear();
    }
    effects
}
