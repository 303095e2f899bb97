//! Dialogs drawn over the screen: action confirmation with the blast radius, the
//! emergency wizard, leaving emergency mode; and the emergency checklist.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use tui_input::Input;

use super::Look;
use crate::app::confirm::{ConfirmDialog, Field, Stage};
use crate::app::plan;
use crate::app::{App, Dialog, EmergencyWizard, WizardStep};
use crate::model::{Emergency, HostCounts, PendingEmergency};
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

/// A dialog's box: how wide, its title and border, and its lines (before wrapping).
struct Popup<'a> {
    width: u16,
    title: String,
    border: Style,
    lines: Vec<Line<'a>>,
}

pub fn draw(app: &App, look: &Look, frame: &mut Frame, dialog: &Dialog, area: Rect) {
    let content = content(app, &look.theme, dialog, area);
    popup(frame, area, content, app.dialog_scroll, &look.theme);
}

/// Rows the open dialog takes once wrapped in its box over `area`: what
/// `app::viewport::scroll_max` scrolls it by (PgUp/PgDn).
pub fn rows(app: &App, dialog: &Dialog, area: Rect) -> u16 {
    let content = content(app, &Theme::default(), dialog, area);
    let lines = crate::ui::scroll::hang(owned(content.lines), content.width.saturating_sub(2));
    u16::try_from(lines.len()).unwrap_or(u16::MAX)
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
            }
        }
    }
}

/// Draw a dialog's lines in a bordered box centred in `area`, as tall as the lines
/// need once wrapped to the box's width; taller than `area`, scrolled `scroll` rows
/// (clamped) with where the view is and the keys at the bottom.
fn popup(frame: &mut Frame, area: Rect, content: Popup, scroll: u16, theme: &Theme) {
    let Popup {
        width,
        title,
        border,
        lines,
    } = content;
    let lines = crate::ui::scroll::hang(owned(lines), width.saturating_sub(2));
    let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let height = total.saturating_add(2).min(area.height);
    let rect = centred(area, width, height);
    let max = crate::app::viewport::scroll_limit(total, area);
    let offset = scroll.min(max);
    frame.render_widget(Clear, rect);
    let mut block = Block::bordered()
        .title(Span::styled(title, border.add_modifier(Modifier::BOLD)))
        .border_style(border);
    if max > 0 {
        let last = (offset + height.saturating_sub(2)).min(total);
        let more = if last < total { ", more below" } else { "" };
        block = block.title_bottom(Line::styled(
            format!(" lines {}-{last} of {total}{more}: PgUp PgDn ", offset + 1),
            theme.muted,
        ));
    }
    frame.render_widget(Paragraph::new(lines).block(block).scroll((offset, 0)), rect);
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
    let blast = &plan.blast;
    let emergency = plan.verb == crate::model::Verb::Emergency;
    let border = if emergency || plan.confirm_text.is_some() {
        theme.fail
    } else {
        theme.accent
    };
    let width = area.width.saturating_sub(4).min(96);
    let text_width = usize::from(width.saturating_sub(14));
    // Confirming a request shows the request first; on a short terminal the blast
    // radius then keeps to its hosts and windows.
    let tall = area.height >= 30;
    let brief = confirm.request.is_some() && !tall;
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
    lines.push(Line::from(Span::styled(
        "Blast radius (nothing is sent before you confirm)",
        theme.title,
    )));
    if !brief {
        lines.push(fact(
            theme,
            "rings",
            fit(&blast.rings.join(", "), text_width),
            theme.text,
        ));
    }
    lines.push(fact(
        theme,
        "hosts",
        format!(
            "{} hosts ({} servers), {} will reboot",
            blast.hosts, blast.servers, blast.reboots
        ),
        theme.text,
    ));
    if !blast.groups.is_empty() && !brief {
        lines.push(fact(
            theme,
            "services",
            fit(&blast.groups.join("; "), text_width),
            theme.text,
        ));
    }
    for window in blast.windows.iter().take(3) {
        lines.push(fact(theme, "window", fit(window, text_width), theme.text));
    }
    if blast.windows.len() > 3 {
        lines.push(fact(
            theme,
            "",
            format!("and {} more rings", blast.windows.len() - 3),
            theme.muted,
        ));
    }
    for note in blast.notes.iter().filter(|_| !brief) {
        let style = if note.starts_with("RESTORE") {
            theme.fail
        } else {
            theme.warn
        };
        for (i, part) in text::wrap(note, text_width).into_iter().enumerate() {
            lines.push(fact(theme, if i == 0 { "note" } else { "" }, part, style));
        }
    }
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
    let _ = app;
    Popup {
        width,
        title,
        border,
        lines,
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
    let candidates = plan::emergency_candidates(&app.fleet);
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
                let exploited = if patch.exploited_cves.is_empty() {
                    String::new()
                } else {
                    format!(" EXPLOITED {}", clean(&patch.exploited_cves.join(" ")))
                };
                let style = if index == wizard.selected {
                    theme.selected
                } else {
                    theme.text
                };
                lines.push(Line::from(Span::styled(
                    fit(
                        &format!(
                            "{:<kb_width$} {:<9} {}{exploited}",
                            clean(&patch.kb),
                            format!("{:?}", patch.severity),
                            patch.title
                        ),
                        usize::from(width.saturating_sub(4)),
                    ),
                    style,
                )));
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
            for (stage, hosts) in plan::emergency_order(&app.fleet) {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {hosts:>6} hosts  "), theme.accent),
                    Span::styled(stage, theme.text),
                ]));
            }
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
    }
}

/// The emergency checklist of the domain, with progress from the fleet.
/// The checklist in one line: how many checks are done and the first one open.
pub fn checklist_summary(app: &App, emergency: &Emergency) -> String {
    let theme = Theme::default();
    let items: Vec<String> = checklist_lines(app, &theme, emergency)
        .iter()
        .map(|line| line.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect();
    let done = items.iter().filter(|i| i.starts_with("[x]")).count();
    let next = items
        .iter()
        .find(|i| !i.starts_with("[x]"))
        .map(|i| format!("; next: {}", i.get(4..).unwrap_or("")))
        .unwrap_or_default();
    format!(
        " EMERGENCY {}: checklist {done}/{} done{next} (c opens) ",
        clean(&emergency.cve),
        items.len()
    )
}

pub fn checklist_lines(app: &App, theme: &Theme, emergency: &Emergency) -> Vec<Line<'static>> {
    let deployment = app.fleet.deployments.get(&emergency.deployment_id);
    let stage = |index: usize| -> Option<(String, HostCounts)> {
        let ring_id = deployment?.rings.get(index)?;
        let ring = app.fleet.rings.get(ring_id)?;
        Some((
            clean(&ring.name)
                .trim_start_matches("Emergency: ")
                .to_string(),
            ring.counts,
        ))
    };
    let tick = |done: bool, started: bool| {
        if done {
            "[x]"
        } else if started {
            "[~]"
        } else {
            "[ ]"
        }
    };
    let progress = |counts: &HostCounts| {
        let targeted = counts.total.saturating_sub(counts.excluded);
        (counts.succeeded, targeted, counts.failed)
    };
    let mut items: Vec<(String, bool)> = vec![(
        format!(
            "[x] {} for {}: targets ordered by exposure and criticality (by {}{})",
            clean(
                app.fleet
                    .patches
                    .get(&emergency.patch_id)
                    .map_or(emergency.patch_id.as_str(), |p| p.kb.as_str())
            ),
            clean(&emergency.cve),
            clean(&emergency.started_by),
            if emergency.confirmed_by.is_empty() {
                String::new()
            } else {
                format!(", confirmed by {}", clean(&emergency.confirmed_by))
            }
        ),
        false,
    )];
    if let Some((name, counts)) = stage(0) {
        let (ok, total, failed) = progress(&counts);
        items.push((
            format!(
                "{} test on look-alike machines first ({name}): {ok}/{total} ok, {failed} failed",
                tick(total > 0 && ok == total, ok + failed > 0)
            ),
            failed > 0,
        ));
    }
    let verified: u32 = deployment.map_or(0, |d| d.counts.succeeded);
    let rebooting: u32 = deployment.map_or(0, |d| d.counts.rebooting + d.counts.verifying);
    items.push((
        format!(
            "{} apps tested after reboot: {verified} verified, {rebooting} rebooting/verifying",
            tick(false, verified > 0)
        ),
        false,
    ));
    items.push((
        "[x] rollback plan ready (confirmed when the emergency was started)".to_string(),
        false,
    ));
    let mut rest = Vec::new();
    for index in 1..4 {
        if let Some((name, counts)) = stage(index) {
            let (ok, total, failed) = progress(&counts);
            rest.push(format!(
                "{name} {ok}/{total}{}",
                if failed > 0 {
                    format!(" ({failed} failed)")
                } else {
                    String::new()
                }
            ));
        }
    }
    if !rest.is_empty() {
        items.push((
            format!("[~] critical first, then the rest: {}", rest.join("; ")),
            false,
        ));
    }
    items
        .into_iter()
        .map(|(text, bad)| {
            Line::from(Span::styled(
                text,
                if bad { theme.fail } else { theme.text },
            ))
        })
        .collect()
}
