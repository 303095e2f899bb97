//! A fleet that is not rebuilt from the journal (a vendor's, such as SSM) is never
//! handed a journal entry again: a restarted gateway replays nothing into it (acting
//! twice could send a ring's command twice), keeps the entries, and releases the keys
//! that were claimed and never answered, so that a retry meets the fleet's own state.

#![cfg(unix)]

mod e2e_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use e2e_support::Scratch;
use patchdeck::api::server::{FleetClock, Gateway, GatewayOptions};
use patchdeck::backend::{
    ActError, ActionRequest, Backend, Compacted, HostPage, HostQuery, Listing,
};
use patchdeck::model::{
    Action, Capabilities, Deployment, Event, Host, Identity, Patch, Ring, Role, Seq, Summary,
    Target, TargetKind, Verb,
};
use patchdeck::sim::{Scenario, SimConfig, Simulator};
use patchdeck::store::{AnyStore, Claim, Store};
use tokio::sync::broadcast;

/// The simulator dressed as a vendor fleet: everything but `replays_journal`, and a
/// count of the actions it was handed.
struct Vendor {
    fleet: Arc<Simulator>,
    acted: AtomicUsize,
}

impl Backend for Vendor {
    fn capabilities(&self) -> Capabilities {
        self.fleet.capabilities()
    }
    fn replays_journal(&self) -> bool {
        false
    }
    fn summary(&self) -> (Summary, Seq) {
        self.fleet.summary()
    }
    fn rings(&self) -> Listing<Ring> {
        self.fleet.rings()
    }
    fn ring(&self, id: &str) -> Option<Ring> {
        self.fleet.ring(id)
    }
    fn deployments(&self) -> Listing<Deployment> {
        self.fleet.deployments()
    }
    fn deployment(&self, id: &str) -> Option<Deployment> {
        self.fleet.deployment(id)
    }
    fn patches(&self) -> Listing<Patch> {
        self.fleet.patches()
    }
    fn actions(&self) -> Listing<Action> {
        self.fleet.actions()
    }
    fn hosts(&self, query: &HostQuery) -> HostPage {
        self.fleet.hosts(query)
    }
    fn host(&self, id: &str) -> Option<Host> {
        self.fleet.host(id)
    }
    fn sequence(&self) -> Seq {
        self.fleet.sequence()
    }
    fn events_since(&self, since: Seq) -> Result<Vec<Event>, Compacted> {
        self.fleet.events_since(since)
    }
    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.fleet.subscribe()
    }
    fn act(&self, request: ActionRequest, actor: &Identity) -> Result<Action, ActError> {
        self.acted.fetch_add(1, Ordering::SeqCst);
        self.fleet.act(request, actor)
    }
}

struct Wall;

impl FleetClock for Wall {
    fn fleet_time(&self) -> chrono::DateTime<Utc> {
        Utc::now()
    }
    fn advance_to(&self, _: chrono::DateTime<Utc>) {}
}

fn vendor() -> Arc<Vendor> {
    Arc::new(Vendor {
        fleet: Simulator::new(SimConfig {
            hosts: 60,
            seed: 1,
            scenario: Scenario::PatchTuesday,
            start: Utc::now(),
        }),
        acted: AtomicUsize::new(0),
    })
}

fn gateway(store: AnyStore, fleet: Arc<Vendor>) -> Arc<Gateway> {
    Gateway::with_options(
        store,
        "gw",
        fleet,
        Arc::new(Wall),
        GatewayOptions::default(),
    )
}

#[tokio::test]
async fn a_restarted_gateway_replays_nothing_into_a_vendor_fleet_and_frees_unanswered_keys() {
    let home = Scratch::new("gateway-vendor");
    let url = format!("sqlite:{}", home.path().join("gateway.db").display());
    let alice = Identity::new("alice", Role::Approver);
    let pause = || {
        let mut request = ActionRequest::new(
            Verb::Pause,
            Target {
                kind: TargetKind::Ring,
                id: "pilot".into(),
            },
        );
        request.reason = Some("look first".into());
        request
    };

    let first = vendor();
    let store = AnyStore::open_url(Some(&url)).await.unwrap();
    let before = gateway(store.clone(), first.clone());
    before.replay().await.unwrap();
    // A request whose key was claimed, journaled and acted on, and never answered
    // (the gateway stopped in between).
    assert_eq!(
        store
            .claim_key(
                "alice",
                "k-1",
                "POST /v1/rings/pilot/pause",
                "gw",
                Utc::now()
            )
            .await
            .unwrap(),
        Claim::Claimed
    );
    let acted = before.act(pause(), &alice, Some("k-1")).await.unwrap();
    assert!(acted.is_ok(), "{acted:?}");
    assert_eq!(first.acted.load(Ordering::SeqCst), 1);
    drop(before);

    let second = vendor();
    let store = AnyStore::open_url(Some(&url)).await.unwrap();
    let after = gateway(store.clone(), second.clone());
    let replayed = after.replay().await.unwrap();
    assert_eq!(replayed.entries, 1, "the entry is kept: {replayed:?}");
    assert_eq!(replayed.actions, 0, "{replayed:?}");
    assert_eq!(
        second.acted.load(Ordering::SeqCst),
        0,
        "nothing of the journal is acted on again"
    );
    assert_eq!((replayed.keys_answered, replayed.keys_released), (0, 1));
    assert_eq!(
        store
            .claim_key(
                "alice",
                "k-1",
                "POST /v1/rings/pilot/pause",
                "gw",
                Utc::now()
            )
            .await
            .unwrap(),
        Claim::Claimed,
        "the key is free for the retry"
    );
    // New actions still reach the fleet, journal first.
    let acted = after.act(pause(), &alice, None).await.unwrap();
    assert!(acted.is_ok(), "{acted:?}");
    assert_eq!(second.acted.load(Ordering::SeqCst), 1);
    after.follow().await.unwrap();
    assert_eq!(
        second.acted.load(Ordering::SeqCst),
        1,
        "follow acts on nothing twice"
    );
}
