//! Listeners: the receive loop of the clients that only listen, one thread
//! per runtime thread, each reading its sockets from an epoll of its own
//! (issue 14).
//!
//! Why not a tokio task per client: in `fanout.toml` the generator spent
//! more in user space than in the kernel, and most of it was the task per
//! delivery, not the frame. Each delivery woke its client's task (an atomic
//! on a task header no core had touched since the last burst), polled the
//! select of its serve loop (the phase watch, the schedule, the read), and
//! locked the recorder slot. Here a ready socket costs one entry of
//! `epoll_wait`, one read into its buffer and the frame's accounting; the
//! recorder slot is locked and the drain counter added to once per batch of
//! ready sockets.
//!
//! What is listened: a subscriber (nothing scheduled, only deliveries to
//! account) on a plain `ws://` connection, handed over by its task once its
//! setup is done ([`Park::park`]). Clients with scheduled work (client
//! events, attacks), churners and TLS connections stay on their runtime.
//! Frames are handled as on the runtime (`Recipient::hear`): pings answered,
//! control frames answered by the connection, everything accounted. When
//! the connection closes in a run with node events, the client goes back to
//! its runtime to reconnect and resubscribe, then is handed over again.
//!
//! A listener runs under `SCHED_BATCH` at its usual nice value
//! ([`batch_policy`]): the same share of the CPU, but a delivery that wakes
//! it never preempts the thread that is running. On a box the generator
//! shares with its target, the target's thread writing a fan-out is then not
//! switched out at every delivery that wakes a sleeping listener; the
//! listener runs on an idle core at once, or when the writer's slice ends,
//! and reads what piled up meanwhile in one batch. With `capacity.toml` at
//! 8,000 publishes/s against the reference server (one run each), the
//! server's involuntary context switches fell from 67,331 to 20,717 in 12 s
//! and deliver p99 from 32.6 ms to 7.7 ms.
//!
//! Each listener has its own lane (`Run::listener_lane`): a recorder slot
//! and a drain counter that the clients still on its runtime thread never
//! touch, so neither waits for the other. A listener stops with the
//! [`super::cores::Cores`] that owns it, dropping (closing) its connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use parking_lot::Mutex;
use rustix::event::{EventfdFlags, epoll, eventfd};
use rustix::fd::OwnedFd;
use slab::Slab;
use tokio::runtime::Handle;

use super::behaviour::{Client, Heard, On};
use super::conn::Handover;
use super::state::{Phase, Run};
use crate::metrics::{ErrorKind, Locked, Worker};

/// The epoll key of the listener's own wake-up (new clients, or stop).
const WAKE: u64 = u64::MAX;
/// Ready sockets taken per `epoll_wait`.
const EVENTS: usize = 1024;
/// The read buffer every socket is read into (it grows for a larger read).
const SCRATCH: usize = 64 * 1024;

/// Clients handed over and not yet registered, and whether to stop.
#[derive(Debug, Default)]
struct Queue {
    /// Boxed since the client was made: handing over moves a pointer.
    #[expect(clippy::vec_box, reason = "the box is the client's, made with it")]
    clients: Vec<Box<Client>>,
    stop: bool,
}

/// What a listener shares with the tasks that hand clients over.
#[derive(Debug)]
struct Inbox {
    queue: Mutex<Queue>,
    /// An eventfd in the listener's epoll: written to wake it.
    wake: OwnedFd,
    /// Hand-overs so far.
    parked: AtomicU64,
}

impl Inbox {
    fn wake(&self) {
        // A full counter (never, at one write per hand-over) still wakes it.
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
    }
}

/// A handle for handing clients to one listener.
#[derive(Debug, Clone)]
pub(crate) struct Park {
    inbox: Arc<Inbox>,
}

impl Park {
    /// Hands `c` to the listener. A connection that cannot be listened (TLS)
    /// comes back as `Err`, unchanged; a socket lost on the way is counted
    /// as a disconnect.
    pub(crate) fn park(&self, mut c: Box<Client>) -> Result<(), Box<Client>> {
        match c.conn.listen() {
            Handover::Listened => {}
            Handover::Kept => return Err(c),
            Handover::Lost => {
                c.w.error(ErrorKind::Disconnected);
                return Ok(());
            }
        }
        let mut queue = self.inbox.queue.lock();
        if queue.stop {
            // The run is over: nothing is read any more.
            return Ok(());
        }
        let first = queue.clients.is_empty();
        queue.clients.push(c);
        drop(queue);
        self.inbox.parked.fetch_add(1, Ordering::Relaxed);
        if first {
            self.inbox.wake();
        }
        Ok(())
    }
}

/// One listener thread.
#[derive(Debug)]
pub(crate) struct Listener {
    park: Park,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Starts the listener of runtime thread `core` of `run`; clients that
    /// must recover go back to `runtime`.
    pub(crate) fn start(run: &Arc<Run>, core: usize, runtime: Handle) -> std::io::Result<Listener> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        epoll::add(
            &epoll,
            &wake,
            epoll::EventData::new_u64(WAKE),
            epoll::EventFlags::IN | epoll::EventFlags::ET,
        )?;
        let inbox = Arc::new(Inbox {
            queue: Mutex::default(),
            wake,
            parked: AtomicU64::new(0),
        });
        let park = Park { inbox };
        let lane = run.listener_lane(core);
        let listening = Listening {
            epoll,
            park: park.clone(),
            runtime,
            w: run.recorders.worker(lane as u64),
            lane,
            run: run.clone(),
            clients: Slab::new(),
            scratch: Vec::with_capacity(SCRATCH),
        };
        let thread = std::thread::Builder::new()
            .name(format!("pushcheck-listen-{core}"))
            .spawn(move || listening.run())?;
        Ok(Listener {
            park,
            thread: Some(thread),
        })
    }

    /// A handle for handing clients over.
    pub(crate) fn park(&self) -> Park {
        self.park.clone()
    }

    /// Clients handed over so far (a client that recovered counts again).
    pub(crate) fn parked(&self) -> u64 {
        self.park.inbox.parked.load(Ordering::Relaxed)
    }

    /// Asks the thread to stop (it drops its clients); see [`Listener::join`].
    pub(crate) fn signal(&self) {
        self.park.inbox.queue.lock().stop = true;
        self.park.inbox.wake();
    }

    /// Waits for the thread to end (after [`Listener::signal`]).
    pub(crate) fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            // A panic of the thread has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.signal();
        self.join();
    }
}

/// The listener thread's state.
struct Listening {
    epoll: OwnedFd,
    /// For clients handed over again after recovering.
    park: Park,
    /// Where clients recover.
    runtime: Handle,
    /// This listener's recorder slot.
    w: Worker,
    /// This listener's drain counter.
    lane: usize,
    run: Arc<Run>,
    /// Boxed when the client was made: a hand-over moves a pointer.
    clients: Slab<Box<Client>>,
    /// What every socket is read into (see `Conn::on_ready`).
    scratch: Vec<u8>,
}

/// Why the calling thread's scheduling policy was left as it was.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BatchError {
    /// Its nice value could not be read.
    #[error("cannot read the thread's nice value: {0}")]
    Nice(#[from] rustix::io::Errno),
    /// No priority of the policy crate maps to the thread's nice value.
    #[error("no SCHED_BATCH priority keeps nice {0}")]
    Unmapped(i32),
    /// The kernel refused the change.
    #[error("cannot set SCHED_BATCH: {0}")]
    Refused(#[from] thread_priority::Error),
}

/// Puts the calling thread under `SCHED_BATCH`, keeping its nice value (and
/// so its share of the CPU): woken, it never preempts the running thread.
pub(crate) fn batch_policy() -> Result<(), BatchError> {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
    };
    let policy = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch);
    // On Linux, who 0 of PRIO_PROCESS is the calling thread.
    let nice = rustix::process::getpriority_process(None)?;
    // For normal policies the crate sets a nice value from its 0-99 scale;
    // pick the step its own mapping turns into the nice we have.
    let priority = (0..=99u8)
        .filter_map(|p| ThreadPriorityValue::try_from(p).ok())
        .map(ThreadPriority::Crossplatform)
        .find(|p| p.to_posix(policy).ok() == Some(nice))
        .ok_or(BatchError::Unmapped(nice))?;
    thread_priority::set_thread_priority_and_policy(
        thread_priority::thread_native_id(),
        priority,
        policy,
    )?;
    Ok(())
}

impl Listening {
    fn run(mut self) {
        // Best effort: under the default policy the run is as exact, only
        // dearer for a target on the same box.
        let _ = batch_policy();
        let mut events: Vec<epoll::Event> = Vec::with_capacity(EVENTS);
        loop {
            events.clear();
            let waited = epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut events),
                None,
            );
            match waited {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => {
                    // Nothing can be read any more: every client still here
                    // is disconnected, and the run cannot pass.
                    let mut slot = self.w.lock();
                    for _ in 0..self.clients.len() {
                        slot.error(ErrorKind::Disconnected);
                    }
                    return;
                }
            }
            let fresh = if events.iter().any(|e| e.data.u64() == WAKE) {
                let Some(fresh) = self.admit() else {
                    return;
                };
                fresh
            } else {
                Vec::new()
            };
            self.round(&fresh, &events);
        }
    }

    /// Registers the clients handed over and returns their keys (their
    /// frames already read are handled first); `None` when asked to stop.
    fn admit(&mut self) -> Option<Vec<usize>> {
        let mut counter = [0u8; 8];
        // Resets the eventfd; nothing to read is fine (edge already taken).
        let _ = rustix::io::read(&self.park.inbox.wake, &mut counter);
        let arrived = {
            let mut queue = self.park.inbox.queue.lock();
            if queue.stop {
                return None;
            }
            std::mem::take(&mut queue.clients)
        };
        let mut fresh = Vec::with_capacity(arrived.len());
        for c in arrived {
            let entry = self.clients.vacant_entry();
            let key = entry.key();
            let registered = c.conn.listened().map(|socket| {
                epoll::add(
                    &self.epoll,
                    socket,
                    epoll::EventData::new_u64(key as u64),
                    epoll::EventFlags::IN
                        | epoll::EventFlags::OUT
                        | epoll::EventFlags::RDHUP
                        | epoll::EventFlags::ET,
                )
            });
            match registered {
                Some(Ok(())) => {
                    entry.insert(c);
                    fresh.push(key);
                }
                // Not pollable here: this connection would never be read.
                Some(Err(_)) | None => c.w.error(ErrorKind::Disconnected),
            }
        }
        Some(fresh)
    }

    /// Handles the clients just registered (`fresh`) and the ready sockets
    /// of one `epoll_wait`, under one lock of the recorder slot.
    fn round(&mut self, fresh: &[usize], events: &[epoll::Event]) {
        let mut slot = self.w.lock();
        let mut arrived = 0;
        let mut gone = Vec::new();
        let ready = events.iter().filter_map(|e| {
            let key = e.data.u64();
            let flags = e.flags;
            let hung_up = flags.intersects(
                epoll::EventFlags::HUP | epoll::EventFlags::RDHUP | epoll::EventFlags::ERR,
            );
            (key != WAKE).then_some((key as usize, hung_up))
        });
        for (key, hung_up) in fresh.iter().map(|&k| (k, false)).chain(ready) {
            let Some(c) = self.clients.get_mut(key) else {
                continue;
            };
            if !read(c, &mut self.scratch, hung_up, &mut slot, &mut arrived) {
                gone.push(key);
            }
        }
        for key in gone {
            if let Some(c) = self.clients.try_remove(key) {
                if let Some(socket) = c.conn.listened() {
                    // Before the key can be reused; closing would do it too.
                    let _ = epoll::delete(&self.epoll, socket);
                }
                self.closed(c, &mut slot);
            }
        }
        drop(slot);
        if arrived > 0 {
            self.run.pending.arrived(self.lane, arrived);
        }
    }

    /// Client `c`'s connection closed under it.
    fn closed(&self, c: Box<Client>, slot: &mut Locked<'_>) {
        let now = *self.run.phase.borrow();
        if self.run.recovers_in(now) {
            self.runtime.spawn(recover(c, self.park.clone()));
        } else if now != Phase::Stop {
            slot.error(ErrorKind::Disconnected);
        }
    }
}

/// Reads client `c`'s ready socket; `false` once the connection is gone.
fn read(
    c: &mut Box<Client>,
    scratch: &mut Vec<u8>,
    hung_up: bool,
    slot: &mut Locked<'_>,
    arrived: &mut u64,
) -> bool {
    let Client {
        run,
        conn,
        rx,
        node,
        ..
    } = &mut **c;
    conn.on_ready(scratch, hung_up, |text, socket_id, replies| {
        let on = On {
            socket_id,
            node: *node,
        };
        match rx.hear(run, on, text, slot) {
            Heard::Ping => replies.pong(),
            Heard::Delivery => *arrived += 1,
            Heard::Control(_) => {}
        }
    })
}

/// On `c`'s runtime: reconnects and resubscribes (`Client::recover`), then
/// hands the client to its listener again.
async fn recover(mut c: Box<Client>, park: Park) {
    match Box::pin(c.recover()).await {
        Ok(()) => {
            if let Err(c) = park.park(c) {
                // A reconnection dials the same kind of URL, so this does
                // not happen; if it did, the client would not be read.
                c.w.error(ErrorKind::Disconnected);
            }
        }
        Err(kind) => c.w.error(kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread put under SCHED_BATCH keeps its nice value.
    #[test]
    fn batch_policy_changes_the_policy_and_keeps_the_nice_value() {
        std::thread::spawn(|| {
            use thread_priority::{NormalThreadSchedulePolicy, ThreadSchedulePolicy};
            let nice = rustix::process::getpriority_process(None).expect("nice");
            batch_policy().expect("SCHED_BATCH at the same nice needs no privilege");
            assert_eq!(
                thread_priority::thread_schedule_policy().expect("policy"),
                ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch)
            );
            assert_eq!(rustix::process::getpriority_process(None), Ok(nice));
        })
        .join()
        .expect("the thread's checks");
    }
}
