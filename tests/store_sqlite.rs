//! The SQLite store, with the real engine: the shared contract, and what only a file
//! can do (be corrupt, be read-only, survive its process being killed).

mod store_contract;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use patchdeck::store::{AnyStore, Location, SCHEMA_VERSION, Store, StoreError, bench};
use store_contract::{Fixture, Scratch, audit_entry};

struct SqliteFile {
    _dir: Scratch,
    path: PathBuf,
}

impl SqliteFile {
    fn new(name: &str) -> SqliteFile {
        let dir = Scratch::new(name);
        let path = dir.path().join("nested").join("gateway.db");
        SqliteFile { _dir: dir, path }
    }

    fn location(&self, read_only: bool) -> Location {
        Location::Sqlite {
            path: self.path.clone(),
            read_only,
        }
    }
}

impl Fixture for SqliteFile {
    async fn open(&self) -> AnyStore {
        AnyStore::open(&self.location(false))
            .await
            .expect("open the SQLite store")
    }
}

macro_rules! sqlite_cases {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let file = SqliteFile::new(stringify!($case));
                store_contract::$case(&file).await;
            }
        )*
    };
}

store_contract_cases!(sqlite_cases);

#[tokio::test]
async fn the_url_opens_a_file_and_the_schema_is_current() {
    let file = SqliteFile::new("url");
    let url = format!("sqlite:{}", file.path.display());
    let store = AnyStore::open_url(Some(&url)).await.expect("open by url");
    assert_eq!(store.engine(), "sqlite");
    assert_eq!(store.name(), url);
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    let refused = AnyStore::open_url(Some("mysql://db/patchdeck")).await;
    assert!(matches!(refused, Err(StoreError::Url(_))));
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let file = SqliteFile::new("newer");
    file.open().await.close().await;
    let conn = rusqlite::Connection::open(&file.path).unwrap();
    conn.execute(
        "INSERT INTO patchdeck_schema (version, description, applied_at_ms) VALUES (?1, 'future', 0)",
        [SCHEMA_VERSION + 1],
    )
    .unwrap();
    drop(conn);
    let error = AnyStore::open(&file.location(false))
        .await
        .err()
        .expect("a newer schema is refused");
    assert!(matches!(error, StoreError::NewerSchema { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "database schema version {} is newer than this patchdeck knows ({SCHEMA_VERSION}): upgrade patchdeck",
            SCHEMA_VERSION + 1
        )),
        "{message}"
    );
    assert!(
        message.contains(&file.path.display().to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn a_corrupt_file_gives_a_clear_error() {
    let file = SqliteFile::new("corrupt");
    std::fs::create_dir_all(file.path.parent().unwrap()).unwrap();
    std::fs::write(&file.path, "this is not a database\n".repeat(400)).unwrap();
    let error = AnyStore::open(&file.location(false))
        .await
        .err()
        .expect("a corrupt file is refused");
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "store sqlite:{} is corrupt or not a patchdeck database",
            file.path.display()
        )),
        "{message}"
    );
    assert!(message.contains("restore it from a backup"), "{message}");
    // The file was not touched.
    assert!(
        std::fs::read_to_string(&file.path)
            .unwrap()
            .starts_with("this is not")
    );
}

#[tokio::test]
async fn a_read_only_store_keeps_reading_and_refuses_writes() {
    let file = SqliteFile::new("read-only");
    let store = file.open().await;
    store.append_audit(&audit_entry(1, 200)).await.unwrap();
    store.close().await;
    let store = AnyStore::open(&file.location(true))
        .await
        .expect("open read-only");
    assert_eq!(store.audit_after(0, 10).await.unwrap().len(), 1);
    let error = store.append_audit(&audit_entry(2, 200)).await.unwrap_err();
    assert!(matches!(error, StoreError::ReadOnly { .. }), "{error:?}");
    assert!(error.refuses_writes());
    assert!(
        error
            .to_string()
            .contains("is read-only, so writes are refused"),
        "{error}"
    );
    assert_eq!(store.audit_after(0, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_missing_read_only_file_is_unavailable() {
    let file = SqliteFile::new("missing");
    let error = AnyStore::open(&file.location(true)).await.err().unwrap();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
}

/// Env var that turns [`child_writes_until_killed`] into the writer of the kill test.
const CHILD_ENV: &str = "PATCHDECK_STORE_KILL_CHILD";

/// Not a test of its own: the writer that [`acknowledged_writes_survive_sigkill`] runs
/// in a child process. Prints `acked N` after each write returned.
#[test]
fn child_writes_until_killed() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let location = Location::Sqlite {
            path: PathBuf::from(path),
            read_only: false,
        };
        let store = AnyStore::open(&location).await.unwrap();
        for n in 1..=100_000u32 {
            store.append_audit(&audit_entry(n, 200)).await.unwrap();
            store
                .put_action(&store_contract::action(
                    &format!("act-{n:06}"),
                    1,
                    patchdeck::model::ActionState::Succeeded,
                ))
                .await
                .unwrap();
            println!("acked {n}");
        }
    });
}

fn spawn_child(path: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writes_until_killed", "--nocapture"])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the writer")
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    let file = SqliteFile::new("sigkill");
    file.open().await.close().await;
    let mut child = spawn_child(&file.path);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("acked ")
                && tx.send(n.parse::<u32>().unwrap()).is_err()
            {
                break;
            }
        }
    });
    // Kill it right after an acknowledgement, while it is writing the next ones.
    let mut acked = 0;
    while acked < 25 {
        acked = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the writer acknowledges writes");
    }
    // SAFETY: kill on our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGKILL);
    }
    child.wait().unwrap();
    while let Ok(n) = rx.try_recv() {
        acked = acked.max(n);
    }

    let store = file.open().await;
    let audit = store.audit_after(0, 200_000).await.unwrap();
    assert!(
        audit.len() >= acked as usize,
        "{acked} writes acknowledged, {} kept",
        audit.len()
    );
    for (n, audited) in audit.iter().enumerate() {
        assert_eq!(audited.entry, audit_entry(n as u32 + 1, 200));
    }
    let actions = store.actions().await.unwrap();
    assert!(actions.len() >= acked as usize);
    // The file is whole: more writes go in.
    store.append_audit(&audit_entry(0, 500)).await.unwrap();
}

#[tokio::test]
async fn the_bench_measures_actions_and_event_appends() {
    let file = SqliteFile::new("bench");
    let store = file.open().await;
    // PATCHDECK_STORE_BENCH=N measures N actions and N event appends (10 by default).
    let n = std::env::var("PATCHDECK_STORE_BENCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let result = bench::measure(&store, n, n).await.unwrap();
    assert!(result.actions_per_sec > 0.0);
    assert!(result.event_append_p99 >= result.event_append_p50);
    assert_eq!(store.event_bounds().await.unwrap().last, n as u64);
    println!("{result}");
}
