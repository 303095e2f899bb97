//! The Actions pane: what was asked of the fleet, newest first.

use ratatui::layout::Constraint;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row};

use super::{PaneTable, RowsContext};
use crate::text::{self, fit};
use crate::ui::words::{action_progress, action_state_word};

pub(super) fn table<'a>(cx: &RowsContext<'a>) -> PaneTable<'a> {
    let RowsContext {
        app, theme, wide, ..
    } = *cx;
    let now = app.fleet_now();
    let (header, widths) = if wide {
        (
            vec![
                "WHEN", "WHO", "ACTION", "TARGET", "STATE", "PROGRESS", "TICKET", "REASON",
            ],
            vec![
                Constraint::Length(12),
                Constraint::Length(10),
                Constraint::Length(9),
                Constraint::Length(18),
                Constraint::Length(21),
                Constraint::Length(9),
                Constraint::Length(10),
                Constraint::Min(10),
            ],
        )
    } else {
        (
            vec![
                "WHEN",
                "WHO",
                "ACTION",
                "TARGET",
                "STATE",
                "DONE",
                "TICKET / REASON",
            ],
            vec![
                Constraint::Length(6),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(14),
                Constraint::Length(9),
                Constraint::Length(7),
                Constraint::Min(10),
            ],
        )
    };
    let column = |at: usize| cx.column_width(&widths, at);
    let mut rows = Vec::new();
    for (index, id) in cx.visible() {
        let Some(action) = app.fleet.actions.get(id) else {
            continue;
        };
        let (state, loudness) = action_state_word(action.state);
        let by_style = if action.by == crate::model::SYSTEM {
            theme.warn
        } else {
            theme.text
        };
        let mut cells = vec![
            Cell::from(if wide {
                text::time(action.at, now)
            } else {
                text::short_time(action.at, now)
            }),
            Cell::from(Span::styled(fit(&action.by, column(1)), by_style)),
            Cell::from(action.verb.as_str()),
            Cell::from(fit(&action.target_name, column(3))),
            Cell::from(Span::styled(state, loudness.style(theme))),
            Cell::from(action_progress(action)),
        ];
        let reason = action
            .reason
            .as_deref()
            .map(text::clean)
            .unwrap_or_default();
        let ticket = action
            .ticket
            .as_deref()
            .map(text::clean)
            .unwrap_or_default();
        if wide {
            cells.push(Cell::from(fit(&ticket, column(6))));
            cells.push(Cell::from(Span::styled(
                fit(&reason, column(7)),
                theme.muted,
            )));
        } else {
            let both = [ticket.as_ref(), reason.as_ref()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            cells.push(Cell::from(Span::styled(fit(&both, column(6)), theme.muted)));
        }
        rows.push(Row::new(cells).style(cx.row_style(index)));
    }
    PaneTable {
        header: Row::new(header),
        widths,
        rows,
    }
}
