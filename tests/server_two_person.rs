//! The two-person rule over HTTP on 127.0.0.1, as curl would try it: the emergency
//! (the first call pends, the same person is refused under any of their tokens, a
//! second person starts it; a patch that fixes no exploited CVE needs the confirmer's
//! override; an unconfirmed request expires with the fleet clock), and the halted
//! production resume. Persons come from the token file: `alice` and `alice-jump` are
//! one person.

mod server_support;

use patchdeck::api::server::{ServerOptions, spawn};
use patchdeck::api::tokens::{TokenEntry, Tokens};
use patchdeck::api::wire::ProblemType;
use patchdeck::backend::Backend;
use patchdeck::model::{DeploymentState, Role};
use patchdeck::sim::{Scenario, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use server_support::{Fleet, PATIENCE, config, expect_problem, within};

/// Serve `scenario` with tokens of three people: alice (two tokens), bob, and vera.
async fn serve(scenario: Scenario, hosts: usize) -> Fleet {
    let sim = Simulator::new(config(hosts, scenario));
    let entry = |name: &str, person: Option<&str>, role| TokenEntry {
        name: name.into(),
        role,
        token: format!("{name}-token-0123456789abcdef"),
        person: person.map(str::to_string),
    };
    let tokens = Tokens::new(vec![
        entry("alice", None, Role::Approver),
        entry("alice-jump", Some("alice"), Role::Approver),
        entry("bob", None, Role::Approver),
        entry("vera", None, Role::Viewer),
    ]);
    let options = ServerOptions {
        tokens: tokens.clone(),
        ..ServerOptions::default()
    };
    let server = spawn(sim.clone(), options, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("listen on 127.0.0.1:0");
    Fleet {
        sim,
        server,
        tokens,
        http: reqwest::Client::builder()
            .timeout(PATIENCE)
            .build()
            .unwrap(),
    }
}

async fn json_of(response: reqwest::Response) -> Value {
    within("a JSON body", response.json()).await.expect("JSON")
}

fn emergency(patch: &str) -> Value {
    json!({"patch_id": patch, "reason": "exploited in the wild (CISA KEV)", "ticket": "SEC-7741"})
}

async fn pending(fleet: &Fleet) -> Value {
    fleet.get_json("vera", "/v1/summary").await["pending_emergency"].clone()
}

#[tokio::test]
async fn an_emergency_needs_a_second_person_over_http() {
    let fleet = serve(Scenario::ZeroDay, 300).await;
    let patch = fleet
        .sim
        .patches()
        .items
        .into_iter()
        .find(|p| !p.exploited_cves.is_empty())
        .unwrap();

    // The first call pends: 200 with the action awaiting a second approver.
    let first = fleet
        .post_any_version("alice", "/v1/emergency", emergency(&patch.id))
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let first = json_of(first).await;
    assert_eq!(first["state"], "awaiting-second-approver");
    assert_eq!(first["by"], "alice");
    let summary = fleet.get_json("vera", "/v1/summary").await;
    assert_eq!(summary["emergency"], Value::Null, "nothing started");
    let request = &summary["pending_emergency"];
    assert_eq!(request["action_id"], first["id"]);
    assert_eq!(request["requested_by"], "alice");
    assert_eq!(request["person"], "alice");
    assert_eq!(request["kb"], patch.kb.as_str());
    assert_eq!(request["cve"], patch.exploited_cves[0].as_str());
    assert_eq!(request["reason"], "exploited in the wild (CISA KEV)");
    assert_eq!(request["ticket"], "SEC-7741");
    assert_eq!(request["override_needed"], Value::Null);
    assert!(request["expires_at"].is_string());

    // The same person, with the same token or their other one: 409.
    for same in ["alice", "alice-jump"] {
        let refused = fleet
            .post_any_version(same, "/v1/emergency", emergency(&patch.id))
            .await;
        let problem = expect_problem(refused, ProblemType::SecondApproverRequired).await;
        let detail = problem.detail.unwrap();
        assert!(detail.contains("another person"), "{detail}");
    }
    assert_eq!(pending(&fleet).await["action_id"], first["id"]);

    // Another person starts it.
    let second = fleet
        .post_any_version("bob", "/v1/emergency", emergency(&patch.id))
        .await;
    assert_eq!(second.status(), StatusCode::OK);
    let second = json_of(second).await;
    assert_eq!(second["state"], "succeeded");
    let summary = fleet.get_json("vera", "/v1/summary").await;
    assert_eq!(summary["pending_emergency"], Value::Null);
    assert_eq!(summary["emergency"]["started_by"], "alice");
    assert_eq!(summary["emergency"]["confirmed_by"], "bob");
    let actions = fleet.actions().await;
    let first_now = actions.iter().find(|a| a["id"] == first["id"]).unwrap();
    assert_eq!(first_now["state"], "succeeded");
    assert_eq!(first_now["detail"], "started after confirmation by bob");
}

#[tokio::test]
async fn a_halted_patch_without_an_exploited_cve_needs_a_typed_override() {
    let fleet = serve(Scenario::BadPatch, 2000).await;
    for _ in 0..60 {
        if fleet
            .sim
            .deployments()
            .items
            .iter()
            .any(|d| d.state == DeploymentState::Halted)
        {
            break;
        }
        fleet.sim.advance(60);
    }
    // The bad patch of the halted deployment (KB5032201 in the demo): it cannot be
    // uninstalled and fixes no exploited CVE.
    let halted = fleet
        .sim
        .deployments()
        .items
        .into_iter()
        .find(|d| d.state == DeploymentState::Halted)
        .expect("the bad patch halted its ring");
    let bad = fleet
        .sim
        .patches()
        .items
        .into_iter()
        .find(|p| halted.patch_ids.contains(&p.id) && !p.uninstallable)
        .expect("a patch that cannot be uninstalled");
    assert!(bad.exploited_cves.is_empty());
    let kb = bad.kb.as_str();
    let first = fleet
        .post_any_version("alice", "/v1/emergency", emergency(kb))
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(json_of(first).await["state"], "awaiting-second-approver");
    let needed = pending(&fleet).await["override_needed"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(needed.contains("fixes no known exploited CVE"), "{needed}");
    assert!(needed.contains("cannot be uninstalled"), "{needed}");

    // Refused without the override, and with a blank one: 422, nothing started.
    for body in [
        emergency(kb),
        json!({"patch_id": kb, "reason": "r", "ticket": "t", "override_reason": "  "}),
    ] {
        let refused = fleet.post_any_version("bob", "/v1/emergency", body).await;
        let problem = expect_problem(refused, ProblemType::Invalid).await;
        let detail = problem.detail.unwrap();
        assert!(detail.contains("override_reason"), "{detail}");
    }
    assert_eq!(
        fleet.get_json("vera", "/v1/summary").await["emergency"],
        Value::Null
    );

    let mut body = emergency(kb);
    body["override_reason"] = json!("vendor re-released the fix; CAB-991");
    let started = fleet.post_any_version("bob", "/v1/emergency", body).await;
    assert_eq!(started.status(), StatusCode::OK);
    let started = json_of(started).await;
    assert_eq!(started["state"], "succeeded");
    assert!(
        started["detail"]
            .as_str()
            .unwrap()
            .contains("override: vendor re-released the fix; CAB-991")
    );
    let summary = fleet.get_json("vera", "/v1/summary").await;
    assert_eq!(
        summary["emergency"]["override_reason"],
        "vendor re-released the fix; CAB-991"
    );
}

#[tokio::test]
async fn an_unconfirmed_emergency_expires_after_thirty_fleet_minutes() {
    let fleet = serve(Scenario::ZeroDay, 300).await;
    let patch = fleet
        .sim
        .patches()
        .items
        .into_iter()
        .find(|p| !p.exploited_cves.is_empty())
        .unwrap();
    let first = json_of(
        fleet
            .post_any_version("alice", "/v1/emergency", emergency(&patch.id))
            .await,
    )
    .await;
    fleet.sim.advance(29 * 60);
    assert_eq!(pending(&fleet).await["action_id"], first["id"]);
    fleet.sim.advance(2 * 60);
    assert_eq!(pending(&fleet).await, Value::Null, "expired");
    let actions = fleet.actions().await;
    let expired = actions.iter().find(|a| a["id"] == first["id"]).unwrap();
    assert_eq!(expired["state"], "failed");
    let detail = expired["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("expired at ") && detail.contains("within 30 minutes"),
        "{detail}"
    );
    // Bob's call now is a new request, not a confirmation.
    let late = json_of(
        fleet
            .post_any_version("bob", "/v1/emergency", emergency(&patch.id))
            .await,
    )
    .await;
    assert_eq!(late["state"], "awaiting-second-approver");
}

#[tokio::test]
async fn a_halted_production_ring_resumes_only_with_two_persons() {
    let fleet = serve(Scenario::PatchTuesday, 1000).await;
    let mut waiting = None;
    for _ in 0..60 {
        waiting = fleet.sim.deployments().items.into_iter().find(|d| {
            d.state == DeploymentState::AwaitingApproval && d.next_ring.as_deref() == Some("wave-1")
        });
        if waiting.is_some() {
            break;
        }
        fleet.sim.advance(60);
    }
    let dep = waiting.expect("Pilot's gate waits to open Wave 1");
    let approve = format!("/v1/deployments/{}/approve", dep.id);
    let first = fleet.post_any_version("alice", &approve, json!({})).await;
    assert_eq!(json_of(first).await["state"], "awaiting-second-approver");
    // alice's other token is alice: still one approval.
    expect_problem(
        fleet
            .post_any_version("alice-jump", &approve, json!({}))
            .await,
        ProblemType::SecondApproverRequired,
    )
    .await;
    assert_eq!(
        json_of(fleet.post_any_version("bob", &approve, json!({})).await).await["state"],
        "succeeded"
    );
    fleet.sim.advance(300);
    let halt = fleet
        .post_any_version(
            "alice",
            &format!("/v1/deployments/{}/halt", dep.id),
            json!({"reason": "bad reports from the field", "ticket": "INC-1"}),
        )
        .await;
    assert_eq!(halt.status(), StatusCode::OK);

    // alice halted it: she may approve the resume first, but not twice.
    let resume = json_of(fleet.post_any_version("alice", &approve, json!({})).await).await;
    assert_eq!(resume["state"], "awaiting-second-approver");
    let deployment = fleet
        .get_json("vera", &format!("/v1/deployments/{}", dep.id))
        .await;
    assert_eq!(deployment["state"], "halted");
    assert_eq!(deployment["pending_approval"]["resume"], true);
    assert_eq!(deployment["pending_approval"]["first_person"], "alice");
    for same in ["alice", "alice-jump"] {
        let problem = expect_problem(
            fleet.post_any_version(same, &approve, json!({})).await,
            ProblemType::SecondApproverRequired,
        )
        .await;
        assert!(problem.detail.unwrap().contains("resuming"));
    }
    let resumed = json_of(fleet.post_any_version("bob", &approve, json!({})).await).await;
    assert_eq!(resumed["state"], "succeeded");
    let deployment = fleet
        .get_json("vera", &format!("/v1/deployments/{}", dep.id))
        .await;
    assert_eq!(deployment["state"], "running");
}
