//! Plain-TCP connections the hub writes to directly (issue 14).
//!
//! A published frame reaches a subscriber's socket in one non-blocking
//! vectored write from the hub's flusher, as the fastest servers do it
//! (write straight into a socket whose kernel buffer has room, queue only
//! when it has not), instead of a queue hop and a task wake-up per
//! subscriber. Two pieces:
//!
//! - [`TcpWire`], the [`Wire`] the hub writes through: server frames are
//!   unmasked, so a text frame is a 2-10 byte header and the frame's shared
//!   bytes, written together without copying.
//! - [`Io`], what the WebSocket layer reads from and writes to. Once the hub
//!   owns the writes, the layer's own writes (pong replies, close frames)
//!   join the same outbox behind every frame already queued, so the order of
//!   frames on a connection is one order whoever writes.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use rustix::net::SendFlags;

use crate::hub::{Conn, Outgoing, Queue, Wire, Writer, Written};

/// Items per vectored write (`IOV_MAX` is far above): enough that a burst
/// costs a fraction of a write per frame, few enough that the per-write
/// scratch arrays stay small.
const BATCH: usize = 32;

/// A lone frame up to this size is copied behind its header and sent with
/// one plain `write`, which costs the kernel less than a vectored one.
const SMALL: usize = 1024;

/// The header of an unmasked, final text frame of `len` payload bytes
/// (RFC 6455 5.2); returns how many bytes of `out` it used.
pub(crate) fn text_header(len: usize, out: &mut [u8; 10]) -> usize {
    out[0] = 0x81;
    if len < 126 {
        out[1] = len as u8;
        2
    } else if len <= usize::from(u16::MAX) {
        out[1] = 126;
        out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    }
}

/// A plain TCP socket the hub may write to from any thread. The stream is
/// held inline, so the hub reaches the socket through one pointer.
#[derive(Debug)]
pub(crate) struct TcpWire {
    tcp: TcpStream,
}

impl TcpWire {
    /// Waits until the socket takes more (after a write found it full).
    pub(crate) async fn writable(&self) -> io::Result<()> {
        self.tcp.writable().await
    }

    /// One plain write. The flusher's goes straight to the kernel: tokio's
    /// readiness state is another allocation per socket to touch, a cache
    /// miss per delivery at fan-out, and only a waiter needs it. The
    /// connection's task, which waits for writability next, goes through
    /// tokio so that a full socket clears the readiness it waits on.
    fn send(&self, buf: &[u8], by: Writer) -> io::Result<usize> {
        match by {
            Writer::Flusher => {
                rustix::net::send(&self.tcp, buf, SendFlags::DONTWAIT | SendFlags::NOSIGNAL)
                    .map_err(io::Error::from)
            }
            Writer::Task => self.tcp.try_write(buf),
        }
    }
}

impl Wire for TcpWire {
    fn write(&self, queue: &mut Queue, bytes: &mut usize, by: Writer) -> io::Result<Written> {
        if let Some(Outgoing::Text(frame)) = queue.single()
            && frame.len() <= SMALL
        {
            // The common case when events come one at a time.
            let mut wire = [0u8; SMALL + 10];
            let head: &mut [u8; 10] = (&mut wire[..10]).try_into().expect("ten bytes");
            let head_len = text_header(frame.len(), head);
            let total = head_len + frame.len();
            wire[head_len..total].copy_from_slice(frame.as_bytes());
            let written = match self.send(&wire[..total], by) {
                Ok(written) => written,
                Err(e) if blocked(&e) => return Ok(Written::Blocked),
                Err(e) => return Err(e),
            };
            *bytes -= frame.len();
            if written == total {
                queue.pop_front();
                return Ok(Written::All);
            }
            // The kernel took part of it: the rest goes first next time.
            let rest = Bytes::copy_from_slice(&wire[written..total]);
            *bytes += rest.len();
            if let Some(front) = queue.front_mut() {
                *front = Outgoing::Raw(rest);
            }
            return Ok(Written::Blocked);
        }
        while !queue.is_empty() {
            let n = queue.len().min(BATCH);
            let mut heads = [[0u8; 10]; BATCH];
            let mut head_len = [0usize; BATCH];
            let mut slices = [IoSlice::new(&[]); 2 * BATCH];
            let mut used = 0;
            let mut total = 0;
            for (i, item) in queue.iter().take(n).enumerate() {
                match item {
                    Outgoing::Text(frame) => {
                        head_len[i] = text_header(frame.len(), &mut heads[i]);
                        total += head_len[i] + frame.len();
                    }
                    Outgoing::Raw(raw) => total += raw.len(),
                }
            }
            for (i, item) in queue.iter().take(n).enumerate() {
                match item {
                    Outgoing::Text(frame) => {
                        slices[used] = IoSlice::new(&heads[i][..head_len[i]]);
                        slices[used + 1] = IoSlice::new(frame.as_bytes());
                        used += 2;
                    }
                    Outgoing::Raw(raw) => {
                        slices[used] = IoSlice::new(raw);
                        used += 1;
                    }
                }
            }
            // Through tokio whoever writes: batches are rare enough per
            // delivery that its readiness bookkeeping costs nothing here.
            let written = match self.tcp.try_write_vectored(&slices[..used]) {
                Ok(written) => written,
                Err(e) if blocked(&e) => return Ok(Written::Blocked),
                Err(e) => return Err(e),
            };
            consume(queue, bytes, &heads, &head_len, written);
            if written < total {
                // The kernel took less than offered: its buffer is full.
                return Ok(Written::Blocked);
            }
        }
        Ok(Written::All)
    }
}

/// Whether a write error means "try again later" rather than a dead socket.
fn blocked(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// Removes the first `written` wire bytes from `queue`; an item written in
/// part becomes the [`Outgoing::Raw`] rest of it.
fn consume(
    queue: &mut Queue,
    bytes: &mut usize,
    heads: &[[u8; 10]; BATCH],
    head_len: &[usize; BATCH],
    mut written: usize,
) {
    let mut i = 0;
    while written > 0 {
        let Some(front) = queue.front_mut() else {
            return;
        };
        let wire_len = match front {
            Outgoing::Text(frame) => head_len[i] + frame.len(),
            Outgoing::Raw(raw) => raw.len(),
        };
        if written >= wire_len {
            *bytes -= front.len();
            queue.pop_front();
            written -= wire_len;
            i += 1;
            continue;
        }
        let rest = match front {
            Outgoing::Text(frame) if written < head_len[i] => {
                let mut rest = heads[i][written..head_len[i]].to_vec();
                rest.extend_from_slice(frame.as_bytes());
                Bytes::from(rest)
            }
            Outgoing::Text(frame) => frame.clone().into_bytes().slice(written - head_len[i]..),
            Outgoing::Raw(raw) => raw.slice(written..),
        };
        *bytes -= front.len();
        *bytes += rest.len();
        *front = Outgoing::Raw(rest);
        return;
    }
}

/// A plain TCP connection after the upgrade.
#[derive(Debug)]
pub(crate) struct Direct {
    /// The socket, shared with the hub once attached.
    wire: Arc<TcpWire>,
    /// Bytes the HTTP layer read past the upgrade request.
    early: Bytes,
    /// Set once the hub writes to this socket: writes then go through its
    /// outbox.
    conn: Option<Arc<Conn>>,
}

impl Direct {
    /// Hands the hub a wire on this socket; from now on every write, the
    /// WebSocket layer's too, goes through `conn`'s outbox.
    pub(crate) fn attach(&mut self, conn: &Arc<Conn>) {
        conn.attach(self.wire.clone());
        self.conn = Some(conn.clone());
    }

    /// The socket, to wait until it is writable.
    pub(crate) fn wire(&self) -> &Arc<TcpWire> {
        &self.wire
    }
}

/// What the WebSocket layer of a server connection runs on.
#[derive(Debug)]
pub(crate) enum Io {
    /// Plain TCP, shared with the hub once attached.
    Direct(Direct),
    /// Anything else (TLS): the connection's task does every write.
    Upgraded(TokioIo<Upgraded>),
}

impl Io {
    /// Takes the plain TCP stream back out of hyper when that is what it is.
    pub(crate) fn new(upgraded: Upgraded) -> Io {
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => Io::Direct(Direct {
                wire: Arc::new(TcpWire {
                    tcp: parts.io.into_inner(),
                }),
                // A slice of hyper's read buffer keeps all of it (kilobytes)
                // alive for the connection's life; a copy of the few bytes
                // (usually none) frees it.
                early: Bytes::copy_from_slice(&parts.read_buf),
                conn: None,
            }),
            Err(upgraded) => Io::Upgraded(TokioIo::new(upgraded)),
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Upgraded(io) => Pin::new(io).poll_read(cx, buf),
            Io::Direct(direct) => {
                if !direct.early.is_empty() {
                    let n = direct.early.len().min(buf.remaining());
                    buf.put_slice(&direct.early[..n]);
                    direct.early.advance(n);
                    return Poll::Ready(Ok(()));
                }
                let tcp = &direct.wire.tcp;
                loop {
                    ready!(tcp.poll_read_ready(cx))?;
                    let unfilled = buf.initialize_unfilled();
                    match tcp.try_read(unfilled) {
                        Ok(n) => {
                            buf.advance(n);
                            return Poll::Ready(Ok(()));
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
            }
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Upgraded(io) => Pin::new(io).poll_write(cx, buf),
            Io::Direct(Direct {
                conn: Some(conn), ..
            }) => {
                conn.send_raw(Bytes::copy_from_slice(buf));
                Poll::Ready(Ok(buf.len()))
            }
            Io::Direct(direct) => loop {
                let tcp = &direct.wire.tcp;
                ready!(tcp.poll_write_ready(cx))?;
                match tcp.try_write(buf) {
                    Ok(n) => return Poll::Ready(Ok(n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Poll::Ready(Err(e)),
                }
            },
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Upgraded(io) => Pin::new(io).poll_flush(cx),
            Io::Direct(Direct {
                conn: Some(conn),
                wire,
                ..
            }) => loop {
                if conn.write_now()? {
                    return Poll::Ready(Ok(()));
                }
                ready!(wire.tcp.poll_write_ready(cx))?;
            },
            Io::Direct(_) => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Upgraded(io) => Pin::new(io).poll_shutdown(cx),
            // The socket closes when the last handle drops (the hub's wire
            // is detached first).
            Io::Direct(_) => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_rfc_6455_length_forms() {
        let mut h = [0u8; 10];
        assert_eq!(text_header(125, &mut h), 2);
        assert_eq!(&h[..2], &[0x81, 125]);
        assert_eq!(text_header(126, &mut h), 4);
        assert_eq!(&h[..4], &[0x81, 126, 0, 126]);
        assert_eq!(text_header(65_535, &mut h), 4);
        assert_eq!(&h[..4], &[0x81, 126, 0xff, 0xff]);
        assert_eq!(text_header(65_536, &mut h), 10);
        assert_eq!(&h[..10], &[0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    }

    fn frame(text: &str) -> Outgoing {
        Outgoing::Text(crate::protocol::frame::Frame::from(text.to_owned()))
    }

    fn wire_bytes(queue: &Queue) -> Vec<u8> {
        let mut out = Vec::new();
        for item in queue.iter() {
            match item {
                Outgoing::Text(f) => {
                    let mut h = [0u8; 10];
                    let n = text_header(f.len(), &mut h);
                    out.extend_from_slice(&h[..n]);
                    out.extend_from_slice(f.as_bytes());
                }
                Outgoing::Raw(r) => out.extend_from_slice(r),
            }
        }
        out
    }

    /// Whatever a write took, what is left queued is exactly the rest of the
    /// byte stream, and the byte count follows.
    #[test]
    fn consume_leaves_the_exact_rest_at_every_cut() {
        let build = || {
            let mut q = Queue::default();
            q.push_back(frame("abc"));
            q.push_back(Outgoing::Raw(Bytes::from_static(b"\x89\x00")));
            q.push_back(frame("defgh"));
            q
        };
        let full = wire_bytes(&build());
        for cut in 0..=full.len() {
            let mut q = build();
            let mut bytes: usize = q.iter().map(Outgoing::len).sum();
            let mut heads = [[0u8; 10]; BATCH];
            let mut head_len = [0usize; BATCH];
            for (i, item) in q.iter().enumerate() {
                if let Outgoing::Text(f) = item {
                    head_len[i] = text_header(f.len(), &mut heads[i]);
                }
            }
            consume(&mut q, &mut bytes, &heads, &head_len, cut);
            assert_eq!(wire_bytes(&q), full[cut..], "cut at {cut}");
            assert_eq!(bytes, q.iter().map(Outgoing::len).sum::<usize>());
        }
    }
}
