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
