//! The store does not grow without bound: the lease holder compacts the event log down
//! to the last `--keep-events` events, and forgets idempotency keys older than a day. A
//! console resuming from an id compacted away gets 410 and lists again, then watches
//! from the list's sequence.

#![cfg(unix)]

mod e2e_support;
mod gateway_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use e2e_support::{PATIENCE, Scratch};
use gateway_support::{ALICE, Gateway, events, get, on_sqlite, post, sequence, sqlite_url};
use patchdeck::api::server::{FleetClock, Gateway as DurableGateway, GatewayOptions};
use patchdeck::sim::{Scenario, SimConfig, Simulator};
use patchdeck::store::{AnyStore, Claim, Store};
use serde_json::json;

const KEEP: u64 = 10;

#[tokio::test]
async fn a_console_resuming_from_a_compacted_id_gets_410_and_lists_again() {
    let home = Scratch::new("gateway-compaction");
    let keep = KEEP.to_string();
    let args = on_sqlite(
        &home,
        &[
            "--hosts",
            "300",
            "--speed",
            "600",
            "--keep-events",
            keep.as_str(),
        ],
    );
    let gateway = Gateway::start(&home, &args);
    let url = gateway.url.clone();
    // Actions make events until there are well over KEEP of them.
    for _ in 0..KEEP {
        for verb in ["pause", "resume"] {
            let answer = post(
                &url,
                ALICE,
                &format!("/v1/rings/pilot/{verb}"),
                None,
                json!({}),
            )
            .await;
            assert_eq!(answer.status, 200, "{}", answer.body);
        }
    }
    let last = sequence(&url).await;
    assert!(last > 2 * KEEP, "events made: {last}");

    // The leader compacts within a few seconds: resuming from the start is refused.
    let deadline = Instant::now() + PATIENCE;
    let gone = loop {
        let response = reqwest::Client::new()
            .get(format!("{url}/v1/events"))
            .bearer_auth(ALICE)
            .header("Last-Event-ID", "1")
            .send()
            .await
            .unwrap();
        if response.status().as_u16() == 410 {
            break response.json::<serde_json::Value>().await.unwrap();
        }
        assert_eq!(response.status().as_u16(), 200);
        assert!(Instant::now() < deadline, "the log was not compacted");
        drop(response);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        gone["type"], "urn:patchdeck:problem:events-compacted",
        "{gone}"
    );
    let oldest = gone["oldest_sequence"].as_u64().expect("the oldest kept");
    assert!(oldest > 1, "{gone}");
    // The console lists again and watches from the list's sequence.
    let listed = get(&url, ALICE, "/v1/actions").await;
    assert_eq!(listed.status, 200);
    let from = listed.body["sequence"].as_u64().unwrap();
    let paused = post(&url, ALICE, "/v1/rings/pilot/pause", None, json!({})).await;
    assert_eq!(paused.status, 200);
    let watched = events(&url, from, from + 1).await;
    assert_eq!(watched.first().map(|e| e.seq), Some(from + 1));
    // What is kept can still be resumed from: the first kept event is `oldest`.
    let kept = events(&url, oldest - 1, oldest).await;
    assert_eq!(kept[0].seq, oldest);
    assert!(gateway.stop().success());

    let store = AnyStore::open_url(Some(&sqlite_url(&home))).await.unwrap();
    let bounds = store.event_bounds().await.unwrap();
    assert!(
        bounds.last - bounds.oldest_retained <= KEEP + 5,
        "{bounds:?}"
    );
    assert!(bounds.oldest_retained + 1 >= oldest, "{bounds:?}");
}

#[tokio::test]
async fn the_leader_forgets_idempotency_keys_older_than_a_day() {
    let home = Scratch::new("gateway-forget-keys");
    let path = home.path().join("gateway.db");
    let store = AnyStore::open_url(Some(&format!("sqlite:{}", path.display())))
        .await
        .unwrap();
    let now = Utc::now();
    let old = now - chrono::Duration::hours(25);
    for (key, at) in [("old", old), ("new", now - chrono::Duration::hours(23))] {
        let claim = store
            .claim_key("alice", key, "POST /x", "gw", at)
            .await
            .unwrap();
        assert_eq!(claim, Claim::Claimed);
    }
    let simulator = Simulator::new(SimConfig {
        hosts: 50,
        seed: 1,
        scenario: Scenario::PatchTuesday,
        start: now,
    });
    let clock: Arc<dyn FleetClock> = simulator.clone();
    let gateway =
        DurableGateway::with_options(store, "gw", simulator, clock, GatewayOptions::default());
    assert_eq!(gateway.compact(true).await.unwrap(), (0, 1));
    // The old key is free again; the recent one is still claimed.
    let store = gateway.store();
    assert_eq!(
        store
            .claim_key("alice", "old", "POST /y", "gw", now)
            .await
            .unwrap(),
        Claim::Claimed
    );
    assert!(matches!(
        store
            .claim_key("alice", "new", "POST /x", "gw", now)
            .await
            .unwrap(),
        Claim::InFlight { .. }
    ));
}
