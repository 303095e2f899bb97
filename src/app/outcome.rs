//! What became of each action sent, as the console keeps and words it: the typed
//! [`Outcome`] of one target's request and the words the flash, the dialog and the
//! audit log show for it.

use super::{App, Dialog, Effect, Resend, Stage, plan};
use crate::backend::Outcome;
use crate::model::ActionState;

/// What one target's request came to, as the dialog keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetOutcome {
    pub outcome: Outcome,
    /// A version conflict: what changed on the target, in words, as the console knew
    /// the fleet when the answer came.
    pub changed: Option<String>,
}

impl TargetOutcome {
    /// In words: what changed for a version conflict, else the outcome's words.
    pub fn words(&self) -> String {
        match (&self.outcome, &self.changed) {
            (Outcome::VersionConflict { .. }, Some(changed)) => changed.clone(),
            (outcome, _) => outcome_words(outcome),
        }
    }
}

/// An outcome in the console's words (the flash, the dialog, the audit log).
pub fn outcome_words(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Succeeded(action) => match action.state {
            ActionState::AwaitingSecondApprover => "waits for a second approver".to_string(),
            ActionState::Running => "accepted, running".to_string(),
            ActionState::Succeeded => "succeeded".to_string(),
            ActionState::Partial => {
                format!("partial: {}", action.detail.clone().unwrap_or_default())
            }
            ActionState::Failed => {
                format!("failed: {}", action.detail.clone().unwrap_or_default())
            }
        },
        Outcome::VersionConflict { current_version } => format!(
            "refused: changed since planned (now version {})",
            current_version.map_or("?".into(), |v| v.to_string())
        ),
        Outcome::Forbidden { reason, .. } => format!("forbidden: {reason}"),
        Outcome::Unanswered(why) => format!("no answer: {why}"),
        Outcome::Refused { status, problem } => match &problem.detail {
            Some(detail) => format!("refused: {}: {detail} (HTTP {status})", problem.title),
            None => format!("refused: {} (HTTP {status})", problem.title),
        },
        Outcome::Failed { reason, .. } => format!("refused: {reason}"),
    }
}

/// An answer to `Effect::Act`: audit it, show the action at once, and move the dialog
/// on (closed when every target went through, else a problem saying what to do).
pub(super) fn on_action_done(app: &mut App, key: String, outcome: Outcome) -> Vec<Effect> {
    app.dirty = true;
    let mut effects = Vec::new();
    let words = outcome_words(&outcome);
    if let Some(sent) = app.sent.remove(&key) {
        effects.push(super::records::answer_record(app, sent, &key, &outcome));
    }
    if let Some(action) = outcome.action() {
        // Show it at once; the event stream brings its progress.
        app.fleet
            .upsert(crate::model::Change::Action(action.clone()));
        app.fleet_changed();
    }
    let Some(Dialog::Confirm(mut confirm)) = app.dialog.take() else {
        // The dialog was closed: say what happened.
        app.set_flash(words, outcome.action().is_none());
        return effects;
    };
    let Stage::Sending { waiting } = &mut confirm.stage else {
        app.dialog = Some(Dialog::Confirm(confirm));
        return effects;
    };
    if !waiting.remove(&key) {
        app.dialog = Some(Dialog::Confirm(confirm));
        return effects;
    }
    let waiting_empty = waiting.is_empty();
    let planned = confirm
        .plan
        .targets
        .iter()
        .zip(&confirm.keys)
        .find(|(_, k)| **k == key)
        .map(|(t, _)| t);
    let changed = match (&outcome, planned) {
        (Outcome::VersionConflict { .. }, Some(planned)) => {
            Some(plan::what_changed(&app.fleet, planned))
        }
        _ => None,
    };
    if outcome.action().is_some() {
        confirm.done.insert(key.clone());
    }
    let timed_out = matches!(outcome, Outcome::Unanswered(_));
    confirm.outcomes.push(TargetOutcome { outcome, changed });
    if !waiting_empty {
        app.dialog = Some(Dialog::Confirm(confirm));
        return effects;
    }
    let failures: Vec<String> = confirm
        .outcomes
        .iter()
        .filter(|o| !o.outcome.went_through())
        .map(TargetOutcome::words)
        .collect();
    if confirm.done.len() == confirm.keys.len() {
        let summary = if confirm.outcomes.iter().all(|o| o.outcome.succeeded_fully()) {
            "done".to_string()
        } else {
            confirm
                .outcomes
                .first()
                .map(TargetOutcome::words)
                .unwrap_or_default()
        };
        app.set_flash(format!("{}: {summary}", confirm.plan.title), false);
        return effects;
    }
    // Only a 412 means the plan is out of date; a refusal's words do not count.
    let changed = confirm
        .outcomes
        .iter()
        .any(|o| matches!(o.outcome, Outcome::VersionConflict { .. }));
    let message = failures.join("; ");
    confirm.outcomes.clear();
    confirm.stage = Stage::Problem {
        message: if changed {
            format!("changed since you looked: {message}. Enter plans again, Esc cancels")
        } else if timed_out {
            format!("{message}. Enter sends again with the same idempotency key, Esc cancels")
        } else {
            format!("{message}. Enter closes")
        },
        resend: if changed {
            Resend::Replan
        } else if timed_out {
            Resend::SameKeys
        } else {
            Resend::No
        },
    };
    app.dialog = Some(Dialog::Confirm(confirm));
    effects
}
