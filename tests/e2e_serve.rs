//! `patchdeck serve` as a user runs it: the real binary on an ephemeral loopback port,
//! its printed URL and token file (0600, one token per role, never the tokens on
//! stdout), its clock at `--speed`, a console connecting to it with one of the tokens,
//! and SIGTERM stopping it cleanly.

mod e2e_support;

use futures_util::StreamExt;
use patchdeck::api::client::Client;
use patchdeck::api::tokens::Tokens;
use patchdeck::model::Role;

use e2e_support::pty::Console;
use e2e_support::serve::Served;
use e2e_support::{PATIENCE, Scratch};

#[test]
fn serve_prints_where_it_is_runs_its_clock_and_a_console_connects_with_its_tokens() {
    let mut served = Served::start(&["--hosts", "500", "--speed", "600"]);
    assert!(
        served.url.starts_with("http://127.0.0.1:"),
        "{}",
        served.url
    );

    // The token file: private, one token per role, two approvers; never on stdout.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&served.tokens_file)
            .expect("the token file exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let tokens = Tokens::load(&served.tokens_file).expect("a valid token file");
    let roles: Vec<(String, Role)> = tokens
        .entries()
        .iter()
        .map(|e| (e.name.clone(), e.role))
        .collect();
    assert_eq!(
        roles.iter().filter(|(_, r)| *r == Role::Approver).count(),
        2,
        "{roles:?}"
    );
    let alice = tokens
        .entries()
        .iter()
        .find(|e| e.name == "alice")
        .expect("alice's token");
    for line in &served.stdout.seen {
        for entry in tokens.entries() {
            assert!(!line.contains(&entry.token), "a token on stdout: {line}");
        }
    }

    // Its clock runs at --speed: the summary says so and events flow by themselves.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let client = Client::new(&served.url, Some(alice.token.clone())).expect("a client");
    runtime.block_on(async {
        let me = client.me().await.expect("GET /v1/me");
        assert_eq!((me.name.as_str(), me.role), ("alice", Role::Approver));
        let summary = client.summary().await.expect("GET /v1/summary");
        assert_eq!(summary.clock_speed, 600.0);
        let since = client.snapshot().await.expect("the fleet").sequence;
        let mut events = client.events(since).await.expect("the event stream");
        let next = tokio::time::timeout(PATIENCE, events.next())
            .await
            .expect("the fleet never moved by itself");
        assert!(next.expect("an event").expect("a good event").seq > since);
    });

    // A console connects with alice's token.
    let secrets = Scratch::new("serve-token");
    let token_file = secrets.write_private("alice.token", &alice.token);
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
    console.wait_for_text(&["1 Rings", "Pilot", "LIVE", "alice (approver)"]);
    console.send("q");
    assert_eq!(console.wait_exit().exit_code(), 0);
    console.assert_restored();

    let status = served.stop();
    assert!(status.success(), "serve exited with {status:?}");
}
