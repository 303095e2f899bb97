//! `patchdeck report`, the real binary against a simulated fleet served on 127.0.0.1:
//! the compliance CSV parses (RFC 4180) with a header and one row per host past the
//! line; exceptions and the audit trail as CSV, JSON and Markdown; `--since`; the audit
//! trail needs an approver; a bad `serve --compliance-policy` file stops the server.

mod e2e_support;

use std::collections::BTreeSet;
use std::process::Output;

use e2e_support::fleet::ServedFleet;
use e2e_support::{Scratch, run_to_end};
use patchdeck::model::Role;
use patchdeck::sim::Scenario;

const PEOPLE: [(&str, Role); 2] = [("vera", Role::Viewer), ("alice", Role::Approver)];

/// A minimal RFC 4180 reader: records of fields, quoted fields may hold commas,
/// doubled quotes and line breaks; records end with CRLF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, '\n') => panic!("a bare LF ends a record: {text:?}"),
            (false, c) => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && record.is_empty(),
        "unterminated: {text:?}"
    );
    records
}

async fn report(fleet: &ServedFleet, home: &Scratch, who: &str, args: &[&str]) -> Output {
    let token = home.path().join(format!("{who}.token"));
    if !token.exists() {
        home.write_private(&format!("{who}.token"), fleet.token(who));
    }
    let mut all: Vec<String> = vec![
        "report".into(),
        "--api".into(),
        fleet.url().into(),
        "--token-file".into(),
        token.display().to_string(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    let mut command = home.patchdeck();
    command.args(&all);
    tokio::task::spawn_blocking(move || run_to_end(&mut command, "patchdeck report"))
        .await
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "status {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compliance_csv_has_one_row_per_host_past_the_line() {
    let fleet = ServedFleet::start(Scenario::PatchTuesday, &PEOPLE).await;
    let home = Scratch::new("report");
    let text = stdout(&report(&fleet, &home, "vera", &["--format", "csv"]).await);
    let records = parse_csv(&text);
    let header = &records[0];
    assert_eq!(header[0], "host_id");
    assert!(header.contains(&"days_past".to_string()));
    assert!(
        records.iter().all(|r| r.len() == header.len()),
        "ragged rows"
    );
    let client = fleet.client("vera");
    let summary = client.compliance().await.unwrap();
    let past = client.compliance_past().await.unwrap();
    assert!(summary.past_line > 0, "the simulator has hosts behind");
    assert_eq!(records.len() - 1, summary.past_line as usize);
    let from_csv: BTreeSet<&str> = records[1..].iter().map(|r| r[0].as_str()).collect();
    let from_api: BTreeSet<&str> = past.iter().map(|p| p.host_id.as_str()).collect();
    assert_eq!(from_csv, from_api, "one row per host past the line");

    // --since: only hosts whose missed due time is at or after it.
    let since = past.iter().map(|p| p.due_at).max().unwrap();
    let text = stdout(
        &report(
            &fleet,
            &home,
            "vera",
            &["--format", "csv", "--since", &since.to_rfc3339()],
        )
        .await,
    );
    let later = past.iter().filter(|p| p.due_at >= since).count();
    assert_eq!(parse_csv(&text).len() - 1, later);
    assert!(later < past.len());

    let json: serde_json::Value = serde_json::from_str(&stdout(
        &report(&fleet, &home, "vera", &["--format", "json"]).await,
    ))
    .unwrap();
    assert_eq!(json["compliance"]["past_line"], summary.past_line);
    assert_eq!(json["past_line"].as_array().unwrap().len(), past.len());
    let markdown = stdout(&report(&fleet, &home, "vera", &[]).await);
    assert!(
        markdown.contains(&format!("**{}% compliant**", summary.percent_compliant)),
        "{markdown}"
    );
    assert!(markdown.contains("## By ring") && markdown.contains("## Hosts past the line"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceptions_and_the_audit_trail() {
    let fleet = ServedFleet::start(Scenario::PatchTuesday, &PEOPLE).await;
    let home = Scratch::new("report");
    let text = stdout(&report(&fleet, &home, "vera", &["exceptions", "--format", "csv"]).await);
    let records = parse_csv(&text);
    assert_eq!(records[0][4..6], ["scope", "owner"]);
    let snapshot = fleet.client("vera").snapshot().await.unwrap();
    let excepted = snapshot
        .hosts
        .values()
        .filter(|h| h.exception.is_some())
        .count();
    assert!(excepted > 0);
    assert_eq!(records.len() - 1, excepted);

    // One action, then the trail: a viewer may not read it, an approver may.
    let paused = reqwest::Client::new()
        .post(format!("{}/v1/rings/pilot/pause", fleet.url()))
        .bearer_auth(fleet.token("alice"))
        .header("If-Match", "*")
        .header("Idempotency-Key", "report-test-pause")
        .json(&serde_json::json!({"reason": "helpdesk: VPN drops", "ticket": "CHG-7"}))
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert!(paused.status().is_success(), "{}", paused.status());
    let refused = report(&fleet, &home, "vera", &["audit", "--format", "csv"]).await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("approver"));
    let text = stdout(&report(&fleet, &home, "alice", &["audit", "--format", "csv"]).await);
    let records = parse_csv(&text);
    assert_eq!(records[0][..4], ["seq", "at", "identity", "verb"]);
    assert_eq!(records.len(), 2, "the pause: {text}");
    assert_eq!(records[1][2..4], ["alice", "pause"]);
    assert!(records[1].contains(&"CHG-7".to_string()));
    let markdown = stdout(&report(&fleet, &home, "alice", &["audit"]).await);
    assert!(markdown.starts_with("# Audit trail"), "{markdown}");
    let future = stdout(
        &report(
            &fleet,
            &home,
            "alice",
            &["audit", "--format", "csv", "--since", "2999-01-01"],
        )
        .await,
    );
    assert_eq!(parse_csv(&future).len(), 1, "the header only");
}

#[test]
fn a_bad_compliance_policy_stops_serve_and_report_needs_a_server() {
    let home = Scratch::new("report");
    let policy = home.write_private("policy.toml", "within_days = 0\n");
    let output = run_to_end(
        home.patchdeck().args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--compliance-policy",
            &policy.display().to_string(),
        ]),
        "patchdeck serve with a bad policy",
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("policy.toml") && stderr.contains("within_days"),
        "{stderr}"
    );

    let output = run_to_end(home.patchdeck().arg("report"), "patchdeck report alone");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--api"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_of_the_bad_patch_names_the_code_the_model_and_the_halt() {
    let fleet = ServedFleet::start(Scenario::BadPatch, &PEOPLE).await;
    // Pilot opens at the start and the failure threshold halts it within minutes.
    fleet.sim.advance(3600);
    let client = fleet.client("alice");
    let deployment = client
        .snapshot()
        .await
        .unwrap()
        .deployments
        .into_values()
        .find(|d| d.state == patchdeck::model::DeploymentState::Halted)
        .expect("bad-patch halts Pilot");
    let home = Scratch::new("report");
    let text = stdout(&report(&fleet, &home, "alice", &["--review", &deployment.id]).await);
    assert!(text.starts_with("# Review: "), "{text}");
    let halt_row = format!("| halt | {} | system |", deployment.name);
    for needle in [
        halt_row.as_str(),
        "| 0x800f0922 |",
        "| Contoso Book 14 G3 |",
        "- first failure: ",
        "- stopped (halt): ",
        " after the first failure**: failure threshold",
        "## Rollback and restore",
        "## Attempts in the audit trail",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
    // A viewer's review says the audit trail is not shown; --format is refused.
    let text = stdout(&report(&fleet, &home, "vera", &["--review", &deployment.id]).await);
    assert!(text.contains("needs an approver's token"), "{text}");
    let refused = report(
        &fleet,
        &home,
        "vera",
        &["--review", &deployment.id, "--format", "csv"],
    )
    .await;
    assert_eq!(refused.status.code(), Some(2));
}
