//! The viewport as state: where the panes go at the current terminal size (so paging
//! knows how many rows a list shows, and the view draws them there), and what the
//! time-dependent parts of the screen say (so a tick redraws only when they change).

use ratatui::layout::{Constraint, Layout, Rect};

use super::lists::Pane;
use super::{App, ListId, STALE_AFTER_SECS};
use crate::backend::Connection;
use crate::text;

pub const HEADER_HEIGHT: u16 = 2;
pub const FOOTER_HEIGHT: u16 = 1;
/// Emergency checklist: five items and a border.
pub const CHECKLIST_HEIGHT: u16 = 7;

/// Terminals smaller than this stack Rings over one tabbed pane.
pub const WIDE_WIDTH: u16 = 110;
pub const TALL_HEIGHT: u16 = 34;

#[derive(Debug, Clone, PartialEq)]
pub struct MainLayout {
    pub header: Rect,
    /// The emergency checklist, while emergency mode is on.
    pub checklist: Option<Rect>,
    /// One line announcing an emergency request waiting for its second approver, or
    /// an exploited CVE, while no emergency is on.
    pub banner: Option<Rect>,
    /// What is under the header and the checklist.
    pub body: Rect,
    pub footer: Rect,
    /// Panes drawn and where.
    pub panes: Vec<(Pane, Rect)>,
    /// One tabbed pane under Rings (small terminals).
    pub tabbed: bool,
}

pub fn is_compact(width: u16, height: u16) -> bool {
    width < WIDE_WIDTH || height < TALL_HEIGHT
}

pub fn main_layout(app: &App, area: Rect) -> MainLayout {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(HEADER_HEIGHT),
        Constraint::Min(1),
        Constraint::Length(FOOTER_HEIGHT),
    ])
    .areas(area);
    let (checklist, body) = match app.emergency() {
        Some(_) => {
            let height = if app.checklist_is_folded() {
                1
            } else {
                CHECKLIST_HEIGHT.min(body.height / 3)
            };
            let [checklist, rest] =
                Layout::vertical([Constraint::Length(height), Constraint::Min(1)]).areas(body);
            (Some(checklist), rest)
        }
        None => (None, body),
    };
    let (banner, body) = match banner_words(app) {
        Some(words) if checklist.is_none() && body.height > 4 => {
            // Words wider than the terminal take a second row (cut there, marked).
            let rows = if text::width(&words) > usize::from(body.width) && body.height > 12 {
                2
            } else {
                1
            };
            let [banner, rest] =
                Layout::vertical([Constraint::Length(rows), Constraint::Min(1)]).areas(body);
            (Some(banner), rest)
        }
        _ => (None, body),
    };
    let rings_wanted = (app.fleet.rings.len() as u16).max(3) + 3;
    let panes = if app.zoomed {
        vec![(app.focus, body)]
    } else if is_compact(area.width, area.height) {
        let rings_height = rings_wanted.min(body.height / 2).max(5);
        let [rings, lower] =
            Layout::vertical([Constraint::Length(rings_height), Constraint::Min(3)]).areas(body);
        vec![(Pane::Rings, rings), (app.lower_pane, lower)]
    } else {
        let rings_height = rings_wanted.min(body.height / 3).max(5);
        let deployments_wanted = (app.fleet.deployments.len() as u16).clamp(2, 6) + 3;
        let [rings, deployments, bottom] = Layout::vertical([
            Constraint::Length(rings_height),
            Constraint::Length(deployments_wanted.min(body.height / 4).max(4)),
            Constraint::Min(5),
        ])
        .areas(body);
        if !app.focus.in_wide_grid() {
            // A pane outside the grid (Compliance), focused, takes the bottom row.
            return MainLayout {
                header,
                checklist,
                banner,
                body,
                footer,
                tabbed: false,
                panes: vec![
                    (Pane::Rings, rings),
                    (Pane::Deployments, deployments),
                    (app.focus, bottom),
                ],
            };
        }
        let [failed, actions] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(bottom);
        // Exceptions take the place of Actions while they are the pane chosen.
        let right = if app.lower_pane == Pane::Exceptions {
            Pane::Exceptions
        } else {
            Pane::Actions
        };
        vec![
            (Pane::Rings, rings),
            (Pane::Deployments, deployments),
            (Pane::Failed, failed),
            (right, actions),
        ]
    };
    MainLayout {
        header,
        checklist,
        banner,
        body,
        footer,
        tabbed: !app.zoomed && is_compact(area.width, area.height),
        panes,
    }
}

/// The banner line while no emergency is on: an emergency request waiting for its
/// second approver (every console sees it), else a ring approval awaiting this
/// console's approver, else an exploited CVE.
pub fn banner_words(app: &App) -> Option<String> {
    pending_emergency_words(app)
        .or_else(|| awaited_approval_words(app))
        .or_else(|| exploited_words(app))
}

/// A ring approval awaiting this console's identity, in one line: who asks, for what
/// ("alice asks you to approve opening Wave 1 (a in 2 Deployments)").
pub fn awaited_approval_words(app: &App) -> Option<String> {
    super::awaited::awaited(app)
        .into_iter()
        .find(|a| a.key.starts_with("approval:"))
        .map(|a| format!(" {} ", a.words))
}

/// An emergency request waiting for a second approver, in one line: who asked, for
/// which patch and CVE, what this console can do, and when it expires. Shorter words
/// on terminals narrower than [`WIDE_WIDTH`].
pub fn pending_emergency_words(app: &App) -> Option<String> {
    let summary = app.fleet.summary.as_ref()?;
    if summary.emergency.is_some() {
        return None;
    }
    let pending = summary.pending_emergency.as_ref()?;
    let left = text::duration(pending.expires_at - app.fleet_now());
    let mine = app
        .identity
        .as_ref()
        .is_some_and(|me| me.as_person().to_lowercase() == pending.person.to_lowercase());
    let may_confirm = !mine && app.availability(crate::keys::KeyAction::Emergency).is_ok();
    let who = if mine {
        "you".to_string()
    } else {
        text::clean(&pending.requested_by).into_owned()
    };
    let kb = text::clean(&pending.kb);
    let cve = text::clean(&pending.cve);
    let wide = app.width >= WIDE_WIDTH;
    let patch = match (&pending.override_needed, wide) {
        (Some(_), true) => format!("{kb} ({cve}; NOT an exploited-CVE fix: override needed)"),
        (Some(_), false) => format!("{kb} (override needed)"),
        (None, true) => format!("{kb} ({cve})"),
        (None, false) => format!("{kb} {cve}"),
    };
    Some(match (wide, mine, may_confirm) {
        (true, true, _) => format!(
            " EMERGENCY REQUESTED by you: {patch}, waiting for a second approver (another person), expires in {left} "
        ),
        (true, false, true) => format!(
            " EMERGENCY REQUESTED by {who}: {patch} needs a second approver: E to confirm, expires in {left} "
        ),
        (true, false, false) => format!(
            " EMERGENCY REQUESTED by {who}: {patch} needs a second approver, expires in {left} "
        ),
        (false, true, _) => {
            format!(" EMERGENCY REQ by you: {kb} · awaits another approver · {left} left ")
        }
        (false, false, true) => {
            format!(" EMERGENCY REQ by {who}: {patch} · E: confirm · {left} left ")
        }
        (false, false, false) => {
            format!(" EMERGENCY REQ by {who}: {patch} · needs a 2nd approver · {left} left ")
        }
    })
}

/// An exploited CVE in the fleet while no emergency is on, in one line for the main
/// screen: the operator learns of it before pressing `E`.
pub fn exploited_words(app: &App) -> Option<String> {
    let summary = app.fleet.summary.as_ref()?;
    if summary.emergency.is_some() {
        return None;
    }
    let mut exploited: Vec<(&str, &str)> = app
        .fleet
        .patches
        .values()
        .flat_map(|p| {
            p.exploited_cves
                .iter()
                .map(move |c| (c.as_str(), p.kb.as_str()))
        })
        .collect();
    exploited.sort();
    let (cve, kb) = *exploited.first()?;
    let more = match exploited.len() {
        1 => String::new(),
        n => format!(" (+{} more)", n - 1),
    };
    let next = if app.availability(crate::keys::KeyAction::Emergency).is_ok() {
        "E to start an emergency"
    } else {
        "an approver starts an emergency (E)"
    };
    Some(format!(
        " {} exploited{more}: {} fixes it — {next} ",
        text::clean(cve),
        text::clean(kb)
    ))
}

/// Where the help or a detail screen is drawn at the app's terminal size: the body
/// under the header (and any checklist or banner), over the footer.
pub fn screen_area(app: &App) -> Rect {
    main_layout(app, Rect::new(0, 0, app.width, app.height)).body
}

/// The most a screen of `total` rows scrolls in a bordered box of `area`: what the
/// keys clamp to and the view draws by.
pub fn scroll_limit(total: u16, area: Rect) -> u16 {
    total.saturating_sub(area.height.saturating_sub(2))
}

/// The most the open dialog, else the open help or detail screen, scrolls, from its
/// rows as drawn (a dialog taller than the body fills it, so the same arithmetic).
pub fn scroll_max(app: &App) -> u16 {
    let area = screen_area(app);
    scroll_limit((app.scroll_rows)(app, area), area)
}

/// Data rows a pane shows at the app's terminal size (borders and column header off).
pub fn list_height(app: &App, pane: Pane) -> u16 {
    let layout = main_layout(app, Rect::new(0, 0, app.width, app.height));
    layout
        .panes
        .iter()
        .find(|(p, _)| *p == pane)
        .map_or(layout.body.height, |(_, r)| r.height)
        .saturating_sub(3)
}

impl App {
    /// Rows a list can show at once, from the layout of the current terminal size.
    pub fn page_size(&self, list: ListId) -> usize {
        let rows = match list {
            ListId::Hosts => self.height.saturating_sub(6),
            ListId::Pane(pane) => list_height(self, pane),
        };
        usize::from(rows.max(1))
    }
}

/// How the connection stands, as loud as the header should say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionHealth {
    Live,
    /// Connecting, or reconnecting for less than [`STALE_AFTER_SECS`].
    Degraded,
    /// Reconnecting for longer: the data on screen is stale.
    Stale,
}

/// How much of the fleet's hosts are in while they are listed behind the first screen
/// (never 100 before the last page).
pub fn listing_percent(app: &App) -> u64 {
    let total = app
        .fleet
        .summary
        .as_ref()
        .map_or(0, |s| u64::from(s.counts.total));
    (app.fleet.hosts.len() as u64 * 100)
        .checked_div(total)
        .unwrap_or(0)
        .min(99)
}

/// What the header says about the connection ("LIVE", "reconnecting 12s"). Data never
/// seen is never called stale; a refused token is said until a session opens.
pub fn connection_words(app: &App) -> (String, ConnectionHealth) {
    match &app.connection {
        // Connected, but the fleet's data is old (a throttled or slow vendor): said
        // with its age, never as live.
        Connection::Live { .. } => match super::age::fleet_old_words(app) {
            Some(words) => (words, ConnectionHealth::Degraded),
            None => ("LIVE".into(), ConnectionHealth::Live),
        },
        // The first screen is up and the other hosts are coming in behind it.
        Connection::Connecting { .. } | Connection::Reconnecting { .. }
            if app.synced && app.fleet.listing_hosts && !app.token_refused() =>
        {
            (
                format!("listing hosts {}%", listing_percent(app)),
                ConnectionHealth::Degraded,
            )
        }
        Connection::Connecting { since } => (
            format!("connecting {}", text::duration(app.now - *since)),
            ConnectionHealth::Degraded,
        ),
        Connection::Reconnecting {
            since,
            next_attempt_at,
            ..
        } => {
            let age = app.now - *since;
            let retry = (*next_attempt_at - app.now).num_seconds().max(0);
            if app.token_refused() {
                (
                    format!("TOKEN REFUSED (retry {retry}s)"),
                    ConnectionHealth::Stale,
                )
            } else if !app.synced {
                (
                    format!("NOT CONNECTED (retry {retry}s)"),
                    ConnectionHealth::Stale,
                )
            } else if age.num_seconds() < STALE_AFTER_SECS {
                (
                    format!("reconnecting {}", text::duration(age)),
                    ConnectionHealth::Degraded,
                )
            } else {
                (
                    format!("STALE {} (retry {retry}s)", text::duration(age)),
                    ConnectionHealth::Stale,
                )
            }
        }
    }
}

/// Why nothing is on screen yet, in one line: the cause once an attempt failed.
pub fn nothing_loaded_words(app: &App) -> String {
    match (app.link_error(), app.retry_in()) {
        (Some(error), Some(retry)) => format!("{error} (nothing loaded yet; retry in {retry}s)"),
        _ => "loading the fleet...".into(),
    }
}

/// What the time-dependent parts of the screen say: the clocks, the connection and
/// how current the compliance figures are. A tick redraws only when this changes.
pub fn time_marks(app: &App) -> String {
    format!(
        "{}|{}|{}|{}|{}",
        app.fleet_now().format("%H:%M"),
        app.now.format("%H:%M"),
        connection_words(app).0,
        nothing_loaded_words(app),
        super::compliance::time_mark(app)
    )
}
