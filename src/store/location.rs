//! Where a store is: `sqlite:PATH` (the default, a file under the XDG data directory)
//! or `postgres://user:password@host:port/db`. Shown without its password.

use std::fmt;
use std::path::PathBuf;

use super::error::StoreError;

/// File name of the default SQLite store in the data directory.
pub const DEFAULT_FILE: &str = "gateway.db";

#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file; `read_only` opens it for reading only (`sqlite:PATH?mode=ro`).
    Sqlite { path: PathBuf, read_only: bool },
    /// A PostgreSQL connection URL, as libpq takes it.
    Postgres { url: String },
}

impl Location {
    /// Parse `sqlite:PATH`, `sqlite://PATH`, `sqlite:PATH?mode=ro`, `postgres://...` or
    /// `postgresql://...`.
    pub fn parse(text: &str) -> Result<Location, StoreError> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let (path, query) = match rest.split_once('?') {
                Some((path, query)) => (path, Some(query)),
                None => (rest, None),
            };
            if path.is_empty() {
                return Err(StoreError::Url(format!(
                    "`{text}` names no file: use sqlite:PATH, e.g. sqlite:gateway.db"
                )));
            }
            let read_only = match query {
                None | Some("") | Some("mode=rw") | Some("mode=rwc") => false,
                Some("mode=ro") => true,
                Some(other) => {
                    return Err(StoreError::Url(format!(
                        "`{other}` in `{text}` is not understood: the only option is mode=ro"
                    )));
                }
            };
            return Ok(Location::Sqlite {
                path: PathBuf::from(path),
                read_only,
            });
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Location::Postgres {
                url: text.to_string(),
            });
        }
        Err(StoreError::Url(format!(
            "`{}` is not a store: use sqlite:PATH or postgres://user@host/db",
            redact(text)
        )))
    }

    /// The default store: `gateway.db` in the data directory (XDG on Linux).
    pub fn default_sqlite() -> Option<Location> {
        directories::ProjectDirs::from("", "", "patchdeck").map(|dirs| Location::Sqlite {
            path: dirs.data_dir().join(DEFAULT_FILE),
            read_only: false,
        })
    }

    pub fn engine(&self) -> &'static str {
        match self {
            Location::Sqlite { .. } => "sqlite",
            Location::Postgres { .. } => "postgres",
        }
    }
}

/// `sqlite:/var/lib/patchdeck/gateway.db`, `postgres://patchdeck@db:5432/patchdeck`.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite { path, read_only } => {
                write!(f, "sqlite:{}", path.display())?;
                if *read_only {
                    write!(f, "?mode=ro")?;
                }
                Ok(())
            }
            Location::Postgres { url } => write!(f, "{}", redact(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

/// The URL without its password (`postgres://user:***@host/db`) nor query (which may
/// carry one).
pub fn redact(url: &str) -> String {
    let without_query = url.split_once('?').map_or(url, |(base, _)| base);
    let Some((scheme, rest)) = without_query.split_once("://") else {
        return without_query.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(u, _)| u);
            let hidden = if user_info.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => without_query.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_with_or_without_slashes_and_read_only() {
        assert_eq!(
            Location::parse("sqlite:demo.db").unwrap(),
            Location::Sqlite {
                path: "demo.db".into(),
                read_only: false
            }
        );
        assert_eq!(
            Location::parse("sqlite:///var/lib/p.db?mode=ro").unwrap(),
            Location::Sqlite {
                path: "/var/lib/p.db".into(),
                read_only: true
            }
        );
        assert!(Location::parse("sqlite:").is_err());
        assert!(Location::parse("sqlite:x.db?cache=shared").is_err());
        assert!(Location::parse("mysql://x").is_err());
    }

    #[test]
    fn postgres_urls_are_shown_without_password() {
        let location = Location::parse("postgres://pd:s3cret@db:5432/patchdeck?sslmode=require")
            .expect("a postgres url");
        assert_eq!(location.to_string(), "postgres://pd:***@db:5432/patchdeck");
        assert_eq!(
            redact("postgresql://pd@db/patchdeck"),
            "postgresql://pd@db/patchdeck"
        );
        let refused = Location::parse("pg://u:pw@h/db").unwrap_err().to_string();
        assert!(!refused.contains("pw"), "{refused}");
    }
}
