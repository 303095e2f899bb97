//! The four panes of the main screen: Rings, Deployments, Failed hosts, Actions.
//! Only the visible slice of each list is turned into rows; each pane's table is built
//! by its own module from a [`RowsContext`].

mod actions;
mod deployments;
mod failed;
mod rings;

pub use rings::rings_alert;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};

use super::Look;
use crate::app::failures::FailureGroup;
use crate::app::lists::Pane;
use crate::app::{App, ListId, visible_offset};
use crate::text::{self, fit};
use crate::theme::Theme;

/// What a pane's table builder reads: the state, the look, and which rows show.
pub struct RowsContext<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
    /// The keys of the visible rows only.
    pub keys: &'a [String],
    /// The list index of the first visible row.
    pub first: usize,
    /// The list index of the selected row.
    pub selected: usize,
    /// Whether the pane has the focus (the selection is drawn in reverse video).
    pub focused: bool,
    /// At least 120 columns inside the border: more columns.
    pub wide: bool,
}

impl<'a> RowsContext<'a> {
    /// The visible rows with their list indexes.
    pub fn visible(&self) -> impl Iterator<Item = (usize, &'a String)> + use<'a> {
        let first = self.first;
        self.keys
            .iter()
            .enumerate()
            .map(move |(i, key)| (first + i, key))
    }

    /// The style of the row at list index `index`: the selection stands out.
    pub fn row_style(&self, index: usize) -> Style {
        if index == self.selected && self.focused {
            self.theme.selected
        } else if index == self.selected {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        }
    }
}

/// A pane's table: the column header, the column widths, the visible rows.
pub struct PaneTable<'a> {
    pub header: Row<'a>,
    pub widths: Vec<Constraint>,
    pub rows: Vec<Row<'a>>,
}

pub fn draw(app: &App, look: &Look, frame: &mut Frame, pane: Pane, area: Rect, tabbed: bool) {
    let theme = &look.theme;
    let focused = app.focus == pane;
    let block = pane_block(app, theme, pane, focused, tabbed);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if !app.synced {
        frame.render_widget(
            Paragraph::new(Span::styled("loading the fleet...", theme.muted)),
            inner,
        );
        return;
    }
    let list = ListId::Pane(pane);
    let keys = app.row_keys(list);
    let wide = inner.width >= 120;
    // Narrow deployments take two lines each: the second says who approved, rate, ETA.
    let row_height = if pane == Pane::Deployments && !wide {
        2
    } else {
        1
    };
    let height = usize::from(inner.height.saturating_sub(1)) / row_height;
    let cursor = app.cursor(list);
    let selected = cursor.selected.min(keys.len().saturating_sub(1));
    let offset = visible_offset(cursor.offset, selected, height);
    let first = offset.min(keys.len());
    let cx = RowsContext {
        app,
        theme,
        keys: &keys[first..(first + height).min(keys.len())],
        first,
        selected,
        focused,
        wide,
    };
    let PaneTable {
        header,
        widths,
        rows,
    } = match pane {
        Pane::Rings => rings::table(&cx),
        Pane::Deployments => deployments::table(&cx),
        Pane::Failed => failed::table(&cx),
        Pane::Actions => actions::table(&cx),
    };
    if keys.is_empty() {
        let message = if cursor.filter.is_empty() {
            empty_message(pane)
        } else {
            "nothing matches the filter (Esc clears it)"
        };
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(""),
                Line::from(Span::styled(message, theme.muted)),
            ]),
            inner,
        );
        return;
    }
    let table = Table::new(rows, widths)
        .header(header.style(theme.muted.add_modifier(Modifier::BOLD)))
        .column_spacing(1);
    frame.render_widget(table, inner);
}

fn empty_message(pane: Pane) -> &'static str {
    match pane {
        Pane::Rings => "no rings",
        Pane::Deployments => "no deployments",
        Pane::Failed => "no failed hosts",
        Pane::Actions => "no actions yet",
    }
}

fn pane_block<'a>(app: &App, theme: &Theme, pane: Pane, focused: bool, tabbed: bool) -> Block<'a> {
    let number = |p: Pane| p.index() + 1;
    let title_style = |p: Pane| {
        if app.focus == p {
            theme.title.add_modifier(Modifier::REVERSED)
        } else {
            theme.muted
        }
    };
    let count = |p: Pane| -> String {
        match p {
            Pane::Failed => {
                let hosts: usize = app.failure_groups().iter().map(FailureGroup::count).sum();
                format!(" ({hosts})")
            }
            _ => String::new(),
        }
    };
    let mut title = vec![Span::raw(" ")];
    if tabbed && pane != Pane::Rings {
        for (i, p) in [Pane::Deployments, Pane::Failed, Pane::Actions]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                title.push(Span::styled(" | ", theme.muted));
            }
            let style = if p == pane {
                title_style(p).add_modifier(Modifier::BOLD)
            } else {
                theme.muted
            };
            let style = if p == pane && !focused {
                theme.text.add_modifier(Modifier::BOLD)
            } else {
                style
            };
            title.push(Span::styled(
                format!("{} {}{}", number(p), p.title(), count(p)),
                style,
            ));
        }
    } else {
        title.push(Span::styled(
            format!("{} {}{}", number(pane), pane.title(), count(pane)),
            if focused {
                title_style(pane)
            } else {
                theme.text.add_modifier(Modifier::BOLD)
            },
        ));
    }
    let filter = &app.cursor(ListId::Pane(pane)).filter;
    if !filter.is_empty() {
        title.push(Span::styled(
            format!("  /{}", fit(filter, 20)),
            theme.accent,
        ));
    }
    if let Some(age) = app.stale_for().filter(|_| app.synced) {
        title.push(Span::styled(
            format!("  stale {}", text::duration(age)),
            theme.fail,
        ));
    }
    title.push(Span::raw(" "));
    let mut block = Block::bordered()
        .title(Line::from(title))
        .border_style(if focused { theme.accent } else { theme.muted });
    if pane == Pane::Rings
        && let Some((alert, loudness)) = rings_alert(app)
    {
        block = block.title_bottom(Line::from(Span::styled(
            format!(" {} ", fit(&alert, 100)),
            loudness.style(theme),
        )));
    }
    block
}
