//! What the server takes as input, tried as a careless or hostile caller would: bodies
//! that are not action bodies, hostile characters in reasons and tickets, oversized
//! bodies, unreadable paths, and destructive verbs without `If-Match`. Every refusal is
//! problem+json with a short detail, and nothing is done.

mod server_support;

use patchdeck::api::wire::ProblemType;
use patchdeck::sim::Scenario;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server_support::{Fleet, expect_problem, within};

/// The first deployment with a ring open, and its id and version.
async fn running_deployment(fleet: &Fleet) -> (String, u64) {
    let list = fleet.get_json("vera", "/v1/deployments").await;
    let deployment = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["state"] == "running" && d["current_ring"].is_string())
        .expect("a running deployment")
        .clone();
    (
        deployment["id"].as_str().unwrap().to_string(),
        deployment["version"].as_u64().unwrap(),
    )
}

/// POST with a raw body and optional If-Match.
async fn post_raw(
    fleet: &Fleet,
    who: &str,
    path: &str,
    body: Vec<u8>,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut request = fleet
        .request(who, Method::POST, path)
        .header("content-type", "application/json")
        .body(body);
    if let Some(version) = if_match {
        request = request.header("If-Match", version);
    }
    within(&format!("the answer to POST {path}"), request.send())
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

async fn action_count(fleet: &Fleet) -> usize {
    fleet.actions().await.len()
}

#[tokio::test]
async fn an_action_body_is_a_json_object_of_known_string_fields() {
    let fleet = Fleet::start(200, Scenario::PatchTuesday).await;
    let (id, version) = running_deployment(&fleet).await;
    let path = format!("/v1/deployments/{id}/pause");
    let before = action_count(&fleet).await;

    // An array would fill the struct's fields in order: it is refused.
    let problem = expect_problem(
        post_raw(&fleet, "alice", &path, br#"["r", "t"]"#.to_vec(), None).await,
        ProblemType::Malformed,
    )
    .await;
    let detail = problem.detail.unwrap();
    assert!(detail.contains("JSON object"), "{detail}");
    assert!(!detail.contains("ActionBody"), "internals in: {detail}");

    // Not JSON at all: where, not what serde thought.
    let problem = expect_problem(
        post_raw(&fleet, "alice", &path, b"{\"reason\": ".to_vec(), None).await,
        ProblemType::Malformed,
    )
    .await;
    assert!(problem.detail.unwrap().starts_with("the body is not JSON"));

    // An unknown field, named (cut short) and the known ones listed.
    let problem = expect_problem(
        fleet
            .post("alice", &path, json!({"reason": "r", "force": "yes"}))
            .await,
        ProblemType::Invalid,
    )
    .await;
    let detail = problem.detail.unwrap();
    assert!(detail.contains("unknown field `force`"), "{detail}");
    assert!(
        detail.contains("reason, ticket, patch_id, cve, override_reason"),
        "{detail}"
    );

    // A 64 KB field name is not echoed back.
    let long = "x".repeat(64 * 1024);
    let problem = expect_problem(
        fleet.post("alice", &path, json!({ long: "r" })).await,
        ProblemType::Invalid,
    )
    .await;
    let detail = problem.detail.unwrap();
    assert!(detail.len() < 300, "{} bytes of detail", detail.len());

    // Members hold strings.
    let problem = expect_problem(
        fleet.post("alice", &path, json!({"reason": 5})).await,
        ProblemType::Invalid,
    )
    .await;
    assert_eq!(problem.detail.as_deref(), Some("`reason` must be a string"));

    assert_eq!(action_count(&fleet).await, before, "nothing was done");
    // The same pause with a proper body acts.
    let answer = post_raw(
        &fleet,
        "alice",
        &path,
        serde_json::to_vec(&json!({"reason": "smoke", "ticket": null})).unwrap(),
        Some(&version.to_string()),
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn reasons_and_tickets_with_hidden_characters_are_refused_saying_which_and_where() {
    let fleet = Fleet::start(200, Scenario::PatchTuesday).await;
    let (id, version) = running_deployment(&fleet).await;
    let path = format!("/v1/deployments/{id}/halt");
    let before = action_count(&fleet).await;
    let cases = [
        (
            json!({"reason": "db tier\u{202e}txt", "ticket": "INC-1"}),
            "`reason` has a bidi control (U+202E) at character 8",
        ),
        (
            json!({"reason": "db tier", "ticket": "INC\u{1b}(0-1"}),
            "`ticket` has a control character (U+001B) at character 4",
        ),
        (
            json!({"reason": "al\u{200b}ice said so", "ticket": "INC-1"}),
            "`reason` has an invisible format character (U+200B) at character 3",
        ),
        (
            json!({"reason": "ok", "ticket": "INC-1\u{9d}0;x\u{9c}"}),
            "`ticket` has a control character (U+009D) at character 6",
        ),
    ];
    for (body, expected) in cases {
        let answer = post_raw(
            &fleet,
            "alice",
            &path,
            serde_json::to_vec(&body).unwrap(),
            Some(&version.to_string()),
        )
        .await;
        let problem = expect_problem(answer, ProblemType::Invalid).await;
        let detail = problem.detail.unwrap();
        assert!(detail.starts_with(expected), "{detail}");
    }
    assert_eq!(action_count(&fleet).await, before, "nothing was done");
}

#[tokio::test]
async fn destructive_verbs_need_if_match() {
    let fleet = Fleet::start(200, Scenario::PatchTuesday).await;
    let (id, _) = running_deployment(&fleet).await;
    let justified = || serde_json::to_vec(&json!({"reason": "r", "ticket": "t"})).unwrap();
    let expedite =
        || serde_json::to_vec(&json!({"reason": "r", "ticket": "t", "cve": "CVE-1"})).unwrap();
    let before = action_count(&fleet).await;
    for path in [
        format!("/v1/deployments/{id}/halt"),
        format!("/v1/deployments/{id}/rollback"),
        "/v1/rings/pilot/rollback".to_string(),
        "/v1/emergency".to_string(),
    ] {
        let body = if path == "/v1/emergency" {
            expedite()
        } else {
            justified()
        };
        let problem = expect_problem(
            post_raw(&fleet, "alice", &path, body, None).await,
            ProblemType::PreconditionRequired,
        )
        .await;
        assert!(problem.detail.unwrap().contains("If-Match"), "{path}");
    }
    let hosts = fleet.get_json("vera", "/v1/hosts?limit=1").await;
    let host = hosts["items"][0]["id"].as_str().unwrap().to_string();
    for verb in ["exclude", "rollback"] {
        expect_problem(
            post_raw(
                &fleet,
                "oscar",
                &format!("/v1/hosts/{host}/{verb}"),
                justified(),
                None,
            )
            .await,
            ProblemType::PreconditionRequired,
        )
        .await;
    }
    assert_eq!(action_count(&fleet).await, before, "nothing was done");

    // Non-destructive verbs do without; destructive ones act with the version seen.
    let pause = post_raw(
        &fleet,
        "alice",
        &format!("/v1/deployments/{id}/pause"),
        Vec::new(),
        None,
    )
    .await;
    assert_eq!(pause.status(), StatusCode::OK);
    let halt = post_raw(
        &fleet,
        "alice",
        &format!("/v1/deployments/{id}/halt"),
        justified(),
        Some("*"),
    )
    .await;
    assert_eq!(halt.status(), StatusCode::OK, "If-Match: * is any version");
}

#[tokio::test]
async fn every_error_is_problem_json_with_a_short_detail() {
    let fleet = Fleet::start(200, Scenario::PatchTuesday).await;
    let (id, _) = running_deployment(&fleet).await;

    // Over the 2 MiB body limit.
    let huge = serde_json::to_vec(&json!({"reason": "x".repeat(3 * 1024 * 1024)})).unwrap();
    let problem = expect_problem(
        post_raw(
            &fleet,
            "alice",
            &format!("/v1/deployments/{id}/pause"),
            huge,
            None,
        )
        .await,
        ProblemType::TooLarge,
    )
    .await;
    assert!(problem.detail.unwrap().contains("2 MiB"));

    // A path whose percent-encoding is not UTF-8.
    let answer = fleet.get("vera", "/v1/hosts/%FF%FE").await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let problem = expect_problem(answer, ProblemType::Malformed).await;
    let detail = problem.detail.unwrap();
    assert!(detail.contains("path"), "{detail}");
    assert!(!detail.contains("Invalid URL"), "axum's words in: {detail}");

    // No such endpoint, and a method the endpoint does not take.
    expect_problem(
        fleet.get("vera", "/v1/nowhere/at/all").await,
        ProblemType::NotFound,
    )
    .await;
    let answer = within(
        "a DELETE",
        fleet.request("alice", Method::DELETE, "/v1/rings").send(),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
    let kind: Value = answer.json().await.unwrap();
    assert!(kind["type"].as_str().unwrap().starts_with("urn:patchdeck:"));
}
