//! The runtimes the simulated clients run on: one OS thread per core, each
//! with a single-threaded tokio runtime of its own (issue 14).
//!
//! On one multi-threaded runtime every batch of readable sockets woke a
//! second worker to steal work, and a client's state moved between cores
//! with its task: a quarter of the generator's CPU went to context switches
//! and task-wake atomics. Here a client lives on one thread for its whole
//! life: its socket is registered with that thread's reactor, its timers
//! with that thread's timer wheel, and it records into the recorder slot of
//! that thread (so a slot's lock is only taken by its thread and, once a
//! second, the collector).
//!
//! Which client goes where is the run's choice (`Run::core_of`): with two
//! or more threads the last one sends (HTTP publishers, churners) and the
//! others receive. A receiving thread that runs out of ready sockets sleeps
//! and pays a wake-up for the next batch; with deliveries spread over every
//! thread, each sleeps and wakes for half as many, and on a 2-core box the
//! generator spent more per delivery than on the one multi-threaded runtime
//! (fanout.toml, one run each: 6.3 us against 5.6, one thread alone 4.85).
//! One receiving thread and one sending thread, in two runs: 4.8 and 5.1 us
//! against 5.2 and 5.6, and capacity.toml's last passing step 3,750 and
//! 3,250 publishes/s against 2,875 (all on one thread: 2,500), since a
//! publish no longer waits behind a batch of deliveries on its own thread.
//!
//! The engine's own tasks (collector, waits, barrier, node events) and an
//! in-process server stay on the caller's runtime. A client task may still
//! use things the caller's runtime drives (the auth endpoint, a pooled HTTP
//! connection first opened there): that runtime outlives the run.
//!
//! Beside each thread, once the run is known, a listener thread
//! (`load::listen`) reads the sockets of that thread's subscribers after
//! their setup, off the runtime.
//!
//! [`Cores`] outlives every task spawned on it: stopping it (or dropping it,
//! on any way out of the engine) ends each thread's runtime, which drops the
//! tasks still on it, and each listener, which drops its connections, and
//! joins the threads.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

use super::listen::{Listener, Park};
use super::state::Run;

/// How long a stopping runtime waits for blocking work (a DNS lookup) it
/// started; tasks themselves are dropped at once.
const BLOCKING_GRACE: Duration = Duration::from_secs(2);

/// Why the runtime threads could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start runtime thread {index} of {count} for the simulated clients")]
pub struct CoresError {
    /// The thread that failed (0-based).
    pub index: usize,
    /// Threads asked for.
    pub count: usize,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// One running thread, and its listener once the run is known.
struct Core {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    listener: Option<Listener>,
}

/// N threads, each running a current-thread runtime until stopped.
pub(crate) struct Cores {
    cores: Vec<Core>,
}

impl std::fmt::Debug for Cores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cores")
            .field("count", &self.cores.len())
            .finish()
    }
}

impl Cores {
    /// One per core this process may use (at least one).
    pub(crate) fn available() -> NonZeroUsize {
        std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
    }

    /// Starts `count` threads named `pushcheck-core-K`.
    pub(crate) fn start(count: NonZeroUsize) -> Result<Cores, CoresError> {
        let count = count.get();
        let mut cores = Cores {
            cores: Vec::with_capacity(count),
        };
        for index in 0..count {
            let error = |source| CoresError {
                index,
                count,
                source,
            };
            let runtime = Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(error)?;
            let handle = runtime.handle().clone();
            let (stop, stopped) = oneshot::channel::<()>();
            let thread = std::thread::Builder::new()
                .name(format!("pushcheck-core-{index}"))
                .spawn(move || {
                    // A sent stop or a dropped sender: either ends the thread.
                    let _ = runtime.block_on(stopped);
                    runtime.shutdown_timeout(BLOCKING_GRACE);
                })
                .map_err(error)?;
            // On an error above, `cores` is dropped: the threads started so far stop.
            cores.cores.push(Core {
                handle,
                stop: Some(stop),
                thread: Some(thread),
                listener: None,
            });
        }
        Ok(cores)
    }

    /// Starts a listener (`load::listen`) beside every thread, for `run`'s
    /// clients that only listen.
    pub(crate) fn listen(&mut self, run: &Arc<Run>) -> Result<(), CoresError> {
        let count = self.cores.len();
        for (index, core) in self.cores.iter_mut().enumerate() {
            let listener =
                Listener::start(run, index, core.handle.clone()).map_err(|source| CoresError {
                    index,
                    count,
                    source,
                })?;
            core.listener = Some(listener);
        }
        Ok(())
    }

    /// Where thread `index`'s clients that only listen are handed over
    /// (modulo the count); `None` before [`Cores::listen`].
    pub(crate) fn park(&self, index: usize) -> Option<Park> {
        let core = &self.cores[index % self.cores.len()];
        core.listener.as_ref().map(Listener::park)
    }

    /// Clients handed to the listeners so far.
    pub(crate) fn listened(&self) -> u64 {
        let listeners = self.cores.iter().filter_map(|c| c.listener.as_ref());
        listeners.map(Listener::parked).sum()
    }

    /// Number of threads.
    pub(crate) fn len(&self) -> usize {
        self.cores.len()
    }

    /// The runtime of thread `index` (modulo the count).
    pub(crate) fn handle(&self, index: usize) -> &Handle {
        &self.cores[index % self.cores.len()].handle
    }

    /// Stops every thread from an async context without blocking it: the
    /// joins run on the caller's blocking pool. When this returns, no task
    /// spawned on these runtimes runs any more.
    pub(crate) async fn shutdown(mut self) {
        for core in &mut self.cores {
            core.stop.take();
            if let Some(listener) = &core.listener {
                listener.signal();
            }
        }
        // If the blocking pool is gone the closure is dropped unrun, and
        // dropping `self` joins right here.
        let _ = tokio::task::spawn_blocking(move || drop(self)).await;
    }

    fn stop(&mut self) {
        // Signal every thread first, so they wind down together.
        for core in &mut self.cores {
            core.stop.take();
            if let Some(listener) = &core.listener {
                listener.signal();
            }
        }
        for core in &mut self.cores {
            if let Some(listener) = &mut core.listener {
                listener.join();
            }
            if let Some(thread) = core.thread.take() {
                // A task's panic is caught by its runtime; a panic of the
                // thread itself has nothing left to clean up.
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Cores {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn three() -> Cores {
        Cores::start(NonZeroUsize::new(3).expect("nonzero")).expect("threads start")
    }

    #[tokio::test]
    async fn tasks_run_on_their_own_named_thread() {
        let cores = three();
        assert_eq!(cores.len(), 3);
        let mut set = tokio::task::JoinSet::new();
        for k in 0..6 {
            set.spawn_on(
                async move {
                    let name = std::thread::current().name().map(str::to_owned);
                    // Timers and sockets work: each runtime has its drivers.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await;
                    (k, name, l.is_ok())
                },
                cores.handle(k),
            );
        }
        let mut seen = Vec::new();
        while let Some(r) = set.join_next().await {
            let (k, name, io) = r.expect("task ran");
            assert!(io);
            seen.push((k, name.expect("named thread")));
        }
        seen.sort();
        let names: Vec<String> = seen.into_iter().map(|(_, n)| n).collect();
        let want: Vec<String> = (0..6)
            .map(|k| format!("pushcheck-core-{}", k % 3))
            .collect();
        assert_eq!(names, want);
        cores.shutdown().await;
    }

    /// Dropped on a task's drop: counts the tasks a runtime dropped.
    struct Dropped(Arc<AtomicUsize>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn shutdown_drops_pending_tasks_and_joins() {
        let cores = three();
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut set = tokio::task::JoinSet::new();
        let (started_tx, mut started) = tokio::sync::mpsc::channel::<()>(6);
        for k in 0..6 {
            let guard = Dropped(dropped.clone());
            let started_tx = started_tx.clone();
            set.spawn_on(
                async move {
                    let _guard = guard;
                    let _ = started_tx.send(()).await;
                    std::future::pending::<()>().await;
                },
                cores.handle(k),
            );
        }
        for _ in 0..6 {
            started.recv().await.expect("every task started");
        }
        cores.shutdown().await;
        // Every task was dropped with its runtime before shutdown returned.
        assert_eq!(dropped.load(Ordering::SeqCst), 6);
        while let Some(r) = set.join_next().await {
            assert!(r.expect_err("cancelled").is_cancelled());
        }
    }

    #[test]
    fn dropping_stops_the_threads() {
        let cores = three();
        let dropped = Arc::new(AtomicUsize::new(0));
        let guard = Dropped(dropped.clone());
        drop(cores.handle(1).spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
        drop(cores);
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    }
}
