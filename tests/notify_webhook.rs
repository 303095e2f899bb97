//! `serve --notify`: the gateway's notices posted to a webhook receiver on 127.0.0.1
//! (an axum server in the test). The bad-patch halt arrives from the notifier on a
//! simulated fleet whose clock the test moves; a receiver that fails twice gets the
//! third post; a dead receiver neither blocks the notifier nor slows the API. Every
//! wait is on a channel, with a generous deadline.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::sync::mpsc;

use patchdeck::api::server::{self, ServerOptions};
use patchdeck::api::tokens::Tokens;
use patchdeck::model::{Role, SYSTEM};
use patchdeck::notify::{self, Notifier, NotifySettings, Posted, Receiver};
use patchdeck::sim::Scenario;

const PATIENCE: Duration = Duration::from_secs(60);

/// What the receiver got: the body and its `patchdeck-notice-key` header.
type Got = (serde_json::Value, String);

#[derive(Clone)]
struct Hook {
    got: mpsc::UnboundedSender<Got>,
    /// Posts still to refuse with 503.
    refuse: Arc<AtomicU32>,
}

async fn hook(
    State(hook): State<Hook>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> StatusCode {
    let refuse = hook
        .refuse
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if refuse {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let key = headers
        .get("patchdeck-notice-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let _ = hook.got.send((body, key));
    StatusCode::NO_CONTENT
}

/// A receiver on 127.0.0.1 that refuses the first `refuse` posts: its URL and what it
/// took.
async fn receiver(refuse: u32) -> (String, mpsc::UnboundedReceiver<Got>) {
    let (got, taken) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(Hook {
            got,
            refuse: Arc::new(AtomicU32::new(refuse)),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, taken)
}

/// The next document of `kind`, skipping others, within the patience.
async fn next_of(taken: &mut mpsc::UnboundedReceiver<Got>, kind: &str) -> Got {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let got = tokio::time::timeout_at(deadline, taken.recv())
            .await
            .unwrap_or_else(|_| panic!("no {kind} notice within {PATIENCE:?}"))
            .expect("the receiver runs");
        if got.0["kind"] == kind {
            return got;
        }
    }
}

/// A document of kind `ring-halted` with `key`.
fn posted(key: &str) -> Arc<Posted> {
    Arc::new(Posted::new(
        key,
        &serde_json::json!({"kind": "ring-halted", "key": key}),
    ))
}

fn quick() -> NotifySettings {
    NotifySettings {
        first_retry: Duration::from_millis(10),
        max_retry: Duration::from_millis(50),
        timeout: Duration::from_secs(10),
        ..NotifySettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bad_patch_halt_reaches_the_receiver_once_with_its_cause() {
    let (url, mut taken) = receiver(0).await;
    let simulator = common::simulator(Scenario::BadPatch, 0);
    let notifier = Notifier::spawn(
        simulator.clone(),
        std::slice::from_ref(&url),
        quick(),
        Arc::new(|| true),
    );
    // The fleet clock, fast: the story runs to past Pilot's threshold halt.
    let clock = simulator.clone();
    let runner = tokio::task::spawn_blocking(move || {
        for _ in 0..(common::RUN_SECS / 600) {
            clock.advance(600);
        }
    });
    let (halt, key) = next_of(&mut taken, "deployment-halted").await;
    runner.await.unwrap();
    assert_eq!(halt["schema"], notify::SCHEMA);
    assert_eq!(halt["severity"], "critical");
    assert_eq!(halt["ring"]["name"], "Pilot");
    assert_eq!(halt["key"], key, "the key is also a header");
    let cause = halt["cause"].as_str().expect("a cause");
    assert!(cause.starts_with("failure threshold"), "{cause}");
    let text = halt["text"].as_str().unwrap();
    assert!(
        text.starts_with("HALTED: ") && text.contains("in Pilot"),
        "{text}"
    );
    assert!(
        halt["at"]["fleet"].is_string() && halt["at"]["wall"].is_string(),
        "{halt}"
    );
    assert!(halt["sequence"].as_u64().unwrap() > 0);
    assert!(
        halt["fleet"].as_str().unwrap().contains("simulated"),
        "{halt}"
    );
    // Pilot's halt is one notice, not one for the ring and one for the deployment.
    let halted = simulator_halt_system_actions(&simulator);
    assert_eq!(halted, 1, "the story has one threshold halt");
    while let Ok((other, _)) = taken.try_recv() {
        assert_ne!(other["kind"], "deployment-halted", "said twice: {other}");
        assert!(
            !(other["kind"] == "ring-halted" && other["ring"]["name"] == "Pilot"),
            "Pilot's halt said twice: {other}"
        );
    }
    // The receiver took the halt before it answered, so the notifier may not have
    // counted that post yet: nothing failed is all that is certain here (the count
    // after an answer is a_receiver_that_fails_twice_gets_the_third_post's).
    let health = notifier.health();
    assert_eq!(
        (health[0].given_up, health[0].failed_posts),
        (0, 0),
        "{health:?}"
    );
    assert_eq!(
        health[0].url,
        format!("{}/...", url.trim_end_matches("/hook"))
    );
}

/// The threshold halts the system took.
fn simulator_halt_system_actions(simulator: &patchdeck::sim::Simulator) -> usize {
    use patchdeck::backend::Backend;
    simulator
        .actions()
        .items
        .iter()
        .filter(|a| a.by == SYSTEM && a.verb == patchdeck::model::Verb::Halt)
        .count()
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_third_post() {
    let (url, mut taken) = receiver(2).await;
    let receiver = Receiver::new(&url, quick());
    tokio::spawn(receiver.clone().run(reqwest::Client::new()));
    receiver.push(posted("k-1"));
    let (got, key) = next_of(&mut taken, "ring-halted").await;
    assert_eq!(got["key"], "k-1");
    assert_eq!(key, "k-1");
    // The worker is one at a time: once the next is taken, the first is counted.
    receiver.push(posted("k-2"));
    let (got, _) = next_of(&mut taken, "ring-halted").await;
    assert_eq!(got["key"], "k-2");
    let health = receiver.health();
    assert_eq!((health.failed_posts, health.given_up), (2, 0), "{health:?}");
    assert!(health.delivered >= 1, "{health:?}");
    assert_eq!(
        health.last_error.as_deref(),
        Some("the receiver answered 503 Service Unavailable")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_receiver_neither_blocks_the_notifier_nor_slows_the_api() {
    // Takes connections (the kernel's backlog) and never answers.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", dead.local_addr().unwrap());
    let settings = NotifySettings {
        queue: 4,
        timeout: Duration::from_secs(30),
        ..NotifySettings::default()
    };
    let receiver = Receiver::new(&url, settings.clone());
    tokio::spawn(receiver.clone().run(reqwest::Client::new()));
    let started = Instant::now();
    for n in 0..100 {
        receiver.push(posted(&n.to_string()));
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "pushing waited: {:?}",
        started.elapsed()
    );
    let health = receiver.health();
    assert!(health.queued <= 4, "{health:?}");
    assert!(health.dropped >= 95, "{health:?}");

    // The API beside a notifier stuck on the dead receiver answers at once.
    let simulator = common::simulator(Scenario::BadPatch, 0);
    let _notifier = Notifier::spawn(simulator.clone(), &[url], settings, Arc::new(|| true));
    let token = "t".repeat(32);
    let options = ServerOptions {
        tokens: Tokens::single("vera", Role::Viewer, token.clone()),
        ..ServerOptions::default()
    };
    let server = server::spawn(simulator.clone(), options, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let clock = simulator.clone();
    tokio::task::spawn_blocking(move || {
        for _ in 0..(common::RUN_SECS / 600) {
            clock.advance(600);
        }
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let asked = Instant::now();
    let answer = client
        .get(format!("{}/v1/summary", server.url))
        .bearer_auth(&token)
        .timeout(PATIENCE)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "the API took {:?}",
        asked.elapsed()
    );
    server.abort();
}
