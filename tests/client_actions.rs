//! Actions through the client against the real server and simulator on 127.0.0.1:
//! idempotent retries, If-Match, roles, the two-person rule, and the event that follows.

mod client_mock;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use client_mock::within;
use futures_util::StreamExt;
use patchdeck::api::client::{Client, ClientError};
use patchdeck::api::server::{RunningServer, ServerOptions, spawn};
use patchdeck::api::tokens::{TokenEntry, Tokens};
use patchdeck::api::wire::ProblemType;
use patchdeck::backend::Backend;
use patchdeck::backend::{ActionCall, ActionRequest};
use patchdeck::model::{
    ActionState, Change, DeploymentState, RingState, Role, Target, TargetKind, Verb,
};
use patchdeck::sim::{Scenario, SimConfig, Simulator};

const ALICE: &str = "alice-approver-token-0001";
const BOB: &str = "bob-approver-token-000002";
const VERA: &str = "vera-viewer-token-0000003";

async fn fleet() -> (Arc<Simulator>, RunningServer) {
    let sim = Simulator::new(SimConfig {
        hosts: 60,
        seed: 3,
        scenario: Scenario::PatchTuesday,
        start: DateTime::parse_from_rfc3339("2026-11-16T14:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    });
    let entry = |name: &str, role, token: &str| TokenEntry {
        name: name.into(),
        role,
        token: token.into(),
        person: None,
    };
    let tokens = Tokens::new(vec![
        entry("alice", Role::Approver, ALICE),
        entry("bob", Role::Approver, BOB),
        entry("vera", Role::Viewer, VERA),
    ]);
    let options = ServerOptions {
        tokens,
        ..ServerOptions::default()
    };
    let backend: Arc<dyn Backend> = sim.clone();
    let server = spawn(backend, options, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (sim, server)
}

fn call(verb: Verb, kind: TargetKind, id: &str, if_match: Option<u64>, key: &str) -> ActionCall {
    ActionCall {
        request: ActionRequest {
            reason: Some("client test".into()),
            ticket: Some("CHG-42".into()),
            if_match,
            ..ActionRequest::new(
                verb,
                Target {
                    kind,
                    id: id.into(),
                },
            )
        },
        idempotency_key: key.into(),
    }
}

#[tokio::test]
async fn an_action_sent_twice_with_one_key_acts_once_and_is_seen_as_an_event() {
    let (sim, server) = fleet().await;
    let client = Client::new(&server.url, Some(ALICE.into())).unwrap();
    let fleet = client.snapshot().await.unwrap();
    let ring = fleet
        .rings
        .values()
        .find(|r| matches!(r.state, RingState::Deploying | RingState::Soaking))
        .expect("a ring that can be paused")
        .clone();
    let mut events = client.events(fleet.sequence).await.unwrap();

    let pause = call(
        Verb::Pause,
        TargetKind::Ring,
        &ring.id,
        Some(ring.version),
        "k-1",
    );
    let first = client.act(&pause).await.unwrap();
    let again = client.act(&pause).await.unwrap();

    assert_eq!(first, again, "the replay answers the recorded action");
    assert_eq!(first.by, "alice");
    let paused: Vec<_> = sim
        .actions()
        .items
        .into_iter()
        .filter(|a| a.verb == Verb::Pause)
        .collect();
    assert_eq!(paused.len(), 1, "acted once");
    // The change arrives on the event stream.
    within("the ring's change", async {
        loop {
            let event = events.next().await.unwrap().unwrap();
            if let Change::Ring(changed) = event.change
                && changed.id == ring.id
                && changed.version > ring.version
            {
                return;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_stale_version_is_refused_with_the_current_one() {
    let (sim, server) = fleet().await;
    let client = Client::new(&server.url, Some(ALICE.into())).unwrap();
    let current = sim.ring("wave-2").unwrap().version;

    let error = client
        .act(&call(
            Verb::Pause,
            TargetKind::Ring,
            "wave-2",
            Some(current + 5),
            "k-2",
        ))
        .await
        .unwrap_err();

    assert_eq!(
        error,
        ClientError::VersionMismatch {
            current_version: Some(current)
        }
    );
}

#[tokio::test]
async fn a_viewer_is_told_which_role_is_needed() {
    let (sim, server) = fleet().await;
    let client = Client::new(&server.url, Some(VERA.into())).unwrap();
    let deployment = sim.deployments().items[0].id.clone();
    let error = client
        .act(&call(
            Verb::Halt,
            TargetKind::Deployment,
            &deployment,
            None,
            "k-3",
        ))
        .await
        .unwrap_err();
    let ClientError::Forbidden(detail) = &error else {
        panic!("expected forbidden, got {error:?}");
    };
    assert!(detail.contains("approver"), "{detail}");
    assert!(!error.to_string().contains(VERA));
}

#[tokio::test]
async fn the_two_person_rule_needs_a_second_approver() {
    let (sim, server) = fleet().await;
    let alice = Client::new(&server.url, Some(ALICE.into())).unwrap();
    let bob = Client::new(&server.url, Some(BOB.into())).unwrap();
    // Time passes until a deployment waits for approval of its next ring.
    let mut waiting = None;
    for _ in 0..48 {
        waiting = sim
            .deployments()
            .items
            .into_iter()
            .find(|d| d.state == DeploymentState::AwaitingApproval);
        if waiting.is_some() {
            break;
        }
        sim.advance(3600);
    }
    let waiting = waiting.expect("a deployment waiting for approval");

    let approve = |key: &str| {
        call(
            Verb::Approve,
            TargetKind::Deployment,
            &waiting.id,
            None,
            key,
        )
    };
    let first = alice.act(&approve("k-4")).await.unwrap();
    let production = sim
        .ring(waiting.next_ring.as_deref().unwrap())
        .unwrap()
        .production;
    assert!(production, "the sim's waves are production rings");
    assert_eq!(first.state, ActionState::AwaitingSecondApprover);
    let same_person = alice.act(&approve("k-5")).await.unwrap_err();
    let ClientError::Problem(problem) = &same_person else {
        panic!("expected a problem, got {same_person:?}");
    };
    assert_eq!(problem.kind(), Some(ProblemType::SecondApproverRequired));
    let second = bob.act(&approve("k-6")).await.unwrap();
    assert_ne!(second.state, ActionState::AwaitingSecondApprover);
    assert_eq!(second.by, "bob");
}
