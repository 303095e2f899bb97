//! Listening: the accept loop under the router, with what holds before any request is
//! authenticated. At most `max_connections` connections are served at once (beyond
//! that, new ones wait in the listen backlog, never accepted unbounded); a request's
//! headers must arrive within `header_read_timeout` (also the wait for the next
//! request on a kept-alive connection, and the TLS handshake); a connection with no
//! byte either way for `idle_timeout` is closed (event streams send a keep-alive
//! comment every 15 s, so they are never idle). HTTP/1.1, over TLS with
//! `--tls-cert/--tls-key`.

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::{Instant, Sleep};

use super::events::shut_down;

/// Time for a request's headers (and the TLS handshake) to arrive.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no byte either way for this long is closed.
pub const CONNECTION_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections served at once; more wait until one closes.
pub const MAX_CONNECTIONS: usize = 512;
/// The shortest idle timeout `serve` accepts: longer than the event stream's
/// keep-alive interval (15 s), so that an open stream is never cut as idle.
pub const MIN_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// What bounds a connection before it is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            idle_timeout: CONNECTION_IDLE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// The server's certificate and key: `serve --tls-cert PEM --tls-key PEM`.
#[derive(Clone)]
pub struct Tls {
    config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls { .. }")
    }
}

impl Tls {
    /// The certificate chain (leaf first) and private key of two PEM files. Errors
    /// name the file and what is wrong with it, never the key.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Tls, String> {
        let certs = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("--tls-cert {}: {}", cert.display(), pem_error(e)))?;
        if certs.is_empty() {
            return Err(format!(
                "--tls-cert {}: no -----BEGIN CERTIFICATE----- block in it",
                cert.display()
            ));
        }
        let private = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("--tls-key {}: {}", key.display(), pem_error(e)))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(certs, private)
            .map_err(|e| {
                format!(
                    "--tls-cert {} and --tls-key {}: {e}",
                    cert.display(),
                    key.display()
                )
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            config: Arc::new(config),
        })
    }
}

fn pem_error(error: rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match error {
        Error::Io(error) => error.to_string(),
        Error::NoItemsFound => "no PEM block of the expected kind in it".to_string(),
        other => format!("not valid PEM ({other:?})"),
    }
}

/// Serves `app` on `listener` until `stop` turns true, then lets the connections in
/// flight finish (event streams end on the same signal) and returns.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Tls>,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let acceptor = tls.map(|tls| tokio_rustls::TlsAcceptor::from(tls.config));
    // Every connection holds a sender; when all are gone, `open.recv()` returns None.
    let (tracker, mut open) = mpsc::channel::<()>(1);
    let mut stopping = stop.clone();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = shut_down(&mut stopping) => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    accept_error(error).await;
                    continue;
                }
            },
            () = shut_down(&mut stopping) => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let acceptor = acceptor.clone();
        let tracker = tracker.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _tracker = tracker;
            let stream = Idle::new(stream, limits.idle_timeout);
            match acceptor {
                None => serve_connection(stream, app, limits, stop).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        serve_connection(stream, app, limits, stop).await;
                    }
                }
            }
        });
    }
    drop(listener);
    drop(tracker);
    let _ = open.recv().await;
    Ok(())
}

/// Accept failed: a connection reset before it was accepted is nothing; running out
/// of file descriptors is waited out (as axum does) instead of spinning.
async fn accept_error(error: io::Error) {
    if !matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One HTTP/1.1 connection; on shutdown it finishes the request in flight and closes.
async fn serve_connection<I>(
    io: I,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(app));
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        () = shut_down(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// A stream that fails with `TimedOut` after `timeout` without a byte read or written.
struct Idle<S> {
    inner: S,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<S> Idle<S> {
    fn new(inner: S, timeout: Duration) -> Idle<S> {
        Idle {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    fn progressed(&mut self) {
        let next = Instant::now() + self.timeout;
        self.deadline.as_mut().reset(next);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn idle_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection idle")
}

impl<S: AsyncRead + Unpin> AsyncRead for Idle<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                self.progressed();
                Poll::Ready(result)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Idle<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(result) => {
                self.progressed();
                Poll::Ready(result)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_stream_is_never_idle_for_the_shortest_idle_timeout() {
        assert!(MIN_IDLE_TIMEOUT > super::super::events::KEEP_ALIVE);
        assert!(ConnectionLimits::default().idle_timeout >= MIN_IDLE_TIMEOUT);
    }
}
