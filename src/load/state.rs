//! The shared state of one run: the phase every task watches, the counters
//! the engine waits on, the channel registry, the worker slots. Built once
//! per run from a plan and a target; the behaviours and the engine only use it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, timeout_at};

use super::auth::Authorizer;
use super::conn::Dialer;
use super::pacing::Stop;
use super::plan::{AuthMode, Behaviour, Plan, SetId, StopCondition};
use crate::client::RestClient;
use crate::metrics::{FanoutTracker, Recorders};
use crate::target::{Credentials, Target};

/// Handshakes (connect + subscribe) in flight at once.
pub const CONNECTS_IN_FLIGHT: usize = 256;

/// Why the state of a run could not be built (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The target address could not be resolved.
    #[error("cannot resolve target {url}")]
    Resolve {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The harness's auth endpoint could not start.
    #[error("cannot start the auth endpoint")]
    AuthEndpoint(#[source] std::io::Error),
}

/// Phases of a run, broadcast to every task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Clients connect and subscribe.
    Connect,
    /// Senders run from this instant.
    Traffic(Instant),
    /// Senders stop; receivers keep receiving.
    Drain,
    /// Everything ends.
    Stop,
}

/// Counters the engine waits on.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    pub(crate) ready: AtomicU64,
    pub(crate) expected: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) senders: AtomicU64,
    pub(crate) draining: AtomicBool,
    notify: Notify,
}

impl Pending {
    /// One connected client finished its setup (successfully or not).
    pub(crate) fn ready_one(&self) {
        self.ready.fetch_add(1, Ordering::AcqRel);
        self.notify.notify_waiters();
    }

    /// `n` more deliveries are expected.
    pub(crate) fn expect(&self, n: u64) {
        self.expected.fetch_add(n, Ordering::AcqRel);
    }

    /// One expected delivery arrived.
    pub(crate) fn received_one(&self) {
        let got = self.received.fetch_add(1, Ordering::AcqRel) + 1;
        if self.draining.load(Ordering::Acquire) && got >= self.expected.load(Ordering::Acquire) {
            self.notify.notify_waiters();
        }
    }

    /// One HTTP publisher finished, including its in-flight requests.
    pub(crate) fn sender_done(&self) {
        self.senders.fetch_sub(1, Ordering::AcqRel);
        self.notify.notify_waiters();
    }

    /// Wakes the engine to re-check its condition.
    pub(crate) fn wake(&self) {
        self.notify.notify_waiters();
    }

    /// Waits until `done` holds or `deadline` passes; returns whether it holds.
    pub(crate) async fn wait(&self, deadline: Instant, done: impl Fn(&Pending) -> bool) -> bool {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(self) {
                return true;
            }
            if timeout_at(deadline, notified).await.is_err() {
                return done(self);
            }
        }
    }
}

/// Shared state of one run.
pub(crate) struct Run {
    pub(crate) plan: Plan,
    pub(crate) dialer: Dialer,
    pub(crate) creds: Credentials,
    pub(crate) rest: RestClient,
    pub(crate) authorizer: Authorizer,
    pub(crate) prefix: String,
    pub(crate) epoch: Instant,
    pub(crate) connect_start: Instant,
    pub(crate) phase: watch::Sender<Phase>,
    pub(crate) channels: Vec<Arc<str>>,
    pub(crate) set_offset: Vec<u32>,
    pub(crate) channel_ids: HashMap<Arc<str>, u32>,
    subs: Vec<AtomicU32>,
    sockets: Vec<Mutex<Vec<Arc<str>>>>,
    pub(crate) fanout: FanoutTracker,
    pub(crate) recorders: Arc<Recorders>,
    pub(crate) stop: Stop,
    pub(crate) pending: Pending,
    pub(crate) connect_permits: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("plan", &self.plan.name)
            .finish()
    }
}

impl Run {
    /// Records a legitimate subscriber of channel `ch`.
    pub(crate) fn register(&self, ch: u32, socket_id: &str) {
        self.subs[ch as usize].fetch_add(1, Ordering::AcqRel);
        self.sockets[ch as usize].lock().push(Arc::from(socket_id));
    }

    /// Legitimate subscribers of channel `ch`.
    pub(crate) fn subscribers(&self, ch: u32) -> u32 {
        self.subs[ch as usize].load(Ordering::Acquire)
    }

    /// A subscriber of `ch` to exclude, rotating with `seq`.
    pub(crate) fn pick_subscriber(&self, ch: u32, seq: u64) -> Option<Arc<str>> {
        let list = self.sockets[ch as usize].lock();
        (!list.is_empty()).then(|| list[(seq % list.len() as u64) as usize].clone())
    }
}

/// Raises the open-files soft limit to the hard limit; returns the soft limit now in force.
pub(crate) fn raise_fd_limit() -> u64 {
    // Failure leaves the old limit, which the check below then reports.
    let _ignored = rlimit::increase_nofile_limit(u64::MAX);
    rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
}

/// Open files a plan needs in this process (sockets, the auth endpoint, HTTP pools, margin).
pub(crate) fn fds_needed(plan: &Plan, in_process_server: bool) -> u64 {
    let churners: u64 = plan
        .populations
        .iter()
        .filter(|p| matches!(p.behaviour, Behaviour::Churner { .. }))
        .map(|p| u64::from(p.count.0))
        .sum();
    let sockets = plan.sockets() + churners;
    let per_socket = if in_process_server { 2 } else { 1 };
    let endpoint = if plan.auth == AuthMode::Endpoint {
        2 * 64
    } else {
        0
    };
    sockets * per_socket + endpoint + 128
}

/// Resident memory of this process in KiB (Linux; 0 elsewhere).
pub(crate) fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

/// CPU time this process has used so far, user plus system, in seconds
/// (Linux, from /proc/self/stat; 0 elsewhere). The kernel reports it in
/// USER_HZ ticks, 100 per second on every mainstream Linux build.
pub(crate) fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name, which may hold spaces.
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

/// Planned messages per source, for the fan-out tracker's slots.
fn capacity(plan: &Plan, rate: f64) -> usize {
    let planned = match plan.stop {
        StopCondition::Duration(d) => rate * d.as_secs_f64() * 1.05 + 16.0,
        StopCondition::Messages(n) => n as f64 + 16.0,
    };
    planned.min(50_000_000.0) as usize
}

/// Resolves the target and the dialer every simulated client connects with.
async fn dialer(plan: &Plan, target: &Target) -> Result<Dialer, SetupError> {
    let host = target
        .ws_base
        .split_once("://")
        .map_or(target.ws_base.as_str(), |(_, h)| h);
    let host = if host.contains(':') {
        host.to_owned()
    } else if target.ws_base.starts_with("wss") {
        format!("{host}:443")
    } else {
        format!("{host}:80")
    };
    let addr = tokio::net::lookup_host(&host)
        .await
        .and_then(|mut a| a.next().ok_or_else(|| std::io::ErrorKind::NotFound.into()))
        .map_err(|source| SetupError::Resolve {
            url: target.ws_base.clone(),
            source,
        })?;
    Ok(Dialer {
        url: target.ws_url(&target.credentials.key, "client=pushcheck-load&version=0.1"),
        addr,
        sources: Dialer::loopback_sources(addr, plan.source_addresses),
    })
}

/// Every sender's id and its fan-out tracker slots.
fn sources(plan: &Plan) -> Vec<(u32, usize)> {
    let mut sources = Vec::new();
    for p in &plan.populations {
        let rate = match &p.behaviour {
            Behaviour::Publisher { rate, .. } | Behaviour::ClientEvents { rate, .. } => rate.get(),
            _ => continue,
        };
        sources.extend((0..p.count.0).map(|i| (p.first_id + i, capacity(plan, rate))));
    }
    sources
}

/// Builds the shared state of one run: resolves the target, starts the
/// auth endpoint when the plan asks for it, names every channel.
pub(crate) async fn build(
    plan: &Plan,
    target: &Target,
    run_id: &str,
) -> Result<Arc<Run>, SetupError> {
    let dialer = dialer(plan, target).await?;
    let authorizer = Authorizer::start(target.credentials.clone(), plan.auth == AuthMode::Endpoint)
        .await
        .map_err(SetupError::AuthEndpoint)?;
    let prefix = format!("{run_id}-");
    let (mut channels, mut set_offset) = (Vec::new(), Vec::new());
    for (i, set) in plan.channel_sets.iter().enumerate() {
        set_offset.push(channels.len() as u32);
        for j in 0..set.count {
            channels.push(Arc::<str>::from(plan.channel_name(&prefix, SetId(i), j)));
        }
    }
    let channel_ids = channels
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), i as u32))
        .collect();
    let sources = sources(plan);
    let budget = match plan.stop {
        StopCondition::Messages(n) => n,
        StopCondition::Duration(_) => u64::MAX,
    };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) * 4;
    let now = Instant::now();
    Ok(Arc::new(Run {
        plan: plan.clone(),
        dialer,
        creds: target.credentials.clone(),
        rest: RestClient::new(
            &target.rest_base,
            target.credentials.clone(),
            Duration::from_secs(10),
        ),
        authorizer,
        prefix,
        epoch: now,
        connect_start: now,
        phase: watch::channel(Phase::Connect).0,
        subs: (0..channels.len()).map(|_| AtomicU32::new(0)).collect(),
        sockets: (0..channels.len()).map(|_| Mutex::default()).collect(),
        channels,
        set_offset,
        channel_ids,
        fanout: FanoutTracker::new(sources),
        recorders: Recorders::new(workers),
        stop: Stop {
            deadline: OnceLock::new(),
            budget: AtomicU64::new(budget),
        },
        pending: Pending::default(),
        connect_permits: tokio::sync::Semaphore::new(CONNECTS_IN_FLIGHT),
    }))
}
