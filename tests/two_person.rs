//! The two-person rule on production rings, with two approvers (alice, bob) on one
//! served fleet: first over the API client, then through two consoles (two `App`s,
//! each synced by its own event stream, driven by keys through the pure `update`).

mod e2e_support;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use patchdeck::api::client::{Client, ClientError};
use patchdeck::api::sync::spawn_sync;
use patchdeck::api::wire::ProblemType;
use patchdeck::app::confirm::Stage;
use patchdeck::app::lists::Pane;
use patchdeck::app::{App, Context, Dialog, Effect, ListId, Msg, update};
use patchdeck::audit::AuditRecord;
use patchdeck::backend::Backend;
use patchdeck::backend::{Connection, SyncUpdate};
use patchdeck::keys::Keymap;
use patchdeck::model::{
    ActionState, ApprovalStep, Deployment, DeploymentState, GateState, RingState, Role, TargetKind,
    Verb,
};
use patchdeck::sim::Scenario;
use patchdeck::ui::{Look, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

use e2e_support::fleet::{ServedFleet, call};

const APPROVERS: &[(&str, Role)] = &[("alice", Role::Approver), ("bob", Role::Approver)];

/// Serve patch-tuesday and let Pilot's soak end: its manual gate to Wave 1 (a
/// production ring) waits for approval. Returns the fleet and the waiting deployment.
async fn gate_to_wave_1() -> (ServedFleet, Deployment) {
    let fleet = ServedFleet::start(Scenario::PatchTuesday, APPROVERS).await;
    for _ in 0..30 {
        fleet.sim.advance(60);
        let waiting = fleet.sim.deployments().items.into_iter().find(|d| {
            d.state == DeploymentState::AwaitingApproval
                && d.current_ring.as_deref() == Some("pilot")
        });
        if let Some(deployment) = waiting {
            assert_eq!(deployment.next_ring.as_deref(), Some("wave-1"));
            assert!(fleet.sim.ring("wave-1").expect("wave 1").production);
            return (fleet, deployment);
        }
    }
    panic!("Pilot's gate never waited for approval");
}

#[tokio::test]
async fn a_production_ring_opens_only_with_two_different_approvers() {
    let (fleet, deployment) = gate_to_wave_1().await;
    let (alice, bob) = (fleet.client("alice"), fleet.client("bob"));
    let approve = || call(Verb::Approve, TargetKind::Deployment, &deployment.id);

    let first = alice.act(&approve()).await.expect("alice approves");
    assert_eq!(first.state, ActionState::AwaitingSecondApprover);
    assert_eq!(first.by, "alice");
    let pending = fleet
        .sim
        .deployment(&deployment.id)
        .expect("the deployment");
    assert_eq!(pending.state, DeploymentState::AwaitingApproval);
    let approval = pending.pending_approval.expect("a pending approval");
    assert_eq!(
        (approval.ring_id.as_str(), approval.first_approver.as_str()),
        ("wave-1", "alice")
    );
    assert_eq!(
        fleet.sim.ring("wave-1").map(|r| r.state),
        Some(RingState::Waiting)
    );
    assert_eq!(
        fleet.sim.ring("pilot").map(|r| r.gate.state),
        Some(GateState::AwaitingSecondApprover)
    );

    match alice.act(&approve()).await {
        Err(ClientError::Problem(problem)) => {
            assert_eq!(problem.kind(), Some(ProblemType::SecondApproverRequired));
            assert_eq!(problem.status, 409);
        }
        other => panic!("alice approved twice: {other:?}"),
    }
    assert_eq!(
        fleet.sim.ring("wave-1").map(|r| r.state),
        Some(RingState::Waiting)
    );

    let second = bob.act(&approve()).await.expect("bob approves");
    assert_eq!(second.state, ActionState::Succeeded);
    assert_eq!(second.by, "bob");
    let opened = fleet
        .sim
        .deployment(&deployment.id)
        .expect("the deployment");
    assert_eq!(opened.state, DeploymentState::Running);
    assert_eq!(opened.current_ring.as_deref(), Some("wave-1"));
    assert_eq!(opened.pending_approval, None);
    let approvers: Vec<&str> = opened
        .approvals
        .iter()
        .filter(|a| a.ring_id == "wave-1")
        .map(|a| a.by.as_str())
        .collect();
    assert_eq!(approvers, ["alice", "bob"]);
    assert_eq!(
        fleet.sim.ring("wave-1").map(|r| r.state),
        Some(RingState::Deploying)
    );
    let trail = fleet.sim.actions().items;
    let first_now = trail
        .iter()
        .find(|a| a.id == first.id)
        .expect("alice's approval");
    assert_eq!(
        first_now.state,
        ActionState::Succeeded,
        "the first approval completes too"
    );
}

#[tokio::test]
async fn declining_after_a_first_approval_fails_it() {
    let (fleet, deployment) = gate_to_wave_1().await;
    let (alice, bob) = (fleet.client("alice"), fleet.client("bob"));
    let first = alice
        .act(&call(Verb::Approve, TargetKind::Deployment, &deployment.id))
        .await
        .expect("alice approves");
    bob.act(&call(Verb::Decline, TargetKind::Deployment, &deployment.id))
        .await
        .expect("bob declines");
    let declined = fleet
        .sim
        .deployment(&deployment.id)
        .expect("the deployment");
    assert_eq!(declined.state, DeploymentState::Declined);
    assert_eq!(declined.pending_approval, None);
    let trail = fleet.sim.actions().items;
    let first_now = trail
        .iter()
        .find(|a| a.id == first.id)
        .expect("alice's approval");
    assert_eq!(first_now.state, ActionState::Failed);
    assert_eq!(first_now.detail.as_deref(), Some("declined by bob"));
    assert_eq!(
        fleet.sim.ring("wave-1").map(|r| r.state),
        Some(RingState::Waiting)
    );
}

// ---------------------------------------------------------------------------------
// Two consoles
// ---------------------------------------------------------------------------------

/// One operator's console without a terminal: the App, fed by its own sync task, and
/// the effects it asks for carried out against the server.
struct Console {
    app: App,
    client: Client,
    updates: mpsc::Receiver<SyncUpdate>,
    sync: tokio::task::JoinHandle<()>,
    audit: Vec<AuditRecord>,
    /// Times the console was asked to ring the terminal bell.
    bells: usize,
}

impl Console {
    async fn open(fleet: &ServedFleet, name: &str) -> Console {
        let client = fleet.client(name);
        let (tx, updates) = mpsc::channel(256);
        let sync = spawn_sync(client.clone(), tx);
        let context = Context {
            name: name.into(),
            api_url: fleet.url().into(),
            demo: false,
            read_only: false,
            insecure_http: false,
        };
        let mut app = App::new(context, Keymap::default(), chrono::Utc::now());
        app.session = name.into();
        update(
            &mut app,
            Msg::Resize {
                width: 200,
                height: 50,
            },
        );
        let mut console = Console {
            app,
            client,
            updates,
            sync,
            audit: Vec::new(),
            bells: 0,
        };
        console
            .sync_until("live", |app| {
                app.synced
                    && matches!(app.connection, Connection::Live { .. })
                    && app.identity.is_some()
            })
            .await;
        console
    }

    /// Apply sync updates until `ready` holds (fails after 20 s without it).
    async fn sync_until(&mut self, what: &str, ready: impl Fn(&App) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !ready(&self.app) {
            match tokio::time::timeout_at(deadline, self.updates.recv()).await {
                Ok(Some(sync)) => {
                    let effects = update(&mut self.app, Msg::Sync(sync));
                    self.bells += effects.iter().filter(|e| **e == Effect::Bell).count();
                }
                Ok(None) => panic!("the sync task ended before {what}"),
                Err(_) => panic!("{} never saw {what}", self.app.context.name),
            }
        }
    }

    /// Press keys; carry out what they ask for (actions are sent and answered).
    async fn keys(&mut self, keys: &[KeyCode]) {
        for &code in keys {
            let effects = update(
                &mut self.app,
                Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
            );
            self.carry_out(effects).await;
        }
    }

    async fn carry_out(&mut self, effects: Vec<Effect>) {
        let mut queue = effects;
        while !queue.is_empty() {
            let mut next = Vec::new();
            for effect in queue {
                match effect {
                    Effect::Plan { id, requests } => {
                        let mut plans = Vec::new();
                        for request in &requests {
                            plans.push(self.client.plan(request).await.map_err(|e| e.to_string()));
                        }
                        next.extend(update(&mut self.app, Msg::Planned { id, plans }));
                    }
                    Effect::Act(call) => {
                        let outcome = self.client.act_outcome(&call).await;
                        next.extend(update(
                            &mut self.app,
                            Msg::ActionDone {
                                idempotency_key: call.idempotency_key.clone(),
                                outcome,
                            },
                        ));
                    }
                    // The line written when a request leaves; the answers are kept.
                    Effect::Audit(record) if record.phase == patchdeck::audit::AuditPhase::Sent => {
                        assert!(!record.idempotency_key.is_empty(), "{record:?}");
                    }
                    Effect::Audit(record) => self.audit.push(*record),
                    other => panic!("unexpected effect {other:?}"),
                }
            }
            queue = next;
        }
    }

    /// Focus Rings, select Pilot (first row, then one down), press `a` (approve the
    /// deployment in it), see the server's plan say `step`, and confirm.
    async fn approve_in_pilot(&mut self, step: ApprovalStep) {
        self.keys(&[KeyCode::Char('1'), KeyCode::Char('g'), KeyCode::Char('j')])
            .await;
        assert_eq!(
            self.app.selected_key(ListId::Pane(Pane::Rings)).as_deref(),
            Some("pilot")
        );
        self.keys(&[KeyCode::Char('a')]).await;
        let Some(Dialog::Confirm(confirm)) = &self.app.dialog else {
            panic!("no confirmation dialog: {:?}", self.app.flash);
        };
        assert_eq!(confirm.plan.verb, Verb::Approve);
        // The server's dry run says up front where the two-person rule stands.
        let approval = confirm
            .server
            .approval()
            .unwrap_or_else(|| panic!("the dialog shows no approval step: {:?}", confirm.server));
        assert_eq!(approval.step, step, "{}", approval.words);
        self.keys(&[KeyCode::Enter]).await;
    }

    /// The screen as text (200x50).
    fn screen(&self) -> String {
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("a test terminal");
        terminal
            .draw(|frame| view(&self.app, &Look::default(), frame))
            .expect("draw");
        let buffer = terminal.backend().buffer();
        let mut text = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

#[tokio::test]
async fn two_consoles_share_one_fleet_for_a_two_person_approval() {
    let (fleet, deployment) = gate_to_wave_1().await;
    let mut alice = Console::open(&fleet, "alice").await;
    let mut bob = Console::open(&fleet, "bob").await;

    alice.approve_in_pilot(ApprovalStep::First).await;
    assert_eq!(alice.audit.len(), 1);
    assert_eq!(alice.audit[0].outcome, "waits for a second approver");
    assert_eq!(alice.audit[0].identity, "alice (approver)");
    assert!(alice.app.dialog.is_none(), "the dialog stayed open");

    // Bob's console learns of it from its event stream and says so.
    let id = deployment.id.clone();
    bob.sync_until("alice's pending approval", |app| {
        app.fleet.deployments[&id]
            .pending_approval
            .as_ref()
            .is_some_and(|p| p.first_approver == "alice")
    })
    .await;
    // Bob is awaited: his console rang the bell once and says who asks for what.
    assert_eq!(bob.bells, 1, "bob's console rings once");
    assert!(
        bob.screen()
            .contains("alice asks you to approve opening Wave 1: Americas"),
        "bob's screen:\n{}",
        bob.screen()
    );
    bob.keys(&[KeyCode::Char('2')]).await;
    let screen = bob.screen();
    assert!(
        screen.contains("alice approved Wave 1: Americas; awaiting a second approver"),
        "bob's screen:\n{screen}"
    );

    // Alice cannot be her own second approver: the dialog says why.
    alice
        .sync_until("her own pending approval", |app| {
            app.fleet.deployments[&id].pending_approval.is_some()
        })
        .await;
    assert_eq!(alice.bells, 0, "the first approver is not awaited");
    alice.approve_in_pilot(ApprovalStep::AlreadyYours).await;
    assert_eq!(alice.audit.len(), 2);
    assert!(
        alice.audit[1].outcome.starts_with("refused"),
        "{:?}",
        alice.audit[1]
    );
    match &alice.app.dialog {
        Some(Dialog::Confirm(confirm)) => match &confirm.stage {
            Stage::Problem { message, .. } => {
                assert!(message.contains("second, different approver"), "{message}")
            }
            other => panic!("the dialog is {other:?}"),
        },
        other => panic!("the refusal is not shown: {other:?}"),
    }
    alice.keys(&[KeyCode::Enter]).await;
    assert!(alice.app.dialog.is_none());

    // Bob approves: the ring opens, and both consoles see it.
    bob.approve_in_pilot(ApprovalStep::Completes).await;
    assert_eq!(bob.audit.len(), 1);
    assert_eq!(bob.audit[0].outcome, "succeeded");
    for console in [&mut alice, &mut bob] {
        console
            .sync_until("Wave 1 deploying", |app| {
                app.fleet.rings["wave-1"].state == RingState::Deploying
                    && app.fleet.deployments[&id].state == DeploymentState::Running
            })
            .await;
    }
    assert_eq!(
        fleet.sim.ring("wave-1").map(|r| r.state),
        Some(RingState::Deploying)
    );
}
