//! Exceptions over a real listener on 127.0.0.1: exclude with its terms, renew and
//! revoke, by role; the cap and every refusal say what is wrong; each attempt is in
//! the audit trail; `GET /v1/exceptions` lists them, soonest expiry first.

mod server_support;

use patchdeck::api::server::ServerOptions;
use patchdeck::api::wire::ProblemType;
use patchdeck::backend::{Backend, HostQuery};
use patchdeck::model::{ExceptionPolicy, HostState};
use patchdeck::sim::Scenario;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server_support::{Fleet, config, expect_problem};

async fn start(max_days: u32) -> Fleet {
    Fleet::start_options(config(400, Scenario::PatchTuesday), |options| {
        ServerOptions {
            exceptions: ExceptionPolicy { max_days },
            ..options
        }
    })
    .await
}

/// A pending host of a wave without an exception.
fn pending_host(fleet: &Fleet) -> String {
    fleet
        .sim
        .hosts(&HostQuery {
            ring: Some("wave-2".into()),
            state: Some(HostState::Pending),
            limit: 1000,
            ..HostQuery::default()
        })
        .items
        .into_iter()
        .find(|h| h.exception.is_none())
        .expect("a pending host")
        .id
        .to_string()
}

fn terms(expires: &str) -> Value {
    json!({
        "reason": "imaging viewer validated on last month's build only",
        "ticket": "CHG-41001",
        "owner": "imaging@contoso.example",
        "compensating_control": "kiosk mode, network restricted to the PACS servers",
        "expires": expires,
    })
}

async fn detail(response: reqwest::Response, kind: ProblemType) -> String {
    expect_problem(response, kind)
        .await
        .detail
        .unwrap_or_default()
}

#[tokio::test]
async fn exclude_renew_and_revoke_by_role_with_their_terms() {
    let fleet = start(90).await;
    let host = pending_host(&fleet);
    let exclude = format!("/v1/hosts/{host}/exclude");
    // A viewer may not; an operator may.
    let refused = fleet.post_any_version("vera", &exclude, terms("30")).await;
    expect_problem(refused, ProblemType::Forbidden).await;
    let done = fleet.post_any_version("oscar", &exclude, terms("30")).await;
    assert_eq!(done.status(), StatusCode::OK);
    let action: Value = done.json().await.unwrap();
    assert_eq!(action["verb"], "exclude");
    let listed = fleet.get_json("vera", &format!("/v1/hosts/{host}")).await;
    let e = &listed["exception"];
    assert_eq!(e["owner"], "imaging@contoso.example");
    assert_eq!(e["granted_by"], "oscar");
    assert_eq!(listed["state"], "excluded");
    // Renew to a date, within the cap; the renewal is kept.
    let renew = format!("/v1/hosts/{host}/renew");
    let renewal =
        json!({"reason": "vendor fix slipped", "ticket": "CHG-41002", "expires": "2026-12-20"});
    let viewer = fleet
        .post_any_version("vera", &renew, renewal.clone())
        .await;
    expect_problem(viewer, ProblemType::Forbidden).await;
    let done = fleet.post_any_version("oscar", &renew, renewal).await;
    assert_eq!(done.status(), StatusCode::OK);
    let listed = fleet.get_json("vera", &format!("/v1/hosts/{host}")).await;
    assert_eq!(listed["exception"]["expires_at"], "2026-12-20T00:00:00Z");
    assert_eq!(listed["exception"]["renewals"][0]["by"], "oscar");
    assert_eq!(listed["exception"]["renewals"][0]["ticket"], "CHG-41002");
    // Revoke: back in the queue, no exception.
    let revoke = format!("/v1/hosts/{host}/revoke");
    let why = json!({"reason": "vendor fix installed", "ticket": "CHG-41003"});
    let done = fleet.post_any_version("oscar", &revoke, why.clone()).await;
    assert_eq!(done.status(), StatusCode::OK);
    let listed = fleet.get_json("vera", &format!("/v1/hosts/{host}")).await;
    assert_eq!(listed["exception"], Value::Null);
    assert_eq!(listed["state"], "pending");
    let again = fleet.post_any_version("oscar", &revoke, why).await;
    let words = detail(again, ProblemType::Conflict).await;
    assert!(words.contains("no exception to revoke"), "{words}");
}

#[tokio::test]
async fn the_cap_and_the_terms_are_refused_with_what_is_wrong() {
    let fleet = start(30).await;
    let host = pending_host(&fleet);
    let exclude = format!("/v1/hosts/{host}/exclude");
    let over = fleet.post_any_version("oscar", &exclude, terms("45")).await;
    let words = detail(over, ProblemType::Invalid).await;
    assert!(words.contains("at most 30 days"), "{words}");
    let over = fleet
        .post_any_version("oscar", &exclude, terms("2027-09-01"))
        .await;
    let words = detail(over, ProblemType::Invalid).await;
    assert!(words.contains("beyond the cap"), "{words}");
    let unread = fleet
        .post_any_version("oscar", &exclude, terms("soon"))
        .await;
    let words = detail(unread, ProblemType::Invalid).await;
    assert!(words.contains("give days (30) or a date"), "{words}");
    let mut bare = terms("10");
    bare["compensating_control"] = Value::Null;
    let words = detail(
        fleet.post_any_version("oscar", &exclude, bare).await,
        ProblemType::Invalid,
    )
    .await;
    assert!(words.contains("needs a compensating control"), "{words}");
    // Terms on a verb that takes none; owner on a renewal.
    let retry = json!({"expires": "10"});
    let words = detail(
        fleet
            .post_any_version("oscar", &format!("/v1/hosts/{host}/retry"), retry)
            .await,
        ProblemType::Invalid,
    )
    .await;
    assert!(words.contains("is for exclude and renew"), "{words}");
    let renew = json!({"reason": "r", "ticket": "t", "expires": "10", "owner": "someone"});
    let words = detail(
        fleet
            .post_any_version("oscar", &format!("/v1/hosts/{host}/renew"), renew)
            .await,
        ProblemType::Invalid,
    )
    .await;
    assert!(words.contains("revoke and exclude again"), "{words}");
    let renew = json!({"reason": "r", "ticket": "t", "expires": "10"});
    let words = detail(
        fleet
            .post_any_version("oscar", &format!("/v1/hosts/{host}/renew"), renew)
            .await,
        ProblemType::Conflict,
    )
    .await;
    assert!(words.contains("no exception to renew"), "{words}");
    // The dry run of an over-cap exclude is refused the same way.
    let plan = fleet
        .request(
            "oscar",
            reqwest::Method::POST,
            &format!("{exclude}?dry_run=true"),
        )
        .json(&terms("45"))
        .send()
        .await
        .unwrap();
    assert!(
        detail(plan, ProblemType::Invalid)
            .await
            .contains("at most 30 days")
    );
    // Within the cap it is done.
    let done = fleet.post_any_version("oscar", &exclude, terms("30")).await;
    assert_eq!(done.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_attempt_is_in_the_audit_trail() {
    let fleet = start(90).await;
    let host = pending_host(&fleet);
    let exclude = format!("/v1/hosts/{host}/exclude");
    fleet
        .post_any_version("oscar", &exclude, terms("400"))
        .await;
    fleet.post_any_version("oscar", &exclude, terms("20")).await;
    fleet
        .post_any_version(
            "oscar",
            &format!("/v1/hosts/{host}/revoke"),
            json!({"reason": "done", "ticket": "CHG-41009"}),
        )
        .await;
    let trail = fleet.get_json("alice", "/v1/audit?limit=1000").await;
    let rows: Vec<(String, u64)> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["target"]["id"] == host.as_str())
        .map(|r| {
            (
                r["verb"].as_str().unwrap().to_string(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("exclude".to_string(), 422),
            ("exclude".to_string(), 200),
            ("revoke".to_string(), 200)
        ]
    );
}

#[tokio::test]
async fn exceptions_are_listed_soonest_expiry_first() {
    let fleet = start(90).await;
    let list = fleet.get_json("vera", "/v1/exceptions").await;
    let items = list["items"].as_array().unwrap();
    assert!(items.len() >= 3, "the story has exceptions");
    let expiries: Vec<&str> = items
        .iter()
        .map(|i| i["exception"]["expires_at"].as_str().unwrap())
        .collect();
    let mut sorted = expiries.clone();
    sorted.sort_unstable();
    assert_eq!(expiries, sorted);
    assert_eq!(list["next_cursor"], Value::Null);
    let expired = fleet
        .get_json("vera", "/v1/exceptions?standing=expired")
        .await;
    let expired = expired["items"].as_array().unwrap();
    assert!(!expired.is_empty());
    assert!(expired.iter().all(|i| i["standing"] == "expired"));
    let near = fleet
        .get_json("vera", "/v1/exceptions?standing=near-expiry")
        .await;
    assert!(!near["items"].as_array().unwrap().is_empty());
    let bad = fleet.get("vera", "/v1/exceptions?standing=later").await;
    let words = detail(bad, ProblemType::Malformed).await;
    assert!(
        words.contains("one of expired, near-expiry, in-force"),
        "{words}"
    );
    // One more, for one patch: listed with its patch.
    let host = pending_host(&fleet);
    let patch = fleet.sim.patches().items[0].id.clone();
    let mut one = terms("10");
    one["patch_id"] = json!(patch);
    let done = fleet
        .post_any_version("oscar", &format!("/v1/hosts/{host}/exclude"), one)
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let list = fleet.get_json("vera", "/v1/exceptions").await;
    let mine = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["host_id"] == host.as_str())
        .expect("listed")
        .clone();
    assert_eq!(mine["exception"]["patch_id"], json!(patch));
    assert_eq!(mine["host_state"], "pending");
}
