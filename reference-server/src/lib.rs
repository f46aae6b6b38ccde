//! A faithful, fast Pusher Channels protocol 7 server: WebSocket, signed HTTP API, webhooks.
//!
//! It is pushcheck's default target, the oracle in differential runs, and a
//! server other projects can run in their own CI. Behaviour follows the
//! project's Pusher protocol specification; "spec N.N" in comments cites
//! its sections.
//!
//! # Layout
//!
//! - [`config`]: apps, limits, timeouts, webhooks (TOML).
//! - [`protocol`]: sans-IO protocol code: channel names, signatures, frames,
//!   and the per-connection [`protocol::session::Session`].
//! - [`hub`]: shared state: channels, presence rosters, cache slots, users, fan-out.
//! - `transport`: the accept loop (timeouts, pending bound, TLS), the
//!   WebSocket upgrade, the per-connection task, and the seam where frame
//!   faults act; axum routes requests.
//! - `rest`: the signed HTTP API.
//! - [`webhooks`]: batched, signed, retried delivery from a bounded queue.
//! - [`metrics`]: what the server counts, as `GET /metrics` (Prometheus text).
//! - [`faults`]: test-only misbehaviours; zero-sized without the `faults` feature.
//! - `cluster`: cluster mode, nodes sharing state through Redis (off unless
//!   `[cluster] redis_url` is set).
//!
//! # Embedding
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let server = reference_server::Server::start(reference_server::Config::default(), listener).await?;
//! println!("ws://{}/app/app-key", server.local_addr());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod cluster;
pub mod config;
pub mod faults;
pub mod hub;
pub mod metrics;
pub mod protocol;
mod rest;
mod shared;
mod transport;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use cluster::{ClusterError, ClusterSettings};
pub use config::{
    AppConfig, AppSecret, Config, ConfigError, RestSettings, Timeouts, TlsSettings, TransportLimits,
};
pub use faults::Faults;
pub use transport::tls::TlsError;
pub use webhooks::{WebhookKind, WebhookSettings, WebhookTarget};

/// How long shutdown waits for clients to take their close frames.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl Config {
    /// The fault switches in effect (all off unless built with `faults`).
    pub fn faults(&self) -> Faults {
        #[cfg(feature = "faults")]
        return self.faults.clone();
        #[cfg(not(feature = "faults"))]
        return Faults::default();
    }

    /// The switches as the server shares them (nothing to share without `faults`).
    pub(crate) fn fault_handle(&self) -> faults::Handle {
        #[cfg(feature = "faults")]
        return Arc::new(self.faults.clone());
        #[cfg(not(feature = "faults"))]
        return Faults::default();
    }
}

/// Serves `config` on `listener` until `shutdown` completes, then closes every
/// client with 4200 (reconnect) and flushes pending webhooks.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tls = match &config.tls {
        Some(settings) => Some(transport::http::Tls {
            acceptor: transport::tls::acceptor(settings)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
            handshake_timeout: Duration::from_millis(settings.handshake_timeout_ms),
        }),
        None => None,
    };
    let webhooks = webhooks::Webhooks::start(config.webhooks.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let (live_tx, mut live_rx) = mpsc::channel::<()>(1);
    let node = join_cluster(&config).await?;
    let hub = hub::Hub::with_node(&config, &webhooks, node.as_ref());
    let receiver = Arc::new(hub.receiver());
    if let Some(node) = &node {
        node.start(receiver.clone(), stop_rx.clone())
            .await
            .map_err(cluster_unreachable)?;
    }
    let shared = Arc::new(shared::Shared {
        faults: config.fault_handle(),
        hub,
        config,
        shutdown: stop_rx,
        live: live_tx,
    });
    let router = transport::router(shared.clone());
    let stop_accepting = shared.shutdown.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let result = transport::http::serve(
        listener,
        router,
        &shared.config.transport,
        tls,
        stop_accepting,
    )
    .await;
    drop(shared);
    // Every connection task holds a `live` sender; all dropped means all closed.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, live_rx.recv()).await;
    if let Some(node) = node {
        // Leave at once rather than let the lease run out.
        match node.leave_cluster().await {
            Ok(transitions) => cluster::Receiver::transitions(receiver.as_ref(), transitions),
            Err(e) => {
                tracing::warn!(error = %e, "could not leave the cluster; the lease will expire")
            }
        }
    }
    webhooks.shutdown(SHUTDOWN_GRACE).await;
    result
}

/// Connects to Redis when the config names it.
async fn join_cluster(config: &Config) -> std::io::Result<Option<cluster::Node>> {
    let Some(url) = &config.cluster.redis_url else {
        return Ok(None);
    };
    let apps = config.apps.iter().map(|a| a.id.clone()).collect();
    let node = cluster::Node::connect(&config.cluster, url, apps, config.fault_handle())
        .await
        .map_err(cluster_unreachable)?;
    tracing::info!(
        node = node.name(),
        number = node.number(),
        "joined the cluster"
    );
    Ok(Some(node))
}

fn cluster_unreachable(e: ClusterError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionRefused, e)
}

/// A server running on its own task; dropping it shuts it down.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Starts serving on an already bound listener (bind `127.0.0.1:0` in tests,
    /// so the address is known before the server runs).
    pub async fn start(config: Config, listener: TcpListener) -> std::io::Result<Server> {
        config
            .validate()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, config, async move {
            let _ = stopped.await;
        }));
        Ok(Server {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and waits until clients are closed and webhooks flushed.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
