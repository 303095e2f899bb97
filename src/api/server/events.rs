//! `GET /v1/events`: the change stream as Server-Sent Events.
//!
//! Subscribe to the backend's broadcast first, then replay the history after `since`,
//! then go on with live events, skipping any sequence number already sent: no gaps, no
//! doubles. Each event is `id: <seq>`, `event: <kind>`, `data: <Event JSON>`. A
//! receiver that lags behind ends the stream; the client resumes with `Last-Event-ID`.
//!
//! The replay reads the history a chunk at a time ([`Limits::replay_chunk`] events,
//! the next when the previous one has been sent): a stream holds one chunk, never the
//! whole history, and the fleet's lock only while a chunk is copied. Two chunks are
//! read at once, all streams together, so that a burst of replays takes turns. A
//! `since` further behind than [`Limits::replay_max`] is a 410, as for a compacted
//! log; streams are capped per identity and in all ([`super::streams`]).
//!
//! [`Limits::replay_chunk`]: super::Limits::replay_chunk
//! [`Limits::replay_max`]: super::Limits::replay_max

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::{Semaphore, broadcast, watch};

use super::AppState;
use super::gateway::Gateway;
use super::problem::ApiProblem;
use super::streams::StreamPermit;
use crate::api::wire::ProblemType;
use crate::backend::Backend;
use crate::model::{Event, Identity, Seq};
use crate::store::Store;

/// Comment sent on an idle stream so that proxies and clients see it is alive.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Debug, Default, Deserialize)]
pub(crate) struct EventParams {
    since: Option<String>,
}

pub(crate) async fn events(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    headers: HeaderMap,
    params: Result<Query<EventParams>, QueryRejection>,
) -> Result<Response, ApiProblem> {
    let Query(params) = params.map_err(|rejection| ApiProblem::malformed(rejection.body_text()))?;
    // `Last-Event-ID` (a reconnecting client) wins over `since` (the first connect).
    // An empty Last-Event-ID (a client that has seen no event yet) counts as absent.
    let last_event_id = headers
        .get("last-event-id")
        .map(|value| value.to_str().unwrap_or("?").trim())
        .filter(|value| !value.is_empty());
    let since = match last_event_id {
        Some(value) => Some(parse_seq(value, "Last-Event-ID")?),
        None => params
            .since
            .as_deref()
            .map(|since| parse_seq(since, "since"))
            .transpose()?,
    };
    let permit = state.streams.admit(&identity.name)?;
    let receiver = state.backend.subscribe();
    let current = state.backend.sequence();
    let since = since.unwrap_or(current);
    if since > current {
        // A sequence this server never reached: it restarted with a new history.
        return Err(
            ApiProblem::new(ProblemType::Compacted, "Event history unknown").detail(format!(
                "sequence {since} is ahead of this server (at {current}); it has restarted: list again and watch from the list's sequence"
            )),
        );
    }
    let limits = &state.limits;
    if current - since > limits.replay_max {
        let mut problem = ApiProblem::compacted(current - limits.replay_max + 1).detail(format!(
            "sequence {since} is {} events behind (at {current}), more than the {} a stream replays; list again and watch from the list's sequence",
            current - since,
            limits.replay_max
        ));
        problem.problem.title = "Event history too far behind".into();
        return Err(problem);
    }
    let mut feed = Feed {
        backend: state.backend.clone(),
        gateway: state.gateway.clone(),
        receiver,
        chunk: VecDeque::new(),
        chunk_size: limits.replay_chunk.max(1),
        replaying: true,
        from_store: state.gateway.is_some(),
        reads: state.replay_reads.clone(),
        last: since,
        remaining: state.faults.config.drop_stream_after,
        shutdown: state.shutdown.clone(),
        _permit: permit,
    };
    // The first chunk now: a history compacted after `since` is a 410, not a stream.
    let first = feed.read_chunk().await?;
    feed.chunk.extend(first);
    let mut response = Sse::new(feed.into_stream())
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

fn parse_seq(text: &str, name: &str) -> Result<Seq, ApiProblem> {
    text.trim().parse::<Seq>().map_err(|_| {
        ApiProblem::malformed(format!(
            "{name} must be an event sequence number, got `{text}`"
        ))
    })
}

/// The state of one stream: a chunk of the history at a time while it replays (read
/// when the previous one has been sent), then the live events.
struct Feed {
    backend: Arc<dyn Backend>,
    gateway: Option<Arc<Gateway>>,
    receiver: broadcast::Receiver<Event>,
    /// Events read and not sent yet: at most one chunk of the history.
    chunk: VecDeque<Event>,
    chunk_size: usize,
    /// Reading the history (at the start, or to fill a gap in the live events).
    replaying: bool,
    /// Read the history from the store first (it keeps more than the fleet); false
    /// once the store could not be read.
    from_store: bool,
    /// Turns to read a chunk, shared by every stream.
    reads: Arc<Semaphore>,
    /// Last sequence number sent (or the one the client already has).
    last: Seq,
    /// Fault injection: events left before the stream is dropped.
    remaining: Option<u32>,
    shutdown: watch::Receiver<bool>,
    /// This stream's place under the caps; freed when the stream ends.
    _permit: StreamPermit,
}

impl Feed {
    fn into_stream(self) -> impl Stream<Item = Result<SseEvent, Infallible>> {
        futures_util::stream::unfold(self, |mut feed| async move {
            let event = feed.next().await?;
            let sse = SseEvent::default()
                .id(event.seq.to_string())
                .event(event.change.kind())
                .json_data(&event)
                .ok()?;
            Some((Ok(sse), feed))
        })
    }

    /// The next chunk of the history after `last`: from the store while it has some
    /// (410 when it compacted them), then from the fleet's own log. Empty = caught up.
    async fn read_chunk(&mut self) -> Result<Vec<Event>, ApiProblem> {
        // Closed only if the server is going away: read anyway.
        let _turn = self.reads.clone().acquire_owned().await.ok();
        if let Some(gateway) = self.gateway.as_ref().filter(|_| self.from_store) {
            match gateway
                .store()
                .events_since(self.last, self.chunk_size)
                .await
            {
                Ok(Ok(events)) if !events.is_empty() => return Ok(events),
                // The store has nothing after `last` yet: the fleet may have.
                Ok(Ok(_)) => {}
                Ok(Err(compacted)) => return Err(ApiProblem::compacted(compacted.oldest)),
                // A store that cannot be read leaves the fleet's own history.
                Err(_) => self.from_store = false,
            }
        }
        Ok(self.backend.events_page(self.last, self.chunk_size)?)
    }

    /// The next event to send, or None when the stream should end.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if self.remaining == Some(0) {
                return None;
            }
            if let Some(event) = self.chunk.pop_front() {
                if event.seq <= self.last {
                    continue;
                }
                self.last = event.seq;
                self.remaining = self.remaining.map(|n| n - 1);
                return Some(event);
            }
            if self.replaying {
                // History compacted under a slow stream: end; its resume gets the 410.
                let chunk = self.read_chunk().await.ok()?;
                if chunk.is_empty() {
                    self.replaying = false;
                }
                self.chunk.extend(chunk);
                continue;
            }
            let received = tokio::select! {
                () = shut_down(&mut self.shutdown) => return None,
                received = self.receiver.recv() => received,
            };
            match received {
                Ok(event) if event.seq <= self.last => {}
                Ok(event) if event.seq == self.last + 1 => self.chunk.push_back(event),
                // A gap the broadcast did not carry: read it from the history (which
                // holds this event too: it is logged before it is broadcast).
                Ok(_) => self.replaying = true,
                // Lagged or closed: end; the client resumes with Last-Event-ID.
                Err(_) => return None,
            }
        }
    }
}

/// Resolves when the server shuts down; never if nobody can shut it down.
pub(crate) async fn shut_down(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
