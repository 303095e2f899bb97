//! `patchdeck config init` and `patchdeck config check`, as a new user runs them: the
//! example is written once and never over an existing file, it checks clean once its
//! token file exists, a bad config names the file and the line and exits 2, and the
//! check prints the keymap with the keys an override took.

mod e2e_support;

use e2e_support::{Scratch, run_to_end};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn init_writes_a_config_once_and_check_reads_it() {
    let home = Scratch::new("config-init");
    let config = home.xdg("XDG_CONFIG_HOME").join("patchdeck/config.toml");

    let first = run_to_end(home.patchdeck().args(["config", "init"]), "config init");
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stdout).contains(&config.display().to_string()));
    let written = std::fs::read_to_string(&config).expect("the config was written");

    // Never over an existing file, even its own.
    std::fs::write(&config, "# mine\n").unwrap();
    let again = run_to_end(
        home.patchdeck().args(["config", "init"]),
        "config init again",
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# mine\n");
    std::fs::write(&config, &written).unwrap();

    // The example names a token file that is not there yet: check says so.
    let check = run_to_end(home.patchdeck().args(["config", "check"]), "config check");
    assert_eq!(check.status.code(), Some(2), "{}", text(&check.stdout));
    let out = text(&check.stdout);
    assert!(out.contains("problem: context `prod`"), "{out}");
    assert!(out.contains("  halt             H"), "{out}");

    // With the token file in place (mode 600) it checks clean.
    let token = home.xdg("XDG_CONFIG_HOME").join("patchdeck/prod.token");
    std::fs::write(&token, "s3cret\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let check = run_to_end(home.patchdeck().args(["config", "check"]), "config check");
    assert!(check.status.success(), "{}", text(&check.stdout));
    assert!(text(&check.stdout).trim_end().ends_with("ok"));
    assert!(
        !text(&check.stdout).contains("s3cret"),
        "the token was printed"
    );
}

#[test]
fn check_names_the_line_of_a_bad_config_and_the_keys_an_override_took() {
    let home = Scratch::new("config-check");
    let bad = home.path().join("bad.toml");
    std::fs::write(
        &bad,
        "theme = \"default\"\n\n[[context]]\nname = \"prod\"\napi = 5\n",
    )
    .unwrap();
    let check = run_to_end(
        home.patchdeck()
            .args(["config", "check", "--path"])
            .arg(&bad),
        "config check of a bad file",
    );
    assert_eq!(check.status.code(), Some(2));
    let err = text(&check.stderr);
    assert!(err.contains(&format!("{}:5", bad.display())), "{err}");

    let keys = home.path().join("keys.toml");
    std::fs::write(&keys, "[keys]\napprove = [\"H\"]\n").unwrap();
    let check = run_to_end(
        home.patchdeck()
            .args(["config", "check", "--path"])
            .arg(&keys),
        "config check of key overrides",
    );
    assert!(check.status.success(), "{}", text(&check.stderr));
    let out = text(&check.stdout);
    assert!(
        out.contains("H was `halt` by default and is now `approve`"),
        "{out}"
    );
    assert!(out.contains("`halt` has no key left"), "{out}");
    assert!(out.contains("  approve          H "), "{out}");

    let missing = run_to_end(
        home.patchdeck()
            .args(["config", "check", "--path"])
            .arg(home.path().join("nope.toml")),
        "config check of a missing file",
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("no such config file"));
}
