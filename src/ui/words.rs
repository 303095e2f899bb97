//! The view's vocabulary: the words for states, gates, windows, severities and
//! approvals, each with how loud it is drawn. Shared by the panes, the detail screens
//! and the header.

use ratatui::style::Style;
use ratatui::text::Span;

use crate::app::App;
use crate::app::words::WindowWording;
use chrono::{DateTime, Utc};

use crate::model::{
    Action, ActionState, Deployment, DeploymentState, GateState, Host, HostCounts, Ring, RingState,
    Severity, Transition, WindowStatus,
};
use crate::text;
use crate::theme::Theme;

/// How loud a word is drawn: the theme gives each loudness its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loudness {
    Ok,
    Warn,
    Fail,
    Muted,
    Plain,
}

impl Loudness {
    pub fn style(self, theme: &Theme) -> Style {
        match self {
            Loudness::Ok => theme.ok,
            Loudness::Warn => theme.warn,
            Loudness::Fail => theme.fail,
            Loudness::Muted => theme.muted,
            Loudness::Plain => theme.text,
        }
    }
}

/// A ring's name for the screen: the ring by `id`, cleaned (names are API text), or
/// the id when the ring is not known.
pub fn ring_name(app: &App, id: &str) -> String {
    text::clean(&app.fleet.ring_name(id)).into_owned()
}

/// A bar of `width` columns: '#' succeeded, '!' failed, '~' in flight, '.' the rest.
/// Reads without colour; colour adds to it.
pub fn progress_bar<'a>(counts: &HostCounts, width: usize, theme: &Theme) -> Vec<Span<'a>> {
    let total = counts.total.max(1) as usize;
    let part = |n: u32| (n as usize * width).div_ceil(total).min(width);
    let ok = (counts.succeeded as usize * width / total).min(width);
    let failed = if counts.failed > 0 {
        part(counts.failed).max(1)
    } else {
        0
    }
    .min(width - ok);
    let flight = if counts.in_flight() > 0 {
        part(counts.in_flight()).max(1)
    } else {
        0
    }
    .min(width - ok - failed);
    let rest = width - ok - failed - flight;
    vec![
        Span::styled("#".repeat(ok), theme.ok),
        Span::styled("!".repeat(failed), theme.fail),
        Span::styled("~".repeat(flight), theme.warn),
        Span::styled(".".repeat(rest), theme.muted),
    ]
}

/// A ring's state as every screen words it: what the ring does now, never a word the
/// numbers beside it contradict. A ring "deploying" with nothing in flight while its
/// window is closed is queued for its window (a column says "queued", not the
/// "waiting" of a ring not yet reached; `Sentence`: "waiting for its window, opens
/// 21:00 (in 3h 05m)"); a soak whose time is up has ended; a ring with no
/// hosts is not "done" beside its 0%, nor one whose hosts another deployment is
/// installing.
pub fn ring_state_words(app: &App, ring: &Ring, wording: WindowWording) -> (String, Loudness) {
    let now = app.fleet_now();
    let sentence = wording == WindowWording::Sentence;
    match ring.state {
        RingState::Deploying if ring.counts.in_flight() == 0 => {
            match (ring.window.status(now), sentence) {
                (WindowStatus::Open { .. }, _) => ("deploying".into(), Loudness::Plain),
                (WindowStatus::Closed { .. }, false) => ("queued".into(), Loudness::Plain),
                (WindowStatus::Closed { opens_at }, true) => (
                    format!(
                        "waiting for its window, {}",
                        crate::app::words::opens_words(opens_at, now)
                    ),
                    Loudness::Muted,
                ),
            }
        }
        RingState::Done if ring.counts.total == 0 => ("no hosts".into(), Loudness::Muted),
        // Its rollout is done but hosts of another deployment (an emergency) are
        // under way or waiting here: say what the numbers beside it show.
        RingState::Done if ring.counts.in_flight() + ring.counts.pending > 0 => {
            let flying = ring.counts.in_flight();
            match (sentence, flying > 0) {
                (false, true) => ("deploying".into(), Loudness::Plain),
                (false, false) => ("waiting".into(), Loudness::Muted),
                (true, _) => (
                    format!(
                        "its rollout is done; {} hosts in flight and {} waiting for another deployment",
                        flying, ring.counts.pending
                    ),
                    Loudness::Plain,
                ),
            }
        }
        RingState::Soaking if ring.soak_ends_at.is_some_and(|end| end <= now) => (
            if sentence {
                "soak ended: the gate decides next"
            } else {
                "soak done"
            }
            .into(),
            Loudness::Plain,
        ),
        state => {
            let (word, loudness) = ring_state_word(state);
            (word.into(), loudness)
        }
    }
}

fn ring_state_word(state: RingState) -> (&'static str, Loudness) {
    match state {
        RingState::Waiting => ("waiting", Loudness::Muted),
        RingState::Deploying => ("deploying", Loudness::Plain),
        RingState::Soaking => ("soaking", Loudness::Plain),
        RingState::Paused => ("PAUSED", Loudness::Warn),
        RingState::Halted => ("HALTED", Loudness::Fail),
        RingState::Done => ("done", Loudness::Ok),
    }
}

/// Gate column: what stands between this ring and the next.
pub fn gate_words(app: &App, ring: &Ring) -> (String, Loudness) {
    let now = app.fleet_now();
    if ring.state == RingState::Halted {
        let why = ring.state_reason.as_deref().unwrap_or("halted");
        return (text::clean(why).into_owned(), Loudness::Fail);
    }
    match ring.gate.state {
        GateState::NotReached => ("not reached".into(), Loudness::Muted),
        GateState::Soaking => match ring.soak_ends_at {
            Some(end) if end > now => (
                format!("soak {} left", text::duration(end - now)),
                Loudness::Plain,
            ),
            _ => ("soak ending".into(), Loudness::Plain),
        },
        GateState::AwaitingApproval => ("awaiting approval".into(), Loudness::Warn),
        GateState::AwaitingSecondApprover => ("awaiting 2nd approver".into(), Loudness::Warn),
        GateState::Passed => ("passed".into(), Loudness::Ok),
        GateState::Blocked => (
            format!(
                "BLOCKED: {}",
                text::clean(
                    ring.gate
                        .blocked_reason
                        .as_deref()
                        .unwrap_or("threshold not met")
                )
            ),
            Loudness::Fail,
        ),
    }
}

pub fn window_words(app: &App, ring: &Ring) -> (String, Loudness) {
    let (words, open) =
        crate::app::words::window_words(&ring.window, app.fleet_now(), WindowWording::Column);
    (words, if open { Loudness::Ok } else { Loudness::Muted })
}

/// Four letters of a severity word for narrow tables ("Crit", "Impo").
pub fn short_severity(word: &str) -> &str {
    word.get(..4).unwrap_or(word)
}

pub fn severity_word(severity: Severity) -> (&'static str, Loudness) {
    match severity {
        Severity::Critical => ("Critical", Loudness::Fail),
        Severity::Important => ("Important", Loudness::Warn),
        Severity::Moderate => ("Moderate", Loudness::Plain),
        Severity::Low => ("Low", Loudness::Muted),
    }
}

/// A deployment's state as every screen words it: a running deployment whose current
/// ring waits for its window says so ("window closed" in a column, the ring's
/// sentence in the detail), never "running" while nothing can run.
pub fn deployment_state_words(
    app: &App,
    deployment: &Deployment,
    wording: WindowWording,
) -> (String, Loudness) {
    let waiting = deployment
        .current_ring
        .as_ref()
        .and_then(|id| app.fleet.rings.get(id))
        .filter(|ring| {
            deployment.state == DeploymentState::Running && ring.state == RingState::Deploying
        })
        .map(|ring| ring_state_words(app, ring, wording))
        .filter(|(_, loudness)| *loudness == Loudness::Muted);
    match (waiting, wording) {
        (Some(_), WindowWording::Column) => ("window closed".into(), Loudness::Muted),
        (Some((sentence, loudness)), WindowWording::Sentence) => {
            (format!("running, {sentence}"), loudness)
        }
        (None, _) => {
            let (word, loudness) = deployment_state_word(deployment.state);
            match requested_words(deployment, wording) {
                Some(requested) => requested,
                None => (word.into(), loudness),
            }
        }
    }
}

/// A state asked for and not reached yet (a vendor fleet: the cancel is sent, its
/// invocations still run), said beside the state the fleet is in: "halting" in a
/// column, "running; halt requested, not reached yet" in a sentence.
fn requested_words(deployment: &Deployment, wording: WindowWording) -> Option<(String, Loudness)> {
    let requested = deployment
        .requested_state
        .filter(|r| *r != deployment.state)?;
    let (now, _) = deployment_state_word(deployment.state);
    let (going, verb) = match requested {
        DeploymentState::Halted => ("halting", "halt"),
        DeploymentState::Paused => ("pausing", "pause"),
        DeploymentState::RollingBack | DeploymentState::RolledBack => ("rolling back", "rollback"),
        DeploymentState::Declined => ("declining", "decline"),
        DeploymentState::Running => ("resuming", "resume"),
        DeploymentState::Completed | DeploymentState::AwaitingApproval => return None,
    };
    Some(match wording {
        WindowWording::Column => (going.into(), Loudness::Warn),
        WindowWording::Sentence => (
            format!("{now}; {verb} requested, not reached yet (the fleet is still acting)"),
            Loudness::Warn,
        ),
    })
}

pub fn deployment_state_word(state: DeploymentState) -> (&'static str, Loudness) {
    match state {
        DeploymentState::AwaitingApproval => ("needs approval", Loudness::Warn),
        DeploymentState::Running => ("running", Loudness::Plain),
        DeploymentState::Paused => ("PAUSED", Loudness::Warn),
        DeploymentState::Halted => ("HALTED", Loudness::Fail),
        DeploymentState::RollingBack => ("rolling back", Loudness::Warn),
        DeploymentState::RolledBack => ("rolled back", Loudness::Muted),
        DeploymentState::Declined => ("declined", Loudness::Muted),
        DeploymentState::Completed => ("completed", Loudness::Ok),
    }
}

/// "KB5070001 +4" and the highest severity.
pub fn deployment_patches(app: &App, deployment: &Deployment) -> (String, Option<Severity>) {
    let patches: Vec<_> = deployment
        .patch_ids
        .iter()
        .filter_map(|id| app.fleet.patches.get(id))
        .collect();
    let severity = patches.iter().map(|p| p.severity).min();
    let first = patches.first().map_or_else(
        || deployment.patch_ids.first().cloned().unwrap_or_default(),
        |p| p.kb.clone(),
    );
    let more = deployment.patch_ids.len().saturating_sub(1);
    let label = if more > 0 {
        format!("{first}+{more}")
    } else {
        first
    };
    (label, severity)
}

pub fn approval_words(app: &App, deployment: &Deployment) -> (String, Loudness) {
    if let Some(pending) = &deployment.pending_approval {
        return (
            format!(
                "{} approved {}{}; awaiting a second approver",
                text::clean(&pending.first_approver),
                if pending.resume { "resuming " } else { "" },
                ring_name(app, &pending.ring_id)
            ),
            Loudness::Warn,
        );
    }
    match deployment.approvals.last() {
        Some(approval) => (
            format!(
                "{} by {}",
                ring_name(app, &approval.ring_id),
                text::clean(&approval.by)
            ),
            Loudness::Muted,
        ),
        None => ("not approved yet".into(), Loudness::Muted),
    }
}

/// Who approved, in a few words (the narrow table's second line).
pub fn short_approval_words(deployment: &Deployment) -> String {
    if let Some(pending) = &deployment.pending_approval {
        return format!(
            "{} approved; needs a 2nd",
            text::clean(&pending.first_approver)
        );
    }
    match deployment.approvals.last() {
        Some(approval) if approval.by == crate::model::SYSTEM => "automatic gate".into(),
        Some(approval) => format!("approved by {}", text::clean(&approval.by)),
        None => "not approved yet".into(),
    }
}

pub fn action_state_word(state: ActionState) -> (&'static str, Loudness) {
    match state {
        ActionState::AwaitingSecondApprover => ("awaiting 2nd approver", Loudness::Warn),
        ActionState::Running => ("running", Loudness::Plain),
        ActionState::Succeeded => ("done", Loudness::Ok),
        ActionState::Partial => ("PARTIAL", Loudness::Warn),
        ActionState::Failed => ("FAILED", Loudness::Fail),
    }
}

pub fn action_progress(action: &Action) -> String {
    if action.progress_total > 0 {
        format!("{}/{}", action.progress_done, action.progress_total)
    } else {
        String::new()
    }
}

/// When a host was last heard from, as every screen says it: never before the latest
/// thing it reported (its failure, a step of its `history`), so a host is never "last
/// seen 08:20" beside "failed 08:27".
pub fn last_seen(host: &Host, history: &[Transition]) -> DateTime<Utc> {
    history
        .iter()
        .map(|step| step.at)
        .chain(host.failure.as_ref().map(|f| f.at))
        .fold(host.last_seen, DateTime::max)
}
