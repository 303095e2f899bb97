//! `GET /v1/compliance` over a real listener on 127.0.0.1: the summary agrees with the
//! computation on the fleet itself, the hosts past the line page exactly once each,
//! the answer is per event sequence (ETag, 304), the policy is the server's, and
//! nonsense in the query is refused.

mod server_support;

use std::collections::HashSet;

use patchdeck::api::server::ServerOptions;
use patchdeck::api::wire::ProblemType;
use patchdeck::backend::{Backend, HostQuery};
use patchdeck::compliance::{CompliancePolicy, HostFacts, compute, verified};
use patchdeck::sim::{Scenario, Simulator};
use reqwest::StatusCode;
use serde_json::Value;
use server_support::{Fleet, config, expect_problem, within};

async fn start(hosts: usize, scenario: Scenario, policy: CompliancePolicy) -> Fleet {
    Fleet::start_options(config(hosts, scenario), |options| ServerOptions {
        compliance: policy,
        ..options
    })
    .await
}

/// Every host past the line, following `next_cursor` with pages of `limit`.
async fn past_line(fleet: &Fleet, limit: usize) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let path = match &cursor {
            Some(c) => format!("/v1/compliance?past=true&limit={limit}&cursor={c}"),
            None => format!("/v1/compliance?past=true&limit={limit}"),
        };
        let page = fleet.get_json("vera", &path).await;
        rows.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return rows,
        }
    }
    panic!("paging does not end");
}

/// The same computation on the fleet directly, hosts read with their history.
fn direct(sim: &Simulator, policy: &CompliancePolicy) -> patchdeck::compliance::Compliance {
    let patches = sim.patches().items;
    let page = sim.hosts(&HostQuery {
        limit: 100_000,
        ..HostQuery::default()
    });
    let facts: Vec<HostFacts> = page
        .items
        .iter()
        .map(|h| {
            let full = sim.host(&h.id).unwrap();
            HostFacts {
                verified: verified(&full, &patches),
                host: h.clone(),
            }
        })
        .collect();
    compute(policy, sim.now(), &patches, &facts).0
}

#[tokio::test]
async fn the_summary_is_the_computation_on_the_fleet_at_its_sequence() {
    let fleet = Fleet::start(600, Scenario::PatchTuesday).await;
    let response = fleet.get("vera", "/v1/compliance").await;
    assert_eq!(response.status(), StatusCode::OK);
    let sequence: u64 = response.headers()["patchdeck-sequence"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"seq-{sequence}\""));
    let body: Value = within("the body", response.json()).await.unwrap();
    let expected = direct(&fleet.sim, &CompliancePolicy::default());
    let mut expected = serde_json::to_value(&expected).unwrap();
    expected["sequence"] = sequence.into();
    assert_eq!(body, expected);
    assert_eq!(body["policy"]["within_days"], 30);
    assert!(body["by_ring"].as_array().unwrap().len() >= 5);
    // The simulator's past months: some hosts missed one, two or three months.
    let count = |field: &str| body[field].as_u64().unwrap();
    assert!(count("past_line") >= 3, "{body}");
    assert!(count("past_60_days") >= 2, "{body}");
    assert!(count("past_12_weeks") >= 1, "{body}");
    assert!(
        count("excluded") >= 1,
        "the hosts under an exception are counted apart"
    );
    assert!(body["percent_compliant"].as_f64().unwrap() < 100.0);
    assert!(body["median_release_to_verified_secs"].is_u64());

    // Unchanged fleet: 304 for the same ETag; a step of the fleet: a new answer.
    let again = fleet
        .request("vera", reqwest::Method::GET, "/v1/compliance")
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    fleet.sim.advance(600);
    let later = fleet.get_json("vera", "/v1/compliance").await;
    assert!(later["sequence"].as_u64().unwrap() > sequence);
    let mut expected =
        serde_json::to_value(direct(&fleet.sim, &CompliancePolicy::default())).unwrap();
    expected["sequence"] = later["sequence"].clone();
    assert_eq!(later, expected, "recomputed from what changed");
}

#[tokio::test]
async fn hosts_past_the_line_page_once_each_in_order() {
    // A day's grace: every host still without this month's update is behind.
    let policy = CompliancePolicy {
        within_days: 1,
        ..CompliancePolicy::default()
    };
    let fleet = start(800, Scenario::PatchTuesday, policy).await;
    let summary = fleet.get_json("vera", "/v1/compliance").await;
    let rows = past_line(&fleet, 7).await;
    assert!(rows.len() > 7, "more than a page: {}", rows.len());
    assert_eq!(rows.len() as u64, summary["past_line"].as_u64().unwrap());
    let ids: HashSet<&str> = rows
        .iter()
        .map(|r| r["host_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), rows.len(), "no host twice");
    let keys: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["due_at"].as_str().unwrap().to_string(),
                r["host_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "earliest due first, then by host id");
    assert_eq!(rows.first(), Some(&summary["oldest"]));
    for row in &rows {
        assert!(!row["missing"].as_array().unwrap().is_empty());
    }
    assert_eq!(
        past_line(&fleet, 1000).await,
        rows,
        "one page or many, the same rows"
    );
}

#[tokio::test]
async fn the_policy_is_the_servers() {
    let strict = CompliancePolicy {
        within_days: 1,
        ..CompliancePolicy::default()
    };
    let fleet = start(400, Scenario::PatchTuesday, strict.clone()).await;
    let body = fleet.get_json("vera", "/v1/compliance").await;
    assert_eq!(body["policy"]["within_days"], 1);
    let default = direct(&fleet.sim, &CompliancePolicy::default());
    let past = body["past_line"].as_u64().unwrap();
    assert!(
        past > u64::from(default.past_line),
        "a day's grace leaves more hosts behind than 30: {past} vs {}",
        default.past_line
    );
    assert_eq!(past, u64::from(direct(&fleet.sim, &strict).past_line));
}

#[tokio::test]
async fn nonsense_is_refused_and_a_token_is_needed() {
    let fleet = Fleet::start(100, Scenario::PatchTuesday).await;
    for path in [
        "/v1/compliance?past=maybe",
        "/v1/compliance?limit=5",
        "/v1/compliance?past=true&limit=0",
        "/v1/compliance?past=true&cursor=zz",
        "/v1/compliance?past=true&cursor=686f737473",
    ] {
        expect_problem(fleet.get("vera", path).await, ProblemType::Malformed).await;
    }
    let anonymous = fleet
        .http
        .get(fleet.url("/v1/compliance"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
