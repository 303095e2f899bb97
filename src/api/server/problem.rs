//! Errors as RFC 9457 `application/problem+json` responses, with the headers that go
//! with some of them (`WWW-Authenticate` on 401, `Retry-After` on 429/503, the current
//! `ETag` on 412).

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::wire::{PROBLEM_CONTENT_TYPE, Problem, ProblemType};
use crate::backend::{ActError, Compacted};
use crate::model::Role;

/// Problem `type` of a write the durable store refused (503, with `Retry-After`): the
/// gateway is degraded, nothing was done, reads keep working.
pub const STORE_UNAVAILABLE_TYPE: &str = "urn:patchdeck:problem:store-unavailable";
/// `Retry-After` of a `store-unavailable` refusal, seconds.
const STORE_RETRY_AFTER_SECS: u64 = 5;

/// A problem on its way to the client.
#[derive(Debug, Clone)]
pub(crate) struct ApiProblem {
    /// Boxed: problems travel in `Result`s and should keep them small.
    pub problem: Box<Problem>,
    /// Seconds for `Retry-After` (429 and 503).
    pub retry_after: Option<u64>,
    /// HTTP status when it differs from the type's usual one (405).
    pub status_override: Option<StatusCode>,
}

impl ApiProblem {
    pub fn new(kind: ProblemType, title: impl Into<String>) -> ApiProblem {
        ApiProblem {
            problem: Box::new(Problem::new(kind, title)),
            retry_after: None,
            status_override: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> ApiProblem {
        self.problem.detail = Some(detail.into());
        self
    }

    pub fn malformed(detail: impl Into<String>) -> ApiProblem {
        ApiProblem::new(ProblemType::Malformed, "Malformed request").detail(detail)
    }

    pub fn invalid(detail: impl Into<String>) -> ApiProblem {
        ApiProblem::new(ProblemType::Invalid, "Invalid request").detail(detail)
    }

    pub fn not_found(detail: impl Into<String>) -> ApiProblem {
        ApiProblem::new(ProblemType::NotFound, "Not found").detail(detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiProblem {
        ApiProblem::new(ProblemType::Unauthorized, "Authentication required").detail(detail)
    }

    pub fn forbidden(needed: Role, verb: &str, target: &str) -> ApiProblem {
        ApiProblem::new(ProblemType::Forbidden, "Role not allowed").detail(format!(
            "{verb} on {target} needs the {} role",
            needed.as_str()
        ))
    }

    pub fn method_not_allowed() -> ApiProblem {
        let mut problem = ApiProblem::malformed("method not allowed on this resource");
        problem.problem.title = "Method not allowed".into();
        problem.problem.status = StatusCode::METHOD_NOT_ALLOWED.as_u16();
        problem.status_override = Some(StatusCode::METHOD_NOT_ALLOWED);
        problem
    }

    /// 429 or 503 with `Retry-After`.
    pub fn throttled(kind: ProblemType, retry_after_secs: u64) -> ApiProblem {
        let title = if kind == ProblemType::Unavailable {
            "Service unavailable"
        } else {
            "Too many requests"
        };
        let mut problem =
            ApiProblem::new(kind, title).detail(format!("retry after {retry_after_secs} s"));
        problem.retry_after = Some(retry_after_secs);
        problem
    }

    /// 503 `store-unavailable`: the durable store refused a write, so nothing was done.
    pub fn store_unavailable(error: &crate::store::StoreError) -> ApiProblem {
        let mut problem = ApiProblem::new(ProblemType::Unavailable, "Store unavailable").detail(
            format!("{error}; nothing was done: retry later (reads keep working)"),
        );
        problem.problem.problem_type = STORE_UNAVAILABLE_TYPE.to_string();
        problem.retry_after = Some(STORE_RETRY_AFTER_SECS);
        problem
    }

    pub fn compacted(oldest: u64) -> ApiProblem {
        let mut problem = ApiProblem::new(ProblemType::Compacted, "Event history compacted")
            .detail(format!(
                "events before sequence {oldest} are no longer kept; list again and watch from the list's sequence"
            ));
        problem.problem.oldest_sequence = Some(oldest);
        problem
    }

    pub fn status(&self) -> StatusCode {
        self.status_override.unwrap_or_else(|| {
            StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        })
    }
}

impl From<ActError> for ApiProblem {
    fn from(error: ActError) -> ApiProblem {
        let detail = error.to_string();
        match error {
            ActError::NotFound(_) => ApiProblem::not_found(detail),
            ActError::VersionMismatch { current, .. } => {
                let mut problem =
                    ApiProblem::new(ProblemType::VersionMismatch, "Target changed").detail(detail);
                problem.problem.current_version = Some(current);
                problem
            }
            ActError::Conflict(_) => {
                ApiProblem::new(ProblemType::Conflict, "Not possible now").detail(detail)
            }
            ActError::SecondApproverRequired(_) => ApiProblem::new(
                ProblemType::SecondApproverRequired,
                "A second, different approver is required",
            )
            .detail(detail),
            ActError::Invalid(_) => ApiProblem::invalid(detail),
            ActError::Unsupported(_) => {
                ApiProblem::new(ProblemType::Unsupported, "Not supported by this fleet")
                    .detail(detail)
            }
        }
    }
}

impl From<Compacted> for ApiProblem {
    fn from(compacted: Compacted) -> ApiProblem {
        ApiProblem::compacted(compacted.oldest)
    }
}

impl IntoResponse for ApiProblem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&*self.problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"patchdeck\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(current) = self.problem.current_version
            && let Ok(etag) = HeaderValue::from_str(&format!("\"{current}\""))
        {
            headers.insert(header::ETAG, etag);
        }
        response
    }
}

/// Is this answer a problem+json one?
pub(crate) fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| {
            value
                .as_bytes()
                .starts_with(PROBLEM_CONTENT_TYPE.as_bytes())
        })
}

/// Every error is problem+json: an error answer made outside the handlers (axum's
/// rejections of an oversized body, an unreadable path or a bad header) is replaced by
/// a problem of its status with a short detail of our own, never the rejection's text.
pub(crate) async fn errors_as_problems(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_problem(&response) {
        return response;
    }
    let mut problem = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiProblem::new(ProblemType::TooLarge, "Body too large")
            .detail("the request body is larger than this server takes (2 MiB)"),
        StatusCode::NOT_FOUND => ApiProblem::not_found("no such resource in patchdeck API v1"),
        StatusCode::METHOD_NOT_ALLOWED => ApiProblem::method_not_allowed(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiProblem::malformed("send the body as application/json")
        }
        status if status.is_client_error() => ApiProblem::malformed(
            "the request could not be read: check the path (UTF-8, percent-encoded), the headers and the body",
        ),
        _ => ApiProblem::new(ProblemType::Internal, "Internal error")
            .detail("the server could not answer; nothing was done"),
    };
    if problem.status() != status {
        problem.problem.status = status.as_u16();
        problem.status_override = Some(status);
    }
    let mut answer = problem.into_response();
    if let Some(retry_after) = response.headers().get(header::RETRY_AFTER) {
        answer
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after.clone());
    }
    answer
}
