//! The server's plan in a dialog: where the two-person rule stands, then the stages
//! with their hosts and windows, reboots, services, restores, skipped hosts and notes,
//! exactly as the dry run answered (or "planning..." until it has).

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::fact;
use crate::app::App;
use crate::app::plan::{ServerPlan, count, window_words};
use crate::model::{ApprovalStep, Verb};
use crate::text::{self, clean};
use crate::theme::Theme;

/// How many rows a dialog can give the plan. Nothing is dropped for want of rows: a
/// dialog taller than the terminal scrolls its body under its pinned form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Room {
    Full,
    /// A request above (confirming an emergency on a short terminal): the stages are
    /// counted on the hosts line, not listed.
    Tight,
}

/// The two-person line(s): said first, so the approver learns it before the form;
/// `label_only` keeps it to one row.
pub(super) fn approval_lines<'a>(
    theme: &Theme,
    server: &ServerPlan,
    text_width: usize,
    label_only: bool,
) -> Vec<Line<'a>> {
    let Some(approval) = server.approval() else {
        return Vec::new();
    };
    let (label, style) = match approval.step {
        ApprovalStep::AlreadyYours => ("YOU ALREADY APPROVED", theme.fail),
        ApprovalStep::First => ("first of two approvals", theme.warn),
        ApprovalStep::Completes => ("completes the two-person rule", theme.ok),
    };
    let mut lines = vec![Line::from(Span::styled(
        format!("Approval: {label}"),
        style.add_modifier(ratatui::style::Modifier::BOLD),
    ))];
    if label_only {
        return lines;
    }
    for (i, part) in text::wrap(&clean(&approval.words), text_width)
        .into_iter()
        .enumerate()
    {
        lines.push(fact(theme, if i == 0 { "who" } else { "" }, part, style));
    }
    lines
}

/// The plan's lines in the `room` there is; `console_notes` are the console's own
/// facts (the halt's cause).
pub(super) fn plan_lines<'a>(
    app: &App,
    theme: &Theme,
    verb: Verb,
    server: &ServerPlan,
    console_notes: &[String],
    text_width: usize,
    room: Room,
) -> Vec<Line<'a>> {
    let tight = room == Room::Tight;
    let mut lines = vec![Line::from(Span::styled(
        "The server's plan (nothing is sent before you confirm)",
        theme.title,
    ))];
    let now = app.fleet_now();
    let wrapped = |lines: &mut Vec<Line<'a>>, name: &str, value: &str, style: Style| {
        for (i, part) in text::wrap(&clean(value), text_width)
            .into_iter()
            .enumerate()
        {
            lines.push(fact(theme, if i == 0 { name } else { "" }, part, style));
        }
    };
    if server.is_planning() {
        lines.push(fact(
            theme,
            "",
            "planning... (asking the server what this would do)".into(),
            theme.warn,
        ));
    } else {
        let plans = server.plans();
        // A first approval's plan says what it does in its approval words.
        let first_approval = server
            .approval()
            .is_some_and(|a| a.step == ApprovalStep::First);
        if let Some(does) = server.does().filter(|_| !first_approval && !tight) {
            wrapped(&mut lines, "does", &does, theme.text);
        }
        let stages = server.stages();
        for stage in stages.iter().filter(|_| !tight) {
            let servers = if stage.servers > 0 {
                format!(", {}", count(stage.servers, "server"))
            } else {
                String::new()
            };
            let window = if verb == Verb::Emergency && stage.window.always {
                "windows overridden".to_string()
            } else {
                window_words(&stage.window, now)
            };
            wrapped(
                &mut lines,
                "ring",
                &format!(
                    "{}: {}{servers}; {window}",
                    stage.ring_name.trim_start_matches("Emergency: "),
                    count(stage.hosts, "host")
                ),
                theme.text,
            );
        }
        if !plans.is_empty() {
            let (hosts, servers, reboots, restore) = server.totals();
            let reboots = if server.reboots_uncertain() {
                format!("up to {reboots} may reboot")
            } else {
                format!("{reboots} will reboot")
            };
            let rings = if tight {
                format!(" in {}", count(stages.len() as u32, "ring"))
            } else {
                String::new()
            };
            lines.push(fact(
                theme,
                "hosts",
                format!(
                    "{}{rings} ({}), {reboots}",
                    count(hosts, "host"),
                    count(servers, "server")
                ),
                theme.text,
            ));
            if restore > 0 {
                let kbs = server.each(|p| &p.not_uninstallable);
                wrapped(
                    &mut lines,
                    "RESTORE",
                    &format!(
                        "{} a restore: {} cannot be uninstalled",
                        if restore == 1 {
                            "1 host needs".to_string()
                        } else {
                            format!("{restore} hosts need")
                        },
                        kbs.join(", ")
                    ),
                    theme.fail,
                );
            }
        }
        for refused in server.refused() {
            wrapped(&mut lines, "refused", refused, theme.fail);
        }
    }
    // The console's facts (the halt's cause, the gate) first, then the server's notes
    // (the look-alike warnings).
    // The console's test coverage after the server's notes (it says the same when it
    // plans; a refused plan says nothing), and a note both say only once.
    let coverage = |n: &&str| n.starts_with(crate::model::NOTE_PREFIX);
    let console = || console_notes.iter().map(String::as_str);
    let mut notes: Vec<&str> = Vec::new();
    for note in console()
        .filter(|n| !coverage(n))
        .chain(server.each(|p| &p.notes))
        .chain(console().filter(coverage))
    {
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    for note in notes {
        let style = if note.starts_with("RESTORE")
            || note.contains("STILL THERE")
            || note.starts_with("WARNING")
        {
            theme.fail
        } else {
            theme.warn
        };
        wrapped(&mut lines, "note", note, style);
    }
    // Then the long lists: the services touched and the hosts left alone.
    let services = server.each(|p| &p.services);
    if !services.is_empty() {
        wrapped(&mut lines, "services", &services.join("; "), theme.text);
    }
    for skipped in server.skipped() {
        wrapped(&mut lines, "skipped", &skipped, theme.muted);
    }
    lines
}
