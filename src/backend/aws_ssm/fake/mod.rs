//! A fake AWS Systems Manager on 127.0.0.1, for tests and demos: the JSON 1.1 protocol
//! as AWS documents it (`POST /`, `X-Amz-Target: AmazonSSM.<Operation>`,
//! `Content-Type: application/x-amz-json-1.1`, a SigV4 `Authorization` header scoped to
//! service `ssm`), `NextToken` paging, injected faults (`ThrottlingException`, any error)
//! and an in-memory fleet that its owner steps explicitly (no timers).
//!
//! The real `aws_sdk_ssm::Client` talks to it through an endpoint override.

mod demo;
mod fleet;
mod ops;
mod windows;

pub use demo::{DEMO_GROUPS, DEMO_KB, DemoStory, demo_fleet};

pub use fleet::{
    CommandRequest, FakeCommand, FakeFleet, FakeInstance, FakeInvocation, FakePatch,
    FakePatchGroup, FakePatchState, FakePlugin, InstallOutcome, PatchCounts, limit_of,
};
pub use ops::{FakeError, OPERATIONS};
pub use windows::{FakeWindow, FakeWindowTarget};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// The access key id the fake accepts by default (with any secret).
pub const FAKE_ACCESS_KEY: &str = "AKIDPATCHDECKTEST";
/// The region the fake serves by default.
pub const FAKE_REGION: &str = "eu-west-1";

const JSON_1_1: &str = "application/x-amz-json-1.1";

/// One request the fake answered (or refused).
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The operation from `X-Amz-Target` (empty if missing).
    pub operation: String,
    pub body: Value,
    /// The HTTP status answered (0: acted on, never answered).
    pub status: u16,
}

#[derive(Debug, Default)]
struct Faults {
    /// Errors to answer, per operation, in order.
    queued: HashMap<String, Vec<FakeError>>,
    page_size: HashMap<String, usize>,
    /// Operations whose next call is acted on but never answered.
    hang_after: Vec<String>,
}

struct Shared {
    fleet: Mutex<FakeFleet>,
    faults: Mutex<Faults>,
    requests: Mutex<Vec<Recorded>>,
    access_key: String,
    region: String,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running fake SSM. Dropping it stops the server.
pub struct FakeSsm {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeSsm {
    /// Serves `fleet` on 127.0.0.1 (a free port) for `FAKE_ACCESS_KEY` in `FAKE_REGION`.
    pub async fn start(fleet: FakeFleet) -> std::io::Result<FakeSsm> {
        FakeSsm::start_on("127.0.0.1:0".parse().expect("address"), fleet).await
    }

    /// Serves `fleet` on `addr` (loopback only: the caller's choice of port).
    pub async fn start_on(addr: SocketAddr, fleet: FakeFleet) -> std::io::Result<FakeSsm> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            fleet: Mutex::new(fleet),
            faults: Mutex::new(Faults::default()),
            requests: Mutex::new(Vec::new()),
            access_key: FAKE_ACCESS_KEY.into(),
            region: FAKE_REGION.into(),
        });
        let app = Router::new()
            .route("/", post(handle))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeSsm { addr, shared, task })
    }

    /// A client of this fake through the real SDK: its URL, key and region spelled out
    /// (nothing read from the machine), `max_attempts` per call, and `sleep` for the
    /// SDK's backoff (records it, never waits).
    pub fn client(&self, max_attempts: u32, sleep: &super::NoWait) -> super::SsmClient {
        super::SsmClient::explicit(&super::ExplicitSettings {
            endpoint_url: self.url(),
            region: FAKE_REGION.into(),
            access_key_id: FAKE_ACCESS_KEY.into(),
            secret_access_key: "fake-secret".into(),
            max_attempts,
            sleep: Some(aws_sdk_ssm::config::SharedAsyncSleep::new(sleep.clone())),
        })
    }

    /// The endpoint URL to give the SDK: "http://127.0.0.1:PORT".
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The fleet, to look at or change (step it, advance its clock, take hosts offline).
    pub fn fleet(&self) -> MutexGuard<'_, FakeFleet> {
        lock(&self.shared.fleet)
    }

    /// The next `times` calls of `operation` answer HTTP 400 `ThrottlingException`.
    pub fn throttle_next(&self, operation: &str, times: usize) {
        let error = FakeError::new(400, "ThrottlingException", "Rate exceeded");
        for _ in 0..times {
            self.fail_next(operation, error.clone());
        }
    }

    /// The next call of `operation` answers `error` (after any already queued).
    pub fn fail_next(&self, operation: &str, error: FakeError) {
        let mut faults = lock(&self.shared.faults);
        faults
            .queued
            .entry(operation.into())
            .or_default()
            .push(error);
    }

    /// Answers `operation` in pages of `size` items whatever `MaxResults` asks.
    pub fn page_size(&self, operation: &str, size: usize) {
        lock(&self.shared.faults)
            .page_size
            .insert(operation.into(), size);
    }

    /// The next call of `operation` is acted on (a command is sent) but its answer
    /// never comes: the connection stays open, as when a gateway dies after SSM acted.
    pub fn drop_next_response(&self, operation: &str) {
        lock(&self.shared.faults).hang_after.push(operation.into());
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.requests).clone()
    }

    /// How many requests named `operation` (answered or refused).
    pub fn count(&self, operation: &str) -> usize {
        let requests = lock(&self.shared.requests);
        requests.iter().filter(|r| r.operation == operation).count()
    }
}

impl Drop for FakeSsm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error_response(error: &FakeError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({"__type": error.code, "message": error.message});
    json_response(status, &body)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_1_1));
    let id = uuid::Uuid::new_v4().to_string();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert("x-amzn-requestid", value);
    }
    response
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The SigV4 checks of the header form (not the signature's value): scheme, a
/// credential scope `<key>/<yyyymmdd>/<region>/ssm/aws4_request` matching `x-amz-date`,
/// the signed headers SSM needs and a 64-hex signature.
pub fn check_sigv4(headers: &HeaderMap, access_key: &str, region: &str) -> Result<(), FakeError> {
    let denied = |code: &str, message: &str| FakeError::new(400, code, message);
    let Some(auth) = header_str(headers, "authorization") else {
        return Err(denied(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(denied(
            "IncompleteSignatureException",
            "Authorization is not AWS4-HMAC-SHA256",
        ));
    };
    let mut parts: HashMap<&str, &str> = HashMap::new();
    for part in rest.split(',') {
        if let Some((key, value)) = part.trim().split_once('=') {
            parts.insert(key, value);
        }
    }
    let incomplete = |what: &str| {
        denied(
            "IncompleteSignatureException",
            &format!("Authorization lacks {what}"),
        )
    };
    let credential = parts
        .get("Credential")
        .ok_or_else(|| incomplete("Credential"))?;
    let signed = parts
        .get("SignedHeaders")
        .ok_or_else(|| incomplete("SignedHeaders"))?;
    let signature = parts
        .get("Signature")
        .ok_or_else(|| incomplete("Signature"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [key, date, scope_region, service, terminator] = scope[..] else {
        return Err(incomplete("a five-part credential scope"));
    };
    if key != access_key {
        return Err(denied(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    }
    let amz_date = header_str(headers, "x-amz-date").unwrap_or_default();
    if amz_date.len() != 16 || !amz_date.starts_with(date) {
        return Err(denied(
            "InvalidSignatureException",
            "Date in Credential scope does not match x-amz-date",
        ));
    }
    if service != "ssm" {
        return Err(denied(
            "InvalidSignatureException",
            &format!("Credential should be scoped to correct service: 'ssm'. (got '{service}')"),
        ));
    }
    if scope_region != region || terminator != "aws4_request" {
        return Err(denied(
            "InvalidSignatureException",
            &format!("Credential should be scoped to a valid region: '{region}'."),
        ));
    }
    let signed: Vec<&str> = signed.split(';').collect();
    for needed in ["host", "x-amz-date", "x-amz-target", "content-type"] {
        if !signed.contains(&needed) {
            return Err(incomplete(&format!("{needed} in SignedHeaders")));
        }
    }
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    if signature.len() != 64 || !signature.chars().all(hex) {
        return Err(incomplete("a 64 hex digit Signature"));
    }
    Ok(())
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let operation = header_str(&headers, "x-amz-target")
        .and_then(|t| t.strip_prefix("AmazonSSM."))
        .unwrap_or_default()
        .to_string();
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = answer(&shared, &headers, &operation, &input);
    let hang = answer.is_ok() && {
        let mut faults = lock(&shared.faults);
        let at = faults.hang_after.iter().position(|op| *op == operation);
        at.map(|at| faults.hang_after.remove(at)).is_some()
    };
    if hang {
        lock(&shared.requests).push(Recorded {
            operation,
            body: input,
            status: 0,
        });
        match std::future::pending::<std::convert::Infallible>().await {}
    }
    let (status, response) = match answer {
        Ok(value) => (200, json_response(StatusCode::OK, &value)),
        Err(error) => (error.status, error_response(&error)),
    };
    lock(&shared.requests).push(Recorded {
        operation,
        body: input,
        status,
    });
    response
}

fn answer(
    shared: &Shared,
    headers: &HeaderMap,
    operation: &str,
    input: &Value,
) -> Result<Value, FakeError> {
    let content_type = header_str(headers, "content-type").unwrap_or_default();
    if !content_type.starts_with(JSON_1_1) {
        return Err(FakeError::new(
            400,
            "SerializationException",
            "expected application/x-amz-json-1.1",
        ));
    }
    if operation.is_empty() {
        return Err(FakeError::new(
            400,
            "UnknownOperationException",
            "X-Amz-Target AmazonSSM.<Operation> is missing",
        ));
    }
    check_sigv4(headers, &shared.access_key, &shared.region)?;
    if !input.is_object() {
        return Err(FakeError::new(
            400,
            "SerializationException",
            "the body is not a JSON object",
        ));
    }
    let page_size = {
        let mut faults = lock(&shared.faults);
        if let Some(queue) = faults.queued.get_mut(operation)
            && !queue.is_empty()
        {
            return Err(queue.remove(0));
        }
        faults.page_size.get(operation).copied()
    };
    let mut fleet = lock(&shared.fleet);
    ops::dispatch(&mut fleet, operation, input, page_size)
}
