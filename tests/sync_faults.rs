//! The sync loop against a scripted server on 127.0.0.1: cut streams, 410, Retry-After,
//! malformed events, silent streams and refused tokens. Waiting is on the updates
//! channel; backoff pauses go through a recording sleeper and take no time. No check
//! depends on how fast the machine is: the idle timeout and the batch window are
//! generous next to what they must not cut (data the mock wrote in one go), and what
//! may repeat on a slow machine (another silent stream declared dead) is allowed.

mod client_mock;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use client_mock::{End, Mock, Plan, Script, recording_sleeper, story, within};
use patchdeck::api::client::Client;
use patchdeck::api::sync::{SyncOptions, spawn_sync_with};
use patchdeck::backend::{Connection, SyncUpdate};
use patchdeck::model::{Fleet, Seq};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What the console would hold, built from the updates only.
#[derive(Default)]
struct Console {
    fleet: Fleet,
    /// Sequence numbers of every event applied, in order.
    applied: Vec<Seq>,
    snapshots: Vec<Seq>,
    connections: Vec<Connection>,
    problems: Vec<String>,
    gateways: Vec<patchdeck::backend::GatewayHealth>,
    identities: usize,
}

impl Console {
    fn take(&mut self, update: SyncUpdate) {
        match update {
            SyncUpdate::Identity(_) => self.identities += 1,
            SyncUpdate::Connection(connection) => self.connections.push(connection),
            SyncUpdate::Snapshot(fleet) => {
                self.snapshots.push(fleet.sequence);
                self.fleet = *fleet;
            }
            SyncUpdate::Hosts(page) => {
                assert!(
                    self.fleet.listing_hosts,
                    "hosts after the first screen only"
                );
                page.merge_into(&mut self.fleet);
            }
            SyncUpdate::Events(events) => {
                assert!(!events.is_empty(), "no empty batches");
                assert!(!self.fleet.listing_hosts, "events once every host is in");
                for event in events {
                    assert!(
                        event.seq > self.fleet.sequence,
                        "event {} after {}",
                        event.seq,
                        self.fleet.sequence
                    );
                    self.applied.push(event.seq);
                    self.fleet.apply(event);
                }
            }
            SyncUpdate::Problem(problem) => self.problems.push(problem),
            SyncUpdate::Gateway(health) => self.gateways.push(health),
        }
    }

    fn is_live(&self) -> bool {
        matches!(self.connections.last(), Some(Connection::Live { .. }))
    }

    /// Connection states as words: "connecting", "live", "reconnecting 2".
    fn states(&self) -> Vec<String> {
        self.connections
            .iter()
            .map(|c| match c {
                Connection::Connecting { .. } => "connecting".to_string(),
                Connection::Live { .. } => "live".to_string(),
                Connection::Reconnecting { attempt, .. } => format!("reconnecting {attempt}"),
            })
            .collect()
    }
}

struct Harness {
    mock: Mock,
    updates: mpsc::Receiver<SyncUpdate>,
    console: Console,
    slept: Arc<Mutex<Vec<Duration>>>,
    task: JoinHandle<()>,
}

impl Harness {
    async fn start(script: Script) -> Harness {
        Harness::start_with(script, Duration::from_secs(45), SyncOptions::default()).await
    }

    async fn start_with(script: Script, idle_timeout: Duration, options: SyncOptions) -> Harness {
        let mock = Mock::start(script).await;
        let (sleeper, slept) = recording_sleeper();
        let client = Client::new(&mock.url, Some("token".into()))
            .unwrap()
            .with_sleeper(sleeper)
            .with_idle_timeout(idle_timeout);
        let (sender, updates) = mpsc::channel(64);
        let task = spawn_sync_with(client, sender, options);
        Harness {
            mock,
            updates,
            console: Console::default(),
            slept,
            task,
        }
    }

    /// Take updates until `done` holds.
    async fn until(&mut self, what: &str, done: impl Fn(&Console) -> bool) {
        within(what, async {
            while !done(&self.console) {
                let update = self.updates.recv().await.expect("sync task ended");
                self.console.take(update);
            }
        })
        .await;
    }

    /// Live, with every event of the log applied.
    async fn until_caught_up(&mut self) {
        let last = self.mock.with(|s| s.last_seq());
        self.until("the last event, live", |c| {
            c.fleet.sequence >= last && c.is_live()
        })
        .await;
    }

    fn truth(&self) -> Fleet {
        self.mock.with(|s| s.fleet_at(s.last_seq()))
    }

    fn last_event_ids(&self) -> Vec<String> {
        self.mock
            .seen("/v1/events")
            .into_iter()
            .map(|r| r.last_event_id.unwrap_or_default())
            .collect()
    }
}

fn partial_event(script: &Script, seq: Seq) -> String {
    let event = &script.log[seq as usize - 1];
    let text = format!(
        "id: {}\nevent: host\ndata: {}\n\n",
        event.seq,
        serde_json::to_string(event).unwrap()
    );
    text[..text.len() / 2].to_string()
}

#[tokio::test]
async fn a_stream_cut_midway_resumes_with_no_missed_or_doubled_events() {
    let mut script = story(6, 14);
    // Five events then half of the sixth; then a replay that overlaps by two (the
    // server re-sends 4 and 5), four new events, cut; then the rest.
    let half = partial_event(&script, 6);
    script.plans.push_back(Plan::Stream {
        back: 0,
        count: Some(5),
        end: End::Raw(half),
        relist_at: None,
    });
    script.plans.push_back(Plan::Stream {
        back: 2,
        count: Some(6),
        end: End::Close,
        relist_at: None,
    });
    script.plans.push_back(Plan::all_then_hang());
    let mut harness = Harness::start(script).await;

    harness.until_caught_up().await;

    assert_eq!(harness.console.applied, (1..=14).collect::<Vec<_>>());
    assert!(harness.console.fleet.same_content(&harness.truth()));
    assert_eq!(harness.last_event_ids(), ["0", "5", "9"]);
    assert_eq!(harness.console.snapshots, [0], "no relist needed");
    assert_eq!(
        harness.console.states(),
        [
            "connecting",
            "live",
            "reconnecting 1",
            "live",
            "reconnecting 1",
            "live"
        ]
    );
    assert!(harness.console.problems.is_empty());
    // Reconnecting quickly: the first retry waits at most the first backoff step.
    let slept = harness.slept.lock().unwrap().clone();
    assert_eq!(slept.len(), 2);
    assert!(
        slept.iter().all(|d| *d <= Duration::from_millis(500)),
        "{slept:?}"
    );
}

#[tokio::test]
async fn stale_since_stays_at_the_loss_across_attempts() {
    let mut script = story(4, 3);
    script.plans.push_back(Plan::cut_after(3));
    script.plans.push_back(Plan::status(503, Some(1)));
    script.plans.push_back(Plan::status(503, Some(1)));
    script.plans.push_back(Plan::all_then_hang());
    let mut harness = Harness::start(script).await;

    harness
        .until("live after three attempts", |c| {
            c.is_live() && c.connections.len() >= 6
        })
        .await;

    assert_eq!(
        harness.console.states(),
        [
            "connecting",
            "live",
            "reconnecting 1",
            "reconnecting 2",
            "reconnecting 3",
            "live"
        ]
    );
    let reconnecting: Vec<_> = harness.console.connections[2..5]
        .iter()
        .map(|c| match c {
            Connection::Reconnecting {
                since,
                next_attempt_at,
                error,
                ..
            } => (*since, *next_attempt_at, error.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    let first_since = reconnecting[0].0;
    assert!(reconnecting.iter().all(|r| r.0 == first_since));
    assert!(reconnecting.iter().all(|r| r.1 > first_since));
    assert!(
        reconnecting[0].2.contains("closed the event stream"),
        "{}",
        reconnecting[0].2
    );
    assert_eq!(reconnecting[1].2, "server unavailable: retry in 1s");
    assert_eq!(harness.console.applied, [1, 2, 3]);
}

#[tokio::test]
async fn a_410_relists_and_watches_from_the_new_listing() {
    let mut script = story(6, 12);
    script.plans.push_back(Plan::cut_after(3));
    script.plans.push_back(Plan::gone(8));
    script.plans.push_back(Plan::all_then_hang());
    let mut harness = Harness::start(script).await;

    harness.until_caught_up().await;

    assert_eq!(
        harness.console.snapshots,
        [0, 8],
        "a fresh snapshot after 410"
    );
    assert_eq!(harness.console.applied, [1, 2, 3, 9, 10, 11, 12]);
    assert!(harness.console.fleet.same_content(&harness.truth()));
    assert_eq!(harness.last_event_ids(), ["0", "3", "8"]);
    assert!(
        harness.console.problems.is_empty(),
        "{:?}",
        harness.console.problems
    );
}

#[tokio::test]
async fn retry_after_on_the_event_stream_is_honoured() {
    let mut script = story(4, 5);
    script.plans.push_back(Plan::status(429, Some(7)));
    script.plans.push_back(Plan::all_then_hang());
    let mut harness = Harness::start(script).await;

    harness.until_caught_up().await;

    assert_eq!(*harness.slept.lock().unwrap(), [Duration::from_secs(7)]);
    let Connection::Reconnecting {
        since,
        next_attempt_at,
        ..
    } = harness.console.connections[1]
    else {
        panic!("{:?}", harness.console.connections);
    };
    assert_eq!(next_attempt_at - since, chrono::Duration::seconds(7));
}

#[tokio::test]
async fn a_malformed_event_is_reported_then_the_fleet_is_listed_again() {
    let mut script = story(5, 10);
    // Four events, a broken fifth; the relist happens after the server moved on to 6.
    script.plans.push_back(Plan::Stream {
        back: 0,
        count: Some(4),
        end: End::RawThenHang(
            "id: 5\nevent: host\ndata: {\"seq\": 5, \"kind\": \"host\"\n\n".into(),
        ),
        relist_at: Some(6),
    });
    script.plans.push_back(Plan::all_then_hang());
    let mut harness = Harness::start(script).await;

    harness.until_caught_up().await;

    let problem = &harness.console.problems[0];
    assert!(
        problem.starts_with("malformed answer from the server: event 5: "),
        "{problem}"
    );
    assert_eq!(harness.console.snapshots, [0, 6]);
    assert_eq!(harness.console.applied, [1, 2, 3, 4, 7, 8, 9, 10]);
    assert!(harness.console.fleet.same_content(&harness.truth()));
    assert_eq!(harness.last_event_ids(), ["0", "6"]);
}

#[tokio::test]
async fn a_silent_stream_is_declared_dead_and_resumed() {
    // Two events, then silence. The events are written with the response's head, so
    // they are read long before the idle timeout however slow the machine; the timeout
    // is waited out once. Every stream after the first also falls silent once it has
    // sent all, and may be declared dead before the test looks: what is checked holds
    // for any number of such reconnections.
    let mut script = story(4, 6);
    script.plans.push_back(Plan::Stream {
        back: 0,
        count: Some(2),
        end: End::Hang,
        relist_at: None,
    });
    script.plans.push_back(Plan::all_then_hang());
    let mut harness =
        Harness::start_with(script, Duration::from_secs(1), SyncOptions::default()).await;

    harness
        .until("reconnecting after silence", |c| {
            matches!(c.connections.last(), Some(Connection::Reconnecting { .. }))
        })
        .await;
    let Some(Connection::Reconnecting { error, .. }) = harness.console.connections.last() else {
        unreachable!()
    };
    assert!(error.starts_with("no answer from"), "{error}");
    assert_eq!(harness.console.applied, [1, 2]);
    harness.until_caught_up().await;
    assert_eq!(harness.console.applied, (1..=6).collect::<Vec<_>>());
    let ids = harness.last_event_ids();
    assert_eq!(
        ids[..2],
        ["0", "2"],
        "resumed after the last event: {ids:?}"
    );
    assert!(
        ids[2..].iter().all(|id| id == "6"),
        "later silent streams resume after the last event too: {ids:?}"
    );
}

#[tokio::test]
async fn a_refused_token_is_a_problem_and_retried_slowly() {
    let mut script = story(4, 3);
    script.me_answers.push_back(401);
    script.me_answers.push_back(403);
    let mut harness = Harness::start(script).await;

    harness.until_caught_up().await;

    assert_eq!(
        harness.console.problems.len(),
        2,
        "{:?}",
        harness.console.problems
    );
    assert!(harness.console.problems[0].contains("401"));
    assert!(harness.console.problems[1].starts_with("forbidden: "));
    assert_eq!(harness.console.identities, 1);
    let slept = harness.slept.lock().unwrap().clone();
    assert_eq!(slept.len(), 2);
    assert!(
        slept.iter().all(|d| *d >= Duration::from_secs(30)),
        "{slept:?}"
    );
    assert_eq!(harness.mock.seen("/v1/me").len(), 3);
}

/// The sizes of the `Events` batches until the console holds sequence `last`.
async fn batch_sizes(harness: &mut Harness, last: Seq) -> Vec<usize> {
    let mut batches = Vec::new();
    within("all events", async {
        while harness.console.fleet.sequence < last {
            let update = harness.updates.recv().await.expect("sync task ended");
            if let SyncUpdate::Events(events) = &update {
                batches.push(events.len());
            }
            harness.console.take(update);
        }
    })
    .await;
    batches
}

#[tokio::test]
async fn a_burst_arrives_as_one_batch() {
    // The mock writes the 40 events in one go, so they follow each other by far less
    // than any window; the window is generous all the same (a stalled reader still finds
    // the rest of the burst already received), and it is what ends the batch once the
    // stream falls silent: one batch of all 40.
    let options = SyncOptions {
        batch_window: Duration::from_secs(1),
        ..SyncOptions::default()
    };
    let mut harness = Harness::start_with(story(8, 40), Duration::from_secs(45), options).await;
    assert_eq!(batch_sizes(&mut harness, 40).await, [40]);
}

#[tokio::test]
async fn a_full_batch_goes_out_without_waiting_for_the_window() {
    // A window that never ends within the test: only the batch size ends a batch.
    let options = SyncOptions {
        batch_window: Duration::from_secs(3600),
        max_batch: 16,
        ..SyncOptions::default()
    };
    let mut harness = Harness::start_with(story(8, 48), Duration::from_secs(45), options).await;
    assert_eq!(batch_sizes(&mut harness, 48).await, [16, 16, 16]);
}

#[tokio::test]
async fn the_task_ends_when_the_console_goes_away() {
    let script = story(4, 3);
    let mut harness = Harness::start(script).await;
    harness.until_caught_up().await;
    let Harness { updates, task, .. } = harness;
    drop(updates);
    within("the sync task to end", task).await.unwrap();
}
