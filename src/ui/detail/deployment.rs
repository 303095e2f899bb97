//! A deployment's detail: state, its path through the rings, approvals, patches.

use ratatui::text::{Line, Span};

use super::{
    DetailContext, counts_lines, field, field_loud, heading, missing, name_lines, whole_name,
};
use crate::app::words::WindowWording;
use crate::text::{self, clean};
use crate::ui::words::{
    Loudness, approval_words, deployment_state_words, ring_name, severity_word,
};

pub(super) fn lines(cx: &DetailContext, id: &str) -> Vec<Line<'static>> {
    let DetailContext { app, theme, width } = *cx;
    let Some(deployment) = app.fleet.deployments.get(id) else {
        return missing(theme, "deployment", id);
    };
    let now = app.fleet_now();
    let (state, loudness) = deployment_state_words(app, deployment, WindowWording::Sentence);
    let name = &format!(
        "{}{}",
        if deployment.emergency {
            "EMERGENCY  "
        } else {
            ""
        },
        clean(&deployment.name)
    );
    let mut lines = name_lines(theme, width, name);
    lines.push(field_loud(theme, "state", state, loudness));
    if let Some(age) = crate::app::age::detail_words(app, deployment.as_of) {
        lines.push(field_loud(theme, "data", age, Loudness::Warn));
    }
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
            let name = ring_name(app, r);
            if deployment.current_ring.as_deref() == Some(r.as_str()) {
                format!("[{name}]")
            } else {
                name
            }
        })
        .collect();
    lines.push(field(theme, "rings", path.join(" > ")));
    if let Some(limits) = &deployment.limits {
        lines.push(field(
            theme,
            "limits",
            format!(
                "rate {} at once, failure gate {}",
                clean(&limits.rate),
                clean(&limits.failure_gate)
            ),
        ));
    }
    if let Some(next) = &deployment.next_ring {
        lines.push(field(theme, "next ring", ring_name(app, next)));
    }
    let (approvals, approval_loudness) = approval_words(app, deployment);
    lines.push(field_loud(theme, "approval", approvals, approval_loudness));
    for approval in &deployment.approvals {
        lines.push(field(
            theme,
            "",
            format!(
                "{} approved by {} at {}",
                ring_name(app, &approval.ring_id),
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
    if deployment.patch_ids.is_empty() {
        lines.push(Line::from(Span::styled(
            "none named: the hosts' patch baseline decides what installs",
            theme.muted,
        )));
    }
    for patch_id in &deployment.patch_ids {
        match app.fleet.patches.get(patch_id) {
            Some(patch) => {
                let (severity, loudness) = severity_word(patch.severity);
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<10} ", clean(&patch.kb)), theme.accent),
                    Span::styled(format!("{severity:<10}"), loudness.style(theme)),
                    Span::raw(clean(&patch.title).into_owned()),
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
    lines.extend(whole_name(theme, width, name));
    lines
}
