//! The hub's handle on one connection: a bounded outbound queue and a kill switch.
//!
//! The queue is bounded in bytes, not frames: a burst of thousands of small
//! frames (a presence roster emptying, many publishes at once) is normal and
//! a reading client drains it; what must not happen is one connection
//! holding unbounded memory. Slowness itself is judged by the writer, which
//! closes a connection whose writes make no progress within its budget.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::{Notify, mpsc};

use crate::protocol::close::CloseCode;
use crate::protocol::frame::Frame;

/// Shared handle on a live connection. Every frame to the client goes through
/// [`Conn::send`], so frames from the session and from other connections keep
/// one order.
#[derive(Debug)]
pub struct Conn {
    /// Process-unique connection number.
    pub id: u64,
    /// The socket id given to the client (spec 1.3).
    pub socket_id: Arc<str>,
    tx: mpsc::Sender<Frame>,
    /// Bytes queued and not yet taken by the writer.
    queued: AtomicUsize,
    /// The most bytes that may be queued.
    limit: usize,
    kill_code: OnceLock<CloseCode>,
    kill: Notify,
}

impl Conn {
    /// A handle and the receiving end of its queue, bounded to `limit` bytes.
    pub fn new(id: u64, socket_id: Arc<str>, limit: usize) -> (Arc<Conn>, mpsc::Receiver<Frame>) {
        // The channel's own bound only backs up the byte bound (no frame is
        // under 16 bytes); its blocks are allocated as they fill, not up front.
        let (tx, rx) = mpsc::channel((limit / 16).max(64));
        let conn = Conn {
            id,
            socket_id,
            tx,
            queued: AtomicUsize::new(0),
            limit,
            kill_code: OnceLock::new(),
            kill: Notify::new(),
        };
        (Arc::new(conn), rx)
    }

    /// Queues a frame without waiting. A frame that would take the queue
    /// past its byte limit closes the connection with 4100 (DESIGN: explicit
    /// overflow policy); nothing is dropped silently.
    pub fn send(&self, frame: Frame) {
        let len = frame.len();
        let before = self.queued.fetch_add(len, Ordering::Relaxed);
        if before + len > self.limit {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            self.close(CloseCode::OverCapacity);
            return;
        }
        match self.tx.try_send(frame) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.queued.fetch_sub(len, Ordering::Relaxed);
                self.close(CloseCode::OverCapacity);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.queued.fetch_sub(len, Ordering::Relaxed);
            }
        }
    }

    /// The writer took `frame` off the queue.
    pub fn taken(&self, frame: &Frame) {
        self.queued.fetch_sub(frame.len(), Ordering::Relaxed);
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Asks the connection's task to close with `code`; the first reason wins.
    pub fn close(&self, code: CloseCode) {
        if self.kill_code.set(code).is_ok() {
            self.kill.notify_one();
        }
    }

    /// The reason given to [`Conn::close`], if it has been called.
    pub fn close_code(&self) -> Option<CloseCode> {
        self.kill_code.get().copied()
    }

    /// Waits until [`Conn::close`] is called; returns its reason.
    pub async fn closed(&self) -> CloseCode {
        loop {
            if let Some(code) = self.kill_code.get() {
                return *code;
            }
            self.kill.notified().await;
        }
    }
}
