//! The two-person emergency on the console: every console sees a pending request in
//! the banner; `E` on another approver's console opens its confirmation (who asked,
//! why, the ticket, the patch; an override reason when the patch may not be expedited
//! as is); the requester is told that it waits for someone else. The halted
//! production resume waits for a second approver the way ring approvals do.

mod common;

use crossterm::event::KeyCode;
use insta::assert_snapshot;

use common::*;
use patchdeck::app::confirm::{ConfirmDialog, Field};
use patchdeck::app::viewport::banner_words;
use patchdeck::app::{App, Dialog, Effect, Msg, update};
use patchdeck::backend::{ActionCall, ActionRequest, Backend, Outcome, SyncUpdate};
use patchdeck::model::{
    ActionState, ApprovalStep, DeploymentState, Identity, Role, Target, TargetKind, Verb,
};
use patchdeck::sim::{Scenario, Simulator};

fn confirm(app: &App) -> &ConfirmDialog {
    match &app.dialog {
        Some(Dialog::Confirm(confirm)) => confirm,
        other => panic!("expected a confirm dialog, got {other:?}"),
    }
}

fn flash(app: &App) -> String {
    app.flash
        .as_ref()
        .map(|f| f.text.clone())
        .unwrap_or_default()
}

fn sync_events(app: &mut App, simulator: &Simulator) {
    let events = simulator
        .events_since(app.fleet.sequence)
        .expect("events kept");
    update(app, Msg::Sync(SyncUpdate::Events(events)));
}

/// `actor` asks the simulator for an emergency of `patch`.
fn request_emergency(simulator: &Simulator, actor: &str, patch: &str) {
    let mut request = ActionRequest::new(
        Verb::Emergency,
        Target {
            kind: TargetKind::Fleet,
            id: "fleet".into(),
        },
    );
    request.patch_id = Some(patch.into());
    request.reason = Some("exploited in the wild (CISA KEV)".into());
    request.ticket = Some("SEC-7741".into());
    let action = simulator
        .act(request, &Identity::new(actor, Role::Approver))
        .expect("request accepted");
    assert_eq!(action.state, ActionState::AwaitingSecondApprover);
}

fn zero_day_patch(simulator: &Simulator) -> String {
    simulator
        .patches()
        .items
        .into_iter()
        .find(|p| !p.exploited_cves.is_empty())
        .expect("zero-day patch")
        .id
}

fn acts(effects: &[Effect]) -> Vec<ActionCall> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Act(call) => Some(call.clone()),
            _ => None,
        })
        .collect()
}

/// Reason, ticket, then each further field in order.
fn fill(app: &mut App, values: &[&str]) {
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            press(app, KeyCode::Tab);
        }
        type_text(app, value);
    }
}

#[test]
fn every_console_sees_a_pending_emergency_and_e_confirms_it() {
    let simulator = simulator(Scenario::ZeroDay, 3600);
    let patch = zero_day_patch(&simulator);
    request_emergency(&simulator, "alice", &patch);
    let mut app = console_on(&simulator);
    let words = banner_words(&app).expect("a banner");
    assert!(
        words.contains("EMERGENCY REQ by alice") && words.contains("E: confirm"),
        "{words}"
    );
    assert!(words.contains("30m left"), "{words}");
    assert_snapshot!("emergency_requested_banner_80x24", screen(&mut app, 80, 24));

    let effects = press(&mut app, KeyCode::Char('E'));
    answer_plans(&mut app, &simulator, &effects);
    let dialog = confirm(&app);
    let approval = dialog
        .server
        .approval()
        .expect("the server's two-person step");
    assert_eq!(approval.step, ApprovalStep::Completes, "{}", approval.words);
    let request = dialog.request.as_ref().expect("the request is shown");
    assert_eq!(request.requested_by, "alice");
    assert!(dialog.plan.title.starts_with("CONFIRM the EMERGENCY"));
    assert!(!dialog.fields().contains(&Field::Override));
    let cve = dialog.plan.confirm_text.clone().unwrap();
    fill(&mut app, &["second look: confirmed", "SEC-7741", &cve]);
    assert_snapshot!("emergency_confirm_dialog_80x24", screen(&mut app, 80, 24));
    let calls = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].request.patch_id.as_deref(), Some(patch.as_str()));
    assert_eq!(calls[0].request.override_reason, None);
    let started = simulator
        .act(
            calls[0].request.clone(),
            &Identity::new("you", Role::Approver),
        )
        .expect("the second person starts it");
    assert_eq!(started.state, ActionState::Succeeded);
    update(
        &mut app,
        Msg::ActionDone {
            idempotency_key: calls[0].idempotency_key.clone(),
            outcome: Outcome::Succeeded(started),
        },
    );
    sync_events(&mut app, &simulator);
    let emergency = app.emergency().expect("in emergency mode");
    assert_eq!(
        (
            emergency.started_by.as_str(),
            emergency.confirmed_by.as_str()
        ),
        ("alice", "you")
    );
    assert!(banner_words(&app).is_none());
}

#[test]
fn the_requester_sees_that_it_waits_for_someone_else() {
    let simulator = simulator(Scenario::ZeroDay, 3600);
    let patch = zero_day_patch(&simulator);
    // The console's identity is "you".
    request_emergency(&simulator, "you", &patch);
    let mut app = console_on(&simulator);
    let words = banner_words(&app).unwrap();
    assert!(
        words.contains("by you") && words.contains("awaits another approver"),
        "{words}"
    );
    press(&mut app, KeyCode::Char('E'));
    assert!(app.dialog.is_none(), "no dialog: {:?}", app.dialog);
    let said = flash(&app);
    assert!(said.contains("waits for another approver"), "{said}");
    // It expires with the fleet clock, and every console hears of it.
    simulator.advance(31 * 60);
    sync_events(&mut app, &simulator);
    assert!(
        banner_words(&app).is_none_or(|w| !w.contains("EMERGENCY REQ")),
        "{:?}",
        banner_words(&app)
    );
    let expired = app
        .fleet
        .actions
        .values()
        .find(|a| a.verb == Verb::Emergency)
        .expect("the request's action");
    assert_eq!(expired.state, ActionState::Failed);
}

#[test]
fn a_patch_without_an_exploited_cve_asks_the_confirmer_for_an_override() {
    let simulator = simulator(Scenario::BadPatch, 30 * 60);
    request_emergency(&simulator, "alice", "KB5032201");
    let mut app = console_on(&simulator);
    let words = banner_words(&app).unwrap();
    assert!(words.contains("override needed"), "{words}");
    let effects = press(&mut app, KeyCode::Char('E'));
    answer_plans(&mut app, &simulator, &effects);
    assert!(confirm(&app).fields().contains(&Field::Override));
    assert!(
        confirm(&app).server.plans()[0]
            .needs
            .contains(&"override_reason".to_string())
    );
    let cve = confirm(&app).plan.confirm_text.clone().unwrap();
    fill(&mut app, &["checked", "CAB-1", "", &cve]);
    assert!(acts(&press(&mut app, KeyCode::Enter)).is_empty());
    assert_eq!(confirm(&app).field, Field::Override);
    assert!(
        confirm(&app)
            .error
            .as_deref()
            .unwrap()
            .contains("override reason is required")
    );
    type_text(&mut app, "vendor re-released the fix");
    assert_snapshot!("emergency_confirm_override_80x24", screen(&mut app, 80, 24));
    let calls = acts(&press(&mut app, KeyCode::Enter));
    assert_eq!(
        calls[0].request.override_reason.as_deref(),
        Some("vendor re-released the fix")
    );
}

#[test]
fn a_halted_production_resume_waits_for_a_second_approver() {
    let simulator = simulator(Scenario::ZeroDay, 3600);
    // Pilot passed its gate: opening Wave 1 (production) takes two approvers.
    let dep = simulator
        .deployments()
        .items
        .into_iter()
        .find(|d| {
            d.state == DeploymentState::AwaitingApproval && d.next_ring.as_deref() == Some("wave-1")
        })
        .expect("a deployment waiting to open Wave 1");
    for approver in ["alice", "bob"] {
        act(
            &simulator,
            approver,
            Verb::Approve,
            TargetKind::Deployment,
            &dep.id,
            None,
        );
    }
    simulator.advance(300);
    act(
        &simulator,
        "alice",
        Verb::Halt,
        TargetKind::Deployment,
        &dep.id,
        None,
    );
    act(
        &simulator,
        "alice",
        Verb::Approve,
        TargetKind::Deployment,
        &dep.id,
        None,
    );
    let mut app = console_on(&simulator);
    press(&mut app, KeyCode::Char('2'));
    let shown = screen(&mut app, 80, 24);
    assert!(shown.contains("2nd approver"), "{shown}");
    assert!(
        shown.contains("HALTED, resume awaits a 2nd approver: halted by alice"),
        "{shown}"
    );
}
