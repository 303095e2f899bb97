//! The API v1 server: exposes any [`Backend`] over HTTP with axum. It knows no
//! particular fleet: `patchdeck serve` (`crate::serve`) builds one and calls [`spawn`].
//!
//! The server owns what is about callers: Bearer auth and roles, `Idempotency-Key`,
//! paging, ETags, problem+json errors, the SSE stream, and fault injection for tests.
//! With a [`Gateway`] ([`spawn_with`]) it is durable: actions are journaled in the
//! store before the fleet acts, keys, audit and events are kept there, and every
//! response says `patchdeck-gateway: ok | degraded` (`GET /v1/health` says why).
//! The fleet's own rules (what an action does, the two-person rule, `If-Match`) are the
//! Backend's. docs/api.md documents every endpoint.

mod actions;
mod audit;
mod compliance;
mod dry_run;
mod events;
mod exception_terms;
mod exceptions;
mod gateway;
mod idempotency;
mod limits;
mod listen;
mod problem;
mod request_log;
mod resources;
mod streams;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::tokens::Tokens;
use crate::api::wire::ProblemType;
use crate::backend::Backend;

pub use actions::FLEET_TARGET_ID;
pub use audit::AUDIT_ROLE;
pub use gateway::{
    ActResult, FleetClock, Gateway, GatewayOptions, HealthReport, KEEP_EVENTS, KEEP_KEYS,
    LEASE_TTL, ROLLOUT_LEASE, Replayed,
};
pub use idempotency::REPLAYED_HEADER;
pub use limits::{
    AUDIT_IN_MEMORY, KEYS_PER_IDENTITY, Limits, REPLAY_CHUNK, REPLAY_MAX, STREAMS,
    STREAMS_PER_IDENTITY,
};
pub use listen::{
    CONNECTION_IDLE_TIMEOUT, ConnectionLimits, HEADER_READ_TIMEOUT, MAX_CONNECTIONS,
    MIN_IDLE_TIMEOUT, Tls,
};
pub use problem::STORE_UNAVAILABLE_TYPE;
pub use resources::{DEFAULT_LIMIT, MAX_LIMIT, SEQUENCE_HEADER};

use problem::ApiProblem;

/// What a server needs besides its fleet.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Who may call, with which role.
    pub tokens: Tokens,
    /// Faults to inject (tests and demos of a bad network); none by default.
    pub faults: Faults,
    /// How much callers may make the server hold (streams, replay, keys, audit).
    pub limits: Limits,
    /// What "compliant" means for `GET /v1/compliance`.
    pub compliance: crate::compliance::CompliancePolicy,
    /// How long an exception may run (exclude, renew).
    pub exceptions: crate::model::ExceptionPolicy,
}

/// Response header saying whether the gateway's store takes writes: `ok` or
/// `degraded` (only on a server with a store).
pub use crate::api::wire::GATEWAY_HEADER;

/// Fault injection. Requests under `/v1` are numbered from 1 in the order they arrive
/// (all endpoints, the event stream included); the options below pick requests by that
/// number. `Faults::default()` injects nothing.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Delay added before every `/v1` request is handled.
    pub latency: Duration,
    /// Requests 1..=N are refused with 429 (or 503, see `unavailable`) + `Retry-After`.
    pub throttle_first: u32,
    /// Every Nth request (N, 2N, ...) is refused the same way; 0 = never.
    pub throttle_every: u32,
    /// Refuse with 503 `unavailable` instead of 429 `rate-limited`.
    pub unavailable: bool,
    /// The `Retry-After` of refused requests, seconds.
    pub retry_after_secs: u64,
    /// End every event stream after this many events (the client must resume).
    pub drop_stream_after: Option<u32>,
    /// Every Nth request that answers `application/json` gets a truncated, unparsable
    /// body (status and headers unchanged); 0 = never.
    pub malformed_every: u32,
}

impl Faults {
    fn throttles(&self, request_number: u64) -> bool {
        request_number <= u64::from(self.throttle_first)
            || (self.throttle_every > 0
                && request_number.is_multiple_of(u64::from(self.throttle_every)))
    }

    fn malforms(&self, request_number: u64) -> bool {
        self.malformed_every > 0 && request_number.is_multiple_of(u64::from(self.malformed_every))
    }
}

struct FaultState {
    config: Faults,
    requests: AtomicU64,
}

/// Shared by every handler.
#[derive(Clone)]
pub(crate) struct AppState {
    backend: Arc<dyn Backend>,
    tokens: Arc<Tokens>,
    faults: Arc<FaultState>,
    idempotency: Arc<idempotency::IdempotencyStore>,
    gateway: Option<Arc<Gateway>>,
    limits: Arc<Limits>,
    /// The event streams open now, under the caps of `limits`.
    streams: Arc<streams::Streams>,
    /// Turns to read a chunk of history ([`limits::REPLAY_READS`] at once).
    replay_reads: Arc<tokio::sync::Semaphore>,
    /// The audit trail of a server without a store (with one, the store keeps it).
    audit: Arc<audit::MemoryTrail>,
    /// `GET /v1/compliance`, computed once per event sequence.
    compliance: Arc<compliance::ComplianceCache>,
    /// The cap on exceptions, applied before the fleet sees an exclude or a renew.
    exceptions: crate::model::ExceptionPolicy,
    /// Turns true when the server shuts down; ends the event streams.
    shutdown: watch::Receiver<bool>,
}

/// The API v1 routes over `backend`. Event streams of this router end only when the
/// client goes away; use [`spawn`] for a server that can be shut down.
pub fn router(backend: Arc<dyn Backend>, options: ServerOptions) -> Router {
    let (_never, shutdown) = watch::channel(false);
    build_router(backend, options, None, shutdown)
}

fn build_router(
    backend: Arc<dyn Backend>,
    options: ServerOptions,
    gateway: Option<Arc<Gateway>>,
    shutdown: watch::Receiver<bool>,
) -> Router {
    let limits = options.limits;
    let state = AppState {
        backend,
        tokens: Arc::new(options.tokens),
        faults: Arc::new(FaultState {
            config: options.faults,
            requests: AtomicU64::new(0),
        }),
        idempotency: Arc::new(idempotency::IdempotencyStore::new(
            limits.keys_per_identity,
            limits.keep_keys,
        )),
        gateway,
        streams: streams::Streams::new(limits.streams_per_identity, limits.streams),
        replay_reads: Arc::new(tokio::sync::Semaphore::new(limits::REPLAY_READS)),
        audit: Arc::new(audit::MemoryTrail::new(limits.audit_in_memory)),
        limits: Arc::new(limits),
        compliance: Arc::new(compliance::ComplianceCache::new(options.compliance)),
        exceptions: options.exceptions,
        shutdown,
    };
    Router::new()
        .route("/v1/me", get(resources::me))
        .route("/v1/summary", get(resources::summary))
        .route("/v1/rings", get(resources::rings))
        .route("/v1/rings/{id}", get(resources::ring))
        .route("/v1/rings/{id}/{verb}", post(actions::on_ring))
        .route("/v1/deployments", get(resources::deployments))
        .route("/v1/deployments/{id}", get(resources::deployment))
        .route("/v1/deployments/{id}/{verb}", post(actions::on_deployment))
        .route("/v1/hosts", get(resources::hosts))
        .route("/v1/hosts/{id}", get(resources::host))
        .route("/v1/hosts/{id}/{verb}", post(actions::on_host))
        .route("/v1/patches", get(resources::patches))
        .route("/v1/actions", get(resources::actions))
        .route("/v1/audit", get(audit::audit))
        .route("/v1/compliance", get(compliance::compliance))
        .route("/v1/exceptions", get(exceptions::exceptions))
        .route("/v1/emergency", post(actions::emergency))
        .route("/v1/events", get(events::events))
        .fallback(|| async { ApiProblem::not_found("no such endpoint in patchdeck API v1") })
        .method_not_allowed_fallback(|| async { ApiProblem::method_not_allowed() })
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .route("/v1/health", get(health))
        .layer(middleware::from_fn_with_state(state.clone(), inject_faults))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            gateway_header,
        ))
        .layer(middleware::from_fn(problem::errors_as_problems))
        .layer(middleware::from_fn(request_log::log_request))
        .with_state(state)
}

/// `GET /v1/health`, without a token (for load balancers): the store, whether the
/// gateway is degraded and why, and which gateway holds the rollout lease.
async fn health(State(state): State<AppState>) -> Response {
    let report = match &state.gateway {
        Some(gateway) => serde_json::to_value(gateway.health()).unwrap_or_default(),
        None => serde_json::json!({
            "store": null, "degraded": false, "reason": null, "lease_holder": null,
            "gateway": null,
        }),
    };
    axum::Json(report).into_response()
}

/// `patchdeck-gateway: ok | degraded` on every response of a server with a store.
async fn gateway_header(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Some(gateway) = &state.gateway {
        let value = if gateway.degraded().is_some() {
            "degraded"
        } else {
            "ok"
        };
        response
            .headers_mut()
            .insert(GATEWAY_HEADER, header::HeaderValue::from_static(value));
    }
    response
}

/// `Authorization: Bearer <token>` on every request; the identity goes to the handlers.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let Some(identity) = bearer.and_then(|bearer| state.tokens.identify(bearer)) else {
        let problem = if bearer.is_none() {
            ApiProblem::unauthorized("send `Authorization: Bearer <token>`")
        } else {
            ApiProblem::unauthorized("the token is not known to this server")
        };
        actions::audit_unauthenticated(&state, request.method(), request.uri(), &problem).await;
        return problem.into_response();
    };
    request.extensions_mut().insert(identity.clone());
    let mut response = next.run(request).await;
    // Who asked, for the request log.
    response.extensions_mut().insert(identity);
    response
}

/// Latency, 429/503 bursts and malformed bodies, as configured in [`Faults`].
async fn inject_faults(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let faults = &state.faults.config;
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let number = state.faults.requests.fetch_add(1, Ordering::Relaxed) + 1;
    if faults.throttles(number) {
        let kind = if faults.unavailable {
            ProblemType::Unavailable
        } else {
            ProblemType::RateLimited
        };
        return ApiProblem::throttled(kind, faults.retry_after_secs).into_response();
    }
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !(faults.malforms(number) && is_json) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    // Half of a JSON document never parses.
    let cut = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(cut))
}

/// A server running on a loopback (or given) address. Dropping it stops it.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// `http://ADDR`, e.g. "http://127.0.0.1:40123"; `https://ADDR` with TLS.
    pub url: String,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// Stops accepting, ends the event streams, lets requests in flight finish.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.shutdown.send_replace(true);
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }

    /// Stops at once, as a crash would: the port is released and streams end.
    pub fn abort(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Serves `backend` on `listen` (use 127.0.0.1:0 for an ephemeral port).
pub async fn spawn(
    backend: Arc<dyn Backend>,
    options: ServerOptions,
    listen: SocketAddr,
) -> std::io::Result<RunningServer> {
    spawn_with(backend, options, None, listen).await
}

/// Serves `backend` as [`spawn`] does, durably when `gateway` is given: every action
/// journaled before it is done, idempotency keys, the audit trail and the event log in
/// the gateway's store. `backend` must be the fleet `gateway` drives.
pub async fn spawn_with(
    backend: Arc<dyn Backend>,
    options: ServerOptions,
    gateway: Option<Arc<Gateway>>,
    listen: SocketAddr,
) -> std::io::Result<RunningServer> {
    spawn_listening(backend, options, gateway, Listening::plain(listen)).await
}

/// Where and how a server listens: the address, TLS or not, and the bounds on
/// connections before authentication.
#[derive(Debug, Clone)]
pub struct Listening {
    pub addr: SocketAddr,
    pub tls: Option<Tls>,
    pub limits: ConnectionLimits,
}

impl Listening {
    /// Plain HTTP on `addr` with the default limits.
    pub fn plain(addr: SocketAddr) -> Listening {
        Listening {
            addr,
            tls: None,
            limits: ConnectionLimits::default(),
        }
    }
}

/// Serves `backend` as [`spawn_with`] does, listening as `listening` says.
pub async fn spawn_listening(
    backend: Arc<dyn Backend>,
    options: ServerOptions,
    gateway: Option<Arc<Gateway>>,
    listening: Listening,
) -> std::io::Result<RunningServer> {
    let listener = tokio::net::TcpListener::bind(listening.addr).await?;
    let addr = listener.local_addr()?;
    let (shutdown, stop) = watch::channel(false);
    let app = build_router(backend, options, gateway, stop.clone());
    let scheme = if listening.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let task = tokio::spawn(listen::serve(
        listener,
        app,
        listening.tls,
        listening.limits,
        stop,
    ));
    Ok(RunningServer {
        addr,
        url: format!("{scheme}://{addr}"),
        shutdown,
        task: Some(task),
    })
}
