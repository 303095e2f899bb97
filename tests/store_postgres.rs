//! The PostgreSQL store, with the real engine: a throwaway cluster started from the
//! system's binaries (tests/pg_support), the shared contract run against a fresh
//! database per case, then what only a server can do (be read-only, be unreachable,
//! take two gateways migrating at once).
//!
//! One test runs everything in order so that the cluster is stopped when it ends.
//! Without PostgreSQL binaries it prints why it skips, unless CI=true: then it fails.

mod pg_support;
mod store_contract;

use patchdeck::store::{AnyStore, Location, SCHEMA_VERSION, Store, StoreError, bench};
use pg_support::Cluster;
use store_contract::{Fixture, audit_entry};

struct PgDatabase {
    url: String,
}

impl Fixture for PgDatabase {
    async fn open(&self) -> AnyStore {
        AnyStore::open(&Location::Postgres {
            url: self.url.clone(),
        })
        .await
        .expect("open the PostgreSQL store")
    }
}

macro_rules! pg_cases {
    ($($case:ident),* $(,)?) => {
        async fn contract(cluster: &Cluster) {
            $(
                let db = PgDatabase { url: cluster.create_database(stringify!($case)) };
                eprintln!("postgres contract: {}", stringify!($case));
                store_contract::$case(&db).await;
            )*
        }
    };
}

store_contract_cases!(pg_cases);

#[test]
fn postgres_store() {
    let Some(cluster) = Cluster::start("store") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        contract(&cluster).await;
        schema_is_current_and_newer_is_refused(&cluster).await;
        gateways_starting_together_migrate_once(&cluster).await;
        a_read_only_database_keeps_reading_and_refuses_writes(&cluster).await;
        an_unreachable_database_is_unavailable_and_named_without_password(&cluster).await;
        bench_runs(&cluster).await;
    });
    drop(runtime);
    drop(cluster);
}

async fn schema_is_current_and_newer_is_refused(cluster: &Cluster) {
    let db = PgDatabase {
        url: cluster.create_database("newer"),
    };
    let store = db.open().await;
    assert_eq!(store.engine(), "postgres");
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    store.close().await;
    cluster.psql(
        "newer",
        &format!(
            "INSERT INTO patchdeck_schema (version, description, applied_at_ms) VALUES ({}, 'future', 0)",
            SCHEMA_VERSION + 1
        ),
    );
    let error = AnyStore::open(&Location::Postgres {
        url: db.url.clone(),
    })
    .await
    .err()
    .expect("a newer schema is refused");
    assert!(matches!(error, StoreError::NewerSchema { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&format!(
            "database schema version {} is newer than this patchdeck knows ({SCHEMA_VERSION}): upgrade patchdeck",
            SCHEMA_VERSION + 1
        )),
        "{error}"
    );
}

async fn gateways_starting_together_migrate_once(cluster: &Cluster) {
    let db = PgDatabase {
        url: cluster.create_database("together"),
    };
    let (a, b, c) = tokio::join!(db.open(), db.open(), db.open());
    for store in [&a, &b, &c] {
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    }
    assert_eq!(
        cluster.psql("together", "SELECT COUNT(*) FROM patchdeck_schema"),
        SCHEMA_VERSION.to_string()
    );
}

async fn a_read_only_database_keeps_reading_and_refuses_writes(cluster: &Cluster) {
    let db = PgDatabase {
        url: cluster.create_database("readonly"),
    };
    let store = db.open().await;
    store.append_audit(&audit_entry(1, 200)).await.unwrap();
    store.close().await;
    cluster.psql(
        "postgres",
        "ALTER DATABASE readonly SET default_transaction_read_only = on",
    );
    let store = db.open().await;
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
}

async fn an_unreachable_database_is_unavailable_and_named_without_password(cluster: &Cluster) {
    // A port nothing listens on (the cluster's port + 1 may be taken; bind to learn a
    // free one and let it go).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_ne!(port, cluster.port);
    let url = format!("postgres://patchdeck:hunter2@127.0.0.1:{port}/patchdeck?connect_timeout=5");
    let error = AnyStore::open(&Location::Postgres { url })
        .await
        .err()
        .expect("nothing listens there");
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "store postgres://patchdeck:***@127.0.0.1:{port}/patchdeck is unavailable"
        )),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

async fn bench_runs(cluster: &Cluster) {
    let db = PgDatabase {
        url: cluster.create_database("bench"),
    };
    let store = db.open().await;
    // PATCHDECK_STORE_BENCH=N measures N actions and N event appends (10 by default).
    let n = std::env::var("PATCHDECK_STORE_BENCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let result = bench::measure(&store, n, n).await.unwrap();
    assert!(result.actions_per_sec > 0.0);
    println!("{result}");
}
