//! Detail screens (Enter on a row) and the host list (`:hosts`): one module each, and
//! the few line builders they share.

mod action;
mod deployment;
mod host;
mod hosts;
mod ring;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::Look;
use super::words::{Loudness, progress_bar};
use crate::app::{App, Screen};
use crate::model::{HostCounts, HostState};
use crate::text::clean;
use crate::theme::Theme;

pub fn draw(app: &App, look: &Look, frame: &mut Frame, screen: &Screen, area: Rect) {
    frame.render_widget(Clear, area);
    let theme = &look.theme;
    match screen {
        Screen::Hosts(filter) => hosts::draw(app, theme, frame, filter, area),
        Screen::Ring(id) => draw_lines(theme, frame, area, "Ring", ring::lines(app, theme, id)),
        Screen::Deployment(id) => draw_lines(
            theme,
            frame,
            area,
            "Deployment",
            deployment::lines(app, theme, id),
        ),
        Screen::Host(id) => draw_lines(theme, frame, area, "Host", host::lines(app, theme, id)),
        Screen::Action(id) => {
            draw_lines(theme, frame, area, "Action", action::lines(app, theme, id))
        }
        Screen::Help => {}
    }
}

fn draw_lines(
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    lines: Vec<Line<'static>>,
) {
    let block = Block::bordered()
        .title(Span::styled(format!(" {title} "), theme.title))
        .border_style(theme.accent);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
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
        parts.push(Span::styled(format!("{} {n}  ", state.as_str()), style));
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
