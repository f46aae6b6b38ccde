//! A lean WebSocket connection for simulated clients: small buffers (an idle
//! client must cost under 10 KB of generator memory), a chosen loopback
//! source address, and typed, borrowed frame parsing.
//!
//! A plain `ws://` client reads the socket itself (issue 14: one read per
//! wake-up, no per-frame copy, lock or allocation): bytes go straight into
//! the connection's read buffer, tungstenite's [`FrameHeader`] parses each
//! header, and a text message is handed to its handler in place (see
//! `Conn::lend`). Pings, pongs and closes are answered here. `wss://`
//! clients keep tokio-tungstenite's stream over TLS.

use std::borrow::Cow;
use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Control, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Frame as WsFrame, FrameHeader};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::metrics::{ErrorKind, Metric, Worker};

/// Initial read buffer: enough for every control frame and most events; it
/// grows for a larger frame (10 KB events) and the memory is reused.
const READ_BUFFER: usize = 1024;
/// Room a read asks for at least (a smaller tail is compacted or grown first).
const MIN_READ: usize = 256;
/// Largest message accepted (the spec's 10 KB data plus envelope, with room).
const MAX_MESSAGE: usize = 64 * 1024;
/// Largest upgrade response accepted.
const MAX_RESPONSE: usize = 16 * 1024;
/// Longest frame header (RFC 6455 5.2).
const MAX_HEADER: usize = 14;

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

    /// `data` as text: a JSON string unescaped (borrowed when it has no
    /// escapes, as load payloads never do), anything else verbatim.
    pub fn data_text(&self) -> Option<Cow<'a, str>> {
        let raw = self.data?.get();
        match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            // serde_json checked the string; without a backslash it is its text.
            Some(inner) if !inner.contains('\\') => Some(Cow::Borrowed(inner)),
            Some(_) => serde_json::from_str::<String>(raw).ok().map(Cow::Owned),
            None => Some(Cow::Borrowed(raw)),
        }
    }
}

/// What reading the socket produced.
#[derive(Debug)]
pub(crate) enum Read {
    /// A text message, still in the connection's buffers: see [`Conn::lend`].
    Text(Span),
    /// The connection is gone.
    Closed,
}

/// Where a received text message lies in the connection's buffers. Valid
/// until the next [`Conn::recv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: usize,
    end: usize,
    /// In the message buffer (a fragmented or TLS message), not the read buffer.
    assembled: bool,
}

/// A received text message lent out of its connection, so the handler can
/// use the connection (to answer a ping) while it reads the text. Given
/// back with [`Conn::restore`].
#[derive(Debug)]
pub(crate) struct Lent {
    bytes: Vec<u8>,
    span: Span,
}

impl Lent {
    /// The text; `None` when it is not UTF-8 (RFC 6455 8.1).
    pub(crate) fn text(&self) -> Option<&str> {
        std::str::from_utf8(self.bytes.get(self.span.start..self.span.end)?).ok()
    }
}

/// The frames a server sent that break RFC 6455 (the connection is failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Violation;

/// What the next complete frames in the read buffer amount to.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// A whole text message.
    Text(Span),
    /// The server closed (the reply is queued).
    Close,
}

/// A plain connection's receive state: bytes read and not yet consumed,
/// a message assembled from fragments, and control replies not yet written.
#[derive(Debug, Default)]
struct Inbound {
    /// Read bytes; the unconsumed ones start at `pos`.
    buf: Vec<u8>,
    pos: usize,
    /// Bytes the frame at `pos` needs in all (header and payload).
    need: usize,
    /// A fragmented text message being assembled (or a TLS message).
    msg: Vec<u8>,
    /// The kind of the fragmented message in progress, if any.
    partial: Option<Data>,
    /// Pong and close replies not yet written.
    out: Vec<u8>,
    /// The connection is failed or closed: every read says so.
    closed: bool,
}

impl Inbound {
    fn new() -> Inbound {
        Inbound {
            buf: Vec::with_capacity(READ_BUFFER),
            need: MAX_HEADER,
            ..Inbound::default()
        }
    }

    /// Consumes complete frames until one completes a text message or a
    /// close; `Ok(None)` when more bytes are needed. Pings are answered
    /// into `out`; pongs and binary messages are skipped.
    fn next(&mut self) -> Result<Option<Parsed>, Violation> {
        loop {
            if self.pos > self.buf.len() {
                // The buffer was lent and not given back: what it held is gone.
                debug_assert!(false, "read buffer not restored");
                self.pos = self.buf.len();
            }
            let avail = &self.buf[self.pos..];
            let mut cursor = Cursor::new(avail);
            let Some((header, len)) = FrameHeader::parse(&mut cursor).map_err(|_| Violation)?
            else {
                self.need = MAX_HEADER;
                return Ok(None);
            };
            let head = usize::try_from(cursor.position()).map_err(|_| Violation)?;
            let len = usize::try_from(len).map_err(|_| Violation)?;
            if len > MAX_MESSAGE {
                return Err(Violation);
            }
            if avail.len() < head + len {
                self.need = head + len;
                return Ok(None);
            }
            let (start, end) = (self.pos + head, self.pos + head + len);
            self.pos = end;
            self.need = MAX_HEADER;
            // A server never masks, and no extension was negotiated (RFC 6455 5.1, 5.2).
            if header.mask.is_some() || header.rsv1 || header.rsv2 || header.rsv3 {
                return Err(Violation);
            }
            let fin = header.is_final;
            match (header.opcode, self.partial) {
                (OpCode::Data(Data::Text), None) if fin => {
                    return Ok(Some(Parsed::Text(Span {
                        start,
                        end,
                        assembled: false,
                    })));
                }
                (OpCode::Data(kind @ (Data::Text | Data::Binary)), None) => {
                    if !fin {
                        self.partial = Some(kind);
                        self.msg.clear();
                        if kind == Data::Text {
                            self.msg.extend_from_slice(&self.buf[start..end]);
                        }
                    }
                }
                (OpCode::Data(Data::Continue), Some(kind)) => {
                    if kind == Data::Text {
                        if self.msg.len() + len > MAX_MESSAGE {
                            return Err(Violation);
                        }
                        self.msg.extend_from_slice(&self.buf[start..end]);
                    }
                    if fin {
                        self.partial = None;
                        if kind == Data::Text {
                            return Ok(Some(Parsed::Text(Span {
                                start: 0,
                                end: self.msg.len(),
                                assembled: true,
                            })));
                        }
                    }
                }
                // Control frames are final and short (RFC 6455 5.5).
                (OpCode::Control(_), _) if !fin || len > 125 => return Err(Violation),
                (OpCode::Control(Control::Ping), _) => {
                    let pong = WsFrame::pong(self.buf[start..end].to_vec());
                    masked(pong, &mut self.out);
                }
                (OpCode::Control(Control::Pong), _) => {}
                (OpCode::Control(Control::Close), _) => {
                    // Echo the status code, if any (RFC 6455 5.5.1).
                    let code = self.buf[start..end]
                        .get(..2)
                        .map(|b| u16::from_be_bytes([b[0], b[1]]));
                    let reply = WsFrame::close(code.map(|c| CloseFrame {
                        code: CloseCode::from(c),
                        reason: "".into(),
                    }));
                    masked(reply, &mut self.out);
                    return Ok(Some(Parsed::Close));
                }
                _ => return Err(Violation),
            }
        }
    }

    /// Makes room for the next read: the consumed bytes dropped, and the
    /// whole frame in progress able to fit.
    fn make_room(&mut self) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 0 && self.buf.capacity() - self.buf.len() < MIN_READ {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let want = (self.pos + self.need.max(MIN_READ)).max(self.buf.len() + MIN_READ);
        if want > self.buf.capacity() {
            self.buf.reserve(want - self.buf.len());
        }
    }
}

/// Appends `frame` with a fresh masking key, as a client must (RFC 6455 5.3).
fn masked(mut frame: WsFrame, out: &mut Vec<u8>) {
    frame.header_mut().mask = Some(rand::random());
    // Writing into a Vec cannot fail.
    let _infallible = frame.format(out);
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

/// The transport: plain TCP read directly; TLS through tokio-tungstenite,
/// its state (several KB) boxed so a `ws://` client does not pay for it.
#[derive(Debug)]
enum Io {
    Plain(TcpStream),
    Tls(Box<WebSocketStream<MaybeTlsStream<TcpStream>>>),
    /// A plain socket taken off the tokio reactor for a listener thread
    /// (`load::listen`): read and written only by [`Conn::on_ready`].
    Listened(std::net::TcpStream),
    /// No socket any more (the reactor could not hand it over).
    Gone,
}

/// What [`Conn::listen`] made of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handover {
    /// Off the tokio reactor, ready for a listener thread.
    Listened,
    /// Unchanged: a TLS connection, which only tokio-tungstenite reads.
    Kept,
    /// The reactor could not let go of the socket, which is closed.
    Lost,
}

/// The replies a listened connection's frame handler queues (written by
/// [`Conn::on_ready`] once the frames read so far are handled).
#[derive(Debug)]
pub(crate) struct Replies<'a>(&'a mut Vec<u8>);

impl Replies<'_> {
    /// Queues `pusher:pong` (the answer to the server's `pusher:ping`).
    pub(crate) fn pong(&mut self) {
        masked(
            WsFrame::message(PONG, OpCode::Data(Data::Text), true),
            self.0,
        );
    }
}

/// The text of `pusher:pong`.
const PONG: &str = r#"{"event":"pusher:pong","data":{}}"#;

/// One simulated client's WebSocket.
#[derive(Debug)]
pub(crate) struct Conn {
    io: Io,
    rd: Inbound,
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
        let mut conn = tokio::time::timeout_at(deadline, handshake(dialer, id))
            .await
            .map_err(|_| ErrorKind::Handshake)??;
        w.record(Metric::Connect, micros(start.elapsed()));
        loop {
            let Ok(read) = tokio::time::timeout_at(deadline, conn.recv()).await else {
                return Err(ErrorKind::NoEstablished);
            };
            let Read::Text(span) = read else {
                return Err(ErrorKind::Refused);
            };
            let lent = conn.lend(span);
            let outcome = established(lent.text());
            conn.restore(lent);
            if let Some(sid) = outcome? {
                conn.socket_id = sid;
                break;
            }
        }
        w.record(Metric::Established, micros(start.elapsed()));
        w.tally(|t| t.connections += 1);
        Ok(conn)
    }

    /// Reads the next text message; control frames are answered here,
    /// `pusher:ping` must be answered by the caller. Cancel-safe: nothing
    /// read is lost when the future is dropped.
    pub(crate) async fn recv(&mut self) -> Read {
        let rd = &mut self.rd;
        match &mut self.io {
            Io::Plain(stream) => loop {
                if !rd.out.is_empty() && write_now(|b| stream.try_write(b), &mut rd.out).is_err() {
                    rd.closed = true;
                }
                if rd.closed {
                    return Read::Closed;
                }
                match rd.next() {
                    Ok(Some(Parsed::Text(span))) => return Read::Text(span),
                    Ok(Some(Parsed::Close)) | Err(Violation) => {
                        let _best_effort = write_now(|b| stream.try_write(b), &mut rd.out);
                        rd.closed = true;
                        return Read::Closed;
                    }
                    Ok(None) => {}
                }
                rd.make_room();
                match stream.read_buf(&mut rd.buf).await {
                    Ok(0) | Err(_) => rd.closed = true,
                    Ok(_) => {}
                }
            },
            // A listened socket is its listener's to read: gone from here.
            Io::Listened(_) | Io::Gone => Read::Closed,
            Io::Tls(ws) => loop {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) => {
                        rd.msg.clear();
                        rd.msg.extend_from_slice(t.as_bytes());
                        return Read::Text(Span {
                            start: 0,
                            end: rd.msg.len(),
                            assembled: true,
                        });
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return Read::Closed,
                    Some(Ok(_)) => {}
                }
            },
        }
    }

    /// Lends out the message `span` points to (the buffer holding it, moved
    /// out); give it back with [`Conn::restore`] before the next `recv`.
    pub(crate) fn lend(&mut self, span: Span) -> Lent {
        let bytes = if span.assembled {
            std::mem::take(&mut self.rd.msg)
        } else {
            std::mem::take(&mut self.rd.buf)
        };
        Lent { bytes, span }
    }

    /// Gives a lent message's buffer back.
    pub(crate) fn restore(&mut self, lent: Lent) {
        if lent.span.assembled {
            self.rd.msg = lent.bytes;
        } else {
            self.rd.buf = lent.bytes;
        }
    }

    /// Sends a text frame.
    pub(crate) async fn send(&mut self, text: String) -> Result<(), ErrorKind> {
        match &mut self.io {
            Io::Plain(stream) => {
                // Control replies not yet written go first; the buffer is
                // freed after (sends are rare, idle clients stay small).
                let mut out = std::mem::take(&mut self.rd.out);
                masked(
                    WsFrame::message(text, OpCode::Data(Data::Text), true),
                    &mut out,
                );
                stream
                    .write_all(&out)
                    .await
                    .map_err(|_| ErrorKind::Disconnected)
            }
            Io::Listened(_) | Io::Gone => Err(ErrorKind::Disconnected),
            Io::Tls(ws) => ws
                .send(Message::Text(text.into()))
                .await
                .map_err(|_| ErrorKind::Disconnected),
        }
    }

    /// Sends `pusher:pong` (answer to the server's `pusher:ping`).
    pub(crate) async fn pong(&mut self) -> Result<(), ErrorKind> {
        self.send(PONG.into()).await
    }

    /// Sends `pusher:ping` (the barrier of STYLE 2.3).
    pub(crate) async fn ping(&mut self) -> Result<(), ErrorKind> {
        self.send(r#"{"event":"pusher:ping","data":{}}"#.into())
            .await
    }

    /// Takes a plain connection off the tokio reactor for a listener
    /// thread, keeping what was read and not yet handled.
    pub(crate) fn listen(&mut self) -> Handover {
        match std::mem::replace(&mut self.io, Io::Gone) {
            Io::Plain(stream) => match stream.into_std() {
                Ok(stream) => {
                    self.io = Io::Listened(stream);
                    if self.rd.pos >= self.rd.buf.len() {
                        // Nothing left over: the listener reads into its own buffer.
                        (self.rd.buf, self.rd.pos) = (Vec::new(), 0);
                    }
                    Handover::Listened
                }
                Err(_) => Handover::Lost,
            },
            io => {
                self.io = io;
                Handover::Kept
            }
        }
    }

    /// The socket of a listened connection (for the listener's epoll).
    pub(crate) fn listened(&self) -> Option<&std::net::TcpStream> {
        match &self.io {
            Io::Listened(stream) => Some(stream),
            Io::Plain(_) | Io::Tls(_) | Io::Gone => None,
        }
    }

    /// For a listened connection whose socket is ready: hands every whole
    /// text message buffered or readable now to `on_text` (with the socket
    /// id, and a queue for replies), answers control frames, and writes
    /// what is queued. It reads until the kernel has no more: a read that
    /// does not fill the buffer took all there was, unless `hung_up` (the
    /// readiness said the peer closed, which only a later read reports).
    /// `false` once the connection is gone.
    ///
    /// With nothing left over from the last read, the bytes go into
    /// `scratch`, the listener's buffer (warm in its cache, where the
    /// connection's own would be cold), and the connection keeps only what
    /// a frame split across reads leaves: an idle connection holds no read
    /// buffer at all. One read per wake-up, no copy of a whole frame, and
    /// the bytes go into spare capacity without clearing it first.
    pub(crate) fn on_ready(
        &mut self,
        scratch: &mut Vec<u8>,
        hung_up: bool,
        on_text: impl FnMut(&str, &str, &mut Replies<'_>),
    ) -> bool {
        let lent = self.rd.pos >= self.rd.buf.len();
        if lent {
            self.rd.buf.clear();
            self.rd.pos = 0;
            scratch.clear();
            std::mem::swap(&mut self.rd.buf, scratch);
        }
        let open = self.read_ready(hung_up, on_text);
        let rd = &mut self.rd;
        if lent {
            // `scratch` holds the connection's own, empty, buffer.
            scratch.extend_from_slice(rd.buf.get(rd.pos..).unwrap_or_default());
            rd.pos = 0;
            std::mem::swap(&mut rd.buf, scratch);
            scratch.clear();
        } else if rd.pos >= rd.buf.len() {
            // The split frame is whole and handled: back to the listener's buffer.
            rd.buf = Vec::new();
            rd.pos = 0;
        }
        open
    }

    /// [`Conn::on_ready`] on the buffer in place.
    fn read_ready(
        &mut self,
        hung_up: bool,
        mut on_text: impl FnMut(&str, &str, &mut Replies<'_>),
    ) -> bool {
        let Io::Listened(stream) = &self.io else {
            return false;
        };
        let rd = &mut self.rd;
        let send = |b: &[u8]| rustix::net::send(stream, b, rustix::net::SendFlags::NOSIGNAL);
        let mut drained = false;
        loop {
            if rd.closed {
                return false;
            }
            match rd.next() {
                Ok(Some(Parsed::Text(span))) => {
                    let bytes = if span.assembled { &rd.msg } else { &rd.buf };
                    let text = bytes.get(span.start..span.end).unwrap_or_default();
                    // Not UTF-8: empty, which the handler counts as malformed.
                    let text = std::str::from_utf8(text).unwrap_or_default();
                    on_text(text, &self.socket_id, &mut Replies(&mut rd.out));
                    continue;
                }
                Ok(Some(Parsed::Close)) | Err(Violation) => {
                    let _best_effort = write_now(send, &mut rd.out);
                    rd.closed = true;
                    return false;
                }
                Ok(None) => {}
            }
            if !rd.out.is_empty() && write_now(send, &mut rd.out).is_err() {
                rd.closed = true;
                continue;
            }
            if drained {
                return true;
            }
            rd.make_room();
            let room = rd.buf.capacity() - rd.buf.len();
            let read = rustix::net::recv(
                stream,
                rustix::buffer::spare_capacity(&mut rd.buf),
                rustix::net::RecvFlags::empty(),
            );
            match read {
                Ok((0, _)) => rd.closed = true,
                Ok((n, _)) => drained = n < room && !hung_up,
                Err(rustix::io::Errno::AGAIN) => drained = true,
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => rd.closed = true,
            }
        }
    }
}

/// Writes what the socket takes now, keeping the rest for later (a pong
/// or close reply: never waits, so a cancelled read loses nothing).
fn write_now<E: Into<std::io::Error>>(
    mut try_write: impl FnMut(&[u8]) -> Result<usize, E>,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    while !out.is_empty() {
        match try_write(out).map_err(Into::into) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                out.drain(..n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    *out = Vec::new();
    Ok(())
}

/// The socket id when `text` is `pusher:connection_established`, `None` for
/// another frame, an error for a refusal or a malformed frame.
fn established(text: Option<&str>) -> Result<Option<Box<str>>, ErrorKind> {
    let frame = text
        .and_then(Frame::parse)
        .ok_or(ErrorKind::MalformedFrame)?;
    match &*frame.event {
        "pusher:connection_established" => {
            let data = frame.data_text().unwrap_or_default();
            serde_json::from_str::<serde_json::Value>(&data)
                .ok()
                .and_then(|v| v.get("socket_id")?.as_str().map(Box::from))
                .map(Some)
                .ok_or(ErrorKind::MalformedFrame)
        }
        "pusher:error" => Err(ErrorKind::Refused),
        _ => Ok(None),
    }
}

async fn handshake(dialer: &Dialer, id: u32) -> Result<Conn, ErrorKind> {
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
    let mut stream = socket
        .connect(dialer.addr)
        .await
        .map_err(|_| ErrorKind::TcpConnect)?;
    // Small frames must not wait for Nagle; failure only costs latency.
    let _ignored = stream.set_nodelay(true);
    let mut rd = Inbound::new();
    if let Some(rest) = dialer.url.strip_prefix("ws://") {
        upgrade(&mut stream, rest, &mut rd.buf).await?;
        return Ok(Conn {
            io: Io::Plain(stream),
            rd,
            socket_id: Box::from(""),
        });
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let (ws, _) = tokio_tungstenite::client_async_tls_with_config(
        dialer.url.as_str(),
        stream,
        Some(config),
        None,
    )
    .await
    .map_err(|_| ErrorKind::Handshake)?;
    rd.buf = Vec::new();
    Ok(Conn {
        io: Io::Tls(Box::new(ws)),
        rd,
        socket_id: Box::from(""),
    })
}

/// The client's opening handshake (RFC 6455 4.1) on `stream`, for `rest`
/// (the URL after `ws://`). Bytes the server sent after its 101 response
/// are left in `buf`.
async fn upgrade(stream: &mut TcpStream, rest: &str, buf: &mut Vec<u8>) -> Result<(), ErrorKind> {
    let (host, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let key = generate_key();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|_| ErrorKind::Handshake)?;
    loop {
        if buf.len() >= MAX_RESPONSE {
            return Err(ErrorKind::Handshake);
        }
        if buf.capacity() - buf.len() < MIN_READ {
            buf.reserve(READ_BUFFER);
        }
        if stream
            .read_buf(buf)
            .await
            .map_err(|_| ErrorKind::Handshake)?
            == 0
        {
            return Err(ErrorKind::Handshake);
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        let len = match response.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => continue,
            Err(_) => return Err(ErrorKind::Handshake),
        };
        let header = |name: &str| {
            response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value)
        };
        let accept = derive_accept_key(key.as_bytes());
        let upgraded = response.code == Some(101)
            && header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case(b"websocket"))
            && header("sec-websocket-accept") == Some(accept.as_bytes());
        if !upgraded {
            return Err(ErrorKind::Handshake);
        }
        buf.drain(..len);
        return Ok(());
    }
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
        assert!(matches!(f.data_text(), Some(Cow::Owned(_))));
        let f = Frame::parse(r#"{"event":"e","data":"plain é"}"#).expect("valid");
        assert!(matches!(f.data_text(), Some(Cow::Borrowed("plain é"))));
        let f = Frame::parse(r#"{"event":"e","data":"\u0041"}"#).expect("valid");
        assert_eq!(f.data_text().as_deref(), Some("A"));
        let f = Frame::parse(r#"{"event":"pusher:error","data":{"code":null}}"#).expect("valid");
        assert_eq!(f.data_text().as_deref(), Some(r#"{"code":null}"#));
        assert!(Frame::parse("nope").is_none());
    }

    /// A server frame (never masked) with the given first byte and payload.
    fn server_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![first];
        match payload.len() {
            n @ 0..=125 => out.push(n as u8),
            n => {
                out.push(126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
        out
    }

    fn text_of(rd: &Inbound, span: Span) -> &str {
        let bytes = if span.assembled { &rd.msg } else { &rd.buf };
        std::str::from_utf8(&bytes[span.start..span.end]).expect("utf-8")
    }

    /// Feeds `bytes` one at a time (the worst split) and collects what the
    /// reader makes of them.
    fn feed(bytes: &[u8]) -> (Vec<String>, Result<bool, Violation>, Inbound) {
        let mut rd = Inbound::new();
        let mut texts = Vec::new();
        for &b in bytes {
            rd.make_room();
            rd.buf.push(b);
            loop {
                match rd.next() {
                    Ok(Some(Parsed::Text(span))) => texts.push(text_of(&rd, span).to_owned()),
                    Ok(Some(Parsed::Close)) => return (texts, Ok(true), rd),
                    Ok(None) => break,
                    Err(v) => return (texts, Err(v), rd),
                }
            }
        }
        (texts, Ok(false), rd)
    }

    /// A listened connection over a real loopback socket, and the
    /// server's end of it.
    fn listened_pair() -> (Conn, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let client =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        client.set_nonblocking(true).expect("nonblocking");
        let conn = Conn {
            io: Io::Listened(client),
            rd: Inbound::new(),
            socket_id: Box::from("1.2"),
        };
        (conn, server)
    }

    /// Waits until `conn`'s socket is readable (or hung up), as its
    /// listener's epoll would, then runs `on_ready`; the texts handed over,
    /// and whether the connection is still open.
    fn ready(conn: &mut Conn, hung_up: bool, pong_on: &str) -> (Vec<String>, bool) {
        use rustix::event::{PollFd, PollFlags, poll};
        let socket = conn.listened().expect("listened");
        let mut fds = [PollFd::new(socket, PollFlags::IN | PollFlags::RDHUP)];
        let limit = rustix::time::Timespec {
            tv_sec: 10,
            tv_nsec: 0,
        };
        assert_eq!(
            poll(&mut fds, Some(&limit)).expect("poll"),
            1,
            "never readable"
        );
        let mut texts = Vec::new();
        let mut scratch = Vec::with_capacity(64);
        let open = conn.on_ready(&mut scratch, hung_up, |text, socket_id, replies| {
            assert_eq!(socket_id, "1.2");
            if text == pong_on {
                replies.pong();
            }
            texts.push(text.to_owned());
        });
        (texts, open)
    }

    /// Reads one frame a client sent (masked) from `server`: opcode and payload.
    fn client_frame(server: &mut std::net::TcpStream) -> (u8, Vec<u8>) {
        use std::io::Read;
        let mut head = [0u8; 2];
        server.read_exact(&mut head).expect("frame header");
        assert_eq!(head[1] & 0x80, 0x80, "a client's frame is masked");
        let len = usize::from(head[1] & 0x7f);
        assert!(len < 126, "short frames only here");
        let mut key = [0u8; 4];
        server.read_exact(&mut key).expect("mask");
        let mut payload = vec![0u8; len];
        server.read_exact(&mut payload).expect("payload");
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
        (head[0], payload)
    }

    #[test]
    fn a_listened_connection_reads_everything_ready_answers_and_sees_the_close() {
        use std::io::Write;
        let (mut conn, mut server) = listened_pair();
        // Two whole messages and the first half of a third in one write.
        let third = server_frame(0x81, b"three");
        let mut wire = server_frame(0x81, b"one");
        wire.extend(server_frame(0x81, b"two"));
        wire.extend(&third[..4]);
        server.write_all(&wire).expect("write");
        let (texts, open) = ready(&mut conn, false, "two");
        assert_eq!(
            (texts, open),
            (vec!["one".to_owned(), "two".to_owned()], true)
        );
        // The handler's pong went out, masked, for the second message.
        let (op, payload) = client_frame(&mut server);
        assert_eq!((op, payload.as_slice()), (0x81, PONG.as_bytes()));
        // The rest of the third, a control ping, and more than one read's
        // worth (the buffer grows for a large message).
        let big = "x".repeat(5000);
        let mut wire = third[4..].to_vec();
        wire.extend(server_frame(0x89, b"hi"));
        wire.extend(server_frame(0x81, big.as_bytes()));
        server.write_all(&wire).expect("write");
        let mut got = Vec::new();
        while got.len() < 2 {
            let (texts, open) = ready(&mut conn, false, "");
            assert!(open);
            got.extend(texts);
        }
        assert_eq!(got, ["three", big.as_str()]);
        let (op, payload) = client_frame(&mut server);
        assert_eq!((op, payload.as_slice()), (0x8a, b"hi".as_slice()));
        // A last message and the server hanging up, both ready at once: the
        // message is handed over and the close seen in the same call.
        server
            .write_all(&server_frame(0x81, b"last"))
            .expect("write");
        server
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown");
        let mut got = Vec::new();
        loop {
            let (texts, open) = ready(&mut conn, true, "");
            got.extend(texts);
            if !open {
                break;
            }
        }
        assert_eq!(got, ["last"]);
        // Closed for good: nothing more is read.
        assert!(!conn.on_ready(&mut Vec::new(), true, |_, _, _| {
            panic!("read after the close")
        }));
    }

    #[test]
    fn a_listened_connection_fails_on_a_violation_and_a_close_frame() {
        use std::io::Write;
        let (mut conn, mut server) = listened_pair();
        // A masked frame: servers never mask (RFC 6455 5.1).
        server
            .write_all(&[0x81, 0x81, 1, 2, 3, 4, b'x'])
            .expect("write");
        assert_eq!(ready(&mut conn, false, ""), (vec![], false));
        let (mut conn, mut server) = listened_pair();
        let mut wire = server_frame(0x81, b"bye");
        wire.extend(server_frame(0x88, &1000u16.to_be_bytes()));
        server.write_all(&wire).expect("write");
        assert_eq!(ready(&mut conn, false, ""), (vec!["bye".to_owned()], false));
        // The close was answered, echoing the code.
        let (op, payload) = client_frame(&mut server);
        assert_eq!((op, payload), (0x88, 1000u16.to_be_bytes().to_vec()));
    }

    #[test]
    fn reader_splits_frames_reassembles_fragments_and_answers_pings() {
        let big = "x".repeat(300);
        let mut wire = server_frame(0x81, b"one");
        wire.extend(server_frame(0x81, big.as_bytes()));
        // A fragmented text message with a ping between its fragments.
        wire.extend(server_frame(0x01, b"fr"));
        wire.extend(server_frame(0x89, b"hi"));
        wire.extend(server_frame(0x80, b"ag"));
        // A binary message is skipped, a pong too.
        wire.extend(server_frame(0x82, b"\x00\x01"));
        wire.extend(server_frame(0x8a, b""));
        wire.extend(server_frame(0x81, b"two"));
        wire.extend(server_frame(0x88, &1000u16.to_be_bytes()));
        let (texts, end, rd) = feed(&wire);
        assert_eq!(texts, ["one", big.as_str(), "frag", "two"]);
        assert_eq!(end, Ok(true));
        // The replies, masked as a client's frames must be: a pong with the
        // ping's payload, then a close echoing the code.
        assert_eq!(rd.out[0], 0x8a);
        assert_eq!(rd.out[1], 0x80 | 2);
        let key = [rd.out[2], rd.out[3], rd.out[4], rd.out[5]];
        let pong: Vec<u8> = rd.out[6..8]
            .iter()
            .zip(key.iter().cycle())
            .map(|(b, k)| b ^ k)
            .collect();
        assert_eq!(pong, b"hi");
        assert_eq!(rd.out[8], 0x88);
        assert_eq!(rd.out[9], 0x80 | 2);
    }

    #[test]
    fn reader_fails_frames_a_server_must_not_send() {
        let masked = [0x81, 0x80 | 1, 1, 2, 3, 4, b'a' ^ 1];
        let reserved_bit = server_frame(0xc1, b"a");
        let long_ping = server_frame(0x89, &[0; 126]);
        let fragmented_ping = server_frame(0x09, b"");
        let stray_continuation = server_frame(0x80, b"a");
        let text_inside_fragments = [server_frame(0x01, b"a"), server_frame(0x81, b"b")].concat();
        let reserved_opcode = server_frame(0x83, b"");
        let mut too_long = vec![0x81, 127];
        too_long.extend_from_slice(&(MAX_MESSAGE as u64 + 1).to_be_bytes());
        for wire in [
            &masked[..],
            &reserved_bit,
            &long_ping,
            &fragmented_ping,
            &stray_continuation,
            &text_inside_fragments,
            &reserved_opcode,
            &too_long,
        ] {
            assert_eq!(feed(wire).1, Err(Violation), "{wire:?}");
        }
    }

    #[test]
    fn reader_keeps_a_partial_frame_across_compaction() {
        let mut rd = Inbound::new();
        let filler = "y".repeat(READ_BUFFER - 20);
        rd.buf.extend(server_frame(0x81, filler.as_bytes()));
        let next = server_frame(0x81, &[b'z'; 600]);
        rd.buf.extend_from_slice(&next[..10]);
        let Ok(Some(Parsed::Text(span))) = rd.next() else {
            panic!("the first frame")
        };
        assert_eq!(text_of(&rd, span).len(), filler.len());
        assert_eq!(rd.next(), Ok(None));
        rd.make_room();
        assert_eq!(rd.pos, 0, "the partial frame moved to the front");
        assert!(rd.buf.capacity() >= next.len());
        rd.buf.extend_from_slice(&next[10..]);
        let Ok(Some(Parsed::Text(span))) = rd.next() else {
            panic!("the second frame")
        };
        assert_eq!(text_of(&rd, span), "z".repeat(600));
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
