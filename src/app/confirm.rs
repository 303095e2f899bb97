//! The confirmation dialog: a planned action waits for reason, ticket and the typed
//! name; only a confirmed dialog emits `Effect::Act`. Nothing destructive can skip its
//! dialog, and one confirmation sends each request once (with a fixed Idempotency-Key
//! that a retry reuses).

use std::collections::BTreeSet;

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::outcome::TargetOutcome;
use super::plan::{self, PlannedAction, PlannedTarget, ServerPlan};
use super::wizard::{EmergencyWizard, WizardStep};
use super::{App, Dialog, Effect, SentAction, target};
use crate::backend::{ActionCall, ActionRequest};
use crate::keys::KeyAction;
use crate::model::{ExceptionTerms, Expiry, PendingEmergency, TargetKind, Verb};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Reason,
    Ticket,
    /// Exclude: who owns the exception (a person or a team).
    Owner,
    /// Exclude: the compensating control.
    Control,
    /// Exclude and renew: days or a date.
    Expires,
    /// Exclude: one patch (its KB or id), or blank for every patch.
    Scope,
    /// Confirming an emergency whose patch fixes no known exploited CVE: why anyway.
    Override,
    Confirm,
}

/// Where a dialog stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Editing,
    /// Requests sent; waiting for these idempotency keys.
    Sending {
        waiting: BTreeSet<String>,
    },
    /// Some requests did not succeed: what to tell, and whether Enter sends again.
    Problem {
        message: String,
        resend: Resend,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// Enter plans again against the current fleet (after a 412).
    Replan,
    /// Enter sends the failed requests again with the same keys (after a timeout).
    SameKeys,
    /// Nothing to retry; Enter closes.
    No,
}

#[derive(Debug, Clone)]
pub struct ConfirmDialog {
    pub plan: PlannedAction,
    /// What the server says the action would do (its dry run), shown as it came.
    pub server: ServerPlan,
    pub reason: Input,
    pub ticket: Input,
    pub confirm: Input,
    /// Confirming another approver's emergency request: the request, shown in full.
    pub request: Option<PendingEmergency>,
    /// The override reason, asked for when the request needs one.
    pub override_reason: Input,
    /// An exception's terms (exclude; renew takes only the expiry).
    pub owner: Input,
    pub control: Input,
    pub expires: Input,
    pub scope: Input,
    pub field: Field,
    pub error: Option<String>,
    pub stage: Stage,
    /// Idempotency key of each target (same order as plan.targets).
    pub keys: Vec<String>,
    /// Keys whose request succeeded.
    pub done: BTreeSet<String>,
    /// Results to report when the dialog closes.
    pub outcomes: Vec<TargetOutcome>,
}

impl ConfirmDialog {
    pub fn new(plan: PlannedAction, keys: Vec<String>) -> ConfirmDialog {
        let field = if plan.needs_reason() {
            Field::Reason
        } else if plan.confirm_text.is_some() {
            Field::Confirm
        } else {
            Field::Reason
        };
        ConfirmDialog {
            plan,
            server: ServerPlan::Planning { id: String::new() },
            reason: Input::default(),
            ticket: Input::default(),
            confirm: Input::default(),
            request: None,
            override_reason: Input::default(),
            owner: Input::default(),
            control: Input::default(),
            expires: Input::default(),
            scope: Input::default(),
            field,
            error: None,
            stage: Stage::Editing,
            keys,
            done: BTreeSet::new(),
            outcomes: Vec::new(),
        }
    }

    /// Why the confirmation must carry an override reason, if it must.
    pub fn override_needed(&self) -> Option<&str> {
        self.request.as_ref()?.override_needed.as_deref()
    }

    pub fn fields(&self) -> Vec<Field> {
        let mut fields = vec![Field::Reason, Field::Ticket];
        match self.plan.verb {
            Verb::Exclude => {
                fields.extend([Field::Owner, Field::Control, Field::Expires, Field::Scope]);
            }
            Verb::Renew => fields.push(Field::Expires),
            _ => {}
        }
        if self.override_needed().is_some() {
            fields.push(Field::Override);
        }
        if self.plan.confirm_text.is_some() {
            fields.push(Field::Confirm);
        }
        fields
    }

    pub fn input_mut(&mut self, field: Field) -> &mut Input {
        match field {
            Field::Reason => &mut self.reason,
            Field::Ticket => &mut self.ticket,
            Field::Override => &mut self.override_reason,
            Field::Owner => &mut self.owner,
            Field::Control => &mut self.control,
            Field::Expires => &mut self.expires,
            Field::Scope => &mut self.scope,
            Field::Confirm => &mut self.confirm,
        }
    }

    /// The expiry as typed, read (none when blank).
    fn expiry(&self) -> Option<Result<Expiry, String>> {
        let typed = self.expires.value().trim();
        (!typed.is_empty()).then(|| Expiry::parse(typed))
    }

    /// What is missing before the action may be sent, and which field to fix.
    pub fn validate(&self) -> Result<(), (Field, String)> {
        if self.plan.targets.is_empty() {
            return Err((self.field, "nothing to act on".into()));
        }
        if self.plan.needs_reason() {
            if self.reason.value().trim().is_empty() {
                return Err((
                    Field::Reason,
                    format!("a reason is required to {}", self.plan.verb.as_str()),
                ));
            }
            if self.ticket.value().trim().is_empty() {
                return Err((
                    Field::Ticket,
                    format!("a ticket is required to {}", self.plan.verb.as_str()),
                ));
            }
        }
        let fields = self.fields();
        if fields.contains(&Field::Control) && self.control.value().trim().is_empty() {
            return Err((
                Field::Control,
                "a compensating control is required: what protects the host meanwhile".into(),
            ));
        }
        if fields.contains(&Field::Expires) {
            match self.expiry() {
                None => {
                    return Err((
                        Field::Expires,
                        "an expiry is required: days (30) or a date (2027-01-15)".into(),
                    ));
                }
                Some(Err(why)) => return Err((Field::Expires, why)),
                Some(Ok(_)) => {}
            }
        }
        if self.override_needed().is_some() && self.override_reason.value().trim().is_empty() {
            return Err((
                Field::Override,
                "an override reason is required: this patch may not be expedited as is".into(),
            ));
        }
        if let Some(expected) = &self.plan.confirm_text
            && !self
                .confirm
                .value()
                .trim()
                .eq_ignore_ascii_case(expected.trim())
        {
            return Err((Field::Confirm, format!("type `{expected}` to confirm")));
        }
        Ok(())
    }

    /// The request for one planned target: the reason and ticket as typed, and the
    /// version seen as `If-Match`.
    pub fn request(&self, planned: &PlannedTarget) -> ActionRequest {
        let text = |input: &Input| {
            let value = input.value().trim();
            (!value.is_empty()).then(|| value.to_string())
        };
        let fields = self.fields();
        let given = |field: Field, input: &Input| {
            if fields.contains(&field) {
                text(input)
            } else {
                None
            }
        };
        ActionRequest {
            verb: self.plan.verb,
            target: planned.target.clone(),
            reason: text(&self.reason),
            ticket: text(&self.ticket),
            patch_id: given(Field::Scope, &self.scope).or_else(|| self.plan.patch_id.clone()),
            cve: self.plan.cve.clone(),
            override_reason: text(&self.override_reason),
            exception: Box::new(ExceptionTerms {
                owner: given(Field::Owner, &self.owner),
                compensating_control: given(Field::Control, &self.control),
                expires: self.expiry().and_then(Result::ok),
            }),
            if_match: Some(planned.version),
        }
    }
}

pub(super) fn on_fleet_action(app: &mut App, action: KeyAction) -> Vec<Effect> {
    app.dirty = true;
    if let Err(why) = app.availability(action) {
        app.set_flash(format!("{}: {why}", action.label()), true);
        return Vec::new();
    }
    if action == KeyAction::Emergency {
        let pending = app
            .fleet
            .summary
            .as_ref()
            .and_then(|s| s.pending_emergency.clone());
        if let Some(emergency) = app.emergency() {
            app.dialog = Some(Dialog::LeaveEmergency {
                cve: emergency.cve.clone(),
                input: Input::default(),
            });
        } else if let Some(pending) = pending {
            return confirm_request(app, pending);
        } else if app.fleet.patches.is_empty() {
            app.set_flash("no patches known: nothing to deploy in an emergency", true);
        } else {
            app.dialog = Some(Dialog::Emergency(EmergencyWizard {
                step: WizardStep::Patch,
                selected: 0,
                rollback_plan_ready: false,
                error: None,
                plan: None,
            }));
        }
        return Vec::new();
    }
    let Some(verb) = target::verb_of(action, app) else {
        return Vec::new();
    };
    match plan::plan_here(app, verb) {
        Ok(mut plan) => {
            if action == KeyAction::PauseResume && verb == crate::model::Verb::Approve {
                // `p` after a halt: the resume, which the fleet takes as an approval.
                plan.title = plan.title.replacen("Approve resuming", "Resume", 1);
                plan.title.push_str(" (approves it again after the halt)");
            }
            open_confirm(app, plan)
        }
        Err(why) => {
            app.set_flash(format!("{}: {why}", action.label()), true);
            Vec::new()
        }
    }
}

/// `E` while another approver's emergency request waits: its confirmation dialog; the
/// requester is told that it waits for someone else.
fn confirm_request(app: &mut App, pending: PendingEmergency) -> Vec<Effect> {
    let mine = app
        .identity
        .as_ref()
        .is_some_and(|me| me.as_person().to_lowercase() == pending.person.to_lowercase());
    if mine {
        app.set_flash(
            format!(
                "your request for {} waits for another approver; expires in {}",
                crate::text::clean(&pending.kb),
                crate::text::duration(pending.expires_at - app.fleet_now())
            ),
            false,
        );
        return Vec::new();
    }
    match plan::plan_confirm_emergency(&app.fleet, &pending) {
        Ok(plan) => {
            let effects = open_confirm(app, plan);
            if let Some(Dialog::Confirm(confirm)) = &mut app.dialog {
                confirm.request = Some(pending);
            }
            effects
        }
        Err(why) => {
            app.set_flash(format!("emergency: {why}"), true);
            Vec::new()
        }
    }
}

/// Open the confirmation dialog of `plan` and ask the server for its plan.
pub(super) fn open_confirm(app: &mut App, plan: PlannedAction) -> Vec<Effect> {
    let keys = plan.targets.iter().map(|_| app.new_key()).collect();
    let mut confirm = ConfirmDialog::new(plan, keys);
    if confirm.plan.verb == Verb::Exclude {
        // The owner is the operator unless they name a person or a team.
        if let Some(me) = &app.identity {
            confirm.owner = Input::new(me.name.clone());
        }
    }
    let effect = ask_server(app, &mut confirm);
    app.dialog = Some(Dialog::Confirm(Box::new(confirm)));
    vec![effect]
}

/// Ask for the server's plan of every target of the dialog, as it would be sent.
fn ask_server(app: &mut App, confirm: &mut ConfirmDialog) -> Effect {
    let requests = confirm
        .plan
        .targets
        .iter()
        .map(|t| confirm.request(t))
        .collect();
    let (state, effect) = plan::server::ask(app, requests);
    confirm.server = state;
    effect
}

/// Leaving the expiry or the scope of an exception asks the server's plan again: it
/// says what the cap allows and what the patch is before Enter.
fn ask_again(app: &mut App, confirm: &mut ConfirmDialog, left: Field) -> Option<Effect> {
    if !matches!(left, Field::Expires | Field::Scope) {
        return None;
    }
    if let Some(Err(why)) = confirm.expiry().filter(|_| left == Field::Expires) {
        confirm.error = Some(why);
        return None;
    }
    Some(ask_server(app, confirm))
}

pub(super) fn on_confirm_key(
    app: &mut App,
    mut confirm: ConfirmDialog,
    event: KeyEvent,
) -> Vec<Effect> {
    let mut effects = Vec::new();
    match (&confirm.stage, event.code) {
        (Stage::Sending { .. }, KeyCode::Esc) => {
            app.set_flash("sent: results will show in Actions", false);
            return effects;
        }
        (_, KeyCode::Esc) => return effects,
        (Stage::Sending { .. }, _) => {}
        (Stage::Problem { resend, .. }, KeyCode::Enter) => match resend {
            Resend::No => return effects,
            Resend::SameKeys => effects = send(app, &mut confirm, true),
            Resend::Replan => {
                // Only what was not done: a target already acted on is not planned twice.
                let targets: Vec<String> = confirm
                    .plan
                    .targets
                    .iter()
                    .zip(&confirm.keys)
                    .filter(|(_, key)| !confirm.done.contains(*key))
                    .map(|(t, _)| t.target.id.clone())
                    .collect();
                match plan::replan(app, &confirm.plan, &targets) {
                    Ok(plan) => {
                        confirm.keys = plan.targets.iter().map(|_| app.new_key()).collect();
                        confirm.plan = plan;
                        effects.push(ask_server(app, &mut confirm));
                        confirm.done.clear();
                        confirm.stage = Stage::Editing;
                        confirm.error =
                            Some("the fleet changed: check the preview again, Enter sends".into());
                    }
                    Err(why) => {
                        app.set_flash(why, true);
                        return effects;
                    }
                }
            }
        },
        (Stage::Problem { .. }, _) => {}
        (Stage::Editing, KeyCode::Enter) => match confirm.validate() {
            Ok(()) => effects = send(app, &mut confirm, false),
            Err((field, why)) => {
                confirm.field = field;
                confirm.error = Some(why);
            }
        },
        (Stage::Editing, KeyCode::Tab | KeyCode::Down) => {
            let fields = confirm.fields();
            let at = fields.iter().position(|f| *f == confirm.field).unwrap_or(0);
            let left = confirm.field;
            confirm.field = fields[(at + 1) % fields.len()];
            effects.extend(ask_again(app, &mut confirm, left));
        }
        (Stage::Editing, KeyCode::BackTab | KeyCode::Up) => {
            let fields = confirm.fields();
            let at = fields.iter().position(|f| *f == confirm.field).unwrap_or(0);
            let left = confirm.field;
            confirm.field = fields[(at + fields.len() - 1) % fields.len()];
            effects.extend(ask_again(app, &mut confirm, left));
        }
        (Stage::Editing, _) => {
            let field: Field = confirm.field;
            confirm
                .input_mut(field)
                .handle_event(&crossterm::event::Event::Key(event));
            confirm.error = None;
        }
    }
    app.dialog = Some(Dialog::Confirm(Box::new(confirm)));
    effects
}

/// Emit one request per target not yet done, each with the idempotency key fixed for
/// it when the dialog opened: a resend after a timeout reuses it, so the server acts once.
fn send(app: &mut App, confirm: &mut ConfirmDialog, resend: bool) -> Vec<Effect> {
    if !resend {
        // The operator looked at the dialog, not at the version numbers: progress moves
        // versions all the time. Refuse here if a target's state changed since the plan;
        // otherwise send the version the console holds now, so the server refuses (412)
        // only what changed in flight.
        let mut changed = Vec::new();
        // A host may move on (failed -> rolled back) and still take the action: only a
        // host that can no longer take it counts as changed.
        let verb = confirm.plan.verb;
        for planned in &mut confirm.plan.targets {
            let still = plan::still_takes(&app.fleet, verb, planned);
            match still {
                Some((true, version)) => planned.version = version,
                _ => changed.push(plan::what_changed(&app.fleet, planned)),
            }
        }
        if !changed.is_empty() {
            confirm.stage = Stage::Problem {
                message: format!(
                    "changed since you looked: {}. Nothing was sent. Enter plans again, Esc cancels",
                    changed.join("; ")
                ),
                resend: Resend::Replan,
            };
            return Vec::new();
        }
    }
    let mut waiting = BTreeSet::new();
    let mut effects = Vec::new();
    for (planned, key) in confirm.plan.targets.iter().zip(&confirm.keys) {
        if confirm.done.contains(key) {
            continue;
        }
        let call = ActionCall {
            request: confirm.request(planned),
            idempotency_key: key.clone(),
        };
        let sent = SentAction {
            call: call.clone(),
            target_name: planned.name.clone(),
            context: app.context.name.clone(),
            api_url: app.context.api_url.clone(),
            identity: app.identity.as_ref().map_or("unknown".into(), |i| {
                format!("{} ({})", i.name, i.role.as_str())
            }),
        };
        // Recorded before it leaves: quitting while it is in flight leaves a trace.
        if !resend || !app.sent.contains_key(key) {
            effects.push(super::records::sent_record(app, &sent, key));
        }
        app.sent.insert(key.clone(), sent);
        waiting.insert(key.clone());
        effects.push(Effect::Act(call));
    }
    confirm.stage = Stage::Sending { waiting };
    confirm.error = None;
    // The marks were for this action: the next one acts on what is selected then.
    if confirm
        .plan
        .targets
        .iter()
        .any(|t| t.target.kind == TargetKind::Host)
    {
        app.marked.clear();
    }
    effects
}
