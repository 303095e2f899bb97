//! Detail screens (Enter) and the host list (`:hosts`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, Wrap};

use super::panes::{
    action_progress, action_state_word, approval_words, deployment_state_word, gate_words,
    progress_bar, ring_state_word, severity_word, window_words,
};
use super::{Look, Loudness};
use crate::app::lists::HostFilter;
use crate::app::{App, ListId, Screen, visible_offset};
use crate::model::{GateMode, HostCounts, HostState};
use crate::text::{self, clean, fit};
use crate::theme::Theme;

pub fn draw(app: &App, look: &Look, frame: &mut Frame, screen: &Screen, area: Rect) {
    frame.render_widget(Clear, area);
    let theme = &look.theme;
    match screen {
        Screen::Hosts(filter) => draw_hosts(app, theme, frame, filter, area),
        Screen::Ring(id) => draw_lines(theme, frame, area, "Ring", ring_lines(app, theme, id)),
        Screen::Deployment(id) => draw_lines(
            theme,
            frame,
            area,
            "Deployment",
            deployment_lines(app, theme, id),
        ),
        Screen::Host(id) => draw_lines(theme, frame, area, "Host", host_lines(app, theme, id)),
        Screen::Action(id) => {
            draw_lines(theme, frame, area, "Action", action_lines(app, theme, id))
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

fn field(theme: &Theme, name: &str, value: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<16}"), theme.muted),
        Span::styled(value.into(), theme.text),
    ])
}

fn field_loud(
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

fn heading(theme: &Theme, text: &str) -> Line<'static> {
    Line::from(Span::styled(text.to_string(), theme.title))
}

fn missing(theme: &Theme, what: &str, id: &str) -> Vec<Line<'static>> {
    vec![Line::from(Span::styled(
        format!(
            "{what} {} is no longer in the fleet (Esc goes back)",
            clean(id)
        ),
        theme.warn,
    ))]
}

fn counts_lines(theme: &Theme, counts: &HostCounts) -> Vec<Line<'static>> {
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

fn ring_lines(app: &App, theme: &Theme, id: &str) -> Vec<Line<'static>> {
    let Some(ring) = app.fleet.rings.get(id) else {
        return missing(theme, "ring", id);
    };
    let (state, loudness) = ring_state_word(ring.state);
    let (gate, gate_loudness) = gate_words(app, ring);
    let (window, window_loudness) = window_words(app, ring);
    let mut lines = vec![
        heading(
            theme,
            &format!("{}  ({})", clean(&ring.name), clean(&ring.id)),
        ),
        field_loud(theme, "state", state, loudness),
    ];
    if let Some(reason) = &ring.state_reason {
        lines.push(field_loud(
            theme,
            "why",
            clean(reason).into_owned(),
            loudness,
        ));
    }
    lines.push(field(
        theme,
        "kind",
        format!(
            "{:?}{}{}",
            ring.kind,
            ring.site
                .as_ref()
                .map(|s| format!(", site {}", clean(s)))
                .unwrap_or_default(),
            if ring.production {
                ", production (two approvers)"
            } else {
                ""
            }
        ),
    ));
    lines.extend(counts_lines(theme, &ring.counts));
    lines.push(Line::from(""));
    lines.push(heading(theme, "Gate to the next ring"));
    lines.push(field_loud(theme, "gate", gate, gate_loudness));
    lines.push(field(
        theme,
        "rule",
        format!(
            "{} approval; at least {}% succeeded, halts above {}% failed, soak at least {}",
            match ring.gate.mode {
                GateMode::Manual => "manual",
                GateMode::Automatic => "automatic",
            },
            ring.gate.success_threshold_pct,
            ring.gate.failure_threshold_pct,
            text::duration(chrono::Duration::seconds(ring.gate.min_soak_secs as i64))
        ),
    ));
    if let Some(end) = ring.soak_ends_at {
        lines.push(field(theme, "soak ends", text::time(end, app.fleet_now())));
    }
    lines.push(Line::from(""));
    lines.push(heading(theme, "Maintenance window"));
    lines.push(field(
        theme,
        "window",
        clean(&ring.window.describe()).into_owned(),
    ));
    lines.push(field_loud(theme, "now", window, window_loudness));
    if !ring.groups.is_empty() {
        lines.push(Line::from(""));
        lines.push(heading(
            theme,
            "Patching groups (reboot order: down, then up in reverse)",
        ));
        for group in &ring.groups {
            let order: Vec<String> = group
                .reboot_order
                .iter()
                .map(|t| format!("{t:?}").to_lowercase())
                .collect();
            let up: Vec<String> = order.iter().rev().cloned().collect();
            lines.push(field(
                theme,
                &fit(&group.name, 15),
                format!(
                    "{} | owner {} | {:?} | down {} | up {}{}",
                    clean(&group.service),
                    clean(&group.owner),
                    group.criticality,
                    order.join(" > "),
                    up.join(" > "),
                    if group.redundant {
                        " | redundant: one host at a time"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        format!(
            ":hosts {} lists its hosts; :hosts failed {} its failures",
            ring.id, ring.id
        ),
        theme.muted,
    )));
    lines
}

fn deployment_lines(app: &App, theme: &Theme, id: &str) -> Vec<Line<'static>> {
    let Some(deployment) = app.fleet.deployments.get(id) else {
        return missing(theme, "deployment", id);
    };
    let now = app.fleet_now();
    let (state, loudness) = deployment_state_word(deployment.state);
    let mut lines = vec![heading(
        theme,
        &format!(
            "{}{}",
            if deployment.emergency {
                "EMERGENCY  "
            } else {
                ""
            },
            clean(&deployment.name)
        ),
    )];
    lines.push(field_loud(theme, "state", state, loudness));
    if let Some(reason) = &deployment.state_reason {
        lines.push(field_loud(
            theme,
            "why",
            clean(reason).into_owned(),
            loudness,
        ));
    }
    let path: Vec<String> = deployment
        .rings
        .iter()
        .map(|r| {
            let name = app.fleet.ring_name(r);
            if deployment.current_ring.as_deref() == Some(r.as_str()) {
                format!("[{name}]")
            } else {
                name
            }
        })
        .collect();
    lines.push(field(theme, "rings", path.join(" > ")));
    if let Some(next) = &deployment.next_ring {
        lines.push(field(theme, "next ring", app.fleet.ring_name(next)));
    }
    let (approvals, approval_loudness) = approval_words(app, deployment);
    lines.push(field_loud(theme, "approval", approvals, approval_loudness));
    for approval in &deployment.approvals {
        lines.push(field(
            theme,
            "",
            format!(
                "{} approved by {} at {}",
                app.fleet.ring_name(&approval.ring_id),
                clean(&approval.by),
                text::time(approval.at, now)
            ),
        ));
    }
    lines.extend(counts_lines(theme, &deployment.counts));
    lines.push(field(
        theme,
        "rate, ETA",
        format!(
            "{:.0} hosts/h, {}",
            deployment.rate_per_hour,
            deployment
                .eta
                .filter(|e| *e > now)
                .map_or("no estimate".into(), |e| format!(
                    "done in {}",
                    text::duration(e - now)
                ))
        ),
    ));
    lines.push(field(
        theme,
        "created",
        format!(
            "{} by {}",
            text::time(deployment.created_at, now),
            clean(&deployment.created_by)
        ),
    ));
    lines.push(Line::from(""));
    lines.push(heading(theme, "Patches"));
    for patch_id in &deployment.patch_ids {
        match app.fleet.patches.get(patch_id) {
            Some(patch) => {
                let (severity, loudness) = severity_word(patch.severity);
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<11}", clean(&patch.kb)), theme.accent),
                    Span::styled(format!("{severity:<10}"), loudness.style(theme)),
                    Span::raw(fit(&patch.title, 70)),
                ]));
                let mut facts = vec![
                    if patch.reboot_required {
                        "reboot required"
                    } else {
                        "no reboot"
                    }
                    .to_string(),
                    if patch.uninstallable {
                        "can be uninstalled"
                    } else {
                        "CANNOT be uninstalled: rollback means restore"
                    }
                    .to_string(),
                ];
                if !patch.cves.is_empty() {
                    facts.push(format!("CVEs {}", clean(&patch.cves.join(" "))));
                }
                if !patch.exploited_cves.is_empty() {
                    facts.push(format!(
                        "EXPLOITED {}",
                        clean(&patch.exploited_cves.join(" "))
                    ));
                }
                if !patch.supersedes.is_empty() {
                    facts.push(format!("supersedes {}", clean(&patch.supersedes.join(" "))));
                }
                lines.push(Line::from(Span::styled(
                    format!("           {}", facts.join("; ")),
                    theme.muted,
                )));
            }
            None => lines.push(Line::from(Span::styled(
                format!("{} (unknown patch)", clean(patch_id)),
                theme.warn,
            ))),
        }
    }
    lines
}

fn host_lines(app: &App, theme: &Theme, id: &str) -> Vec<Line<'static>> {
    let detail = app.host_details.get(id);
    let host = match detail {
        Some(Ok(host)) => host,
        _ => match app.fleet.hosts.get(id) {
            Some(host) => host,
            None => return missing(theme, "host", id),
        },
    };
    // Live state from the fleet, history from the detail fetch.
    let live = app.fleet.hosts.get(id).unwrap_or(host);
    let now = app.fleet_now();
    let ring = app.fleet.rings.get(&live.ring_id);
    let loudness = match live.state {
        HostState::Failed => Loudness::Fail,
        HostState::Succeeded => Loudness::Ok,
        HostState::Offline | HostState::Excluded => Loudness::Muted,
        _ => Loudness::Plain,
    };
    let mut lines = vec![
        heading(
            theme,
            &format!("{}  ({})", clean(&live.name), clean(&live.id)),
        ),
        field_loud(theme, "state", live.state.as_str(), loudness),
    ];
    if let Some(failure) = &live.failure {
        lines.push(field_loud(
            theme,
            "error",
            format!("{}  {}", clean(&failure.code), clean(&failure.message)),
            Loudness::Fail,
        ));
        lines.push(field(
            theme,
            "failed",
            format!(
                "{}{}",
                text::time(failure.at, now),
                failure
                    .patch_id
                    .as_ref()
                    .map(|p| format!(" installing {}", clean(p)))
                    .unwrap_or_default()
            ),
        ));
    }
    lines.push(field(theme, "ring", app.fleet.ring_name(&live.ring_id)));
    lines.push(field(
        theme,
        "kind",
        format!(
            "{:?}, {:?}{}{}",
            live.kind,
            live.criticality,
            if live.exposed { ", EXPOSED" } else { "" },
            if live.roaming { ", roaming" } else { "" }
        ),
    ));
    lines.push(field(
        theme,
        "machine",
        format!(
            "{} | {} | {}",
            clean(&live.model),
            clean(&live.os),
            clean(&live.site)
        ),
    ));
    if let Some(group_id) = &live.group_id {
        let group = ring.and_then(|r| r.groups.iter().find(|g| &g.id == group_id));
        lines.push(field(
            theme,
            "patching group",
            format!(
                "{}{}",
                group.map_or(clean(group_id).into_owned(), |g| format!(
                    "{} ({})",
                    clean(&g.name),
                    clean(&g.service)
                )),
                live.tier
                    .map(|t| format!(", tier {t:?}").to_lowercase())
                    .unwrap_or_default()
            ),
        ));
    }
    lines.push(field(
        theme,
        "last seen",
        format!(
            "{} ({} ago)",
            text::time(live.last_seen, now),
            text::duration(now - live.last_seen)
        ),
    ));
    if let Some(until) = live.deferred_until {
        lines.push(field(theme, "deferred until", text::time(until, now)));
    }
    if let Some(exception) = &live.exception {
        lines.push(field_loud(
            theme,
            "EXCEPTION",
            format!(
                "{} (owner {}, expires {})",
                clean(&exception.reason),
                clean(&exception.owner),
                text::time(exception.expires_at, now)
            ),
            Loudness::Warn,
        ));
        lines.push(field(
            theme,
            "compensating",
            clean(&exception.compensating_control).into_owned(),
        ));
    }
    if !live.installed.is_empty() {
        lines.push(field(
            theme,
            "installed",
            clean(&live.installed.join(" ")).into_owned(),
        ));
    }
    lines.push(Line::from(""));
    lines.push(heading(theme, "History"));
    match detail {
        None => lines.push(Line::from(Span::styled("loading...", theme.muted))),
        Some(Err(error)) => lines.push(Line::from(Span::styled(
            format!("could not load: {}", clean(error)),
            theme.fail,
        ))),
        Some(Ok(host)) if host.history.is_empty() => {
            lines.push(Line::from(Span::styled("no history", theme.muted)))
        }
        Some(Ok(host)) => {
            for step in host.history.iter().rev() {
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<14}", text::time(step.at, now)), theme.muted),
                    Span::styled(format!("{:<15}", step.state.as_str()), theme.text),
                    Span::styled(
                        step.note
                            .as_deref()
                            .map(clean)
                            .unwrap_or_default()
                            .into_owned(),
                        theme.muted,
                    ),
                ]));
            }
        }
    }
    lines
}

fn action_lines(app: &App, theme: &Theme, id: &str) -> Vec<Line<'static>> {
    let Some(action) = app.fleet.actions.get(id) else {
        return missing(theme, "action", id);
    };
    let now = app.fleet_now();
    let (state, loudness) = action_state_word(action.state);
    let mut lines = vec![
        heading(
            theme,
            &format!("{} {}", action.verb.as_str(), clean(&action.target_name)),
        ),
        field_loud(theme, "state", state, loudness),
        field(
            theme,
            "target",
            format!("{:?} {}", action.target.kind, clean(&action.target.id)).to_lowercase(),
        ),
        field(theme, "by", clean(&action.by).into_owned()),
        field(theme, "at", text::time(action.at, now)),
        field(
            theme,
            "reason",
            action
                .reason
                .as_deref()
                .map(clean)
                .unwrap_or_default()
                .into_owned(),
        ),
        field(
            theme,
            "ticket",
            action
                .ticket
                .as_deref()
                .map(clean)
                .unwrap_or_default()
                .into_owned(),
        ),
    ];
    let progress = action_progress(action);
    if !progress.is_empty() {
        lines.push(field(theme, "progress", progress));
    }
    if let Some(detail) = &action.detail {
        lines.push(field(theme, "detail", clean(detail).into_owned()));
    }
    if let Some(finished) = action.finished_at {
        lines.push(field(theme, "finished", text::time(finished, now)));
    }
    lines.push(field(theme, "id", clean(&action.id).into_owned()));
    lines
}

fn draw_hosts(app: &App, theme: &Theme, frame: &mut Frame, filter: &HostFilter, area: Rect) {
    let cursor = app.cursor(ListId::Hosts);
    let mut title = vec![Span::styled(
        format!(
            " {} ({}) ",
            filter.describe(&app.fleet),
            app.host_rows.len()
        ),
        theme.title,
    )];
    if !cursor.filter.is_empty() {
        title.push(Span::styled(
            format!("/{} ", fit(&cursor.filter, 20)),
            theme.accent,
        ));
    }
    if !app.marked.is_empty() {
        title.push(Span::styled(
            format!("{} selected ", app.marked.len()),
            theme.warn,
        ));
    }
    let block = Block::bordered()
        .title(Line::from(title))
        .border_style(theme.accent);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = usize::from(inner.height.saturating_sub(1));
    let selected = cursor.selected.min(app.host_rows.len().saturating_sub(1));
    let offset = visible_offset(cursor.offset, selected, height);
    let now = app.fleet_now();
    let wide = inner.width >= 120;
    let rows: Vec<Row> = app
        .host_rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .filter_map(|(index, id)| {
            let host = app.fleet.hosts.get(id)?;
            let mark = if app.marked.contains(id) {
                "[x]"
            } else {
                "[ ]"
            };
            let ring = app.fleet.ring_name(&host.ring_id);
            let state_style = match host.state {
                HostState::Failed => theme.fail,
                HostState::Succeeded => theme.ok,
                _ => theme.text,
            };
            let mut cells = vec![
                Cell::from(format!("{mark} {}", fit(&host.name, 16))),
                Cell::from(Span::styled(host.state.as_str(), state_style)),
                Cell::from(fit(&ring, 14)),
                Cell::from(
                    host.failure
                        .as_ref()
                        .map(|f| fit(&f.code, 10))
                        .unwrap_or_default(),
                ),
                Cell::from(text::duration(now - host.last_seen)),
            ];
            if wide {
                cells.push(Cell::from(fit(&host.model, 24)));
                cells.push(Cell::from(
                    host.group_id
                        .as_deref()
                        .map(|g| fit(g, 14))
                        .unwrap_or_default(),
                ));
                cells.push(Cell::from(Span::styled(
                    host.failure
                        .as_ref()
                        .map(|f| clean(&f.message).into_owned())
                        .unwrap_or_default(),
                    theme.muted,
                )));
            } else {
                cells.push(Cell::from(Span::styled(fit(&host.model, 24), theme.muted)));
            }
            let style = if index == selected {
                theme.selected
            } else {
                ratatui::style::Style::new()
            };
            Some(Row::new(cells).style(style))
        })
        .collect();
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no hosts match", theme.muted)),
            inner,
        );
        return;
    }
    let (header, widths) = if wide {
        (
            vec![
                "HOST", "STATE", "RING", "ERROR", "SEEN", "MODEL", "GROUP", "MESSAGE",
            ],
            vec![
                Constraint::Length(20),
                Constraint::Length(14),
                Constraint::Length(14),
                Constraint::Length(10),
                Constraint::Length(8),
                Constraint::Length(24),
                Constraint::Length(14),
                Constraint::Min(10),
            ],
        )
    } else {
        (
            vec!["HOST", "STATE", "RING", "ERROR", "SEEN", "MODEL"],
            vec![
                Constraint::Length(18),
                Constraint::Length(14),
                Constraint::Length(10),
                Constraint::Length(10),
                Constraint::Length(6),
                Constraint::Min(8),
            ],
        )
    };
    frame.render_widget(
        Table::new(rows, widths)
            .header(Row::new(header).style(theme.muted.add_modifier(Modifier::BOLD)))
            .column_spacing(1),
        inner,
    );
}
