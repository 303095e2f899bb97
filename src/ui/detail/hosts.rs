//! The host list (`:hosts`): hosts admitted by a filter, markable for actions.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use crate::app::lists::HostFilter;
use crate::app::{App, ListId, visible_offset};
use crate::model::HostState;
use crate::text::{self, clean, fit};
use crate::theme::Theme;
use crate::ui::words::{last_seen, ring_name};

/// Which hosts the list whose inside (border off) is `inner` shows, as [`draw`]
/// draws them and the mouse finds them: the selected one always.
pub fn window(app: &App, inner: Rect) -> crate::ui::panes::Window {
    let len = app.host_rows.len();
    let height = usize::from(inner.height.saturating_sub(1));
    let cursor = app.cursor(ListId::Hosts);
    let selected = cursor.selected.min(len.saturating_sub(1));
    let first = visible_offset(cursor.offset, selected, height).min(len);
    crate::ui::panes::Window {
        first,
        end: (first + height).min(len),
        selected,
        top: inner.y + 1,
        row_height: 1,
    }
}

pub(super) fn draw(app: &App, theme: &Theme, frame: &mut Frame, filter: &HostFilter, area: Rect) {
    let cursor = app.cursor(ListId::Hosts);
    let mut title = vec![Span::styled(
        format!(" {} ({}", filter.describe(&app.fleet), app.host_rows.len()),
        theme.title,
    )];
    if app.fleet.listing_hosts {
        // Not the whole fleet yet: the count is of the hosts listed so far.
        let total = app.fleet.summary.as_ref().map_or(0, |s| s.counts.total);
        title.push(Span::styled(
            format!(" so far: {} of {total} hosts listed", app.fleet.hosts.len()),
            theme.warn,
        ));
    }
    title.push(Span::styled(") ", theme.title));
    if !cursor.filter.is_empty() {
        title.push(Span::styled(
            format!("/{} ", fit(&cursor.filter, 20)),
            theme.accent,
        ));
    }
    if !app.marked.is_empty() {
        title.push(Span::styled(
            format!("{} selected ", app.marked.len()),
            theme.warn,
        ));
    }
    let block = Block::bordered()
        .title(Line::from(title))
        .border_style(theme.accent);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let shown = window(app, inner);
    let selected = shown.selected;
    let now = app.fleet_now();
    let wide = inner.width >= 120;
    // Only the rows on screen are looked up and built.
    let rows: Vec<Row> = app.host_rows[shown.first..shown.end]
        .iter()
        .enumerate()
        .filter_map(|(at, ordinal)| {
            let index = shown.first + at;
            let id = app.host_index.id(*ordinal);
            let host = app.fleet.hosts.get(id)?;
            let mark = if app.marked.contains(id) {
                "[x]"
            } else {
                "[ ]"
            };
            let ring = ring_name(app, &host.ring_id);
            let state_style = match host.state {
                HostState::Failed => theme.fail,
                HostState::Succeeded => theme.ok,
                _ => theme.text,
            };
            let mut cells = vec![
                Cell::from(format!("{mark} {}", fit(&host.name, 16))),
                Cell::from(Span::styled(host.state.as_str(), state_style)),
                Cell::from(fit(&ring, 14)),
                Cell::from(
                    host.failure
                        .as_ref()
                        .map(|f| fit(&f.code, 10))
                        .unwrap_or_default(),
                ),
                Cell::from(text::duration(now - last_seen(host, &host.history))),
            ];
            if wide {
                cells.push(Cell::from(fit(&host.model, 24)));
                cells.push(Cell::from(
                    host.group_id
                        .as_deref()
                        .map(|g| fit(g, 14))
                        .unwrap_or_default(),
                ));
                cells.push(Cell::from(Span::styled(
                    host.failure
                        .as_ref()
                        .map(|f| clean(&f.message).into_owned())
                        .unwrap_or_default(),
                    theme.muted,
                )));
            } else {
                cells.push(Cell::from(Span::styled(fit(&host.model, 24), theme.muted)));
            }
            let style = if index == selected {
                theme.selected
            } else {
                ratatui::style::Style::new()
            };
            Some(Row::new(cells).style(style))
        })
        .collect();
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no hosts match", theme.muted)),
            inner,
        );
        return;
    }
    let (header, widths) = if wide {
        (
            vec![
                "HOST", "STATE", "RING", "ERROR", "SEEN", "MODEL", "GROUP", "MESSAGE",
            ],
            vec![
                Constraint::Length(20),
                Constraint::Length(14),
                Constraint::Length(14),
                Constraint::Length(10),
                Constraint::Length(8),
                Constraint::Length(24),
                Constraint::Length(14),
                Constraint::Min(10),
            ],
        )
    } else {
        (
            vec!["HOST", "STATE", "RING", "ERROR", "SEEN", "MODEL"],
            vec![
                Constraint::Length(18),
                Constraint::Length(14),
                Constraint::Length(10),
                Constraint::Length(10),
                Constraint::Length(6),
                Constraint::Min(8),
            ],
        )
    };
    frame.render_widget(
        Table::new(rows, widths)
            .header(Row::new(header).style(theme.muted.add_modifier(Modifier::BOLD)))
            .column_spacing(1),
        inner,
    );
}
