//! Two real `patchdeck serve` gateways on one PostgreSQL (a throwaway cluster from the
//! system's binaries, tests/pg_support): the first approval through gateway A counts as
//! the first of two on gateway B, so the second approver there completes it, once; an
//! action with one Idempotency-Key sent to both acts once. Without PostgreSQL binaries
//! it prints why it skips, unless CI=true: then it fails.

#![cfg(unix)]

mod e2e_support;
mod gateway_support;
mod pg_support;

use std::time::{Duration, Instant};

use e2e_support::{PATIENCE, Scratch};
use gateway_support::{ALICE, Answer, BOB, Gateway, get, post, write_tokens};
use pg_support::Cluster;
use serde_json::{Value, json};

/// Polls `path` on `url` until `check` holds, within the patience.
async fn until(url: &str, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Answer {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let answer = get(url, ALICE, path).await;
        if check(&answer.body) {
            return answer;
        }
        assert!(Instant::now() < deadline, "{what}: last {}", answer.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn count(actions: &Value, verb: &str, by: &str) -> usize {
    actions["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["verb"] == verb && a["by"] == by)
        .count()
}

#[tokio::test]
async fn two_gateways_on_one_postgres_act_as_one() {
    let Some(cluster) = Cluster::start("gateways") else {
        return;
    };
    let store = cluster.create_database("gateways");
    let home = Scratch::new("gateway-pg");
    let tokens = write_tokens(&home);
    let args = |id: &'static str| {
        vec![
            "--store".to_string(),
            store.clone(),
            "--tokens".to_string(),
            tokens.display().to_string(),
            "--hosts".to_string(),
            "300".to_string(),
            "--speed".to_string(),
            "600".to_string(),
            "--gateway-id".to_string(),
            id.to_string(),
        ]
    };
    let args_a = args("gw-a");
    let args_b = args("gw-b");
    let a = Gateway::start(
        &home,
        &args_a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let b = Gateway::start(
        &home,
        &args_b.iter().map(String::as_str).collect::<Vec<_>>(),
    );

    // Both follow one fleet: the gate waits on each.
    for url in [&a.url, &b.url] {
        until(url, "/v1/deployments/dep-0002", "the gate waits", |d| {
            d["state"] == "awaiting-approval"
        })
        .await;
    }
    let health = reqwest::get(format!("{}/v1/health", b.url))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(health["lease_holder"], "gw-a", "{health}");
    assert_eq!(health["degraded"], false);

    // Two-person rule across gateways: alice on A, bob on B.
    let first = post(
        &a.url,
        ALICE,
        "/v1/deployments/dep-0002/approve",
        None,
        json!({}),
    )
    .await;
    assert_eq!(
        first.body["state"], "awaiting-second-approver",
        "{}",
        first.body
    );
    let second = post(
        &b.url,
        BOB,
        "/v1/deployments/dep-0002/approve",
        None,
        json!({}),
    )
    .await;
    assert_eq!(second.body["state"], "succeeded", "{}", second.body);
    // A learns it from the journal: the approval happened once, everywhere.
    for url in [&a.url, &b.url] {
        let actions = until(url, "/v1/actions", "both approvals", |actions| {
            count(actions, "approve", "bob") == 1
        })
        .await;
        assert_eq!(count(&actions.body, "approve", "alice"), 1);
        let deployment = get(url, ALICE, "/v1/deployments/dep-0002").await;
        assert_eq!(deployment.body["pending_approval"], Value::Null);
    }

    // One Idempotency-Key, sent to both gateways: acted once.
    let body = json!({"reason": "bad patch on servers", "ticket": "CHG-9"});
    let on_a = post(
        &a.url,
        ALICE,
        "/v1/deployments/dep-0003/halt",
        Some("halt-9"),
        body.clone(),
    )
    .await;
    assert_eq!(on_a.status, 200, "{}", on_a.body);
    let on_b = post(
        &b.url,
        ALICE,
        "/v1/deployments/dep-0003/halt",
        Some("halt-9"),
        body,
    )
    .await;
    assert_eq!(on_b.status, 200, "{}", on_b.body);
    assert_eq!(on_b.header("idempotent-replayed"), Some("true"));
    assert_eq!(on_b.body, on_a.body);
    for url in [&a.url, &b.url] {
        let actions = until(url, "/v1/actions", "the halt", |actions| {
            count(actions, "halt", "alice") >= 1
        })
        .await;
        assert_eq!(count(&actions.body, "halt", "alice"), 1, "acted once");
    }
    assert!(a.stop().success());
    assert!(b.stop().success());
}
