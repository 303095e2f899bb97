//! The client and the sync loop against the real API v1 server (`api::server::spawn`)
//! over 127.0.0.1, with a small scripted Backend: events are published by the test, so
//! every wait is on a channel, never on a clock. Faults come from the server's own
//! fault injection (dropped streams, 429 bursts, compaction).

mod client_mock;
mod sync_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use client_mock::story;
use patchdeck::api::client::{Client, ClientError};
use patchdeck::api::server::{Faults, RunningServer, ServerOptions, spawn};
use patchdeck::api::tokens::Tokens;
use patchdeck::backend::{
    ActError, ActionRequest, Backend, Compacted, HostPage, HostQuery, Listing,
};
use patchdeck::model::{
    Action, Capabilities, Deployment, Event, Fleet, Host, Identity, Patch, Ring, Role, Seq, Summary,
};
use sync_support::Synced;
use tokio::sync::broadcast;

const TOKEN: &str = "approver-token-0123456789";

/// A fleet whose history is a fixed log, published event by event by the test.
struct LogBackend {
    base: Fleet,
    log: Vec<Event>,
    state: Mutex<Published>,
    sender: broadcast::Sender<Event>,
}

struct Published {
    fleet: Fleet,
    /// Events up to this one are no longer replayable.
    compacted_through: Seq,
}

impl LogBackend {
    fn new(hosts: usize, events: usize) -> Arc<LogBackend> {
        let script = story(hosts, events);
        let (sender, _) = broadcast::channel(4096);
        Arc::new(LogBackend {
            state: Mutex::new(Published {
                fleet: script.base.clone(),
                compacted_through: 0,
            }),
            base: script.base,
            log: script.log,
            sender,
        })
    }

    /// Publish the log up to `seq`.
    fn publish_through(&self, seq: Seq) {
        let mut state = self.state.lock().unwrap();
        let from = state.fleet.sequence;
        for event in self.log.iter().filter(|e| e.seq > from && e.seq <= seq) {
            state.fleet.apply(event.clone());
            let _ = self.sender.send(event.clone());
        }
    }

    fn compact_through(&self, seq: Seq) {
        self.state.lock().unwrap().compacted_through = seq;
    }

    fn fleet(&self) -> Fleet {
        self.state.lock().unwrap().fleet.clone()
    }

    fn listing<T: Clone>(&self, items: impl Fn(&Fleet) -> Vec<T>) -> Listing<T> {
        let state = self.state.lock().unwrap();
        Listing {
            items: items(&state.fleet),
            sequence: state.fleet.sequence,
        }
    }
}

impl Backend for LogBackend {
    fn capabilities(&self) -> Capabilities {
        self.base.summary.clone().unwrap().capabilities
    }
    fn summary(&self) -> (Summary, Seq) {
        let state = self.state.lock().unwrap();
        (state.fleet.summary.clone().unwrap(), state.fleet.sequence)
    }
    fn rings(&self) -> Listing<Ring> {
        self.listing(|f| f.rings.values().cloned().collect())
    }
    fn ring(&self, id: &str) -> Option<Ring> {
        self.fleet().rings.get(id).cloned()
    }
    fn deployments(&self) -> Listing<Deployment> {
        self.listing(|f| f.deployments.values().cloned().collect())
    }
    fn deployment(&self, id: &str) -> Option<Deployment> {
        self.fleet().deployments.get(id).cloned()
    }
    fn patches(&self) -> Listing<Patch> {
        self.listing(|f| f.patches.values().cloned().collect())
    }
    fn actions(&self) -> Listing<Action> {
        self.listing(|f| f.actions.values().cloned().collect())
    }
    fn hosts(&self, query: &HostQuery) -> HostPage {
        let state = self.state.lock().unwrap();
        let after = query.after.clone().unwrap_or_default();
        let mut items: Vec<Host> = state
            .fleet
            .hosts
            .values()
            .filter(|h| h.id.as_str() > after.as_str() && query.admits_state_and_failure(h))
            .take(query.limit + 1)
            .cloned()
            .collect();
        let more = items.len() > query.limit;
        items.truncate(query.limit);
        HostPage {
            items,
            more,
            sequence: state.fleet.sequence,
        }
    }
    fn host(&self, id: &str) -> Option<Host> {
        self.fleet().hosts.get(id).cloned()
    }
    fn sequence(&self) -> Seq {
        self.state.lock().unwrap().fleet.sequence
    }
    fn events_since(&self, since: Seq) -> Result<Vec<Event>, Compacted> {
        let state = self.state.lock().unwrap();
        if since < state.compacted_through {
            return Err(Compacted {
                oldest: state.compacted_through + 1,
            });
        }
        Ok(self
            .log
            .iter()
            .filter(|e| e.seq > since && e.seq <= state.fleet.sequence)
            .cloned()
            .collect())
    }
    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
    fn act(&self, _request: ActionRequest, _actor: &Identity) -> Result<Action, ActError> {
        Err(ActError::Unsupported(
            "this test fleet takes no actions".into(),
        ))
    }
}

async fn serve(backend: Arc<LogBackend>, faults: Faults) -> RunningServer {
    let options = ServerOptions {
        tokens: Tokens::single("alice", Role::Approver, TOKEN),
        faults,
        ..ServerOptions::default()
    };
    spawn(backend, options, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_client_reads_the_real_server() {
    let backend = LogBackend::new(2500, 30);
    backend.publish_through(30);
    let server = serve(backend.clone(), Faults::default()).await;
    let client = Client::new(&server.url, Some(TOKEN.into())).unwrap();

    let fleet = client.snapshot().await.unwrap();
    assert_eq!(fleet.hosts.len(), 2500, "three pages of hosts");
    assert_eq!(fleet.sequence, 30);
    assert!(fleet.same_content(&backend.fleet()));

    let host = client.host("ws-0042").await.unwrap();
    assert_eq!(&host, backend.fleet().hosts.get("ws-0042").unwrap());
    assert_eq!(client.me().await.unwrap().role, Role::Approver);

    let stranger = Client::new(&server.url, Some("not-a-known-token".into())).unwrap();
    assert_eq!(stranger.me().await.unwrap_err(), ClientError::Unauthorized);
}

#[tokio::test]
async fn live_events_reach_the_synced_fleet_through_dropped_streams() {
    let backend = LogBackend::new(40, 120);
    backend.publish_through(10);
    let faults = Faults {
        drop_stream_after: Some(7),
        ..Faults::default()
    };
    let server = serve(backend.clone(), faults).await;
    let mut synced = Synced::start(&server.url, TOKEN);
    synced.until_live_at(10).await;

    for seq in [25, 26, 60, 61, 62, 120] {
        backend.publish_through(seq);
        synced.until_live_at(seq).await;
    }

    assert_eq!(synced.snapshots, [10]);
    assert_eq!(synced.applied, (11..=120).collect::<Vec<_>>());
    assert!(synced.fleet.same_content(&backend.fleet()));
    assert!(
        synced.reconnects >= 110 / 7,
        "{} reconnects",
        synced.reconnects
    );
}

#[tokio::test]
async fn rate_limited_snapshots_wait_retry_after() {
    let backend = LogBackend::new(10, 5);
    backend.publish_through(5);
    let faults = Faults {
        throttle_first: 2,
        retry_after_secs: 7,
        ..Faults::default()
    };
    let server = serve(backend.clone(), faults).await;
    let mut synced = Synced::start(&server.url, TOKEN);

    synced.until_live_at(5).await;

    assert_eq!(*synced.slept.lock().unwrap(), [Duration::from_secs(7); 2]);
    assert!(synced.fleet.same_content(&backend.fleet()));
}

#[tokio::test]
async fn compacted_history_relists() {
    let backend = LogBackend::new(20, 40);
    backend.publish_through(10);
    let faults = Faults {
        drop_stream_after: Some(5),
        ..Faults::default()
    };
    let server = serve(backend.clone(), faults).await;
    let mut synced = Synced::start(&server.url, TOKEN);
    synced.until_live_at(10).await;

    // The open stream carries 11..=15 and is dropped; by then 16..=18 are compacted.
    backend.compact_through(18);
    backend.publish_through(20);
    synced.until_live_at(20).await;
    backend.publish_through(40);
    synced.until_live_at(40).await;

    assert_eq!(synced.snapshots, [10, 20]);
    let expected: Vec<Seq> = (11..=15).chain(21..=40).collect();
    assert_eq!(synced.applied, expected);
    assert!(synced.fleet.same_content(&backend.fleet()));
}

#[tokio::test]
async fn a_malformed_listing_is_a_problem_then_listed_again() {
    let backend = LogBackend::new(30, 20);
    backend.publish_through(12);
    // Requests: me, rings, summary, deployments, patches, actions, the failed hosts
    // (the first screen), then every host (the 8th, cut in half), then the whole
    // listing again and the event stream (not JSON: never cut).
    let faults = Faults {
        malformed_every: 8,
        ..Faults::default()
    };
    let server = serve(backend.clone(), faults).await;
    let mut synced = Synced::start(&server.url, TOKEN);
    synced.problems_allowed = true;

    synced.until_live_at(12).await;
    backend.publish_through(20);
    synced.until_live_at(20).await;

    assert_eq!(synced.problems.len(), 1, "{:?}", synced.problems);
    assert!(
        synced.problems[0].starts_with("malformed answer from the server: /v1/hosts: "),
        "{}",
        synced.problems[0]
    );
    // The first screen was shown, then listed again after the cut page of hosts.
    assert_eq!(synced.snapshots, [12, 12]);
    assert_eq!(synced.applied, (13..=20).collect::<Vec<_>>());
    assert!(synced.fleet.same_content(&backend.fleet()));
}

#[tokio::test]
async fn the_first_screen_comes_with_the_failed_hosts_and_every_other_host_follows_in_pages() {
    let backend = LogBackend::new(2500, 5);
    backend.publish_through(3);
    let failed = backend
        .fleet()
        .hosts
        .values()
        .filter(|h| h.state == patchdeck::model::HostState::Failed)
        .count();
    let server = serve(backend.clone(), Faults::default()).await;
    let mut synced = Synced::start(&server.url, TOKEN);
    synced.until_live_at(3).await;
    // The first screen: every list but the hosts, and of those the failed ones only.
    assert_eq!(synced.first_screens, [(failed, true)]);
    // Then the server's largest pages, the last one saying so; live only after it.
    assert_eq!(synced.pages, [(1000, false), (2000, false), (2500, true)]);
    assert!(!synced.fleet.listing_hosts);
    backend.publish_through(5);
    synced.until_live_at(5).await;
    assert!(synced.fleet.same_content(&backend.fleet()));
}
