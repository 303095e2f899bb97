//! The console learns that its gateway is degraded (its store refuses writes) from the
//! `patchdeck-gateway` header of its answers, even on a frozen fleet where no event
//! flows, and the header badge says DEGRADED.

#![cfg(unix)]

mod e2e_support;
mod gateway_support;

use chrono::Utc;
use e2e_support::{PATIENCE, Scratch};
use gateway_support::{ALICE, Gateway, post, write_tokens};
use patchdeck::api::client::Client;
use patchdeck::api::sync::spawn_sync;
use patchdeck::app::{App, Context, Msg, update};
use patchdeck::backend::{ActionCall, ActionRequest, GatewayHealth, Outcome, SyncUpdate};
use patchdeck::model::{Target, TargetKind, Verb};
use serde_json::json;
use tokio::sync::mpsc;

/// Take sync updates (into the app) until one says what the gateway is.
async fn next_gateway_word(
    updates: &mut mpsc::Receiver<SyncUpdate>,
    app: &mut App,
    awaited: &str,
) -> GatewayHealth {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let update = tokio::time::timeout_at(deadline, updates.recv())
            .await
            .unwrap_or_else(|_| panic!("no gateway word within {PATIENCE:?}: {awaited}"))
            .expect("the sync ended");
        let health = match &update {
            SyncUpdate::Gateway(health) => Some(*health),
            _ => None,
        };
        update_app(app, update);
        if let Some(health) = health {
            return health;
        }
    }
}

fn update_app(app: &mut App, update: SyncUpdate) {
    let _ = patchdeck::app::update(app, Msg::Sync(update));
}

fn console(url: &str) -> App {
    App::new(
        Context {
            name: "gateway".into(),
            api_url: url.to_string(),
            demo: false,
            read_only: false,
            insecure_http: false,
        },
        Default::default(),
        Utc::now(),
    )
}

#[tokio::test]
async fn a_degraded_gateway_is_shown_in_the_header_without_waiting_for_events() {
    let home = Scratch::new("console-gateway");
    let tokens = write_tokens(&home);
    let path = home.path().join("gateway.db");
    let writable = format!("sqlite:{}", path.display());
    let common = [
        "--tokens",
        tokens.to_str().unwrap(),
        "--hosts",
        "300",
        "--speed",
        "0",
    ];
    // A store with a fleet in it: the gateway says it is well.
    let first = Gateway::start(
        &home,
        &[&["--store", writable.as_str()][..], &common].concat(),
    );
    let paused = post(&first.url, ALICE, "/v1/rings/pilot/pause", None, json!({})).await;
    assert_eq!(paused.status, 200);
    let mut app = console(&first.url);
    {
        let client = Client::new(&first.url, Some(ALICE.to_string())).unwrap();
        let (tx, mut updates) = mpsc::channel(64);
        let _sync = spawn_sync(client, tx);
        assert_eq!(
            next_gateway_word(&mut updates, &mut app, "a well gateway").await,
            GatewayHealth::Ok
        );
        assert!(!app.gateway_degraded());
        assert!(app.flash.is_none(), "a well gateway is not announced");
    }
    assert!(first.stop().success());

    // The same store read-only: the fleet is frozen (--speed 0), no event will come;
    // the answers alone must tell the console.
    let read_only = format!("{writable}?mode=ro");
    let gateway = Gateway::start(
        &home,
        &[&["--store", read_only.as_str()][..], &common].concat(),
    );
    let client = Client::new(&gateway.url, Some(ALICE.to_string())).unwrap();
    let (tx, mut updates) = mpsc::channel(64);
    let _sync = spawn_sync(client.clone(), tx);
    let mut app = console(&gateway.url);
    assert_eq!(
        next_gateway_word(&mut updates, &mut app, "a read-only store").await,
        GatewayHealth::Degraded
    );
    assert!(app.gateway_degraded());
    let flash = app
        .flash
        .as_ref()
        .map(|f| f.text.clone())
        .unwrap_or_default();
    assert!(flash.contains("gateway DEGRADED"), "{flash}");
    let mut request = ActionRequest::new(
        Verb::Resume,
        Target {
            kind: TargetKind::Ring,
            id: "pilot".into(),
        },
    );
    request.reason = Some("store test".into());
    let outcome = tokio::time::timeout(
        PATIENCE,
        // The 503 carries Retry-After: answer the client's retries at once.
        client
            .clone()
            .with_sleeper(std::sync::Arc::new(|_| Box::pin(async {})))
            .act_outcome(&ActionCall {
                request,
                idempotency_key: "console-gateway-1".into(),
            }),
    )
    .await
    .expect("the action is answered");
    assert!(
        matches!(
            outcome,
            Outcome::Failed {
                status: Some(503),
                ..
            }
        ),
        "{outcome:?}"
    );

    let backend = ratatui::backend::TestBackend::new(80, 24);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    let _ = update(&mut app, Msg::Tick(Utc::now()));
    terminal
        .draw(|frame| patchdeck::ui::view(&app, &patchdeck::ui::Look::default(), frame))
        .unwrap();
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .take(80)
        .map(|cell| cell.symbol())
        .collect();
    assert!(screen.contains("DEGRADED"), "header: {screen}");
}
