//! Faults of the store, with the real binary: a corrupt file or a schema from a newer
//! patchdeck refuse to start with one clear line; a read-only store serves reads and
//! refuses writes with 503 `store-unavailable`, the gateway marked degraded.

#![cfg(unix)]

mod e2e_support;
mod gateway_support;

use e2e_support::{Scratch, run_to_end};
use gateway_support::{ALICE, Gateway, get, post, write_tokens};
use serde_json::json;

#[test]
fn a_corrupt_store_is_refused_with_a_clear_message() {
    let home = Scratch::new("gateway-corrupt");
    let path = home.path().join("gateway.db");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let output = run_to_end(
        home.patchdeck()
            .args(["serve", "--listen", "127.0.0.1:0", "--speed", "0"])
            .arg("--store")
            .arg(format!("sqlite:{}", path.display())),
        "serve on a corrupt store",
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is corrupt or not a patchdeck database"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

#[tokio::test]
async fn a_read_only_store_serves_reads_and_refuses_writes_degraded() {
    let home = Scratch::new("gateway-read-only");
    let tokens = write_tokens(&home);
    let path = home.path().join("gateway.db");
    let writable = format!("sqlite:{}", path.display());
    let common = [
        "--tokens",
        tokens.to_str().unwrap(),
        "--hosts",
        "300",
        "--speed",
        "0",
    ];
    let first = Gateway::start(
        &home,
        &[&["--store", writable.as_str()][..], &common].concat(),
    );
    let paused = post(&first.url, ALICE, "/v1/rings/pilot/pause", None, json!({})).await;
    assert_eq!(paused.status, 200);
    assert_eq!(paused.header("patchdeck-gateway"), Some("ok"));
    assert!(first.stop().success());

    let read_only = format!("{writable}?mode=ro");
    let second = Gateway::start(
        &home,
        &[&["--store", read_only.as_str()][..], &common].concat(),
    );
    let ring = get(&second.url, ALICE, "/v1/rings/pilot").await;
    assert_eq!(ring.status, 200, "reads keep working");
    assert_eq!(ring.body["state"], "paused", "rebuilt from the store");
    let refused = post(
        &second.url,
        ALICE,
        "/v1/rings/pilot/resume",
        None,
        json!({}),
    )
    .await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(
        refused.body["type"],
        "urn:patchdeck:problem:store-unavailable"
    );
    assert!(refused.header("retry-after").is_some());
    assert_eq!(refused.header("patchdeck-gateway"), Some("degraded"));
    let health = reqwest::get(format!("{}/v1/health", second.url))
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(health["degraded"], true);
    assert!(
        health["reason"].as_str().unwrap().contains("read-only"),
        "{health}"
    );
    let ring = get(&second.url, ALICE, "/v1/rings/pilot").await;
    assert_eq!(ring.body["state"], "paused", "nothing was done");
    assert_eq!(ring.header("patchdeck-gateway"), Some("degraded"));
}
