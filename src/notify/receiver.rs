//! One webhook receiver of `serve --notify URL`: a bounded queue that never blocks
//! whoever pushes (the oldest notice is dropped, counted and logged), and the worker
//! that posts each document with a timeout, retrying with exponential backoff and
//! jitter, and keeps what it met for `GET /v1/health`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use backon::BackoffBuilder;
use serde::Serialize;

use super::NotifySettings;

/// What a receiver has had since serve started (in `GET /v1/health`, and the log).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReceiverHealth {
    /// The URL's scheme, host and port (its path and query may be a secret).
    pub url: String,
    /// Notices it took (a 2xx answer).
    pub delivered: u64,
    /// Posts that failed (each retry counts).
    pub failed_posts: u64,
    /// Notices given up after every attempt failed (or refused with a 4xx).
    pub given_up: u64,
    /// Notices dropped from a full queue, oldest first.
    pub dropped: u64,
    /// Notices waiting now.
    pub queued: usize,
    /// The last failure, in words.
    pub last_error: Option<String>,
}

/// A document ready to post: its JSON, and its key (also sent as a header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub key: String,
    pub body: String,
}

impl Posted {
    pub fn new(key: &str, document: &impl Serialize) -> Posted {
        Posted {
            key: key.to_string(),
            body: serde_json::to_string(document).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Arc<Posted>>,
    health: ReceiverHealth,
    /// Dropped since the log last said so.
    dropped_unsaid: u64,
}

/// A receiver: its queue and what it met; [`Receiver::run`] is its worker.
#[derive(Debug)]
pub struct Receiver {
    url: String,
    settings: NotifySettings,
    state: Mutex<State>,
    wake: tokio::sync::Notify,
}

/// How a post failed, and whether another attempt may do better.
struct Failure {
    words: String,
    retry: bool,
}

impl Receiver {
    pub fn new(url: &str, settings: NotifySettings) -> Arc<Receiver> {
        let shown = shown_url(url);
        Arc::new(Receiver {
            url: url.to_string(),
            settings,
            state: Mutex::new(State {
                health: ReceiverHealth {
                    url: shown,
                    ..ReceiverHealth::default()
                },
                ..State::default()
            }),
            wake: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn health(&self) -> ReceiverHealth {
        let state = self.lock();
        ReceiverHealth {
            queued: state.queue.len(),
            ..state.health.clone()
        }
    }

    /// Queues a document; never waits. A full queue drops its oldest.
    pub fn push(&self, document: Arc<Posted>) {
        {
            let mut state = self.lock();
            while state.queue.len() >= self.settings.queue.max(1) {
                state.queue.pop_front();
                state.health.dropped += 1;
                state.dropped_unsaid += 1;
            }
            state.queue.push_back(document);
        }
        self.wake.notify_one();
    }

    /// The worker: posts what is queued, in order, until aborted.
    pub async fn run(self: Arc<Self>, client: reqwest::Client) {
        loop {
            let next = {
                let mut state = self.lock();
                let dropped = std::mem::take(&mut state.dropped_unsaid);
                (state.queue.pop_front(), dropped)
            };
            let (document, dropped) = next;
            if dropped > 0 {
                tracing::warn!(
                    target: "patchdeck::notify",
                    url = %self.health().url,
                    dropped,
                    "{dropped} notices dropped: the queue of {} was full (receiver too slow or down)",
                    self.settings.queue
                );
            }
            match document {
                Some(document) => self.deliver(&client, &document).await,
                None => self.wake.notified().await,
            }
        }
    }

    /// Posts one document: up to `attempts` times, backing off between them.
    async fn deliver(&self, client: &reqwest::Client, document: &Posted) {
        let mut delays = backon::ExponentialBuilder::default()
            .with_min_delay(self.settings.first_retry)
            .with_max_delay(self.settings.max_retry)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.settings.attempts.saturating_sub(1) as usize)
            .build();
        let key = &document.key;
        let url = self.health().url;
        for attempt in 1.. {
            match self.post(client, document).await {
                Ok(()) => {
                    self.lock().health.delivered += 1;
                    tracing::info!(
                        target: "patchdeck::notify",
                        url = %url, key = %key, attempt,
                        "notice delivered"
                    );
                    return;
                }
                Err(failure) => {
                    let next = if failure.retry { delays.next() } else { None };
                    {
                        let mut state = self.lock();
                        state.health.failed_posts += 1;
                        state.health.last_error = Some(failure.words.clone());
                        if next.is_none() {
                            state.health.given_up += 1;
                        }
                    }
                    match next {
                        Some(delay) => {
                            tracing::warn!(
                                target: "patchdeck::notify",
                                url = %url, key = %key, attempt,
                                retry_in_ms = delay.as_millis() as u64,
                                "notice not delivered: {}; retrying", failure.words
                            );
                            tokio::time::sleep(delay).await;
                        }
                        None => {
                            tracing::error!(
                                target: "patchdeck::notify",
                                url = %url, key = %key, attempt,
                                "notice given up: {}", failure.words
                            );
                            return;
                        }
                    }
                }
            }
        }
    }

    async fn post(&self, client: &reqwest::Client, document: &Posted) -> Result<(), Failure> {
        let sent = client
            .post(&self.url)
            .timeout(self.settings.timeout)
            .header("patchdeck-notice-key", &document.key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(document.body.clone())
            .send()
            .await;
        let response = sent.map_err(|error| Failure {
            words: if error.is_timeout() {
                format!("no answer within {} ms", self.settings.timeout.as_millis())
            } else {
                format!("cannot post: {}", root_cause(&error))
            },
            retry: true,
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // A receiver that is down or busy may take it later; one that refuses it
        // (another 4xx) will refuse it again.
        let retry = status.is_server_error()
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || status == reqwest::StatusCode::REQUEST_TIMEOUT;
        Err(Failure {
            words: format!("the receiver answered {status}"),
            retry,
        })
    }
}

/// The innermost error, in words (reqwest's own says little: "error sending request").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// A URL as logged and served (`GET /v1/health` needs no token): scheme, host and
/// port only, since a webhook's path or query is often its secret (a Slack hook's is).
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            let rest = if parsed.path() == "/" && parsed.query().is_none() {
                ""
            } else {
                "/..."
            };
            format!(
                "{}://{}{port}{rest}",
                parsed.scheme(),
                parsed.host_str().unwrap_or_default()
            )
        }
        Err(_) => "(not a URL)".to_string(),
    }
}
