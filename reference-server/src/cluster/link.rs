//! The node's one ordered line of commands to Redis.
//!
//! Every command of the node goes through one bounded queue to one task,
//! which sends whatever is queued as one pipeline on the connection manager
//! and waits for it before the next. So Redis runs the node's commands in
//! the order they were queued (a leave before the next join of the same
//! connection, one publisher's events in its order), and a burst costs one
//! round trip. A failed pipeline fails every command in it and marks the
//! link unhealthy until a later pipeline succeeds; the node then
//! resynchronises (see `lease.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{Cmd, RedisResult, Value};
use tokio::sync::{Notify, mpsc, oneshot};

use super::ClusterError;

/// Most commands queued before callers are refused (async) or the command is
/// dropped and counted (fire-and-forget).
const QUEUE: usize = 65_536;

/// Most commands in one pipeline.
const MAX_PIPELINE: usize = 512;

/// What to do with a command's reply.
enum Reply {
    /// Hand it to a waiting caller.
    Wait(oneshot::Sender<RedisResult<Value>>),
    /// Run this in the link task: it must be quick and never block.
    Then(Box<dyn FnOnce(RedisResult<Value>) + Send>),
}

struct Job {
    cmd: Cmd,
    reply: Reply,
}

impl Job {
    fn answer(self, result: RedisResult<Value>) {
        match self.reply {
            Reply::Wait(tx) => {
                // A caller that stopped waiting (its connection closed) needs nothing.
                let _ = tx.send(result);
            }
            Reply::Then(then) => then(result),
        }
    }
}

/// Health of the link as the rest of the node sees it.
#[derive(Debug, Default)]
pub(crate) struct Health {
    healthy: AtomicBool,
    /// Bumped on every change from unhealthy to healthy.
    recoveries: AtomicU64,
    /// Fire-and-forget commands dropped on a full queue.
    dropped: AtomicU64,
    /// Woken on every change of health.
    changed: Notify,
}

impl Health {
    /// Fire-and-forget commands dropped on a full queue so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// How many times the link has come back after failing.
    pub(crate) fn recoveries(&self) -> u64 {
        self.recoveries.load(Ordering::Acquire)
    }

    /// Waits for the next change of health.
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }

    fn set(&self, healthy: bool) {
        let was = self.healthy.swap(healthy, Ordering::AcqRel);
        if was != healthy {
            if healthy {
                self.recoveries.fetch_add(1, Ordering::AcqRel);
            }
            self.changed.notify_waiters();
        }
    }
}

/// Handle on the link task; cheap to clone.
#[derive(Clone)]
pub(crate) struct Link {
    tx: mpsc::Sender<Job>,
    health: Arc<Health>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("health", &self.health)
            .finish()
    }
}

impl Link {
    /// Starts the link task on `conn`; it ends when every handle is dropped.
    pub(crate) fn start(conn: ConnectionManager, timeout: Duration) -> Link {
        let (tx, rx) = mpsc::channel(QUEUE);
        let health = Arc::new(Health::default());
        health.healthy.store(true, Ordering::Release);
        tokio::spawn(run(conn, rx, timeout, health.clone()));
        Link { tx, health }
    }

    /// The link's health.
    pub(crate) fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// Runs `cmd` after every command queued before it; waits for its reply.
    pub(crate) async fn call(&self, cmd: Cmd) -> Result<Value, ClusterError> {
        let (tx, rx) = oneshot::channel();
        let job = Job {
            cmd,
            reply: Reply::Wait(tx),
        };
        self.tx.send(job).await.map_err(|_| ClusterError::Stopped)?;
        rx.await
            .map_err(|_| ClusterError::Stopped)?
            .map_err(ClusterError::Redis)
    }

    /// Queues `cmd` now without waiting (so it is ordered against what the
    /// caller queues next); the receiver gets its reply.
    pub(crate) fn enqueue(
        &self,
        cmd: Cmd,
    ) -> Result<oneshot::Receiver<RedisResult<Value>>, ClusterError> {
        let (tx, rx) = oneshot::channel();
        let job = Job {
            cmd,
            reply: Reply::Wait(tx),
        };
        match self.tx.try_send(job) {
            Ok(()) => Ok(rx),
            Err(mpsc::error::TrySendError::Full(_)) => Err(ClusterError::QueueFull),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(ClusterError::Stopped),
        }
    }

    /// Queues every command now, so they run back to back and in order, then
    /// waits for all their replies.
    pub(crate) async fn call_all(&self, cmds: Vec<Cmd>) -> Result<Vec<Value>, ClusterError> {
        let mut replies = Vec::with_capacity(cmds.len());
        for cmd in cmds {
            let (tx, rx) = oneshot::channel();
            let job = Job {
                cmd,
                reply: Reply::Wait(tx),
            };
            self.tx.send(job).await.map_err(|_| ClusterError::Stopped)?;
            replies.push(rx);
        }
        let mut values = Vec::with_capacity(replies.len());
        for rx in replies {
            values.push(
                rx.await
                    .map_err(|_| ClusterError::Stopped)?
                    .map_err(ClusterError::Redis)?,
            );
        }
        Ok(values)
    }

    /// Queues `cmd` without waiting; `then` gets its reply in the link task.
    /// On a full queue the command is dropped, counted, and the link marked
    /// unhealthy so the node resynchronises.
    pub(crate) fn send(&self, cmd: Cmd, then: impl FnOnce(RedisResult<Value>) + Send + 'static) {
        let job = Job {
            cmd,
            reply: Reply::Then(Box::new(then)),
        };
        if self.tx.try_send(job).is_err() {
            self.health.dropped.fetch_add(1, Ordering::Relaxed);
            self.health.set(false);
        }
    }
}

async fn run(
    mut conn: ConnectionManager,
    mut rx: mpsc::Receiver<Job>,
    timeout: Duration,
    health: Arc<Health>,
) {
    let mut jobs = Vec::with_capacity(MAX_PIPELINE);
    while let Some(first) = rx.recv().await {
        jobs.push(first);
        while jobs.len() < MAX_PIPELINE {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for job in &mut jobs {
            pipe.add_command(std::mem::take(&mut job.cmd));
        }
        let sent = tokio::time::timeout(
            timeout,
            pipe.query_async::<Vec<RedisResult<Value>>>(&mut conn),
        );
        match sent.await {
            Ok(Ok(values)) if values.len() == jobs.len() => {
                health.set(true);
                for (job, value) in jobs.drain(..).zip(values) {
                    job.answer(value);
                }
            }
            outcome => {
                health.set(false);
                let error = match outcome {
                    Ok(Err(e)) => e,
                    Ok(Ok(_)) => redis::RedisError::from((
                        redis::ErrorKind::Client,
                        "pipeline answered a different number of replies",
                    )),
                    Err(_) => redis::RedisError::from(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "redis did not answer within the command timeout",
                    )),
                };
                for job in jobs.drain(..) {
                    job.answer(Err(error.clone()));
                }
            }
        }
    }
}
