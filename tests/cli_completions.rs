//! Shell completions and the man page, generated from the clap definition: the scripts
//! name the subcommands and flags, bash loads the script, the man page is roff with a
//! NAME section, and `--out-dir` writes a page per subcommand.

mod e2e_support;

use std::process::{Command, Output};

use e2e_support::{Scratch, run_to_end};

/// Run `patchdeck ARGS` in its own empty home; it must succeed, silently on stderr.
fn run(home: &Scratch, args: &[&str]) -> String {
    let output = run_to_end(home.patchdeck().args(args), &format!("patchdeck {args:?}"));
    succeeded(&output, &format!("patchdeck {args:?}"));
    String::from_utf8(output.stdout).expect("utf-8 on stdout")
}

fn succeeded(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn bash_completions_name_the_subcommands_and_flags() {
    let home = Scratch::new("completions");
    let script = run(&home, &["completions", "bash"]);
    for word in [
        "serve",
        "audit",
        "completions",
        "man",
        "--store",
        "--theme",
        "--api",
    ] {
        assert!(script.contains(word), "bash completions contain {word}");
    }
    assert!(script.contains("complete -F _patchdeck"), "{script}");
}

#[test]
fn zsh_and_fish_completions_are_made_too() {
    let home = Scratch::new("completions");
    let zsh = run(&home, &["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef patchdeck"), "{zsh}");
    assert!(zsh.contains("serve") && zsh.contains("--store"));
    let fish = run(&home, &["completions", "fish"]);
    assert!(fish.contains("complete -c patchdeck"), "{fish}");
    assert!(fish.contains("serve") && fish.contains("-l store"));
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let home = Scratch::new("completions");
    let output = run_to_end(
        home.patchdeck().args(["completions", "tcsh"]),
        "patchdeck completions tcsh",
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bash") && stderr.contains("zsh") && stderr.contains("fish"),
        "{stderr}"
    );
}

#[test]
fn bash_loads_the_completions() {
    let Ok(probe) = Command::new("bash").arg("--version").output() else {
        eprintln!("no bash here: skipped");
        return;
    };
    if !probe.status.success() {
        eprintln!("no working bash here: skipped");
        return;
    }
    let home = Scratch::new("completions");
    let bin = env!("CARGO_BIN_EXE_patchdeck");
    let output = run_to_end(
        home.isolate(&mut Command::new("bash")).args([
            "--noprofile",
            "--norc",
            "-c",
            &format!("source <('{bin}' completions bash) && complete -p patchdeck"),
        ]),
        "bash sourcing the completions",
    );
    succeeded(&output, "bash -c 'source <(patchdeck completions bash)'");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("_patchdeck") && stdout.contains("patchdeck"),
        "{stdout}"
    );
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_man_page_is_roff_with_a_name_section() {
    let home = Scratch::new("man");
    let page = run(&home, &["man"]);
    assert!(page.contains(".TH patchdeck 1"), "{page}");
    assert!(
        page.contains(".SH NAME\npatchdeck \\- A terminal console for staged patch rollouts."),
        "{page}"
    );
    for section in [
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH OPTIONS",
        ".SH SUBCOMMANDS",
    ] {
        assert!(page.contains(section), "{section} in {page}");
    }
    assert!(page.contains("\\-\\-theme"), "options are listed");
}

#[test]
fn the_man_pages_go_into_a_directory_one_per_subcommand() {
    let home = Scratch::new("man");
    let dir = home.path().join("man1");
    let listed = run(
        &home,
        &["man", "--out-dir", dir.to_str().expect("utf-8 path")],
    );
    for page in [
        "patchdeck.1",
        "patchdeck-serve.1",
        "patchdeck-audit.1",
        "patchdeck-completions.1",
    ] {
        let path = dir.join(page);
        assert!(path.is_file(), "{page} written");
        assert!(
            listed.contains(&path.display().to_string()),
            "{page} named: {listed}"
        );
        let text = std::fs::read_to_string(&path).expect("read page");
        assert!(text.contains(".SH NAME"), "{page} has a NAME section");
    }
    assert!(
        !dir.join("patchdeck-bench.1").exists(),
        "no page for a hidden subcommand"
    );
}
