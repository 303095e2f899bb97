//! The emergency checklist, built from the stages the server created (the rings of
//! the emergency deployment) and ticked only from facts: a stage is done when every
//! host it targets succeeded; what the fleet cannot know (apps tested, the rollback
//! plan) is never ticked by the console, and an empty stage says so.

use ratatui::text::{Line, Span};

use crate::app::App;
use crate::model::{Emergency, HostCounts};
use crate::text::clean;
use crate::theme::Theme;

/// Ring id suffix of the look-alike stage (`emergency-N-lookalike`).
const LOOKALIKE: &str = "-lookalike";

/// The checklist in one line: how many checks are done and the first one open.
pub fn checklist_summary(app: &App, emergency: &Emergency) -> String {
    let theme = Theme::default();
    let items: Vec<String> = checklist_lines(app, &theme, emergency)
        .iter()
        .map(|line| line.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect();
    let done = items.iter().filter(|i| i.starts_with("[x]")).count();
    let next = items
        .iter()
        .find(|i| !i.starts_with("[x]"))
        .map(|i| format!("; next: {}", i.get(4..).unwrap_or("")))
        .unwrap_or_default();
    format!(
        " EMERGENCY {}: checklist {done}/{} done{next} (c opens) ",
        clean(&emergency.cve),
        items.len()
    )
}

/// `[x]` when done, `[~]` when started, `[ ]` otherwise.
fn tick(done: bool, started: bool) -> &'static str {
    if done {
        "[x]"
    } else if started {
        "[~]"
    } else {
        "[ ]"
    }
}

/// A stage's progress: succeeded, targeted (not excluded), failed, started at all.
fn progress(counts: &HostCounts) -> (u32, u32, u32, bool) {
    let targeted = counts.total.saturating_sub(counts.excluded);
    let started = counts.succeeded + counts.failed + counts.in_flight() > 0;
    (counts.succeeded, targeted, counts.failed, started)
}

pub fn checklist_lines(app: &App, theme: &Theme, emergency: &Emergency) -> Vec<Line<'static>> {
    let deployment = app.fleet.deployments.get(&emergency.deployment_id);
    let kb = app
        .fleet
        .patches
        .get(&emergency.patch_id)
        .map_or(emergency.patch_id.as_str(), |p| p.kb.as_str());
    let uninstallable = app
        .fleet
        .patches
        .get(&emergency.patch_id)
        .is_none_or(|p| p.uninstallable);
    // The stages the server created, in its order.
    let stages: Vec<(String, String, HostCounts)> = deployment
        .map(|d| d.rings.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|id| app.fleet.rings.get(id))
        .map(|ring| {
            (
                ring.id.clone(),
                clean(&ring.name)
                    .trim_start_matches("Emergency: ")
                    .to_string(),
                ring.counts,
            )
        })
        .collect();
    let confirmed = if emergency.confirmed_by.is_empty() {
        String::new()
    } else {
        format!(", confirmed by {}", clean(&emergency.confirmed_by))
    };
    let mut items: Vec<(String, bool)> = vec![(
        format!(
            "[x] {} for {}: started by {}{confirmed}",
            clean(kb),
            clean(&emergency.cve),
            clean(&emergency.started_by),
        ),
        false,
    )];
    let lookalike_line = |name: &str, counts: &HostCounts| {
        let (ok, total, failed, started) = progress(counts);
        (
            format!(
                "{} {name}: {ok}/{total} ok{}",
                tick(total > 0 && ok == total, started),
                if failed > 0 {
                    format!(", {failed} failed")
                } else {
                    String::new()
                }
            ),
            failed > 0,
        )
    };
    match stages.iter().find(|(id, _, _)| id.ends_with(LOOKALIKE)) {
        Some((_, name, counts)) => {
            let (text, bad) = lookalike_line(name, counts);
            items.push((text.replacen("] ", "] test first on ", 1), bad));
        }
        None if deployment.is_some() => items.push((
            "[ ] no look-alike hosts found: test by hand before the critical stage".into(),
            true,
        )),
        None => {}
    }
    let verified = deployment.map_or(0, |d| d.counts.succeeded);
    let rebooting = deployment.map_or(0, |d| d.counts.rebooting + d.counts.verifying);
    items.push((
        format!(
            "{} apps tested after reboot (by people): {verified} verified, {rebooting} rebooting",
            tick(false, verified > 0)
        ),
        false,
    ));
    items.push((
        format!(
            "[ ] rollback plan ready ({}); the fleet does not record it",
            if uninstallable {
                format!("{} can be uninstalled", clean(kb))
            } else {
                format!("{} CANNOT be uninstalled: restore", clean(kb))
            },
        ),
        !uninstallable,
    ));
    // The other stages in one line, in the server's order, done when all are.
    let rest: Vec<&(String, String, HostCounts)> = stages
        .iter()
        .filter(|(id, _, _)| !id.ends_with(LOOKALIKE))
        .collect();
    if !rest.is_empty() {
        let mut done = true;
        let mut started = false;
        let mut failed = false;
        let parts: Vec<String> = rest
            .iter()
            .map(|(_, _, counts)| {
                let (ok, total, bad, begun) = progress(counts);
                done &= total > 0 && ok == total;
                started |= begun;
                failed |= bad > 0;
                let bad = if bad > 0 {
                    format!(" ({bad} failed)")
                } else {
                    String::new()
                };
                format!("{ok}/{total}{bad}")
            })
            .collect();
        // The counts first, then the stages' names in the same order: a line cut to
        // fit loses names (the Rings pane has them), never a count.
        let names: Vec<&str> = rest.iter().map(|(_, name, _)| name.as_str()).collect();
        items.push((
            format!(
                "{} critical first, then the rest: {} ({})",
                tick(done, started),
                parts.join(", "),
                names.join(", ")
            ),
            failed,
        ));
    }
    if deployment.is_none() {
        items.push((
            format!(
                "[ ] the emergency deployment {} is not loaded yet",
                clean(&emergency.deployment_id)
            ),
            true,
        ));
    }
    items
        .into_iter()
        .map(|(text, bad)| {
            Line::from(Span::styled(
                text,
                if bad { theme.fail } else { theme.text },
            ))
        })
        .collect()
}
