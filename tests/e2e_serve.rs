//! `patchdeck serve` as a user runs it: the real binary on an ephemeral loopback port,
//! its printed URL and token file (0600, one token per role, never the tokens on
//! stdout) and one `<name>.token` file per identity (used with `--token-file`, removed
//! when serve stops), its clock at `--speed`, a console connecting to it with one of the tokens,
//! and SIGTERM stopping it cleanly.

mod e2e_support;

use futures_util::StreamExt;
use patchdeck::api::client::Client;
use patchdeck::api::tokens::Tokens;
use patchdeck::model::Role;

use e2e_support::PATIENCE;
use e2e_support::pty::Console;
use e2e_support::serve::Served;

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

    // One token file per identity beside it, named after it, private, just the
    // token; each said on stdout.
    let said = served
        .stdout
        .seen
        .iter()
        .find(|l| l.starts_with("token files for --token-file in "))
        .expect("the token files line")
        .clone();
    for entry in tokens.entries() {
        let file = served.token_dir.join(format!("{}.token", entry.name));
        assert!(said.contains(&format!("{}.token", entry.name)), "{said}");
        assert_eq!(
            std::fs::read_to_string(&file).expect("a token file per identity"),
            format!("{}\n", entry.token)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file)
                .expect("its mode")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{} is {mode:o}", file.display());
        }
    }

    // A console connects with alice's own token file, as serve wrote it.
    let token_file = served.token_dir.join("alice.token");
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
    assert!(
        !served.token_dir.exists(),
        "{} is left behind when serve stops",
        served.token_dir.display()
    );
}
