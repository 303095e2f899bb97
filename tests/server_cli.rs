//! The real `patchdeck serve` binary: prints its URL and the path of the generated token
//! file (never a token), serves with those tokens, stops cleanly on SIGTERM; refuses a
//! token file readable by others with exit code 2. It runs in its own home (HOME and the
//! XDG directories), and every read of its output and wait for its exit has a deadline.

#![cfg(unix)]

mod e2e_support;

use std::os::unix::fs::PermissionsExt;

use e2e_support::serve::Served;
use e2e_support::{PATIENCE, Scratch, run_to_end};
use patchdeck::api::tokens::Tokens;

#[tokio::test]
async fn serve_prints_url_and_token_path_but_never_a_token() {
    let mut served = Served::start(&["--hosts", "50", "--speed", "0"]);
    let printed = &served.stdout.seen;
    assert!(
        printed[0].starts_with("patchdeck API v1 at "),
        "the first line names the URL: {printed:?}"
    );
    let runtime_dir = served.home.xdg("XDG_RUNTIME_DIR");
    let path = served.tokens_file.clone();
    assert!(path.starts_with(&runtime_dir), "{}", path.display());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let tokens = Tokens::load(&path).unwrap();
    let everything_printed = printed.join("\n");
    for entry in tokens.entries() {
        assert!(
            !everything_printed.contains(&entry.token),
            "a token was printed"
        );
    }
    let me: serde_json::Value = reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap()
        .get(format!("{}/v1/me", served.url))
        .bearer_auth(tokens.token_of("bob").unwrap())
        .send()
        .await
        .expect("GET /v1/me within the patience")
        .json()
        .await
        .unwrap();
    assert_eq!(
        me,
        serde_json::json!({"name": "bob", "role": "approver", "person": "bob"})
    );

    let status = served.stop();
    assert!(status.success(), "serve exits 0 on SIGTERM: {status:?}");
}

#[test]
fn serve_refuses_a_token_file_others_can_read() {
    let home = Scratch::new("serve-open-tokens");
    let path = home.path().join("tokens.toml");
    Tokens::generate().write(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let output = run_to_end(
        home.patchdeck()
            .args(["serve", "--listen", "127.0.0.1:0", "--tokens"])
            .arg(&path),
        "serve with an open token file",
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert!(stderr.contains("tokens.toml"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
}

#[test]
fn serve_refuses_the_simulators_flags_with_a_vendor_fleet() {
    let home = Scratch::new("serve-ssm-sim-flags");
    for (flags, named) in [
        (&["--hosts", "50"][..], &["--hosts"][..]),
        (&["--speed", "0"][..], &["--speed"][..]),
        (
            &["--seed", "7", "--scenario", "bad-patch"][..],
            &["--seed", "--scenario"][..],
        ),
    ] {
        let output = run_to_end(
            home.patchdeck()
                .args(["serve", "--listen", "127.0.0.1:0", "--backend", "aws-ssm"])
                .args(flags),
            "serve --backend aws-ssm with a simulator flag",
        );
        assert_eq!(output.status.code(), Some(2), "{flags:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for flag in named {
            assert!(stderr.contains(flag), "{flags:?}: {stderr}");
        }
        assert!(stderr.contains("simulator"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    }
}
