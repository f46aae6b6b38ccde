//! WebhookSink: an HTTP receiver the target posts webhooks to (spec 9). It
//! keeps every delivery, lets cases wait for an event of their own channel,
//! and can answer 500 to the first N deliveries naming a channel (retry case).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{ExpectError, nothing_within};

/// Errors starting the sink.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The listen address could not be bound.
    #[error("cannot bind the webhook sink on {addr}")]
    Bind {
        /// Address tried.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// One HTTP request the sink received.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    /// `X-Pusher-Key` header.
    pub key: Option<String>,
    /// `X-Pusher-Signature` header.
    pub signature: Option<String>,
    /// `Content-Type` header, byte for byte.
    pub content_type: Option<String>,
    /// Raw body.
    pub body: Bytes,
    /// Parsed body, when JSON.
    pub json: Option<Value>,
    /// When the sink received it (Unix ms).
    pub received_ms: u128,
    /// True if the sink answered 500 (a forced failure).
    pub refused: bool,
}

impl WebhookDelivery {
    /// The `events` array of the body.
    pub fn events(&self) -> Vec<Value> {
        self.json
            .as_ref()
            .and_then(|j| j.get("events"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }
}

#[derive(Debug, Default)]
struct Inner {
    deliveries: Vec<WebhookDelivery>,
    fail_next: HashMap<String, u32>,
}

#[derive(Debug, Clone)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<watch::Sender<u64>>,
}

/// The running sink. Dropping it stops the server task.
#[derive(Debug)]
pub struct WebhookSink {
    shared: Shared,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WebhookSink {
    /// Binds `addr` (use `127.0.0.1:0` in tests) and serves.
    pub async fn start(addr: SocketAddr) -> Result<WebhookSink, SinkError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SinkError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SinkError::Bind { addr, source })?;
        let (tx, _rx) = watch::channel(0u64);
        let shared = Shared {
            inner: Arc::default(),
            changed: Arc::new(tx),
        };
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            // The sink lives as long as the run; a serve error ends it and waits time out.
            let _ignored = axum::serve(listener, app).await;
        });
        Ok(WebhookSink {
            shared,
            addr: local,
            task,
        })
    }

    /// The address the target must post to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers 500 to the next `n` deliveries that mention `channel`.
    pub fn fail_next(&self, channel: &str, n: u32) {
        self.lock().fail_next.insert(channel.into(), n);
    }

    /// Every delivery so far.
    pub fn deliveries(&self) -> Vec<WebhookDelivery> {
        self.lock().deliveries.clone()
    }

    /// Accepted (2xx) events naming `channel`, in arrival order, with their delivery.
    pub fn events_for(&self, channel: &str) -> Vec<(Value, WebhookDelivery)> {
        let inner = self.lock();
        let mut out = Vec::new();
        for d in inner.deliveries.iter().filter(|d| !d.refused) {
            for e in d.events() {
                if e.get("channel").and_then(Value::as_str) == Some(channel) {
                    out.push((e, d.clone()));
                }
            }
        }
        out
    }

    /// Waits until an accepted event named `name` on `channel` arrives.
    pub async fn expect_event(
        &self,
        channel: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<(Value, WebhookDelivery), ExpectError> {
        let expected = format!("webhook {name} for {channel}");
        let named = |e: &Value| e.get("name").and_then(Value::as_str) == Some(name);
        self.expect_matching(channel, &expected, named, timeout)
            .await
    }

    /// Waits until an accepted event on `channel` satisfies `pred`.
    pub async fn expect_matching(
        &self,
        channel: &str,
        expected: &str,
        pred: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Result<(Value, WebhookDelivery), ExpectError> {
        let mut rx = self.shared.changed.subscribe();
        let deadline = Instant::now() + timeout;
        loop {
            let found = self.events_for(channel).into_iter().find(|(e, _)| pred(e));
            if let Some(found) = found {
                return Ok(found);
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return Err(ExpectError::violation(expected, nothing_within(timeout)));
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    let received_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis();
    let mut delivery = WebhookDelivery {
        key: header("x-pusher-key"),
        signature: header("x-pusher-signature"),
        content_type: header("content-type"),
        body,
        json,
        received_ms,
        refused: false,
    };
    let status = {
        let mut inner = shared
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let channels: Vec<String> = delivery
            .events()
            .iter()
            .filter_map(|e| e.get("channel").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let fail = channels.iter().any(|c| match inner.fail_next.get_mut(c) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        });
        delivery.refused = fail;
        inner.deliveries.push(delivery);
        if fail {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    };
    shared.changed.send_modify(|n| *n += 1);
    status
}
