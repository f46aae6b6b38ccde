//! A lean WebSocket connection for simulated clients: small buffers (an idle
//! client must cost under 10 KB of generator memory), a chosen loopback
//! source address, and typed, borrowed frame parsing.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::metrics::{ErrorKind, Metric, Worker};

/// Initial read buffer: enough for every control frame and most events; it
/// grows for a larger frame (10 KB events) and the memory is reused.
const READ_BUFFER: usize = 1024;
/// Largest message accepted (the spec's 10 KB data plus envelope, with room).
const MAX_MESSAGE: usize = 64 * 1024;

/// A parsed Pusher frame borrowing from the received text.
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    /// Event name.
    #[serde(borrow)]
    pub event: Cow<'a, str>,
    /// Channel, when the event belongs to one.
    #[serde(borrow, default)]
    pub channel: Option<Cow<'a, str>>,
    /// Raw `data` (a JSON string for events, an object for some errors).
    #[serde(borrow, default)]
    pub data: Option<&'a RawValue>,
}

impl<'a> Frame<'a> {
    /// Parses a text frame.
    pub fn parse(text: &'a str) -> Option<Frame<'a>> {
        serde_json::from_str(text).ok()
    }

    /// `data` as text: a JSON string unescaped, anything else verbatim.
    pub fn data_text(&self) -> Option<Cow<'a, str>> {
        let raw = self.data?.get();
        if raw.starts_with('"') {
            serde_json::from_str::<Cow<'a, str>>(raw).ok()
        } else {
            Some(Cow::Borrowed(raw))
        }
    }
}

/// What reading the socket produced.
#[derive(Debug)]
pub(crate) enum Read {
    /// A text frame.
    Text(Utf8Bytes),
    /// The connection is gone.
    Closed,
}

/// Where and how simulated clients connect.
#[derive(Debug, Clone)]
pub(crate) struct Dialer {
    /// Full `ws[s]://host:port/app/key?protocol=7...` URL.
    pub(crate) url: String,
    /// Resolved server address.
    pub(crate) addr: SocketAddr,
    /// Source addresses to bind before connecting (empty: let the OS pick).
    pub(crate) sources: Vec<IpAddr>,
}

impl Dialer {
    /// `n` source addresses when the target is IPv4 loopback: shard `shard`
    /// takes the `n` after those of the shards before it (127.0.0.1..=n for
    /// shard 0, then n+1..=2n, wrapping within 127.0.0.1..=127.0.0.254), so
    /// the shards of one box do not share ephemeral ports.
    pub(crate) fn loopback_sources(addr: SocketAddr, n: u8, shard: u32) -> Vec<IpAddr> {
        match addr.ip() {
            IpAddr::V4(v4) if v4.is_loopback() && n > 1 => {
                let first = u64::from(shard) * u64::from(n);
                (0..u64::from(n))
                    .map(|k| {
                        let last = ((first + k) % 254) as u8 + 1;
                        IpAddr::from([127, 0, 0, last])
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}

/// The stream: plain TCP inline; TLS state (several KB) boxed, so a `ws://`
/// client does not pay for it.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "the common plain variant stays inline; only TLS is boxed"
)]
enum Ws {
    Plain(WebSocketStream<TcpStream>),
    Tls(Box<WebSocketStream<MaybeTlsStream<TcpStream>>>),
}

impl Ws {
    async fn next(&mut self) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
        match self {
            Ws::Plain(ws) => ws.next().await,
            Ws::Tls(ws) => ws.next().await,
        }
    }

    async fn send(&mut self, m: Message) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        match self {
            Ws::Plain(ws) => ws.send(m).await,
            Ws::Tls(ws) => ws.send(m).await,
        }
    }
}

/// One simulated client's WebSocket.
#[derive(Debug)]
pub(crate) struct Conn {
    ws: Ws,
    /// Socket id from `connection_established`.
    pub(crate) socket_id: Box<str>,
}

impl Conn {
    /// Connects client `id`, records `connect` and `established`, and
    /// returns once `pusher:connection_established` has arrived.
    pub(crate) async fn open(
        dialer: &Dialer,
        id: u32,
        w: &Worker,
        deadline: Instant,
    ) -> Result<Conn, ErrorKind> {
        let start = Instant::now();
        let ws = tokio::time::timeout_at(deadline, handshake(dialer, id))
            .await
            .map_err(|_| ErrorKind::Handshake)??;
        w.record(Metric::Connect, micros(start.elapsed()));
        let mut conn = Conn {
            ws,
            socket_id: Box::from(""),
        };
        loop {
            let Ok(read) = tokio::time::timeout_at(deadline, conn.recv()).await else {
                return Err(ErrorKind::NoEstablished);
            };
            let Read::Text(text) = read else {
                return Err(ErrorKind::Refused);
            };
            let Some(frame) = Frame::parse(&text) else {
                return Err(ErrorKind::MalformedFrame);
            };
            if frame.event == "pusher:connection_established" {
                let data = frame.data_text().unwrap_or_default();
                let sid = serde_json::from_str::<serde_json::Value>(&data)
                    .ok()
                    .and_then(|v| v.get("socket_id")?.as_str().map(Box::from))
                    .ok_or(ErrorKind::MalformedFrame)?;
                conn.socket_id = sid;
                break;
            }
            if frame.event == "pusher:error" {
                return Err(ErrorKind::Refused);
            }
        }
        w.record(Metric::Established, micros(start.elapsed()));
        w.tally(|t| t.connections += 1);
        Ok(conn)
    }

    /// Reads the next text frame; control frames are answered by the
    /// library, `pusher:ping` must be answered by the caller.
    pub(crate) async fn recv(&mut self) -> Read {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(t))) => return Read::Text(t),
                Some(Ok(Message::Close(_)) | Err(_)) | None => return Read::Closed,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Sends a text frame.
    pub(crate) async fn send(&mut self, text: String) -> Result<(), ErrorKind> {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .map_err(|_| ErrorKind::Disconnected)
    }

    /// Sends `pusher:pong` (answer to the server's `pusher:ping`).
    pub(crate) async fn pong(&mut self) -> Result<(), ErrorKind> {
        self.send(r#"{"event":"pusher:pong","data":{}}"#.into())
            .await
    }

    /// Sends `pusher:ping` (the barrier of STYLE 2.3).
    pub(crate) async fn ping(&mut self) -> Result<(), ErrorKind> {
        self.send(r#"{"event":"pusher:ping","data":{}}"#.into())
            .await
    }
}

async fn handshake(dialer: &Dialer, id: u32) -> Result<Ws, ErrorKind> {
    let socket = match dialer.addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|_| ErrorKind::TcpConnect)?;
    if !dialer.sources.is_empty() {
        let src = dialer.sources[id as usize % dialer.sources.len()];
        socket
            .bind(SocketAddr::new(src, 0))
            .map_err(|_| ErrorKind::TcpConnect)?;
    }
    let stream = socket
        .connect(dialer.addr)
        .await
        .map_err(|_| ErrorKind::TcpConnect)?;
    // Small frames must not wait for Nagle; failure only costs latency.
    let _ignored = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    if dialer.url.starts_with("ws://") {
        let (ws, _) =
            tokio_tungstenite::client_async_with_config(dialer.url.as_str(), stream, Some(config))
                .await
                .map_err(|_| ErrorKind::Handshake)?;
        return Ok(Ws::Plain(ws));
    }
    let (ws, _) = tokio_tungstenite::client_async_tls_with_config(
        dialer.url.as_str(),
        stream,
        Some(config),
        None,
    )
    .await
    .map_err(|_| ErrorKind::Handshake)?;
    Ok(Ws::Tls(Box::new(ws)))
}

/// A duration in whole microseconds (saturating).
pub(crate) fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_expose_string_and_object_data() {
        let text = r#"{"event":"e","channel":"c","data":"{\"a\":1}"}"#;
        let f = Frame::parse(text).expect("valid");
        assert_eq!(f.channel.as_deref(), Some("c"));
        assert_eq!(f.data_text().as_deref(), Some(r#"{"a":1}"#));
        let f = Frame::parse(r#"{"event":"pusher:error","data":{"code":null}}"#).expect("valid");
        assert_eq!(f.data_text().as_deref(), Some(r#"{"code":null}"#));
        assert!(Frame::parse("nope").is_none());
    }

    #[test]
    fn loopback_sources_spread_only_on_loopback() {
        let lo: SocketAddr = "127.0.0.1:1".parse().expect("valid");
        assert_eq!(Dialer::loopback_sources(lo, 3, 0).len(), 3);
        assert!(Dialer::loopback_sources(lo, 1, 0).is_empty());
        let other: SocketAddr = "10.0.0.1:1".parse().expect("valid");
        assert!(Dialer::loopback_sources(other, 3, 0).is_empty());
        let second = Dialer::loopback_sources(lo, 3, 1);
        assert_eq!(second[0], IpAddr::from([127, 0, 0, 4]));
        let wrapped = Dialer::loopback_sources(lo, 100, 2);
        assert_eq!(wrapped[0], IpAddr::from([127, 0, 0, 201]));
        assert_eq!(wrapped[54], IpAddr::from([127, 0, 0, 1]));
    }
}
