//! Accepting connections and serving HTTP/1.1 on them, with the timeouts
//! and bounds a public server needs.
//!
//! axum's `serve` has none of them, so a client that sends half a header, half
//! a body or half an upgrade holds its socket forever, and enough of them
//! exhaust the descriptors. Here:
//!
//! - a request's header must arrive within `header_timeout_ms`; hyper runs the
//!   same timer while a keep-alive connection waits for its next request, so
//!   it is the idle timeout too;
//! - a request body must arrive within `body_timeout_ms` (the HTTP API
//!   answers 408, see `rest`);
//! - at most `max_pending_connections` accepted connections may still be in
//!   their TLS handshake or waiting for their first request; the accept loop
//!   waits for one of them to finish or time out before it accepts more, so
//!   the rest wait in the kernel's backlog, not in the server's descriptors;
//! - with TLS, the handshake must complete within `tls.handshake_timeout_ms`;
//!   the same port still serves plain connections (the first byte tells a
//!   TLS handshake apart), so an app can require TLS and close plain
//!   WebSocket connections with 4000 (spec 1.5).
//!
//! Every request carries a [`Secure`] extension saying whether its
//! connection is TLS, for apps that require it (spec 1.5, close 4000).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use crate::config::TransportLimits;

/// Whether a request came over TLS; set on every request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Secure(pub(crate) bool);

/// TLS for a listener: the acceptor and its handshake deadline.
#[derive(Clone)]
pub(crate) struct Tls {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) handshake_timeout: Duration,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

/// What every connection of one listener is served with.
#[derive(Clone, Debug)]
struct HttpSettings {
    header_timeout: Duration,
    tls: Option<Tls>,
}

/// Accepts on `listener` until `stop` turns `true`, serving `router` on each
/// connection.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &TransportLimits,
    tls: Option<Tls>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let settings = HttpSettings {
        header_timeout: Duration::from_millis(limits.header_timeout_ms),
        tls,
    };
    let pending = Arc::new(Semaphore::new(limits.max_pending_connections));
    loop {
        let permit = tokio::select! {
            permit = pending.clone().acquire_owned() => {
                permit.expect("the semaphore is never closed")
            }
            _ = stop.changed() => return Ok(()),
        };
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    pause_after(&e).await;
                    continue;
                }
            },
            _ = stop.changed() => return Ok(()),
        };
        // Pusher frames are small and latency-sensitive: no Nagle delay.
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let (settings, stop) = (settings.clone(), stop.clone());
        tokio::spawn(async move {
            let service = |secure| FirstRequest {
                router,
                permit: Mutex::new(Some(permit)),
                secure: Secure(secure),
            };
            let header_timeout = settings.header_timeout;
            match &settings.tls {
                Some(tls) if starts_tls(&tcp, tls.handshake_timeout).await => {
                    // A client that stalls its handshake holds its pending
                    // slot only this long.
                    let handshake = tls.acceptor.accept(tcp);
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(tls.handshake_timeout, handshake).await
                    {
                        serve_connection(stream, service(true), header_timeout, stop).await;
                    }
                }
                Some(_) | None => {
                    serve_connection(tcp, service(false), header_timeout, stop).await;
                }
            }
        });
    }
}

/// Whether the client opens with a TLS record (a handshake record starts
/// with byte 22), so one port serves `wss://`/`https://` and, for apps that
/// do not require TLS, `ws://`/`http://`. A client silent past `within` is
/// treated as plain, where the header timeout then ends it.
async fn starts_tls(tcp: &tokio::net::TcpStream, within: Duration) -> bool {
    const HANDSHAKE_RECORD: u8 = 22;
    let mut first = [0u8; 1];
    matches!(
        tokio::time::timeout(within, tcp.peek(&mut first)).await,
        Ok(Ok(1))
    ) && first[0] == HANDSHAKE_RECORD
}

/// After a failed accept: per-connection errors are skipped at once; others
/// (out of descriptors) back off briefly instead of spinning.
async fn pause_after(error: &std::io::Error) {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionRefused
        | ErrorKind::ConnectionAborted
        | ErrorKind::ConnectionReset => {}
        _ => {
            tracing::warn!("accept failed: {error}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn serve_connection(
    io: impl AsyncRead + AsyncWrite + Unpin + Send + 'static,
    service: FirstRequest,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            // Finish the request in flight, then close; upgraded WebSocket
            // connections watch shutdown themselves.
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// The router as a hyper service that gives back the connection's pending
/// slot when the first request's header has arrived, and marks requests
/// with whether the connection is TLS.
#[derive(Debug)]
struct FirstRequest {
    router: Router,
    permit: Mutex<Option<OwnedSemaphorePermit>>,
    secure: Secure,
}

impl hyper::service::Service<Request<Incoming>> for FirstRequest {
    type Response = Response;
    type Error = Infallible;
    type Future = axum::routing::future::RouteFuture<Infallible>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        self.permit.lock().take();
        request.extensions_mut().insert(self.secure);
        tower_service::Service::call(&mut self.router.clone(), request)
    }
}
