//! Shared by the end-to-end and integration tests (e2e_*, actions_*, two_person,
//! server_cli): a scratch directory that is a started program's whole home (HOME and
//! every XDG directory: the one place that isolation is spelled), waits on child
//! processes with a deadline, the real binary in a pseudo-terminal (`pty`), `patchdeck
//! serve` as a child process (`serve`), and a simulated fleet served over 127.0.0.1
//! (`fleet`).
//! Each test file uses a part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod fleet;
pub mod pty;
pub mod serve;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long any one wait may take before the test fails (generous: debug builds on a
/// busy two-core machine). Nothing waits this long when all is well.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The directories a started program is given, relative to its home: HOME itself and
/// every XDG base directory, so that no real config, data, state, cache or runtime file
/// of whoever runs the tests is read or written.
pub const HOME_DIRS: [(&str, &str); 6] = [
    ("HOME", ""),
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_DATA_HOME", "data"),
    ("XDG_STATE_HOME", "state"),
    ("XDG_CACHE_HOME", "cache"),
    ("XDG_RUNTIME_DIR", "run"),
];

/// Variables of the test runner's environment a started program must not see.
pub const UNSET: [&str; 3] = ["PATCHDECK_TOKEN", "NO_COLOR", "RUST_BACKTRACE"];

/// A private directory under the system's temporary directory, removed when dropped.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    pub fn new(label: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!(
            "patchdeck-{label}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&path).expect("create a scratch directory");
        Scratch { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The environment that makes this directory a program's whole home: every
    /// variable of [`HOME_DIRS`], each a path under this directory.
    pub fn home_env(&self) -> Vec<(&'static str, PathBuf)> {
        HOME_DIRS
            .iter()
            .map(|(key, dir)| (*key, self.path.join(dir)))
            .collect()
    }

    /// The program's XDG directory `key` (e.g. "XDG_DATA_HOME").
    pub fn xdg(&self, key: &str) -> PathBuf {
        let (_, dir) = HOME_DIRS
            .iter()
            .find(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("{key} is not one of the isolated directories"));
        self.path.join(dir)
    }

    /// Make `command` run with this directory as its home and working directory, and
    /// without [`UNSET`].
    pub fn isolate<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command.current_dir(&self.path).envs(self.home_env());
        for key in UNSET {
            command.env_remove(key);
        }
        command
    }

    /// The real `patchdeck` binary, isolated in this directory.
    pub fn patchdeck(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_patchdeck"));
        self.isolate(&mut command);
        command
    }

    /// Write `text` to `name` in this directory with mode 0600; returns the path.
    pub fn write_private(&self, name: &str, text: &str) -> PathBuf {
        use std::io::Write;
        let path = self.path.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).expect("create a private file");
        file.write_all(text.as_bytes())
            .expect("write a private file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Run `command` to its end (stdin empty, stdout and stderr captured), failing the test
/// with `what` if it has not ended within [`PATIENCE`] (the program is killed then).
pub fn run_to_end(command: &mut Command, what: &str) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(PATIENCE) {
        Ok(output) => output.unwrap_or_else(|e| panic!("cannot read what {what} wrote: {e}")),
        Err(_) => {
            kill(pid);
            panic!("{what} did not end within {PATIENCE:?} (killed)");
        }
    }
}

/// Wait for `child` to exit, failing the test with `what` if it has not within
/// [`PATIENCE`] (it is killed then, so the test does not hang on it either).
pub fn wait_within(child: &mut Child, what: &str) -> ExitStatus {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let waited = std::thread::scope(|scope| {
        scope.spawn(|| {
            let _ = tx.send(child.wait());
        });
        let waited = rx.recv_timeout(PATIENCE);
        if waited.is_err() {
            // The waiting thread returns once the child is gone; the scope joins it.
            kill(pid);
        }
        waited
    });
    match waited {
        Ok(status) => status.unwrap_or_else(|e| panic!("cannot wait for {what}: {e}")),
        Err(_) => panic!("{what} did not exit within {PATIENCE:?} (killed)"),
    }
}

/// Wait until process `pid` catches `signal` (it has installed a handler), failing the
/// test naming `what` after [`PATIENCE`]. `patchdeck serve` installs its SIGTERM handler
/// only after printing "press Ctrl-C to stop", so a SIGTERM sent on that line can find
/// the default action and kill it. There is no event to wait on: this polls the
/// kernel's mask of caught signals (/proc/PID/status, Linux; elsewhere it returns).
pub fn wait_until_caught(pid: u32, signal: i32, what: &str) {
    let status = PathBuf::from(format!("/proc/{pid}/status"));
    if !status.exists() {
        return;
    }
    let deadline = std::time::Instant::now() + PATIENCE;
    let bit = 1u64 << (signal - 1);
    loop {
        let text = std::fs::read_to_string(&status).unwrap_or_default();
        let caught = text
            .lines()
            .find_map(|line| line.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .unwrap_or_default();
        if caught & bit != 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: signal {signal} was never caught within {PATIENCE:?}"
        );
        // Polling: a millisecond is long next to reading the file, short next to the
        // program's start-up.
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// SIGKILL a child that has not been reaped (its waiter is blocked on it).
fn kill(pid: u32) {
    // SAFETY: kill(2) on the pid of a child we started and have not reaped; at worst it
    // is a zombie, never another process.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

/// The lines a program writes, read by a thread so that each can be awaited with a
/// deadline; keeps every line received.
pub struct Lines {
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Lines {
    pub fn of(reader: impl Read + Send + 'static) -> Lines {
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Lines {
            lines,
            seen: Vec::new(),
        }
    }

    /// Read lines up to one starting with `prefix`; the rest of that line. Fails the
    /// test, naming `what` and the lines so far, after [`PATIENCE`] or at the end.
    pub fn after(&mut self, what: &str, prefix: &str) -> String {
        loop {
            let line = self.lines.recv_timeout(PATIENCE).unwrap_or_else(|e| {
                panic!(
                    "{what} never printed {prefix:?} ({e:?}); it printed {:?}",
                    self.seen
                )
            });
            self.seen.push(line.clone());
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.to_string();
            }
        }
    }
}
