//! The hub's handle on one connection: a bounded outbound queue and a kill switch.

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
    kill_code: OnceLock<CloseCode>,
    kill: Notify,
}

impl Conn {
    /// A handle and the receiving end of its queue, bounded to `capacity` frames.
    pub fn new(
        id: u64,
        socket_id: Arc<str>,
        capacity: usize,
    ) -> (Arc<Conn>, mpsc::Receiver<Frame>) {
        let (tx, rx) = mpsc::channel(capacity);
        let conn = Conn {
            id,
            socket_id,
            tx,
            kill_code: OnceLock::new(),
            kill: Notify::new(),
        };
        (Arc::new(conn), rx)
    }

    /// Queues a frame without waiting. A full queue means the client reads too
    /// slowly: it is closed with 4100 (DESIGN: explicit overflow policy).
    pub fn send(&self, frame: Frame) {
        match self.tx.try_send(frame) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.close(CloseCode::OverCapacity),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
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
