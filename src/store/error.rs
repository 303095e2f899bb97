//! What can go wrong with a store, typed so that the gateway can refuse writes (and say
//! why) while reads keep working. Every message names the store; none carries a
//! password.

/// A store failure. `store` is the store as shown to people (`sqlite:/path`,
/// `postgres://user@host/db`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or opened, or is locked for too long.
    #[error("store {store} is unavailable: {detail}")]
    Unavailable { store: String, detail: String },
    /// The database takes no writes (a read-only file, mount or replica).
    #[error("store {store} is read-only, so writes are refused: {detail}")]
    ReadOnly { store: String, detail: String },
    /// The disk or the database's quota is full.
    #[error("store {store} is full (disk or quota), so writes are refused: {detail}")]
    Full { store: String, detail: String },
    /// The schema was written by a newer patchdeck.
    #[error(
        "store {store}: database schema version {found} is newer than this patchdeck knows ({known}): upgrade patchdeck"
    )]
    NewerSchema {
        store: String,
        found: i64,
        known: i64,
    },
    /// The file is damaged or is not a patchdeck database.
    #[error(
        "store {store} is corrupt or not a patchdeck database: {detail}; restore it from a backup or move it aside"
    )]
    Corrupt { store: String, detail: String },
    /// Someone else changed the record first (a stale version, a duplicate id).
    #[error("store {store}: {detail}")]
    Conflict { store: String, detail: String },
    /// A stored record that does not parse (written by another version?).
    #[error("store {store}: a stored record does not parse: {detail}")]
    Decode { store: String, detail: String },
    /// The store's address is wrong.
    #[error("{0}")]
    Url(String),
    /// Anything else the database said.
    #[error("store {store}: {detail}")]
    Other { store: String, detail: String },
}

impl StoreError {
    /// The store cannot take writes now: the gateway is degraded (refuses actions,
    /// keeps serving reads).
    pub fn refuses_writes(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable { .. }
                | StoreError::ReadOnly { .. }
                | StoreError::Full { .. }
                | StoreError::Corrupt { .. }
                | StoreError::NewerSchema { .. }
        )
    }

    /// A SQLite failure by its (extended) result code.
    pub(crate) fn from_sqlite_code(store: &str, code: i32, message: &str) -> StoreError {
        let store = store.to_string();
        let detail = message.to_string();
        match code & 0xff {
            // BUSY, LOCKED
            5 | 6 => StoreError::Unavailable {
                store,
                detail: format!("{detail} (another process holds the database)"),
            },
            // READONLY
            8 => StoreError::ReadOnly { store, detail },
            // CORRUPT, NOTADB
            11 | 26 => StoreError::Corrupt { store, detail },
            // FULL
            13 => StoreError::Full { store, detail },
            // IOERR, CANTOPEN, NOLFS, PERM
            10 | 14 | 22 | 3 => StoreError::Unavailable { store, detail },
            // CONSTRAINT
            19 => StoreError::Conflict { store, detail },
            _ => StoreError::Other { store, detail },
        }
    }

    /// A PostgreSQL failure by its SQLSTATE.
    pub(crate) fn from_sqlstate(store: &str, sqlstate: &str, message: &str) -> StoreError {
        let store = store.to_string();
        let detail = format!("{message} (SQLSTATE {sqlstate})");
        match sqlstate {
            "25006" => StoreError::ReadOnly { store, detail },
            "53100" => StoreError::Full { store, detail },
            "XX001" | "XX002" => StoreError::Corrupt { store, detail },
            "40001" | "40P01" => StoreError::Conflict { store, detail },
            s if s.starts_with("23") => StoreError::Conflict { store, detail },
            // connection, resources, operator intervention, auth, no such database
            s if s.starts_with("08")
                || s.starts_with("53")
                || s.starts_with("57")
                || s.starts_with("28")
                || s == "3D000" =>
            {
                StoreError::Unavailable { store, detail }
            }
            _ => StoreError::Other { store, detail },
        }
    }

    pub(crate) fn decode(store: &str, what: &str, error: impl std::fmt::Display) -> StoreError {
        StoreError::Decode {
            store: store.to_string(),
            detail: format!("{what}: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes_become_kinds_with_the_store_named() {
        let full = StoreError::from_sqlite_code("sqlite:/x.db", 13, "database or disk is full");
        assert!(matches!(full, StoreError::Full { .. }));
        assert!(full.refuses_writes());
        assert_eq!(
            full.to_string(),
            "store sqlite:/x.db is full (disk or quota), so writes are refused: database or disk is full"
        );
        // SQLITE_READONLY_DBMOVED is an extended code of READONLY.
        assert!(matches!(
            StoreError::from_sqlite_code("s", 8 | (4 << 8), "moved"),
            StoreError::ReadOnly { .. }
        ));
        assert!(matches!(
            StoreError::from_sqlite_code("s", 26, "file is not a database"),
            StoreError::Corrupt { .. }
        ));
    }

    #[test]
    fn sqlstates_become_kinds() {
        let read_only = StoreError::from_sqlstate("pg", "25006", "read-only transaction");
        assert!(matches!(read_only, StoreError::ReadOnly { .. }));
        assert!(matches!(
            StoreError::from_sqlstate("pg", "08006", "gone"),
            StoreError::Unavailable { .. }
        ));
        assert!(matches!(
            StoreError::from_sqlstate("pg", "23505", "duplicate"),
            StoreError::Conflict { .. }
        ));
        let newer = StoreError::NewerSchema {
            store: "sqlite:a.db".into(),
            found: 3,
            known: 1,
        };
        assert_eq!(
            newer.to_string(),
            "store sqlite:a.db: database schema version 3 is newer than this patchdeck knows (1): upgrade patchdeck"
        );
    }
}
