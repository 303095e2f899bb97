//! When a call is sent again: after a timeout or connection error (actions only, with
//! the same idempotency key), and after a 429 or 503 once `Retry-After` has passed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap};
use reqwest::{RequestBuilder, Response, Url};

use super::Client;
use super::error::{ClientError, error_from_response, transport_error};

/// Retries after a timeout, a connection error, a 429 or a 503: at most this many, so
/// at most `MAX_RETRIES + 1` requests for one call.
pub const MAX_RETRIES: u32 = 3;
/// `Retry-After` when the header is missing or unreadable.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// A server asking to wait longer than this is waited for this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// Pause before the first retry after a timeout or connection error; doubles each time.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// How one call retries.
#[derive(Debug, Clone, Copy)]
pub(super) struct RetryPolicy {
    /// Retry after a timeout or connection error (only with an idempotency key).
    pub(super) transport: bool,
    /// Retry after a 429 or 503, waiting `Retry-After`.
    pub(super) retry_after: bool,
}

pub(super) const READ: RetryPolicy = RetryPolicy {
    transport: false,
    retry_after: true,
};
pub(super) const ACT: RetryPolicy = RetryPolicy {
    transport: true,
    retry_after: true,
};
pub(super) const WATCH: RetryPolicy = RetryPolicy {
    transport: false,
    retry_after: false,
};

impl Client {
    /// Send, retrying as `policy` allows. Returns a successful (2xx) response.
    pub(super) async fn send(
        &self,
        url: &Url,
        policy: RetryPolicy,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, ClientError> {
        let mut retries = 0;
        loop {
            let answer = build().send().await;
            if let Ok(response) = &answer {
                self.note_gateway(response.headers());
            }
            let error = match answer {
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

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

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
}
