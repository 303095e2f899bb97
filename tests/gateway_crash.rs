//! `patchdeck serve --store sqlite:PATH` killed with SIGKILL and started again on the
//! same store: the audit trail, the pending first approval of a two-person request, the
//! ring's state, an idempotent action's answer (replayed, not acted again) and the
//! event ids a console resumes from are all still there. Killed between journaling an
//! action and storing its answer, the restarted gateway answers the retry from the
//! journal.

#![cfg(unix)]

mod e2e_support;
mod gateway_support;

use e2e_support::Scratch;
use gateway_support::{
    ALICE, BOB, Gateway, events, get, on_sqlite, post, sequence, sqlite_url, try_post,
};
use patchdeck::store::{AnyStore, Store};
use serde_json::json;

#[tokio::test]
async fn a_killed_gateway_comes_back_with_everything_it_acknowledged() {
    let home = Scratch::new("gateway-crash");
    let args = on_sqlite(
        &home,
        &[
            "--hosts",
            "300",
            "--speed",
            "600",
            "--gateway-id",
            "gw-crash",
        ],
    );

    let first = Gateway::start(&home, &args);
    assert!(
        first.store_line().contains("replayed 0 journal entries"),
        "a new store: {:?}",
        first.stdout.seen
    );
    let url = first.url.clone();
    // The fleet clock runs until the gate to the first production ring waits.
    let deadline = std::time::Instant::now() + e2e_support::PATIENCE;
    while get(&url, ALICE, "/v1/deployments/dep-0002").await.body["state"] != "awaiting-approval" {
        assert!(
            std::time::Instant::now() < deadline,
            "dep-0002 never awaited approval"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A ring paused, the first half of a two-person approval, an idempotent halt.
    let paused = post(
        &url,
        ALICE,
        "/v1/rings/servers-nonprod/pause",
        None,
        json!({}),
    )
    .await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    let first_half = post(
        &url,
        ALICE,
        "/v1/deployments/dep-0002/approve",
        None,
        json!({}),
    )
    .await;
    assert_eq!(
        first_half.body["state"], "awaiting-second-approver",
        "{} {:?}",
        first_half.status, first_half.headers
    );
    let halt_body = json!({"reason": "bad patch on servers", "ticket": "CHG-7"});
    let halted = post(
        &url,
        ALICE,
        "/v1/deployments/dep-0003/halt",
        Some("halt-once-7"),
        halt_body.clone(),
    )
    .await;
    assert_eq!(halted.status, 200, "{}", halted.body);
    assert_eq!(halted.header("idempotent-replayed"), None);
    let refused = post(
        &url,
        "not-a-token",
        "/v1/rings/pilot/pause",
        None,
        json!({}),
    )
    .await;
    assert_eq!(refused.status, 401);
    let actions_before = get(&url, ALICE, "/v1/actions").await.body["items"].clone();
    // Halting the deployment halted its ring, which was paused.
    let ring_before = get(&url, ALICE, "/v1/rings/servers-nonprod").await.body["state"].clone();
    assert_eq!(ring_before, "halted");
    let last = sequence(&url).await;
    assert!(last >= 3, "the actions made events: {last}");
    let events_before = events(&url, 0, last).await;

    first.kill_9();

    let second = Gateway::start(&home, &args);
    assert!(
        second.store_line().contains("(3 actions)"),
        "the journal is replayed: {:?}",
        second.stdout.seen
    );
    let url = second.url.clone();
    // The audit of actions (as the fleet keeps it) is the same.
    let actions = |items: &serde_json::Value| -> Vec<(String, String, String)> {
        items
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["by"] != "system")
            .map(|a| {
                (
                    a["id"].to_string(),
                    a["verb"].to_string(),
                    a["by"].to_string(),
                )
            })
            .collect()
    };
    let before = actions(&actions_before);
    assert_eq!(before.len(), 3);
    assert_eq!(
        actions(&get(&url, ALICE, "/v1/actions").await.body["items"]),
        before
    );
    // The ring is still halted, the first approval still pending.
    let ring = get(&url, ALICE, "/v1/rings/servers-nonprod").await;
    assert_eq!(ring.body["state"], ring_before);
    let deployment = get(&url, ALICE, "/v1/deployments/dep-0002").await;
    assert_eq!(
        deployment.body["pending_approval"]["first_approver"], "alice",
        "{}",
        deployment.body
    );
    // The retried halt gets the first answer and does not act again.
    let again = post(
        &url,
        ALICE,
        "/v1/deployments/dep-0003/halt",
        Some("halt-once-7"),
        halt_body,
    )
    .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, halted.body);
    assert_eq!(
        actions(&get(&url, ALICE, "/v1/actions").await.body["items"]),
        before,
        "nothing was acted twice"
    );
    // A console that was open resumes from its last event id: same ids, same events.
    assert!(sequence(&url).await >= last, "no event was lost");
    let resumed = events(&url, last - 2, last).await;
    assert_eq!(resumed, events_before[events_before.len() - 2..].to_vec());
    assert_eq!(events(&url, 0, last).await, events_before);
    // The second approver, after the restart, completes the two-person approval.
    let second_half = post(
        &url,
        BOB,
        "/v1/deployments/dep-0002/approve",
        None,
        json!({}),
    )
    .await;
    assert_eq!(
        second_half.body["state"], "succeeded",
        "{}",
        second_half.body
    );
    let status = second.stop();
    assert!(status.success(), "{status:?}");

    // The store's audit trail has every attempt, the refusal too, once each.
    let store = AnyStore::open_url(Some(&sqlite_url(&home)))
        .await
        .expect("the store opens");
    let audit = store.audit_after(0, 100).await.unwrap();
    let rows: Vec<(String, String, String, u16)> = audit
        .iter()
        .map(|a| {
            (
                a.entry.identity.clone(),
                a.entry.verb.clone(),
                a.entry.target.id.clone(),
                a.entry.status,
            )
        })
        .collect();
    let row = |who: &str, verb: &str, id: &str, status: u16| {
        (who.to_string(), verb.to_string(), id.to_string(), status)
    };
    assert_eq!(
        rows,
        vec![
            row("alice", "pause", "servers-nonprod", 200),
            row("alice", "approve", "dep-0002", 200),
            row("alice", "halt", "dep-0003", 200),
            row("", "pause", "pilot", 401),
            row("alice", "halt", "dep-0003", 200),
            row("bob", "approve", "dep-0002", 200),
        ]
    );
    assert!(
        audit
            .iter()
            .all(|a| a.entry.gateway.as_deref() == Some("gw-crash"))
    );
    let stored = store.actions().await.unwrap();
    assert_eq!(stored.iter().filter(|a| a.by != "system").count(), 4);
}

/// Killed between writing the journal (and acting) and storing the answer: the retry
/// with the same Idempotency-Key, after the restart, gets the answer from the journal,
/// and the halt happened once.
#[tokio::test]
async fn a_gateway_killed_before_its_answer_was_stored_answers_from_the_journal() {
    let home = Scratch::new("gateway-crash-answer");
    let args = on_sqlite(
        &home,
        &["--hosts", "300", "--speed", "0", "--gateway-id", "gw-crash"],
    );
    let mut aborting = args.clone();
    aborting.push("--fault-abort-after-act".into());
    let first = Gateway::start(&home, &aborting);
    let url = first.url.clone();
    let body = json!({"reason": "bad patch on servers", "ticket": "CHG-8"});
    let path = "/v1/deployments/dep-0003/halt";
    // An action without a key is answered as usual.
    let paused = post(&url, ALICE, "/v1/rings/pilot/pause", None, json!({})).await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    let lost = try_post(&url, ALICE, path, Some("halt-once-8"), body.clone()).await;
    assert!(lost.is_err(), "the gateway died before answering");
    let status = first.wait_exit();
    assert!(!status.success(), "aborted: {status:?}");

    let second = Gateway::start(&home, &args);
    assert!(
        second.store_line().contains("(2 actions)"),
        "{:?}",
        second.stdout.seen
    );
    assert!(
        second
            .stdout
            .seen
            .iter()
            .any(|line| line.contains("1 answered, 0 released")),
        "the key in flight is answered from the journal: {:?}",
        second.stdout.seen
    );
    let url = second.url.clone();
    let again = post(&url, ALICE, path, Some("halt-once-8"), body).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["verb"], "halt", "{}", again.body);
    assert_eq!(again.body["by"], "alice");
    assert_eq!(again.body["target"]["id"], "dep-0003");
    let actions = get(&url, ALICE, "/v1/actions").await.body["items"].clone();
    let halts: Vec<_> = actions
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["verb"] == "halt")
        .collect();
    assert_eq!(halts.len(), 1, "halted once: {actions}");
    assert_eq!(halts[0]["id"], again.body["id"]);
    let deployment = get(&url, ALICE, "/v1/deployments/dep-0003").await;
    assert_eq!(deployment.body["state"], "halted", "{}", deployment.body);
    assert!(second.stop().success());

    // The attempt the crash cut off before its audit row has one, written when its key
    // was settled at the restart; the replayed retry has its own.
    let store = AnyStore::open_url(Some(&sqlite_url(&home)))
        .await
        .expect("the store opens");
    let halts: Vec<(Option<String>, u16, Option<String>)> = store
        .audit_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.entry.verb == "halt")
        .map(|a| (a.entry.idempotency_key, a.entry.status, a.entry.action_id))
        .collect();
    let halted = again.body["id"].as_str().map(str::to_string);
    assert_eq!(
        halts,
        vec![
            (Some("halt-once-8".to_string()), 200, halted.clone()),
            (Some("halt-once-8".to_string()), 200, halted),
        ],
        "the cut-off attempt and the retry"
    );
}
