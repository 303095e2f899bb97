//! The emergency wizard (`E`): pick the patch, see the order of targets, confirm the
//! rollback plan; then the confirmation dialog. And leaving emergency mode.

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::confirm::open_confirm;
use super::lists::Pane;
use super::plan::ServerPlan;
use super::{App, Dialog, Effect, ListId, plan};
use crate::backend::ActionRequest;
use crate::model::{Target, TargetKind, Verb};

/// The steps of `E` before the confirmation: pick the patch, see the order of targets,
/// confirm the rollback plan. Then reason, ticket and the CVE typed to confirm.
#[derive(Debug, Clone, PartialEq)]
pub struct EmergencyWizard {
    pub step: WizardStep,
    pub selected: usize,
    pub rollback_plan_ready: bool,
    pub error: Option<String>,
    /// The server's plan of the emergency of the chosen patch (its stages), asked for
    /// when the patch is chosen.
    pub plan: Option<ServerPlan>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WizardStep {
    Patch,
    Targets,
    RollbackPlan,
}

pub(super) fn on_wizard_key(
    app: &mut App,
    mut wizard: EmergencyWizard,
    event: KeyEvent,
) -> Vec<Effect> {
    let candidates = plan::emergency_candidates(&app.fleet);
    wizard.error = None;
    match (wizard.step, event.code) {
        (_, KeyCode::Esc) => return Vec::new(),
        (WizardStep::Patch, KeyCode::Down | KeyCode::Char('j')) => {
            wizard.selected = (wizard.selected + 1).min(candidates.len().saturating_sub(1));
        }
        (WizardStep::Patch, KeyCode::Up | KeyCode::Char('k')) => {
            wizard.selected = wizard.selected.saturating_sub(1);
        }
        (WizardStep::Patch, KeyCode::Enter) => {
            if let Some(patch) = candidates.get(wizard.selected) {
                let planned = plan::plan_emergency(&app.fleet, patch);
                let mut request = ActionRequest::new(
                    Verb::Emergency,
                    Target {
                        kind: TargetKind::Fleet,
                        id: "fleet".into(),
                    },
                );
                request.patch_id = planned.patch_id;
                request.cve = planned.cve;
                let (state, effect) = plan::server::ask(app, vec![request]);
                wizard.plan = Some(state);
                wizard.step = WizardStep::Targets;
                app.dialog = Some(Dialog::Emergency(wizard));
                return vec![effect];
            }
        }
        (WizardStep::Targets, KeyCode::Enter) => wizard.step = WizardStep::RollbackPlan,
        (WizardStep::Targets, KeyCode::Backspace | KeyCode::BackTab) => {
            wizard.step = WizardStep::Patch
        }
        (WizardStep::RollbackPlan, KeyCode::Char(' ')) => {
            wizard.rollback_plan_ready = !wizard.rollback_plan_ready;
        }
        (WizardStep::RollbackPlan, KeyCode::Backspace | KeyCode::BackTab) => {
            wizard.step = WizardStep::Targets;
        }
        (WizardStep::RollbackPlan, KeyCode::Enter) => {
            if !wizard.rollback_plan_ready {
                wizard.error = Some("confirm the rollback plan first (Space)".into());
            } else if let Some(patch) = candidates.get(wizard.selected) {
                let plan = plan::plan_emergency(&app.fleet, patch);
                return open_confirm(app, plan);
            }
        }
        _ => {}
    }
    app.dialog = Some(Dialog::Emergency(wizard));
    Vec::new()
}

/// Leaving emergency mode: the operator types the CVE.
pub(super) fn on_leave_key(
    app: &mut App,
    cve: String,
    mut input: Input,
    event: KeyEvent,
) -> Vec<Effect> {
    match event.code {
        KeyCode::Esc => {}
        KeyCode::Enter if input.value().trim().eq_ignore_ascii_case(&cve) => {
            app.emergency_left = app.emergency().map(|e| e.deployment_id.clone());
            app.reselect(ListId::Pane(Pane::Rings));
            app.set_flash(
                "left emergency mode (the emergency deployment itself goes on)",
                false,
            );
        }
        _ => {
            input.handle_event(&crossterm::event::Event::Key(event));
            app.dialog = Some(Dialog::LeaveEmergency { cve, input });
        }
    }
    Vec::new()
}
