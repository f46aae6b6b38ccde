//! A webhook receiver on `127.0.0.1:0` that checks every request's headers and
//! signature (spec 9.1) and hands its events to the test in arrival order.

use std::collections::VecDeque;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::WAIT;
use super::sign::hmac_hex;

/// The receiver; its server stops when it is dropped.
#[derive(Debug)]
pub(crate) struct Sink {
    url: String,
    key: String,
    secret: String,
    rx: mpsc::Receiver<(HeaderMap, Bytes)>,
    pending: VecDeque<Value>,
    task: JoinHandle<()>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(tx): State<mpsc::Sender<(HeaderMap, Bytes)>>,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    // A closed receiver means the test is over; the server only needs its 200.
    let _ = tx.send((headers, body)).await;
    "ok"
}

impl Sink {
    /// Starts a receiver expecting requests signed for `key` / `secret`.
    pub(crate) async fn start(key: &str, secret: &str) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let url = format!(
            "http://{}/hooks",
            listener.local_addr().expect("sink address")
        );
        let (tx, rx) = mpsc::channel(1024);
        let router = Router::new().route("/hooks", post(receive)).with_state(tx);
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("sink serves");
        });
        Sink {
            url,
            key: key.to_owned(),
            secret: secret.to_owned(),
            rx,
            pending: VecDeque::new(),
            task,
        }
    }

    /// Where the server must POST.
    pub(crate) fn url(&self) -> String {
        self.url.clone()
    }

    /// Waits for one request, checks it, and queues its events.
    async fn next_request(&mut self) {
        let (headers, body) = tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("a webhook within the deadline")
            .expect("sink alive");
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        assert_eq!(
            header("content-type"),
            "application/json",
            "exact Content-Type (spec 9.1)"
        );
        assert_eq!(header("x-pusher-key"), self.key);
        assert_eq!(
            header("x-pusher-signature"),
            hmac_hex(&self.secret, &body),
            "signature of the raw body"
        );
        let json: Value = serde_json::from_slice(&body).expect("webhook body is JSON");
        assert!(
            json["time_ms"].as_u64().is_some(),
            "time_ms is a number: {json}"
        );
        let events = json["events"].as_array().expect("events is an array");
        assert!(!events.is_empty(), "a request carries at least one event");
        self.pending.extend(events.iter().cloned());
    }

    /// Every event received up to and including the first `name` on `channel`.
    pub(crate) async fn take_until(&mut self, name: &str, channel: &str) -> Vec<Value> {
        loop {
            let found = self
                .pending
                .iter()
                .position(|e| e["name"] == name && e["channel"] == channel);
            if let Some(index) = found {
                return self.pending.drain(..=index).collect();
            }
            self.next_request().await;
        }
    }

    /// The first event `name` on `channel`, waiting for it.
    pub(crate) async fn expect(&mut self, name: &str, channel: &str) -> Value {
        self.take_until(name, channel)
            .await
            .pop()
            .expect("take_until returns the match")
    }
}
