//! The mouse, while it is on: the wheel scrolls what is under the pointer (as j/k on
//! it, [`WHEEL_ROWS`] a notch), a left click focuses a pane or selects a row, and a
//! click on the selected row of the focused list opens it (as Enter); a tab of the
//! small terminal's tab group switches to it. What is under the pointer is the view's
//! answer (`App::spot_at`), so a click lands on what is drawn there. A dialog takes no
//! click: nothing is ever confirmed by mouse, destructive actions stay on the keyboard.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

use super::lists::Pane;
use super::navigation::{focus, open_selected};
use super::{App, Effect, ListId, Mode, viewport};

/// Rows one notch of the wheel moves.
pub const WHEEL_ROWS: u16 = 3;

/// What is drawn at a place on the screen, as far as the mouse cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spot {
    /// A list (a pane's, or the host list's): `row` is the list index of the row
    /// there, `None` off its rows (border, column header, below the last row);
    /// `first` the list index of the first row drawn.
    List {
        list: ListId,
        row: Option<usize>,
        first: usize,
    },
    /// A tab of the tab group under Rings on a small terminal.
    Tab(Pane),
    /// The help or a detail screen.
    Screen,
}

/// One mouse message: ignored while the mouse is off or a line is being typed.
pub(super) fn on_mouse(app: &mut App, event: MouseEvent) -> Vec<Effect> {
    if !app.mouse || !matches!(app.mode, Mode::Normal) {
        return Vec::new();
    }
    let down = match event.kind {
        MouseEventKind::ScrollDown => true,
        MouseEventKind::ScrollUp => false,
        MouseEventKind::Down(MouseButton::Left) => {
            return match (
                app.dialog.is_some(),
                (app.spot_at)(app, event.column, event.row),
            ) {
                (false, Some(spot)) => click(app, spot),
                _ => Vec::new(),
            };
        }
        _ => return Vec::new(),
    };
    if app.dialog.is_some() {
        // A dialog is over everything: the wheel scrolls it wherever the pointer is.
        app.dialog_scroll = scrolled(app.dialog_scroll, viewport::scroll_max(app), down);
        app.dirty = true;
        return Vec::new();
    }
    match (app.spot_at)(app, event.column, event.row) {
        Some(Spot::List { list, .. }) => {
            let rows = usize::from(WHEEL_ROWS);
            app.move_cursor(list, |at, _, _| {
                if down {
                    at + rows
                } else {
                    at.saturating_sub(rows)
                }
            });
        }
        Some(Spot::Screen) => {
            app.help_scroll = scrolled(app.help_scroll, viewport::scroll_max(app), down);
            app.dirty = true;
        }
        Some(Spot::Tab(_)) | None => {}
    }
    Vec::new()
}

/// A scroll position a notch on, never past `max`.
fn scrolled(at: u16, max: u16, down: bool) -> u16 {
    let at = at.min(max);
    if down {
        at.saturating_add(WHEEL_ROWS).min(max)
    } else {
        at.saturating_sub(WHEEL_ROWS)
    }
}

fn click(app: &mut App, spot: Spot) -> Vec<Effect> {
    match spot {
        Spot::Tab(pane) if app.focus != pane || app.screen().is_some() => focus(app, pane),
        Spot::List { list, row, first } => {
            let focused = match list {
                ListId::Pane(pane) if app.focus != pane => {
                    focus(app, pane);
                    false
                }
                _ => true,
            };
            if let Some(row) = row {
                let last = app.row_keys(list).len().saturating_sub(1);
                if focused && app.cursor(list).selected.min(last) == row {
                    return open_selected(app);
                }
                app.move_cursor(list, |_, _, _| row);
                // The rows stay where they were drawn (the cursor's offset may be from
                // another terminal size): a second click there is on the same row.
                app.cursor_mut(list).offset = first;
            }
        }
        Spot::Tab(_) | Spot::Screen => {}
    }
    Vec::new()
}

/// `M`: the mouse on or off, and the runner told to take it or give it back.
pub(super) fn toggle(app: &mut App) -> Vec<Effect> {
    app.mouse = !app.mouse;
    let words = if app.mouse {
        "mouse on: wheel, clicks; Shift-drag selects text (Option-drag in iTerm2)"
    } else {
        "mouse off: dragging selects text again"
    };
    app.set_flash(words, false);
    app.dirty = true;
    vec![Effect::MouseCapture(app.mouse)]
}
