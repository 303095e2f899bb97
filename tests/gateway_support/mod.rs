//! The real `patchdeck serve` as a durable gateway: started on a given store with a
//! given token file, killed with SIGKILL or stopped with SIGTERM, and plain HTTP calls
//! with deadlines. Used by the gateway_* tests.

#![allow(dead_code)]

use std::process::Child;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use patchdeck::model::Event;
use serde_json::Value;

use crate::e2e_support::{Lines, PATIENCE, Scratch, serve, wait_within};

pub const ALICE: &str = "alice-token-0123456789abcdef";
pub const BOB: &str = "bob-token-0123456789abcdefgh";

/// A token file of two approvers, alice and bob.
pub fn write_tokens(home: &Scratch) -> std::path::PathBuf {
    home.write_private(
        "tokens.toml",
        &format!(
            "[[token]]\nname = \"alice\"\nrole = \"approver\"\ntoken = \"{ALICE}\"\n\n\
             [[token]]\nname = \"bob\"\nrole = \"approver\"\ntoken = \"{BOB}\"\n"
        ),
    )
}

/// The arguments of a gateway on its own SQLite store in `home`, with the token file
/// of [`write_tokens`], then `extra`: the same on every restart.
pub fn on_sqlite(home: &Scratch, extra: &[&str]) -> Vec<String> {
    let tokens = write_tokens(home);
    let mut args = vec![
        "--store".to_string(),
        sqlite_url(home),
        "--tokens".to_string(),
        tokens.display().to_string(),
    ];
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args
}

/// The URL of the SQLite store [`on_sqlite`] gives a gateway in `home`.
pub fn sqlite_url(home: &Scratch) -> String {
    format!("sqlite:{}", home.path().join("gateway.db").display())
}

/// One `patchdeck serve` process.
pub struct Gateway {
    child: Child,
    pub stdout: Lines,
    pub url: String,
}

impl Gateway {
    /// Starts serve in `home` on an ephemeral port with `args`; returns once it serves.
    pub fn start(home: &Scratch, args: &[impl AsRef<str>]) -> Gateway {
        let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        let (child, mut stdout, url) = serve::spawn(home, &args);
        stdout.after("serve", "press Ctrl-C to stop");
        Gateway { child, stdout, url }
    }

    /// The line serve printed about its store.
    pub fn store_line(&self) -> String {
        self.stdout
            .seen
            .iter()
            .find(|line| line.starts_with("store "))
            .cloned()
            .unwrap_or_default()
    }

    /// SIGKILL, as the OOM killer would; returns once it is gone.
    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL serve");
        wait_within(&mut self.child, "serve after SIGKILL");
    }

    /// Waits for it to exit on its own (e.g. an injected abort); its exit status.
    pub fn wait_exit(mut self) -> std::process::ExitStatus {
        wait_within(&mut self.child, "serve to exit")
    }

    /// SIGTERM; its exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        serve::terminate(&mut self.child)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer: status, headers, JSON body.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap()
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("a body within the patience");
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

pub async fn get(url: &str, token: &str, path: &str) -> Answer {
    let response = client()
        .get(format!("{url}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    answer(response).await
}

pub async fn post(url: &str, token: &str, path: &str, key: Option<&str>, body: Value) -> Answer {
    try_post(url, token, path, key, body)
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

/// A POST that may get no answer (the server died on it).
pub async fn try_post(
    url: &str,
    token: &str,
    path: &str,
    key: Option<&str>,
    body: Value,
) -> Result<Answer, reqwest::Error> {
    // Any version: these tests are about durability, not about stale views.
    let mut request = client()
        .post(format!("{url}{path}"))
        .bearer_auth(token)
        .header("If-Match", "*")
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await?;
    Ok(Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    })
}

/// `GET /v1/health` (no token).
pub async fn health(url: &str) -> Value {
    get(url, "", "/v1/health").await.body
}

/// The fleet clock (of `GET /v1/summary`).
pub async fn fleet_now(url: &str) -> chrono::DateTime<chrono::Utc> {
    let summary = get(url, ALICE, "/v1/summary").await.body;
    summary["now"]
        .as_str()
        .and_then(|now| now.parse().ok())
        .unwrap_or_else(|| panic!("a fleet clock in {summary}"))
}

/// Polls `path` on `url` until `check` holds, within the patience.
pub async fn until(url: &str, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Answer {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let answer = get(url, ALICE, path).await;
        if check(&answer.body) {
            return answer;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: last {}",
            answer.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A console's event stream: reads `/v1/events` in the background and, as a console
/// does, reconnects with `Last-Event-ID` of the last event it saw when the stream ends.
pub struct Watcher {
    received: tokio::sync::mpsc::UnboundedReceiver<Event>,
    task: tokio::task::JoinHandle<()>,
    /// Every event received so far, in order.
    pub seen: Vec<Event>,
}

impl Watcher {
    pub fn start(url: &str, last_event_id: u64) -> Watcher {
        let (tx, received) = tokio::sync::mpsc::unbounded_channel();
        let url = url.to_string();
        let task = tokio::spawn(async move {
            let mut last = last_event_id;
            let client = reqwest::Client::new();
            loop {
                let response = client
                    .get(format!("{url}/v1/events"))
                    .bearer_auth(ALICE)
                    .header("Last-Event-ID", last.to_string())
                    .send()
                    .await;
                if let Ok(response) = response
                    && response.status().is_success()
                {
                    let mut stream = response.bytes_stream().eventsource();
                    while let Some(Ok(sse)) = stream.next().await {
                        let Ok(event) = serde_json::from_str::<Event>(&sse.data) else {
                            continue;
                        };
                        last = event.seq;
                        if tx.send(event).is_err() {
                            return;
                        }
                    }
                }
                // Reconnect after a pause, as a console does.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        });
        Watcher {
            received,
            task,
            seen: Vec::new(),
        }
    }

    /// Waits until an event with a sequence of at least `seq` came, within the patience.
    pub async fn through(&mut self, seq: u64) -> &[Event] {
        while self.seen.last().is_none_or(|e| e.seq < seq) {
            let event = tokio::time::timeout(PATIENCE, self.received.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no event {seq} within the patience; last seen {:?}",
                        self.seen.last().map(|e| e.seq)
                    )
                })
                .expect("the watcher runs");
            self.seen.push(event);
        }
        &self.seen
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The sequence the fleet is at (of `GET /v1/actions`).
pub async fn sequence(url: &str) -> u64 {
    get(url, ALICE, "/v1/actions").await.body["sequence"]
        .as_u64()
        .expect("a sequence")
}

/// Events after `last_event_id` through `through` (resuming as a console does), each
/// within the patience.
pub async fn events(url: &str, last_event_id: u64, through: u64) -> Vec<Event> {
    let response = client()
        .get(format!("{url}/v1/events"))
        .bearer_auth(ALICE)
        .header("Last-Event-ID", last_event_id.to_string())
        .send()
        .await
        .expect("the event stream");
    assert_eq!(response.status().as_u16(), 200, "the event stream opens");
    let mut stream = response.bytes_stream().eventsource();
    let mut events = Vec::new();
    while events.last().is_none_or(|e: &Event| e.seq < through) {
        let sse = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no event after {events:?} within the patience"))
            .expect("the stream goes on")
            .expect("well-formed SSE");
        events.push(serde_json::from_str(&sse.data).expect("Event JSON"));
    }
    events
}
