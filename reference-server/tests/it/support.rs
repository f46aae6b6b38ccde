//! Test support: the server on `127.0.0.1:0`, a raw WebSocket client, the
//! signing helpers, a signed REST client and a webhook sink (STYLE 2.8).
//!
//! Every wait is bounded by [`WAIT`] and panics with what it was waiting
//! for; negatives are proved with the ping/pong barrier, never a sleep.

mod child;
mod client;
pub(crate) mod raw;
mod rest;
mod sign;
mod sink;

use std::net::SocketAddr;
use std::time::Duration;

use reference_server::{AppConfig, Config, Server, WebhookTarget};
use serde_json::Value;
use tokio::net::{TcpListener, TcpSocket};
use tokio_tungstenite::{MaybeTlsStream, client_async};

pub(crate) use child::ChildServer;
pub(crate) use client::Client;
pub(crate) use raw::RawSocket;
pub(crate) use rest::Rest;
pub(crate) use sign::{channel_auth, hmac_hex, signin_auth};
pub(crate) use sink::Sink;

/// The conventional app of `Config::default()`.
pub(crate) const APP_ID: &str = "app-id";
/// Its key.
pub(crate) const KEY: &str = "app-key";
/// Its secret.
pub(crate) const SECRET: &str = "app-secret";

/// Guard around every wait that should succeed (h2spec's default deadline).
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// A config for tests: the default app, webhooks sent at once in small batches.
pub(crate) fn config() -> Config {
    let mut config = Config::default();
    config.webhooks.vacate_delay_ms = 0;
    config.webhooks.batch_window_ms = 5;
    config
}

/// The default config with `edit` applied to its one app.
pub(crate) fn config_with(edit: impl FnOnce(&mut AppConfig)) -> Config {
    let mut config = config();
    edit(&mut config.apps[0]);
    config
}

/// A server running in-process; dropping it shuts it down.
#[derive(Debug)]
pub(crate) struct TestServer {
    server: Option<Server>,
    addr: SocketAddr,
}

/// Binds `127.0.0.1:0` first, so the address is known before the server runs.
pub(crate) async fn start_server(config: Config) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("bound address");
    let server = Server::start(config, listener)
        .await
        .expect("server starts");
    assert_eq!(server.local_addr(), addr);
    TestServer {
        server: Some(server),
        addr,
    }
}

/// A server whose app sends every webhook to a fresh sink.
pub(crate) async fn start_with_sink(edit: impl FnOnce(&mut AppConfig)) -> (TestServer, Sink) {
    let sink = Sink::start(KEY, SECRET).await;
    let config = config_with(|app| {
        app.webhooks = vec![WebhookTarget {
            url: sink.url(),
            events: None,
        }];
        edit(app);
    });
    (start_server(config).await, sink)
}

impl TestServer {
    /// `ws://ADDR` followed by `path_and_query`.
    pub(crate) fn ws_url(&self, path_and_query: &str) -> String {
        format!("ws://{}{path_and_query}", self.addr)
    }

    /// The server's address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connects to the default app with pusher-js's query and reads the handshake.
    pub(crate) async fn connect(&self) -> Client {
        self.connect_key(KEY, SECRET).await
    }

    /// Connects with another app's key and secret.
    pub(crate) async fn connect_key(&self, key: &str, secret: &str) -> Client {
        let url = self.ws_url(&format!(
            "/app/{key}?protocol=7&client=js&version=8.4.0&flash=false"
        ));
        Client::connect(&url, key, secret).await
    }

    /// Opens a WebSocket without reading anything.
    pub(crate) async fn open(&self, path_and_query: &str) -> Client {
        Client::open(&self.ws_url(path_and_query), KEY, SECRET).await
    }

    /// A signed HTTP API client for the default app.
    pub(crate) fn rest(&self) -> Rest {
        Rest::new(self.addr, APP_ID, KEY, SECRET)
    }

    /// Stops the server and waits for it.
    pub(crate) async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// `data` of a frame, decoded when it is a JSON string holding JSON (spec 2.2).
pub(crate) fn data_of(frame: &Value) -> Value {
    match &frame["data"] {
        Value::String(text) => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
        }
        other => other.clone(),
    }
}

/// Waits until `check` holds, re-checking after each yield; for state the
/// server changes after the last frame a test can observe (e.g. after a
/// close reply). Bounded by [`WAIT`].
pub(crate) async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let wait = async {
        while !check().await {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .unwrap_or_else(|_| panic!("not within {WAIT:?}: {what}"));
}

/// A client whose socket takes almost nothing into the kernel: 4 KB
/// receive buffer, and it never reads unless told to.
pub(crate) async fn stalled_client(addr: SocketAddr) -> Client {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small buffer");
    let stream = socket.connect(addr).await.expect("connect");
    let url = format!("ws://{addr}/app/app-key?protocol=7");
    let (ws, _) = client_async(url, MaybeTlsStream::Plain(stream))
        .await
        .expect("upgrade");
    Client::from_stream(ws).await
}

/// Ten 10 KB events for channel `firehose`: one batch request's worth.
pub(crate) fn firehose_batch() -> Vec<Value> {
    let data = "x".repeat(10 * 1024);
    (0..10)
        .map(|_| serde_json::json!({"name": "e", "channel": "firehose", "data": data}))
        .collect()
}
