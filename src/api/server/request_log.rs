//! One structured log line per request, through `tracing` (target
//! `patchdeck::request`): method, path (never the query), status, who asked, how long
//! it took, and for a refusal its problem type and detail. Never a token or an
//! `Authorization` header. Nothing is written unless the program installed a
//! subscriber: `patchdeck serve` does (on stderr), the console's embedded demo server
//! does not, so the terminal it draws on stays clean.

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::{Body, HttpBody as _};
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;

use crate::model::Identity;

/// The `tracing` target of request lines.
pub const TARGET: &str = "patchdeck::request";
/// Longest path written; longer ones are cut (a path is the caller's text).
const MAX_PATH: usize = 200;
/// Largest problem body read for its type and detail (problems are small).
const MAX_PROBLEM_BODY: u64 = 16 * 1024;

pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = cut(request.uri().path());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.to_string());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let identity = response
        .extensions()
        .get::<Identity>()
        .map(|identity| identity.name.clone());
    // Milliseconds, to the microsecond.
    let ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1000.0;
    let peer = peer.as_deref();
    let identity = identity.as_deref().unwrap_or("-");
    if status < 400 {
        tracing::info!(
            target: TARGET,
            %method, %path, status, %identity, peer, ms,
            "request"
        );
        return response;
    }
    let (response, problem) = problem_of(response).await;
    let (problem_type, detail) = problem.unwrap_or_default();
    tracing::warn!(
        target: TARGET,
        %method, %path, status, %identity, peer, ms,
        problem = %problem_type, detail = %escaped(&detail),
        "refused"
    );
    response
}

/// The path, cut to [`MAX_PATH`] bytes (at a character boundary).
fn cut(path: &str) -> String {
    if path.len() <= MAX_PATH {
        return path.to_string();
    }
    let mut end = MAX_PATH;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &path[..end])
}

/// `text` with control, bidi and zero-width characters written as `\u{..}`: a detail
/// may quote what a caller sent, and the log must not carry it raw to a terminal.
fn escaped(text: &str) -> String {
    let invisible = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    text.chars()
        .map(|c| {
            if invisible(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A problem+json response's type and detail, read from its body (put back as it was).
async fn problem_of(response: Response) -> (Response, Option<(String, String)>) {
    let is_problem = super::problem::is_problem(&response);
    let small = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|size| size <= MAX_PROBLEM_BODY);
    if !(is_problem && small) {
        return (response, None);
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PROBLEM_BODY as usize).await else {
        return (Response::from_parts(parts, Body::empty()), None);
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let text = |name: &str| value[name].as_str().unwrap_or_default().to_string();
    let problem = (text("type"), text("detail"));
    (
        Response::from_parts(parts, Body::from(bytes)),
        Some(problem),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        assert_eq!(
            escaped("no action `a\u{1b}[2Jb`"),
            "no action `a\\u{1b}[2Jb`"
        );
        assert_eq!(escaped("x\u{202e}y\u{200b}"), "x\\u{202e}y\\u{200b}");
        assert_eq!(escaped("plain `words`"), "plain `words`");
    }

    #[test]
    fn long_paths_are_cut_at_a_character_boundary() {
        assert_eq!(cut("/v1/me"), "/v1/me");
        let long = format!("/v1/hosts/{}", "é".repeat(200));
        let cut = cut(&long);
        assert!(cut.len() <= MAX_PATH + '…'.len_utf8());
        assert!(cut.ends_with('…'));
    }
}
