//! A host's exception in its detail: how it stands (expired loud, near expiry marked),
//! its scope, owner, ticket, control, who granted it, and each renewal.

use chrono::{DateTime, Utc};
use ratatui::text::Line;

use super::{field, field_loud};
use crate::app::App;
use crate::app::exceptions::scope_words;
use crate::model::Exception;
use crate::text::{self, clean};
use crate::theme::Theme;
use crate::ui::panes::expiry_words;

pub(super) fn lines(
    app: &App,
    theme: &Theme,
    exception: &Exception,
    now: DateTime<Utc>,
) -> Vec<Line<'static>> {
    let (standing, loudness) = expiry_words(exception, now);
    let mut lines = vec![field_loud(
        theme,
        "EXCEPTION",
        format!(
            "{} ({standing}, {})",
            scope_words(&app.fleet, exception),
            text::time(exception.expires_at, now)
        ),
        loudness,
    )];
    lines.push(field(
        theme,
        "  reason",
        clean(&exception.reason).into_owned(),
    ));
    lines.push(field(
        theme,
        "  owner",
        format!(
            "{}  ticket {}",
            clean(&exception.owner),
            clean(exception.ticket.as_deref().unwrap_or("none"))
        ),
    ));
    lines.push(field(
        theme,
        "  compensating",
        clean(&exception.compensating_control).into_owned(),
    ));
    if let Some(at) = exception.granted_at {
        lines.push(field(
            theme,
            "  granted",
            format!(
                "by {} {}",
                clean(&exception.granted_by),
                text::time(at, now)
            ),
        ));
    }
    for renewal in &exception.renewals {
        lines.push(field(
            theme,
            "  renewed",
            format!(
                "by {} {} to {} ({}): {}",
                clean(&renewal.by),
                text::time(renewal.at, now),
                text::time(renewal.expires_at, now),
                clean(renewal.ticket.as_deref().unwrap_or("no ticket")),
                clean(&renewal.reason)
            ),
        ));
    }
    if let Some(at) = exception.lapsed_at {
        lines.push(field_loud(
            theme,
            "  expired",
            format!(
                "{}: the host is back in the queue until it is renewed or revoked",
                text::time(at, now)
            ),
            crate::ui::Loudness::Fail,
        ));
    }
    lines
}
