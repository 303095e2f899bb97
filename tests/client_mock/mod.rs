//! A small scripted API v1 server on 127.0.0.1 for the client and sync tests: exact
//! control of faults (a stream cut after N events, a 410, a 429 with Retry-After,
//! malformed events, a silent stream) that the real server would make hard to hit.
//!
//! The mock's truth is `base` (the fleet at sequence 0) plus its event `log`; lists are
//! served as they were at `listed_at`.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use patchdeck::api::client::Sleeper;
use patchdeck::api::wire::{List, Problem, ProblemType};
use patchdeck::model::{
    Action, Change, Event, Fleet, Host, Identity, Role, Seq, Summary, Target, TargetKind, Verb,
};
use serde_json::json;

/// What one `GET /v1/events` connection does.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Send the log after `since - back` (a replay overlap when `back > 0`), at most
    /// `count` events (all if `None`), then `end`.
    Stream {
        back: u64,
        count: Option<usize>,
        end: End,
        /// Lists from now on are served at this sequence.
        relist_at: Option<Seq>,
    },
    /// Answer with this status (a problem body); `relist_at` moves the lists forward.
    Status {
        status: u16,
        retry_after: Option<u64>,
        relist_at: Option<Seq>,
    },
}

#[derive(Debug, Clone)]
pub enum End {
    /// Close the stream.
    Close,
    /// Stay open, silent, for ever.
    Hang,
    /// Send these raw bytes, then close.
    Raw(String),
    /// Send these raw bytes, then stay open.
    RawThenHang(String),
}

impl Plan {
    pub fn all_then_hang() -> Plan {
        Plan::Stream {
            back: 0,
            count: None,
            end: End::Hang,
            relist_at: None,
        }
    }
    pub fn cut_after(count: usize) -> Plan {
        Plan::Stream {
            back: 0,
            count: Some(count),
            end: End::Close,
            relist_at: None,
        }
    }
    pub fn gone(relist_at: Seq) -> Plan {
        Plan::Status {
            status: 410,
            retry_after: None,
            relist_at: Some(relist_at),
        }
    }
    pub fn status(status: u16, retry_after: Option<u64>) -> Plan {
        Plan::Status {
            status,
            retry_after,
            relist_at: None,
        }
    }
}

/// How a `POST` action is answered.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with the recorded action.
    Act,
    /// A problem with this status.
    Status {
        status: u16,
        retry_after: Option<u64>,
        problem: Option<Problem>,
    },
    /// A body that is not JSON.
    Garbage(u16, &'static str),
    /// Never answer.
    Hang,
}

/// One request the mock saw.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub last_event_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub if_match: Option<String>,
    pub authorization: Option<String>,
    pub body: String,
}

#[derive(Default)]
pub struct Script {
    pub base: Fleet,
    pub log: Vec<Event>,
    pub listed_at: Seq,
    /// Per-resource list sequence overriding `listed_at`.
    pub list_sequence: HashMap<String, Seq>,
    /// Hosts per page (the client asks for 1000).
    pub page_size: Option<usize>,
    pub plans: VecDeque<Plan>,
    pub answers: VecDeque<Answer>,
    /// Answers to `/v1/me` (default: 200).
    pub me_answers: VecDeque<u16>,
    pub seen: Vec<Seen>,
}

impl Script {
    /// The fleet after the first `seq` events of the log.
    pub fn fleet_at(&self, seq: Seq) -> Fleet {
        let mut fleet = self.base.clone();
        for event in self.log.iter().filter(|e| e.seq <= seq) {
            fleet.apply(event.clone());
        }
        fleet.sequence = seq;
        fleet
    }

    pub fn last_seq(&self) -> Seq {
        self.log.last().map(|e| e.seq).unwrap_or_default()
    }
}

#[derive(Clone)]
pub struct Mock {
    pub script: Arc<Mutex<Script>>,
    pub url: String,
}

impl Mock {
    /// Serve `script` on 127.0.0.1 on an ephemeral port.
    pub async fn start(script: Script) -> Mock {
        let script = Arc::new(Mutex::new(script));
        let app = Router::new()
            .route("/v1/me", get(serve_me))
            .route("/v1/summary", get(serve_summary))
            .route("/v1/hosts/{id}", get(serve_host))
            .route("/v1/events", get(serve_events))
            .route("/v1/emergency", post(serve_emergency))
            .route("/v1/{collection}", get(serve_list))
            .route("/v1/{collection}/{id}/{verb}", post(serve_act))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Mock {
            script,
            url: format!("http://{addr}"),
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Script) -> T) -> T {
        f(&mut self.script.lock().unwrap())
    }

    pub fn seen(&self, path: &str) -> Vec<Seen> {
        self.with(|s| s.seen.iter().filter(|r| r.path == path).cloned().collect())
    }
}

type Shared = State<Arc<Mutex<Script>>>;

fn record(
    script: &mut Script,
    method: &str,
    path: String,
    query: HashMap<String, String>,
    headers: &HeaderMap,
    body: String,
) {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    script.seen.push(Seen {
        method: method.to_string(),
        path,
        query,
        last_event_id: text("last-event-id"),
        idempotency_key: text("idempotency-key"),
        if_match: text("if-match"),
        authorization: text("authorization"),
        body,
    });
}

fn problem_response(status: u16, retry_after: Option<u64>, problem: Option<Problem>) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    let problem = problem.unwrap_or_else(|| {
        let kind = ProblemType::ALL
            .into_iter()
            .find(|t| t.status() == status.as_u16())
            .unwrap_or(ProblemType::Internal);
        Problem::new(kind, status.canonical_reason().unwrap_or("error"))
    });
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_string(&problem).unwrap(),
    )
        .into_response();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, secs.to_string().parse().unwrap());
    }
    response
}

async fn serve_me(State(script): Shared, headers: HeaderMap) -> Response {
    let mut script = script.lock().unwrap();
    record(
        &mut script,
        "GET",
        "/v1/me".into(),
        HashMap::new(),
        &headers,
        String::new(),
    );
    match script.me_answers.pop_front() {
        Some(status) if status != 200 => problem_response(status, None, None),
        _ => axum::Json(Identity::new("alice", Role::Approver)).into_response(),
    }
}

async fn serve_summary(State(script): Shared, headers: HeaderMap) -> Response {
    let mut script = script.lock().unwrap();
    record(
        &mut script,
        "GET",
        "/v1/summary".into(),
        HashMap::new(),
        &headers,
        String::new(),
    );
    let fleet = script.fleet_at(script.listed_at);
    let sequence = script
        .list_sequence
        .get("summary")
        .copied()
        .unwrap_or(script.listed_at);
    let mut response = axum::Json(fleet.summary.expect("mock fleet has a summary")).into_response();
    response
        .headers_mut()
        .insert("patchdeck-sequence", sequence.to_string().parse().unwrap());
    response
}

async fn serve_host(State(script): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let mut script = script.lock().unwrap();
    record(
        &mut script,
        "GET",
        format!("/v1/hosts/{id}"),
        HashMap::new(),
        &headers,
        String::new(),
    );
    match script.fleet_at(script.listed_at).hosts.get(id.as_str()) {
        Some(host) => axum::Json(host.clone()).into_response(),
        None => problem_response(404, None, None),
    }
}

fn list_of<T: serde::Serialize>(
    items: Vec<T>,
    next_cursor: Option<String>,
    sequence: Seq,
) -> Response {
    axum::Json(List {
        items,
        next_cursor,
        sequence,
    })
    .into_response()
}

async fn serve_list(
    State(script): Shared,
    Path(collection): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut script = script.lock().unwrap();
    record(
        &mut script,
        "GET",
        format!("/v1/{collection}"),
        query.clone(),
        &headers,
        String::new(),
    );
    let sequence = script
        .list_sequence
        .get(&collection)
        .copied()
        .unwrap_or(script.listed_at);
    let fleet = script.fleet_at(script.listed_at);
    match collection.as_str() {
        "rings" => list_of(fleet.rings.into_values().collect(), None, sequence),
        "deployments" => list_of(fleet.deployments.into_values().collect(), None, sequence),
        "patches" => list_of(fleet.patches.into_values().collect(), None, sequence),
        "actions" => list_of(fleet.actions.into_values().collect(), None, sequence),
        "hosts" => {
            let limit: usize = query
                .get("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(100);
            let limit = script.page_size.unwrap_or(limit).max(1);
            let after = query.get("cursor").cloned().unwrap_or_default();
            let page: Vec<Host> = fleet
                .hosts
                .into_values()
                .filter(|h| h.id.as_str() > after.as_str())
                .take(limit + 1)
                .collect();
            let more = page.len() > limit;
            let page: Vec<Host> = page.into_iter().take(limit).collect();
            let next = if more {
                page.last().map(|h| h.id.to_string())
            } else {
                None
            };
            list_of(page, next, sequence)
        }
        _ => problem_response(404, None, None),
    }
}

fn sse_text(event: &Event) -> String {
    format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        event.seq,
        event.change.kind(),
        serde_json::to_string(event).unwrap()
    )
}

async fn serve_events(
    State(script): Shared,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut script = script.lock().unwrap();
    record(
        &mut script,
        "GET",
        "/v1/events".into(),
        query.clone(),
        &headers,
        String::new(),
    );
    let since: Seq = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .or(query.get("since").map(String::as_str))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let plan = script.plans.pop_front().unwrap_or_else(Plan::all_then_hang);
    let (back, count, end) = match plan {
        Plan::Status {
            status,
            retry_after,
            relist_at,
        } => {
            if let Some(seq) = relist_at {
                script.listed_at = seq;
            }
            return problem_response(status, retry_after, None);
        }
        Plan::Stream {
            back,
            count,
            end,
            relist_at,
        } => {
            if let Some(seq) = relist_at {
                script.listed_at = seq;
            }
            (back, count, end)
        }
    };
    let from = since.saturating_sub(back);
    let chunks: Vec<String> = script
        .log
        .iter()
        .filter(|e| e.seq > from)
        .take(count.unwrap_or(usize::MAX))
        .map(sse_text)
        .collect();
    let (tail, hang) = match end {
        End::Close => (None, false),
        End::Hang => (None, true),
        End::Raw(raw) => (Some(raw), false),
        End::RawThenHang(raw) => (Some(raw), true),
    };
    let body = futures_util::stream::iter(chunks.into_iter().chain(tail))
        .map(|chunk| Ok::<_, Infallible>(Bytes::from(chunk)));
    let body = if hang {
        Body::from_stream(body.chain(futures_util::stream::pending()))
    } else {
        Body::from_stream(body)
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(body)
        .unwrap()
}

async fn serve_emergency(State(script): Shared, headers: HeaderMap, body: String) -> Response {
    answer_action(
        script,
        "/v1/emergency".into(),
        Verb::Emergency,
        Target {
            kind: TargetKind::Fleet,
            id: "fleet".into(),
        },
        headers,
        body,
    )
    .await
}

async fn serve_act(
    State(script): Shared,
    Path((collection, id, verb)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let kind = match collection.as_str() {
        "deployments" => TargetKind::Deployment,
        "rings" => TargetKind::Ring,
        "hosts" => TargetKind::Host,
        _ => return problem_response(404, None, None),
    };
    let Some(verb_parsed) = Verb::parse(&verb) else {
        return problem_response(404, None, None);
    };
    answer_action(
        script,
        format!("/v1/{collection}/{id}/{verb}"),
        verb_parsed,
        Target { kind, id },
        headers,
        body,
    )
    .await
}

async fn answer_action(
    script: Arc<Mutex<Script>>,
    path: String,
    verb: Verb,
    target: Target,
    headers: HeaderMap,
    body: String,
) -> Response {
    let answer = {
        let mut script = script.lock().unwrap();
        record(&mut script, "POST", path, HashMap::new(), &headers, body);
        script.answers.pop_front().unwrap_or(Answer::Act)
    };
    match answer {
        Answer::Act => axum::Json(action(verb, target, 1)).into_response(),
        Answer::Status {
            status,
            retry_after,
            problem,
        } => problem_response(status, retry_after, problem),
        Answer::Garbage(status, text) => {
            (StatusCode::from_u16(status).unwrap(), text).into_response()
        }
        Answer::Hang => {
            futures_util::future::pending::<()>().await;
            unreachable!()
        }
    }
}

// ---------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------

pub fn at(minute: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_796_000_000 + minute * 60, 0).unwrap()
}

pub fn host(index: usize, version: u64) -> Host {
    let states = [
        "pending",
        "downloading",
        "installing",
        "pending-reboot",
        "succeeded",
        "failed",
    ];
    serde_json::from_value(json!({
        "id": format!("ws-{index:04}"),
        "name": format!("WS-{index:04}"),
        "ring_id": "pilot",
        "kind": "workstation",
        "site": "Seattle",
        "os": "Windows 11 24H2",
        "model": "Contoso Book 14 G3",
        "criticality": "medium",
        "state": states[(version as usize) % states.len()],
        "last_seen": at(version as i64),
        "updated_at": at(version as i64),
        "version": version,
    }))
    .unwrap()
}

pub fn summary(version: u64) -> Summary {
    serde_json::from_value(json!({
        "name": "mock fleet",
        "now": at(version as i64),
        "clock_speed": 1.0,
        "patch_tuesday": at(0),
        "counts": {"total": 5, "succeeded": version as u32 % 5},
        "capabilities": {"rollback": true, "emergency": true, "two_person_rule": true},
        "version": version,
    }))
    .unwrap()
}

pub fn action(verb: Verb, target: Target, version: u64) -> Action {
    serde_json::from_value(json!({
        "id": "act-000001",
        "verb": verb,
        "target_name": target.id,
        "target": target,
        "by": "alice",
        "at": at(1),
        "state": "succeeded",
        "version": version,
    }))
    .unwrap()
}

/// A fleet of `hosts` hosts at version 1 and a log of `events` changes: hosts change
/// in turn, and every fourth event is a new summary.
pub fn story(hosts: usize, events: usize) -> Script {
    let mut base = Fleet {
        summary: Some(summary(1)),
        ..Fleet::default()
    };
    for index in 0..hosts {
        let host = host(index, 1);
        base.hosts.insert(host.id.clone(), host);
    }
    let mut versions = vec![1u64; hosts];
    let mut summary_version = 1;
    let log = (1..=events as u64)
        .map(|seq| {
            let change = if seq % 4 == 0 {
                summary_version += 1;
                Change::Summary(summary(summary_version))
            } else {
                let index = (seq as usize * 7) % hosts;
                versions[index] += 1;
                Change::Host(host(index, versions[index]))
            };
            Event {
                seq,
                at: at(seq as i64),
                change,
            }
        })
        .collect();
    Script {
        base,
        log,
        ..Script::default()
    }
}

/// A sleeper that records what it was asked to wait and returns at once.
pub fn recording_sleeper() -> (Sleeper, Arc<Mutex<Vec<Duration>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let record = asked.clone();
    let sleeper: Sleeper = Arc::new(move |duration| {
        record.lock().unwrap().push(duration);
        Box::pin(async {})
    });
    (sleeper, asked)
}

/// Fails the test instead of hanging when something never happens.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(20), future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}
