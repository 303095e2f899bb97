//! What the console shows and remembers: the `App` state and the small types it holds
//! (where it is connected, the screens and dialogs pushed, list cursors, the flash).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use tui_input::Input;

use super::confirm::ConfirmDialog;
use super::failures::{FailureGroup, FailureIndex};
use super::lists::{HostFilter, Pane};
use super::wizard::EmergencyWizard;
use crate::backend::{ActionCall, Connection, GatewayHealth};
use crate::keys::Keymap;
use crate::model::{Emergency, Fleet, Host, Identity};

/// Where the console is connected.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub name: String,
    pub api_url: String,
    /// Running on the built-in simulator.
    pub demo: bool,
    pub read_only: bool,
    /// Plain `http://` to a host that is not loopback, allowed by `--insecure-http` or
    /// the context's `insecure_http`: the header shows INSECURE.
    pub insecure_http: bool,
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
    /// Quitting with actions sent and not answered: asks first.
    Quit {
        unanswered: usize,
    },
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
    pub(super) fleet_clock: (DateTime<Utc>, DateTime<Utc>, f64),
    pub width: u16,
    pub height: u16,
    pub focus: Pane,
    /// The pane shown under Rings on small terminals.
    pub lower_pane: Pane,
    pub zoomed: bool,
    /// The emergency checklist folded to one line (`c`); unset: folded on short terminals.
    pub checklist_folded: Option<bool>,
    pub cursors: [ListCursor; Pane::COUNT],
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
    /// What the gateway last said of itself (`None`: a server without a store).
    pub gateway: Option<GatewayHealth>,
    /// Lines scrolled off the top of the help or a detail screen.
    pub help_scroll: u16,
    /// Rows a dialog scrolled by PgUp/PgDn is down from its top.
    pub dialog_scroll: u16,
    /// Rows the open dialog, else the open help or detail screen, takes drawn over
    /// the body `Rect`, wrapped as drawn: a pure measure the runner gives
    /// (`ui::scroll_rows`), read by `viewport::scroll_max` for the keys; the default
    /// measures nothing, so nothing scrolls.
    pub scroll_rows: fn(&App, ratatui::layout::Rect) -> u16,
    /// The mouse is on: the terminal sends the wheel and clicks (`--mouse`, the
    /// config's `mouse = true`, `M`). Off, mouse messages are ignored.
    pub mouse: bool,
    /// What is drawn at a column and row, as the view draws it (`ui::spot_at`, given by
    /// the runner like `scroll_rows`); the default finds nothing there.
    pub spot_at: fn(&App, u16, u16) -> Option<super::mouse::Spot>,
    /// Something the operator must read, shown until dismissed with Esc (a server that
    /// restarted from scratch).
    pub notice: Option<String>,
    /// Exception expiries the standing notice counts, and its words (to know it is
    /// that notice that stands).
    pub(super) lapsed_unseen: usize,
    pub(super) lapsed_notice: Option<String>,
    /// The server's compliance figures and how current they are.
    pub compliance: super::compliance::ComplianceState,
    // Derived from the fleet, recomputed when it changes.
    /// Failed hosts grouped by error code, kept current from the hosts that change.
    pub failures: FailureIndex,
    /// The hosts under an exception, kept current from the hosts that change.
    pub exception_hosts: super::exceptions::ExceptionHosts,
    /// What the Exceptions pane's rows were worked out from: its hosts' generation and
    /// its filter.
    pub(super) exception_rows_of: Option<(u64, String)>,
    /// Row keys of each pane, in order, filtered: recomputed when rows may change
    /// (`reselect`), read by every frame without copying.
    pub(super) pane_rows: [Vec<String>; Pane::COUNT],
    /// The host list's rows, in order: ordinals of `host_index`.
    pub host_rows: Vec<super::host_index::Ordinal>,
    /// What the host list searches and how it orders, kept current with the fleet.
    pub host_index: super::host_index::HostIndex,
    /// Something changed since the last draw.
    pub dirty: bool,
    /// What the time-dependent parts of the screen said at the last draw.
    pub(super) time_marks: String,
    pub dialog: Option<Dialog>,
    /// Prefix of idempotency keys, unique per console session.
    pub session: String,
    pub(super) next_key: u64,
    /// Requests sent and not answered, by idempotency key.
    pub sent: BTreeMap<String, SentAction>,
    /// Actions the server accepted and still runs, by action id, with their key: their
    /// final outcome goes to the audit log when the event stream brings it.
    pub awaiting_final: BTreeMap<String, (String, SentAction)>,
    /// The emergency (deployment id) the operator deliberately left.
    pub emergency_left: Option<String>,
    /// Names of the config's contexts, for `:context`.
    pub contexts: Vec<String>,
    /// The emergency whose stages the Rings pane last showed on top.
    pub(super) emergency_shown: Option<String>,
    /// Requests awaiting this identity that the bell already rang for.
    pub(super) bell_rung: BTreeSet<String>,
    /// Ring the bell for each notice (the config's `bell`, `--no-bell`); its flash
    /// line is shown either way.
    pub bell: bool,
    /// The notice detector on the events this console receives (its rules from the
    /// config's `window_warning_minutes`).
    pub notices: crate::model::NoticeDetector,
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
            checklist_folded: None,
            cursors: Default::default(),
            hosts_cursor: ListCursor::default(),
            screens: Vec::new(),
            mode: Mode::Normal,
            expanded: BTreeSet::new(),
            marked: BTreeSet::new(),
            host_details: Default::default(),
            flash: None,
            problems: Vec::new(),
            gateway: None,
            help_scroll: 0,
            dialog_scroll: 0,
            scroll_rows: |_, _| 0,
            mouse: false,
            spot_at: |_, _, _| None,
            notice: None,
            lapsed_unseen: 0,
            lapsed_notice: None,
            compliance: Default::default(),
            failures: FailureIndex::default(),
            exception_hosts: Default::default(),
            exception_rows_of: None,
            pane_rows: Default::default(),
            host_rows: Vec::new(),
            host_index: super::host_index::HostIndex::default(),
            dirty: true,
            time_marks: String::new(),
            dialog: None,
            session: "console".into(),
            next_key: 0,
            sent: BTreeMap::new(),
            awaiting_final: BTreeMap::new(),
            emergency_left: None,
            contexts: Vec::new(),
            bell_rung: BTreeSet::new(),
            emergency_shown: None,
            bell: true,
            notices: crate::model::NoticeDetector::default(),
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
        fresh.scroll_rows = self.scroll_rows;
        fresh.mouse = self.mouse;
        fresh.spot_at = self.spot_at;
        fresh.bell = self.bell;
        fresh.notices = crate::model::NoticeDetector::new(self.notices.rules());
        fresh.set_flash(format!("switched to context {}", fresh.context.name), false);
        *self = fresh;
    }

    /// A fresh idempotency key.
    pub(super) fn new_key(&mut self) -> String {
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

    /// The fleet's clock now (the simulator's clock may run faster than real time).
    pub fn fleet_now(&self) -> DateTime<Utc> {
        let (wall, fleet, speed) = self.fleet_clock;
        let elapsed_ms = (self.clock_wall() - wall).num_milliseconds().max(0) as f64;
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

    /// The gateway said its store refuses writes (actions are refused until it recovers).
    pub fn gateway_degraded(&self) -> bool {
        self.gateway == Some(GatewayHealth::Degraded)
    }

    /// Is the emergency checklist folded to one line?
    pub fn checklist_is_folded(&self) -> bool {
        self.checklist_folded
            .unwrap_or(self.height < super::viewport::TALL_HEIGHT)
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

    pub(super) fn cursor_mut(&mut self, list: ListId) -> &mut ListCursor {
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

    /// Failed hosts by error code, biggest group first.
    pub fn failure_groups(&self) -> &[FailureGroup] {
        self.failures.groups()
    }

    pub(super) fn set_flash(&mut self, text: impl Into<String>, error: bool) {
        self.flash = Some(Flash {
            text: text.into(),
            error,
            at: self.now,
        });
    }
}
