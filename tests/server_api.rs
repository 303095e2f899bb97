//! API v1 over a real listener on 127.0.0.1: paging, auth and roles, ETag/If-Match,
//! Idempotency-Key, problem+json, reason and ticket, the two-person rule, faults.

mod server_support;

use std::collections::HashSet;
use std::time::Duration;

use patchdeck::api::server::{Faults, REPLAYED_HEADER};
use patchdeck::api::wire::ProblemType;
use patchdeck::sim::Scenario;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server_support::{Fleet, config, expect_problem};

#[tokio::test]
async fn paging_walks_every_host_exactly_once() {
    let fleet = Fleet::start(1000, Scenario::PatchTuesday).await;
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/hosts?limit=37&cursor={cursor}"),
            None => "/v1/hosts?limit=37".to_string(),
        };
        let page = fleet.get_json("vera", &path).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 37);
        seen.extend(items.iter().map(|h| h["id"].as_str().unwrap().to_string()));
        pages += 1;
        assert!(page["sequence"].is_u64());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(pages < 100, "paging does not end");
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 1000, "every host once");
    assert_eq!(unique.len(), 1000, "no duplicates");
    assert_eq!(pages, 28, "ceil(1000 / 37) pages");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "hosts come in id order");
}

#[tokio::test]
async fn lists_have_a_default_and_a_maximum_page_size() {
    let fleet = Fleet::start(1500, Scenario::PatchTuesday).await;
    let page = fleet.get_json("vera", "/v1/hosts").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 100);
    let page = fleet.get_json("vera", "/v1/hosts?limit=5000").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1000);
    assert!(page["next_cursor"].is_string());
    expect_problem(
        fleet.get("vera", "/v1/hosts?limit=0").await,
        ProblemType::Malformed,
    )
    .await;
}

#[tokio::test]
async fn small_lists_page_in_memory_with_cursors() {
    let fleet = Fleet::start(200, Scenario::PatchTuesday).await;
    let all = fleet.get_json("vera", "/v1/rings").await;
    let all_ids: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(all_ids.len() >= 3, "rings: {all_ids:?}");
    assert!(all["next_cursor"].is_null());

    let mut walked = Vec::new();
    let mut path = "/v1/rings?limit=2".to_string();
    for pages in 1.. {
        assert!(pages <= all_ids.len(), "paging does not end");
        let page = fleet.get_json("vera", &path).await;
        for ring in page["items"].as_array().unwrap() {
            walked.push(ring["id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/rings?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(walked, all_ids);
}

#[tokio::test]
async fn garbage_and_foreign_cursors_are_refused() {
    let fleet = Fleet::start(100, Scenario::PatchTuesday).await;
    let problem = expect_problem(
        fleet.get("vera", "/v1/hosts?cursor=not-a-cursor").await,
        ProblemType::Malformed,
    )
    .await;
    assert!(problem.detail.unwrap().contains("cursor"));
    let page = fleet.get_json("vera", "/v1/hosts?limit=10").await;
    let host_cursor = page["next_cursor"].as_str().unwrap();
    expect_problem(
        fleet
            .get("vera", &format!("/v1/rings?cursor={host_cursor}"))
            .await,
        ProblemType::Malformed,
    )
    .await;
    expect_problem(
        fleet.get("vera", "/v1/hosts?state=exploded").await,
        ProblemType::Malformed,
    )
    .await;
}

#[tokio::test]
async fn missing_or_unknown_tokens_get_401_with_www_authenticate() {
    let fleet = Fleet::start(50, Scenario::PatchTuesday).await;
    let anonymous = fleet
        .http
        .get(fleet.url("/v1/summary"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .split(' ')
            .next(),
        Some("Bearer")
    );
    expect_problem(anonymous, ProblemType::Unauthorized).await;

    let wrong = fleet
        .http
        .get(fleet.url("/v1/summary"))
        .bearer_auth("not-a-token-of-this-server")
        .send()
        .await
        .unwrap();
    let problem = expect_problem(wrong, ProblemType::Unauthorized).await;
    assert!(
        !serde_json::to_string(&problem)
            .unwrap()
            .contains("not-a-token"),
        "the token is never echoed"
    );

    // Unknown paths ask for a token too (nothing is learned without one)...
    let unknown = fleet
        .http
        .get(fleet.url("/v1/nothing"))
        .send()
        .await
        .unwrap();
    expect_problem(unknown, ProblemType::Unauthorized).await;
    // ...and are a not-found problem with one.
    expect_problem(
        fleet.get("vera", "/v1/nothing").await,
        ProblemType::NotFound,
    )
    .await;
}

#[tokio::test]
async fn me_names_the_identity_and_role() {
    let fleet = Fleet::start(50, Scenario::PatchTuesday).await;
    assert_eq!(
        fleet.get_json("oscar", "/v1/me").await,
        json!({"name": "oscar", "role": "operator", "person": "oscar"})
    );
    assert_eq!(
        fleet.get_json("bob", "/v1/me").await,
        json!({"name": "bob", "role": "approver", "person": "bob"})
    );
}

/// A ring that can be paused now (deploying or soaking).
async fn active_ring(fleet: &Fleet) -> Value {
    let rings = fleet.get_json("vera", "/v1/rings").await;
    rings["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["state"] == "deploying" || r["state"] == "soaking")
        .expect("a deploying or soaking ring")
        .clone()
}

/// The pause actions in the audit trail.
async fn pauses(fleet: &Fleet) -> Vec<Value> {
    fleet
        .actions()
        .await
        .into_iter()
        .filter(|a| a["verb"] == "pause")
        .collect()
}

/// The first deployment in the list.
async fn first_deployment(fleet: &Fleet) -> Value {
    let list = fleet.get_json("vera", "/v1/deployments").await;
    list["items"][0].clone()
}

#[tokio::test]
async fn roles_are_enforced_with_403_naming_the_role_needed() {
    let fleet = Fleet::start(200, Scenario::PatchTuesday).await;
    let deployment = first_deployment(&fleet).await;
    let id = deployment["id"].as_str().unwrap();
    let before = fleet.actions().await.len();

    let problem = expect_problem(
        fleet
            .post("vera", &format!("/v1/deployments/{id}/approve"), json!({}))
            .await,
        ProblemType::Forbidden,
    )
    .await;
    assert!(problem.detail.unwrap().contains("approver"));

    let problem = expect_problem(
        fleet
            .post(
                "oscar",
                &format!("/v1/deployments/{id}/halt"),
                json!({"reason": "smoke", "ticket": "CHG-1"}),
            )
            .await,
        ProblemType::Forbidden,
    )
    .await;
    assert!(problem.detail.unwrap().contains("approver"));

    let ring = active_ring(&fleet).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    expect_problem(
        fleet
            .post("vera", &format!("/v1/rings/{ring}/pause"), json!({}))
            .await,
        ProblemType::Forbidden,
    )
    .await;
    assert_eq!(fleet.actions().await.len(), before, "nothing was done");
}

#[tokio::test]
async fn resources_carry_their_version_as_etag_and_answer_304() {
    let fleet = Fleet::start(100, Scenario::PatchTuesday).await;
    let ring = fleet.get_json("vera", "/v1/rings").await["items"][0].clone();
    let id = ring["id"].as_str().unwrap();
    let response = fleet.get("vera", &format!("/v1/rings/{id}")).await;
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", ring["version"]));
    let again = fleet
        .request("vera", Method::GET, &format!("/v1/rings/{id}"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    expect_problem(
        fleet.get("vera", "/v1/rings/no-such-ring").await,
        ProblemType::NotFound,
    )
    .await;
}

#[tokio::test]
async fn acting_on_a_stale_version_is_412_with_the_current_version() {
    let fleet = Fleet::start(200, Scenario::PatchTuesday).await;
    let ring = active_ring(&fleet).await;
    let id = ring["id"].as_str().unwrap();
    let seen = ring["version"].as_u64().unwrap();

    let paused = fleet
        .request("oscar", Method::POST, &format!("/v1/rings/{id}/pause"))
        .header("If-Match", format!("\"{seen}\""))
        .json(&json!({"reason": "checking a report"}))
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), StatusCode::OK);
    let current = fleet.get_json("vera", &format!("/v1/rings/{id}")).await["version"]
        .as_u64()
        .unwrap();
    assert!(current > seen);

    // Acting again on what the operator saw before the pause is refused.
    let stale = fleet
        .request("oscar", Method::POST, &format!("/v1/rings/{id}/resume"))
        .header("If-Match", seen.to_string())
        .send()
        .await
        .unwrap();
    let problem = expect_problem(stale, ProblemType::VersionMismatch).await;
    assert_eq!(problem.current_version, Some(current));
    expect_problem(
        fleet
            .request("oscar", Method::POST, &format!("/v1/rings/{id}/resume"))
            .header("If-Match", "yesterday")
            .send()
            .await
            .unwrap(),
        ProblemType::Malformed,
    )
    .await;
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_first_answer_and_acts_once() {
    let fleet = Fleet::start(200, Scenario::PatchTuesday).await;
    let ring = active_ring(&fleet).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pause = |body: Value| {
        fleet
            .request("oscar", Method::POST, &format!("/v1/rings/{ring}/pause"))
            .header("Idempotency-Key", "7d3f-pause-ring")
            .json(&body)
    };
    let first = pause(json!({"reason": "night shift"}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.headers().get(REPLAYED_HEADER).is_none());
    let first_body = first.text().await.unwrap();

    let second = pause(json!({"reason": "night shift"}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(second.headers()[REPLAYED_HEADER], "true");
    assert_eq!(second.text().await.unwrap(), first_body);

    let pauses = pauses(&fleet).await;
    assert_eq!(pauses.len(), 1, "acted once: {pauses:?}");

    expect_problem(
        pause(json!({"reason": "another reason"}))
            .send()
            .await
            .unwrap(),
        ProblemType::IdempotencyKeyReused,
    )
    .await;
}

#[tokio::test]
async fn concurrent_requests_with_one_key_act_once() {
    let fleet = Fleet::start(200, Scenario::PatchTuesday).await;
    let ring = active_ring(&fleet).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let send = || {
        fleet
            .request("oscar", Method::POST, &format!("/v1/rings/{ring}/pause"))
            .header("Idempotency-Key", "same-key-twice-at-once")
            .send()
    };
    let (a, b, c) = tokio::join!(send(), send(), send());
    let mut bodies = Vec::new();
    for response in [a, b, c] {
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        bodies.push(response.text().await.unwrap());
    }
    assert!(bodies.iter().all(|body| *body == bodies[0]), "{bodies:?}");
    assert_eq!(pauses(&fleet).await.len(), 1);
}

#[tokio::test]
async fn halt_rollback_exclude_and_emergency_need_reason_and_ticket() {
    let fleet = Fleet::start(200, Scenario::PatchTuesday).await;
    let deployment = first_deployment(&fleet).await;
    let id = deployment["id"].as_str().unwrap();
    let host = fleet.get_json("vera", "/v1/hosts?limit=1").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = fleet.actions().await.len();
    let cases = [
        (
            "alice",
            format!("/v1/deployments/{id}/halt"),
            json!({"reason": "bad"}),
        ),
        (
            "alice",
            format!("/v1/deployments/{id}/rollback"),
            json!({"ticket": "CHG-1"}),
        ),
        ("oscar", format!("/v1/hosts/{host}/exclude"), json!({})),
        (
            "alice",
            "/v1/emergency".to_string(),
            json!({"cve": "CVE-2026-0001"}),
        ),
    ];
    for (who, path, body) in cases {
        let problem =
            expect_problem(fleet.post(who, &path, body).await, ProblemType::Invalid).await;
        let detail = problem.detail.unwrap();
        assert!(detail.contains("reason and a ticket"), "{path}: {detail}");
    }
    assert_eq!(fleet.actions().await.len(), before, "nothing was done");
}

#[tokio::test]
async fn unknown_targets_verbs_and_bodies_are_problems() {
    let fleet = Fleet::start(100, Scenario::PatchTuesday).await;
    expect_problem(
        fleet
            .post("oscar", "/v1/rings/no-such-ring/pause", json!({}))
            .await,
        ProblemType::NotFound,
    )
    .await;
    let ring = fleet.get_json("vera", "/v1/rings").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    expect_problem(
        fleet
            .post("alice", &format!("/v1/rings/{ring}/approve"), json!({}))
            .await,
        ProblemType::NotFound,
    )
    .await;
    expect_problem(
        fleet
            .request("oscar", Method::POST, &format!("/v1/rings/{ring}/pause"))
            .header("content-type", "application/json")
            .body("{\"reason\": ")
            .send()
            .await
            .unwrap(),
        ProblemType::Malformed,
    )
    .await;
    let wrong_method = fleet
        .request("vera", Method::DELETE, "/v1/rings")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        wrong_method.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn every_problem_type_has_a_distinct_stable_uri() {
    let uris: HashSet<&str> = ProblemType::ALL.iter().map(|t| t.uri()).collect();
    assert_eq!(uris.len(), ProblemType::ALL.len());
    assert!(uris.iter().all(|u| u.starts_with("urn:patchdeck:problem:")));
}

#[tokio::test]
async fn throttle_faults_answer_429_with_retry_after_then_serve() {
    let faults = Faults {
        throttle_first: 2,
        retry_after_secs: 3,
        ..Faults::default()
    };
    let fleet = Fleet::start_with(config(50, Scenario::PatchTuesday), faults).await;
    for _ in 0..2 {
        let response = fleet.get("vera", "/v1/summary").await;
        assert_eq!(response.headers()["retry-after"], "3");
        expect_problem(response, ProblemType::RateLimited).await;
    }
    assert_eq!(
        fleet.get("vera", "/v1/summary").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn unavailable_and_malformed_faults() {
    let faults = Faults {
        throttle_every: 3,
        unavailable: true,
        retry_after_secs: 1,
        malformed_every: 2,
        ..Faults::default()
    };
    let fleet = Fleet::start_with(config(50, Scenario::PatchTuesday), faults).await;
    // Request 1: fine. 2: truncated body. 3: 503.
    let first = fleet.get("vera", "/v1/summary").await;
    assert!(first.json::<Value>().await.is_ok());
    let second = fleet.get("vera", "/v1/summary").await;
    assert_eq!(second.status(), StatusCode::OK);
    assert!(second.json::<Value>().await.is_err(), "body is malformed");
    let third = fleet.get("vera", "/v1/summary").await;
    assert_eq!(third.headers()["retry-after"], "1");
    expect_problem(third, ProblemType::Unavailable).await;
}

#[tokio::test]
async fn latency_fault_delays_answers() {
    let faults = Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    };
    let fleet = Fleet::start_with(config(50, Scenario::PatchTuesday), faults).await;
    let started = std::time::Instant::now();
    assert_eq!(fleet.get("vera", "/v1/me").await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

/// Advances the fleet hour by hour until a deployment waits for approval to open a
/// production ring; returns its id.
fn deployment_awaiting_production_approval(fleet: &Fleet) -> String {
    use patchdeck::backend::Backend;
    use patchdeck::model::DeploymentState;
    for _ in 0..24 * 30 {
        let production: Vec<String> = fleet
            .sim
            .rings()
            .items
            .into_iter()
            .filter(|r| r.production)
            .map(|r| r.id)
            .collect();
        let waiting = fleet.sim.deployments().items.into_iter().find(|d| {
            d.state == DeploymentState::AwaitingApproval
                && d.next_ring.as_ref().is_some_and(|n| production.contains(n))
        });
        if let Some(deployment) = waiting {
            return deployment.id;
        }
        fleet.sim.advance(3600);
    }
    panic!("no deployment reached a production gate in 30 simulated days");
}

#[tokio::test]
async fn production_rings_need_two_different_approvers() {
    let fleet = Fleet::start(300, Scenario::PatchTuesday).await;
    let id = deployment_awaiting_production_approval(&fleet);
    let approve = format!("/v1/deployments/{id}/approve");
    let body = json!({"reason": "pilot soaked clean", "ticket": "CHG-4711"});

    let first = fleet.post("alice", &approve, body.clone()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["state"], "awaiting-second-approver");
    assert_eq!(first["by"], "alice");
    let deployment = fleet
        .get_json("vera", &format!("/v1/deployments/{id}"))
        .await;
    assert_eq!(deployment["pending_approval"]["first_approver"], "alice");
    assert_eq!(deployment["state"], "awaiting-approval", "not opened yet");

    let again = fleet.post("alice", &approve, body.clone()).await;
    let problem = expect_problem(again, ProblemType::SecondApproverRequired).await;
    assert!(problem.detail.unwrap().contains("alice"));

    let second = fleet.post("bob", &approve, body).await;
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["state"], "succeeded");
    assert_eq!(second["by"], "bob");
    let deployment = fleet
        .get_json("vera", &format!("/v1/deployments/{id}"))
        .await;
    assert_eq!(deployment["state"], "running");
    assert!(deployment["pending_approval"].is_null());
    let first_action = fleet
        .actions()
        .await
        .into_iter()
        .find(|a| a["id"] == first["id"])
        .unwrap();
    assert_eq!(
        first_action["state"], "succeeded",
        "the first approval completed"
    );
}

#[tokio::test]
async fn a_refusal_is_replayed_too_and_keys_belong_to_one_identity() {
    let fleet = Fleet::start(200, Scenario::PatchTuesday).await;
    let ring = active_ring(&fleet).await;
    let id = ring["id"].as_str().unwrap();
    let stale = ring["version"].as_u64().unwrap() + 5;
    let pause = |who: &'static str, if_match: u64| {
        fleet
            .request(who, Method::POST, &format!("/v1/rings/{id}/pause"))
            .header("Idempotency-Key", "shared-key-1")
            .header("If-Match", if_match.to_string())
            .send()
    };
    let refused = pause("oscar", stale).await.unwrap();
    assert!(refused.headers().get(REPLAYED_HEADER).is_none());
    expect_problem(refused, ProblemType::VersionMismatch).await;
    let again = pause("oscar", stale).await.unwrap();
    assert_eq!(again.headers()[REPLAYED_HEADER], "true");
    expect_problem(again, ProblemType::VersionMismatch).await;

    // Another identity's request under the same key is its own request.
    let current = ring["version"].as_u64().unwrap();
    let alice = pause("alice", current).await.unwrap();
    assert_eq!(alice.status(), StatusCode::OK);
    assert!(alice.headers().get(REPLAYED_HEADER).is_none());
    assert_eq!(pauses(&fleet).await.len(), 1);
}
