//! Transport, client and server side: plain HTTP only to this machine unless allowed,
//! no redirects followed, TLS with a CA file, and the bounds on connections before
//! authentication (header-read timeout, idle timeout, connection cap). Everything on
//! 127.0.0.1; every wait has a deadline.

mod common;
mod tls_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use patchdeck::api::client::{Client, ClientError, Sleeper, Transport};
use patchdeck::api::server::{
    ConnectionLimits, Listening, RunningServer, ServerOptions, Tls, spawn_listening,
};
use patchdeck::api::tokens::Tokens;
use patchdeck::model::Role;
use patchdeck::sim::Scenario;

use tls_support::Pki;

const TOKEN: &str = "transport-test-token-0001";
/// The longest any wait here may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(5);

fn no_wait() -> Sleeper {
    Arc::new(|_| Box::pin(async {}))
}

fn client(url: &str, transport: &Transport) -> Result<Client, ClientError> {
    Ok(Client::with_transport(url, Some(TOKEN.into()), transport)?.with_sleeper(no_wait()))
}

async fn serve(tls: Option<Tls>, limits: ConnectionLimits) -> RunningServer {
    let options = ServerOptions {
        tokens: Tokens::single("alice", Role::Approver, TOKEN),
        ..ServerOptions::default()
    };
    let listening = Listening {
        addr: "127.0.0.1:0".parse().unwrap(),
        tls,
        limits,
    };
    spawn_listening(
        common::simulator(Scenario::PatchTuesday, 0),
        options,
        None,
        listening,
    )
    .await
    .expect("a server")
}

fn limits(header_read: Duration, idle: Duration, max: usize) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: header_read,
        idle_timeout: idle,
        max_connections: max,
    }
}

#[test]
fn plain_http_off_this_machine_is_refused_before_anything_is_sent() {
    // 10.0.0.1 is never connected to: the client refuses while it is being made.
    let error = Client::new("http://10.0.0.1:7070", Some(TOKEN.into())).unwrap_err();
    let ClientError::Config(line) = &error else {
        panic!("a config error: {error:?}");
    };
    assert!(line.contains("http://10.0.0.1:7070"), "{line}");
    assert!(line.contains("--insecure-http"), "{line}");
    assert!(!line.contains(TOKEN) && !line.contains('\n'), "{line}");
    for here in [
        "http://127.0.0.1:7070",
        "http://localhost:7070",
        "http://[::1]:7070",
    ] {
        assert!(Client::new(here, Some(TOKEN.into())).is_ok(), "{here}");
    }
    let allowed = Transport {
        insecure_http: true,
        ..Transport::default()
    };
    assert!(client("http://10.0.0.1:7070", &allowed).is_ok());
    assert!(client("https://10.0.0.1:7070", &Transport::default()).is_ok());
}

#[tokio::test]
async fn a_redirect_is_an_error_and_never_followed() {
    // Where the redirect points: counts what reaches it.
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let elsewhere = axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { (StatusCode::OK, "{}") }
    });
    let elsewhere_addr = listen(elsewhere).await;
    let location = format!("http://{elsewhere_addr}/v1/me");
    let redirecting = axum::Router::new().fallback(move || {
        let location = location.clone();
        async move { (StatusCode::FOUND, [(header::LOCATION, location)]).into_response() }
    });
    let addr = listen(redirecting).await;
    let client = client(&format!("http://{addr}"), &Transport::default()).unwrap();
    let error = client.me().await.unwrap_err();
    assert!(
        matches!(&error, ClientError::Redirected { status: 302, location: Some(l) } if l.contains(&elsewhere_addr.to_string())),
        "{error:?}"
    );
    assert!(error.to_string().contains("not followed"), "{error}");
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
}

async fn listen(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

#[tokio::test]
async fn tls_with_the_ca_file_is_trusted_and_without_it_refused() {
    let pki = Pki::new();
    let tls = Tls::from_pem_files(&pki.cert, &pki.key).expect("the server's certificate");
    let server = serve(Some(tls), ConnectionLimits::default()).await;
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    let trusting = Transport {
        ca_file: Some(pki.ca.clone()),
        ..Transport::default()
    };
    let me = client(&server.url, &trusting).unwrap().me().await.unwrap();
    assert_eq!(me.name, "alice");

    let error = client(&server.url, &Transport::default())
        .unwrap()
        .me()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Network { reason, .. } if reason.to_lowercase().contains("certificate")),
        "{error:?}"
    );
    // Plain HTTP to the TLS port gets no answer.
    let plain = server.url.replace("https://", "http://");
    assert!(
        client(&plain, &Transport::default())
            .unwrap()
            .me()
            .await
            .is_err()
    );
    server.shutdown().await.unwrap();
}

#[test]
fn missing_or_wrong_tls_files_are_named() {
    let pki = Pki::new();
    let missing = pki.key.with_file_name("nope.pem");
    let error = Tls::from_pem_files(&pki.cert, &missing).unwrap_err();
    assert!(
        error.starts_with("--tls-key") && error.contains("nope.pem"),
        "{error}"
    );
    let error = Tls::from_pem_files(&pki.key, &pki.key).unwrap_err();
    assert!(error.starts_with("--tls-cert"), "{error}");
    let error = Tls::from_pem_files(&pki.cert, &pki.cert).unwrap_err();
    assert!(error.starts_with("--tls-key"), "{error}");
    let ca = Transport {
        ca_file: Some(missing),
        ..Transport::default()
    };
    let error = client("https://127.0.0.1:1", &ca).unwrap_err().to_string();
    assert!(
        error.contains("cannot read CA file") && error.contains("nope.pem"),
        "{error}"
    );
}

/// Reads until the server closes the connection; how long that took, or None if it
/// was still open at the deadline.
async fn closed_within(stream: &mut TcpStream, deadline: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let wait = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(deadline, wait)
        .await
        .ok()
        .map(|()| started.elapsed())
}

#[tokio::test]
async fn half_a_request_is_closed_after_the_header_read_timeout() {
    let header_read = Duration::from_millis(200);
    let server = serve(None, limits(header_read, Duration::from_secs(30), 16)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthor")
        .await
        .unwrap();
    let took = closed_within(&mut stream, DEADLINE)
        .await
        .expect("closed before the deadline");
    assert!(took >= header_read / 2, "closed after {took:?}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let idle = Duration::from_millis(200);
    let server = serve(None, limits(Duration::from_secs(30), idle, 16)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let took = closed_within(&mut stream, DEADLINE)
        .await
        .expect("closed before the deadline");
    assert!(took >= idle / 2, "closed after {took:?}");
    server.shutdown().await.unwrap();
}

/// Sends a GET of `/v1/health` and reads the status line of the answer.
async fn get_health(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
}

async fn status_line(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(within, stream.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().next().map(str::to_string)
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let cap = 2;
    let server = serve(
        None,
        limits(Duration::from_secs(30), Duration::from_secs(30), cap),
    )
    .await;
    // `cap` connections, each served once and kept alive: they hold the slots.
    let mut held = Vec::new();
    for _ in 0..cap {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        get_health(&mut stream).await;
        let status = status_line(&mut stream, DEADLINE).await;
        assert_eq!(status.as_deref(), Some("HTTP/1.1 200 OK"));
        held.push(stream);
    }
    // More connect (the kernel's backlog) but are not served while the cap is held.
    let mut waiting = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        get_health(&mut stream).await;
        waiting.push(stream);
    }
    for stream in &mut waiting {
        let status = status_line(stream, Duration::from_millis(300)).await;
        assert_eq!(status, None, "served beyond the cap");
    }
    // One slot freed: the waiting ones are served, one at a time.
    drop(held.pop());
    for stream in &mut waiting {
        let status = status_line(stream, DEADLINE).await;
        assert_eq!(status.as_deref(), Some("HTTP/1.1 200 OK"));
        // Close it so that the next one gets the slot.
        stream.shutdown().await.unwrap();
    }
    drop(waiting);
    drop(held);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_event_stream_outlives_the_header_read_timeout() {
    let header_read = Duration::from_millis(100);
    let server = serve(None, limits(header_read, Duration::from_secs(30), 16)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Accept: text/event-stream\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let status = status_line(&mut stream, DEADLINE).await;
    assert_eq!(status.as_deref(), Some("HTTP/1.1 200 OK"));
    // Several header-read timeouts later the stream is still open.
    let closed = closed_within(&mut stream, header_read * 5).await;
    assert_eq!(closed, None, "the event stream was cut");
    // And shutdown still ends it.
    tokio::time::timeout(DEADLINE, server.shutdown())
        .await
        .expect("shut down in time")
        .unwrap();
}
