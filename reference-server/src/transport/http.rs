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
//! - at most `max_pending_connections` accepted connections may still be
//!   waiting for their first request; the accept loop waits for one of them
//!   to finish or time out before it accepts more, so the rest wait in the
//!   kernel's backlog, not in the server's descriptors.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::config::TransportLimits;

/// What every connection of one listener is served with.
#[derive(Clone, Debug)]
pub(crate) struct HttpSettings {
    header_timeout: Duration,
}

impl HttpSettings {
    pub(crate) fn new(limits: &TransportLimits) -> HttpSettings {
        HttpSettings {
            header_timeout: Duration::from_millis(limits.header_timeout_ms),
        }
    }
}

/// Accepts on `listener` until `stop` turns `true`, serving `router` on each
/// connection.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &TransportLimits,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let settings = HttpSettings::new(limits);
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
        let service = FirstRequest {
            router: router.clone(),
            permit: Mutex::new(Some(permit)),
        };
        tokio::spawn(serve_connection(
            tcp,
            service,
            settings.clone(),
            stop.clone(),
        ));
    }
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
    tcp: TcpStream,
    service: FirstRequest,
    settings: HttpSettings,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        .keep_alive(true);
    let conn = builder
        .serve_connection(TokioIo::new(tcp), service)
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
/// slot when the first request's header has arrived.
#[derive(Debug)]
struct FirstRequest {
    router: Router,
    permit: Mutex<Option<OwnedSemaphorePermit>>,
}

impl hyper::service::Service<Request<Incoming>> for FirstRequest {
    type Response = Response;
    type Error = Infallible;
    type Future = axum::routing::future::RouteFuture<Infallible>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.permit.lock().take();
        tower_service::Service::call(&mut self.router.clone(), request)
    }
}
