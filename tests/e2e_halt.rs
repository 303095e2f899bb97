//! Halting from the keyboard, end to end: the real console in an 80x24 pty, connected
//! with `--api URL --token-file F` to a simulated fleet served on 127.0.0.1, halts the
//! deployment in Pilot through the confirmation dialog. The server's audit trail and
//! the console's local audit log must then agree on what was done, by whom, why and
//! under which idempotency key, and the token must appear nowhere.

mod e2e_support;

use patchdeck::api::client::ClientError;
use patchdeck::api::wire::{List, ProblemType};
use patchdeck::audit::{self, AuditResult};
use patchdeck::backend::Backend;
use patchdeck::model::{Action, ActionState, DeploymentState, Role, TargetKind, Verb};
use patchdeck::sim::Scenario;

use e2e_support::fleet::{ServedFleet, justified};
use e2e_support::pty::Console;
use e2e_support::serve::Served;
use e2e_support::{PATIENCE, Scratch};
use patchdeck::api::tokens::Tokens;

const REASON: &str = "0x800f0922 on Contoso Book 14 G3 in Pilot";
const TICKET: &str = "CHG-52001";

/// `GET /v1/actions` as `token`, all of it on one page.
async fn server_actions(url: &str, token: &str) -> Vec<Action> {
    let list: List<Action> = reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .expect("an HTTP client")
        .get(format!("{url}/v1/actions?limit=1000"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /v1/actions, answered within the patience")
        .error_for_status()
        .expect("GET /v1/actions succeeds")
        .json()
        .await
        .expect("a list of actions");
    assert_eq!(
        list.next_cursor, None,
        "the actions did not fit on one page"
    );
    list.items
}

#[test]
fn halting_pilot_from_the_keyboard_is_recorded_by_the_server_and_in_the_audit_log() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    // The clock is never started: nothing changes but what the console does.
    let fleet = runtime.block_on(ServedFleet::start(
        Scenario::PatchTuesday,
        &[("erin", Role::Approver)],
    ));
    let token = fleet.token("erin").to_string();
    let in_pilot = fleet
        .sim
        .deployments()
        .items
        .into_iter()
        .find(|d| d.current_ring.as_deref() == Some("pilot"))
        .expect("a deployment in Pilot");
    assert_eq!(in_pilot.state, DeploymentState::Running);
    let secrets = Scratch::new("halt-token");
    let token_file = secrets.write_private("erin.token", &format!("{token}\n"));

    let mut console = Console::start(
        &[
            "--api",
            fleet.url(),
            "--token-file",
            token_file.to_str().expect("a UTF-8 path"),
        ],
        80,
        24,
    );
    let first = console.wait_for_text(&["1 Rings", "Pilot", "LIVE", "erin (approver)"]);
    assert!(!first.contains("DEMO"), "connected to a demo:\n{first}");

    // Rings, down to Pilot, H.
    console.send("1");
    console.send("j");
    console.send("H");
    let dialog = console.wait_for_text(&["Halt Pilot"]);
    assert!(
        dialog.contains(&in_pilot.name),
        "the dialog does not name the deployment it halts:\n{dialog}"
    );
    console.send(REASON);
    console.send("\t");
    console.send(TICKET);
    console.send("\t");
    console.send("Pilot");
    console.send("\r");

    // The dialog closes, the flash says it is done, and the ring shows halted once the
    // server's events arrive.
    let halted_screen = console.wait_for("Pilot halted and the flash", |s| {
        !s.contains("Reason (required)")
            && s.lines()
                .any(|l| l.starts_with("│Pilot ") && l.contains("HALTED"))
            && s.lines()
                .any(|l| l.starts_with("Halt Pilot (") && l.trim_end().ends_with(": done"))
    });
    assert!(
        halted_screen.contains("halted by erin"),
        "the ring does not say who halted it:\n{halted_screen}"
    );
    console.send("4");
    console.wait_for("the halt in the Actions pane", |s| {
        s.contains("WHO      ACTION")
            && s.lines().any(|l| {
                let words: Vec<&str> = l.trim_matches('│').split_whitespace().collect();
                words.get(1..3) == Some(&["erin", "halt"][..]) && l.contains(TICKET)
            })
    });
    console.send("q");
    assert_eq!(console.wait_exit().exit_code(), 0);
    console.assert_restored();
    let output = String::from_utf8_lossy(&console.raw()).into_owned();
    assert!(
        !output.contains(&token),
        "the token was written to the terminal"
    );

    // The server: one halt, by the token's identity, with the reason and ticket.
    let actions = runtime.block_on(server_actions(fleet.url(), &token));
    let halts: Vec<&Action> = actions
        .iter()
        .filter(|a| a.verb == Verb::Halt && a.by == "erin")
        .collect();
    assert_eq!(halts.len(), 1, "{actions:#?}");
    let halt = halts[0];
    assert_eq!(halt.target.kind, TargetKind::Deployment);
    assert_eq!(halt.target.id, in_pilot.id);
    assert_eq!(halt.reason.as_deref(), Some(REASON));
    assert_eq!(halt.ticket.as_deref(), Some(TICKET));
    assert_eq!(halt.state, ActionState::Succeeded);
    let halted = fleet.sim.deployment(&in_pilot.id).expect("the deployment");
    assert_eq!(halted.state, DeploymentState::Halted);
    assert_eq!(
        fleet.sim.ring("pilot").map(|r| r.state),
        Some(patchdeck::model::RingState::Halted)
    );

    // The local audit log: a line when it was sent, one with the answer, with the same
    // facts and key, no token.
    let log = audit::log_path(&console.data_home().join("patchdeck"));
    let text = std::fs::read_to_string(&log).expect("the audit log was written");
    assert!(!text.contains(&token), "the token is in the audit log");
    let (records, problems) = audit::read(&log).expect("read the audit log");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(records.len(), 2, "{text}");
    assert_eq!(records[0].phase, audit::AuditPhase::Sent);
    assert_eq!(records[0].idempotency_key, records[1].idempotency_key);
    assert_eq!(records[0].ticket.as_deref(), Some(TICKET));
    let record = &records[1];
    assert_eq!(record.phase, audit::AuditPhase::Answer);
    assert!(record.fleet_time.is_some(), "{text}");
    assert_eq!(record.action, Verb::Halt);
    assert_eq!(record.identity, "erin (approver)");
    assert_eq!(record.target_kind, TargetKind::Deployment);
    assert!(text.contains(r#""action":"halt""#), "{text}");
    assert!(text.contains(r#""target_kind":"deployment""#), "{text}");
    assert_eq!(record.target_id, in_pilot.id);
    assert_eq!(record.reason.as_deref(), Some(REASON));
    assert_eq!(record.ticket.as_deref(), Some(TICKET));
    assert_eq!(record.outcome, "succeeded");
    assert_eq!(
        record.result,
        Some(AuditResult::Succeeded {
            state: ActionState::Succeeded
        })
    );
    assert_eq!(record.action_id.as_deref(), Some(halt.id.as_str()));
    assert_eq!(record.api, fleet.url());

    // The key in the log is the one the server recorded the halt under: the same
    // request with it replays the recorded answer (a new halt of a halted deployment
    // would be refused), and another request with it is refused as a reused key.
    let client = fleet.client("erin");
    let mut replay = justified(
        Verb::Halt,
        TargetKind::Deployment,
        &in_pilot.id,
        in_pilot.version,
        REASON,
        TICKET,
    );
    replay.idempotency_key = record.idempotency_key.clone();
    let replayed = runtime
        .block_on(client.act(&replay))
        .expect("the recorded answer is replayed");
    assert_eq!(replayed.id, halt.id);
    let mut other = replay.clone();
    other.request.reason = Some("another reason".into());
    match runtime.block_on(client.act(&other)) {
        Err(ClientError::Problem(problem)) => {
            assert_eq!(problem.kind(), Some(ProblemType::IdempotencyKeyReused))
        }
        other => panic!("a reused key was not refused: {other:?}"),
    }
    let after = runtime.block_on(server_actions(fleet.url(), &token));
    assert_eq!(after.len(), actions.len(), "the replay acted again");
}

#[test]
fn read_only_with_the_token_from_the_environment_sends_nothing() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let fleet = runtime.block_on(ServedFleet::start(
        Scenario::PatchTuesday,
        &[("erin", Role::Approver)],
    ));
    let token = fleet.token("erin").to_string();
    let before = runtime.block_on(server_actions(fleet.url(), &token));
    let mut console = Console::start_with_env(
        &["--api", fleet.url(), "--read-only"],
        80,
        24,
        &[("PATCHDECK_TOKEN", &token)],
    );
    let screen = console.wait_for_text(&["1 Rings", "Pilot", "LIVE", "erin (approver)"]);
    assert!(
        screen.contains("READ-ONLY"),
        "no read-only badge:\n{screen}"
    );

    // H on Pilot: no dialog, a flash that says why.
    console.send("1");
    console.send("j");
    console.send("H");
    let refused = console.wait_for("the read-only refusal", |s| {
        s.lines().any(|l| l.starts_with("halt: read-only"))
    });
    assert!(
        !refused.contains("Reason (required)"),
        "a dialog opened:\n{refused}"
    );
    console.send("q");
    assert_eq!(console.wait_exit().exit_code(), 0);
    console.assert_restored();

    let output = String::from_utf8_lossy(&console.raw()).into_owned();
    assert!(
        !output.contains(&token),
        "the token was written to the terminal"
    );
    let after = runtime.block_on(server_actions(fleet.url(), &token));
    assert_eq!(after, before, "a read-only console acted");
    let log = audit::log_path(&console.data_home().join("patchdeck"));
    assert!(!log.exists(), "a read-only console wrote an audit line");
}

/// The console stopped from outside (SIGTERM) while its halt is unanswered: the audit
/// log has the line written when it was sent and an `unknown` line saying why, so the
/// engineer who reads it later knows to check the server's audit.
#[test]
fn a_console_stopped_with_a_halt_in_flight_records_it_as_unknown() {
    let mut served = Served::start(&["--hosts", "200", "--speed", "0"]);
    let tokens = Tokens::load(&served.tokens_file).expect("serve's token file");
    let approver = tokens
        .first_with_role(Role::Approver)
        .expect("an approver token")
        .token
        .clone();
    let secrets = Scratch::new("halt-unknown");
    let token_file = secrets.write_private("approver.token", &format!("{approver}\n"));
    let mut console = Console::start(
        &[
            "--api",
            &served.url,
            "--token-file",
            token_file.to_str().expect("a UTF-8 path"),
        ],
        80,
        24,
    );
    console.wait_for_text(&["1 Rings", "Pilot", "LIVE"]);
    console.send("1");
    console.send("j");
    console.send("H");
    console.wait_for_text(&["Halt Pilot"]);

    // The server stops answering (its socket still accepts): the halt goes out and
    // no answer comes back.
    let serve_pid = served.pid() as libc::pid_t;
    // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(serve_pid, libc::SIGSTOP) }, 0);
    console.send(REASON);
    console.send("\t");
    console.send(TICKET);
    console.send("\t");
    console.send("Pilot");
    console.send("\r");
    let log = audit::log_path(&console.data_home().join("patchdeck"));
    let deadline = std::time::Instant::now() + PATIENCE;
    while !std::fs::read_to_string(&log).is_ok_and(|text| text.contains("\"sent\"")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the halt was never sent"
        );
        std::thread::yield_now();
    }

    console.signal(libc::SIGTERM);
    console.wait_exit();
    console.assert_restored();
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(serve_pid, libc::SIGCONT) }, 0);
    served.stop();

    let (records, problems) = audit::read(&log).expect("read the audit log");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(records[0].phase, audit::AuditPhase::Sent);
    assert_eq!(records[1].phase, audit::AuditPhase::Unknown);
    assert_eq!(records[1].action, Verb::Halt);
    assert_eq!(records[0].idempotency_key, records[1].idempotency_key);
    assert_eq!(records[1].ticket.as_deref(), Some(TICKET));
    assert!(
        records[1].outcome.contains("SIGTERM"),
        "{}",
        records[1].outcome
    );
}
