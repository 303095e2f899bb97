//! An action's detail: who asked what of which target, and how it went.

use ratatui::text::Line;

use super::{DetailContext, field, field_loud, missing, name_lines, whole_name};
use crate::text::{self, clean};
use crate::ui::words::{action_progress, action_state_word};

pub(super) fn lines(cx: &DetailContext, id: &str) -> Vec<Line<'static>> {
    let DetailContext { app, theme, width } = *cx;
    let Some(action) = app.fleet.actions.get(id) else {
        return missing(theme, "action", id);
    };
    let now = app.fleet_now();
    let (state, loudness) = action_state_word(action.state);
    let name = &format!("{} {}", action.verb.as_str(), clean(&action.target_name));
    let mut lines = name_lines(theme, width, name);
    lines.extend([
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
    ]);
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
    lines.extend(whole_name(theme, width, name));
    lines
}
