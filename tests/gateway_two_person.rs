//! The two-person emergency survives the durable gateway: `patchdeck serve --store`
//! killed with SIGKILL and started again on the same store still has the pending
//! request (the journal replays it, with the requester's person), refuses the same
//! person, and keeps the confirmer's override reason once the emergency started.

#![cfg(unix)]

mod e2e_support;
mod gateway_support;

use e2e_support::Scratch;
use gateway_support::{ALICE, BOB, Gateway, get, on_sqlite, post};
use serde_json::json;

#[tokio::test]
async fn a_pending_emergency_and_its_override_survive_a_killed_gateway() {
    let home = Scratch::new("gateway-two-person");
    let args = on_sqlite(
        &home,
        &[
            "--hosts",
            "300",
            "--scenario",
            "zero-day",
            "--speed",
            "0",
            "--gateway-id",
            "gw-two-person",
        ],
    );
    let first = Gateway::start(&home, &args);
    let url = first.url.clone();
    // A patch that fixes no exploited CVE and is still missing somewhere.
    let patches = get(&url, ALICE, "/v1/patches").await.body;
    let mut requested = None;
    for patch in patches["items"].as_array().unwrap() {
        if !patch["exploited_cves"].as_array().unwrap().is_empty() {
            continue;
        }
        let body = json!({"patch_id": patch["id"], "reason": "ship it", "ticket": "CHG-1"});
        let asked = post(&url, ALICE, "/v1/emergency", None, body.clone()).await;
        if asked.status == 200 {
            assert_eq!(asked.body["state"], "awaiting-second-approver");
            requested = Some(body);
            break;
        }
    }
    let body = requested.expect("a patch to request");
    first.kill_9();

    let second = Gateway::start(&home, &args);
    let url = second.url.clone();
    let summary = get(&url, BOB, "/v1/summary").await.body;
    let pending = &summary["pending_emergency"];
    assert_eq!(pending["requested_by"], "alice", "{summary}");
    assert!(
        pending["override_needed"]
            .as_str()
            .unwrap()
            .contains("fixes no known exploited CVE")
    );
    let again = post(&url, ALICE, "/v1/emergency", None, body.clone()).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(
        again.body["type"],
        "urn:patchdeck:problem:second-approver-required"
    );
    let refused = post(&url, BOB, "/v1/emergency", None, body.clone()).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let mut confirmed = body.clone();
    confirmed["override_reason"] = json!("CAB-991: the vendor asked us to");
    let started = post(&url, BOB, "/v1/emergency", None, confirmed).await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(started.body["state"], "succeeded");
    second.kill_9();

    let third = Gateway::start(&home, &args);
    let summary = get(&third.url, BOB, "/v1/summary").await.body;
    assert_eq!(summary["pending_emergency"], serde_json::Value::Null);
    assert_eq!(summary["emergency"]["started_by"], "alice");
    assert_eq!(summary["emergency"]["confirmed_by"], "bob");
    assert_eq!(
        summary["emergency"]["override_reason"],
        "CAB-991: the vendor asked us to"
    );
    let status = third.stop();
    assert!(status.success(), "{status:?}");
}
