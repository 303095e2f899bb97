//! The Rings pane: one row per ring in rollout order, and the alert line under it.

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use super::{PaneTable, RowsContext};
use crate::app::App;
use crate::app::words::WindowWording;
use crate::model::{GateState, RingState};
use crate::text::{self, fit};
use crate::ui::words::{Loudness, gate_words, progress_bar, ring_state_words, window_words};

/// The one line an operator must read first: a halted or blocked ring and why.
/// Halted rings come first, then blocked gates; rings of an emergency before others.
pub fn rings_alert(app: &App) -> Option<(String, Loudness)> {
    let rings = app.rings_shown();
    if let Some(ring) = rings.iter().find(|r| r.state == RingState::Halted) {
        let why = ring.state_reason.as_deref().unwrap_or("no reason given");
        // A production ring resumes with two approvals: say when the first is in.
        let pending = if ring.gate.state == GateState::AwaitingSecondApprover {
            ", resume awaits a 2nd approver"
        } else {
            ""
        };
        return Some((
            format!(
                "{} HALTED{pending}: {}",
                text::clean(&ring.name),
                text::clean(why)
            ),
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
                format!(
                    "{} gate BLOCKED: {}",
                    text::clean(&ring.name),
                    text::clean(why)
                ),
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
        .map_or("the next ring".to_string(), |r| {
            text::clean(&r.name).into_owned()
        });
    Some((
        if waiting.gate.state == GateState::AwaitingSecondApprover {
            format!(
                "{next} waits: a second approver must approve (gate of {})",
                text::clean(&waiting.name)
            )
        } else {
            // `a` on the waiting ring approves its deployment (from this pane; the
            // Deployments pane's `a` needs its row selected).
            format!(
                "{next} waits for approval: {} passed its gate (a on {})",
                text::clean(&waiting.name),
                text::clean(&waiting.name)
            )
        },
        Loudness::Warn,
    ))
}

pub(super) fn table<'a>(cx: &RowsContext<'a>) -> PaneTable<'a> {
    let RowsContext {
        app, theme, wide, ..
    } = *cx;
    let bar_width = if wide { 20 } else { 10 };
    let mut rows = Vec::new();
    for (index, id) in cx.visible() {
        let Some(ring) = app.fleet.rings.get(id) else {
            continue;
        };
        let (state, state_loudness) = ring_state_words(app, ring, WindowWording::Column);
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
        // The gate column takes what the others leave: cut to it, marked (the
        // ring's detail and the alert line say it whole).
        // The fixed columns below and the spaces between all columns.
        let others = if wide {
            bar_width + 105 + 10
        } else {
            bar_width + 46 + 5
        };
        let gate_width = usize::from(cx.width).saturating_sub(others);
        cells.push(Cell::from(Span::styled(
            fit(&gate, gate_width.max(8)),
            gate_loudness.style(theme),
        )));
        cells.push(Cell::from(Span::styled(
            window,
            window_loudness.style(theme),
        )));
        rows.push(Row::new(cells).style(cx.row_style(index)));
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
    PaneTable {
        header: Row::new(header),
        widths,
        rows,
    }
}
