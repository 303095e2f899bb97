//! The real `patchdeck serve --scenario bad-patch --notify URL`, its clock fast, posts
//! Pilot's threshold halt to a webhook receiver on 127.0.0.1 (an axum server in the
//! test); `GET /v1/health` then says what the receiver had.

mod e2e_support;

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use tokio::sync::mpsc;

use e2e_support::serve::Served;

/// Long enough for the fast clock to reach the halt on a slow, shared machine.
const HALT_PATIENCE: Duration = Duration::from_secs(120);

async fn hook(
    State(got): State<mpsc::UnboundedSender<serde_json::Value>>,
    Json(body): Json<serde_json::Value>,
) -> StatusCode {
    let _ = got.send(body);
    StatusCode::OK
}

#[test]
fn serve_posts_the_bad_patch_halt_to_the_receiver() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (got, mut taken) = mpsc::unbounded_channel();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a port");
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(got);
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let mut served = Served::start(&[
        "--scenario",
        "bad-patch",
        "--hosts",
        "400",
        "--speed",
        "3000",
        "--log-format",
        "off",
        "--notify",
        &url,
    ]);
    let halt = runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + HALT_PATIENCE;
        loop {
            let body = tokio::time::timeout_at(deadline, taken.recv())
                .await
                .expect("the halt within the patience")
                .expect("the receiver runs");
            if body["kind"] == "deployment-halted" {
                return body;
            }
        }
    });
    assert_eq!(halt["schema"], "patchdeck.notice/1");
    assert_eq!(halt["ring"]["name"], "Pilot", "{halt}");
    assert!(
        halt["cause"]
            .as_str()
            .is_some_and(|c| c.starts_with("failure threshold")),
        "{halt}"
    );
    let health: serde_json::Value = runtime.block_on(async {
        reqwest::get(format!("{}/v1/health", served.url))
            .await
            .expect("GET /v1/health")
            .json()
            .await
            .expect("JSON")
    });
    let receivers = health["notify"].as_array().expect("notify in the health");
    assert_eq!(receivers.len(), 1, "{health}");
    assert!(receivers[0]["delivered"].as_u64().unwrap() >= 1, "{health}");
    assert_eq!(receivers[0]["given_up"], 0, "{health}");
    assert!(served.stop().success());
}
