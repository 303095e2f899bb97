//! The link drops and comes back: the real console keeps the fleet on screen marked
//! `reconnecting`, reconnects by itself when the server is back on the same address,
//! and shows what changed, live again.

mod e2e_support;

use patchdeck::api::server::{self, ServerOptions};
use patchdeck::api::tokens::Tokens;
use patchdeck::model::{Role, TargetKind, Verb};
use patchdeck::sim::Scenario;

use e2e_support::Scratch;
use e2e_support::fleet::{ServedFleet, justified};
use e2e_support::pty::Console;

#[test]
fn the_console_survives_a_server_restart_and_goes_live_again() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let fleet = runtime.block_on(ServedFleet::start(
        Scenario::PatchTuesday,
        &[("erin", Role::Approver)],
    ));
    let token = fleet.token("erin").to_string();
    let secrets = Scratch::new("reconnect-token");
    let token_file = secrets.write_private("erin.token", &token);
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
    console.wait_for_text(&["1 Rings", "Pilot", "LIVE"]);

    // The server goes away: the fleet stays on screen, marked as not current.
    let ServedFleet { sim, server, .. } = fleet;
    let addr = server.addr;
    server.abort();
    let down = console.wait_for("the lost link on screen", |s| {
        !s.contains("LIVE") && (s.contains("reconnecting") || s.contains("STALE"))
    });
    assert!(
        down.contains("Pilot") && down.contains("soaking"),
        "the fleet left the screen:\n{down}"
    );

    // Back on the same address, with the same fleet: live again, by itself.
    let options = ServerOptions {
        tokens: Tokens::single("erin", Role::Approver, token.clone()),
        ..ServerOptions::default()
    };
    let _restarted = runtime
        .block_on(server::spawn(sim.clone(), options, addr))
        .expect("serve again on the same address");
    console.wait_for_text(&["LIVE"]);

    // And current: a change made now reaches the screen through the event stream.
    let client = patchdeck::api::client::Client::new(&format!("http://{addr}"), Some(token))
        .expect("a client");
    let deployment = runtime
        .block_on(client.snapshot())
        .expect("the fleet")
        .deployments
        .values()
        .find(|d| d.current_ring.as_deref() == Some("pilot"))
        .expect("a deployment in Pilot")
        .clone();
    runtime
        .block_on(client.act(&justified(
            Verb::Halt,
            TargetKind::Deployment,
            &deployment.id,
            deployment.version,
            "testing the link",
            "INC-1",
        )))
        .expect("halt from another client");
    console.wait_for("Pilot halted on screen", |s| {
        s.lines()
            .any(|l| l.starts_with("│Pilot ") && l.contains("HALTED"))
    });

    console.send("q");
    assert_eq!(console.wait_exit().exit_code(), 0);
    console.assert_restored();
}
