//! Text taller than its box (help, detail screens): wrapped, scrolled by the app's
//! `help_scroll`, measured so the keys never scroll past the end, and marked with where
//! the view is and that more is below.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use crate::app::App;
use crate::theme::Theme;

/// Rows `lines` take once wrapped to `width` columns.
pub fn wrapped_rows(lines: &[Line<'static>], width: u16) -> u16 {
    if width == 0 || lines.is_empty() {
        return 0;
    }
    // Generous: every line at most this many rows once wrapped.
    let estimate: usize = lines
        .iter()
        .map(|l| l.width() / usize::from(width) + 2)
        .sum();
    let height = u16::try_from(estimate.min(8000)).unwrap_or(8000);
    let area = Rect::new(0, 0, width, height);
    let mut buffer = Buffer::empty(area);
    Paragraph::new(lines.to_vec())
        .wrap(Wrap { trim: false })
        .render(area, &mut buffer);
    let used = buffer
        .content
        .chunks(usize::from(width))
        .rposition(|row| row.iter().any(|cell| cell.symbol() != " "))
        .map_or(0, |last| last + 1);
    u16::try_from(used).unwrap_or(u16::MAX)
}

/// Draw `lines` in `block` over `area`, scrolled to the app's offset (clamped), with
/// "lines 12-31 of 58" and a hint of the keys at the bottom when it does not fit.
pub fn draw(
    app: &App,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    block: Block<'static>,
    lines: Vec<Line<'static>>,
) {
    let inner = block.inner(area);
    let total = wrapped_rows(&lines, inner.width);
    let max = total.saturating_sub(inner.height);
    app.scroll_max.set(max);
    let offset = app.help_scroll.min(max);
    let block = if max > 0 {
        let last = (offset + inner.height).min(total);
        let more = if last < total {
            ", more below: j/k PgDn G"
        } else {
            ": k PgUp g"
        };
        block.title_bottom(
            Line::styled(
                format!(" lines {}-{last} of {total}{more} ", offset + 1),
                theme.muted,
            )
            .alignment(Alignment::Left),
        )
    } else {
        block
    };
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((offset, 0)),
        area,
    );
}
