//! The hub's handle on one connection: a bounded outbox, how it reaches the
//! socket, and a kill switch.
//!
//! Every frame to a client goes into its [`Outbox`], in order. What happens
//! next depends on whether the transport attached a [`Wire`] (a socket the
//! hub may write to without blocking, from any thread):
//!
//! - With a wire, the connection is marked dirty on the hub's [`Flusher`],
//!   whose task writes each dirty outbox straight into its socket, every
//!   queued frame in one vectored write. One publish to N subscribers costs N
//!   appends under the channel lock, then N writes and one task wake-up in
//!   all, not a wake-up per subscriber (issue 14: the kernel's write is the
//!   floor). Frames that pile up while a flush is pending go out together, so
//!   a burst costs less than one write per delivery. Only when a socket's
//!   kernel buffer is full does the connection's own task take over: it
//!   waits until the socket is writable and drains the rest.
//! - Without one (TLS, or a test server whose frame faults must see each
//!   frame), the connection's own task drains the outbox as before.
//!
//! The outbox is bounded in bytes, not frames: a burst of thousands of small
//! frames (a presence roster emptying, many publishes at once) is normal and
//! a reading client drains it; what must not happen is one connection
//! holding unbounded memory. Slowness itself is judged by the connection's
//! task, which closes a connection whose writes make no progress within its
//! budget.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::protocol::close::CloseCode;
use crate::protocol::frame::Frame;

/// One item of an outbox.
#[derive(Debug)]
pub enum Outgoing {
    /// A protocol frame, not yet framed for the wire.
    Text(Frame),
    /// Bytes the transport framed itself: a control frame from the WebSocket
    /// layer, or the unwritten rest of a frame a write took only part of.
    Raw(Bytes),
}

impl Outgoing {
    /// What the item counts against the outbox's byte bound.
    pub fn len(&self) -> usize {
        match self {
            Outgoing::Text(frame) => frame.len(),
            Outgoing::Raw(bytes) => bytes.len(),
        }
    }

    /// Whether the item is empty (none the server queues is).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A connection's queued items, front first. The first item lives inline in
/// the connection, so the usual case (one frame queued, then written) touches
/// no second allocation, and a connection that never has two frames queued
/// never allocates one.
#[derive(Debug, Default)]
pub struct Queue {
    /// The front item; `None` only when the queue is empty.
    head: Option<Outgoing>,
    /// Everything behind the front item.
    rest: VecDeque<Outgoing>,
}

impl Queue {
    /// Appends an item at the back.
    pub fn push_back(&mut self, item: Outgoing) {
        if self.head.is_none() {
            self.head = Some(item);
        } else {
            self.rest.push_back(item);
        }
    }

    /// Removes and returns the front item.
    pub fn pop_front(&mut self) -> Option<Outgoing> {
        let front = self.head.take();
        self.head = self.rest.pop_front();
        front
    }

    /// The front item, to replace with the unwritten rest of it.
    pub fn front_mut(&mut self) -> Option<&mut Outgoing> {
        self.head.as_mut()
    }

    /// The only queued item, when exactly one is.
    pub fn single(&self) -> Option<&Outgoing> {
        self.head.as_ref().filter(|_| self.rest.is_empty())
    }

    /// How many items are queued.
    pub fn len(&self) -> usize {
        usize::from(self.head.is_some()) + self.rest.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// The items, front first.
    pub fn iter(&self) -> impl Iterator<Item = &Outgoing> {
        self.head.iter().chain(self.rest.iter())
    }

    /// Removes up to `n` items from the front.
    pub fn take_front(&mut self, n: usize) -> Vec<Outgoing> {
        let mut taken = Vec::with_capacity(n.min(self.len()));
        while taken.len() < n {
            match self.pop_front() {
                Some(item) => taken.push(item),
                None => break,
            }
        }
        taken
    }

    /// Keeps only the items `keep` accepts, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&Outgoing) -> bool) {
        let mut kept = Queue::default();
        while let Some(item) = self.pop_front() {
            if keep(&item) {
                kept.push_back(item);
            }
        }
        *self = kept;
    }

    /// Empties the queue and frees what it allocated.
    pub fn clear(&mut self) {
        *self = Queue::default();
    }
}

/// How far a [`Wire::write`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Everything queued is on the socket.
    All,
    /// The socket's buffer is full; the rest stays queued.
    Blocked,
}

/// Who is writing to a [`Wire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// The hub's flusher, which never waits for the socket: the write may
    /// skip the runtime's readiness bookkeeping.
    Flusher,
    /// The connection's own task, which waits for the socket to become
    /// writable after a write finds it full: a full socket must be recorded
    /// where that wait looks.
    Task,
}

/// A socket the hub may write to from any thread without blocking.
pub trait Wire: Send + Sync + std::fmt::Debug {
    /// Writes as much of `queue` as the socket takes now, front first,
    /// removing what it wrote (a partly written item becomes
    /// [`Outgoing::Raw`] with its rest) and subtracting it from `bytes`.
    fn write(&self, queue: &mut Queue, bytes: &mut usize, by: Writer) -> std::io::Result<Written>;
}

/// Who writes the outbox next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Nothing queued, or nobody asked yet.
    Idle,
    /// On the flusher's list.
    Flusher,
    /// The connection's own task (no wire, a full socket, or a write error).
    Task,
}

/// A connection's outbound frames and how they leave.
#[derive(Debug)]
struct Outbox {
    queue: Queue,
    /// Bytes in `queue`, as the bound counts them.
    bytes: usize,
    wire: Option<Arc<dyn Wire>>,
    turn: Turn,
    /// No more frames are taken (the connection is closing); raw writes of
    /// the WebSocket layer's own close still are.
    closed: bool,
    /// A write to the wire failed: the socket is gone.
    failed: Option<std::io::ErrorKind>,
}

/// The hub-wide list of outboxes waiting to be written, and the task that
/// writes them.
#[derive(Debug, Default)]
pub struct Flusher {
    dirty: Mutex<Vec<Arc<Conn>>>,
    ready: Arc<Notify>,
}

impl Flusher {
    /// A flusher with its task on the current tokio runtime; the task ends
    /// when the last handle is dropped. Outside a runtime (a plain unit
    /// test), nobody flushes: [`Conn::flush`] is then called by hand.
    pub fn start() -> Arc<Flusher> {
        let flusher = Arc::new(Flusher::default());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&flusher);
            let ready = flusher.ready.clone();
            runtime.spawn(async move {
                loop {
                    // The list is taken after the waiter exists, and a mark
                    // always notifies (`notify_one` keeps a permit), so no
                    // mark is missed. Only a weak handle is kept across the
                    // wait: dropping the hub wakes the task, which then ends.
                    let notified = ready.notified();
                    let Some(flusher) = weak.upgrade() else {
                        return;
                    };
                    let batch = std::mem::take(&mut *flusher.dirty.lock());
                    drop(flusher);
                    if batch.is_empty() {
                        notified.await;
                        continue;
                    }
                    flush_spread(batch);
                }
            });
        }
        flusher
    }

    fn mark(&self, conn: Arc<Conn>) {
        let first = {
            let mut dirty = self.dirty.lock();
            dirty.push(conn);
            dirty.len() == 1
        };
        if first {
            self.ready.notify_one();
        }
    }

    /// Puts a fan-out's outboxes on the list in one step: one lock and at
    /// most one wake-up for all of them.
    fn mark_all(&self, conns: &mut Vec<Arc<Conn>>) {
        let first = {
            let mut dirty = self.dirty.lock();
            let first = dirty.is_empty();
            if first {
                std::mem::swap(&mut *dirty, conns);
            } else {
                dirty.append(conns);
            }
            first
        };
        if first {
            self.ready.notify_one();
        }
    }
}

/// Outboxes a fan-out made dirty, handed to their flusher together when the
/// fan-out ends (dropped), instead of one at a time.
///
/// Marking one outbox at a time takes the flusher's list lock once per
/// subscriber and wakes the flusher at the first, which then writes while
/// the fan-out is still appending: both cores then pull the same
/// connections' cache lines and the list's lock back and forth, a cost per
/// delivery (issue 14). Handed over together, the list lock is taken once,
/// the flusher wakes once, and it gets the whole fan-out to split over the
/// runtime's workers. An outbox waiting here is already the flusher's turn,
/// so a frame sent to it meanwhile joins it and is written with it, in order.
#[derive(Debug, Default)]
pub(crate) struct Marks {
    conns: Vec<Arc<Conn>>,
}

impl Drop for Marks {
    fn drop(&mut self) {
        // The outboxes of one channel share a flusher (one app), so this is
        // one hand-over; the loop only keeps a mixed list correct.
        let mut group = std::mem::take(&mut self.conns);
        while let Some(first) = group.first() {
            let flusher = first.flusher.clone();
            let rest = match group
                .iter()
                .position(|c| !Arc::ptr_eq(&c.flusher, &flusher))
            {
                Some(split) => group.split_off(split),
                None => Vec::new(),
            };
            flusher.mark_all(&mut group);
            group = rest;
        }
    }
}

/// Above this many dirty outboxes the flush is shared with the runtime's
/// other workers: one publish to 10,000 subscribers is 10,000 writes, and
/// fan-out completes sooner on every core than on one.
const SPREAD_ABOVE: usize = 1024;

/// Flushes `batch`, splitting a large one over the runtime's workers. Each
/// outbox is in a batch at most once (it is marked again only after its
/// flush), so splitting never reorders a connection's frames.
///
/// Every share is its own task, the calling task writes none. A task spawned
/// from a worker goes to that worker's "next task" slot, which other workers
/// cannot take and which wakes nobody; only the spawn after it moves it to
/// the worker's queue, where an idle worker is woken to take it. With one
/// share kept for the caller, the other share waited in that slot until the
/// caller was done: one publish to 10,000 subscribers was written by one
/// core while the other idled, and fan-out took twice as long.
fn flush_spread(mut batch: Vec<Arc<Conn>>) {
    let workers = tokio::runtime::Handle::try_current()
        .map(|h| h.metrics().num_workers())
        .unwrap_or(1);
    if workers > 1 && batch.len() > SPREAD_ABOVE {
        let share = batch.len().div_ceil(workers);
        while !batch.is_empty() {
            let rest = batch.split_off(batch.len().saturating_sub(share));
            tokio::spawn(async move {
                for conn in rest {
                    conn.flush();
                }
            });
        }
        return;
    }
    for conn in batch {
        conn.flush();
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.ready.notify_one();
    }
}

/// Shared handle on a live connection. Every frame to the client goes through
/// [`Conn::send`], so frames from the session and from other connections keep
/// one order.
#[derive(Debug)]
pub struct Conn {
    /// Process-unique connection number.
    pub id: u64,
    /// The socket id given to the client (spec 1.3).
    pub socket_id: Arc<str>,
    out: Mutex<Outbox>,
    /// The most bytes that may be queued.
    limit: usize,
    flusher: Arc<Flusher>,
    /// Wakes the connection's task when the outbox is its turn.
    turn: Notify,
    kill_code: OnceLock<CloseCode>,
    kill: Notify,
}

impl Conn {
    /// A handle with an outbox bounded to `limit` bytes; dirty outboxes go
    /// to `flusher` once a wire is attached.
    pub fn new(id: u64, socket_id: Arc<str>, limit: usize, flusher: Arc<Flusher>) -> Arc<Conn> {
        Arc::new(Conn {
            id,
            socket_id,
            out: Mutex::new(Outbox {
                queue: Queue::default(),
                bytes: 0,
                wire: None,
                turn: Turn::Idle,
                closed: false,
                failed: None,
            }),
            limit,
            flusher,
            turn: Notify::new(),
            kill_code: OnceLock::new(),
            kill: Notify::new(),
        })
    }

    /// Lets the hub write to the socket directly from now on.
    pub fn attach(&self, wire: Arc<dyn Wire>) {
        self.out.lock().wire = Some(wire);
    }

    /// Queues a frame without waiting. A frame that would take the outbox
    /// past its byte limit closes the connection with 4100 (DESIGN: explicit
    /// overflow policy); nothing is dropped silently.
    pub fn send(self: &Arc<Self>, frame: Frame) {
        self.send_marked(frame, None);
    }

    /// [`Conn::send`] as part of a fan-out: when the outbox becomes the
    /// flusher's, it goes into `marks`, handed over when those drop.
    pub(crate) fn send_to(self: &Arc<Self>, frame: Frame, marks: &mut Marks) {
        self.send_marked(frame, Some(marks));
    }

    fn send_marked(self: &Arc<Self>, frame: Frame, marks: Option<&mut Marks>) {
        let mut out = self.out.lock();
        if out.closed {
            return;
        }
        let len = frame.len();
        if out.bytes + len > self.limit {
            drop(out);
            self.close(CloseCode::OverCapacity);
            return;
        }
        out.queue.push_back(Outgoing::Text(frame));
        out.bytes += len;
        self.hand_over(out, marks);
    }

    /// Queues bytes the transport framed itself, behind every frame already
    /// queued, even once the connection is closing (its close frame).
    pub fn send_raw(self: &Arc<Self>, bytes: Bytes) {
        let mut out = self.out.lock();
        out.bytes += bytes.len();
        out.queue.push_back(Outgoing::Raw(bytes));
        self.hand_over(out, None);
    }

    /// After a push: makes sure somebody will write the outbox, the flusher
    /// (now, or with `marks`) or the connection's task.
    fn hand_over(
        self: &Arc<Self>,
        mut out: parking_lot::MutexGuard<'_, Outbox>,
        marks: Option<&mut Marks>,
    ) {
        if out.turn != Turn::Idle {
            return;
        }
        if out.wire.is_some() {
            out.turn = Turn::Flusher;
            drop(out);
            match marks {
                Some(marks) => marks.conns.push(self.clone()),
                None => self.flusher.mark(self.clone()),
            }
        } else {
            out.turn = Turn::Task;
            drop(out);
            self.turn.notify_one();
        }
    }

    /// Writes what the socket takes now (the flusher's part). A full socket
    /// hands the rest to the connection's task.
    pub fn flush(&self) {
        let mut out = self.out.lock();
        if out.turn != Turn::Flusher {
            return;
        }
        match self.write_locked(&mut out, Writer::Flusher) {
            Some(Written::All) => out.turn = Turn::Idle,
            Some(Written::Blocked) | None => {
                out.turn = Turn::Task;
                drop(out);
                self.turn.notify_one();
            }
        }
    }

    /// Writes through the wire with the lock held, so no two writers
    /// interleave; `None` when there is no wire.
    fn write_locked(&self, out: &mut Outbox, by: Writer) -> Option<Written> {
        if out.failed.is_some() {
            return Some(Written::Blocked);
        }
        let Outbox {
            queue, bytes, wire, ..
        } = out;
        match wire.as_ref()?.write(queue, bytes, by) {
            Ok(written) => Some(written),
            Err(e) => {
                out.failed = Some(e.kind());
                out.queue.clear();
                out.bytes = 0;
                Some(Written::Blocked)
            }
        }
    }

    /// The connection's task, when it is its turn and there is a wire:
    /// writes what the socket takes now. `Ok(true)` means drained (the turn
    /// goes back to idle), `Ok(false)` that the socket is full.
    pub fn write_now(&self) -> std::io::Result<bool> {
        let mut out = self.out.lock();
        if let Some(kind) = out.failed {
            return Err(kind.into());
        }
        match self.write_locked(&mut out, Writer::Task) {
            Some(Written::All) => {
                if out.turn == Turn::Task {
                    out.turn = Turn::Idle;
                }
                Ok(true)
            }
            Some(Written::Blocked) => match out.failed {
                Some(kind) => Err(kind.into()),
                None => Ok(false),
            },
            None => Ok(out.queue.is_empty()),
        }
    }

    /// The connection's task without a wire: takes up to `max` queued frames
    /// to write itself. Empty means drained; the turn then goes back to idle.
    pub fn take(&self, max: usize) -> Vec<Outgoing> {
        let mut out = self.out.lock();
        let taken = out.queue.take_front(max);
        out.bytes -= taken.iter().map(Outgoing::len).sum::<usize>();
        if taken.is_empty() && out.turn == Turn::Task {
            out.turn = Turn::Idle;
        }
        taken
    }

    /// Waits until the outbox is the connection task's turn.
    pub async fn my_turn(&self) {
        loop {
            let notified = self.turn.notified();
            if self.out.lock().turn == Turn::Task {
                return;
            }
            notified.await;
        }
    }

    /// Stops taking frames and drops what is queued; the wire stays for the
    /// WebSocket layer's close frame.
    pub fn discard(&self) {
        let mut out = self.out.lock();
        out.closed = true;
        out.queue.retain(|item| matches!(item, Outgoing::Raw(_)));
        out.bytes = out.queue.iter().map(Outgoing::len).sum();
    }

    /// Forgets the wire, so the socket closes once the transport lets go.
    pub fn detach(&self) {
        let mut out = self.out.lock();
        out.closed = true;
        out.wire = None;
        out.queue.clear();
        out.bytes = 0;
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.out.lock().bytes
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

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &'static str) -> Outgoing {
        Outgoing::Raw(Bytes::from_static(text.as_bytes()))
    }

    fn text(item: &Outgoing) -> String {
        match item {
            Outgoing::Raw(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Outgoing::Text(frame) => frame.to_string(),
        }
    }

    fn texts(queue: &Queue) -> Vec<String> {
        queue.iter().map(text).collect()
    }

    /// Empties `queue` as a wire that took everything would.
    fn take_all(queue: &mut Queue, bytes: &mut usize) -> Vec<Outgoing> {
        let mut taken = Vec::new();
        while let Some(item) = queue.pop_front() {
            *bytes -= item.len();
            taken.push(item);
        }
        taken
    }

    /// A wire that takes everything and remembers each item's text.
    #[derive(Debug, Default)]
    struct Taker(Mutex<Vec<String>>);

    impl Wire for Taker {
        fn write(
            &self,
            queue: &mut Queue,
            bytes: &mut usize,
            _by: Writer,
        ) -> std::io::Result<Written> {
            let taken = take_all(queue, bytes);
            self.0.lock().extend(taken.iter().map(text));
            Ok(Written::All)
        }
    }

    fn attached(id: u64, flusher: &Arc<Flusher>) -> (Arc<Conn>, Arc<Taker>) {
        let conn = Conn::new(id, format!("{id}.1").into(), 1 << 16, flusher.clone());
        let wire = Arc::new(Taker::default());
        conn.attach(wire.clone());
        (conn, wire)
    }

    fn ids(flusher: &Flusher) -> Vec<u64> {
        flusher.dirty.lock().iter().map(|c| c.id).collect()
    }

    /// A fan-out's outboxes reach their flusher only when its marks drop,
    /// each once, each at its own flusher; a frame sent meanwhile is written
    /// with the first, behind it.
    #[test]
    fn marks_hand_a_fan_out_over_once_when_dropped() {
        // Outside a runtime nobody flushes: the lists can be read.
        let (a, b) = (Flusher::start(), Flusher::start());
        let (c1, w1) = attached(1, &a);
        let (c2, _) = attached(2, &a);
        let (c3, w3) = attached(3, &b);
        let frame = |t: &str| Frame::from(t.to_owned());
        let mut marks = Marks::default();
        c1.send_to(frame("one"), &mut marks);
        c3.send_to(frame("one"), &mut marks);
        c2.send_to(frame("one"), &mut marks);
        c1.send(frame("two"));
        assert!(ids(&a).is_empty() && ids(&b).is_empty(), "marked early");
        drop(marks);
        assert_eq!((ids(&a), ids(&b)), (vec![1, 2], vec![3]));
        let batch = std::mem::take(&mut *a.dirty.lock());
        for conn in batch {
            conn.flush();
        }
        c3.flush();
        assert_eq!(*w1.0.lock(), ["one", "two"]);
        assert_eq!(*w3.0.lock(), ["one"]);
        assert_eq!(c1.queued_bytes(), 0);
    }

    /// A wire that remembers which threads wrote to it. A write waits
    /// (bounded, once) until some other thread has written too, so a fan-out
    /// written by one worker alone shows as a wait that ran out.
    #[derive(Debug, Default)]
    struct Meeting {
        seen: std::sync::Mutex<Seen>,
        met: std::sync::Condvar,
    }

    #[derive(Debug, Default)]
    struct Seen {
        threads: Vec<std::thread::ThreadId>,
        /// A wait for a second thread ran out.
        lonely: bool,
    }

    impl Meeting {
        fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
            self.seen.lock().unwrap_or_else(|e| e.into_inner())
        }
    }

    impl Wire for Meeting {
        fn write(
            &self,
            queue: &mut Queue,
            bytes: &mut usize,
            _by: Writer,
        ) -> std::io::Result<Written> {
            let me = std::thread::current().id();
            let mut seen = self.seen();
            if !seen.threads.contains(&me) {
                seen.threads.push(me);
            }
            if seen.threads.len() >= 2 {
                self.met.notify_all();
            } else if !seen.lonely {
                let (mut seen, waited) = self
                    .met
                    .wait_timeout_while(seen, std::time::Duration::from_secs(10), |s| {
                        s.threads.len() < 2
                    })
                    .unwrap_or_else(|e| e.into_inner());
                seen.lonely = waited.timed_out();
            }
            take_all(queue, bytes);
            Ok(Written::All)
        }
    }

    /// One publish to many subscribers is written by every worker of the
    /// runtime at once, not by the flusher's worker alone: every share is a
    /// task another worker can take (issue 14).
    #[test]
    fn a_large_fan_out_is_written_by_more_than_one_worker() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("runtime");
        let wire = Arc::new(Meeting::default());
        let conns: Vec<_> = runtime.block_on(async {
            let flusher = Flusher::start();
            let conns: Vec<_> = (0..2 * SPREAD_ABOVE as u64)
                .map(|id| {
                    let conn = Conn::new(id, format!("{id}.1").into(), 1 << 16, flusher.clone());
                    conn.attach(wire.clone());
                    conn
                })
                .collect();
            let mut marks = Marks::default();
            for conn in &conns {
                conn.send_to(Frame::from("event".to_owned()), &mut marks);
            }
            drop(marks);
            conns
        });
        runtime.block_on(async {
            while conns.iter().any(|c| c.queued_bytes() > 0) {
                tokio::task::yield_now().await;
            }
        });
        let seen = wire.seen();
        assert_eq!(seen.threads.len(), 2, "written by one thread");
        assert!(
            !seen.lonely,
            "one worker wrote its share alone while the other share waited"
        );
    }

    /// The inline front and the rest behind it behave as one FIFO.
    #[test]
    fn the_queue_keeps_its_order_across_the_inline_front() {
        let mut q = Queue::default();
        assert!(q.is_empty() && q.single().is_none() && q.pop_front().is_none());
        q.push_back(raw("a"));
        assert!(q.single().is_some());
        q.push_back(raw("b"));
        q.push_back(raw("c"));
        assert_eq!((q.len(), q.single().is_none()), (3, true));
        assert_eq!(texts(&q), ["a", "b", "c"]);
        assert!(matches!(q.pop_front(), Some(Outgoing::Raw(b)) if &b[..] == b"a"));
        q.push_back(raw("d"));
        assert_eq!(texts(&q), ["b", "c", "d"]);
        if let Some(front) = q.front_mut() {
            *front = raw("B");
        }
        let taken = q.take_front(2);
        assert_eq!(taken.len(), 2);
        assert_eq!(texts(&q), ["d"]);
        assert!(q.single().is_some());
        q.push_back(Outgoing::Text(Frame::from("e".to_owned())));
        q.push_back(raw("f"));
        q.retain(|item| matches!(item, Outgoing::Raw(_)));
        assert_eq!(texts(&q), ["d", "f"]);
        assert_eq!(q.take_front(10).len(), 2);
        assert!(q.is_empty() && q.front_mut().is_none());
        q.push_back(raw("g"));
        q.clear();
        assert_eq!(q.len(), 0);
    }
}
