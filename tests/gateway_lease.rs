//! The rollout lease passes: two real `patchdeck serve` gateways on one PostgreSQL (a
//! throwaway cluster, tests/pg_support). While A holds the lease it alone moves the
//! fleet clock and writes the event log; B only follows. A is killed with SIGKILL; B
//! takes the lease within a bounded time, moves the clock on, and a console watching B
//! goes on receiving events whose ids continue from the last one it saw, with no gap
//! and no double, live and when it resumes from the store. Without PostgreSQL binaries
//! it prints why it skips, unless CI=true: then it fails.

#![cfg(unix)]

mod e2e_support;
mod gateway_support;
mod pg_support;

use std::time::{Duration, Instant};

use e2e_support::{PATIENCE, Scratch};
use gateway_support::{
    ALICE, BOB, Gateway, Watcher, events, fleet_now, health, post, sequence, until, write_tokens,
};
use patchdeck::model::Event;
use pg_support::Cluster;
use serde_json::{Value, json};

/// The lease lasts this long in this test (renewed every third of it).
const LEASE_TTL_MS: &str = "3000";
/// B must hold the lease within this long of A's death (ttl + a renewal + slack).
const TAKEOVER_DEADLINE: Duration = Duration::from_secs(15);

fn as_u64(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("a number: {value}"))
}

/// Every id is the one after the one before: no gap, no double.
fn assert_contiguous(events: &[Event], after: u64) {
    let ids: Vec<u64> = events.iter().map(|e| e.seq).collect();
    let expected: Vec<u64> = (after + 1..after + 1 + ids.len() as u64).collect();
    assert_eq!(ids, expected, "event ids continue from {after}");
}

#[tokio::test]
async fn the_lease_passes_to_the_other_gateway_when_its_holder_is_killed() {
    let Some(cluster) = Cluster::start("lease") else {
        return;
    };
    let store = cluster.create_database("lease");
    let home = Scratch::new("gateway-lease");
    let tokens = write_tokens(&home);
    let args = |id: &str| {
        [
            "--store",
            store.as_str(),
            "--tokens",
            tokens.to_str().unwrap(),
            "--hosts",
            "300",
            "--speed",
            "600",
            "--lease-ttl-ms",
            LEASE_TTL_MS,
            "--gateway-id",
            id,
        ]
        .map(str::to_string)
    };
    let args_a = args("gw-a");
    let args_b = args("gw-b");
    let a = Gateway::start(&home, &args_a.each_ref().map(String::as_str));
    until(&a.url, "/v1/health", "A holds the lease", |h| {
        h["lease_holder"] == "gw-a"
    })
    .await;
    let b = Gateway::start(&home, &args_b.each_ref().map(String::as_str));
    until(
        &b.url,
        "/v1/deployments/dep-0002",
        "B follows to the gate",
        |d| d["state"] == "awaiting-approval",
    )
    .await;

    // A console watches B from where B is now.
    let watched_from = sequence(&b.url).await;
    let mut console = Watcher::start(&b.url, watched_from);
    // Things happen: the two-person approval across both gateways starts the ring.
    let first = post(
        &a.url,
        ALICE,
        "/v1/deployments/dep-0002/approve",
        None,
        json!({}),
    )
    .await;
    assert_eq!(first.body["state"], "awaiting-second-approver");
    let second = post(
        &b.url,
        BOB,
        "/v1/deployments/dep-0002/approve",
        None,
        json!({}),
    )
    .await;
    assert_eq!(second.body["state"], "succeeded", "{}", second.body);

    // While A lives, B's clock follows A's and B writes nothing of its own.
    let b_clock = fleet_now(&b.url).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        for url in [&a.url, &b.url] {
            let h = health(url).await;
            assert_eq!(h["lease_holder"], "gw-a", "only A holds the lease: {h}");
        }
        let h = health(&b.url).await;
        assert_eq!(
            as_u64(&h["checkpoints_written"]),
            0,
            "B moved no clock: {h}"
        );
        assert_eq!(as_u64(&h["events_written"]), 0, "B stored no event: {h}");
        // Three checkpoints of A (600 fleet seconds each) seen on B.
        if fleet_now(&b.url).await >= b_clock + chrono::Duration::minutes(30) {
            break;
        }
        assert!(Instant::now() < deadline, "B's clock did not follow A's");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let h = health(&a.url).await;
    assert!(
        as_u64(&h["checkpoints_written"]) >= 3,
        "A moved the clock: {h}"
    );
    assert!(as_u64(&h["events_written"]) > 0, "A stored the events: {h}");
    let before_kill = sequence(&b.url).await;
    console.through(before_kill).await;

    a.kill_9();
    let killed = Instant::now();
    let clock_at_kill = fleet_now(&b.url).await;
    loop {
        let h = health(&b.url).await;
        if h["lease_holder"] == "gw-b" {
            break;
        }
        assert!(
            killed.elapsed() < TAKEOVER_DEADLINE,
            "B did not take the lease within {TAKEOVER_DEADLINE:?}: {h}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = killed.elapsed();
    eprintln!("B took the lease {took:?} after A was killed");

    // B moves the clock on and stores the events now.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let h = health(&b.url).await;
        if fleet_now(&b.url).await > clock_at_kill && as_u64(&h["checkpoints_written"]) > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "B's clock did not move on: {h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let paused = post(&b.url, ALICE, "/v1/rings/pilot/pause", None, json!({})).await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    let last = sequence(&b.url).await;
    assert!(last > before_kill, "events after the kill: {last}");

    // The console went on from its last id, without a gap or a double.
    let seen = console.through(last).await.to_vec();
    assert_contiguous(&seen, watched_from);
    // The stored log is whole across the two writers: a console resuming from the
    // store gets the same events.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let stored = cluster.psql("lease", "SELECT count(*), min(seq), max(seq) FROM events");
        let numbers: Vec<u64> = stored.split('|').map(|n| n.parse().unwrap()).collect();
        assert_eq!(numbers[0], numbers[2] - numbers[1] + 1, "no gap: {stored}");
        if numbers[2] >= last {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B did not store through {last}: {stored}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(as_u64(&health(&b.url).await["events_written"]) > 0);
    let resumed = events(&b.url, watched_from, last).await;
    assert_eq!(resumed, seen[..resumed.len()].to_vec());
    assert!(b.stop().success());
}
