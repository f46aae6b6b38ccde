//! The engine: one run of a plan against a target, in phases. Preflight
//! (open files, the run's shared state), connect (ramp up every connected
//! client and wait until each is set up), traffic (open-loop senders until
//! the stop condition), drain (until every expected delivery arrived or the
//! drain bound), finish (stop every task, collect, evaluate). An interrupt
//! ends the connect or traffic phase early; a second one skips the drain.
//!
//! Simulated clients, publishers and churners run on the run's own
//! per-core runtimes (`load::cores`), each on the core `Run::core_of`
//! gives it (senders on the last, receivers round-robin over the others),
//! subscribers handed to that core's listener thread once set up
//! (`load::listen`); the engine's waits, the collector, the barrier and node events stay on
//! the caller's runtime. The cores are stopped before the last collection, so
//! nothing records after the totals are taken.

use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout_at};

use super::barrier;
use super::behaviour::{churner, connected, publisher};
use super::collector::{self, Collected};
use super::cores::{Cores, CoresError};
use super::plan::{Behaviour, Plan, StopCondition};
use super::result::{Budget, EventRecord, LoadResult, Measured, NodeShare};
use super::state::{
    self, Phase, Run, SetupError, cpu_seconds, fds_needed, raise_fd_limit, rss_kib,
};
use crate::errors::error_line;
use crate::interrupt::{Interrupt, Request};
use crate::target::Target;

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
    /// Ctrl-C / SIGTERM.
    pub interrupt: Interrupt,
    /// Runtime threads for the simulated clients; `None`: one per core.
    pub cores: Option<NonZeroUsize>,
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
    /// The run's state could not be built.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The clients' runtime threads could not start.
    #[error(transparent)]
    Cores(#[from] CoresError),
}

/// What the phases hand on.
struct Progress {
    run: Arc<Run>,
    tasks: JoinSet<()>,
    connecting: u64,
    fd_limit: u64,
    fd_needed: u64,
    rss_before: u64,
    rss_idle: u64,
    /// Clients handed to the listener threads in the connect phase.
    listened: u64,
    connect_elapsed: Duration,
    traffic: Duration,
    traffic_cpu: f64,
    events: Arc<Mutex<Vec<EventRecord>>>,
    /// Shared channels: the deliveries this shard expects of the whole run.
    shared_expected: u64,
}

/// Runs `plan` against `target`.
pub async fn run(
    plan: &Plan,
    target: &Target,
    opts: &EngineOptions,
) -> Result<LoadResult, EngineError> {
    let started = SystemTime::now();
    // Dropped on any way out that skips the shutdown below (an error, a
    // cancelled run): the threads are joined and every task on them dropped.
    let mut cores = Cores::start(opts.cores.unwrap_or_else(Cores::available))?;
    let mut p = preflight(plan, target, opts, cores.len()).await?;
    cores.listen(&p.run)?;
    let show = opts.progress && std::io::stderr().is_terminal();
    let collected = Arc::new(Mutex::new(Collected::default()));
    let (stop_collector, collector) = collector::spawn(p.run.clone(), collected.clone(), show);
    connect(&mut p, &cores, &opts.interrupt).await;
    if !opts.interrupt.is_set() {
        traffic(&mut p, &cores, target, opts).await;
    }
    drain(&p, &opts.interrupt).await;
    finish(&mut p, &opts.interrupt).await;
    // No task records any more once the cores are down: the last
    // collection below is the whole run.
    cores.shutdown().await;
    let _ = stop_collector.send(true);
    let _ = collector.await;
    let mut c = std::mem::take(&mut *collected.lock());
    c.absorb(&p.run, Instant::now());
    let measured = Measured {
        run_id: opts.run_id.clone(),
        started,
        traffic: p.traffic,
        budget: budget(&p, &c, opts),
        totals: c.totals,
        series: c.samples,
        logs: c.logs,
        interrupted: opts.interrupt.is_set(),
    };
    let mut r = LoadResult::build(plan, target, measured);
    if let Some(sh) = &p.run.shared {
        r.shared = Some(sh.report(p.run.clock.host));
        r.evaluate();
    }
    r.nodes = node_shares(&p.run);
    r.events = std::mem::take(&mut *p.events.lock());
    Ok(r)
}

/// Each node of the target and the connections made to it.
fn node_shares(run: &Run) -> Vec<NodeShare> {
    let mut nodes: Vec<NodeShare> = run
        .nodes
        .iter()
        .map(|n| NodeShare {
            name: n.name.clone(),
            url: n.url.clone(),
            connections: n.connections.load(Ordering::Relaxed),
            reconnections: n.reconnections.load(Ordering::Relaxed),
            planned: n.planned.load(Ordering::Relaxed),
            share: 0.0,
        })
        .collect();
    NodeShare::reshare(&mut nodes);
    nodes
}

/// Checks the open-files budget and builds the run's state.
async fn preflight(
    plan: &Plan,
    target: &Target,
    opts: &EngineOptions,
    cores: usize,
) -> Result<Progress, EngineError> {
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
    let run = state::build(plan, target, &opts.run_id, cores).await?;
    Ok(Progress {
        run,
        tasks: JoinSet::new(),
        connecting: 0,
        fd_limit: limit,
        fd_needed: needed,
        rss_before: rss_kib(),
        rss_idle: 0,
        listened: 0,
        connect_elapsed: Duration::ZERO,
        traffic: Duration::ZERO,
        traffic_cpu: 0.0,
        events: Arc::default(),
        shared_expected: 0,
    })
}

/// Ramps up every connected client and waits until each finished its setup
/// (or the deadline, or an interrupt).
async fn connect(p: &mut Progress, cores: &Cores, interrupt: &Interrupt) {
    let run = p.run.clone();
    // Shared channels: every message's recipients here, before anyone
    // subscribes (another shard may publish as soon as the target counts
    // this shard's subscribers).
    p.shared_expected = barrier::expect_all(&run);
    let mut ramp_end = Duration::ZERO;
    for (i, pop) in run.plan.populations.iter().enumerate() {
        if pop.behaviour.holds_connection() {
            for local in 0..pop.count.0 {
                let core = run.core_of(i, pop.first_id + local);
                let task = connected(run.clone(), i, local, cores.park(core));
                p.tasks.spawn_on(task, cores.handle(core));
            }
            p.connecting += u64::from(pop.count.0);
            let ramp = f64::from(pop.count.0) / pop.ramp.get();
            ramp_end = ramp_end.max(Duration::from_secs_f64(ramp));
        }
    }
    let deadline = run.connect_start + ramp_end + run.plan.connect_timeout * 2;
    let connecting = p.connecting;
    tokio::select! {
        _ = run.pending.wait(deadline, |s| s.ready.load(Ordering::Acquire) >= connecting) => {}
        () = interrupt.wait_for(Request::Drain) => {}
    }
    p.connect_elapsed = run.connect_start.elapsed();
    p.rss_idle = rss_kib();
    p.listened = cores.listened();
}

/// Carries out the plan's node events on `target`'s nodes through the
/// lifecycle API, each at its time after `start`, until the traffic phase ends.
async fn node_events(
    run: Arc<Run>,
    target: Target,
    start: Instant,
    log: Arc<Mutex<Vec<EventRecord>>>,
) {
    let mut phase = run.phase.subscribe();
    for (e, &index) in run.plan.events.iter().zip(&run.event_nodes) {
        let mut record = EventRecord {
            at_seconds: e.at.as_secs_f64(),
            action: e.action.as_str().into(),
            node: e.node.clone(),
            done_seconds: None,
            error: None,
        };
        let ended = tokio::select! {
            () = sleep_until(start + e.at) => false,
            _ = phase.wait_for(|p| matches!(p, Phase::Drain | Phase::Stop)) => true,
        };
        if ended {
            record.error = Some("the traffic phase ended first".into());
        } else {
            let action = state::lifecycle_action(e.action);
            let result = crate::target::lifecycle::act(&target, index, action).await;
            record.done_seconds = Some(start.elapsed().as_secs_f64());
            record.error = result.err().map(|err| error_line(&err));
        }
        if record.error.is_some() {
            // The run did not test what the scenario asked: it cannot pass.
            run.recorders.worker(0).tally(|t| t.event_failures += 1);
        }
        log.lock().push(record);
    }
}

/// Starts the senders and runs until the stop condition (or an interrupt).
async fn traffic(p: &mut Progress, cores: &Cores, target: &Target, opts: &EngineOptions) {
    let interrupt = &opts.interrupt;
    let run = p.run.clone();
    let plan = &run.plan;
    let start = if plan.shared {
        // Every shard's subscribers first; a run that cannot start together
        // sends nothing (the report says why).
        let Some(at) = barrier::start(&run, interrupt).await else {
            return;
        };
        barrier::expect(&run, p.shared_expected);
        // Wake the wait below when the last expected delivery arrives.
        run.pending.start_draining();
        at
    } else {
        Instant::now()
    };
    let cpu_start = cpu_seconds();
    if let StopCondition::Duration(d) = plan.stop {
        let _ = run.stop.deadline.set(start + d);
    }
    let mut senders = 0u64;
    for (i, pop) in plan.populations.iter().enumerate() {
        for local in 0..pop.count.0 {
            let core = cores.handle(run.core_of(i, pop.first_id + local));
            match pop.behaviour {
                Behaviour::Publisher { .. } => {
                    senders += 1;
                    p.tasks
                        .spawn_on(publisher(run.clone(), i, local, start), core);
                }
                Behaviour::Churner { .. } => {
                    p.tasks
                        .spawn_on(churner(run.clone(), i, local, start), core);
                }
                _ => {}
            }
        }
    }
    run.pending.senders.store(senders, Ordering::Release);
    if !plan.events.is_empty() {
        let events = node_events(run.clone(), target.clone(), start, p.events.clone());
        p.tasks.spawn(events);
    }
    run.phase.send_replace(Phase::Traffic(start));
    if opts.progress {
        eprintln!("load: traffic phase started");
    }
    let until_stop = async {
        match plan.stop {
            // Shared channels: until this shard's publishers are done and
            // every shard's messages reached its subscribers, or the whole
            // run's schedule is over (the drain then waits as usual).
            _ if plan.shared => {
                let deadline = barrier::traffic_deadline(&run, start);
                let done =
                    |s: &state::Pending| s.senders.load(Ordering::Acquire) == 0 && s.all_in();
                run.pending.wait(deadline, done).await;
            }
            StopCondition::Duration(d) => sleep_until(start + d).await,
            StopCondition::Messages(n) => {
                let guard = start + messages_guard(plan, n);
                let budget_spent = |_: &_| run.stop.budget.load(Ordering::Acquire) == 0;
                run.pending.wait(guard, budget_spent).await;
            }
        }
    };
    tokio::select! {
        () = until_stop => {}
        () = interrupt.wait_for(Request::Drain) => {}
    }
    p.traffic = start.elapsed();
    p.traffic_cpu = cpu_seconds() - cpu_start;
}

/// Stops the senders and waits for what is in flight, unless a second
/// interrupt asks to skip it.
async fn drain(p: &Progress, interrupt: &Interrupt) {
    let run = &p.run;
    // No send is allowed from here, whatever stopped the traffic phase.
    let _ = run.stop.deadline.set(Instant::now());
    run.phase.send_replace(Phase::Drain);
    run.pending.start_draining();
    let deadline = Instant::now() + run.plan.drain;
    let wait = async {
        let senders_done = |s: &state::Pending| s.senders.load(Ordering::Acquire) == 0;
        run.pending.wait(deadline, senders_done).await;
        run.pending.wait(deadline, state::Pending::all_in).await;
    };
    tokio::select! {
        () = wait => {}
        () = interrupt.wait_for(Request::Abort) => {}
    }
}

/// Stops every task: a bounded wait for them to end, then abort; at once
/// after a second interrupt.
async fn finish(p: &mut Progress, interrupt: &Interrupt) {
    p.run.phase.send_replace(Phase::Stop);
    let join_deadline = Instant::now() + Duration::from_secs(10);
    let joined =
        async { while let Ok(Some(_)) = timeout_at(join_deadline, p.tasks.join_next()).await {} };
    tokio::select! {
        () = joined => {}
        () = interrupt.wait_for(Request::Abort) => {}
    }
    p.tasks.abort_all();
}

fn budget(p: &Progress, c: &Collected, opts: &EngineOptions) -> Budget {
    let plan = &p.run.plan;
    let connections = c.totals.tally.connections;
    let secs = p.connect_elapsed.as_secs_f64();
    Budget {
        clients: plan.clients(),
        sockets: plan.sockets(),
        fd_limit: p.fd_limit,
        fd_needed: p.fd_needed,
        rss_before_kib: p.rss_before,
        rss_idle_kib: p.rss_idle,
        kib_per_idle_client: if p.connecting > 0 {
            p.rss_idle.saturating_sub(p.rss_before) as f64 / p.connecting as f64
        } else {
            0.0
        },
        includes_in_process_server: opts.in_process_server,
        connect_seconds: secs,
        connections_per_s: if secs > 0.0 {
            connections as f64 / secs
        } else {
            0.0
        },
        traffic_cpu_percent: if p.traffic > Duration::ZERO {
            100.0 * p.traffic_cpu / p.traffic.as_secs_f64()
        } else {
            0.0
        },
        cores: p.run.cores as u64,
        listened: p.listened,
    }
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
