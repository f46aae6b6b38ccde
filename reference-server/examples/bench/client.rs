//! The load generator's WebSocket clients: one small task per connection that
//! connects, subscribes (spec 1.3, 4.3, 4.4) and then only counts arrivals.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The channel every fan-out subscriber is on.
pub(crate) const FANOUT_CHANNEL: &str = "bench";
/// The channel of the connections beyond `--subscribers`.
const IDLE_CHANNEL: &str = "bench-idle";
/// Name of the published events.
pub(crate) const EVENT: &str = "bench-event";
/// Longest a single connect, handshake and subscribe may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// Client buffers stay small: the generator holds thousands of connections
/// and only ever reads ~100-byte frames (tungstenite defaults to 128 KiB).
const READ_BUFFER_BYTES: usize = 4096;
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

type Ws = WebSocketStream<TcpStream>;

/// Where and how every connection connects.
#[derive(Debug)]
pub(crate) struct Plan {
    addr: SocketAddr,
    uri: String,
    sources: Vec<IpAddr>,
    subscribers: usize,
    config: WebSocketConfig,
}

impl Plan {
    pub(crate) fn new(
        addr: SocketAddr,
        key: &str,
        sources: Vec<IpAddr>,
        subscribers: usize,
    ) -> Plan {
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .write_buffer_size(0)
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        Plan {
            addr,
            uri: format!("ws://{addr}/app/{key}?protocol=7"),
            sources,
            subscribers,
            config,
        }
    }

    fn channel_of(&self, index: usize) -> &'static str {
        if index < self.subscribers {
            FANOUT_CHANNEL
        } else {
            IDLE_CHANNEL
        }
    }
}

/// When the subscribers received one published event.
#[derive(Debug)]
pub(crate) struct Arrivals {
    count: AtomicUsize,
    first_ns: AtomicU64,
    last_ns: AtomicU64,
}

impl Arrivals {
    fn record(&self, at: Duration) {
        let ns = at.as_nanos() as u64;
        self.first_ns.fetch_min(ns, Ordering::Relaxed);
        self.last_ns.fetch_max(ns, Ordering::Relaxed);
        // Counted last, so whoever sees the final count also sees the final times.
        self.count.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// First arrival, as time since the tally's start.
    pub(crate) fn first(&self) -> Duration {
        Duration::from_nanos(self.first_ns.load(Ordering::Relaxed))
    }

    /// Last arrival, as time since the tally's start.
    pub(crate) fn last(&self) -> Duration {
        Duration::from_nanos(self.last_ns.load(Ordering::Relaxed))
    }

    /// Polls until `expected` arrivals; `false` on timeout. The arrival
    /// times are taken by the receivers, so the poll interval does not skew them.
    pub(crate) async fn wait_for(&self, expected: usize, timeout: Duration) -> bool {
        let poll = async {
            while self.count() < expected {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        tokio::time::timeout(timeout, poll).await.is_ok()
    }
}

/// What all connection tasks report, lock-free on the hot path.
#[derive(Debug)]
pub(crate) struct Tally {
    start: Instant,
    ready: AtomicUsize,
    failed: AtomicUsize,
    closed: AtomicUsize,
    first_error: Mutex<Option<String>>,
    arrivals: Vec<Arrivals>,
}

impl Tally {
    /// A tally for publishes numbered `0..publishes`.
    pub(crate) fn new(publishes: usize) -> Tally {
        let arrivals = (0..publishes)
            .map(|_| Arrivals {
                count: AtomicUsize::new(0),
                first_ns: AtomicU64::new(u64::MAX),
                last_ns: AtomicU64::new(0),
            })
            .collect();
        Tally {
            start: Instant::now(),
            ready: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            closed: AtomicUsize::new(0),
            first_error: Mutex::new(None),
            arrivals,
        }
    }

    /// Time since the tally was created; every timestamp uses this clock.
    pub(crate) fn now(&self) -> Duration {
        self.start.elapsed()
    }

    pub(crate) fn arrivals(&self, index: usize) -> &Arrivals {
        &self.arrivals[index]
    }

    /// Connections the server closed after they were subscribed.
    pub(crate) fn closed(&self) -> usize {
        self.closed.load(Ordering::Relaxed)
    }

    fn fail(&self, index: usize, error: &str) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        first.get_or_insert_with(|| format!("connection {index}: {error}"));
    }
}

/// Opens `total` subscribed connections, at most `concurrency` handshakes at
/// a time; returns how long it took. Any failure fails the run.
pub(crate) async fn open_all(
    plan: &Arc<Plan>,
    tally: &Arc<Tally>,
    total: usize,
    concurrency: usize,
    timeout: Duration,
) -> Result<Duration, String> {
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let start = Instant::now();
    for index in 0..total {
        tokio::spawn(connection(index, plan.clone(), tally.clone(), gate.clone()));
    }
    let mut last_report = start;
    loop {
        let ready = tally.ready.load(Ordering::Relaxed);
        let failed = tally.failed.load(Ordering::Relaxed);
        if failed > 0 {
            let first = tally
                .first_error
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone();
            return Err(format!(
                "{failed} connections failed; first: {}",
                first.unwrap_or_default()
            ));
        }
        if ready == total {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            return Err(format!(
                "only {ready} of {total} connections subscribed after {timeout:?}"
            ));
        }
        if last_report.elapsed() >= Duration::from_secs(2) {
            last_report = Instant::now();
            println!("  ... {ready} of {total} subscribed");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn connection(index: usize, plan: Arc<Plan>, tally: Arc<Tally>, gate: Arc<Semaphore>) {
    let opened = {
        let Ok(_permit) = gate.acquire().await else {
            return;
        };
        tokio::time::timeout(OPEN_TIMEOUT, open(index, &plan)).await
    };
    let mut ws = match opened {
        Ok(Ok(ws)) => ws,
        Ok(Err(error)) => return tally.fail(index, &error),
        Err(_) => return tally.fail(index, &format!("not subscribed within {OPEN_TIMEOUT:?}")),
    };
    tally.ready.fetch_add(1, Ordering::Relaxed);
    listen(&mut ws, &tally).await;
    tally.closed.fetch_add(1, Ordering::Relaxed);
}

/// Connects from this connection's source address, waits for
/// `connection_established`, subscribes and waits for the success frame.
async fn open(index: usize, plan: &Plan) -> Result<Ws, String> {
    let source = plan.sources[index % plan.sources.len()];
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("bind {source}: {e}"))?;
    let stream = socket
        .connect(plan.addr)
        .await
        .map_err(|e| format!("connect from {source}: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(plan.uri.as_str(), stream, Some(plan.config))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
    expect(&mut ws, "pusher:connection_established").await?;
    let channel = plan.channel_of(index);
    let subscribe =
        format!(r#"{{"event":"pusher:subscribe","data":{{"channel":"{channel}","auth":""}}}}"#);
    ws.send(Message::text(subscribe))
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    expect(&mut ws, "pusher_internal:subscription_succeeded").await?;
    Ok(ws)
}

/// A frame's event name and raw `data`; the rest is not looked at.
#[derive(Debug, Deserialize)]
struct Frame<'a> {
    event: &'a str,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

async fn expect(ws: &mut Ws, event: &str) -> Result<(), String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: Frame<'_> =
                    serde_json::from_str(&text).map_err(|e| format!("bad frame {text}: {e}"))?;
                if frame.event == event {
                    return Ok(());
                }
                if frame.event == "pusher:error" {
                    return Err(format!("waiting for {event}: {text}"));
                }
            }
            Some(Ok(Message::Close(close))) => {
                return Err(format!("closed waiting for {event}: {close:?}"));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("waiting for {event}: {e}")),
            None => return Err(format!("connection ended waiting for {event}")),
        }
    }
}

/// Counts published events until the connection ends; answers `pusher:ping`
/// (spec 3.1) so a long run is not cut by the activity timeout.
async fn listen(ws: &mut Ws, tally: &Tally) {
    while let Some(Ok(message)) = ws.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(frame) = serde_json::from_str::<Frame<'_>>(&text) else {
            continue;
        };
        match frame.event {
            EVENT => {
                let index = frame.data.and_then(publish_index);
                if let Some(arrivals) = index.and_then(|i| tally.arrivals.get(i)) {
                    arrivals.record(tally.now());
                }
            }
            "pusher:ping" => {
                let pong = ws
                    .send(Message::text(r#"{"event":"pusher:pong","data":{}}"#))
                    .await;
                if pong.is_err() {
                    return;
                }
            }
            _ => {}
        }
    }
}

/// The publish number in `data`, a JSON string `"<index>:<padding>"`.
fn publish_index(data: &RawValue) -> Option<usize> {
    data.get()
        .trim_start_matches('"')
        .split(':')
        .next()?
        .parse()
        .ok()
}
