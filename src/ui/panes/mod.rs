//! The panes of the main screen: Rings, Deployments, Failed hosts, Actions, Compliance
//! (whose strip is on the Rings pane's top border), Exceptions.
//! Only the visible slice of each list is turned into rows; each pane's table is built
//! by its own module from a [`RowsContext`]. [`view`] is the one place that says how
//! each pane is drawn; its words (title, number, empty message, tab) are its
//! [`PaneSpec`](crate::app::lists::PaneSpec).

mod actions;
mod compliance;
mod deployments;
mod exceptions;
mod failed;
mod rings;

pub use exceptions::expiry_words;
pub use rings::rings_alert;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};

use super::{Look, Loudness};
use crate::app::lists::Pane;
use crate::app::{App, ListId, visible_offset};
use crate::keys::KeyAction;
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
    /// Columns inside the border.
    pub width: u16,
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

    /// Columns column `at` of `widths` gets (as the table lays them out, a column
    /// apart), so its text can be cut to it with a marker instead of clipped.
    pub fn column_width(&self, widths: &[Constraint], at: usize) -> usize {
        let columns = ratatui::layout::Layout::horizontal(widths.to_vec())
            .flex(ratatui::layout::Flex::Start)
            .spacing(1)
            .split(Rect::new(0, 0, self.width, 1));
        columns.get(at).map_or(0, |r| usize::from(r.width))
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

/// The line a pane may write on its bottom border, and how loud.
pub type Alert = fn(&App) -> Option<(String, Loudness)>;

/// How the view draws one pane, besides what its [`PaneSpec`](crate::app::lists::PaneSpec)
/// says.
#[derive(Clone, Copy)]
pub struct PaneView {
    /// Builds the table of the visible rows.
    pub table: for<'a> fn(&RowsContext<'a>) -> PaneTable<'a>,
    /// Lines a row takes in the narrow table (the wide one takes one).
    pub narrow_row_height: usize,
    /// A count after the title, "Failed hosts (3)"; none known yet: "(…)".
    pub count: Option<fn(&App) -> Option<usize>>,
    /// The line on the bottom border, when there is something to say.
    pub alert: Option<Alert>,
    /// The pane's own keys in the footer while it has the focus.
    pub keys: &'static [KeyAction],
}

/// The one `match` on [`Pane`] in the view: a new pane is an arm here.
pub fn view(pane: Pane) -> PaneView {
    use KeyAction as A;
    match pane {
        Pane::Rings => PaneView {
            table: rings::table,
            narrow_row_height: 1,
            count: None,
            alert: Some(rings_alert),
            keys: &[A::PauseResume, A::Rollback],
        },
        Pane::Deployments => PaneView {
            table: deployments::table,
            // The second line says who approved, the rate, the ETA.
            narrow_row_height: 2,
            count: None,
            alert: None,
            keys: &[A::Approve, A::Decline, A::PauseResume, A::Halt, A::Rollback],
        },
        Pane::Failed => PaneView {
            table: failed::table,
            narrow_row_height: 1,
            count: Some(failed::host_count),
            alert: None,
            keys: &[A::Select, A::Retry, A::Exclude, A::Rollback],
        },
        Pane::Actions => PaneView {
            table: actions::table,
            narrow_row_height: 1,
            count: None,
            alert: None,
            keys: &[],
        },
        Pane::Compliance => PaneView {
            table: compliance::table,
            narrow_row_height: 1,
            count: None,
            alert: Some(compliance::alert),
            keys: &[],
        },
        Pane::Exceptions => PaneView {
            table: exceptions::table,
            narrow_row_height: 1,
            count: Some(exceptions::exception_count),
            alert: None,
            keys: &[A::Select, A::Renew, A::Revoke],
        },
    }
}

pub fn draw(app: &App, look: &Look, frame: &mut Frame, pane: Pane, area: Rect, tabbed: bool) {
    let theme = &look.theme;
    let focused = app.focus == pane;
    let block = pane_block(app, theme, pane, focused, tabbed, area.width);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if !app.synced {
        let words = crate::app::viewport::nothing_loaded_words(app);
        let style = if app.link_error().is_some() {
            theme.fail
        } else {
            theme.muted
        };
        frame.render_widget(
            Paragraph::new(Span::styled(words, style)).wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    }
    let list = ListId::Pane(pane);
    let keys = app.pane_keys(pane);
    let wide = inner.width >= 120;
    let shown = window(app, pane, inner);
    let cursor = app.cursor(list);
    let cx = RowsContext {
        app,
        theme,
        keys: &keys[shown.first..shown.end],
        first: shown.first,
        selected: shown.selected,
        focused,
        wide,
        width: inner.width,
    };
    let PaneTable {
        header,
        widths,
        rows,
    } = (view(pane).table)(&cx);
    if keys.is_empty() {
        let message = if cursor.filter.is_empty() {
            pane.spec().empty
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

/// The rows of a list a box shows, as [`draw`] draws them and the mouse finds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// List index of the first row shown, and one past the last.
    pub first: usize,
    pub end: usize,
    /// List index of the selected row (clamped to the list).
    pub selected: usize,
    /// Screen row of the first row shown (under the column header).
    pub top: u16,
    /// Screen rows each list row takes.
    pub row_height: u16,
}

impl Window {
    /// The list index of the row drawn on screen row `y`, if one is.
    pub fn row_at(&self, y: u16) -> Option<usize> {
        let below = y.checked_sub(self.top)?;
        let index = self.first + usize::from(below / self.row_height.max(1));
        (index < self.end).then_some(index)
    }
}

/// Which of the list's rows a pane whose inside (border off) is `inner` shows: the
/// selected one always, moving as little as possible from the cursor's offset.
pub fn window(app: &App, pane: Pane, inner: Rect) -> Window {
    let list = ListId::Pane(pane);
    let len = app.row_keys(list).len();
    let row_height = if inner.width >= 120 {
        1
    } else {
        view(pane).narrow_row_height
    };
    let height = usize::from(inner.height.saturating_sub(1)) / row_height;
    let cursor = app.cursor(list);
    let selected = cursor.selected.min(len.saturating_sub(1));
    let first = visible_offset(cursor.offset, selected, height).min(len);
    Window {
        first,
        end: (first + height).min(len),
        selected,
        top: inner.y + 1,
        row_height: u16::try_from(row_height).unwrap_or(1),
    }
}

/// What a pane's title says of pane `p`: its number, title (`short`: the narrow one)
/// and count ("3 Failed hosts (12)", "3 Failed (12)").
fn pane_name(app: &App, p: Pane, short: bool) -> String {
    let spec = p.spec();
    let title = if short { spec.short } else { spec.title };
    match view(p).count {
        Some(count) => match count(app) {
            Some(n) => format!("{} {title} ({n})", spec.key),
            None => format!("{} {title} (…)", spec.key),
        },
        None => format!("{} {title}", spec.key),
    }
}

/// Between two tabs of the tab group.
const TAB_GAP: &str = " | ";
/// After the last tab that fits, when some do not (their keys still work: `?`).
const TABS_CUT: &str = " …";

/// What the title of `pane` says after its name or tabs: the filter typed ("  /lon")
/// and how stale the data is ("  stale 2m").
fn title_marks(app: &App, pane: Pane) -> (Option<String>, Option<String>) {
    let filter = &app.cursor(ListId::Pane(pane)).filter;
    let filter = (!filter.is_empty()).then(|| format!("  /{}", fit(filter, 20)));
    let stale = app
        .stale_for()
        .filter(|_| app.synced)
        .map(|age| format!("  stale {}", text::duration(age)));
    (filter, stale)
}

/// The tabs' names on the top border of `pane`, `width` wide, in order: the full titles
/// if they fit (with the border's corners, a space either side and the title's marks),
/// else the short ones, and those that still do not fit are left off, after a `…`.
/// Whether some were left off.
pub fn tab_names(app: &App, pane: Pane, width: u16) -> (Vec<(Pane, String)>, bool) {
    let (filter, stale) = title_marks(app, pane);
    let marks = [filter, stale]
        .iter()
        .flatten()
        .map(|m| text::width(m))
        .sum::<usize>();
    let room = usize::from(width).saturating_sub(4 + marks);
    let names = |short: bool| -> Vec<(Pane, String)> {
        Pane::tabs()
            .map(|p| (p, pane_name(app, p, short)))
            .collect()
    };
    let total = |names: &[(Pane, String)]| -> usize {
        names.iter().map(|(_, n)| text::width(n)).sum::<usize>()
            + text::width(TAB_GAP) * names.len().saturating_sub(1)
    };
    let full = names(false);
    if total(&full) <= room {
        return (full, false);
    }
    let mut short = names(true);
    if total(&short) <= room {
        return (short, false);
    }
    while short.len() > 1 && total(&short) + text::width(TABS_CUT) > room {
        short.pop();
    }
    (short, true)
}

/// The columns of each tab on the top border of the tabbed `pane` at `area`, as
/// [`pane_block`] writes them (after the corner and a space).
pub fn tab_columns(app: &App, pane: Pane, area: Rect) -> Vec<(Pane, std::ops::Range<u16>)> {
    let mut x = area.x + 2;
    let mut tabs = Vec::new();
    for (i, (p, name)) in tab_names(app, pane, area.width).0.into_iter().enumerate() {
        if i > 0 {
            x = x.saturating_add(text::width(TAB_GAP) as u16);
        }
        let width = text::width(&name) as u16;
        tabs.push((p, x..x.saturating_add(width)));
        x = x.saturating_add(width);
    }
    tabs
}

/// The pane's border: its title (or the tabs), filter and staleness, and its alert at
/// the bottom, cut to the `width` of the pane with a mark.
fn pane_block<'a>(
    app: &App,
    theme: &Theme,
    pane: Pane,
    focused: bool,
    tabbed: bool,
    width: u16,
) -> Block<'a> {
    let title_style = |p: Pane| {
        if app.focus == p {
            theme.title.add_modifier(Modifier::REVERSED)
        } else {
            theme.muted
        }
    };
    let mut title = vec![Span::raw(" ")];
    if tabbed && pane.spec().tabbed {
        let (tabs, cut) = tab_names(app, pane, width);
        for (i, (p, name)) in tabs.into_iter().enumerate() {
            if i > 0 {
                title.push(Span::styled(TAB_GAP, theme.muted));
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
            title.push(Span::styled(name, style));
        }
        if cut {
            title.push(Span::styled(TABS_CUT, theme.muted));
        }
    } else {
        title.push(Span::styled(
            pane_name(app, pane, false),
            if focused {
                title_style(pane)
            } else {
                theme.text.add_modifier(Modifier::BOLD)
            },
        ));
    }
    let (filter, stale) = title_marks(app, pane);
    if let Some(filter) = filter {
        title.push(Span::styled(filter, theme.accent));
    }
    if let Some(stale) = stale {
        title.push(Span::styled(stale, theme.fail));
    }
    title.push(Span::raw(" "));
    let used: usize = title.iter().map(Span::width).sum();
    let mut block = Block::bordered()
        .title(Line::from(title))
        .border_style(if focused { theme.accent } else { theme.muted });
    if pane == Pane::Rings {
        // The compliance strip, at the right of the top border: the corners, a space
        // either side and a column between it and the title.
        let room = usize::from(width).saturating_sub(used + 5);
        if room >= 12 {
            let strip = compliance::strip(app, theme, room);
            block = block
                .title(Line::from(vec![Span::raw(" "), strip, Span::raw(" ")]).right_aligned());
        }
    }
    if let Some((alert, loudness)) = view(pane).alert.and_then(|alert| alert(app)) {
        block = block.title_bottom(Line::from(Span::styled(
            // The border's corners and the spaces around the words.
            format!(" {} ", fit(&alert, usize::from(width.saturating_sub(6)))),
            loudness.style(theme),
        )));
    }
    block
}

#[cfg(test)]
mod tests {
    use crate::app::lists::Pane;

    #[test]
    fn every_pane_has_its_own_number_and_title_in_screen_order() {
        for (i, pane) in Pane::ALL.into_iter().enumerate() {
            let spec = pane.spec();
            assert_eq!(spec.pane, pane);
            assert_eq!(pane.index(), i);
            // Numbered in screen order (a number may be another pane's to come).
            let number = spec.key.to_digit(10).expect("a digit");
            assert!(number as usize > i, "{spec:?}");
            if let Some(before) = i.checked_sub(1) {
                assert!(Pane::ALL[before].spec().key < spec.key, "{spec:?}");
            }
            assert!(!spec.title.is_empty() && !spec.empty.is_empty());
        }
        let titles: std::collections::BTreeSet<_> = Pane::ALL.map(Pane::title).into();
        assert_eq!(titles.len(), Pane::COUNT);
        // Rings always shows above the tab group of a small terminal.
        assert!(!Pane::Rings.spec().tabbed);
        assert_eq!(Pane::tabs().count(), Pane::COUNT - 1);
    }
}
