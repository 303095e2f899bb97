//! The real `patchdeck` binary in a pseudo-terminal: keys in, screen out.
//!
//! A reader thread feeds everything the program writes to a vt100 parser (the screen as
//! a terminal would show it) and keeps the raw bytes (to check what was sent to the
//! terminal, e.g. that the alternate screen was left). Waiting is on a condition
//! variable signalled by that thread, with a deadline: never a fixed sleep.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use portable_pty::{
    ChildKiller, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system,
};

pub use super::PATIENCE;
use super::{Scratch, UNSET};

pub const ENTER_ALTERNATE: &str = "\x1b[?1049h";
pub const LEAVE_ALTERNATE: &str = "\x1b[?1049l";
pub const SHOW_CURSOR: &str = "\x1b[?25h";

pub const BEGIN_FRAME: &str = "\x1b[?2026h";
pub const END_FRAME: &str = "\x1b[?2026l";

struct Output {
    parser: vt100::Parser,
    /// The screen as a terminal that honours synchronized output shows it: updated at
    /// the end of each frame (and whenever no frame is being drawn), never half-drawn.
    shown: vt100::Screen,
    /// Inside a frame (between begin and end of a synchronized update).
    in_frame: bool,
    /// The last bytes fed, to find a frame marker split across two reads.
    tail: Vec<u8>,
    raw: Vec<u8>,
    /// The program's side of the terminal is closed (it exited).
    closed: bool,
}

impl Output {
    fn new(rows: u16, cols: u16) -> Output {
        let parser = vt100::Parser::new(rows, cols, 0);
        Output {
            shown: parser.screen().clone(),
            parser,
            in_frame: false,
            tail: Vec::new(),
            raw: Vec::new(),
            closed: false,
        }
    }

    /// Feed what the program wrote, showing the screen at every frame's end.
    fn feed(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
        let mut joined = std::mem::take(&mut self.tail);
        let carried = joined.len();
        joined.extend_from_slice(bytes);
        let mut fed = 0;
        let mut at = 0;
        while at < joined.len() {
            let rest = &joined[at..];
            let marker = if rest.starts_with(BEGIN_FRAME.as_bytes()) {
                Some(true)
            } else if rest.starts_with(END_FRAME.as_bytes()) {
                Some(false)
            } else {
                None
            };
            let Some(begins) = marker else {
                at += 1;
                continue;
            };
            let end = at + BEGIN_FRAME.len();
            // Feed up to the marker's end (bytes carried over were fed already).
            if end > carried {
                let upto = end - carried;
                self.parser.process(&bytes[fed..upto]);
                fed = upto;
            }
            self.in_frame = begins;
            if !begins {
                self.shown = self.parser.screen().clone();
            }
            at = end;
        }
        self.parser.process(&bytes[fed..]);
        if !self.in_frame {
            self.shown = self.parser.screen().clone();
        }
        let keep = joined.len().saturating_sub(BEGIN_FRAME.len() - 1);
        self.tail = joined[keep..].to_vec();
    }
}

type Shared = Arc<(Mutex<Output>, Condvar)>;

/// `patchdeck` running in a terminal of a given size, in its own empty home (HOME and
/// every XDG directory, see [`Scratch::home_env`]), so that no real config is read.
pub struct Console {
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    output: Shared,
    killer: Box<dyn ChildKiller + Send + Sync>,
    pid: u32,
    exit: mpsc::Receiver<ExitStatus>,
    exited: Option<ExitStatus>,
    home: Scratch,
}

impl Console {
    /// Start `patchdeck ARGS` in a `cols` x `rows` terminal.
    pub fn start(args: &[&str], cols: u16, rows: u16) -> Console {
        Console::start_with_env(args, cols, rows, &[])
    }

    /// The same with extra environment variables (e.g. PATCHDECK_TOKEN).
    pub fn start_with_env(args: &[&str], cols: u16, rows: u16, env: &[(&str, &str)]) -> Console {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pseudo-terminal");
        let home = Scratch::new("console");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_patchdeck"));
        command.args(args);
        command.cwd(home.path());
        command.env("TERM", "xterm-256color");
        for (key, value) in home.home_env() {
            command.env(key, value);
        }
        for key in UNSET {
            command.env_remove(key);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = pty
            .slave
            .spawn_command(command)
            .expect("start the patchdeck binary");
        // Only the child holds the terminal's other side now: its exit closes it.
        drop(pty.slave);
        let pid = child.process_id().expect("the child's pid");
        let killer = child.clone_killer();
        let (exit_tx, exit) = mpsc::channel();
        std::thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = exit_tx.send(status);
            }
        });

        let output: Shared = Arc::new((Mutex::new(Output::new(rows, cols)), Condvar::new()));
        let mut reader = pty.master.try_clone_reader().expect("read the terminal");
        let feed = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 16 * 1024];
            loop {
                let read = reader.read(&mut buffer);
                let (lock, signal) = &*feed;
                let mut out = lock.lock().unwrap_or_else(|e| e.into_inner());
                match read {
                    Ok(0) | Err(_) => {
                        out.closed = true;
                        signal.notify_all();
                        return;
                    }
                    Ok(n) => {
                        out.feed(&buffer[..n]);
                        signal.notify_all();
                    }
                }
            }
        });
        let writer = pty.master.take_writer().expect("write to the terminal");
        Console {
            master: pty.master,
            writer,
            output,
            killer,
            pid,
            exit,
            exited: None,
            home,
        }
    }

    /// The program's XDG_DATA_HOME (its audit log is under `patchdeck/`).
    pub fn data_home(&self) -> PathBuf {
        self.home.xdg("XDG_DATA_HOME")
    }

    fn lock(&self) -> MutexGuard<'_, Output> {
        self.output.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Type `keys` (bytes as a terminal sends them: "\r" is Enter, "\x1b" is Esc,
    /// "\t" is Tab).
    pub fn send(&mut self, keys: &str) {
        self.writer
            .write_all(keys.as_bytes())
            .and_then(|()| self.writer.flush())
            .expect("type into the terminal");
    }

    /// The screen as text, one line per row (as of the last whole frame).
    pub fn screen(&self) -> String {
        self.lock().shown.contents()
    }

    /// Where the cursor is (row, column), as of the last whole frame: where whatever
    /// runs next (the shell's prompt) writes.
    pub fn cursor(&self) -> (u16, u16) {
        self.lock().shown.cursor_position()
    }

    /// Everything the program wrote to the terminal so far.
    pub fn raw(&self) -> Vec<u8> {
        self.lock().raw.clone()
    }

    /// How many bytes the program has written so far (a mark for `wait_for_output`).
    pub fn output_len(&self) -> usize {
        self.lock().raw.len()
    }

    /// Wait until what the program wrote after the mark `since` satisfies `ready`.
    pub fn wait_for_output(&self, what: &str, since: usize, ready: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        let (_, signal) = &*self.output;
        let mut out = self.lock();
        loop {
            let written =
                String::from_utf8_lossy(&out.raw[since.min(out.raw.len())..]).into_owned();
            if ready(&written) {
                return;
            }
            let now = Instant::now();
            assert!(
                now < deadline && !out.closed,
                "never saw {what}; written since the mark: {written:?}"
            );
            out = signal
                .wait_timeout(out, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Wait until `ready(screen text)` holds; fails the test with the screen after
    /// [`PATIENCE`]. Returns the screen that satisfied it.
    pub fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        let (_, signal) = &*self.output;
        let mut out = self.lock();
        loop {
            let text = out.shown.contents();
            if ready(&text) {
                return text;
            }
            let now = Instant::now();
            if now >= deadline || out.closed {
                panic!(
                    "{} waiting for {what}; the screen:\n{text}",
                    if out.closed {
                        "the program closed its terminal"
                    } else {
                        "timed out"
                    }
                );
            }
            out = signal
                .wait_timeout(out, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Wait until the screen shows every one of `texts`.
    pub fn wait_for_text(&self, texts: &[&str]) -> String {
        self.wait_for(&format!("{texts:?}"), |screen| {
            texts.iter().all(|t| screen.contains(t))
        })
    }

    /// Wait until the screen no longer shows `text`.
    pub fn wait_for_no(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?} to go away"), |screen| {
            !screen.contains(text)
        })
    }

    /// Send a signal to the program.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the pid of a child we started and have not reaped.
        let sent = unsafe { libc::kill(self.pid as libc::pid_t, signal) };
        assert_eq!(sent, 0, "cannot signal the program");
    }

    /// Wait for the program to exit and for the terminal to have delivered all it
    /// wrote; returns its exit status. Fails the test after [`PATIENCE`].
    pub fn wait_exit(&mut self) -> ExitStatus {
        if let Some(status) = &self.exited {
            return status.clone();
        }
        let status = match self.exit.recv_timeout(PATIENCE) {
            Ok(status) => status,
            Err(_) => panic!("the program did not exit; the screen:\n{}", self.screen()),
        };
        self.exited = Some(status.clone());
        let deadline = Instant::now() + PATIENCE;
        let (_, signal) = &*self.output;
        let mut out = self.lock();
        while !out.closed {
            let now = Instant::now();
            assert!(now < deadline, "the terminal never closed after exit");
            out = signal
                .wait_timeout(out, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        status
    }

    /// Is the terminal back in cooked mode (canonical input and echo, as a shell
    /// expects it)? Raw mode clears both.
    pub fn is_cooked(&self) -> bool {
        let fd = self.master.as_raw_fd().expect("the terminal's descriptor");
        // SAFETY: tcgetattr fills a termios we own from an open descriptor.
        let mut termios: libc::termios = unsafe { std::mem::zeroed() };
        let got = unsafe { libc::tcgetattr(fd, &mut termios) };
        assert_eq!(got, 0, "cannot read the terminal's mode");
        termios.c_lflag & libc::ICANON != 0 && termios.c_lflag & libc::ECHO != 0
    }

    /// Is the program drawing on the alternate screen?
    pub fn in_alternate_screen(&self) -> bool {
        self.lock().shown.alternate_screen()
    }

    /// Resize the terminal (the program gets SIGWINCH).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        let mut out = self.lock();
        out.parser.screen_mut().set_size(rows, cols);
        out.shown = out.parser.screen().clone();
        drop(out);
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize the terminal");
    }

    /// Assert the program exited and left the terminal as it found it: the output ends
    /// with leaving the alternate screen and showing the cursor (a repeated "show
    /// cursor" after it is harmless and allowed), nothing is drawn after that, and raw
    /// mode is off.
    pub fn assert_restored(&mut self) {
        self.wait_exit();
        let raw = self.raw();
        let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(80)..]).into_owned();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let entered = text.rfind(ENTER_ALTERNATE);
        let left = text.rfind(LEAVE_ALTERNATE);
        assert!(
            entered.is_some(),
            "the program never entered the alternate screen"
        );
        assert!(
            left > entered,
            "the program did not leave the alternate screen at the end; output ends with {tail:?}"
        );
        let after = &text[left.unwrap_or_default() + LEAVE_ALTERNATE.len()..];
        assert!(
            after.starts_with(SHOW_CURSOR) && after.replace(SHOW_CURSOR, "").is_empty(),
            "after leaving the alternate screen the output must only show the cursor; it ends with {tail:?}"
        );
        assert!(!self.in_alternate_screen());
        assert!(self.is_cooked(), "the terminal was left in raw mode");
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if self.exited.is_none() && self.exit.try_recv().is_err() {
            let _ = self.killer.kill();
        }
    }
}
