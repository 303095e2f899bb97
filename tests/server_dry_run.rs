//! `?dry_run=true` over HTTP on 127.0.0.1: the answer is the plan; nothing is acted on
//! (no action, no event, the Idempotency-Key stays unused), the role is still needed,
//! the body is still checked, and If-Match may be absent.

mod server_support;

use patchdeck::api::wire::ProblemType;
use patchdeck::backend::Backend;
use patchdeck::model::ActionPlan;
use patchdeck::sim::Scenario;
use reqwest::{Method, StatusCode};
use serde_json::json;

use server_support::{Fleet, expect_problem, within};

async fn dry_run(fleet: &Fleet, who: &str, path: &str, key: Option<&str>) -> reqwest::Response {
    let mut request = fleet
        .request(who, Method::POST, &format!("{path}?dry_run=true"))
        .json(&json!({}));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    within("the dry run's answer", request.send())
        .await
        .expect("an answer")
}

#[tokio::test]
async fn a_dry_run_answers_the_plan_and_acts_on_nothing() {
    let fleet = Fleet::start(300, Scenario::PatchTuesday).await;
    let deployment = fleet.sim.deployments().items[1].clone();
    let path = format!("/v1/deployments/{}/halt", deployment.id);
    let before = (fleet.sim.sequence(), fleet.actions().await.len());

    // No If-Match, no reason: still a plan (the reason is a note of it).
    let answer = dry_run(&fleet, "alice", &path, Some("key-1")).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.headers().get("cache-control").unwrap(),
        "no-store",
        "a plan is not cached"
    );
    let plan: ActionPlan = within("the plan", answer.json()).await.expect("a plan");
    assert_eq!(plan.target.id, deployment.id);
    assert_eq!(plan.target_version, deployment.version);
    assert_eq!(plan.needs, ["reason", "ticket"]);
    assert_eq!(
        (fleet.sim.sequence(), fleet.actions().await.len()),
        before,
        "no event, no action"
    );
    assert_eq!(
        fleet.sim.deployment(&deployment.id).unwrap().state,
        deployment.state
    );

    // The key is not consumed: the real halt with that key (another body) acts.
    let real = within(
        "the halt",
        fleet
            .request("alice", Method::POST, &path)
            .header("Idempotency-Key", "key-1")
            .header("If-Match", "*")
            .json(&json!({"reason": "bad patch", "ticket": "CHG-9"}))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(real.status(), StatusCode::OK);
    assert_eq!(fleet.actions().await.len(), before.1 + 1);

    // The role is needed as for the action.
    let refused = dry_run(&fleet, "oscar", &path, None).await;
    expect_problem(refused, ProblemType::Forbidden).await;
    // The body is checked as for the action.
    let bad = within(
        "a bad body",
        fleet
            .request("alice", Method::POST, &format!("{path}?dry_run=true"))
            .json(&json!({"reasons": "typo"}))
            .send(),
    )
    .await
    .unwrap();
    expect_problem(bad, ProblemType::Invalid).await;
    // A dry run's refusals are the action's: halting it again is a conflict.
    let again = dry_run(&fleet, "alice", &path, None).await;
    expect_problem(again, ProblemType::Conflict).await;
    let malformed = within(
        "dry_run=maybe",
        fleet
            .request("alice", Method::POST, &format!("{path}?dry_run=maybe"))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        fleet.actions().await.len(),
        before.1 + 1,
        "dry runs act on nothing"
    );
}
