//! The view: draws the app's state, reads nothing else. One module per part.

pub mod detail;
pub mod dialog;
pub mod mouse;
pub mod panes;
pub mod scroll;
pub mod words;

pub use mouse::spot_at;
pub use words::Loudness;

use chrono::FixedOffset;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::app::{App, MIN_HEIGHT, MIN_WIDTH, Mode, Screen};
use crate::keys::KeyAction;
use crate::text;
use crate::theme::Theme;

/// Presentation settings the view needs besides the state.
#[derive(Debug, Clone)]
pub struct Look {
    pub theme: Theme,
    /// The operator's local offset, for the header clock.
    pub local_offset: FixedOffset,
}

impl Default for Look {
    fn default() -> Self {
        Look {
            theme: Theme::default(),
            local_offset: FixedOffset::east_opt(0).expect("zero offset"),
        }
    }
}

/// Draw the whole screen.
pub fn view(app: &App, look: &Look, frame: &mut Frame) {
    let area = frame.area();
    if app.too_small() {
        draw_too_small(app, frame, area);
        return;
    }
    // Emergency mode changes the whole look: red accents, a checklist on top.
    let emergency_look;
    let look = match app.emergency() {
        Some(_) => {
            let mut changed = look.clone();
            // Red, but not reversed: reverse video is for badges and the selection.
            let red = look.theme.emergency.remove_modifier(Modifier::REVERSED);
            changed.theme.accent = red;
            changed.theme.title = red;
            emergency_look = changed;
            &emergency_look
        }
        None => look,
    };
    let layout = crate::app::viewport::main_layout(app, area);
    draw_header(app, look, frame, layout.header);
    let body = layout.body;
    if let (Some(banner), Some(words)) = (layout.banner, crate::app::viewport::banner_words(app)) {
        let style = look
            .theme
            .emergency
            .add_modifier(Modifier::REVERSED | Modifier::BOLD);
        let rows: Vec<Line> = detail::capped_lines(
            &words,
            usize::from(banner.width),
            usize::from(banner.height),
        )
        .into_iter()
        .map(|row| Line::from(Span::styled(row, style)))
        .collect();
        frame.render_widget(Paragraph::new(rows), banner);
    }
    if let (Some(emergency), Some(checklist)) = (app.emergency(), layout.checklist)
        && app.checklist_is_folded()
    {
        let line = dialog::checklist_summary(app, emergency);
        frame.render_widget(
            Paragraph::new(Span::styled(
                text::fit(&line, usize::from(checklist.width)),
                look.theme.emergency.add_modifier(Modifier::REVERSED),
            )),
            checklist,
        );
    } else if let (Some(emergency), Some(checklist)) = (app.emergency(), layout.checklist) {
        // Each check on its line, cut with a marker (`c` folds the box away).
        let room = usize::from(checklist.width.saturating_sub(2));
        let lines: Vec<Line> = dialog::checklist_lines(app, &look.theme, emergency)
            .into_iter()
            .map(|line| {
                let style = line.spans.first().map(|s| s.style).unwrap_or_default();
                let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
                Line::from(Span::styled(text::fit(&text, room), style))
            })
            .collect();
        let block = Block::bordered()
            .border_style(look.theme.emergency)
            .title(Span::styled(
                format!(
                    " EMERGENCY {}: checklist (c folds, E to leave) ",
                    text::clean(&emergency.cve)
                ),
                look.theme.emergency.add_modifier(Modifier::REVERSED),
            ));
        frame.render_widget(Paragraph::new(lines).block(block), checklist);
    }
    match app.screen() {
        None => {
            for (pane, rect) in &layout.panes {
                panes::draw(app, look, frame, *pane, *rect, layout.tabbed);
            }
        }
        Some(Screen::Help) => draw_help(app, look, frame, body),
        Some(screen) => detail::draw(app, look, frame, screen, body),
    }
    if let Some(notice) = app.notice.as_deref().filter(|_| app.dialog.is_none()) {
        draw_notice(look, frame, notice, layout.body);
    }
    if let Some(open) = &app.dialog {
        dialog::draw(app, look, frame, open, layout.body);
    }
    draw_footer(app, look, frame, layout.footer);
    if let Some(flash) = app
        .flash
        .as_ref()
        .filter(|_| app.dialog.is_none() && matches!(app.mode, crate::app::Mode::Normal))
    {
        draw_long_flash(look, frame, flash, layout.footer);
    }
}

/// Rows of a message too long for the footer, at most (cut there, marked `…`).
const FLASH_ROWS: usize = 4;

/// A message wider than the footer: all of it, wrapped upwards from the footer over the
/// bottom of the body (up to [`FLASH_ROWS`] rows), until it goes.
fn draw_long_flash(look: &Look, frame: &mut Frame, flash: &crate::app::Flash, footer: Rect) {
    let Some((area, rows)) = long_flash(flash, footer) else {
        return;
    };
    let style = if flash.error {
        look.theme.fail
    } else {
        look.theme.ok
    };
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|row| Line::from(Span::styled(row, style)))
        .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines), area);
}

/// Where a message wider than the footer is drawn, with its rows; `None` if it fits.
pub(crate) fn long_flash(flash: &crate::app::Flash, footer: Rect) -> Option<(Rect, Vec<String>)> {
    let width = usize::from(footer.width);
    if text::width(&text::clean(&flash.text)) <= width {
        return None;
    }
    let rows = detail::capped_lines(&flash.text, width, FLASH_ROWS);
    let height = u16::try_from(rows.len()).unwrap_or(1).min(footer.y + 1);
    let area = Rect::new(footer.x, footer.y + 1 - height, footer.width, height);
    Some((area, rows))
}

/// Where a notice's box goes: at the bottom of the body, as tall as its words.
pub(crate) fn notice_area(notice: &str, body: Rect) -> Rect {
    let width = body.width.saturating_sub(4).max(1);
    let rows =
        (text::width(&text::clean(notice)) as u16).div_ceil(width.saturating_sub(2).max(1)) + 2;
    let height = rows.min(body.height / 2).max(3);
    Rect::new(
        body.x + 2,
        body.y + body.height.saturating_sub(height),
        width,
        height,
    )
}

/// A notice the operator must read, in a box at the bottom of the body until Esc.
fn draw_notice(look: &Look, frame: &mut Frame, notice: &str, body: Rect) {
    let area = notice_area(notice, body);
    let (width, height) = (area.width, area.height);
    let text = text::clean(notice);
    let block = Block::bordered()
        .border_style(look.theme.fail)
        .title(Span::styled(
            " NOTICE ",
            look.theme.fail.add_modifier(Modifier::REVERSED),
        ))
        .title_bottom(Line::from(" Esc: read ").alignment(Alignment::Right));
    // Taller than its box: cut at its last row, marked.
    let lines: Vec<Line> = detail::capped_lines(
        &text,
        usize::from(width.saturating_sub(2).max(1)),
        usize::from(height.saturating_sub(2).max(1)),
    )
    .into_iter()
    .map(|row| Line::from(Span::styled(row, look.theme.text)))
    .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_too_small(app: &App, frame: &mut Frame, area: Rect) {
    let message = format!(
        "terminal too small (need {MIN_WIDTH}x{MIN_HEIGHT}, have {}x{})",
        app.width, app.height
    );
    let lines = vec![Line::from(message), Line::from("q quits")];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
}

/// The time-dependent words on screen; the app redraws when they change, so an idle
/// console writes nothing between minutes.
pub fn time_marks(app: &App) -> String {
    crate::app::viewport::time_marks(app)
}

/// What the header says about the connection, and how loud.
pub fn connection_label(app: &App) -> (String, Loudness) {
    use crate::app::viewport::{ConnectionHealth, connection_words};
    let (words, health) = connection_words(app);
    let loudness = match health {
        ConnectionHealth::Live => Loudness::Ok,
        ConnectionHealth::Degraded => Loudness::Warn,
        ConnectionHealth::Stale => Loudness::Fail,
    };
    (words, loudness)
}

fn badge(text: &str, style: Style) -> Span<'static> {
    Span::styled(
        format!(" {text} "),
        style.add_modifier(Modifier::REVERSED | Modifier::BOLD),
    )
}

fn draw_header(app: &App, look: &Look, frame: &mut Frame, area: Rect) {
    let theme = &look.theme;
    let sep = || Span::styled("  ", theme.muted);
    let mut first = vec![Span::styled("patchdeck", theme.title)];
    if app.context.demo {
        first.push(Span::raw(" "));
        first.push(badge("DEMO", theme.accent));
    }
    if let Some(emergency) = app
        .fleet
        .summary
        .as_ref()
        .and_then(|s| s.emergency.as_ref())
    {
        first.push(Span::raw(" "));
        first.push(badge(
            &format!("EMERGENCY {}", text::clean(&emergency.cve)),
            theme.emergency,
        ));
    }
    if app.context.read_only {
        first.push(Span::raw(" "));
        first.push(badge("READ-ONLY", theme.warn));
    }
    if app.context.insecure_http {
        first.push(Span::raw(" "));
        first.push(badge("INSECURE", theme.fail));
    }
    if app.gateway_degraded() {
        first.push(Span::raw(" "));
        first.push(badge("DEGRADED", theme.fail));
    }
    first.push(sep());
    first.push(Span::styled(text::fit(&app.context.name, 16), theme.accent));
    // The URL only where there is room: the badges and the identity come first.
    let emergency_badge = app
        .fleet
        .summary
        .as_ref()
        .is_some_and(|s| s.emergency.is_some());
    let crowded = emergency_badge || app.context.read_only || app.context.insecure_http;
    if area.width >= 120 || !crowded {
        first.push(Span::raw(" "));
        first.push(Span::styled(
            text::fit(&app.context.api_url, if area.width < 120 { 22 } else { 40 }),
            theme.muted,
        ));
    }
    first.push(sep());
    let (label, loudness) = connection_label(app);
    first.push(Span::styled(
        label,
        loudness.style(theme).add_modifier(Modifier::BOLD),
    ));
    first.push(sep());
    match &app.identity {
        Some(identity) => first.push(Span::styled(
            format!(
                "{} ({})",
                text::fit(&identity.name, 16),
                identity.role.as_str()
            ),
            theme.text,
        )),
        None => first.push(Span::styled("identity unknown", theme.muted)),
    }

    let mut second = Vec::new();
    let narrow = area.width < 120;
    match &app.fleet.summary {
        Some(summary) => {
            let now = app.fleet_now();
            let local = now.with_timezone(&look.local_offset);
            if !narrow {
                second.push(Span::styled(text::fit(&summary.name, 24), theme.text));
                if let Some(scenario) = &summary.scenario {
                    second.push(Span::styled(
                        format!(" [{}]", text::fit(scenario, 16)),
                        theme.muted,
                    ));
                }
                second.push(sep());
            }
            let clock = if narrow { "%a %H:%M" } else { "%a %b %d %H:%M" };
            second.push(Span::styled(
                format!("{} UTC", now.format(clock)),
                theme.text,
            ));
            second.push(Span::styled(
                format!("/{} local", local.format("%H:%M")),
                theme.muted,
            ));
            if summary.clock_speed != 1.0 {
                second.push(Span::styled(
                    format!(" x{}", summary.clock_speed),
                    theme.muted,
                ));
            }
            if app.clock_frozen() {
                // The clocks and every countdown stand still with the data.
                second.push(Span::styled(
                    " FROZEN",
                    theme.fail.add_modifier(Modifier::BOLD),
                ));
            }
            second.push(sep());
            let since = now - summary.patch_tuesday;
            let label = if narrow { "PT" } else { "Patch Tuesday" };
            let when = if since.num_seconds() >= 0 {
                format!("{label} +{}", text::duration(since))
            } else {
                format!("{label} in {}", text::duration(-since))
            };
            second.push(Span::styled(when, theme.text));
            let counts = summary.counts;
            second.push(sep());
            second.push(Span::styled(format!("{} hosts", counts.total), theme.text));
            if counts.failed > 0 {
                second.push(Span::styled(
                    format!(" {} failed", counts.failed),
                    theme.fail,
                ));
            }
            if counts.offline > 0 {
                second.push(Span::styled(
                    format!(" {} offline", counts.offline),
                    theme.muted,
                ));
            }
        }
        None if app.synced => {
            second.push(Span::styled("no summary from the server", theme.muted));
        }
        None => match app.link_error() {
            Some(error) => second.push(Span::styled(
                text::fit(error, usize::from(area.width)),
                theme.fail,
            )),
            None => second.push(Span::styled("loading the fleet...", theme.muted)),
        },
    }
    // Wider than the terminal: cut at the edge, marked.
    frame.render_widget(
        Paragraph::new(vec![
            fit_line(Line::from(first), area.width, false),
            fit_line(Line::from(second), area.width, false),
        ]),
        area,
    );
}

/// Keys that work where the operator is, for the footer.
pub fn footer_keys(app: &App) -> Vec<KeyAction> {
    use KeyAction as A;
    match app.screen() {
        Some(Screen::Help) => vec![A::Down, A::Up, A::PageDown, A::Bottom, A::Back, A::Quit],
        Some(Screen::Hosts(_)) => vec![
            A::Open,
            A::Select,
            A::SelectAll,
            A::Retry,
            A::Exclude,
            A::Rollback,
            A::Filter,
            A::Back,
            A::Help,
        ],
        Some(Screen::Ring(_)) => vec![A::PauseResume, A::Rollback, A::Back, A::Command, A::Help],
        Some(Screen::Deployment(_)) => vec![
            A::Approve,
            A::Decline,
            A::PauseResume,
            A::Halt,
            A::Rollback,
            A::Back,
            A::Help,
        ],
        // A host under an exception: its renewal and revocation too.
        Some(Screen::Host(id))
            if app
                .fleet
                .hosts
                .get(id.as_str())
                .is_some_and(|h| h.exception.is_some()) =>
        {
            vec![A::Renew, A::Revoke, A::Retry, A::Rollback, A::Back, A::Help]
        }
        Some(Screen::Host(_)) => vec![A::Retry, A::Exclude, A::Rollback, A::Back, A::Help],
        Some(Screen::Action(_)) => vec![A::Back, A::Command, A::Help, A::Quit],
        None => {
            let mut keys = vec![A::NextPane, A::Open];
            keys.extend(panes::view(app.focus).keys);
            keys.extend([
                A::Help,
                A::Quit,
                A::Emergency,
                A::Filter,
                A::Command,
                A::Zoom,
            ]);
            if app.emergency().is_some()
                && let Some(at) = keys.iter().position(|k| *k == A::Emergency)
            {
                keys.insert(at + 1, A::Checklist);
            }
            keys
        }
    }
}

fn draw_footer(app: &App, look: &Look, frame: &mut Frame, area: Rect) {
    let theme = &look.theme;
    let line = match &app.mode {
        Mode::Filter(input) => Line::from(vec![
            Span::styled("/", theme.title),
            Span::raw(input.value().to_string()),
            Span::styled("_", theme.accent.add_modifier(Modifier::SLOW_BLINK)),
            Span::styled("   Enter keep  Esc clear", theme.muted),
        ]),
        Mode::Command(input) => {
            let completions = crate::app::complete_command(app, input.value());
            let hint = if completions != input.value() {
                format!("   Tab: {}", text::fit(&completions, 40))
            } else {
                "   Tab complete  Enter run  Esc cancel".into()
            };
            Line::from(vec![
                Span::styled(":", theme.title),
                Span::raw(input.value().to_string()),
                Span::styled("_", theme.accent),
                Span::styled(hint, theme.muted),
            ])
        }
        Mode::Normal if app.dialog.is_some() => Line::from(Span::styled(
            format!(
                "{}{}",
                // A dialog taller than the terminal says how to see the rest.
                if crate::app::viewport::scroll_max(app) > 0 {
                    "PgDn/PgUp more  "
                } else {
                    ""
                },
                match &app.dialog {
                    Some(crate::app::Dialog::Emergency(_)) => {
                        "Enter next step  Backspace back  Space tick  Esc cancel"
                    }
                    Some(crate::app::Dialog::Quit { .. }) => "y quit  any other key stays",
                    _ => "Enter confirm  Tab next field  Esc cancel  (Ctrl-C quits)",
                }
            ),
            theme.muted,
        )),
        Mode::Normal => match &app.flash {
            Some(flash) => Line::from(Span::styled(
                text::fit(&flash.text, usize::from(area.width)),
                if flash.error { theme.fail } else { theme.ok },
            )),
            None => {
                let (mut spans, keys) = mouse::footer(app, theme, footer_keys(app));
                // Keys this identity may not use: together, dim, saying who may (many
                // terminals do not show strike-through, so it is only an extra).
                let mut off: Vec<(String, String)> = Vec::new();
                let mut off_at = None;
                for action in keys {
                    let Some(key) = app.keymap.primary(action) else {
                        continue;
                    };
                    if let Err(why) = app.availability(action) {
                        let marker = if app.context.read_only {
                            "off: read-only".to_string()
                        } else if why.starts_with(crate::app::NOT_ON_THIS_FLEET) {
                            "not on this fleet: ? says why".to_string()
                        } else {
                            let role = why
                                .strip_prefix("needs role ")
                                .and_then(|w| w.split(' ').next())
                                .unwrap_or("others");
                            format!("{role} only")
                        };
                        off_at.get_or_insert(spans.len());
                        match off.iter_mut().find(|(_, m)| *m == marker) {
                            Some((keys, _)) => keys.push_str(&format!("/{key}")),
                            None => off.push((key.to_string(), marker)),
                        }
                        continue;
                    }
                    let style = if action == KeyAction::Emergency {
                        theme.emergency
                    } else {
                        theme.title
                    };
                    spans.push(Span::styled(key.to_string(), style));
                    spans.push(Span::styled(format!(" {}  ", action.label()), theme.muted));
                }
                if let Some(at) = off_at {
                    let struck = theme
                        .muted
                        .add_modifier(Modifier::CROSSED_OUT | Modifier::DIM);
                    let words: Vec<Span> = off
                        .iter()
                        .flat_map(|(keys, marker)| {
                            [
                                Span::styled(format!("{keys} ({marker})"), struck),
                                Span::raw("  "),
                            ]
                        })
                        .collect();
                    spans.splice(at..at, words);
                }
                Line::from(spans)
            }
        },
    };
    frame.render_widget(Paragraph::new(fit_line(line, area.width, true)), area);
}

/// `line` cut to `width` columns, ending with `…` when something was cut: with
/// `whole_entries`, after the last whole entry that fits (entries end with two spaces,
/// as the footer's keys do: those cut are all in the help, `?`), else at the edge.
fn fit_line(line: Line<'_>, width: u16, whole_entries: bool) -> Line<'_> {
    let width = usize::from(width);
    if line.width() <= width || width == 0 {
        return line;
    }
    // The last entry boundary whose text (without its trailing spaces) leaves a column
    // for the mark.
    let mut used = 0;
    let mut boundary = None;
    for (i, span) in line.spans.iter().enumerate() {
        let trimmed = text::width(span.content.trim_end());
        if whole_entries && used + trimmed < width && span.content.ends_with("  ") {
            boundary = Some(i);
        }
        used += span.width();
        if used >= width {
            break;
        }
    }
    let style = line.style;
    let mut spans: Vec<Span> = line.spans;
    match boundary {
        Some(i) => {
            spans.truncate(i + 1);
            if let Some(last) = spans.last_mut() {
                last.content = last.content.trim_end().to_string().into();
            }
            spans.push(Span::raw("…"));
        }
        None => {
            let mut used = 0;
            let mut kept = Vec::new();
            for span in spans {
                if used + span.width() < width {
                    used += span.width();
                    kept.push(span);
                    continue;
                }
                // More follows this span: cut it (one column past the room) so that
                // it ends with the mark.
                let cut = text::fit(&format!("{} ", span.content), width - used);
                kept.push(Span::styled(cut, span.style));
                break;
            }
            spans = kept;
        }
    }
    Line::from(spans).style(style)
}

/// Rows the open dialog, else the open help or detail screen, takes drawn over the
/// body `area`, wrapped as drawn: the measure [`crate::app::viewport::scroll_max`]
/// scrolls by (the console gives it to the app as `App::scroll_rows`). None open: 0.
pub fn scroll_rows(app: &App, area: Rect) -> u16 {
    if let Some(open) = &app.dialog {
        return dialog::rows(app, open, area);
    }
    let width = area.width.saturating_sub(2);
    let theme = Theme::default();
    let lines = match app.screen() {
        Some(Screen::Help) => help_lines(app, &theme),
        Some(screen) => match detail::lines(app, &theme, screen, width) {
            Some((_, lines)) => lines,
            None => return 0,
        },
        None => return 0,
    };
    u16::try_from(scroll::hang(lines, width).len()).unwrap_or(u16::MAX)
}

fn draw_help(app: &App, look: &Look, frame: &mut Frame, area: Rect) {
    let theme = &look.theme;
    let lines = help_lines(app, theme);
    let block = Block::bordered()
        .title(Span::styled(" Help ", theme.title))
        .title_bottom(Line::from(" Esc closes ").alignment(Alignment::Right));
    frame.render_widget(Clear, area);
    scroll::draw(app, theme, frame, area, block, lines);
}

fn help_lines(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if app.context.read_only {
        lines.push(Line::from(Span::styled(
            "READ-ONLY: every action key is disabled (--read-only or the context's read_only).",
            theme.warn,
        )));
    }
    lines.push(Line::from(Span::styled(
        "Keys (from your key bindings)",
        theme.title,
    )));
    for action in KeyAction::ALL {
        let keys: Vec<String> = app
            .keymap
            .keys(action)
            .iter()
            .map(|k| k.to_string())
            .collect();
        if keys.is_empty() {
            continue;
        }
        let mut line = vec![
            Span::styled(format!("  {:<18}", keys.join(" ")), theme.accent),
            Span::styled(action.description().to_string(), theme.text),
        ];
        if let (false, Err(why)) = (app.context.read_only, app.availability(action)) {
            line.push(Span::styled(
                format!("  (unavailable here: {why})"),
                theme.warn,
            ));
        } else if let Some(note) = app.fleet_note(action) {
            line.push(Span::styled(format!("  (this fleet: {note})"), theme.muted));
        }
        lines.push(Line::from(line));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Commands (type : then Tab to complete)",
        theme.title,
    )));
    for (_, description) in crate::app::COMMANDS {
        lines.push(Line::from(Span::styled(
            format!("  :{description}"),
            theme.text,
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "States: waiting, deploying, soaking, paused, HALTED, done. Hosts: pending, downloading, installing, pending reboot, rebooting, verifying, succeeded, failed, rolled back, excluded, offline, deferred.",
        theme.muted,
    )));
    lines
}
