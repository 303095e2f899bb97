//! Untrusted text made safe to show: control characters and escape sequences removed,
//! widths measured in display columns; durations and times in the console's short
//! words. Shared by the app, the views and the audit table.

use std::borrow::Cow;

use chrono::{DateTime, Duration, Utc};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// A control, or an invisible character that reorders or hides text: bidi overrides
/// and isolates, zero-width spaces, joiners and marks, the byte order mark.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// Strip ANSI/VT escape sequences (CSI, OSC, DCS and two-byte escapes), every other
/// control character and the invisible ones of [`hidden`]. Tabs and newlines become
/// spaces.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates, then a final byte @..~
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC, DCS, SOS, PM, APC: up to BEL or ST (ESC \)
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' {
                            chars.next_if_eq(&'\\');
                            break;
                        }
                    }
                }
                _ => {}
            },
            // C1 CSI / OSC
            '\u{9b}' => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            '\t' | '\n' | '\r' => out.push(' '),
            c if hidden(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Display width in terminal columns.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// Clean `text` and cut it to at most `max` columns, ending with "…" when cut (never "~", which the progress bars use).
pub fn fit(text: &str, max: usize) -> String {
    let text = clean(text);
    if width(&text) <= max {
        return text.into_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Clean `text` and break it into lines of at most `max` columns, at spaces where it
/// can (a word longer than a line is cut).
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let text = clean(text);
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let needed = if line.is_empty() {
            width(word)
        } else {
            width(&line) + 1 + width(word)
        };
        if needed > max && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        if width(&line) > max {
            lines.push(fit(&line, max));
            line.clear();
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// "3s", "4m", "2h 05m", "3d 4h": a short, exact-enough duration.
pub fn duration(span: Duration) -> String {
    let secs = span.num_seconds().max(0);
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m", secs / 60)
    } else if secs < 86_400 {
        format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
    } else {
        format!("{}d {}h", secs / 86_400, (secs % 86_400) / 3600)
    }
}

/// "14:05" for today's times, "Nov 12 14:05" for others (fleet clock, UTC).
pub fn time(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M").to_string()
    } else {
        at.format("%b %d %H:%M").to_string()
    }
}

/// A time in at most 6 columns, for narrow tables: "14:10" today, "Nov 12" another day.
pub fn short_time(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M").to_string()
    } else {
        at.format("%b %d").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_removed() {
        assert_eq!(clean("plain"), "plain");
        assert_eq!(clean("red\u{1b}[31mtext\u{1b}[0m"), "redtext");
        assert_eq!(clean("title\u{1b}]0;pwned\u{7}ok"), "titleok");
        assert_eq!(clean("osc\u{1b}]8;;http://x\u{1b}\\link"), "osclink");
        assert_eq!(clean("bell\u{7}\u{8}back"), "bellback");
        assert_eq!(clean("two\nlines\ttab"), "two lines tab");
        assert_eq!(clean("c1\u{9b}2Jclear"), "c1clear");
    }

    #[test]
    fn fit_counts_columns() {
        assert_eq!(fit("abcdef", 10), "abcdef");
        assert_eq!(fit("abcdef", 4), "abc…");
        // Wide characters take two columns.
        assert_eq!(fit("日本語テキスト", 5), "日本…");
        assert!(width(&fit("日本語テキスト", 5)) <= 5);
        assert_eq!(fit("\u{1b}[2Jabc", 3), "abc");
    }

    #[test]
    fn wrap_breaks_at_spaces_within_the_width() {
        assert_eq!(wrap("one two three four", 9), ["one two", "three", "four"]);
        assert_eq!(wrap("", 9), [""]);
        assert_eq!(
            wrap("averyveryverylongword and more", 8),
            ["averyve…", "and more"]
        );
        for line in wrap("a\u{1b}[31m red \u{7} word list that goes on", 6) {
            assert!(width(&line) <= 6, "{line}");
            assert!(!line.contains('\u{1b}'));
        }
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(Duration::seconds(3)), "3s");
        assert_eq!(duration(Duration::seconds(125)), "2m");
        assert_eq!(duration(Duration::seconds(7500)), "2h 05m");
        assert_eq!(duration(Duration::seconds(3 * 86_400 + 4 * 3600)), "3d 4h");
        assert_eq!(duration(Duration::seconds(-5)), "0s");
    }

    #[test]
    fn short_time_keeps_the_day_of_month_whole() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let now = at("2026-11-14T14:05:00Z");
        assert_eq!(short_time(at("2026-11-14T09:30:00Z"), now), "09:30");
        assert_eq!(short_time(at("2026-11-12T14:10:00Z"), now), "Nov 12");
        assert!(short_time(at("2026-11-12T14:10:00Z"), now).len() <= 6);
    }
}
