//! The engine: one run of a plan against a target. Phases: connect (ramp up
//! every connected client and wait until each is subscribed), traffic (open-
//! loop senders until the stop condition), drain (until every expected
//! delivery arrived or the drain bound), stop. A collector swaps the worker
//! slots once a second for the time series, the interval logs and progress.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout_at};

use super::auth::Authorizer;
use super::clients::{churner, connected, publisher};
use super::conn::Dialer;
use super::pacing::Stop;
use super::plan::{AuthMode, Behaviour, Plan, StopCondition};
use super::result::{Budget, LoadResult, LoggedInterval, Sample};
use crate::client::RestClient;
use crate::metrics::{FanoutTracker, Interval, Metric, Percentiles, Recorders};
use crate::target::{Credentials, Target};

/// Handshakes (connect + subscribe) in flight at once.
pub const CONNECTS_IN_FLIGHT: usize = 256;

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

/// Options of one run that do not come from the scenario.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Channel-name prefix shared by every shard of a run.
    pub run_id: String,
    /// The target runs inside this process (its sockets count against our
    /// open-files limit and its memory against our RSS).
    pub in_process_server: bool,
    /// Print a live progress line to stderr.
    pub progress: bool,
}

/// Why a run could not be carried out (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The plan needs more open files than this process may have.
    #[error(
        "the plan needs about {needed} open files but this process may open {limit} (hard limit); \
         split it with --shard i/N over several processes{server}"
    )]
    TooManyFiles {
        /// Estimated need.
        needed: u64,
        /// The limit after raising the soft limit to the hard one.
        limit: u64,
        /// Extra advice when the server shares the process.
        server: &'static str,
    },
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

/// Counters the engine waits on.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    ready: AtomicU64,
    expected: AtomicU64,
    received: AtomicU64,
    senders: AtomicU64,
    draining: AtomicBool,
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
    async fn wait(&self, deadline: Instant, done: impl Fn(&Pending) -> bool) -> bool {
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
pub fn raise_fd_limit() -> u64 {
    // Failure leaves the old limit, which the check below then reports.
    let _ignored = rlimit::increase_nofile_limit(u64::MAX);
    rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
}

/// Open files a plan needs in this process (sockets, the auth endpoint, HTTP pools, margin).
pub fn fds_needed(plan: &Plan, in_process_server: bool) -> u64 {
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
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

/// Planned messages per source, for the fan-out tracker's slots.
fn capacity(plan: &Plan, rate: f64) -> usize {
    let planned = match plan.stop {
        StopCondition::Duration(d) => rate * d.as_secs_f64() * 1.05 + 16.0,
        StopCondition::Messages(n) => n as f64 + 16.0,
    };
    planned.min(50_000_000.0) as usize
}

async fn build_run(
    plan: &Plan,
    target: &Target,
    opts: &EngineOptions,
) -> Result<Arc<Run>, EngineError> {
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
        .map_err(|source| EngineError::Resolve {
            url: target.ws_base.clone(),
            source,
        })?;
    let dialer = Dialer {
        url: target.ws_url(&target.credentials.key, "client=pushcheck-load&version=0.1"),
        addr,
        sources: Dialer::loopback_sources(addr, plan.source_addresses),
    };
    let authorizer = Authorizer::start(target.credentials.clone(), plan.auth == AuthMode::Endpoint)
        .await
        .map_err(EngineError::AuthEndpoint)?;
    let prefix = format!("{}-", opts.run_id);
    let (mut channels, mut set_offset) = (Vec::new(), Vec::new());
    for (i, set) in plan.channel_sets.iter().enumerate() {
        set_offset.push(channels.len() as u32);
        for j in 0..set.count {
            channels.push(Arc::<str>::from(plan.channel_name(
                &prefix,
                super::plan::SetId(i),
                j,
            )));
        }
    }
    let channel_ids = channels
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), i as u32))
        .collect();
    let mut sources = Vec::new();
    for p in &plan.populations {
        let rate = match &p.behaviour {
            Behaviour::Publisher { rate, .. } | Behaviour::ClientEvents { rate, .. } => rate.get(),
            _ => continue,
        };
        sources.extend((0..p.count.0).map(|i| (p.first_id + i, capacity(plan, rate))));
    }
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

/// What the collector accumulates.
#[derive(Debug, Default)]
struct Collected {
    totals: Interval,
    samples: Vec<Sample>,
    logs: Vec<LoggedInterval>,
    last: Option<Instant>,
}

impl Collected {
    fn absorb(&mut self, run: &Run, now: Instant) -> Sample {
        let interval = run.recorders.take_interval();
        let start = self.last.unwrap_or(run.epoch);
        let secs = now.saturating_duration_since(start).as_secs_f64().max(1e-3);
        for m in Metric::ALL {
            let h = interval.histograms.get(m);
            if !h.is_empty() {
                self.logs
                    .push(LoggedInterval::encode(m, start - run.epoch, now - start, h));
            }
        }
        let p = |m| Percentiles::of(interval.histograms.get(m));
        self.totals.histograms.add(&interval.histograms);
        self.totals.tally += &interval.tally;
        let t = &interval.tally;
        let sample = Sample {
            t: now.saturating_duration_since(run.epoch).as_secs_f64(),
            connections: self.totals.tally.connections,
            messages_per_s: t.messages_sent as f64 / secs,
            deliveries_per_s: t.received() as f64 / secs,
            errors: t.error_total(),
            deliver_p50_us: p(Metric::Deliver).p50,
            deliver_p99_us: p(Metric::Deliver).p99,
            client_event_p99_us: p(Metric::ClientEvent).p99,
            publish_p99_us: p(Metric::Publish).p99,
            schedule_lag_p99_us: p(Metric::ScheduleLag).p99,
        };
        self.samples.push(sample.clone());
        self.last = Some(now);
        sample
    }
}

fn progress_line(run: &Run, s: &Sample, c: &Collected) {
    let t = &c.totals.tally;
    eprint!(
        "\r\x1b[2K[{:6.1}s] conns {} subs {} sent {:.0}/s deliv {:.0}/s p99 {:.1}ms lost? {} err {} attacks {}/{} lag p99 {:.1}ms",
        s.t,
        t.connections,
        t.subscriptions,
        s.messages_per_s,
        s.deliveries_per_s,
        s.deliver_p99_us as f64 / 1000.0,
        run.pending
            .expected
            .load(Ordering::Relaxed)
            .saturating_sub(run.pending.received.load(Ordering::Relaxed)),
        t.error_total(),
        t.accepted_attacks(),
        t.attacks.values().map(|a| a.attempted).sum::<u64>(),
        s.schedule_lag_p99_us as f64 / 1000.0,
    );
    let _ = std::io::stderr().flush();
}

/// Runs `plan` against `target`.
pub async fn run(
    plan: &Plan,
    target: &Target,
    opts: &EngineOptions,
) -> Result<LoadResult, EngineError> {
    let limit = raise_fd_limit();
    let needed = fds_needed(plan, opts.in_process_server);
    if needed > limit {
        let server = if opts.in_process_server {
            ", or start the server as its own process and pass --target"
        } else {
            ""
        };
        return Err(EngineError::TooManyFiles {
            needed,
            limit,
            server,
        });
    }
    let started = SystemTime::now();
    let run = build_run(plan, target, opts).await?;
    let rss_before = rss_kib();
    let progress = opts.progress && std::io::stderr().is_terminal();
    let collected = Arc::new(Mutex::new(Collected::default()));
    let (collector_stop, mut collector_stopped) = watch::channel(false);
    let collector = {
        let (run, collected) = (run.clone(), collected.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(
                Instant::now() + Duration::from_secs(1),
                Duration::from_secs(1),
            );
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = collector_stopped.changed() => return,
                }
                let mut c = collected.lock();
                let s = c.absorb(&run, Instant::now());
                if progress {
                    progress_line(&run, &s, &c);
                }
            }
        })
    };
    let mut tasks = JoinSet::new();
    let mut connecting = 0u64;
    let mut ramp_end = Duration::ZERO;
    for (i, p) in plan.populations.iter().enumerate() {
        if p.behaviour.connects() && !matches!(p.behaviour, Behaviour::Churner { .. }) {
            for local in 0..p.count.0 {
                tasks.spawn(connected(run.clone(), i, local));
            }
            connecting += u64::from(p.count.0);
            ramp_end = ramp_end.max(Duration::from_secs_f64(f64::from(p.count.0) / p.ramp.get()));
        }
    }
    let ready_deadline = run.connect_start + ramp_end + plan.connect_timeout * 2;
    run.pending
        .wait(ready_deadline, |p| {
            p.ready.load(Ordering::Acquire) >= connecting
        })
        .await;
    let connect_elapsed = run.connect_start.elapsed();
    let rss_idle = rss_kib();

    let start = Instant::now();
    let deadline = match plan.stop {
        StopCondition::Duration(d) => Some(start + d),
        StopCondition::Messages(_) => None,
    };
    if let Some(d) = deadline {
        let _ = run.stop.deadline.set(d);
    }
    let mut senders = 0u64;
    for (i, p) in plan.populations.iter().enumerate() {
        for local in 0..p.count.0 {
            match p.behaviour {
                Behaviour::Publisher { .. } => {
                    senders += 1;
                    tasks.spawn(publisher(run.clone(), i, local, start));
                }
                Behaviour::Churner { .. } => {
                    tasks.spawn(churner(run.clone(), i, local, start));
                }
                _ => {}
            }
        }
    }
    run.pending.senders.store(senders, Ordering::Release);
    run.phase.send_replace(Phase::Traffic(start));
    let traffic_end = match plan.stop {
        StopCondition::Duration(d) => start + d,
        StopCondition::Messages(n) => start + messages_guard(plan, n),
    };
    if matches!(plan.stop, StopCondition::Messages(_)) {
        let run2 = run.clone();
        run.pending
            .wait(traffic_end, move |_| {
                run2.stop.budget.load(Ordering::Acquire) == 0
            })
            .await;
    } else {
        sleep_until(traffic_end).await;
    }
    let traffic = start.elapsed();
    run.phase.send_replace(Phase::Drain);
    run.pending.draining.store(true, Ordering::Release);
    let drain_deadline = Instant::now() + plan.drain;
    run.pending
        .wait(drain_deadline, |p| p.senders.load(Ordering::Acquire) == 0)
        .await;
    run.pending
        .wait(drain_deadline, |p| {
            p.received.load(Ordering::Acquire) >= p.expected.load(Ordering::Acquire)
        })
        .await;
    run.phase.send_replace(Phase::Stop);
    let join_deadline = Instant::now() + Duration::from_secs(10);
    while let Ok(Some(_)) = timeout_at(join_deadline, tasks.join_next()).await {}
    tasks.abort_all();
    let _ = collector_stop.send(true);
    let _ = collector.await;
    if progress {
        eprintln!();
    }
    let mut c = std::mem::take(&mut *collected.lock());
    c.absorb(&run, Instant::now());
    let connections = c.totals.tally.connections;
    let budget = Budget {
        clients: plan.clients(),
        sockets: plan.sockets(),
        fd_limit: limit,
        fd_needed: needed,
        rss_before_kib: rss_before,
        rss_idle_kib: rss_idle,
        kib_per_idle_client: if connecting > 0 {
            rss_idle.saturating_sub(rss_before) as f64 / connecting as f64
        } else {
            0.0
        },
        includes_in_process_server: opts.in_process_server,
        connect_seconds: connect_elapsed.as_secs_f64(),
        connections_per_s: if connect_elapsed.as_secs_f64() > 0.0 {
            connections as f64 / connect_elapsed.as_secs_f64()
        } else {
            0.0
        },
    };
    Ok(LoadResult::build(
        plan, target, opts, started, traffic, c.totals, c.samples, c.logs, budget,
    ))
}

/// Longest a message-count run may take: twice the planned time plus 10 s.
fn messages_guard(plan: &Plan, n: u64) -> Duration {
    let rate: f64 = plan
        .populations
        .iter()
        .map(|p| match &p.behaviour {
            Behaviour::Publisher { rate, .. } | Behaviour::ClientEvents { rate, .. } => {
                rate.get() * f64::from(p.count.0)
            }
            _ => 0.0,
        })
        .sum();
    let secs = if rate > 0.0 { n as f64 / rate } else { 0.0 };
    Duration::from_secs_f64(secs * 2.0 + 10.0)
}
