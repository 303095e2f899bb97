//! What the local audit log gets from the console: a line when an action is sent (with
//! its idempotency key), one with the answer, one with the final outcome of a long action
//! (seen in the event stream), and one for each action still unanswered at quit (after
//! the operator confirmed quitting). Every line carries the wall and the fleet clocks.

use super::outcome::outcome_words;
use super::{App, Dialog, Effect, SentAction};
use crate::audit::{AuditPhase, AuditRecord, AuditResult};
use crate::backend::Outcome;
use crate::model::{Action, ActionState};

/// A line about `sent` (key `key`) at this moment.
pub(super) fn record(
    app: &App,
    sent: &SentAction,
    key: &str,
    phase: AuditPhase,
    outcome: String,
) -> AuditRecord {
    let request = &sent.call.request;
    AuditRecord {
        time: app.now,
        fleet_time: app.fleet.summary.is_some().then(|| app.fleet_now()),
        phase,
        context: sent.context.clone(),
        api: sent.api_url.clone(),
        identity: sent.identity.clone(),
        action: request.verb,
        target_kind: request.target.kind,
        target_id: request.target.id.clone(),
        target_name: sent.target_name.clone(),
        reason: request.reason.clone(),
        ticket: request.ticket.clone(),
        idempotency_key: key.to_string(),
        outcome,
        result: None,
        action_id: None,
    }
}

/// The line written when a request leaves.
pub(super) fn sent_record(app: &App, sent: &SentAction, key: &str) -> Effect {
    Effect::Audit(Box::new(record(
        app,
        sent,
        key,
        AuditPhase::Sent,
        "sent, no answer yet".into(),
    )))
}

/// The answer's line; a long action is remembered until it ends.
pub(super) fn answer_record(
    app: &mut App,
    sent: SentAction,
    key: &str,
    outcome: &Outcome,
) -> Effect {
    let mut line = record(app, &sent, key, AuditPhase::Answer, outcome_words(outcome));
    line.result = Some(AuditResult::from(outcome));
    line.action_id = outcome.action().map(|action| action.id.clone());
    if let Some(action) = outcome.action()
        && !is_final(action.state)
    {
        app.awaiting_final
            .insert(action.id.clone(), (key.to_string(), sent));
    }
    Effect::Audit(Box::new(line))
}

pub fn is_final(state: ActionState) -> bool {
    matches!(
        state,
        ActionState::Succeeded | ActionState::Partial | ActionState::Failed
    )
}

/// "done, 12 of 12 hosts" / "failed: ... (3 of 12 hosts)".
pub fn final_words(action: &Action) -> String {
    let progress = (action.progress_total > 0).then(|| {
        format!(
            "{} of {} hosts",
            action.progress_done, action.progress_total
        )
    });
    let detail = action.detail.as_deref().map(crate::text::clean);
    let state = match action.state {
        ActionState::Succeeded => "done",
        ActionState::Partial => "partly done",
        ActionState::Failed => "failed",
        ActionState::Running => "running",
        ActionState::AwaitingSecondApprover => "awaiting a second approver",
    };
    let mut words = state.to_string();
    if let Some(progress) = progress {
        words.push_str(&format!(", {progress}"));
    }
    if let Some(detail) = detail.filter(|d| !d.is_empty()) {
        words.push_str(&format!(": {detail}"));
    }
    words
}

/// Actions this console sent that have now reached their final state: their lines.
pub(super) fn final_records(app: &mut App) -> Vec<Effect> {
    let ended: Vec<String> = app
        .awaiting_final
        .keys()
        .filter(|id| {
            app.fleet
                .actions
                .get(*id)
                .is_some_and(|a| is_final(a.state))
        })
        .cloned()
        .collect();
    let mut effects = Vec::new();
    for id in ended {
        let Some((key, sent)) = app.awaiting_final.remove(&id) else {
            continue;
        };
        let Some(action) = app.fleet.actions.get(&id) else {
            continue;
        };
        let mut line = record(app, &sent, &key, AuditPhase::Final, final_words(action));
        line.result = Some(AuditResult::Succeeded {
            state: action.state,
        });
        line.action_id = Some(id.clone());
        effects.push(Effect::Audit(Box::new(line)));
    }
    effects
}

/// `q`, `:quit`, Ctrl-C: quit at once, or ask first while actions are unanswered.
pub(super) fn quit(app: &mut App) -> Vec<Effect> {
    if app.sent.is_empty() {
        return vec![Effect::Quit];
    }
    app.dialog = Some(Dialog::Quit {
        unanswered: app.sent.len(),
    });
    app.dirty = true;
    Vec::new()
}

/// The quit question: `y`, Enter or Ctrl-C quits and records each unanswered action
/// as unknown; anything else stays.
pub(super) fn on_quit_key(app: &mut App, event: crossterm::event::KeyEvent) -> Vec<Effect> {
    use crossterm::event::{KeyCode, KeyModifiers};
    let ctrl_c =
        event.code == KeyCode::Char('c') && event.modifiers.contains(KeyModifiers::CONTROL);
    if !(ctrl_c || matches!(event.code, KeyCode::Enter | KeyCode::Char('y' | 'Y'))) {
        app.set_flash("not quitting: the answers will show in Actions", false);
        return Vec::new();
    }
    let mut effects = abandon_unanswered(
        app,
        "unknown: the console quit before the answer (check Actions or the server's audit)",
    );
    effects.push(Effect::Quit);
    effects
}

/// The console is going away without asking (`q` confirmed, SIGTERM, SIGHUP, the
/// terminal closed): every action sent and not yet answered gets an `unknown` line in
/// the audit log, saying why, so that nothing sent is missing from it.
pub fn abandon_unanswered(app: &mut App, why: &str) -> Vec<Effect> {
    let sent = std::mem::take(&mut app.sent);
    sent.iter()
        .map(|(key, sent)| {
            Effect::Audit(Box::new(record(
                app,
                sent,
                key,
                AuditPhase::Unknown,
                why.to_string(),
            )))
        })
        .collect()
}
