//! The Deployments pane: in flight first; narrow, each row takes two lines.

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Row};

use super::{PaneTable, RowsContext};
use crate::app::words::WindowWording;
use crate::model::DeploymentState;
use crate::text::{self, fit};
use crate::ui::words::{
    Loudness, approval_words, deployment_patches, deployment_state_words, ring_name, severity_word,
    short_approval_words, short_severity,
};

pub(super) fn table<'a>(cx: &RowsContext<'a>) -> PaneTable<'a> {
    let RowsContext {
        app, theme, wide, ..
    } = *cx;
    let now = app.fleet_now();
    let ring_name = |id: &Option<String>| {
        id.as_ref()
            .map(|id| ring_name(app, id))
            .unwrap_or_else(|| "-".into())
    };
    let mut rows = Vec::new();
    for (index, id) in cx.visible() {
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
            ("2nd approver".to_string(), Loudness::Warn)
        } else {
            deployment_state_words(app, deployment, WindowWording::Column)
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
        // Cut to the column, marked: the detail screen (Enter) shows the whole path.
        let ring = fit(&ring, if wide { 20 } else { 9 });
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
        let row = Row::new(cells).style(cx.row_style(index));
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
    PaneTable {
        header: Row::new(header),
        widths,
        rows,
    }
}
