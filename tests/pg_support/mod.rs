//! A throwaway PostgreSQL cluster for tests, started from the system's binaries
//! (`initdb`, `pg_ctl`, `createdb`, `psql` on PATH or in /usr/lib/postgresql/*/bin) in a
//! temporary directory, listening on a free 127.0.0.1 port, as a non-root user (initdb
//! refuses root: when the tests run as root, the cluster runs as `postgres` or
//! `nobody`). Dropping the cluster stops it and removes its directory.
//!
//! Without the binaries the tests print why they skip, unless `CI=true`: then they fail.
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Seconds `pg_ctl` may take to start or stop the cluster.
const DEADLINE_SECS: &str = "60";
/// The cluster's superuser.
pub const SUPERUSER: &str = "patchdeck";

pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
    /// uid and gid the server runs as (when the tests run as root).
    run_as: Option<(u32, u32)>,
}

/// Where `initdb` and friends are.
fn find_bin_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                // /usr/local/bin/initdb may be a link into the real bin directory,
                // where createdb and psql also are.
                let real = std::fs::canonicalize(dir.join("initdb")).ok()?;
                return real.parent().map(Path::to_path_buf);
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    versions.sort_by_key(|bin| {
        bin.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop()
}

/// uid and gid of the first of `names` that exists.
fn user_ids(names: &[&str]) -> Option<(u32, u32)> {
    for name in names {
        let c_name = std::ffi::CString::new(*name).ok()?;
        // SAFETY: getpwnam returns a pointer to static storage or null; read at once.
        let entry = unsafe { libc::getpwnam(c_name.as_ptr()) };
        if !entry.is_null() {
            // SAFETY: non-null, as checked.
            let entry = unsafe { &*entry };
            return Some((entry.pw_uid, entry.pw_gid));
        }
    }
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Cluster {
    /// Starts a cluster, or says why not: `None` means skip (no binaries, not in CI).
    pub fn start(name: &str) -> Option<Cluster> {
        let Some(bin) = find_bin_dir() else {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "CI=true but no PostgreSQL binaries (initdb, pg_ctl) were found on PATH or in \
                 /usr/lib/postgresql/*/bin: .ci/run installs the Debian `postgresql` package"
            );
            eprintln!(
                "SKIPPED: PostgreSQL store tests: no initdb/pg_ctl on PATH or in \
                 /usr/lib/postgresql/*/bin (install the `postgresql` package; with CI=true \
                 this fails instead)"
            );
            return None;
        };
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let run_as = if root {
            Some(user_ids(&["postgres", "nobody"]).expect("a non-root user to run postgres as"))
        } else {
            None
        };
        let dir = std::env::temp_dir().join(format!(
            "patchdeck-pg-{name}-{}-{}",
            std::process::id(),
            free_port()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cluster dir");
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown cluster dir");
        }
        let cluster = Cluster {
            bin,
            port: free_port(),
            dir,
            run_as,
        };
        let data = cluster.data_dir();
        cluster.run_server_tool(
            "initdb",
            &[
                "-D",
                data.to_str().expect("utf-8 path"),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        // Sockets in the cluster's own directory; TCP on loopback only. fsync is off:
        // this cluster is thrown away, and crash safety is PostgreSQL's own.
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=60",
            cluster.port,
            cluster.dir.display()
        );
        let log = cluster.dir.join("server.log");
        cluster.run_server_tool(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-t",
                DEADLINE_SECS,
                "-D",
                data.to_str().expect("utf-8 path"),
                "-l",
                log.to_str().expect("utf-8 path"),
                "-o",
                &options,
            ],
        );
        Some(cluster)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs a server-side tool as the cluster's user; panics with its output on failure.
    fn run_server_tool(&self, tool: &str, args: &[&str]) -> Output {
        let mut command = Command::new(self.bin.join(tool));
        command
            .args(args)
            .current_dir(&self.dir)
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid).env("HOME", &self.dir);
        }
        let output = command.output().unwrap_or_else(|e| panic!("{tool}: {e}"));
        if !output.status.success() {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            panic!(
                "{tool} {args:?} failed: {}\n{}\n{}\nserver log:\n{log}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        output
    }

    /// URL of database `db` as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub fn create_database(&self, db: &str) -> String {
        self.client_tool("createdb", &[db]);
        self.url(db)
    }

    /// Runs SQL in database `db` with psql; returns what it printed (unaligned, no
    /// headers).
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let output = self.client_tool(
            "psql",
            &[
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                db,
                "-c",
                sql,
            ],
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn client_tool(&self, tool: &str, args: &[&str]) -> Output {
        let port = self.port.to_string();
        let output = Command::new(self.bin.join(tool))
            .args(["-h", "127.0.0.1", "-p", &port, "-U", SUPERUSER])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            output.status.success(),
            "{tool} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        let mut command = Command::new(self.bin.join("pg_ctl"));
        command
            .args(["stop", "-m", "immediate", "-w", "-t", DEADLINE_SECS, "-D"])
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        let _ = command.status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
