//! Where the pointer is: what the view draws at a column and row of the screen, found
//! with the same layout and list windows the view draws by (`app::viewport::main_layout`,
//! [`panes::window`], [`panes::tab_columns`]), so a click lands on the row it shows.
//! The runner gives it to the app as `App::spot_at`.

use ratatui::layout::{Position, Rect};
use ratatui::text::Span;
use ratatui::widgets::Block;

use super::{detail, panes};
use crate::app::mouse::Spot;
use crate::app::{App, ListId, Mode, Screen};
use crate::keys::KeyAction;
use crate::theme::Theme;

/// The footer's words while the mouse is on, first so that they are never the part
/// cut ("mouse on: M off, Shift-drag selects": the console has the mouse, a drag
/// selects text only with Shift held), and the footer's `keys` with the help's key
/// next, so that the way to every key cut stays in view. Off: nothing, keys as given.
pub(super) fn footer(
    app: &App,
    theme: &Theme,
    mut keys: Vec<KeyAction>,
) -> (Vec<Span<'static>>, Vec<KeyAction>) {
    let Some(key) = app.keymap.primary(KeyAction::Mouse).filter(|_| app.mouse) else {
        return (Vec::new(), keys);
    };
    if let Some(at) = keys.iter().position(|k| *k == KeyAction::Help) {
        let help = keys.remove(at);
        keys.insert(0, help);
    }
    let words = vec![
        Span::styled("mouse on", theme.accent),
        Span::styled(format!(": {key} off, Shift-drag selects  "), theme.muted),
    ];
    (words, keys)
}

/// What is drawn at `column`, `row`: a list and its row there, a tab, the help or a
/// detail screen; `None` for the header, the footer, a banner, a notice or a message
/// drawn over the body.
pub fn spot_at(app: &App, column: u16, row: u16) -> Option<Spot> {
    if app.too_small() {
        return None;
    }
    let layout = crate::app::viewport::main_layout(app, Rect::new(0, 0, app.width, app.height));
    let at = Position::new(column, row);
    if !layout.body.contains(at) {
        return None;
    }
    let notice = app.notice.as_deref().filter(|_| app.dialog.is_none());
    if notice.is_some_and(|notice| super::notice_area(notice, layout.body).contains(at)) {
        return None;
    }
    let flash = app
        .flash
        .as_ref()
        .filter(|_| app.dialog.is_none() && matches!(app.mode, Mode::Normal));
    if flash
        .and_then(|flash| super::long_flash(flash, layout.footer))
        .is_some_and(|(area, _)| area.contains(at))
    {
        return None;
    }
    match app.screen() {
        Some(Screen::Hosts(_)) => {
            let inner = Block::bordered().inner(layout.body);
            let shown = detail::hosts::window(app, inner);
            Some(Spot::List {
                list: ListId::Hosts,
                row: inner.contains(at).then(|| shown.row_at(row)).flatten(),
                first: shown.first,
            })
        }
        Some(_) => Some(Spot::Screen),
        None => {
            let (pane, area) = layout.panes.iter().find(|(_, r)| r.contains(at))?;
            if layout.tabbed && pane.spec().tabbed && row == area.y {
                let tab = panes::tab_columns(app, *pane, *area)
                    .into_iter()
                    .find(|(_, columns)| columns.contains(&column));
                if let Some((tab, _)) = tab {
                    return Some(Spot::Tab(tab));
                }
            }
            let inner = Block::bordered().inner(*area);
            let shown = panes::window(app, *pane, inner);
            Some(Spot::List {
                list: ListId::Pane(*pane),
                row: (app.synced && inner.contains(at))
                    .then(|| shown.row_at(row))
                    .flatten(),
                first: shown.first,
            })
        }
    }
}
