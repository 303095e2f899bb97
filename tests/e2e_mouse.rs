//! The mouse in the real binary, in a pseudo-terminal: off unless `--mouse`, the
//! config's `mouse = true` or `M` turns it on; a click reaches the console; and the
//! mouse is always given back to the terminal (q, SIGTERM, a panic), or the shell
//! would print escape sequences at every click and select no text.
//! Every wait is on the parsed screen or the bytes written, with a deadline.

mod e2e_support;

use e2e_support::Scratch;
use e2e_support::pty::Console;

/// The demo on a frozen simulated fleet.
const DEMO: &[&str] = &["--speed", "0"];

/// What crossterm writes to take the mouse (normal tracking; the others follow) and
/// to give it back.
const TAKE_MOUSE: &str = "\x1b[?1000h";
const GIVE_MOUSE: &str = "\x1b[?1000l";

fn written(console: &Console) -> String {
    String::from_utf8_lossy(&console.raw()).into_owned()
}

/// The mouse was given back after it was last taken.
fn assert_mouse_given_back(console: &Console) {
    let raw = written(console);
    let taken = raw.rfind(TAKE_MOUSE).expect("the mouse was taken");
    assert!(
        raw[taken..].contains(GIVE_MOUSE),
        "the mouse was never given back: {:?}",
        &raw[taken..]
    );
}

/// A left click at a 0-based column and row, as an xterm sends it (SGR encoding).
fn click(console: &mut Console, column: usize, row: usize) {
    console.send(&format!("\x1b[<0;{};{}M", column + 1, row + 1));
}

/// The 0-based column and row where `words` are on screen.
fn find(screen: &str, words: &str) -> (usize, usize) {
    screen
        .lines()
        .enumerate()
        .find_map(|(row, line)| line.find(words).map(|at| (line[..at].chars().count(), row)))
        .unwrap_or_else(|| panic!("{words:?} is not on screen:\n{screen}"))
}

#[test]
fn with_mouse_a_click_switches_tab_and_q_gives_the_mouse_back() {
    let mut console = Console::start(&["--mouse", "--speed", "0"], 80, 24);
    let screen = console.wait_for_text(&["1 Rings", "mouse on: M off, Shift-drag selects", "LIVE"]);
    assert!(written(&console).contains(TAKE_MOUSE));
    let (column, row) = find(&screen, "4 Actions");
    click(&mut console, column + 2, row);
    console.wait_for_text(&["no actions yet"]);
    console.send("q");
    console.wait_exit();
    console.assert_restored();
    assert_mouse_given_back(&console);
}

#[test]
fn sigterm_and_a_panic_give_the_mouse_back() {
    let mut console = Console::start(&["--mouse", "--speed", "0"], 80, 24);
    console.wait_for_text(&["1 Rings", "mouse on"]);
    console.signal(libc::SIGTERM);
    console.wait_exit();
    console.assert_restored();
    assert_mouse_given_back(&console);

    let mut console = Console::start_with_env(
        &["--mouse", "--speed", "0"],
        80,
        24,
        &[("PATCHDECK_TEST_PANIC", "1")],
    );
    let status = console.wait_exit();
    assert!(
        !status.success(),
        "a panic exits with a failure: {status:?}"
    );
    assert_mouse_given_back(&console);
}

#[test]
fn off_by_default_clicks_do_nothing_and_m_takes_the_mouse() {
    let mut console = Console::start(DEMO, 80, 24);
    let screen = console.wait_for_text(&["1 Rings", "? help", "LIVE"]);
    assert!(!screen.contains("mouse on"), "{screen}");
    assert!(!written(&console).contains(TAKE_MOUSE), "taken unasked");
    let (column, row) = find(&screen, "4 Actions");
    click(&mut console, column + 2, row);
    console.send("M");
    let on = console.wait_for_text(&["mouse on: wheel, clicks"]);
    assert!(
        !on.contains("no actions yet"),
        "a click while the mouse was off acted:\n{on}"
    );
    let mark = console.output_len();
    console.wait_for_output("the mouse taken", 0, |raw| raw.contains(TAKE_MOUSE));
    console.send("M");
    console.wait_for_output("the mouse given back", mark, |raw| raw.contains(GIVE_MOUSE));
    console.send("q");
    console.wait_exit();
}

#[test]
fn the_config_turns_the_mouse_on() {
    let scratch = Scratch::new("mouse-config");
    let config = scratch.write_private("config.toml", "mouse = true\n");
    let config = config.to_str().expect("a UTF-8 path");
    let mut console = Console::start(&["--config", config, "--speed", "0"], 80, 24);
    console.wait_for_text(&["1 Rings", "mouse on: M off", "LIVE"]);
    assert!(written(&console).contains(TAKE_MOUSE));
    console.send("q");
    console.wait_exit();
    assert_mouse_given_back(&console);
}
