//! The real binary in a pseudo-terminal: it draws, answers keys, quits cleanly and
//! always gives the terminal back (q, SIGTERM, a panic), and says plainly when it is
//! too small.
//! Every wait is on the parsed screen with a deadline; the demo fleet is frozen
//! (`--speed 0`) so that what is on screen holds still while the test looks.

mod e2e_support;

use e2e_support::pty::{
    BEGIN_FRAME, Console, END_FRAME, ENTER_ALTERNATE, LEAVE_ALTERNATE, SHOW_CURSOR,
};

/// The demo on a frozen simulated fleet (2000 hosts, seed 1: Pilot has failures).
const DEMO: &[&str] = &["--speed", "0"];

/// The number in "Failed hosts (N)" on screen.
fn failed_count(screen: &str) -> Option<usize> {
    // "3 Failed hosts (5)", or "3 Failed (5)" where the tabs are short (80 columns).
    let label = ["Failed hosts (", "3 Failed ("]
        .into_iter()
        .find(|label| screen.contains(label))?;
    let start = screen.find(label)? + label.len();
    let end = start + screen[start..].find(')')?;
    screen[start..end].parse().ok()
}

/// Rows of a host list on screen (they start with a selection box).
fn host_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter(|line| line.trim_start_matches('│').trim_start().starts_with("[ ]"))
        .collect()
}

#[test]
fn keys_drive_the_console_and_q_restores_the_terminal() {
    let mut console = Console::start(DEMO, 80, 24);
    let first = console.wait_for_text(&["1 Rings", "Pilot", "LIVE"]);
    assert!(
        first.contains("DEMO"),
        "the demo badge is missing:\n{first}"
    );
    assert!(
        console.in_alternate_screen(),
        "drawing outside the alternate screen"
    );
    assert!(!console.is_cooked(), "the console runs without raw mode");
    let failed = failed_count(&first).expect("the Failed hosts tab shows a count");
    assert!(failed > 0, "seed 1 has failures in Pilot:\n{first}");
    assert!(
        first.contains(&format!("{failed} failed")),
        "the header's failed count differs from the pane's:\n{first}"
    );

    // 3: the Failed hosts pane takes the focus; its keys show in the footer.
    console.send("3");
    console.wait_for("the failed-host keys in the footer", |s| {
        s.contains("r retry") && s.contains("x exclude")
    });

    // Enter expands the first failure group into its hosts.
    console.send("\r");
    let expanded = console.wait_for("an expanded failure group", |s| {
        s.lines().any(|l| l.starts_with("│- 0x")) && !host_rows(s).is_empty()
    });
    assert!(
        expanded.lines().any(|l| l.starts_with("│+ 0x")) || failed == 1,
        "the other groups stay collapsed:\n{expanded}"
    );

    // ? opens the help generated from the key bindings; Esc closes it.
    console.send("?");
    let help = console.wait_for_text(&["Keys (from your key bindings)", "Esc closes"]);
    for line in ["focus Failed hosts", "focus Compliance"] {
        assert!(help.contains(line), "help lacks {line:?}:\n{help}");
    }
    console.send("\x1b");
    console.wait_for("the main screen again", |s| {
        !s.contains("Keys (from your key bindings)") && s.contains("1 Rings")
    });

    // :hosts failed lists every failed host, and only failed ones.
    console.send(":hosts failed\r");
    let hosts = console.wait_for("the failed hosts list", |s| {
        s.contains("┌ Failed hosts (") && s.contains("HOST") && !host_rows(s).is_empty()
    });
    assert_eq!(failed_count(&hosts), Some(failed), "{hosts}");
    let rows = host_rows(&hosts);
    assert_eq!(rows.len(), failed, "one row per failed host:\n{hosts}");
    assert!(
        rows.iter().all(|row| row.contains(" failed ")),
        "a host that is not failed is listed:\n{hosts}"
    );
    console.send("\x1b");
    console.wait_for("the panes again", |s| {
        s.contains("1 Rings") && !s.contains("┌ Failed hosts (")
    });

    console.send("q");
    let status = console.wait_exit();
    assert_eq!(status.exit_code(), 0, "{status:?}");
    assert!(status.success());
    console.assert_restored();
}

/// Start the demo, wait for it to draw, stop it with `stop`, and check it exited by
/// itself (status 0, not killed) and gave the terminal back.
fn stops_cleanly(stop: impl FnOnce(&mut Console)) {
    let mut console = Console::start(DEMO, 80, 24);
    console.wait_for_text(&["1 Rings", "Pilot", "LIVE"]);
    assert!(!console.is_cooked());
    stop(&mut console);
    let status = console.wait_exit();
    assert_eq!(status.exit_code(), 0, "{status:?}");
    assert!(
        status.signal().is_none(),
        "killed instead of exiting: {status:?}"
    );
    console.assert_restored();
}

#[test]
fn sigterm_restores_the_terminal_and_exits() {
    stops_cleanly(|console| console.signal(libc::SIGTERM));
}

#[test]
fn sighup_restores_the_terminal_and_exits() {
    // The SSH session died: restore what can be restored and leave without a panic.
    stops_cleanly(|console| console.signal(libc::SIGHUP));
}

#[test]
fn ctrl_c_quits_even_from_the_help_screen() {
    stops_cleanly(|console| {
        console.send("?");
        console.wait_for_text(&["Keys (from your key bindings)"]);
        console.send("\x03");
    });
}

#[test]
fn a_small_terminal_is_told_so() {
    let mut console = Console::start(DEMO, 60, 20);
    let screen = console.wait_for_text(&["terminal too small (need 80x24, have 60x20)"]);
    assert!(
        !screen.contains("1 Rings"),
        "panes drawn in too small a terminal:\n{screen}"
    );
    console.send("q");
    assert_eq!(console.wait_exit().exit_code(), 0);
    console.assert_restored();
}

#[test]
fn shrinking_and_growing_the_terminal_redraws_it() {
    let mut console = Console::start(DEMO, 80, 24);
    console.wait_for_text(&["1 Rings", "Pilot", "LIVE"]);
    // A key answered means the input task runs, and with it the SIGWINCH handler
    // (a resize in the program's first milliseconds would go unseen).
    console.send("?");
    console.wait_for_text(&["Keys (from your key bindings)"]);
    console.send("\x1b");
    console.wait_for_no("Keys (from your key bindings)");

    console.resize(60, 20);
    console.wait_for_text(&["terminal too small (need 80x24, have 60x20)"]);
    console.resize(120, 40);
    let wider = console.wait_for("the panes drawn across the grown terminal", |s| {
        s.lines()
            .any(|l| l.contains("1 Rings") && l.chars().count() == 120)
    });
    assert!(!wider.contains("too small"), "{wider}");
    assert_eq!(wider.lines().count(), 40, "{wider}");
    console.send("q");
    assert_eq!(console.wait_exit().exit_code(), 0);
    console.assert_restored();
}

#[test]
fn ctrl_z_gives_the_terminal_back_and_resumes_with_a_full_redraw() {
    let mut console = Console::start(DEMO, 80, 24);
    console.wait_for_text(&["1 Rings", "Pilot", "LIVE"]);
    let mark = console.output_len();
    // Ctrl-Z. The program's process group has no shell to stop it for (it is
    // orphaned), so the stop is discarded and it comes straight back, as after `fg`.
    console.send("\x1a");
    console.wait_for_output(
        "leaving, then re-entering the alternate screen",
        mark,
        |out| {
            out.find(LEAVE_ALTERNATE)
                .is_some_and(|left| out[left..].contains(ENTER_ALTERNATE))
        },
    );
    // The alternate screen starts blank: only a full redraw shows the panes again.
    console.wait_for_text(&["1 Rings", "Pilot", "patchdeck"]);
    assert!(console.in_alternate_screen());
    assert!(!console.is_cooked(), "raw mode was not taken again");
    console.send("?");
    console.wait_for_text(&["Keys (from your key bindings)"]);
    console.send("q");
    assert_eq!(console.wait_exit().exit_code(), 0);
    console.assert_restored();
}

#[test]
fn a_panic_gives_the_terminal_back_and_its_message_stays_readable() {
    // The hidden trigger makes the first frame panic after it was written and before
    // its synchronized update ended (src/terminal.rs, `TEST_PANIC`).
    let mut console = Console::start_with_env(DEMO, 80, 24, &[("PATCHDECK_TEST_PANIC", "1")]);
    let status = console.wait_exit();
    assert!(
        !status.success(),
        "a panic exits with a failure: {status:?}"
    );
    assert!(
        status.signal().is_none(),
        "killed instead of unwinding: {status:?}"
    );
    let text = String::from_utf8_lossy(&console.raw()).into_owned();
    let entered = text
        .find(ENTER_ALTERNATE)
        .expect("the alternate screen was entered");
    let frame = text[entered..]
        .find(BEGIN_FRAME)
        .map(|at| entered + at)
        .expect("a frame was begun on the alternate screen");
    let left = text[frame..]
        .find(LEAVE_ALTERNATE)
        .map(|at| frame + at)
        .unwrap_or_else(|| panic!("the alternate screen was never left: {text:?}"));
    let restored = &text[frame..left];
    assert!(
        restored.contains(END_FRAME),
        "the open frame was not ended before leaving: {restored:?}"
    );
    let after = &text[left..];
    assert!(
        after[LEAVE_ALTERNATE.len()..].starts_with(SHOW_CURSOR),
        "the cursor is not shown right after leaving: {after:?}"
    );
    let message = after
        .find("PATCHDECK_TEST_PANIC is set")
        .expect("the panic message is written after leaving the alternate screen");
    assert!(
        !after[..message].contains(ENTER_ALTERNATE),
        "the panic message went to the alternate screen: {after:?}"
    );
    assert!(
        !console.in_alternate_screen(),
        "left on the alternate screen"
    );
    assert!(console.is_cooked(), "the terminal was left in raw mode");
    let screen = console.screen();
    let (row, _) = console.cursor();
    let message_row = screen
        .lines()
        .position(|line| line.contains("PATCHDECK_TEST_PANIC is set"))
        .unwrap_or_else(|| {
            panic!("the panic message is not on the screen the shell gets back:\n{screen}")
        });
    assert!(
        usize::from(row) > message_row,
        "the cursor went back above the panic message (row {row}), so the shell's prompt \
         would write over it:\n{screen}"
    );
}
