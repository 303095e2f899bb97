//! A simulated fleet served over a real listener on 127.0.0.1, and a small HTTP client
//! that speaks as one of the generated identities (vera viewer, oscar operator, alice
//! and bob approvers). The simulator's clock is not started: the fleet changes only
//! when a test calls `advance`, so every test is deterministic. Every request and every
//! read of the event stream has a deadline ([`PATIENCE`]) and fails naming what it
//! waited for.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures_util::StreamExt;
use patchdeck::api::server::{Faults, Limits, RunningServer, ServerOptions, spawn};
use patchdeck::api::tokens::Tokens;
use patchdeck::api::wire::{PROBLEM_CONTENT_TYPE, Problem, ProblemType};
use patchdeck::model::Event;
use patchdeck::sim::{Scenario, SimConfig, Simulator};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

/// How long any one wait may take before the test fails (generous: debug builds on a
/// busy two-core machine). Nothing waits this long when all is well.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// `future`, or a failed test naming `what` after [`PATIENCE`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {PATIENCE:?} waiting for {what}"),
    }
}

pub struct Fleet {
    pub sim: Arc<Simulator>,
    pub server: RunningServer,
    pub tokens: Tokens,
    pub http: reqwest::Client,
}

pub fn config(hosts: usize, scenario: Scenario) -> SimConfig {
    SimConfig {
        hosts,
        seed: 7,
        scenario,
        start: Utc.with_ymd_and_hms(2026, 11, 10, 17, 0, 0).unwrap(),
    }
}

impl Fleet {
    pub async fn start(hosts: usize, scenario: Scenario) -> Fleet {
        Fleet::start_with(config(hosts, scenario), Faults::default()).await
    }

    pub async fn start_with(config: SimConfig, faults: Faults) -> Fleet {
        Fleet::start_limited(config, faults, Limits::default()).await
    }

    /// A fleet served under `limits` (small caps and chunks for the tests of bounds).
    pub async fn start_limited(config: SimConfig, faults: Faults, limits: Limits) -> Fleet {
        Fleet::start_options(config, |options| ServerOptions {
            faults,
            limits,
            ..options
        })
        .await
    }

    /// A fleet served with generated tokens and the options `adjust` makes of the
    /// defaults (faults, limits, a compliance policy...).
    pub async fn start_options(
        config: SimConfig,
        adjust: impl FnOnce(ServerOptions) -> ServerOptions,
    ) -> Fleet {
        let sim = Simulator::new(config);
        let tokens = Tokens::generate();
        let options = adjust(ServerOptions {
            tokens: tokens.clone(),
            ..ServerOptions::default()
        });
        let server = spawn(sim.clone(), options, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("listen on 127.0.0.1:0");
        Fleet {
            sim,
            server,
            tokens,
            // Every request made with it, also those a test builds with `request`,
            // ends within the patience (reqwest's error names the URL).
            http: reqwest::Client::builder()
                .timeout(PATIENCE)
                .build()
                .expect("an HTTP client"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url)
    }

    /// A request as `who` (a generated identity).
    pub fn request(&self, who: &str, method: Method, path: &str) -> RequestBuilder {
        let token = self.tokens.token_of(who).expect("known identity");
        self.http.request(method, self.url(path)).bearer_auth(token)
    }

    pub async fn get(&self, who: &str, path: &str) -> Response {
        let what = format!("the answer to GET {path}");
        within(&what, self.request(who, Method::GET, path).send())
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// GET, expect 200, parse JSON.
    pub async fn get_json(&self, who: &str, path: &str) -> Value {
        let response = self.get(who, path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        within(&format!("the body of GET {path}"), response.json())
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn post(&self, who: &str, path: &str, body: Value) -> Response {
        let what = format!("the answer to POST {path}");
        within(
            &what,
            self.request(who, Method::POST, path).json(&body).send(),
        )
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// POST with `If-Match: *` (any version), as destructive verbs require it.
    pub async fn post_any_version(&self, who: &str, path: &str, body: Value) -> Response {
        let what = format!("the answer to POST {path}");
        within(
            &what,
            self.request(who, Method::POST, path)
                .header("If-Match", "*")
                .json(&body)
                .send(),
        )
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// The audit trail, all of it.
    pub async fn actions(&self) -> Vec<Value> {
        let list = self.get_json("vera", "/v1/actions?limit=1000").await;
        list["items"].as_array().unwrap().clone()
    }

    /// Opens the event stream; `last_event_id` goes in the header, `since` in the query.
    pub async fn events(&self, since: Option<u64>, last_event_id: Option<u64>) -> Response {
        self.events_as("vera", since, last_event_id).await
    }

    /// Opens the event stream as `who`.
    pub async fn events_as(
        &self,
        who: &str,
        since: Option<u64>,
        last_event_id: Option<u64>,
    ) -> Response {
        let path = match since {
            Some(since) => format!("/v1/events?since={since}"),
            None => "/v1/events".to_string(),
        };
        let mut request = self.request(who, Method::GET, &path);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        within(&format!("the event stream at {path}"), request.send())
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
}

/// Reads `n` SSE events from a response; returns (id, event name, parsed Event). Each
/// event must come within [`PATIENCE`].
pub async fn read_events(response: Response, n: usize) -> Vec<(String, String, Event)> {
    use eventsource_stream::Eventsource;
    let mut stream = response.bytes_stream().eventsource();
    let mut events = Vec::with_capacity(n);
    while events.len() < n {
        let what = format!("event {} of {n} on the stream", events.len() + 1);
        let sse = within(&what, stream.next())
            .await
            .unwrap_or_else(|| panic!("the stream ended before {what}"))
            .expect("well-formed SSE");
        let event: Event = serde_json::from_str(&sse.data).expect("Event JSON");
        events.push((sse.id, sse.event, event));
    }
    events
}

/// Reads SSE events until the server ends the stream, which it must within
/// [`PATIENCE`].
pub async fn read_until_end(response: Response) -> Vec<Event> {
    use eventsource_stream::Eventsource;
    within("the server to end the event stream", async {
        let mut stream = response.bytes_stream().eventsource();
        let mut events = Vec::new();
        while let Some(Ok(sse)) = stream.next().await {
            events.push(serde_json::from_str(&sse.data).expect("Event JSON"));
        }
        events
    })
    .await
}

/// Checks an error response: status, problem+json, the type URI; returns the problem.
pub async fn expect_problem(response: Response, kind: ProblemType) -> Problem {
    assert_eq!(response.status().as_u16(), kind.status(), "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(content_type, PROBLEM_CONTENT_TYPE);
    let problem: Problem = within("a problem's body", response.json())
        .await
        .expect("problem JSON");
    assert_eq!(problem.problem_type, kind.uri());
    assert_eq!(problem.status, kind.status());
    problem
}
