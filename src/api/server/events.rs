//! `GET /v1/events`: the change stream as Server-Sent Events.
//!
//! Subscribe to the backend's broadcast first, then replay the history after `since`,
//! then go on with live events, skipping any sequence number already sent: no gaps, no
//! doubles. Each event is `id: <seq>`, `event: <kind>`, `data: <Event JSON>`. A
//! receiver that lags behind ends the stream; the client resumes with `Last-Event-ID`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::{broadcast, watch};

use super::AppState;
use super::gateway::Gateway;
use super::problem::ApiProblem;
use crate::api::wire::ProblemType;
use crate::backend::Backend;
use crate::model::{Event, Seq};
use crate::store::Store;

/// Comment sent on an idle stream so that proxies and clients see it is alive.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Debug, Default, Deserialize)]
pub(crate) struct EventParams {
    since: Option<String>,
}

pub(crate) async fn events(
    State(state): State<AppState>,
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
    let backlog = match &state.gateway {
        Some(gateway) => stored_backlog(gateway, state.backend.as_ref(), since).await?,
        None => state.backend.events_since(since)?,
    };
    let feed = Feed {
        backend: state.backend.clone(),
        receiver,
        backlog: backlog.into(),
        last: since,
        remaining: state.faults.config.drop_stream_after,
        shutdown: state.shutdown.clone(),
    };
    let mut response = Sse::new(feed.into_stream())
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// The history after `since` from the store (410 when it was compacted there), then
/// whatever the fleet has that the store does not have yet. A store that cannot be
/// read leaves the fleet's own history.
async fn stored_backlog(
    gateway: &Gateway,
    backend: &dyn Backend,
    since: Seq,
) -> Result<Vec<Event>, ApiProblem> {
    let mut backlog: Vec<Event> = Vec::new();
    let mut last = since;
    loop {
        match gateway.store().events_since(last, STORE_PAGE).await {
            Ok(Ok(events)) if events.is_empty() => break,
            Ok(Ok(events)) => {
                last = events.last().map_or(last, |e| e.seq);
                backlog.extend(events);
            }
            Ok(Err(compacted)) => return Err(ApiProblem::compacted(compacted.oldest)),
            Err(_) => return Ok(backend.events_since(since)?),
        }
    }
    match backend.events_since(last) {
        Ok(rest) => backlog.extend(rest),
        Err(_) if !backlog.is_empty() => {}
        Err(compacted) => return Err(compacted.into()),
    }
    Ok(backlog)
}

/// Events read from the store at once.
const STORE_PAGE: usize = 5000;

fn parse_seq(text: &str, name: &str) -> Result<Seq, ApiProblem> {
    text.trim().parse::<Seq>().map_err(|_| {
        ApiProblem::malformed(format!(
            "{name} must be an event sequence number, got `{text}`"
        ))
    })
}

/// The state of one stream.
struct Feed {
    backend: Arc<dyn Backend>,
    receiver: broadcast::Receiver<Event>,
    backlog: VecDeque<Event>,
    /// Last sequence number sent (or the one the client already has).
    last: Seq,
    /// Fault injection: events left before the stream is dropped.
    remaining: Option<u32>,
    shutdown: watch::Receiver<bool>,
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

    /// The next event to send, or None when the stream should end.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if self.remaining == Some(0) {
                return None;
            }
            if let Some(event) = self.backlog.pop_front() {
                if event.seq <= self.last {
                    continue;
                }
                self.last = event.seq;
                self.remaining = self.remaining.map(|n| n - 1);
                return Some(event);
            }
            let received = tokio::select! {
                () = shut_down(&mut self.shutdown) => return None,
                received = self.receiver.recv() => received,
            };
            match received {
                Ok(event) if event.seq <= self.last => {}
                Ok(event) if event.seq == self.last + 1 => self.backlog.push_back(event),
                Ok(event) => {
                    // A gap the broadcast did not carry: fill it from the history.
                    match self.backend.events_since(self.last) {
                        Ok(history) if !history.is_empty() => self.backlog.extend(history),
                        Ok(_) => self.backlog.push_back(event),
                        Err(_) => return None,
                    }
                }
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
