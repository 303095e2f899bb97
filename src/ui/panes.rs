//! The four panes of the main screen: Rings, Deployments, Failed hosts, Actions.
//! Only the visible slice of each list is turned into rows.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use super::{Look, Loudness};
use crate::app::failures::FailureGroup;
use crate::app::lists::{self, Pane};
use crate::app::{App, ListId, parse_failure_row_key, visible_offset};
use crate::model::{
    Action, ActionState, Deployment, DeploymentState, GateState, HostCounts, Ring, RingState,
    Severity,
};
use crate::text::{self, fit};
use crate::theme::Theme;

pub fn draw(app: &App, look: &Look, frame: &mut Frame, pane: Pane, area: Rect, tabbed: bool) {
    let theme = &look.theme;
    let focused = app.focus == pane;
    let block = pane_block(app, theme, pane, focused, tabbed);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if !app.synced {
        frame.render_widget(
            Paragraph::new(Span::styled("loading the fleet...", theme.muted)),
            inner,
        );
        return;
    }
    let list = ListId::Pane(pane);
    let keys = app.row_keys(list);
    let wide = inner.width >= 120;
    // Narrow deployments take two lines each: the second says who approved, rate, ETA.
    let row_height = if pane == Pane::Deployments && !wide {
        2
    } else {
        1
    };
    let height = usize::from(inner.height.saturating_sub(1)) / row_height;
    let cursor = app.cursor(list);
    let selected = cursor.selected.min(keys.len().saturating_sub(1));
    let offset = visible_offset(cursor.offset, selected, height);
    let visible = keys.iter().enumerate().skip(offset).take(height);
    let (header, widths, rows): (Row, Vec<Constraint>, Vec<Row>) = match pane {
        Pane::Rings => rings_table(app, theme, visible, selected, focused, wide),
        Pane::Deployments => deployments_table(app, theme, visible, selected, focused, wide),
        Pane::Failed => failed_table(app, theme, visible, selected, focused, wide),
        Pane::Actions => actions_table(app, theme, visible, selected, focused, wide),
    };
    if keys.is_empty() {
        let message = if cursor.filter.is_empty() {
            empty_message(pane)
        } else {
            "nothing matches the filter (Esc clears it)"
        };
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(""),
                Line::from(Span::styled(message, theme.muted)),
            ]),
            inner,
        );
        return;
    }
    let table = Table::new(rows, widths)
        .header(header.style(theme.muted.add_modifier(Modifier::BOLD)))
        .column_spacing(1);
    frame.render_widget(table, inner);
}

fn empty_message(pane: Pane) -> &'static str {
    match pane {
        Pane::Rings => "no rings",
        Pane::Deployments => "no deployments",
        Pane::Failed => "no failed hosts",
        Pane::Actions => "no actions yet",
    }
}

fn pane_block<'a>(app: &App, theme: &Theme, pane: Pane, focused: bool, tabbed: bool) -> Block<'a> {
    let number = |p: Pane| p.index() + 1;
    let title_style = |p: Pane| {
        if app.focus == p {
            theme.title.add_modifier(Modifier::REVERSED)
        } else {
            theme.muted
        }
    };
    let count = |p: Pane| -> String {
        match p {
            Pane::Failed => {
                let hosts: usize = app.failure_groups().iter().map(FailureGroup::count).sum();
                format!(" ({hosts})")
            }
            _ => String::new(),
        }
    };
    let mut title = vec![Span::raw(" ")];
    if tabbed && pane != Pane::Rings {
        for (i, p) in [Pane::Deployments, Pane::Failed, Pane::Actions]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                title.push(Span::styled(" | ", theme.muted));
            }
            let style = if p == pane {
                title_style(p).add_modifier(Modifier::BOLD)
            } else {
                theme.muted
            };
            let style = if p == pane && !focused {
                theme.text.add_modifier(Modifier::BOLD)
            } else {
                style
            };
            title.push(Span::styled(
                format!("{} {}{}", number(p), p.title(), count(p)),
                style,
            ));
        }
    } else {
        title.push(Span::styled(
            format!("{} {}{}", number(pane), pane.title(), count(pane)),
            if focused {
                title_style(pane)
            } else {
                theme.text.add_modifier(Modifier::BOLD)
            },
        ));
    }
    let filter = &app.cursor(ListId::Pane(pane)).filter;
    if !filter.is_empty() {
        title.push(Span::styled(
            format!("  /{}", fit(filter, 20)),
            theme.accent,
        ));
    }
    if let Some(age) = app.stale_for().filter(|_| app.synced) {
        title.push(Span::styled(
            format!("  stale {}", text::duration(age)),
            theme.fail,
        ));
    }
    title.push(Span::raw(" "));
    let mut block = Block::bordered()
        .title(Line::from(title))
        .border_style(if focused { theme.accent } else { theme.muted });
    if pane == Pane::Rings
        && let Some((alert, loudness)) = rings_alert(app)
    {
        block = block.title_bottom(Line::from(Span::styled(
            format!(" {} ", fit(&alert, 100)),
            loudness.style(theme),
        )));
    }
    block
}

/// The one line an operator must read first: a halted or blocked ring and why.
/// Halted rings come first, then blocked gates; rings of an emergency before others.
pub fn rings_alert(app: &App) -> Option<(String, Loudness)> {
    let rings = app.rings_shown();
    if let Some(ring) = rings.iter().find(|r| r.state == RingState::Halted) {
        let why = ring.state_reason.as_deref().unwrap_or("no reason given");
        return Some((
            format!("{} HALTED: {}", ring.name, text::clean(why)),
            Loudness::Fail,
        ));
    }
    for ring in rings {
        if ring.gate.state == GateState::Blocked {
            let why = ring
                .gate
                .blocked_reason
                .as_deref()
                .unwrap_or("threshold not met");
            return Some((
                format!("{} gate BLOCKED: {}", ring.name, text::clean(why)),
                Loudness::Fail,
            ));
        }
    }
    // Nothing broken: say what the rollout is waiting for.
    let waiting = app.fleet.rings_in_order().into_iter().find(|r| {
        matches!(
            r.gate.state,
            GateState::AwaitingApproval | GateState::AwaitingSecondApprover
        )
    })?;
    let next = app
        .fleet
        .deployments
        .values()
        .find(|d| d.current_ring.as_deref() == Some(waiting.id.as_str()) && d.next_ring.is_some())
        .and_then(|d| d.next_ring.as_ref())
        .and_then(|id| app.fleet.rings.get(id))
        .map_or("the next ring".to_string(), |r| r.name.clone());
    Some((
        if waiting.gate.state == GateState::AwaitingSecondApprover {
            format!(
                "{next} waits: a second approver must approve (gate of {})",
                waiting.name
            )
        } else {
            format!(
                "{next} waits: {} passed its gate and needs approval (2, a)",
                waiting.name
            )
        },
        Loudness::Warn,
    ))
}

fn row_style(theme: &Theme, index: usize, selected: usize, focused: bool) -> Style {
    if index == selected && focused {
        theme.selected
    } else if index == selected {
        Style::new().add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    }
}

/// A bar of `width` columns: '#' succeeded, '!' failed, '~' in flight, '.' the rest.
/// Reads without colour; colour adds to it.
pub fn progress_bar<'a>(counts: &HostCounts, width: usize, theme: &Theme) -> Vec<Span<'a>> {
    let total = counts.total.max(1) as usize;
    let part = |n: u32| (n as usize * width).div_ceil(total).min(width);
    let ok = (counts.succeeded as usize * width / total).min(width);
    let failed = if counts.failed > 0 {
        part(counts.failed).max(1)
    } else {
        0
    }
    .min(width - ok);
    let flight = if counts.in_flight() > 0 {
        part(counts.in_flight()).max(1)
    } else {
        0
    }
    .min(width - ok - failed);
    let rest = width - ok - failed - flight;
    vec![
        Span::styled("#".repeat(ok), theme.ok),
        Span::styled("!".repeat(failed), theme.fail),
        Span::styled("~".repeat(flight), theme.warn),
        Span::styled(".".repeat(rest), theme.muted),
    ]
}

pub fn ring_state_word(state: RingState) -> (&'static str, Loudness) {
    match state {
        RingState::Waiting => ("waiting", Loudness::Muted),
        RingState::Deploying => ("deploying", Loudness::Plain),
        RingState::Soaking => ("soaking", Loudness::Plain),
        RingState::Paused => ("PAUSED", Loudness::Warn),
        RingState::Halted => ("HALTED", Loudness::Fail),
        RingState::Done => ("done", Loudness::Ok),
    }
}

/// Gate column: what stands between this ring and the next.
pub fn gate_words(app: &App, ring: &Ring) -> (String, Loudness) {
    let now = app.fleet_now();
    if ring.state == RingState::Halted {
        let why = ring.state_reason.as_deref().unwrap_or("halted");
        return (text::clean(why).into_owned(), Loudness::Fail);
    }
    match ring.gate.state {
        GateState::NotReached => ("not reached".into(), Loudness::Muted),
        GateState::Soaking => match ring.soak_ends_at {
            Some(end) if end > now => (
                format!("soak {} left", text::duration(end - now)),
                Loudness::Plain,
            ),
            _ => ("soak ending".into(), Loudness::Plain),
        },
        GateState::AwaitingApproval => ("awaiting approval".into(), Loudness::Warn),
        GateState::AwaitingSecondApprover => ("awaiting 2nd approver".into(), Loudness::Warn),
        GateState::Passed => ("passed".into(), Loudness::Ok),
        GateState::Blocked => (
            format!(
                "BLOCKED: {}",
                text::clean(
                    ring.gate
                        .blocked_reason
                        .as_deref()
                        .unwrap_or("threshold not met")
                )
            ),
            Loudness::Fail,
        ),
    }
}

pub fn window_words(app: &App, ring: &Ring) -> (String, Loudness) {
    let (words, open) = crate::app::words::window_words(
        &ring.window,
        app.fleet_now(),
        crate::app::words::WindowWording::Column,
    );
    (words, if open { Loudness::Ok } else { Loudness::Muted })
}

fn rings_table<'a>(
    app: &'a App,
    theme: &Theme,
    visible: impl Iterator<Item = (usize, &'a String)>,
    selected: usize,
    focused: bool,
    wide: bool,
) -> (Row<'a>, Vec<Constraint>, Vec<Row<'a>>) {
    let bar_width = if wide { 20 } else { 10 };
    let mut rows = Vec::new();
    for (index, id) in visible {
        let Some(ring) = app.fleet.rings.get(id) else {
            continue;
        };
        let (state, state_loudness) = ring_state_word(ring.state);
        let (gate, gate_loudness) = gate_words(app, ring);
        let (window, window_loudness) = window_words(app, ring);
        let counts = &ring.counts;
        let mut progress = progress_bar(counts, bar_width, theme);
        progress.push(Span::styled(
            format!(" {:>3.0}%", counts.success_pct()),
            theme.text,
        ));
        let failed = Span::styled(
            counts.failed.to_string(),
            if counts.failed > 0 {
                theme.fail
            } else {
                theme.muted
            },
        );
        let mut cells = vec![
            Cell::from(fit(&ring.name, if wide { 24 } else { 16 })),
            Cell::from(Span::styled(state, state_loudness.style(theme))),
            Cell::from(Line::from(progress)),
            Cell::from(failed),
        ];
        if wide {
            cells.push(Cell::from(counts.in_flight().to_string()));
            cells.push(Cell::from((counts.pending + counts.deferred).to_string()));
            cells.push(Cell::from(counts.offline.to_string()));
            cells.push(Cell::from(counts.excluded.to_string()));
            cells.push(Cell::from(Span::styled(
                format!(
                    "{} ok>={}% fail<{}%",
                    match ring.gate.mode {
                        crate::model::GateMode::Manual => "manual",
                        crate::model::GateMode::Automatic => "auto",
                    },
                    ring.gate.success_threshold_pct,
                    ring.gate.failure_threshold_pct
                ),
                theme.muted,
            )));
        }
        cells.push(Cell::from(Span::styled(gate, gate_loudness.style(theme))));
        cells.push(Cell::from(Span::styled(
            window,
            window_loudness.style(theme),
        )));
        rows.push(Row::new(cells).style(row_style(theme, index, selected, focused)));
    }
    let (header, widths) = if wide {
        (
            vec![
                "RING",
                "STATE",
                "PROGRESS",
                "FAIL",
                "RUN",
                "WAIT",
                "OFF",
                "EXC",
                "GATE RULE",
                "GATE",
                "WINDOW",
            ],
            vec![
                Constraint::Length(24),
                Constraint::Length(9),
                Constraint::Length(bar_width as u16 + 5),
                Constraint::Length(5),
                Constraint::Length(5),
                Constraint::Length(5),
                Constraint::Length(5),
                Constraint::Length(5),
                Constraint::Length(24),
                Constraint::Min(20),
                Constraint::Length(18),
            ],
        )
    } else {
        (
            vec!["RING", "STATE", "PROGRESS", "FAIL", "GATE", "WINDOW"],
            vec![
                Constraint::Length(16),
                Constraint::Length(9),
                Constraint::Length(bar_width as u16 + 5),
                Constraint::Length(4),
                Constraint::Min(14),
                Constraint::Length(12),
            ],
        )
    };
    (Row::new(header), widths, rows)
}

/// Four letters of a severity word for narrow tables ("Crit", "Impo").
fn short_severity(word: &str) -> &str {
    word.get(..4).unwrap_or(word)
}

pub fn severity_word(severity: Severity) -> (&'static str, Loudness) {
    match severity {
        Severity::Critical => ("Critical", Loudness::Fail),
        Severity::Important => ("Important", Loudness::Warn),
        Severity::Moderate => ("Moderate", Loudness::Plain),
        Severity::Low => ("Low", Loudness::Muted),
    }
}

pub fn deployment_state_word(state: DeploymentState) -> (&'static str, Loudness) {
    match state {
        DeploymentState::AwaitingApproval => ("needs approval", Loudness::Warn),
        DeploymentState::Running => ("running", Loudness::Plain),
        DeploymentState::Paused => ("PAUSED", Loudness::Warn),
        DeploymentState::Halted => ("HALTED", Loudness::Fail),
        DeploymentState::RollingBack => ("rolling back", Loudness::Warn),
        DeploymentState::RolledBack => ("rolled back", Loudness::Muted),
        DeploymentState::Declined => ("declined", Loudness::Muted),
        DeploymentState::Completed => ("completed", Loudness::Ok),
    }
}

/// "KB5070001 +4" and the highest severity.
pub fn deployment_patches(app: &App, deployment: &Deployment) -> (String, Option<Severity>) {
    let patches: Vec<_> = deployment
        .patch_ids
        .iter()
        .filter_map(|id| app.fleet.patches.get(id))
        .collect();
    let severity = patches.iter().map(|p| p.severity).min();
    let first = patches.first().map_or_else(
        || deployment.patch_ids.first().cloned().unwrap_or_default(),
        |p| p.kb.clone(),
    );
    let more = deployment.patch_ids.len().saturating_sub(1);
    let label = if more > 0 {
        format!("{first}+{more}")
    } else {
        first
    };
    (label, severity)
}

pub fn approval_words(app: &App, deployment: &Deployment) -> (String, Loudness) {
    if let Some(pending) = &deployment.pending_approval {
        return (
            format!(
                "{} approved {}; awaiting a second approver",
                text::clean(&pending.first_approver),
                app.fleet.ring_name(&pending.ring_id)
            ),
            Loudness::Warn,
        );
    }
    match deployment.approvals.last() {
        Some(approval) => (
            format!(
                "{} by {}",
                app.fleet.ring_name(&approval.ring_id),
                text::clean(&approval.by)
            ),
            Loudness::Muted,
        ),
        None => ("not approved yet".into(), Loudness::Muted),
    }
}

/// Who approved, in a few words (the narrow table's second line).
fn short_approval_words(deployment: &Deployment) -> String {
    if let Some(pending) = &deployment.pending_approval {
        return format!(
            "{} approved; needs a 2nd",
            text::clean(&pending.first_approver)
        );
    }
    match deployment.approvals.last() {
        Some(approval) if approval.by == crate::model::SYSTEM => "automatic gate".into(),
        Some(approval) => format!("approved by {}", text::clean(&approval.by)),
        None => "not approved yet".into(),
    }
}

fn deployments_table<'a>(
    app: &'a App,
    theme: &Theme,
    visible: impl Iterator<Item = (usize, &'a String)>,
    selected: usize,
    focused: bool,
    wide: bool,
) -> (Row<'a>, Vec<Constraint>, Vec<Row<'a>>) {
    let now = app.fleet_now();
    let ring_name = |id: &Option<String>| {
        id.as_ref()
            .map(|id| app.fleet.ring_name(id))
            .unwrap_or_else(|| "-".into())
    };
    let mut rows = Vec::new();
    for (index, id) in visible {
        let Some(deployment) = app.fleet.deployments.get(id) else {
            continue;
        };
        let (patches, severity) = deployment_patches(app, deployment);
        let (severity_text, severity_loudness) =
            severity.map_or(("-", Loudness::Muted), severity_word);
        let severity_text = if wide {
            severity_text
        } else {
            short_severity(severity_text)
        };
        let (state, state_loudness) = if deployment.pending_approval.is_some() {
            ("2nd approver", Loudness::Warn)
        } else {
            deployment_state_word(deployment.state)
        };
        let ring = match (&deployment.current_ring, &deployment.next_ring) {
            (current, Some(_)) if deployment.state == DeploymentState::AwaitingApproval => {
                format!(
                    "{} > {}",
                    ring_name(current),
                    ring_name(&deployment.next_ring)
                )
            }
            (current, _) => ring_name(current),
        };
        let counts = &deployment.counts;
        let eta = match deployment.eta {
            Some(eta) if deployment.state.is_active() && eta > now => text::duration(eta - now),
            _ => "-".into(),
        };
        let (approvals, approval_loudness) = approval_words(app, deployment);
        let mut name = Vec::new();
        if deployment.emergency {
            name.push(Span::styled("EMERGENCY ", theme.emergency));
        }
        name.push(Span::raw(fit(&deployment.name, 30)));
        let state = Span::styled(state, state_loudness.style(theme));
        let mut cells = if wide {
            vec![
                Cell::from(Line::from(name)),
                Cell::from(patches),
                Cell::from(Span::styled(severity_text, severity_loudness.style(theme))),
                Cell::from(state),
                Cell::from(ring),
                Cell::from(format!("{:>3.0}%", counts.success_pct())),
            ]
        } else {
            // Two lines: under the name who approved, under the patches the rate,
            // under the state the ETA.
            let second = |text: String, style| Line::from(Span::styled(text, style));
            vec![
                Cell::from(Text::from(vec![
                    Line::from(name),
                    second(
                        format!(" {}", fit(&short_approval_words(deployment), 29)),
                        approval_loudness.style(theme),
                    ),
                ])),
                Cell::from(Text::from(vec![
                    Line::from(patches),
                    second(
                        format!(" {:.0} hosts/h", deployment.rate_per_hour),
                        theme.muted,
                    ),
                ])),
                Cell::from(Span::styled(severity_text, severity_loudness.style(theme))),
                Cell::from(Text::from(vec![
                    Line::from(state),
                    second(
                        if eta == "-" {
                            String::new()
                        } else {
                            format!(" ETA {eta}")
                        },
                        theme.muted,
                    ),
                ])),
                Cell::from(ring),
                Cell::from(format!("{:>3.0}%", counts.success_pct())),
            ]
        };
        if wide {
            cells.push(Cell::from(Span::styled(
                counts.failed.to_string(),
                if counts.failed > 0 {
                    theme.fail
                } else {
                    theme.muted
                },
            )));
            cells.push(Cell::from(format!("{:.0}/h", deployment.rate_per_hour)));
        }
        if wide {
            cells.push(Cell::from(eta));
            cells.push(Cell::from(Span::styled(
                approvals,
                approval_loudness.style(theme),
            )));
        }
        let row = Row::new(cells).style(row_style(theme, index, selected, focused));
        rows.push(if wide { row } else { row.height(2) });
    }
    let (header, widths) = if wide {
        (
            vec![
                "DEPLOYMENT",
                "PATCHES",
                "SEVERITY",
                "STATE",
                "RING",
                "DONE",
                "FAIL",
                "RATE",
                "ETA",
                "APPROVALS",
            ],
            vec![
                Constraint::Length(32),
                Constraint::Length(13),
                Constraint::Length(9),
                Constraint::Length(17),
                Constraint::Length(20),
                Constraint::Length(5),
                Constraint::Length(5),
                Constraint::Length(7),
                Constraint::Length(8),
                Constraint::Min(20),
            ],
        )
    } else {
        (
            vec!["DEPLOYMENT", "PATCHES", "SEV", "STATE", "RING", "DONE"],
            vec![
                Constraint::Min(22),
                Constraint::Length(11),
                Constraint::Length(4),
                Constraint::Length(14),
                Constraint::Length(9),
                Constraint::Length(4),
            ],
        )
    };
    (Row::new(header), widths, rows)
}

/// "Wave 1 35, Pilot 2" from a count map, names resolved, largest first.
fn ranked_names(
    app: &App,
    map: &std::collections::BTreeMap<String, u32>,
    ring_ids: bool,
) -> String {
    FailureGroup::ranked(map)
        .into_iter()
        .map(|(key, n)| {
            let name = if ring_ids {
                app.fleet.ring_name(key)
            } else {
                text::clean(key).into_owned()
            };
            format!("{name} {n}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn failed_table<'a>(
    app: &'a App,
    theme: &Theme,
    visible: impl Iterator<Item = (usize, &'a String)>,
    selected: usize,
    focused: bool,
    wide: bool,
) -> (Row<'a>, Vec<Constraint>, Vec<Row<'a>>) {
    let now = app.fleet_now();
    let mut rows = Vec::new();
    for (index, key) in visible {
        let (code, host_id) = parse_failure_row_key(key);
        let style = row_style(theme, index, selected, focused);
        match host_id {
            None => {
                let Some(group) = app.failure_groups().iter().find(|g| g.code == code) else {
                    continue;
                };
                let open = if app.expanded.contains(code) {
                    "-"
                } else {
                    "+"
                };
                let mut cells = vec![
                    Cell::from(Span::styled(
                        format!("{open} {}", fit(code, 12)),
                        theme.fail,
                    )),
                    Cell::from(format!("{:>5}", group.count())),
                    Cell::from(if wide {
                        text::time(group.first_seen, now)
                    } else {
                        text::duration(now - group.first_seen)
                    }),
                    Cell::from(ranked_names(app, &group.rings, true)),
                ];
                if wide {
                    cells.push(Cell::from(ranked_names(app, &group.models, false)));
                }
                cells.push(Cell::from(Span::styled(
                    text::clean(&group.message).into_owned(),
                    theme.muted,
                )));
                rows.push(Row::new(cells).style(style.add_modifier(Modifier::BOLD)));
            }
            Some(host_id) => {
                let Some(host) = app.fleet.hosts.get(host_id) else {
                    continue;
                };
                let mark = if app.marked.contains(host_id) {
                    "[x]"
                } else {
                    "[ ]"
                };
                let ring = app.fleet.ring_name(&host.ring_id);
                let at = host.failure.as_ref().map_or(host.updated_at, |f| f.at);
                let mut cells = vec![
                    Cell::from(format!("  {mark} {}", fit(&host.name, 14))),
                    Cell::from(""),
                    Cell::from(if wide {
                        text::time(at, now)
                    } else {
                        text::duration(now - at)
                    }),
                    Cell::from(fit(&ring, 16)),
                ];
                if wide {
                    cells.push(Cell::from(fit(&host.model, 24)));
                    cells.push(Cell::from(Span::styled(
                        host.failure
                            .as_ref()
                            .and_then(|f| f.patch_id.clone())
                            .unwrap_or_default(),
                        theme.muted,
                    )));
                } else {
                    cells.push(Cell::from(Span::styled(fit(&host.model, 30), theme.muted)));
                }
                rows.push(Row::new(cells).style(style));
            }
        }
    }
    let (header, widths) = if wide {
        (
            vec!["ERROR", "HOSTS", "FIRST", "RINGS", "MODELS", "MESSAGE"],
            vec![
                Constraint::Length(22),
                Constraint::Length(5),
                Constraint::Length(12),
                Constraint::Length(18),
                Constraint::Length(26),
                Constraint::Min(20),
            ],
        )
    } else {
        (
            vec!["ERROR", "HOSTS", "AGE", "RINGS", "MESSAGE"],
            vec![
                Constraint::Length(19),
                Constraint::Length(5),
                Constraint::Length(7),
                Constraint::Length(16),
                Constraint::Min(10),
            ],
        )
    };
    (Row::new(header), widths, rows)
}

pub fn action_state_word(state: ActionState) -> (&'static str, Loudness) {
    match state {
        ActionState::AwaitingSecondApprover => ("awaiting 2nd approver", Loudness::Warn),
        ActionState::Running => ("running", Loudness::Plain),
        ActionState::Succeeded => ("done", Loudness::Ok),
        ActionState::Partial => ("PARTIAL", Loudness::Warn),
        ActionState::Failed => ("FAILED", Loudness::Fail),
    }
}

pub fn action_progress(action: &Action) -> String {
    if action.progress_total > 0 {
        format!("{}/{}", action.progress_done, action.progress_total)
    } else {
        String::new()
    }
}

fn actions_table<'a>(
    app: &'a App,
    theme: &Theme,
    visible: impl Iterator<Item = (usize, &'a String)>,
    selected: usize,
    focused: bool,
    wide: bool,
) -> (Row<'a>, Vec<Constraint>, Vec<Row<'a>>) {
    let now = app.fleet_now();
    let mut rows = Vec::new();
    for (index, id) in visible {
        let Some(action) = app.fleet.actions.get(id) else {
            continue;
        };
        let (state, loudness) = action_state_word(action.state);
        let by_style = if action.by == crate::model::SYSTEM {
            theme.warn
        } else {
            theme.text
        };
        let mut cells = vec![
            Cell::from(if wide {
                text::time(action.at, now)
            } else {
                text::short_time(action.at, now)
            }),
            Cell::from(Span::styled(fit(&action.by, 10), by_style)),
            Cell::from(action.verb.as_str()),
            Cell::from(fit(&action.target_name, 18)),
            Cell::from(Span::styled(state, loudness.style(theme))),
            Cell::from(action_progress(action)),
        ];
        let reason = action
            .reason
            .as_deref()
            .map(text::clean)
            .unwrap_or_default();
        let ticket = action
            .ticket
            .as_deref()
            .map(text::clean)
            .unwrap_or_default();
        if wide {
            cells.push(Cell::from(ticket.into_owned()));
            cells.push(Cell::from(Span::styled(reason.into_owned(), theme.muted)));
        } else {
            let both = [ticket.as_ref(), reason.as_ref()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            cells.push(Cell::from(Span::styled(both, theme.muted)));
        }
        rows.push(Row::new(cells).style(row_style(theme, index, selected, focused)));
    }
    let (header, widths) = if wide {
        (
            vec![
                "WHEN", "WHO", "ACTION", "TARGET", "STATE", "PROGRESS", "TICKET", "REASON",
            ],
            vec![
                Constraint::Length(12),
                Constraint::Length(10),
                Constraint::Length(9),
                Constraint::Length(18),
                Constraint::Length(21),
                Constraint::Length(9),
                Constraint::Length(10),
                Constraint::Min(10),
            ],
        )
    } else {
        (
            vec![
                "WHEN",
                "WHO",
                "ACTION",
                "TARGET",
                "STATE",
                "DONE",
                "TICKET / REASON",
            ],
            vec![
                Constraint::Length(6),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(14),
                Constraint::Length(9),
                Constraint::Length(7),
                Constraint::Min(10),
            ],
        )
    };
    (Row::new(header), widths, rows)
}

/// Re-exported for the detail views.
pub use lists::deployments_in_order;
