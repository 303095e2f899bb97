//! How the binary fails when it is called wrongly: exit status 2, one line on stderr
//! that says what to fix (file, line, key; `chmod 600`), no backtrace, and the
//! terminal never touched (nothing on stdout).

mod e2e_support;

use std::process::Output;

use e2e_support::{Scratch, run_to_end};

/// Run `patchdeck ARGS` in `home` (its own empty HOME and XDG directories), to its end.
fn run(home: &Scratch, args: &[&str]) -> Output {
    run_to_end(home.patchdeck().args(args), &format!("patchdeck {args:?}"))
}

/// Exit status 2 with exactly one line on stderr, returned; nothing on stdout.
fn usage_error(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "the terminal was written to: {:?}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    stderr
}

#[test]
fn a_token_file_others_can_read_is_refused_with_the_fix() {
    let home = Scratch::new("cli");
    let token = home.write_private("prod.token", "0123456789abcdef0123456789abcdef\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644))
            .expect("chmod 644");
    }
    let output = run(
        &home,
        &["--api", "http://127.0.0.1:9", "--token-file", "prod.token"],
    );
    let line = usage_error(&output);
    assert!(line.contains("prod.token"), "{line}");
    assert!(line.contains("chmod 600"), "{line}");
    assert!(
        !line.contains("0123456789abcdef"),
        "the token was printed: {line}"
    );
}

#[test]
fn a_config_mistake_names_the_file_the_line_and_the_key() {
    let home = Scratch::new("cli");
    let dir = home.xdg("XDG_CONFIG_HOME").join("patchdeck");
    std::fs::create_dir_all(&dir).expect("the config directory");
    std::fs::write(
        dir.join("config.toml"),
        "[[context]]\nname = \"lab\"\napi = \"http://127.0.0.1:9\"\nreadonly = true\n",
    )
    .expect("write the config");
    let line = usage_error(&run(&home, &[]));
    assert!(line.contains("config.toml:4"), "{line}");
    assert!(line.contains("readonly"), "{line}");
}

#[test]
fn an_unknown_context_lists_the_known_ones() {
    let home = Scratch::new("cli");
    let line = usage_error(&run(&home, &["--context", "prod"]));
    assert!(line.contains("no context `prod`"), "{line}");
    assert!(line.contains("known: none"), "{line}");
}

#[test]
fn a_missing_config_file_is_an_error_never_the_demo() {
    let home = Scratch::new("cli");
    let line = usage_error(&run(&home, &["--config", "nowhere/config.toml"]));
    assert!(line.contains("nowhere/config.toml"), "{line}");
    assert!(line.contains("no such config file"), "{line}");
}

#[test]
fn audit_filters_by_time_ticket_and_context_and_names_the_url() {
    let home = Scratch::new("cli");
    let line = |time: &str, context: &str, api: &str, ticket: &str, phase: &str| {
        format!(
            r#"{{"time":"{time}","fleet_time":"2026-11-12T09:00:00Z","phase":"{phase}","context":"{context}","api":"{api}","identity":"alice (approver)","action":"halt","target_kind":"ring","target_id":"pilot","target_name":"Pilot","reason":"bad","ticket":"{ticket}","idempotency_key":"k-{ticket}-{phase}","outcome":"{phase}","action_id":null}}"#
        )
    };
    let log = [
        line(
            "2026-11-12T14:00:00Z",
            "--api",
            "http://10.0.0.5:7070",
            "CHG-1",
            "sent",
        ),
        line(
            "2026-11-12T14:00:01Z",
            "--api",
            "http://10.0.0.5:7070",
            "CHG-1",
            "answer",
        ),
        line(
            "2026-11-13T08:00:00Z",
            "prod",
            "https://patch.example.com",
            "CHG-2",
            "sent",
        ),
    ]
    .join("\n");
    let path = home.write_private("audit.jsonl", &log);
    let path = path.to_str().expect("a UTF-8 path");
    let out = |args: &[&str]| {
        let mut all = vec!["audit", "--file", path];
        all.extend_from_slice(args);
        let output = run(&home, &all);
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let all = out(&[]);
    assert!(all.contains("http://10.0.0.5:7070"), "{all}");
    assert!(all.contains("k-CHG-1-sent"), "the key is shown: {all}");
    let by_ticket = out(&["--ticket", "chg-2"]);
    assert!(
        by_ticket.contains("CHG-2") && !by_ticket.contains("CHG-1"),
        "{by_ticket}"
    );
    let by_context = out(&["--context=--api"]);
    assert_eq!(by_context.lines().count(), 3, "{by_context}");
    let by_time = out(&["--since", "2026-11-13", "--until", "2026-11-13 09:00"]);
    assert!(
        by_time.contains("CHG-2") && !by_time.contains("CHG-1"),
        "{by_time}"
    );
    let bad = usage_error(&run(&home, &["audit", "--file", path, "--since", "soon"]));
    assert!(bad.contains("soon"), "{bad}");
}

#[test]
fn audit_into_a_reader_that_stops_early_ends_quietly() {
    let home = Scratch::new("cli-pipe");
    let record = r#"{"time":"2026-11-12T14:00:00Z","fleet_time":"2026-11-12T09:00:00Z","phase":"sent","context":"prod","api":"https://patch.example.com","identity":"alice (approver)","action":"halt","target_kind":"ring","target_id":"pilot","target_name":"Pilot","reason":"a reason long enough to fill the pipe quickly","ticket":"CHG-1","idempotency_key":"k-1","outcome":"sent","action_id":null}"#;
    // Far more than a pipe holds (64 KiB), so that writes go on after `head` is gone.
    let log = vec![record; 2000].join("\n");
    let path = home.write_private("audit.jsonl", &log);
    let script = format!(
        "set -o pipefail; {:?} audit --json --file {:?} | head -c 10 >/dev/null",
        env!("CARGO_BIN_EXE_patchdeck"),
        path.display().to_string()
    );
    let mut command = std::process::Command::new("bash");
    command.args(["-c", &script]);
    let output = run_to_end(home.isolate(&mut command), "audit --json | head");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{output:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
