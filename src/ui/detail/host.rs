//! A host's detail: live state from the fleet, history from the detail fetch.

use ratatui::text::{Line, Span};

use super::{DetailContext, field, field_loud, heading, missing, name_lines, whole_name};
use crate::model::HostState;
use crate::text::{self, clean};
use crate::ui::words::{Loudness, last_seen, ring_name};

pub(super) fn lines(cx: &DetailContext, id: &str) -> Vec<Line<'static>> {
    let DetailContext { app, theme, width } = *cx;
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
    let ring = app.fleet.rings.get(live.ring_id.as_str());
    let loudness = match live.state {
        HostState::Failed => Loudness::Fail,
        HostState::Succeeded => Loudness::Ok,
        HostState::Offline | HostState::Excluded => Loudness::Muted,
        _ => Loudness::Plain,
    };
    let name = &format!("{}  ({})", clean(&live.name), clean(&live.id));
    let mut lines = name_lines(theme, width, name);
    lines.push(field_loud(theme, "state", live.state.words(), loudness));
    if let Some(age) = crate::app::age::detail_words(app, live.as_of) {
        lines.push(field_loud(theme, "data", age, Loudness::Warn));
    }
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
    lines.push(field(theme, "ring", ring_name(app, &live.ring_id)));
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
    let seen = last_seen(live, &host.history);
    lines.push(field(
        theme,
        "last seen",
        format!(
            "{} ({} ago)",
            text::time(seen, now),
            text::duration(now - seen)
        ),
    ));
    if let Some(until) = live.deferred_until {
        lines.push(field(theme, "deferred until", text::time(until, now)));
    }
    if let Some(exception) = &live.exception {
        lines.extend(super::exception::lines(app, theme, exception, now));
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
                    Span::styled(format!("{:<15}", step.state.words()), theme.text),
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
    lines.extend(whole_name(theme, width, name));
    lines
}
