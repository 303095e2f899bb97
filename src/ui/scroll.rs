//! Text taller than its box (help, detail screens): wrapped under its labels, scrolled by the app's
//! `help_scroll`, measured so the keys never scroll past the end, and marked with where
//! the view is and that more is below.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthChar;

use crate::app::App;
use crate::theme::Theme;

/// `lines` broken to `width` columns, each continuation indented under its line's
/// value: a line that starts with a padded label ("reason          ") continues under
/// the value column, one that starts with spaces continues under its text. Words move
/// whole to the next row; a word longer than a row is broken. Every returned line fits.
pub fn hang(lines: Vec<Line<'static>>, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width.max(1));
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if line.width() <= width {
            out.push(line);
            continue;
        }
        let label = match line.spans.as_slice() {
            [first, _, ..] if first.content.ends_with(' ') => first.width(),
            _ => 0,
        };
        let leading = line
            .spans
            .iter()
            .flat_map(|s| s.content.chars())
            .take_while(|c| *c == ' ')
            .count();
        let indent = label.max(leading);
        let indent = if indent * 2 > width { 0 } else { indent };
        let cells: Vec<(char, Style)> = line
            .spans
            .iter()
            .flat_map(|s| {
                let style = line.style.patch(s.style);
                s.content.chars().map(move |c| (c, style))
            })
            .collect();
        out.extend(hang_one(&cells, width, indent));
    }
    out
}

fn hang_one(cells: &[(char, Style)], width: usize, indent: usize) -> Vec<Line<'static>> {
    let char_width = |c: char| c.width().unwrap_or(0);
    // The head: the first `indent` columns stay on the first row as they are.
    let mut head = 0;
    let mut used = 0;
    while head < cells.len() && used < indent {
        used += char_width(cells[head].0);
        head += 1;
    }
    let mut rows: Vec<Vec<(char, Style)>> = vec![cells[..head].to_vec()];
    let mut row_used = used;
    let avail = width - indent;
    // Words with the spaces before them.
    let mut at = head;
    while at < cells.len() {
        let spaces_start = at;
        while at < cells.len() && cells[at].0 == ' ' {
            at += 1;
        }
        let word_start = at;
        while at < cells.len() && cells[at].0 != ' ' {
            at += 1;
        }
        let spaces = &cells[spaces_start..word_start];
        let word = &cells[word_start..at];
        let word_width: usize = word.iter().map(|(c, _)| char_width(*c)).sum();
        let fresh = row_used == indent;
        if row_used + spaces.len() + word_width <= width {
            let continuation = rows.len() > 1;
            let last = rows.last_mut().expect("a row");
            if !(fresh && continuation) {
                last.extend_from_slice(spaces);
                row_used += spaces.len();
            }
            last.extend_from_slice(word);
            row_used += word_width;
            continue;
        }
        if word_width <= avail && !fresh {
            rows.push(vec![(' ', Style::default()); indent]);
            rows.last_mut().expect("a row").extend_from_slice(word);
            row_used = indent + word_width;
            continue;
        }
        // Longer than a row: break it where the row ends.
        if !fresh {
            rows.last_mut()
                .expect("a row")
                .push((' ', Style::default()));
            row_used += 1;
        }
        for &(c, style) in word {
            let w = char_width(c);
            if row_used + w > width {
                rows.push(vec![(' ', Style::default()); indent]);
                row_used = indent;
            }
            rows.last_mut().expect("a row").push((c, style));
            row_used += w;
        }
    }
    rows.into_iter()
        .map(|row| {
            let mut spans: Vec<Span<'static>> = Vec::new();
            let mut text = String::new();
            let mut style = None;
            for (c, s) in row {
                if style.is_some_and(|st| st != s) {
                    spans.push(Span::styled(std::mem::take(&mut text), style.unwrap()));
                }
                style = Some(s);
                text.push(c);
            }
            if let Some(style) = style {
                spans.push(Span::styled(text, style));
            }
            Line::from(spans)
        })
        .collect()
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
    let lines = hang(lines, inner.width);
    let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let max = crate::app::viewport::scroll_limit(total, area);
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
    frame.render_widget(Paragraph::new(lines).block(block).scroll((offset, 0)), area);
}

#[cfg(test)]
mod tests {
    use super::hang;
    use ratatui::text::{Line, Span};

    fn texts(lines: &[Line<'static>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn a_wrapped_value_continues_under_its_label() {
        let line = Line::from(vec![
            Span::raw(format!("{:<8}", "why")),
            Span::raw("the gate needs 95% ok and has 26%"),
        ]);
        assert_eq!(
            texts(&hang(vec![line], 24)),
            vec![
                "why     the gate needs",
                "        95% ok and has",
                "        26%"
            ]
        );
        let long = Line::from(vec![Span::raw("id      "), Span::raw("x".repeat(20))]);
        let rows = texts(&hang(vec![long], 16));
        assert_eq!(
            rows,
            vec!["id      xxxxxxxx", "        xxxxxxxx", "        xxxx"]
        );
        let fits = Line::from("short");
        assert_eq!(texts(&hang(vec![fits], 16)), vec!["short"]);
    }
}
