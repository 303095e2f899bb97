//! The server's bounds, over a real listener: event streams capped per identity and in
//! all (429), a replay too far behind answered 410, the replay read in chunks with no
//! gap and no double (from the fleet's log and from the store's), the audit trail of
//! every attempt (`GET /v1/audit`, approvers only, paged), idempotency keys held per
//! identity under a quota, and the action list bounded.

mod server_support;

use std::sync::Arc;
use std::time::Duration;

use patchdeck::api::server::{
    self, Faults, FleetClock, Gateway, Limits, REPLAYED_HEADER, ServerOptions,
};
use patchdeck::api::tokens::Tokens;
use patchdeck::api::wire::ProblemType;
use patchdeck::backend::{ActionRequest, Backend};
use patchdeck::model::{Identity, RingState, Role, Target, TargetKind, Verb};
use patchdeck::sim::{ACTIONS_LISTED, Scenario, Simulator};
use patchdeck::store::AnyStore;
use serde_json::{Value, json};
use server_support::{Fleet, config, expect_problem, read_events, within};

fn oscar() -> Identity {
    Identity::new("oscar", Role::Operator)
}

/// Pauses and resumes an active ring through the backend until the fleet made at
/// least `min` more events; returns the sequence before.
fn make_events(sim: &Simulator, min: u64) -> u64 {
    let from = sim.sequence();
    let ring = sim
        .rings()
        .items
        .into_iter()
        .find(|r| r.state == RingState::Soaking || r.state == RingState::Deploying)
        .expect("an active ring")
        .id;
    let mut verbs = [Verb::Pause, Verb::Resume].into_iter().cycle();
    while sim.sequence() < from + min {
        let request = ActionRequest::new(
            verbs.next().unwrap(),
            Target {
                kind: TargetKind::Ring,
                id: ring.clone(),
            },
        );
        sim.act(request, &oscar()).expect("pause or resume");
    }
    from
}

async fn limited(limits: Limits) -> Fleet {
    Fleet::start_limited(
        config(300, Scenario::PatchTuesday),
        Faults::default(),
        limits,
    )
    .await
}

#[tokio::test]
async fn streams_over_the_caps_are_429_with_retry_after() {
    let fleet = limited(Limits {
        streams_per_identity: 2,
        streams: 3,
        ..Limits::default()
    })
    .await;
    let first = fleet.events_as("vera", None, None).await;
    let second = fleet.events_as("vera", None, None).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );

    let third = fleet.events_as("vera", None, None).await;
    assert!(third.headers().contains_key("retry-after"));
    let problem = expect_problem(third, ProblemType::RateLimited).await;
    let detail = problem.detail.unwrap_or_default();
    assert!(detail.contains("vera has 2 event streams open"), "{detail}");

    // Another identity has its own places, up to the server's cap.
    let oscars = fleet.events_as("oscar", None, None).await;
    assert_eq!(oscars.status(), 200);
    let full = fleet.events_as("alice", None, None).await;
    let problem = expect_problem(full, ProblemType::RateLimited).await;
    let detail = problem.detail.unwrap_or_default();
    assert!(detail.contains("holds 3 event streams open"), "{detail}");
    drop((first, second, oscars));
}

#[tokio::test]
async fn a_replay_further_behind_than_the_bound_is_410_as_for_a_compacted_log() {
    let fleet = limited(Limits {
        replay_max: 10,
        ..Limits::default()
    })
    .await;
    let from = make_events(&fleet.sim, 20);
    let current = fleet.sim.sequence();
    let problem =
        expect_problem(fleet.events(Some(from), None).await, ProblemType::Compacted).await;
    assert_eq!(problem.oldest_sequence, Some(current - 9));
    let detail = problem.detail.unwrap_or_default();
    assert!(
        detail.contains("more than the 10 a stream replays"),
        "{detail}"
    );
    // Resuming with Last-Event-ID is bounded the same way.
    expect_problem(
        fleet.events(None, Some(current - 11)).await,
        ProblemType::Compacted,
    )
    .await;

    // Exactly the bound behind still replays.
    let response = fleet.events(Some(current - 10), None).await;
    assert_eq!(response.status(), 200);
    let events = read_events(response, 10).await;
    assert_eq!(events.last().unwrap().2.seq, current);
}

/// Reads `count` events after `from` and checks they are exactly from+1..=from+count.
async fn expect_every_event(fleet: &Fleet, from: u64, count: usize) {
    let events = read_events(fleet.events(Some(from), None).await, count).await;
    let seqs: Vec<u64> = events.iter().map(|e| e.2.seq).collect();
    let expected: Vec<u64> = (from + 1..=from + count as u64).collect();
    assert_eq!(seqs, expected);
    for (id, _, event) in &events {
        assert_eq!(*id, event.seq.to_string());
    }
}

#[tokio::test]
async fn the_chunked_replay_delivers_every_event_in_order_across_chunk_boundaries() {
    let fleet = limited(Limits {
        replay_chunk: 3,
        ..Limits::default()
    })
    .await;
    let from = make_events(&fleet.sim, 40);
    let response = fleet.events(Some(from), None).await;
    assert_eq!(response.status(), 200);
    // Events made while the stream replays follow it, without a gap or a double.
    make_events(&fleet.sim, 10);
    let count = usize::try_from(fleet.sim.sequence() - from).unwrap();
    let events = read_events(response, count).await;
    let seqs: Vec<u64> = events.iter().map(|e| e.2.seq).collect();
    let expected: Vec<u64> = (from + 1..=from + count as u64).collect();
    assert_eq!(seqs, expected);

    // Every start position, on and off the chunk boundaries.
    for offset in [0, 1, 2, 3, 4] {
        let start = from + offset;
        expect_every_event(&fleet, start, 12).await;
    }
}

/// A fleet served durably: an in-process gateway on a SQLite store in a scratch dir.
struct Durable {
    fleet: Fleet,
    gateway: Arc<Gateway>,
    dir: std::path::PathBuf,
}

impl Drop for Durable {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn durable(limits: Limits) -> Durable {
    let dir = std::env::temp_dir().join(format!("patchdeck-bounds-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("store.db").display());
    let store = AnyStore::open_url(Some(&url))
        .await
        .expect("a SQLite store");
    let sim = Simulator::new(config(300, Scenario::PatchTuesday));
    let clock: Arc<dyn FleetClock> = sim.clone();
    let gateway = Gateway::new(store, "gw-test", sim.clone(), clock);
    let tokens = Tokens::generate();
    let options = ServerOptions {
        tokens: tokens.clone(),
        limits,
        ..ServerOptions::default()
    };
    let server = server::spawn_with(
        sim.clone(),
        options,
        Some(gateway.clone()),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("listen on 127.0.0.1:0");
    let http = reqwest::Client::builder()
        .timeout(server_support::PATIENCE)
        .build()
        .unwrap();
    Durable {
        fleet: Fleet {
            sim,
            server,
            tokens,
            http,
        },
        gateway,
        dir,
    }
}

#[tokio::test]
async fn the_chunked_replay_reads_the_store_then_the_fleet_without_gap_or_double() {
    let durable = durable(Limits {
        replay_chunk: 4,
        ..Limits::default()
    })
    .await;
    let fleet = &durable.fleet;
    let from = make_events(&fleet.sim, 30);
    // The store has the history through here; what follows only the fleet has.
    within("the events stored", durable.gateway.store_events())
        .await
        .expect("events stored");
    // The fleet's own log forgets them: only the store can replay them now.
    let stored = fleet.sim.sequence();
    fleet.sim.compact_events_through(stored);
    make_events(&fleet.sim, 15);
    let count = usize::try_from(fleet.sim.sequence() - from).unwrap();
    for offset in [0, 1, 3] {
        expect_every_event(fleet, from + offset, count - offset as usize).await;
    }
}

/// `POST` as `token` (a raw token, maybe unknown) with optional headers.
async fn post_raw(
    fleet: &Fleet,
    token: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> reqwest::Response {
    let mut request = fleet
        .http
        .post(fleet.url(path))
        .bearer_auth(token)
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    within(&format!("the answer to POST {path}"), request.send())
        .await
        .unwrap()
}

/// A 403, a 401, a 412 and an accepted pause; then the trail as approvers see it.
async fn audit_trail_lists_every_attempt(fleet: &Fleet) {
    let token = |who: &str| fleet.tokens.token_of(who).unwrap().to_string();
    let halt = json!({"reason": "BSOD on pilot", "ticket": "INC-1"});
    let (vera, oscar) = (token("vera"), token("oscar"));
    let refused = post_raw(fleet, &vera, "/v1/deployments/dep-0002/halt", &[], halt);
    assert_eq!(refused.await.status(), 403);
    let unknown = post_raw(
        fleet,
        "no-such-token",
        "/v1/rings/pilot/pause",
        &[],
        json!({}),
    );
    assert_eq!(unknown.await.status(), 401);
    let ring = fleet.sim.ring("pilot").unwrap();
    let stale = (ring.version + 5).to_string();
    let headers = [("If-Match", stale.as_str()), ("Idempotency-Key", "k-412")];
    let body = json!({"reason": "VPN drops", "ticket": "CHG-9"});
    let mismatch = post_raw(fleet, &oscar, "/v1/rings/pilot/pause", &headers, body);
    assert_eq!(mismatch.await.status(), 412);
    let pause = post_raw(fleet, &oscar, "/v1/rings/pilot/pause", &[], json!({}));
    let accepted = pause.await.status();

    for who in ["vera", "oscar"] {
        let problem =
            expect_problem(fleet.get(who, "/v1/audit").await, ProblemType::Forbidden).await;
        let detail = problem.detail.unwrap_or_default();
        assert!(detail.contains("needs the approver role"), "{detail}");
    }

    // Paged two at a time, oldest first.
    let mut items = Vec::new();
    let mut path = "/v1/audit?limit=2".to_string();
    loop {
        let page = fleet.get_json("alice", &path).await;
        let got = page["items"].as_array().unwrap().clone();
        assert!(got.len() <= 2);
        items.extend(got);
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/audit?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let row = |i: usize| -> (Value, String, u64, String) {
        let item = &items[i];
        (
            item["identity"].clone(),
            item["verb"].as_str().unwrap().to_string(),
            item["status"].as_u64().unwrap(),
            item["problem_type"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(items.len(), 4, "{items:#?}");
    assert_eq!(
        row(0),
        (
            json!("vera"),
            "halt".into(),
            403,
            ProblemType::Forbidden.uri().into()
        )
    );
    assert_eq!(items[0]["reason"], "BSOD on pilot");
    assert_eq!(items[0]["ticket"], "INC-1");
    assert_eq!(
        items[0]["target"],
        json!({"kind": "deployment", "id": "dep-0002"})
    );
    assert_eq!(
        row(1),
        (
            Value::Null,
            "pause".into(),
            401,
            ProblemType::Unauthorized.uri().into()
        )
    );
    assert_eq!(
        row(2),
        (
            json!("oscar"),
            "pause".into(),
            412,
            ProblemType::VersionMismatch.uri().into()
        )
    );
    assert_eq!(items[2]["idempotency_key"], "k-412");
    assert_eq!(row(3).2, u64::from(accepted.as_u16()));
    let seqs: Vec<u64> = items.iter().map(|i| i["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(items.iter().all(|i| i["at"].is_string()));
}

#[tokio::test]
async fn the_audit_trail_of_a_server_without_a_store_lists_every_attempt() {
    let fleet = limited(Limits::default()).await;
    audit_trail_lists_every_attempt(&fleet).await;
}

#[tokio::test]
async fn the_audit_trail_of_a_gateway_lists_every_attempt() {
    let durable = durable(Limits::default()).await;
    audit_trail_lists_every_attempt(&durable.fleet).await;
    let page = durable.fleet.get_json("bob", "/v1/audit").await;
    assert_eq!(page["items"][0]["gateway"], "gw-test");
}

#[tokio::test]
async fn one_identity_over_its_key_quota_is_429_and_pushes_out_no_one_elses_key() {
    let fleet = limited(Limits::default()).await;
    let token = |who: &str| fleet.tokens.token_of(who).unwrap().to_string();
    let body = json!({"reason": "bob's pause"});
    let bobs = post_raw(
        &fleet,
        &token("bob"),
        "/v1/rings/pilot/pause",
        &[("Idempotency-Key", "bob-1")],
        body.clone(),
    )
    .await;
    let bobs_status = bobs.status();
    let bobs_body = bobs.text().await.unwrap();

    // Oscar fills his quota with requests the fleet refuses at once (no such host).
    let oscar = token("oscar");
    for n in 0..patchdeck::api::server::KEYS_PER_IDENTITY {
        let key = format!("oscar-{n}");
        let answer = post_raw(
            &fleet,
            &oscar,
            "/v1/hosts/no-such-host/retry",
            &[("Idempotency-Key", &key)],
            json!({}),
        )
        .await;
        assert_eq!(answer.status(), 404, "key {n}");
    }
    let over = post_raw(
        &fleet,
        &oscar,
        "/v1/hosts/no-such-host/retry",
        &[("Idempotency-Key", "oscar-one-too-many")],
        json!({}),
    )
    .await;
    let retry_after: u64 = over.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 23 * 3600, "{retry_after}");
    let problem = expect_problem(over, ProblemType::RateLimited).await;
    let detail = problem.detail.unwrap_or_default();
    assert!(
        detail.contains("oscar holds 1000 Idempotency-Keys"),
        "{detail}"
    );
    // Oscar's own keys still answer; bob's retry replays instead of acting again.
    let again = post_raw(
        &fleet,
        &oscar,
        "/v1/hosts/no-such-host/retry",
        &[("Idempotency-Key", "oscar-0")],
        json!({}),
    )
    .await;
    assert_eq!(again.headers()[REPLAYED_HEADER], "true");
    let retry = post_raw(
        &fleet,
        &token("bob"),
        "/v1/rings/pilot/pause",
        &[("Idempotency-Key", "bob-1")],
        body,
    )
    .await;
    assert_eq!(retry.status(), bobs_status);
    assert_eq!(retry.headers()[REPLAYED_HEADER], "true");
    assert_eq!(retry.text().await.unwrap(), bobs_body);
}

#[tokio::test]
async fn a_key_past_its_time_limit_acts_again() {
    let fleet = limited(Limits {
        keep_keys: Duration::ZERO,
        ..Limits::default()
    })
    .await;
    let oscar = fleet.tokens.token_of("oscar").unwrap().to_string();
    let send = || {
        post_raw(
            &fleet,
            &oscar,
            "/v1/hosts/no-such-host/retry",
            &[("Idempotency-Key", "short-lived")],
            json!({}),
        )
    };
    assert!(!send().await.headers().contains_key(REPLAYED_HEADER));
    // Kept for no time at all: the retry is a new request.
    assert!(!send().await.headers().contains_key(REPLAYED_HEADER));
}

#[tokio::test]
async fn the_action_list_stays_bounded_after_many_calls() {
    let fleet = limited(Limits::default()).await;
    let ring = fleet
        .sim
        .rings()
        .items
        .into_iter()
        .find(|r| r.state == RingState::Soaking || r.state == RingState::Deploying)
        .expect("an active ring")
        .id;
    let calls = 2 * (ACTIONS_LISTED / 2 + 100);
    for verb in [Verb::Pause, Verb::Resume].into_iter().cycle().take(calls) {
        let target = Target {
            kind: TargetKind::Ring,
            id: ring.clone(),
        };
        let request = ActionRequest::new(verb, target);
        fleet.sim.act(request, &oscar()).expect("pause or resume");
    }
    let list = fleet.get_json("vera", "/v1/actions?limit=1000").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), ACTIONS_LISTED);
    assert!(list["next_cursor"].is_null());
    // The last ones taken, oldest first.
    let taken = fleet.sim.actions().items.last().map(action_number).unwrap();
    assert!(taken >= calls, "{taken} actions for {calls} calls");
    let first = format!("act-{:06}", taken - ACTIONS_LISTED + 1);
    assert_eq!(items[0]["id"], first.as_str());
    assert_eq!(
        items[ACTIONS_LISTED - 1]["id"],
        format!("act-{taken:06}").as_str()
    );
}

/// 42 for "act-000042".
fn action_number(action: &patchdeck::model::Action) -> usize {
    action.id.trim_start_matches("act-").parse().unwrap()
}
