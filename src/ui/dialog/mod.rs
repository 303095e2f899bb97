//! Dialogs drawn over the screen: action confirmation with the blast radius, the
//! emergency wizard, leaving emergency mode; and the emergency checklist.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use tui_input::Input;

mod checklist;
mod plan;

pub use checklist::{checklist_lines, checklist_summary};

use super::Look;
use crate::app::confirm::{ConfirmDialog, Field, Stage};
use crate::app::plan as planning;
use crate::app::{App, Dialog, EmergencyWizard, WizardStep};
use crate::model::PendingEmergency;
use crate::text::{self, clean, fit};
use crate::theme::Theme;

/// A centred area of at most `width` x `height`.
fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

/// A dialog's box: how wide, its title and border, and its lines (before wrapping):
/// the body, and the form under it (`pinned`: the fields and the keys), which stays in
/// view while a body taller than the terminal scrolls.
struct Popup<'a> {
    width: u16,
    title: String,
    border: Style,
    lines: Vec<Line<'a>>,
    pinned: Vec<Line<'a>>,
}

pub fn draw(app: &App, look: &Look, frame: &mut Frame, dialog: &Dialog, area: Rect) {
    let content = content(app, &look.theme, dialog, area);
    popup(frame, area, content, app.dialog_scroll, &look.theme);
}

/// Rows the open dialog takes once wrapped in its box over `area`: what
/// `app::viewport::scroll_max` scrolls it by (PgUp/PgDn).
pub fn rows(app: &App, dialog: &Dialog, area: Rect) -> u16 {
    let content = content(app, &Theme::default(), dialog, area);
    let width = content.width.saturating_sub(2);
    let lines = crate::ui::scroll::hang(owned(content.lines), width).len()
        + crate::ui::scroll::hang(owned(content.pinned), width).len();
    u16::try_from(lines).unwrap_or(u16::MAX)
}

fn owned(lines: Vec<Line<'_>>) -> Vec<Line<'static>> {
    lines
        .into_iter()
        .map(|line| {
            Line::from(
                line.spans
                    .into_iter()
                    .map(|s| Span::styled(s.content.into_owned(), s.style))
                    .collect::<Vec<_>>(),
            )
            .style(line.style)
        })
        .collect()
}

fn content<'a>(app: &App, theme: &Theme, dialog: &'a Dialog, area: Rect) -> Popup<'a> {
    match dialog {
        Dialog::Confirm(confirm) => draw_confirm(app, theme, confirm, area),
        Dialog::Emergency(wizard) => draw_wizard(app, theme, wizard, area),
        Dialog::LeaveEmergency { cve, input } => {
            let lines = vec![
                Line::from("Leave emergency mode? The emergency deployment itself goes on;"),
                Line::from("the console stops showing the checklist and the red border."),
                Line::from(""),
                input_line(
                    theme,
                    &format!("Type {} to confirm", clean(cve)),
                    input,
                    true,
                ),
                Line::from(""),
                Line::from(Span::styled("Enter leave   Esc stay", theme.muted)),
            ];
            Popup {
                width: 70,
                title: " Leave EMERGENCY mode ".into(),
                border: theme.emergency,
                lines,
                pinned: Vec::new(),
            }
        }
        Dialog::Quit { unanswered } => {
            let lines = vec![
                Line::from(format!(
                    "{unanswered} action{} sent and not answered yet: whether the server acted is not known.",
                    if *unanswered == 1 { "" } else { "s" }
                )),
                Line::from("Quitting records them as unknown in the local audit log."),
                Line::from(""),
                Line::from(Span::styled("y quit   any other key stays", theme.muted)),
            ];
            Popup {
                width: 64,
                title: " Quit? ".into(),
                border: theme.warn,
                lines,
                pinned: Vec::new(),
            }
        }
    }
}

/// Draw a dialog's lines in a bordered box centred in `area`, as tall as the lines
/// need once wrapped to the box's width. Taller than `area`, the body is scrolled
/// `scroll` rows (clamped) above the pinned form, and the border says which lines of the
/// body are in view and that more is below. The arithmetic is
/// `app::viewport::scroll_limit` of all the rows, as [`rows`] counts them.
fn popup(frame: &mut Frame, area: Rect, content: Popup, scroll: u16, theme: &Theme) {
    let Popup {
        width,
        title,
        border,
        lines,
        pinned,
    } = content;
    let hang = |lines| crate::ui::scroll::hang(owned(lines), width.saturating_sub(2));
    let mut body = hang(lines);
    let mut pinned = hang(pinned);
    let count = |lines: &[Line]| u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let total = count(&body).saturating_add(count(&pinned));
    let height = total.saturating_add(2).min(area.height);
    let inner = height.saturating_sub(2);
    // A form that leaves the body no row is not pinned: all of it scrolls.
    if count(&pinned) >= inner {
        body.append(&mut pinned);
    }
    let body_rows = inner.saturating_sub(count(&pinned));
    let rect = centred(area, width, height);
    let max = crate::app::viewport::scroll_limit(total, area);
    let offset = scroll.min(max);
    frame.render_widget(Clear, rect);
    let mut block = Block::bordered()
        .title(Span::styled(title, border.add_modifier(Modifier::BOLD)))
        .border_style(border);
    if max > 0 {
        let all = count(&body);
        let last = (offset + body_rows).min(all);
        let more = if last < all { ", more below" } else { "" };
        block = block.title_bottom(Line::styled(
            format!(" lines {}-{last} of {all}{more}: PgUp PgDn ", offset + 1),
            theme.muted,
        ));
    }
    let room = block.inner(rect);
    frame.render_widget(block, rect);
    let [top, bottom] = Layout::vertical([
        Constraint::Length(body_rows),
        Constraint::Length(count(&pinned)),
    ])
    .areas(room);
    frame.render_widget(Paragraph::new(body).scroll((offset, 0)), top);
    frame.render_widget(Paragraph::new(pinned), bottom);
}

fn input_line<'a>(theme: &Theme, label: &str, input: &Input, focused: bool) -> Line<'a> {
    let marker = if focused { "> " } else { "  " };
    let value = input.value().to_string();
    let mut spans = vec![
        Span::styled(
            format!("{marker}{label}: "),
            if focused { theme.title } else { theme.muted },
        ),
        Span::styled(value, theme.text.add_modifier(Modifier::UNDERLINED)),
    ];
    if focused {
        spans.push(Span::styled("_", theme.accent));
    }
    Line::from(spans)
}

fn fact<'a>(theme: &Theme, name: &str, value: String, style: Style) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("  {name:<9}"), theme.muted),
        Span::styled(value, style),
    ])
}

fn draw_confirm<'a>(app: &App, theme: &Theme, confirm: &ConfirmDialog, area: Rect) -> Popup<'a> {
    let plan = &confirm.plan;
    let emergency = plan.verb == crate::model::Verb::Emergency;
    let border = if emergency || plan.confirm_text.is_some() {
        theme.fail
    } else {
        theme.accent
    };
    let width = area.width.saturating_sub(4).min(96);
    let text_width = usize::from(width.saturating_sub(14));
    // Confirming a request shows the request first; on a short terminal the plan then
    // keeps to its stages, hosts and first notes.
    let tall = area.height >= 30;
    let mut lines = Vec::new();
    if let Some(request) = &confirm.request {
        lines.extend(request_lines(
            app,
            theme,
            request,
            text_width,
            if tall { 4 } else { 2 },
        ));
    }
    // Short, and the request takes its rows: the plan keeps to its stages and hosts.
    let tight = !tall && confirm.request.is_some();
    lines.extend(plan::approval_lines(
        theme,
        &confirm.server,
        text_width,
        tight,
    ));
    lines.extend(plan::plan_lines(
        app,
        theme,
        plan.verb,
        &confirm.server,
        &plan.notes,
        text_width,
        if tight {
            plan::Room::Tight
        } else {
            plan::Room::Full
        },
    ));
    let body = std::mem::take(&mut lines);
    lines.push(Line::from(""));
    let required = if plan.needs_reason() {
        " (required)"
    } else {
        " (optional)"
    };
    let editing = confirm.stage == Stage::Editing;
    lines.push(input_line(
        theme,
        &format!("Reason{required}"),
        &confirm.reason,
        editing && confirm.field == Field::Reason,
    ));
    lines.push(input_line(
        theme,
        &format!("Ticket{required}"),
        &confirm.ticket,
        editing && confirm.field == Field::Ticket,
    ));
    let fields = confirm.fields();
    for (field, label, input) in [
        (Field::Owner, "Owner, person or team", &confirm.owner),
        (
            Field::Control,
            "Compensating control (required)",
            &confirm.control,
        ),
        (
            Field::Expires,
            "Expires: days or a date (required)",
            &confirm.expires,
        ),
        (Field::Scope, "One patch (KB; blank: all)", &confirm.scope),
    ] {
        if fields.contains(&field) {
            lines.push(input_line(
                theme,
                label,
                input,
                editing && confirm.field == field,
            ));
        }
    }
    if confirm.override_needed().is_some() {
        lines.push(input_line(
            theme,
            "Override reason (required)",
            &confirm.override_reason,
            editing && confirm.field == Field::Override,
        ));
    }
    if let Some(expected) = &plan.confirm_text {
        lines.push(input_line(
            theme,
            &format!("Type \"{}\" to confirm", fit(expected, 40)),
            &confirm.confirm,
            editing && confirm.field == Field::Confirm,
        ));
    }
    lines.push(Line::from(""));
    match &confirm.stage {
        Stage::Editing => {
            if let Some(error) = &confirm.error {
                lines.push(Line::from(Span::styled(
                    clean(error).into_owned(),
                    theme.fail,
                )));
            }
            lines.push(Line::from(Span::styled(
                format!(
                    "Enter {}  Tab next field  Esc cancel  ({} request{})",
                    if confirm.request.is_some() {
                        "confirms"
                    } else {
                        plan.verb.as_str()
                    },
                    plan.targets.len(),
                    if plan.targets.len() == 1 { "" } else { "s" }
                ),
                theme.muted,
            )));
        }
        Stage::Sending { waiting } => lines.push(Line::from(Span::styled(
            format!(
                "sending... {} of {} answered   Esc closes (results go to Actions)",
                plan.targets.len() - waiting.len(),
                plan.targets.len()
            ),
            theme.warn,
        ))),
        Stage::Problem { message, .. } => {
            for part in text::wrap(message, usize::from(width.saturating_sub(2))) {
                lines.push(Line::from(Span::styled(part, theme.fail)));
            }
        }
    }
    let title = format!(
        " {} ",
        fit(&plan.title, usize::from(width.saturating_sub(4)))
    );
    Popup {
        width,
        title,
        border,
        lines: body,
        pinned: lines,
    }
}

/// Confirming another approver's emergency: who asked and when, the ticket, why, the
/// patch and whether it may be expedited as is (what needs an override, in at most
/// `override_rows` rows).
fn request_lines<'a>(
    app: &App,
    theme: &Theme,
    request: &PendingEmergency,
    text_width: usize,
    override_rows: usize,
) -> Vec<Line<'a>> {
    let now = app.fleet_now();
    let mut lines = vec![fact(
        theme,
        "asked by",
        fit(
            &format!(
                "{} at {} (ticket {}), expires in {}",
                clean(&request.requested_by),
                text::time(request.requested_at, now),
                clean(&request.ticket),
                text::duration(request.expires_at - now)
            ),
            text_width,
        ),
        theme.text,
    )];
    lines.push(fact(
        theme,
        "why",
        fit(&clean(&request.reason), text_width),
        theme.text,
    ));
    let (exploited, style) = if request.exploited_cves.is_empty() {
        ("fixes no known exploited CVE".to_string(), theme.fail)
    } else {
        (
            format!("fixes exploited {}", request.exploited_cves.join(", ")),
            theme.text,
        )
    };
    lines.push(fact(
        theme,
        "patch",
        fit(
            &clean(&format!("{} ({}): {exploited}", request.kb, request.cve)),
            text_width,
        ),
        style,
    ));
    if let Some(why) = &request.override_needed {
        let mut parts = text::wrap(&format!("NEEDED: {}", clean(why)), text_width);
        if parts.len() > override_rows {
            parts.truncate(override_rows.max(1));
            if let Some(last) = parts.last_mut() {
                *last = fit(&format!("{last} ..."), text_width);
            }
        }
        for (i, part) in parts.into_iter().enumerate() {
            lines.push(fact(
                theme,
                if i == 0 { "override" } else { "" },
                part,
                theme.fail,
            ));
        }
    }
    lines.push(Line::from(""));
    lines
}

fn draw_wizard<'a>(app: &App, theme: &Theme, wizard: &EmergencyWizard, area: Rect) -> Popup<'a> {
    let candidates = planning::emergency_candidates(&app.fleet);
    let width = area.width.saturating_sub(4).min(96);
    let mut lines = vec![Line::from(vec![
        Span::styled("Step ", theme.muted),
        Span::styled(
            match wizard.step {
                WizardStep::Patch => "1 of 4: the patch (or CVE) to rush out",
                WizardStep::Targets => "2 of 4: the targets, in patching order",
                WizardStep::RollbackPlan => "3 of 4: the rollback plan",
            },
            theme.title,
        ),
        Span::styled("  (4: reason, ticket, CVE)", theme.muted),
    ])];
    lines.push(Line::from(""));
    let chosen = candidates.get(wizard.selected);
    match wizard.step {
        WizardStep::Patch => {
            let visible = usize::from(area.height.saturating_sub(10)).max(3);
            let offset = crate::app::visible_offset(0, wizard.selected, visible);
            let kb_width = candidates
                .iter()
                .map(|p| text::width(&p.kb))
                .max()
                .unwrap_or(9);
            for (index, patch) in candidates.iter().enumerate().skip(offset).take(visible) {
                // The patch that fixes an exploited CVE says so before its title, so
                // the badge is never the part cut to fit.
                let badge = if patch.exploited_cves.is_empty() {
                    String::new()
                } else {
                    format!("EXPLOITED {} ", clean(&patch.exploited_cves.join(" ")))
                };
                let (style, loud) = if index == wizard.selected {
                    (theme.selected, theme.selected.add_modifier(Modifier::BOLD))
                } else {
                    (theme.text, theme.fail.add_modifier(Modifier::BOLD))
                };
                let head = format!(
                    "{:<kb_width$} {:<9} ",
                    clean(&patch.kb),
                    format!("{:?}", patch.severity)
                );
                let room = usize::from(width.saturating_sub(4))
                    .saturating_sub(text::width(&head) + text::width(&badge));
                lines.push(Line::from(vec![
                    Span::styled(head, style),
                    Span::styled(badge, loud),
                    Span::styled(fit(&patch.title, room), style),
                ]));
            }
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "j/k choose   Enter next   Esc cancel",
                theme.muted,
            )));
        }
        WizardStep::Targets => {
            if let Some(patch) = chosen {
                lines.push(Line::from(format!(
                    "{} {}",
                    clean(&patch.kb),
                    fit(&patch.title, 70)
                )));
            }
            let text_width = usize::from(width.saturating_sub(4));
            lines.extend(wizard_stages(theme, wizard, text_width));
            lines.push(Line::from(Span::styled(
                "Maintenance windows and user deferrals are overridden; servers keep their reboot order.",
                theme.warn,
            )));
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "Enter next   Backspace back   Esc cancel",
                theme.muted,
            )));
        }
        WizardStep::RollbackPlan => {
            if let Some(patch) = chosen {
                lines.push(Line::from(if patch.uninstallable {
                    Span::styled(format!("{} can be uninstalled: rollback uninstalls it and reboots.", clean(&patch.kb)), theme.text)
                } else {
                    Span::styled(
                        format!("{} CANNOT be uninstalled: rollback means restoring from backup or snapshot.", clean(&patch.kb)),
                        theme.fail,
                    )
                }));
            }
            lines.push(Line::from(
                "Before starting: the rollback plan is written down, the restore path is tested, and the people who would run it are on the call.",
            ));
            lines.push(Line::from(""));
            let mark = if wizard.rollback_plan_ready {
                "[x]"
            } else {
                "[ ]"
            };
            lines.push(Line::from(Span::styled(
                format!("{mark} the emergency rollback plan is ready"),
                theme.title,
            )));
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "Space tick   Enter next   Backspace back   Esc cancel",
                theme.muted,
            )));
        }
    }
    if let Some(error) = &wizard.error {
        lines.push(Line::from(Span::styled(error.clone(), theme.fail)));
    }
    Popup {
        width,
        title: " EMERGENCY deployment ".into(),
        border: theme.emergency,
        lines,
        pinned: Vec::new(),
    }
}

/// The stages the server would create for the chosen patch, in patching order, and
/// what it says about them (an empty look-alike stage, the two-person rule).
fn wizard_stages<'a>(theme: &Theme, wizard: &EmergencyWizard, text_width: usize) -> Vec<Line<'a>> {
    let Some(server) = &wizard.plan else {
        return Vec::new();
    };
    if server.is_planning() {
        return vec![Line::from(Span::styled(
            "  planning... (asking the server for the stages it would create)",
            theme.warn,
        ))];
    }
    let mut lines = plan::approval_lines(theme, server, text_width.saturating_sub(11), false);
    for stage in server.stages() {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:>6} hosts  ", stage.hosts), theme.accent),
            Span::styled(
                fit(
                    &clean(stage.ring_name.trim_start_matches("Emergency: ")),
                    text_width.saturating_sub(16),
                ),
                theme.text,
            ),
        ]));
    }
    for refused in server.refused() {
        for part in text::wrap(&clean(refused), text_width) {
            lines.push(Line::from(Span::styled(part, theme.fail)));
        }
    }
    let notes = server.each(|p| &p.notes);
    let skipped = server.skipped();
    for note in notes
        .iter()
        .copied()
        .chain(skipped.iter().map(String::as_str))
    {
        for part in text::wrap(&clean(note), text_width) {
            lines.push(Line::from(Span::styled(part, theme.warn)));
        }
    }
    lines
}
