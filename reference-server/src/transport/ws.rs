//! One WebSocket connection: drives its [`Session`] and, when it is its
//! turn, drains its outbox.
//!
//! A single task per connection reads the socket. It waits on, in order:
//! the kill switch, shutdown, its turn at the outbox, the next inbound frame
//! and the session's timer. Every frame to the client goes through the
//! connection's outbox, so replies and fan-out keep one order. On plain TCP
//! with no frame faults the hub writes the outbox itself (see
//! `hub::conn`); this task only takes over when the socket is full, and a
//! socket that takes nothing for the drain budget is closed 4100.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tungstenite::Message;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::protocol::frame::{CloseFrame, Utf8Bytes};

use super::closing;
use super::direct::Io;
use super::seam::Seam;
use super::upgrade::Socket;
use crate::config::TransportLimits;
use crate::hub::{AppState, Conn, Outgoing};
use crate::protocol::close::{self, CloseCode};
use crate::protocol::frame::Frame;
use crate::protocol::message;
use crate::protocol::refusal::{ClientEventRefusal, Refusal};
use crate::protocol::session::{Action, Session, Timers};
use crate::shared::Shared;

/// Frames written before one flush when the queue has a backlog.
const MAX_BATCH: usize = 64;

/// How long a control write (ping, close) may block before the client is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-connection buffers sized for Pusher's 10 KB messages, not library defaults.
/// Client frames must be masked (RFC 6455 5.1): unmasked ones close 1002.
pub(super) fn configure(limits: &TransportLimits) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(0)
        .max_write_buffer_size(limits.max_message_bytes * 4)
        .max_message_size(Some(limits.max_message_bytes))
        .max_frame_size(Some(limits.max_message_bytes))
        .accept_unmasked_frames(false)
}

/// Sends `pusher:error` then closes with the same code (spec 1.4, 13.2). The
/// code is raw so that the `*_close_code` faults can replace it.
pub(super) async fn refuse_raw(mut socket: Socket, code: u16, reason: &str) {
    let _ = socket.send(text(message::error(Some(code), reason))).await;
    let _ = socket.send(close_frame(code, reason)).await;
}

/// Serves an accepted connection until it closes.
///
/// A plain `fn` returning an `async move` block, not an `async fn`: an
/// `async fn` stores its by-value `socket` argument twice in the task (the
/// argument and the local it is moved to), 368 bytes per connection. The
/// rare refusal is boxed so its future does not set the task's size.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store the socket twice per connection"
)]
pub(super) fn run(
    mut socket: Socket,
    shared: Arc<Shared>,
    app: Arc<AppState>,
) -> impl Future<Output = ()> + Send {
    async move {
        if let Err(code) = app.admit_shared().await {
            let raw = Seam::close_code(&shared.faults, code);
            return Box::pin(refuse_raw(socket, raw, code.reason())).await;
        }
        let _live = shared.live.clone();
        let transport = &shared.config.transport;
        let conn = shared.hub.new_conn(transport.outbound_queue_bytes);
        let seam = Seam::new(&shared.faults);
        // Frame faults must see every frame, so with any on the task writes.
        let direct = match socket.get_mut() {
            Io::Direct(direct) if !seam.is_active() => {
                direct.attach(&conn);
                true
            }
            _ => false,
        };
        let drain_timeout = Duration::from_millis(transport.drain_timeout_ms);
        let timers = Timers {
            activity_timeout: Duration::from_millis(shared.config.timeouts.activity_timeout_ms),
            pong_timeout: Duration::from_millis(shared.config.timeouts.pong_timeout_ms),
        };
        let mut session = Session::new(
            conn.socket_id.clone(),
            app.config.clone(),
            shared.faults.clone(),
            timers,
            Instant::now(),
        );
        let timeout = shared.config.advertised_activity_timeout();
        let hello = message::connection_established(&conn.socket_id, timeout);
        let mut driver = Driver {
            conn,
            app,
            seam,
            direct,
            drain_timeout,
        };
        // Queued like every other frame, so it passes the seam too; the
        // loop writes it before it reads anything.
        driver.conn.send(hello);
        let code = match driver.write(&mut socket).await {
            Ok(()) => {
                driver
                    .drive(&mut socket, &mut session, shared.shutdown.clone())
                    .await
            }
            Err(_) => None,
        };
        // Nothing queued will be written now; free it before the close. What
        // the WebSocket layer queued itself stays: its answer to a client's
        // close is buffered by the library even when its flush reports the
        // connection closed, so it is written out here.
        driver.conn.discard();
        let _ = tokio::time::timeout(WRITE_TIMEOUT, socket.get_mut().flush()).await;
        if code == Some(CloseCode::OverCapacity) {
            driver.app.metrics.slow_consumer_closed();
        }
        if let Some(code) = code {
            let frame = close_frame(Seam::close_code(&shared.faults, code), code.reason());
            let _ = tokio::time::timeout(WRITE_TIMEOUT, socket.send(frame)).await;
            if code.is_error() {
                // Boxed: its buffer would otherwise sit in every connection's task.
                Box::pin(closing::drain(socket.get_mut())).await;
            }
        }
        // The hub lets go of the socket, so it closes with this task.
        driver.conn.detach();
        driver.app.disconnect(
            &driver.conn,
            session.channels(),
            session.user_id(),
            Instant::now(),
        );
    }
}

struct Driver {
    conn: Arc<Conn>,
    app: Arc<AppState>,
    /// Where frame faults act; zero-sized without the `faults` feature.
    seam: Seam,
    /// Whether the hub writes to the socket itself (plain TCP, no frame faults).
    direct: bool,
    /// A write batch that cannot finish within this closes the connection 4100.
    drain_timeout: Duration,
}

/// Why the loop ended: `Some` means the server closes with that code.
type Ending = Option<CloseCode>;

impl Driver {
    async fn drive(
        &mut self,
        socket: &mut Socket,
        session: &mut Session,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Ending {
        loop {
            let deadline = session.next_deadline();
            let held = self.seam.next_due();
            tokio::select! {
                biased;
                code = self.conn.closed() => return Some(code),
                _ = shutdown.changed() => return Some(CloseCode::Reconnect),
                () = self.conn.my_turn() => {
                    if self.write(socket).await.is_err() {
                        // A write blocked on a slow reader is cut short by
                        // `close` (e.g. 4100): still send that close frame.
                        return self.conn.close_code();
                    }
                }
                inbound = socket.next() => {
                    let actions = match inbound {
                        Some(Ok(Message::Text(text))) if self.seam.drops_on(text.as_str()) => return None,
                        Some(Ok(Message::Text(text))) => session.on_text(text.as_str(), Instant::now()),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                            session.on_activity(Instant::now());
                            continue;
                        }
                        Some(Ok(Message::Binary(_))) => {
                            session.on_activity(Instant::now());
                            vec![Action::Refuse(Refusal::Binary)]
                        }
                        Some(Ok(Message::Close(_))) => {
                            // RFC 6455 5.5.1: answer the client's close. The
                            // reply is queued by the library; flushing sends it.
                            let _ = tokio::time::timeout(WRITE_TIMEOUT, socket.flush()).await;
                            return None;
                        }
                        Some(Ok(Message::Frame(_))) => continue,
                        Some(Err(e)) => return closing::close_code_for(&e),
                        None => return None,
                    };
                    if self.apply(socket, session, actions).await.is_err() {
                        return None;
                    }
                }
                () = sleep_until_some(held), if held.is_some() => {
                    if self.write(socket).await.is_err() {
                        return self.conn.close_code();
                    }
                }
                () = tokio::time::sleep_until(deadline.into()) => {
                    let actions = session.on_tick(Instant::now());
                    if self.apply(socket, session, actions).await.is_err() {
                        return None;
                    }
                }
            }
        }
    }

    /// Writes what is queued. A socket that takes nothing within the drain
    /// budget means the client is not reading: it is closed 4100. A burst
    /// the client is reading never is.
    async fn write(&mut self, socket: &mut Socket) -> Result<(), ()> {
        if self.direct {
            return self.write_direct(socket).await;
        }
        let (seam, conn) = (&mut self.seam, &self.conn);
        let batch = async {
            let now = Instant::now();
            for frame in seam.release(now) {
                socket.feed(text(frame)).await?;
            }
            for item in conn.take(MAX_BATCH) {
                // Without a wire the WebSocket layer frames everything.
                if let Outgoing::Text(frame) = item {
                    for frame in seam.outbound(frame, now) {
                        socket.feed(text(frame)).await?;
                    }
                }
            }
            socket.flush().await
        };
        bounded(&self.conn, self.drain_timeout, batch).await
    }

    /// The hub's writes found the socket full: waits until it takes more,
    /// and writes, until the outbox is empty.
    async fn write_direct(&mut self, socket: &mut Socket) -> Result<(), ()> {
        let Io::Direct(direct) = socket.get_mut() else {
            return Err(());
        };
        let wire = direct.wire().clone();
        loop {
            match self.conn.write_now() {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(_) => return Err(()),
            }
            let writable = async { wire.writable().await.map_err(tungstenite::Error::Io) };
            bounded(&self.conn, self.drain_timeout, writable).await?;
        }
    }

    async fn apply(
        &mut self,
        socket: &mut Socket,
        session: &mut Session,
        actions: Vec<Action>,
    ) -> Result<(), ()> {
        let now = Instant::now();
        for action in actions {
            match action {
                Action::Send(frame) => self.conn.send(frame),
                Action::Refuse(refusal) => {
                    if matches!(
                        refusal,
                        Refusal::ClientEvent(ClientEventRefusal::RateLimited)
                    ) {
                        self.app.metrics.rate_limited();
                    }
                    self.conn.send(refusal.frame());
                }
                Action::Join(join) => {
                    let channel = join.channel.clone();
                    if let Err(refusal) = self.app.subscribe(&self.conn, join, now).await {
                        session.forget(&channel);
                        self.conn.send(Refusal::from(refusal).frame());
                    }
                }
                Action::Leave { channel } => self.app.leave(self.conn.id, &channel, now),
                Action::ClientEvent(event) => self.app.client_event(&self.conn, event, now),
                Action::SignedIn(signed_in) => self.app.signed_in(&self.conn, signed_in),
                Action::Ping => {
                    self.conn.send(message::ping());
                    if !self.seam.pings() {
                        continue;
                    }
                    let ping = tokio::time::timeout(
                        WRITE_TIMEOUT,
                        socket.send(Message::Ping(Default::default())),
                    );
                    if !matches!(ping.await, Ok(Ok(()))) {
                        return Err(());
                    }
                }
                Action::Close(code) => self.conn.close(code),
            }
        }
        Ok(())
    }
}

/// Runs `step` within the drain budget; running out closes the
/// connection 4100, and a close from elsewhere cuts it short.
async fn bounded(
    conn: &Conn,
    drain_timeout: Duration,
    step: impl Future<Output = Result<(), tungstenite::Error>>,
) -> Result<(), ()> {
    tokio::select! {
        result = tokio::time::timeout(drain_timeout, step) => match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(()),
            Err(_) => {
                conn.close(CloseCode::OverCapacity);
                Err(())
            }
        },
        _ = conn.closed() => Err(()),
    }
}

/// A close frame; every close the server sends is built here, so its reason
/// always fits the frame (RFC 6455 5.5).
fn close_frame(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: code.into(),
        reason: close::fit_reason(reason).into(),
    }))
}

/// A frame as the WebSocket library sends it. The conversion checks UTF-8
/// again (no safe unchecked one exists); frames are short, so it is cheap.
fn text(frame: Frame) -> Message {
    Message::Text(Utf8Bytes::try_from(frame.into_bytes()).expect("a Frame is always valid UTF-8"))
}

/// Sleeps until `at`; never wakes when there is nothing held.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
