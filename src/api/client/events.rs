//! Watching: `GET /v1/events` as a stream of model events, guarded against silence,
//! endless lines and anything that is not a well-formed event.

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::Method;
use reqwest::header;

use super::Client;
use super::error::{ClientError, clip, transport_error_text};
use super::http::url_text;
use super::retry::WATCH;
use crate::model::{Event, Seq};

/// The event stream returned by [`Client::events`].
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Event, ClientError>> + Send>>;

/// No event and no keep-alive on the event stream for this long: the stream is dead.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(45);
/// Longest line accepted on the event stream.
const MAX_SSE_LINE: usize = 4 * 1024 * 1024;

impl Client {
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
}

/// One SSE event as a model event: JSON `Event` whose `seq` is the SSE `id`.
fn parse_sse_event(sse: &eventsource_stream::Event) -> Result<Event, ClientError> {
    let id: Seq = sse.id.trim().parse().map_err(|_| {
        ClientError::Malformed(format!(
            "event id {:?} is not a sequence number",
            clip(&sse.id)
        ))
    })?;
    let event: Event = super::untrusted::decode(sse.data.as_bytes())
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
