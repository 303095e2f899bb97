//! The patchdeck API v1 client: reads (with paging), the event stream (Server-Sent
//! Events, resumable with `Last-Event-ID`) and actions (idempotent, with `If-Match`).
//!
//! Everything that comes from the network is untrusted: bodies are size-capped, parsed
//! strictly, and anything unexpected is a [`ClientError`], never a panic. The token is
//! sent as `Authorization: Bearer` and never appears in `Debug` output or error text.
//!
//! Waiting (`Retry-After`, retry pauses) goes through a pluggable [`Sleeper`] so that
//! tests can check what the client waited for without waiting.
//!
//! One concept per file: `error` (what can go wrong, in words), `retry` (when a call is
//! sent again), `http` (URLs, requests, size-capped bodies), `resources` (reads and the
//! snapshot), `actions` (acting, and the [`Outcome`](crate::backend::Outcome) made from
//! the answer) and `events` (the guarded event stream).

mod actions;
mod error;
mod events;
mod http;
mod reports;
mod resources;
mod retry;
mod transport;
mod untrusted;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use reqwest::Url;
use reqwest::header::HeaderValue;
use tokio::sync::watch;

use crate::backend::GatewayHealth;

pub use actions::outcome;
pub use error::ClientError;
pub use events::{EventStream, IDLE_TIMEOUT};
pub use resources::{LIST_PAGE, SEQUENCE_HEADER};
pub use retry::{DEFAULT_RETRY_AFTER, MAX_RETRIES, MAX_RETRY_AFTER, parse_retry_after};
pub use transport::{Transport, check_plain_http, is_insecure_http, is_loopback, read_ca_file};

/// Waits for a duration. The default is `tokio::time::sleep`; tests install one that
/// records the durations asked for and returns at once.
pub type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// Connection established within this, or `Timeout`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole request/response (not the event stream) within this, or `Timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

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
    /// What the gateway last said of itself; shared by every clone of this client, so
    /// the answer to an action reaches the sync loop too.
    gateway: Arc<watch::Sender<Option<GatewayHealth>>>,
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
    /// prefix is kept), with the default [`Transport`]. Nothing is sent yet.
    pub fn new(base_url: &str, token: Option<String>) -> Result<Client, ClientError> {
        Client::with_transport(base_url, token, &Transport::default())
    }

    /// A client as [`Client::new`], reaching the server as `transport` says: plain
    /// HTTP off this machine is refused here, before any token is sent, unless
    /// `insecure_http`; redirects are never followed; `ca_file` is trusted too.
    pub fn with_transport(
        base_url: &str,
        token: Option<String>,
        transport: &Transport,
    ) -> Result<Client, ClientError> {
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
        transport::check_plain_http(&base, transport.insecure_http)?;
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
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("patchdeck/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &transport.ca_file {
            for certificate in transport::read_ca_file(path)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder
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
            gateway: Arc::new(watch::Sender::new(None)),
        })
    }

    /// What the gateway says of itself, as it changes (`None` until an answer carried
    /// the header: a server without a store sends none).
    pub fn gateway_health(&self) -> watch::Receiver<Option<GatewayHealth>> {
        self.gateway.subscribe()
    }

    /// Note the gateway's header of an answer.
    pub(super) fn note_gateway(&self, headers: &reqwest::header::HeaderMap) {
        let health = headers
            .get(crate::api::wire::GATEWAY_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(GatewayHealth::from_header);
        if let Some(health) = health {
            self.gateway.send_if_modified(|seen| {
                let changed = *seen != Some(health);
                *seen = Some(health);
                changed
            });
        }
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
}
