//! Untrusted text made safe to show: escape sequences, controls and bidi, format and
//! invisible characters removed, widths measured in display columns; durations and
//! times in the console's short words. The server refuses the same characters in
//! reasons, tickets and names ([`first_unsafe`]). Shared by the app, the views and the audit table.

use std::borrow::Cow;

use chrono::{DateTime, Duration, Utc};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// What makes a character unfit to show or to keep in a reason, ticket or name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsafe {
    /// C0 and C1 controls and DEL (escape sequences start with one).
    Control,
    /// Reorders the text around it: bidi embeddings, overrides, isolates and marks.
    Bidi,
    /// Invisible formatting: zero-width spaces and joiners, word joiner, soft hyphen,
    /// the byte order mark, tags, interlinear annotation.
    Format,
    /// Shows as nothing though it is not formatting: Hangul fillers, the combining
    /// grapheme joiner.
    Invisible,
    /// Breaks a line where none is expected: U+2028, U+2029.
    Separator,
}

impl Unsafe {
    /// "a control character", "a bidi control", ...
    pub fn words(self) -> &'static str {
        match self {
            Unsafe::Control => "a control character",
            Unsafe::Bidi => "a bidi control",
            Unsafe::Format => "an invisible format character",
            Unsafe::Invisible => "an invisible character",
            Unsafe::Separator => "a line separator",
        }
    }
}

/// Why `c` must not be shown as it is, if it must not.
pub fn unsafe_char(c: char) -> Option<Unsafe> {
    match c {
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => Some(Unsafe::Control),
        '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            Some(Unsafe::Bidi)
        }
        '\u{ad}'
        | '\u{600}'..='\u{605}'
        | '\u{6dd}'
        | '\u{70f}'
        | '\u{890}'..='\u{891}'
        | '\u{8e2}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200d}'
        | '\u{2060}'..='\u{2064}'
        | '\u{206a}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{110bd}'
        | '\u{110cd}'
        | '\u{13430}'..='\u{1343f}'
        | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0001}'
        | '\u{e0020}'..='\u{e007f}' => Some(Unsafe::Format),
        '\u{34f}' | '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' => Some(Unsafe::Invisible),
        '\u{2028}' | '\u{2029}' => Some(Unsafe::Separator),
        _ => None,
    }
}

/// The first character of `text` that must not be kept: its position (1-based, in
/// characters), the character and why.
pub fn first_unsafe(text: &str) -> Option<(usize, char, Unsafe)> {
    text.chars()
        .enumerate()
        .find_map(|(i, c)| unsafe_char(c).map(|why| (i + 1, c, why)))
}

/// Strip whole escape sequences (ECMA-48: CSI with its parameters and intermediates,
/// `ESC` with intermediate bytes such as `ESC ( 0`, two-byte escapes, and the string
/// controls OSC, DCS, SOS, PM and APC up to their terminator, in 7-bit and C1 form),
/// every other control, and the bidi, format and invisible characters of
/// [`unsafe_char`]. Tabs, newlines and line separators become spaces.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| unsafe_char(c).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek().copied() {
                Some('[') => {
                    chars.next();
                    skip_control_sequence(&mut chars);
                }
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_control_string(&mut chars);
                }
                // nF: intermediates, then one final byte (`ESC ( 0`, `ESC # 8`).
                Some('\u{20}'..='\u{2f}') => {
                    while chars
                        .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                        .is_some()
                    {}
                    chars.next_if(|c| ('\u{30}'..='\u{7e}').contains(c));
                }
                // Two-byte escapes (`ESC 7`, `ESC c`, `ESC M`).
                Some('\u{30}'..='\u{7e}') => {
                    chars.next();
                }
                _ => {}
            },
            '\u{9b}' => skip_control_sequence(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_control_string(&mut chars),
            '\t' | '\n' | '\r' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if unsafe_char(c).is_some() => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// After a CSI: parameter bytes, intermediate bytes, one final byte. A character that
/// cannot be part of the sequence ends it and is read as text again.
fn skip_control_sequence(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars
        .next_if(|c| ('\u{30}'..='\u{3f}').contains(c))
        .is_some()
    {}
    while chars
        .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
        .is_some()
    {}
    chars.next_if(|c| ('\u{40}'..='\u{7e}').contains(c));
}

/// After OSC, DCS, SOS, PM or APC: everything up to BEL or ST (`ESC \\` or U+009C).
fn skip_control_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                chars.next_if_eq(&'\\');
                break;
            }
            _ => {}
        }
    }
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
    fn whole_sequences_go_not_just_their_escape() {
        // nF escapes with intermediates: `ESC ( 0` switches to line drawing.
        assert_eq!(clean("a\u{1b}(0b"), "ab");
        assert_eq!(clean("a\u{1b}#8b"), "ab");
        // Two-byte escapes.
        assert_eq!(clean("a\u{1b}7b\u{1b}cc"), "abc");
        // CSI with private parameters and intermediates.
        assert_eq!(clean("a\u{1b}[?1049hb\u{1b}[1 qc"), "abc");
        // C1 string controls keep nothing of their payload.
        assert_eq!(clean("a\u{9d}0;title\u{9c}b"), "ab");
        assert_eq!(clean("a\u{90}1$r\u{1b}\\b"), "ab");
        assert_eq!(clean("a\u{9f}payload\u{7}b"), "ab");
        assert_eq!(clean("a\u{98}sos\u{9c}b"), "ab");
        // Bidi, zero-width and other invisible characters.
        assert_eq!(clean("evil\u{202e}txt.exe"), "eviltxt.exe");
        assert_eq!(clean("al\u{200b}ice\u{2066}\u{2069}\u{ad}"), "alice");
        assert_eq!(clean("tag\u{e0041}s\u{3164}"), "tags");
        assert_eq!(clean("line\u{2028}sep"), "line sep");
        // An unterminated sequence takes the rest, never half of it.
        assert_eq!(clean("a\u{1b}]0;never ends"), "a");
        assert_eq!(clean("a\u{1b}"), "a");
    }

    #[test]
    fn the_first_unsafe_character_is_named_with_its_place() {
        assert_eq!(first_unsafe("fine"), None);
        assert_eq!(
            first_unsafe("ab\u{202e}c"),
            Some((3, '\u{202e}', Unsafe::Bidi))
        );
        assert_eq!(
            first_unsafe("\u{1b}[0m"),
            Some((1, '\u{1b}', Unsafe::Control))
        );
        assert_eq!(
            first_unsafe("x\u{200b}"),
            Some((2, '\u{200b}', Unsafe::Format))
        );
        // Emoji with a variation selector and wide text are fine.
        assert_eq!(first_unsafe("ok \u{2705}\u{fe0f} 日本"), None);
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
