//! The Exceptions pane: every host under an exception, the soonest expiry first, with
//! its scope, owner, ticket, compensating control and how it stands (expired ones
//! loud, near expiry marked).

use chrono::{DateTime, Utc};
use ratatui::layout::Constraint;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row};

use super::{PaneTable, RowsContext};
use crate::app::App;
use crate::app::exceptions::scope_words;
use crate::model::{Exception, ExceptionStanding};
use crate::text::{clean, fit};
use crate::ui::Loudness;

/// "3d", "4h", "40m": a span in its largest unit, to the nearest (30 days less a few
/// minutes is "30d").
fn span_words(span: chrono::Duration) -> String {
    let secs = span.num_seconds().abs();
    let nearest = |unit: i64| (secs + unit / 2) / unit;
    if secs >= 86_400 - 1800 {
        format!("{}d", nearest(86_400))
    } else if secs >= 3600 - 30 {
        format!("{}h", nearest(3600))
    } else {
        format!("{}m", nearest(60).max(1))
    }
}

/// How an exception stands at fleet time `now`: "in 3d", "in 40m (soon)", "EXPIRED 2d
/// ago", and how loud.
pub fn expiry_words(exception: &Exception, now: DateTime<Utc>) -> (String, Loudness) {
    let at = exception.expires_at;
    match exception.standing(now) {
        ExceptionStanding::Expired => (
            format!("EXPIRED {} ago", span_words(now - at.min(now))),
            Loudness::Fail,
        ),
        ExceptionStanding::NearExpiry => (
            format!("in {} (soon)", span_words(at - now)),
            Loudness::Warn,
        ),
        ExceptionStanding::InForce => (format!("in {}", span_words(at - now)), Loudness::Plain),
    }
}

/// How many hosts are under an exception (in force or expired): the tab's count; not
/// known while the hosts are still being listed behind the first screen.
pub fn exception_count(app: &App) -> Option<usize> {
    (!app.fleet.listing_hosts).then(|| app.exception_hosts.len())
}

pub(super) fn table<'a>(cx: &RowsContext<'a>) -> PaneTable<'a> {
    let RowsContext {
        app, theme, wide, ..
    } = *cx;
    let now = app.fleet_now();
    let (header, widths) = if wide {
        (
            vec![
                "HOST", "SCOPE", "OWNER", "TICKET", "EXPIRES", "CONTROL", "REASON",
            ],
            vec![
                Constraint::Length(16),
                Constraint::Length(11),
                Constraint::Length(26),
                Constraint::Length(10),
                Constraint::Length(16),
                Constraint::Fill(3),
                Constraint::Fill(2),
            ],
        )
    } else {
        (
            vec!["HOST", "SCOPE", "OWNER", "TICKET", "EXPIRES", "CONTROL"],
            vec![
                Constraint::Length(13),
                Constraint::Length(9),
                Constraint::Length(12),
                Constraint::Length(9),
                Constraint::Length(15),
                Constraint::Min(10),
            ],
        )
    };
    let column = |at: usize| cx.column_width(&widths, at);
    let mut rows = Vec::new();
    for (index, id) in cx.visible() {
        let Some(host) = app.fleet.hosts.get(id.as_str()) else {
            continue;
        };
        let Some(exception) = &host.exception else {
            continue;
        };
        let (expires, loudness) = expiry_words(exception, now);
        let scope = match &exception.patch_id {
            None => "all".to_string(),
            Some(_) => scope_words(&app.fleet, exception),
        };
        let mark = if app.marked.contains(id) { "*" } else { "" };
        let mut cells = vec![
            Cell::from(fit(&format!("{mark}{}", clean(&host.name)), column(0))),
            Cell::from(fit(&clean(&scope), column(1))),
            Cell::from(fit(&clean(&exception.owner), column(2))),
            Cell::from(fit(
                &clean(exception.ticket.as_deref().unwrap_or("-")),
                column(3),
            )),
            Cell::from(Span::styled(
                fit(&expires, column(4)),
                loudness.style(theme),
            )),
            Cell::from(Span::styled(
                fit(&clean(&exception.compensating_control), column(5)),
                theme.muted,
            )),
        ];
        if wide {
            cells.push(Cell::from(Span::styled(
                fit(&clean(&exception.reason), column(6)),
                theme.muted,
            )));
        }
        rows.push(Row::new(cells).style(cx.row_style(index)));
    }
    PaneTable {
        header: Row::new(header),
        widths,
        rows,
    }
}
