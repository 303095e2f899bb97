//! Detail screens (Enter on a row) and the host list (`:hosts`): one module each, and
//! the few line builders they share.

mod action;
mod deployment;
mod exception;
mod host;
pub mod hosts;
mod ring;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear};

use super::Look;
use super::words::{Loudness, progress_bar};
use crate::app::{App, Screen};
use crate::model::{HostCounts, HostState};
use unicode_width::UnicodeWidthChar;

use crate::text::{self, clean};
use crate::theme::Theme;

/// What a detail screen's lines are built from.
#[derive(Clone, Copy)]
pub(super) struct DetailContext<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
    /// Columns inside the border.
    pub width: usize,
}

pub fn draw(app: &App, look: &Look, frame: &mut Frame, screen: &Screen, area: Rect) {
    frame.render_widget(Clear, area);
    let theme = &look.theme;
    if let Screen::Hosts(filter) = screen {
        return hosts::draw(app, theme, frame, filter, area);
    }
    let Some((title, lines)) = lines(app, theme, screen, area.width.saturating_sub(2)) else {
        return;
    };
    let block = Block::bordered()
        .title(Span::styled(format!(" {title} "), theme.title))
        .border_style(theme.accent);
    super::scroll::draw(app, theme, frame, area, block, lines);
}

/// A detail screen's title and lines at `width` columns inside its border (none for
/// the host list and the help, drawn elsewhere).
pub(super) fn lines(
    app: &App,
    theme: &Theme,
    screen: &Screen,
    width: u16,
) -> Option<(&'static str, Vec<Line<'static>>)> {
    let cx = DetailContext {
        app,
        theme,
        width: usize::from(width),
    };
    Some(match screen {
        Screen::Ring(id) => ("Ring", ring::lines(&cx, id)),
        Screen::Deployment(id) => ("Deployment", deployment::lines(&cx, id)),
        Screen::Host(id) => ("Host", host::lines(&cx, id)),
        Screen::Action(id) => ("Action", action::lines(&cx, id)),
        Screen::Hosts(_) | Screen::Help => return None,
    })
}

pub(super) fn field(theme: &Theme, name: &str, value: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<16}"), theme.muted),
        Span::styled(value.into(), theme.text),
    ])
}

pub(super) fn field_loud(
    theme: &Theme,
    name: &str,
    value: impl Into<String>,
    loudness: Loudness,
) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<16}"), theme.muted),
        Span::styled(value.into(), loudness.style(theme)),
    ])
}

pub(super) fn heading(theme: &Theme, text: &str) -> Line<'static> {
    Line::from(Span::styled(text.to_string(), theme.title))
}

/// The heading that names what the screen shows: names are API text and may be any
/// length, so a name longer than [`NAME_LINES`] lines is cut there, ends with `…` and
/// says where the rest is ([`whole_name`], at the end of the screen).
pub(super) fn name_lines(theme: &Theme, width: usize, name: &str) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = capped_lines(name, width, NAME_LINES)
        .into_iter()
        .map(|line| heading(theme, &line))
        .collect();
    if name_is_cut(width, name) {
        lines.push(Line::from(Span::styled(
            "(name cut: the whole name is at the end, G)",
            theme.muted,
        )));
    }
    lines
}

/// A name cut in its heading, whole, for the end of the screen (nothing if it was not cut).
pub(super) fn whole_name(theme: &Theme, width: usize, name: &str) -> Vec<Line<'static>> {
    if !name_is_cut(width, name) {
        return Vec::new();
    }
    let mut lines = vec![Line::from(""), heading(theme, "The whole name")];
    lines.extend(
        // Every line of it: a word longer than a line is broken, not cut.
        capped_lines(name, width, usize::MAX)
            .into_iter()
            .map(|part| Line::from(Span::styled(part, theme.text))),
    );
    lines
}

fn name_is_cut(width: usize, name: &str) -> bool {
    capped_lines(name, width, NAME_LINES + 1).len() > NAME_LINES
}

/// At most this many lines of a name in a detail heading.
pub(super) const NAME_LINES: usize = 3;

/// `text` cleaned and broken into at most `max_lines` lines of `width` columns, at
/// spaces where it can (a word longer than a line is broken across lines); when it
/// does not fit, the last line ends with `…`. Text that fits on one line is that line.
pub(super) fn capped_lines(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let text = clean(text);
    let width = width.max(1);
    if text::width(&text) <= width {
        return vec![text.into_owned()];
    }
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    let mut full = false;
    'words: for word in text.split(' ').filter(|w| !w.is_empty()) {
        let word_width = text::width(word);
        if used > 0 && used + 1 + word_width <= width {
            line.push(' ');
            used += 1;
        } else if used > 0 {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        for c in word.chars() {
            let w = c.width().unwrap_or(0);
            if used > 0 && used + w > width {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            if lines.len() == max_lines {
                full = true;
                break 'words;
            }
            line.push(c);
            used += w;
        }
    }
    if !full && !line.is_empty() {
        lines.push(line);
    }
    if full && let Some(last) = lines.last_mut() {
        // Room for the ellipsis: cut the last line to `width - 1` columns.
        let mut cut = String::new();
        let mut used = 0;
        for c in last.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width - 1 {
                break;
            }
            cut.push(c);
            used += w;
        }
        cut.push('…');
        *last = cut;
    }
    lines
}

pub(super) fn missing(theme: &Theme, what: &str, id: &str) -> Vec<Line<'static>> {
    vec![Line::from(Span::styled(
        format!(
            "{what} {} is no longer in the fleet (Esc goes back)",
            clean(id)
        ),
        theme.warn,
    ))]
}

pub(super) fn counts_lines(theme: &Theme, counts: &HostCounts) -> Vec<Line<'static>> {
    let mut parts: Vec<Span<'static>> = vec![Span::styled(format!("{:<16}", "hosts"), theme.muted)];
    for state in HostState::ALL {
        let n = counts.get(state);
        if n == 0 {
            continue;
        }
        let style = match state {
            HostState::Failed => theme.fail,
            HostState::Succeeded => theme.ok,
            HostState::Offline | HostState::Excluded | HostState::Deferred => theme.muted,
            _ => theme.text,
        };
        parts.push(Span::styled(format!("{} {n}  ", state.words()), style));
    }
    parts.push(Span::styled(
        format!("(total {})", counts.total),
        theme.muted,
    ));
    let mut bar = vec![Span::styled(format!("{:<16}", "progress"), theme.muted)];
    bar.extend(progress_bar(counts, 40, theme));
    bar.push(Span::styled(
        format!(
            " {:.1}% ok, {:.1}% failed",
            counts.success_pct(),
            counts.failure_pct()
        ),
        theme.text,
    ));
    vec![Line::from(parts), Line::from(bar)]
}

#[cfg(test)]
mod tests {
    use super::capped_lines;
    use crate::text;

    #[test]
    fn a_name_that_fits_is_one_line_and_a_long_one_is_cut_at_three() {
        assert_eq!(capped_lines("Patch Tuesday", 20, 3), vec!["Patch Tuesday"]);
        assert_eq!(
            capped_lines("2026-11 Patch Tuesday for servers", 14, 3),
            vec!["2026-11 Patch", "Tuesday for", "servers"]
        );
        let long = format!("Pilot {}", "x".repeat(20_000));
        let lines = capped_lines(&long, 10, 3);
        assert_eq!(lines, vec!["Pilot", "xxxxxxxxxx", "xxxxxxxxx…"]);
        let wide = "巡检主机".repeat(5_000);
        for line in capped_lines(&wide, 9, 3) {
            assert!(text::width(&line) <= 9, "{line}");
        }
        assert_eq!(capped_lines("\u{1b}[31mred\u{1b}[0m", 3, 3), vec!["red"]);
    }
}
