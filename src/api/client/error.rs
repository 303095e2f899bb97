//! Why a call failed, in one line each that is safe to show the operator, and how an
//! unsuccessful answer or a transport failure becomes one.

use std::time::Duration;

use chrono::Utc;
use reqwest::{Response, StatusCode, Url};

use super::http::{read_body, url_text};
use super::retry::parse_retry_after;
use crate::api::wire::Problem;

/// Largest problem+json answer read.
const MAX_PROBLEM_BODY: usize = 64 * 1024;
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
    /// A 3xx: redirects are never followed (the token would go where it points).
    #[error("{}", redirect_line(*.status, .location.as_deref()))]
    Redirected {
        status: u16,
        location: Option<String>,
    },
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

fn redirect_line(status: u16, location: Option<&str>) -> String {
    let to = location.map_or(String::new(), |l| format!(" to {l}"));
    format!(
        "the server answered HTTP {status} (a redirect{to}); redirects are not followed: \
         set the API URL to the server itself"
    )
}

fn problem_line(problem: &Problem) -> String {
    match &problem.detail {
        Some(detail) => format!("{}: {} (HTTP {})", problem.title, detail, problem.status),
        None => format!("{} (HTTP {})", problem.title, problem.status),
    }
}

/// Keeps at most `MAX_ERROR_TEXT` characters of network text.
pub(super) fn clip(text: &str) -> String {
    let text = crate::text::clean(text);
    let mut clipped: String = text.chars().take(MAX_ERROR_TEXT).collect();
    if clipped.len() < text.len() {
        clipped.push_str("...");
    }
    clipped
}

pub(super) fn transport_error(error: &reqwest::Error, url: &Url) -> ClientError {
    transport_error_text(error, &url_text(url))
}

pub(super) fn transport_error_text(error: &reqwest::Error, url: &str) -> ClientError {
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

/// The error an unsuccessful answer stands for.
pub(super) async fn error_from_response(response: Response, url: &Url) -> ClientError {
    let status = response.status();
    if status.is_redirection() {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(clip);
        return ClientError::Redirected {
            status: status.as_u16(),
            location,
        };
    }
    let retry_after = parse_retry_after(response.headers(), Utc::now());
    let problem = match read_body(response, url, MAX_PROBLEM_BODY).await {
        Ok(body) => super::untrusted::decode::<Problem>(&body)
            .ok()
            .map(|mut p| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(500);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), MAX_ERROR_TEXT + 3);
        assert!(clipped.ends_with("..."));
    }
}
