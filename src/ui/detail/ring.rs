//! A ring's detail: state, counts, test coverage, its gate, its window, its patching
//! groups.

use ratatui::text::{Line, Span};

use super::{
    DetailContext, counts_lines, field, field_loud, heading, missing, name_lines, whole_name,
};
use crate::app::words::WindowWording;
use crate::model::{Deployment, GateMode, Ring};
use crate::text::{self, clean, fit};
use crate::ui::words::{Loudness, gate_words, ring_state_words, window_words};

pub(super) fn lines(cx: &DetailContext, id: &str) -> Vec<Line<'static>> {
    let DetailContext { app, theme, width } = *cx;
    let Some(ring) = app.fleet.rings.get(id) else {
        return missing(theme, "ring", id);
    };
    let (state, loudness) = ring_state_words(app, ring, WindowWording::Sentence);
    let (gate, gate_loudness) = gate_words(app, ring);
    let (window, window_loudness) = window_words(app, ring);
    let name = &format!("{}  ({})", clean(&ring.name), clean(&ring.id));
    let mut lines = name_lines(theme, width, name);
    lines.push(field_loud(theme, "state", state, loudness));
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
    lines.extend(coverage_lines(cx, ring));
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
        for group in ring.groups.iter() {
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
                    "{}{} | owner {} | {:?} | down {} | up {}{}",
                    // A name cut to the label column is said whole in the value.
                    if text::width(&clean(&group.name)) > 15 {
                        format!("{} | ", clean(&group.name))
                    } else {
                        String::new()
                    },
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
    lines.extend(whole_name(theme, width, name));
    lines
}

/// The deployment whose coverage the ring's detail shows: of the active deployments
/// running through the ring, one now in it or about to open it, else the newest.
fn deployment_through<'a>(cx: &DetailContext<'a>, ring: &Ring) -> Option<&'a Deployment> {
    let through = || {
        cx.app
            .fleet
            .deployments
            .values()
            .filter(|d| d.state.is_active() && !d.emergency && d.rings.contains(&ring.id))
    };
    let here = |d: &&Deployment| {
        d.current_ring.as_deref() == Some(ring.id.as_str())
            || d.next_ring.as_deref() == Some(ring.id.as_str())
    };
    through()
        .find(here)
        .or_else(|| through().max_by_key(|d| d.created_at))
}

/// Test coverage, as the server's plan warns of it before the ring opens or resumes:
/// the models, OS builds and tiers of this ring and the later ones that never passed
/// through an earlier ring ([`crate::model::coverage`] over the synced hosts).
fn coverage_lines(cx: &DetailContext, ring: &Ring) -> Vec<Line<'static>> {
    let theme = cx.theme;
    let Some(deployment) = deployment_through(cx, ring) else {
        return Vec::new();
    };
    let fleet = &cx.app.fleet;
    let mut lines = vec![Line::from("")];
    let Some(coverage) = crate::model::coverage(
        deployment,
        &ring.id,
        fleet.rings.values(),
        fleet.hosts.values(),
    ) else {
        lines.push(heading(theme, "Test coverage"));
        lines.push(field(
            theme,
            "coverage",
            format!(
                "first ring of {}: no earlier ring to compare with",
                clean(&deployment.name)
            ),
        ));
        return lines;
    };
    lines.push(heading(
        theme,
        &format!(
            "Test coverage of {} (here and later rings, against {})",
            clean(&deployment.name),
            clean(&coverage.earlier_words())
        ),
    ));
    if coverage.gaps.is_empty() {
        lines.push(field_loud(
            theme,
            "coverage",
            format!(
                "every hardware model, OS build and server tier passed through {}",
                clean(&coverage.earlier_words())
            ),
            Loudness::Ok,
        ));
    }
    for gap in &coverage.gaps {
        lines.push(field_loud(
            theme,
            "NOT TESTED",
            clean(&coverage.gap_words(gap)).into_owned(),
            Loudness::Fail,
        ));
    }
    lines
}
