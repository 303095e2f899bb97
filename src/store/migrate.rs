//! Schema migrations: embedded SQL, one file per engine per version, applied in order
//! when a store is opened, in one transaction. The versions applied are kept in
//! `patchdeck_schema`; a database with a version this binary does not know was written
//! by a newer patchdeck and is refused.

use super::error::StoreError;

/// One step of the schema.
pub(crate) struct Migration {
    pub version: i64,
    pub description: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Every migration, oldest first. A new one is appended here with its two files.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "gateway store",
        sqlite: include_str!("../../migrations/sqlite/0001_gateway_store.sql"),
        postgres: include_str!("../../migrations/postgres/0001_gateway_store.sql"),
    },
    Migration {
        version: 2,
        description: "exception terms",
        sqlite: include_str!("../../migrations/sqlite/0002_exception_terms.sql"),
        postgres: include_str!("../../migrations/postgres/0002_exception_terms.sql"),
    },
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Creates the table of applied versions (both engines take this SQL).
pub(crate) const CREATE_SCHEMA_TABLE: &str = "CREATE TABLE IF NOT EXISTS patchdeck_schema (\
     version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)";
pub(crate) const CURRENT_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM patchdeck_schema";
pub(crate) const RECORD_VERSION: &str =
    "INSERT INTO patchdeck_schema (version, description, applied_at_ms) VALUES ($1, $2, $3)";

/// The migrations to apply to a database at `found`, or why not.
pub(crate) fn pending(store: &str, found: i64) -> Result<&'static [Migration], StoreError> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            store: store.to_string(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    let first = MIGRATIONS
        .iter()
        .position(|m| m.version > found)
        .unwrap_or(MIGRATIONS.len());
    Ok(&MIGRATIONS[first..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_and_newer_is_refused() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        assert_eq!(pending("s", 0).unwrap().len(), MIGRATIONS.len());
        assert!(pending("s", SCHEMA_VERSION).unwrap().is_empty());
        assert!(matches!(
            pending("s", SCHEMA_VERSION + 1),
            Err(StoreError::NewerSchema { found, known, .. })
                if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION
        ));
    }
}
