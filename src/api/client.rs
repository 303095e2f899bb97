//! The patchdeck API v1 client: reads (with paging), the event stream (Server-Sent
//! Events, resumable with `Last-Event-ID`) and actions (idempotent, with `If-Match`).
//!
//! Everything that comes from the network is untrusted: bodies are size-capped, parsed
//! strictly, and anything unexpected is a [`ClientError`], never a panic. The token is
//! sent as `Authorization: Bearer` and never appears in `Debug` output or error text.
//!
//! Waiting (`Retry-After`, retry pauses) goes through a pluggable [`Sleeper`] so that
//! tests can check what the client waited for without waiting.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::api::wire::{self, ActionBody, List, Problem};
use crate::model::{
    Action, Deployment, Event, Fleet, Host, Identity, Patch, Ring, Seq, Summary, Target,
    TargetKind, Verb,
};

/// Waits for a duration. The default is `tokio::time::sleep`; tests install one that
/// records the durations asked for and returns at once.
pub type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// The event stream returned by [`Client::events`].
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Event, ClientError>> + Send>>;

/// Retries after a timeout, a connection error, a 429 or a 503: at most this many, so
/// at most `MAX_RETRIES + 1` requests for one call.
pub const MAX_RETRIES: u32 = 3;
/// Connection established within this, or `Timeout`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole request/response (not the event stream) within this, or `Timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// No event and no keep-alive on the event stream for this long: the stream is dead.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(45);
/// `Retry-After` when the header is missing or unreadable.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// A server asking to wait longer than this is waited for this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// Items asked per page when listing everything (the server's maximum).
pub const LIST_PAGE: usize = 1000;
/// Header of the summary (and lists) naming the event sequence it is valid at.
pub const SEQUENCE_HEADER: &str = "patchdeck-sequence";

/// Largest JSON answer read (a page of 1000 hosts is about 1 MB).
const MAX_BODY: usize = 32 * 1024 * 1024;
/// Largest problem+json answer read.
const MAX_PROBLEM_BODY: usize = 64 * 1024;
/// Longest line accepted on the event stream.
const MAX_SSE_LINE: usize = 4 * 1024 * 1024;
/// Pages followed for one list before giving up (a server whose cursor never ends).
const MAX_PAGES: usize = 10_000;
/// Pause before the first retry after a timeout or connection error; doubles each time.
const RETRY_PAUSE: Duration = Duration::from_millis(250);
/// Longest text kept from the network inside an error message.
const MAX_ERROR_TEXT: usize = 200;

/// Why a call failed. One line each, safe to show the operator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// Connection refused, reset, DNS failure...
    #[error("cannot reach {url}: {reason}")]
    Network { url: String, reason: String },
    /// No answer in time (connect, request, or a silent event stream).
    #[error("no answer from {url} in time")]
    Timeout { url: String },
    #[error("the server did not accept the token (401 Unauthorized)")]
    Unauthorized,
    /// 403: the problem's detail, e.g. "needs role approver".
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 412: the target changed since the operator looked.
    #[error("{}", version_mismatch_line(*.current_version))]
    VersionMismatch { current_version: Option<u64> },
    /// Any other problem+json answer.
    #[error("{}", problem_line(.0))]
    Problem(Problem),
    /// 410: events since the asked sequence were compacted away; list again.
    #[error("the server no longer has the events we missed (410 Gone); listing again")]
    Compacted,
    /// 429.
    #[error("rate limited by the server: retry in {}s", .retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    /// 503.
    #[error("server unavailable: retry in {}s", .retry_after.as_secs())]
    Unavailable { retry_after: Duration },
    /// The answer could not be understood: what was wrong, never the whole body.
    #[error("malformed answer from the server: {0}")]
    Malformed(String),
    /// An unexpected status without a problem body.
    #[error("unexpected answer from the server: HTTP {status}")]
    Http { status: u16 },
    /// Bad API URL or token (found before anything was sent).
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    /// How long the server asked us to wait (429 and 503).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::RateLimited { retry_after } | ClientError::Unavailable { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// Timeouts and connection errors: the request may or may not have arrived.
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            ClientError::Network { .. } | ClientError::Timeout { .. }
        )
    }
}

fn version_mismatch_line(current: Option<u64>) -> String {
    match current {
        Some(version) => {
            format!("it changed since you looked (now version {version}): review it and act again")
        }
        None => "it changed since you looked: review it and act again".to_string(),
    }
}

fn problem_line(problem: &Problem) -> String {
    match &problem.detail {
        Some(detail) => format!("{}: {} (HTTP {})", problem.title, detail, problem.status),
        None => format!("{} (HTTP {})", problem.title, problem.status),
    }
}

/// Keeps at most `MAX_ERROR_TEXT` characters of network text.
fn clip(text: &str) -> String {
    let mut clipped: String = text.chars().take(MAX_ERROR_TEXT).collect();
    if clipped.len() < text.len() {
        clipped.push_str("...");
    }
    clipped
}

/// An action as the console asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionCall {
    pub verb: Verb,
    pub target: Target,
    pub body: ActionBody,
    /// Act only if the target is still at this version (`If-Match`).
    pub if_match: Option<u64>,
    /// Same key on every retry of one action, so that it never acts twice.
    pub idempotency_key: String,
}

/// How one call retries.
#[derive(Debug, Clone, Copy)]
struct RetryPolicy {
    /// Retry after a timeout or connection error (only with an idempotency key).
    transport: bool,
    /// Retry after a 429 or 503, waiting `Retry-After`.
    retry_after: bool,
}

const READ: RetryPolicy = RetryPolicy {
    transport: false,
    retry_after: true,
};
const ACT: RetryPolicy = RetryPolicy {
    transport: true,
    retry_after: true,
};
const WATCH: RetryPolicy = RetryPolicy {
    transport: false,
    retry_after: false,
};

/// A patchdeck API v1 client. Cheap to clone (shares the connection pool).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    base_url: String,
    token: Option<HeaderValue>,
    sleeper: Sleeper,
    idle_timeout: Duration,
    request_timeout: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

/// The default sleeper: real time.
pub fn tokio_sleeper() -> Sleeper {
    Arc::new(|duration| Box::pin(tokio::time::sleep(duration)))
}

impl Client {
    /// A client for the API at `base_url` (e.g. "http://127.0.0.1:7070"; a path
    /// prefix is kept). Nothing is sent yet.
    pub fn new(base_url: &str, token: Option<String>) -> Result<Client, ClientError> {
        let trimmed = base_url.trim().trim_end_matches('/');
        let base = Url::parse(trimmed)
            .map_err(|e| ClientError::Config(format!("invalid API URL {trimmed:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(ClientError::Config(format!(
                "invalid API URL {trimmed:?}: expected http:// or https:// and a host"
            )));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(ClientError::Config(
                "the API URL must not contain credentials: use a token file".to_string(),
            ));
        }
        let token = match token {
            Some(token) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                    .map_err(|_| {
                        ClientError::Config(
                            "the token contains characters that cannot be sent in a header"
                                .to_string(),
                        )
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("patchdeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Config(format!("cannot set up HTTP: {e}")))?;
        Ok(Client {
            http,
            base,
            base_url: trimmed.to_string(),
            token,
            sleeper: tokio_sleeper(),
            idle_timeout: IDLE_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
        })
    }

    /// Replace how the client waits (tests: record and return at once).
    pub fn with_sleeper(mut self, sleeper: Sleeper) -> Client {
        self.sleeper = sleeper;
        self
    }

    /// Treat the event stream as dead after this long without an event or keep-alive.
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> Client {
        self.idle_timeout = idle_timeout;
        self
    }

    /// Time allowed for one request/response.
    pub fn with_request_timeout(mut self, request_timeout: Duration) -> Client {
        self.request_timeout = request_timeout;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Wait through the client's sleeper.
    pub fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        (self.sleeper)(duration)
    }

    /// `GET /v1/me`: who the token is.
    pub async fn me(&self) -> Result<Identity, ClientError> {
        self.get_json(&["me"], &[]).await
    }

    /// `GET /v1/summary`.
    pub async fn summary(&self) -> Result<Summary, ClientError> {
        self.get_json(&["summary"], &[]).await
    }

    /// `GET /v1/hosts/{id}`: one host with its lifecycle history.
    pub async fn host(&self, id: &str) -> Result<Host, ClientError> {
        self.get_json(&["hosts", id], &[]).await
    }

    /// Everything the console shows, and the sequence to watch events from.
    ///
    /// `fleet.sequence` is the lowest sequence of the lists: events from there replay
    /// whatever changed while listing (`Fleet::upsert` keeps the newest version). The
    /// summary's sequence comes in the `patchdeck-sequence` header; it is read after the
    /// rings anyway, so that the rings' sequence bounds it from below if a server does
    /// not send the header.
    pub async fn snapshot(&self) -> Result<Fleet, ClientError> {
        let rings: Listed<Ring> = self.list_all("rings").await?;
        let (summary, summary_sequence) = self.summary_at().await?;
        let deployments: Listed<Deployment> = self.list_all("deployments").await?;
        let patches: Listed<Patch> = self.list_all("patches").await?;
        let actions: Listed<Action> = self.list_all("actions").await?;
        let hosts: Listed<Host> = self.list_all("hosts").await?;

        let mut fleet = Fleet {
            sequence: [
                rings.sequence,
                deployments.sequence,
                patches.sequence,
                actions.sequence,
                hosts.sequence,
                summary_sequence.unwrap_or(Seq::MAX),
            ]
            .into_iter()
            .min()
            .unwrap_or_default(),
            ..Fleet::default()
        };
        fleet.summary = Some(summary);
        for ring in rings.items {
            fleet.rings.insert(ring.id.clone(), ring);
        }
        for deployment in deployments.items {
            fleet.deployments.insert(deployment.id.clone(), deployment);
        }
        for patch in patches.items {
            fleet.patches.insert(patch.id.clone(), patch);
        }
        for action in actions.items {
            fleet.actions.insert(action.id.clone(), action);
        }
        for mut host in hosts.items {
            host.history.clear();
            fleet.hosts.insert(host.id.clone(), host);
        }
        Ok(fleet)
    }

    /// Act: `POST` the verb to its target. A timeout or connection error is retried
    /// with the same idempotency key; 429/503 are retried after `Retry-After`.
    pub async fn act(&self, call: &ActionCall) -> Result<Action, ClientError> {
        let url = self.url(&action_path(call.verb, &call.target), &[]);
        let key = HeaderValue::from_str(&call.idempotency_key).map_err(|_| {
            ClientError::Config("the idempotency key is not a valid header value".to_string())
        })?;
        let if_match = call.if_match.map(|version| format!("\"{version}\""));
        let body = serde_json::to_vec(&call.body)
            .map_err(|e| ClientError::Config(format!("cannot encode the action: {e}")))?;
        let response = self
            .send(&url, ACT, || {
                let mut request = self
                    .request(Method::POST, &url)
                    .timeout(self.request_timeout)
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(wire::IDEMPOTENCY_KEY, key.clone())
                    .body(body.clone());
                if let Some(if_match) = &if_match {
                    request = request.header(header::IF_MATCH, if_match.as_str());
                }
                request
            })
            .await?;
        read_json(response, &url).await
    }

    /// Watch: `GET /v1/events` from `since` (`Last-Event-ID`). Each item is an event
    /// whose JSON parsed as `model::Event` and whose `seq` equals its SSE `id`; anything
    /// else is `Malformed`. A stream silent for the idle timeout ends with `Timeout`.
    /// The stream ends after its first error.
    pub async fn events(&self, since: Seq) -> Result<EventStream, ClientError> {
        let since_text = since.to_string();
        let url = self.url(&["events"], &[("since", &since_text)]);
        let request = || {
            self.request(Method::GET, &url)
                .header(header::ACCEPT, "text/event-stream")
                .header("last-event-id", since_text.as_str())
        };
        let response =
            match tokio::time::timeout(self.request_timeout, self.send(&url, WATCH, request)).await
            {
                Ok(result) => result?,
                Err(_) => {
                    return Err(ClientError::Timeout {
                        url: url_text(&url),
                    });
                }
            };
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.starts_with("text/event-stream") {
            return Err(ClientError::Malformed(format!(
                "the event stream answered with content type {:?}",
                clip(content_type)
            )));
        }
        let bytes = guard_stream(response.bytes_stream(), url_text(&url), self.idle_timeout);
        let events = bytes.eventsource().map(|item| match item {
            Ok(sse) => parse_sse_event(&sse),
            Err(EventStreamError::Transport(error)) => Err(error),
            Err(EventStreamError::Utf8(_)) => Err(ClientError::Malformed(
                "the event stream is not valid UTF-8".to_string(),
            )),
            Err(EventStreamError::Parser(_)) => Err(ClientError::Malformed(
                "the event stream is not valid Server-Sent Events".to_string(),
            )),
        });
        Ok(Box::pin(end_after_error(events)))
    }

    /// The URL the event stream is read from (for messages).
    pub fn events_url(&self) -> String {
        url_text(&self.url(&["events"], &[]))
    }

    // -----------------------------------------------------------------------------

    /// `base` + `/v1/` + segments (each escaped) + query.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1").extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    fn request(&self, method: Method, url: &Url) -> RequestBuilder {
        let mut request = self.http.request(method, url.clone());
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, token.clone());
        }
        request
    }

    /// Send, retrying as `policy` allows. Returns a successful (2xx) response.
    async fn send(
        &self,
        url: &Url,
        policy: RetryPolicy,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, ClientError> {
        let mut retries = 0;
        loop {
            let error = match build().send().await {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => error_from_response(response, url).await,
                Err(error) => transport_error(&error, url),
            };
            let pause = match (&error, policy) {
                (
                    e,
                    RetryPolicy {
                        retry_after: true, ..
                    },
                ) if e.retry_after().is_some() => e.retry_after(),
                (
                    e,
                    RetryPolicy {
                        transport: true, ..
                    },
                ) if e.is_transport() => Some(RETRY_PAUSE * 2u32.pow(retries)),
                _ => None,
            };
            match pause {
                Some(pause) if retries < MAX_RETRIES => {
                    retries += 1;
                    (self.sleeper)(pause).await;
                }
                _ => return Err(error),
            }
        }
    }

    async fn get(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<(Response, Url), ClientError> {
        let url = self.url(segments, query);
        let response = self
            .send(&url, READ, || {
                self.request(Method::GET, &url)
                    .timeout(self.request_timeout)
                    .header(header::ACCEPT, "application/json")
            })
            .await?;
        Ok((response, url))
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let (response, url) = self.get(segments, query).await?;
        read_json(response, &url).await
    }

    /// The summary and, if the server says so, the sequence it is valid at.
    async fn summary_at(&self) -> Result<(Summary, Option<Seq>), ClientError> {
        let (response, url) = self.get(&["summary"], &[]).await?;
        let sequence = response
            .headers()
            .get(SEQUENCE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        Ok((read_json(response, &url).await?, sequence))
    }

    /// Every page of a list; its sequence is the lowest of the pages'.
    async fn list_all<T: DeserializeOwned>(
        &self,
        resource: &str,
    ) -> Result<Listed<T>, ClientError> {
        let limit = LIST_PAGE.to_string();
        let mut listed = Listed {
            items: Vec::new(),
            sequence: Seq::MAX,
        };
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut page_query = vec![("limit", limit.as_str())];
            if let Some(cursor) = &cursor {
                page_query.push(("cursor", cursor));
            }
            let page: List<T> = self.get_json(&[resource], &page_query).await?;
            listed.items.extend(page.items);
            listed.sequence = listed.sequence.min(page.sequence);
            match page.next_cursor {
                Some(next) if Some(&next) == cursor.as_ref() => {
                    return Err(ClientError::Malformed(format!(
                        "the {resource} list repeats the same cursor"
                    )));
                }
                Some(next) => cursor = Some(next),
                None => return Ok(listed),
            }
        }
        Err(ClientError::Malformed(format!(
            "the {resource} list has more than {MAX_PAGES} pages"
        )))
    }
}

/// A whole list, all pages.
struct Listed<T> {
    items: Vec<T>,
    sequence: Seq,
}

/// Path segments after `/v1/` for an action.
fn action_path(verb: Verb, target: &Target) -> Vec<&str> {
    let collection = match (verb, target.kind) {
        (Verb::Emergency, _) | (_, TargetKind::Fleet) => return vec!["emergency"],
        (_, TargetKind::Deployment) => "deployments",
        (_, TargetKind::Ring) => "rings",
        (_, TargetKind::Host) => "hosts",
    };
    vec![collection, target.id.as_str(), verb.as_str()]
}

/// The URL without its query, for messages.
fn url_text(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

fn transport_error(error: &reqwest::Error, url: &Url) -> ClientError {
    transport_error_text(error, &url_text(url))
}

fn transport_error_text(error: &reqwest::Error, url: &str) -> ClientError {
    if error.is_timeout() {
        return ClientError::Timeout {
            url: url.to_string(),
        };
    }
    // The innermost cause says what happened ("Connection refused (os error 111)").
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let reason = cause.to_string();
    let reason = if reason.is_empty() {
        "connection failed".to_string()
    } else {
        clip(&reason)
    };
    ClientError::Network {
        url: url.to_string(),
        reason,
    }
}

/// Read at most `limit` bytes of the body.
async fn read_body(
    mut response: Response,
    url: &Url,
    limit: usize,
) -> Result<Vec<u8>, ClientError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(&e, url))?
    {
        if body.len() + chunk.len() > limit {
            return Err(ClientError::Malformed(format!(
                "the answer from {} is larger than {} MiB",
                url.path(),
                limit / (1024 * 1024)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn read_json<T: DeserializeOwned>(response: Response, url: &Url) -> Result<T, ClientError> {
    let body = read_body(response, url, MAX_BODY).await?;
    serde_json::from_slice(&body)
        .map_err(|e| ClientError::Malformed(format!("{}: {}", url.path(), clip(&e.to_string()))))
}

/// `Retry-After`: delta-seconds or an HTTP date; capped at `MAX_RETRY_AFTER`.
pub fn parse_retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Duration {
    let Some(text) = headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
    else {
        return DEFAULT_RETRY_AFTER;
    };
    let wait = if let Ok(secs) = text.parse::<u64>() {
        Duration::from_secs(secs)
    } else if let Ok(date) = DateTime::parse_from_rfc2822(text) {
        (date.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    } else {
        DEFAULT_RETRY_AFTER
    };
    wait.min(MAX_RETRY_AFTER)
}

/// The error an unsuccessful answer stands for.
async fn error_from_response(response: Response, url: &Url) -> ClientError {
    let status = response.status();
    let retry_after = parse_retry_after(response.headers(), Utc::now());
    let problem = match read_body(response, url, MAX_PROBLEM_BODY).await {
        Ok(body) => serde_json::from_slice::<Problem>(&body).ok().map(|mut p| {
            p.title = clip(&p.title);
            p.detail = p.detail.as_deref().map(clip);
            p
        }),
        Err(_) => None,
    };
    match status {
        StatusCode::UNAUTHORIZED => ClientError::Unauthorized,
        StatusCode::FORBIDDEN => ClientError::Forbidden(
            problem
                .map(|p| p.detail.unwrap_or(p.title))
                .unwrap_or_else(|| "your role does not allow this".to_string()),
        ),
        StatusCode::GONE => ClientError::Compacted,
        StatusCode::PRECONDITION_FAILED => ClientError::VersionMismatch {
            current_version: problem.and_then(|p| p.current_version),
        },
        StatusCode::TOO_MANY_REQUESTS => ClientError::RateLimited { retry_after },
        StatusCode::SERVICE_UNAVAILABLE => ClientError::Unavailable { retry_after },
        _ => match problem {
            Some(problem) => ClientError::Problem(problem),
            None => ClientError::Http {
                status: status.as_u16(),
            },
        },
    }
}

/// One SSE event as a model event: JSON `Event` whose `seq` is the SSE `id`.
fn parse_sse_event(sse: &eventsource_stream::Event) -> Result<Event, ClientError> {
    let id: Seq = sse.id.trim().parse().map_err(|_| {
        ClientError::Malformed(format!(
            "event id {:?} is not a sequence number",
            clip(&sse.id)
        ))
    })?;
    let event: Event = serde_json::from_str(&sse.data)
        .map_err(|e| ClientError::Malformed(format!("event {id}: {}", clip(&e.to_string()))))?;
    if event.seq != id {
        return Err(ClientError::Malformed(format!(
            "event id {id} carries seq {}",
            event.seq
        )));
    }
    Ok(event)
}

/// The body as a byte stream that ends with `Timeout` when silent for `idle`, and with
/// `Malformed` on a line longer than `MAX_SSE_LINE`.
fn guard_stream<S, B>(
    body: S,
    url: String,
    idle: Duration,
) -> impl Stream<Item = Result<B, ClientError>> + Send
where
    S: Stream<Item = reqwest::Result<B>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
{
    struct Guard<S> {
        body: Pin<Box<S>>,
        url: String,
        idle: Duration,
        line: usize,
        done: bool,
    }
    let guard = Guard {
        body: Box::pin(body),
        url,
        idle,
        line: 0,
        done: false,
    };
    futures_util::stream::unfold(guard, |mut guard| async move {
        if guard.done {
            return None;
        }
        let item = match tokio::time::timeout(guard.idle, guard.body.next()).await {
            Err(_) => Err(ClientError::Timeout {
                url: guard.url.clone(),
            }),
            Ok(None) => return None,
            Ok(Some(Err(error))) => Err(transport_error_text(&error, &guard.url)),
            Ok(Some(Ok(chunk))) => {
                let bytes = chunk.as_ref();
                guard.line = match bytes.iter().rposition(|b| *b == b'\n' || *b == b'\r') {
                    Some(end) => bytes.len() - end - 1,
                    None => guard.line + bytes.len(),
                };
                if guard.line > MAX_SSE_LINE {
                    Err(ClientError::Malformed(format!(
                        "a line of the event stream is longer than {} MiB",
                        MAX_SSE_LINE / (1024 * 1024)
                    )))
                } else {
                    Ok(chunk)
                }
            }
        };
        guard.done = item.is_err();
        Some((item, guard))
    })
}

/// Ends the stream right after its first error (without polling it again).
fn end_after_error<S>(stream: S) -> impl Stream<Item = Result<Event, ClientError>> + Send
where
    S: Stream<Item = Result<Event, ClientError>> + Send,
{
    futures_util::stream::unfold(
        (Box::pin(stream), false),
        |(mut stream, failed)| async move {
            if failed {
                return None;
            }
            let item = stream.next().await?;
            let failed = item.is_err();
            Some((item, (stream, failed)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_after(value: &str) -> Duration {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        let now = DateTime::parse_from_rfc2822("Mon, 23 Nov 2026 18:00:00 GMT").unwrap();
        parse_retry_after(&headers, now.with_timezone(&Utc))
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_capped() {
        assert_eq!(retry_after("7"), Duration::from_secs(7));
        assert_eq!(retry_after(" 0 "), Duration::ZERO);
        assert_eq!(
            retry_after("Mon, 23 Nov 2026 18:00:30 GMT"),
            Duration::from_secs(30)
        );
        assert_eq!(retry_after("Mon, 23 Nov 2026 17:00:00 GMT"), Duration::ZERO);
        assert_eq!(retry_after("soon"), DEFAULT_RETRY_AFTER);
        assert_eq!(retry_after("-3"), DEFAULT_RETRY_AFTER);
        assert_eq!(retry_after("86400"), MAX_RETRY_AFTER);
        assert_eq!(
            parse_retry_after(&HeaderMap::new(), Utc::now()),
            DEFAULT_RETRY_AFTER
        );
    }

    #[test]
    fn action_paths_follow_the_target() {
        let target = |kind, id: &str| Target {
            kind,
            id: id.to_string(),
        };
        assert_eq!(
            action_path(Verb::Rollback, &target(TargetKind::Ring, "wave-2")),
            ["rings", "wave-2", "rollback"]
        );
        assert_eq!(
            action_path(Verb::Decline, &target(TargetKind::Deployment, "d1")),
            ["deployments", "d1", "decline"]
        );
        assert_eq!(
            action_path(Verb::Emergency, &target(TargetKind::Deployment, "d1")),
            ["emergency"]
        );
        assert_eq!(
            action_path(Verb::Halt, &target(TargetKind::Fleet, "fleet")),
            ["emergency"]
        );
    }

    #[test]
    fn ids_are_escaped_in_paths() {
        let client = Client::new("http://127.0.0.1:7070/prefix/", None).unwrap();
        let url = client.url(&["hosts", "a/b c?"], &[("cursor", "x&y")]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:7070/prefix/v1/hosts/a%2Fb%20c%3F?cursor=x%26y"
        );
    }

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(500);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), MAX_ERROR_TEXT + 3);
        assert!(clipped.ends_with("..."));
    }
}
