//! `patchdeck serve` as a child process in its own home: the URL and token file it
//! prints, stopped with SIGTERM; every wait on it has a deadline.

use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};

use super::{Lines, Scratch, wait_until_caught, wait_within};

/// A `patchdeck serve` child process; killed if the test ends without stopping it.
pub struct Served {
    child: Child,
    /// What it printed on stdout so far.
    pub stdout: Lines,
    pub url: String,
    pub tokens_file: PathBuf,
    /// The directory of one `<name>.token` file per identity, as printed.
    pub token_dir: PathBuf,
    pub home: Scratch,
}

impl Served {
    /// `patchdeck serve --listen 127.0.0.1:0 ARGS`, up to its "press Ctrl-C" line.
    pub fn start(args: &[&str]) -> Served {
        let home = Scratch::new("serve");
        let (child, mut stdout, url) = spawn(&home, args);
        let tokens = stdout.after("serve", "tokens written to ");
        let path = tokens
            .strip_suffix(" (mode 0600)")
            .unwrap_or_else(|| panic!("unexpected line: {tokens}"));
        let tokens_file = PathBuf::from(path);
        let files = stdout.after("serve", "token files for --token-file in ");
        let (dir, _) = files
            .split_once(": ")
            .unwrap_or_else(|| panic!("unexpected line: {files}"));
        let token_dir = PathBuf::from(dir);
        stdout.after("serve", "press Ctrl-C to stop");
        Served {
            child,
            stdout,
            url,
            tokens_file,
            token_dir,
            home,
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM (once serve has a handler for it), then its exit status (within the
    /// patience).
    pub fn stop(&mut self) -> ExitStatus {
        terminate(&mut self.child)
    }
}

/// Starts `patchdeck serve --listen 127.0.0.1:0 ARGS` in `home`; returns it with its
/// stdout read up to the URL line, and the URL.
pub fn spawn(home: &Scratch, args: &[&str]) -> (Child, Lines, String) {
    let mut child = home
        .patchdeck()
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start patchdeck serve");
    let mut stdout = Lines::of(child.stdout.take().expect("its stdout"));
    let url = stdout
        .after("serve", "patchdeck API v1 at ")
        .trim()
        .to_string();
    (child, stdout, url)
}

/// SIGTERM to serve once it has a handler for it, then its exit status (within the
/// patience).
pub fn terminate(child: &mut Child) -> ExitStatus {
    wait_until_caught(child.id(), libc::SIGTERM, "serve's SIGTERM handler");
    // SAFETY: kill(2) on the pid of a child we started and have not reaped.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(sent, 0, "cannot signal serve");
    wait_within(child, "serve after SIGTERM")
}

impl Drop for Served {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
