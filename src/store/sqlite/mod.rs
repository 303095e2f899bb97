//! The embedded store: one SQLite file in WAL mode, one writer connection (writes are
//! serialised, readers never block it) and a few reader connections, used from
//! blocking threads.
//!
//! Durability: `synchronous=FULL`. In WAL mode `NORMAL` already survives `kill -9` of
//! the process (a committed transaction is in the WAL, in the OS's page cache), but may
//! lose the last transactions if the machine loses power; the gateway acknowledges an
//! action only once it is stored, so every commit waits for the WAL's fsync.

mod records;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::Utc;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use super::StoreResult;
use super::engine::{from_json, ms};
use super::error::StoreError;
use super::migrate;

/// How long a writer waits for another process's lock before the store is reported
/// unavailable.
const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// Reader connections (reads run beside the one writer).
const READERS: usize = 2;

/// The embedded SQLite store. Cheap to clone (shares its connections).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl SqliteStore {
    /// Opens (creating it and its directory if needed) and migrates the store at
    /// `path`; `read_only` opens it for reading only (writes are refused).
    pub async fn open(path: &Path, read_only: bool) -> StoreResult<SqliteStore> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(path, read_only))
            .await
            .map_err(|e| StoreError::Other {
                store: "sqlite".into(),
                detail: e.to_string(),
            })?
    }

    fn open_blocking(path: PathBuf, read_only: bool) -> StoreResult<SqliteStore> {
        let name = super::Location::Sqlite {
            path: path.clone(),
            read_only,
        }
        .to_string();
        if !read_only && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable {
                store: name.clone(),
                detail: format!("cannot create the directory {}: {e}", dir.display()),
            })?;
        }
        let rw = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        };
        let flags = rw | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let open = |flags: OpenFlags| -> StoreResult<Connection> {
            let conn = Connection::open_with_flags(&path, flags).map_err(|e| err(&name, e))?;
            conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| err(&name, e))?;
            Ok(conn)
        };
        let mut writer = open(flags)?;
        if !read_only {
            // Reading the header here is what finds a file that is not a database.
            let mode: String = writer
                .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
                .map_err(|e| err(&name, e))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Other {
                    store: name,
                    detail: format!("cannot use WAL mode (the file system gave `{mode}`)"),
                });
            }
            writer
                .execute_batch("PRAGMA synchronous=FULL;")
                .map_err(|e| err(&name, e))?;
        }
        migrate_blocking(&name, &mut writer, read_only)?;
        let reader_flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let readers = (0..READERS)
            .map(|_| open(reader_flags).map(Mutex::new))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                name,
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
            }),
        })
    }

    /// Runs `f` on the writer connection, on a blocking thread.
    pub(super) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&str, &mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .writer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&inner.name, &mut conn)
        })
        .await
        .map_err(|e| self.join_error(e))?
    }

    /// Runs `f` on one of the reader connections, on a blocking thread.
    pub(super) async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&str, &Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let index = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let conn = inner.readers[index]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&inner.name, &conn)
        })
        .await
        .map_err(|e| self.join_error(e))?
    }

    fn join_error(&self, error: tokio::task::JoinError) -> StoreError {
        StoreError::Other {
            store: self.inner.name.clone(),
            detail: format!("a store task failed: {error}"),
        }
    }
}

/// A rusqlite error as a store error.
pub(super) fn err(store: &str, error: rusqlite::Error) -> StoreError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let text = message.clone().unwrap_or_else(|| failure.to_string());
            StoreError::from_sqlite_code(store, failure.extended_code, &text)
        }
        _ => StoreError::Other {
            store: store.to_string(),
            detail: error.to_string(),
        },
    }
}

/// `$1` placeholders as SQLite's numbered `?1`.
pub(super) fn q(sql: &str) -> String {
    sql.replace('$', "?")
}

fn migrate_blocking(store: &str, conn: &mut Connection, read_only: bool) -> StoreResult<()> {
    let e = |error| err(store, error);
    if read_only {
        let found: i64 = conn
            .query_row(migrate::CURRENT_VERSION, [], |row| row.get(0))
            .map_err(e)?;
        if !migrate::pending(store, found)?.is_empty() {
            return Err(StoreError::ReadOnly {
                store: store.to_string(),
                detail: format!(
                    "its schema version {found} is older than {}: open it writable once to upgrade it",
                    migrate::SCHEMA_VERSION
                ),
            });
        }
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(e)?;
    tx.execute_batch(migrate::CREATE_SCHEMA_TABLE).map_err(e)?;
    let found: i64 = tx
        .query_row(migrate::CURRENT_VERSION, [], |row| row.get(0))
        .map_err(e)?;
    for migration in migrate::pending(store, found)? {
        tx.execute_batch(migration.sqlite).map_err(e)?;
        tx.execute(
            &q(migrate::RECORD_VERSION),
            params![migration.version, migration.description, ms(Utc::now())],
        )
        .map_err(e)?;
    }
    tx.commit().map_err(e)
}

pub(super) fn rows<T>(
    store: &str,
    conn: &Connection,
    query: &str,
    params: impl rusqlite::Params,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let mut statement = conn.prepare_cached(&q(query)).map_err(|e| err(store, e))?;
    let mapped = statement
        .query_map(params, map)
        .map_err(|e| err(store, e))?;
    mapped
        .collect::<rusqlite::Result<Vec<T>>>()
        .map_err(|e| err(store, e))
}

pub(super) fn bodies<T: serde::de::DeserializeOwned>(
    store: &str,
    what: &str,
    texts: Vec<String>,
) -> StoreResult<Vec<T>> {
    texts.iter().map(|t| from_json(store, what, t)).collect()
}
