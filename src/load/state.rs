//! The shared state of one run: the phase every task watches, the counters
//! the engine waits on, the channel registry, the worker slots. Built once
//! per run from a plan and a target; the behaviours and the engine only use it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, timeout_at};

use super::auth::Authorizer;
use super::clock::HostClock;
use super::conn::Dialer;
use super::http1::Http1;
use super::pacing::Stop;
use super::plan::{AuthMode, Behaviour, NodeAction, Plan, SetId, StopCondition};
use super::shared::Shared;
use crate::client::RestClient;
use crate::metrics::{FanoutTracker, Recorders, Worker};
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
    /// A population's `weights` do not match the target's nodes.
    #[error(
        "population {population:?} gives {weights} weights but the target has {nodes} node(s) (one weight per node, in the order of the target's node list)"
    )]
    Weights {
        /// The population.
        population: String,
        /// Weights given.
        weights: usize,
        /// Nodes of the target.
        nodes: usize,
    },
    /// An event names a node the target does not have.
    #[error("[[events]] names node {node:?}, which the target does not have (its nodes: {nodes})")]
    EventNode {
        /// The name as written.
        node: String,
        /// The target's node names.
        nodes: String,
    },
    /// The target cannot do an event's action to its nodes.
    #[error(
        "[[events]] needs to {action} nodes, which this target cannot do (give the profile's [[nodes]] a `{action}` command, or use --cluster N)"
    )]
    EventUnsupported {
        /// The action.
        action: &'static str,
    },
    /// A publisher would publish through a node an event takes down.
    #[error(
        "publisher population {population:?} may publish through {node}, which an event takes down; give it weights with 0 for {node}"
    )]
    PublisherOnEventNode {
        /// The population.
        population: String,
        /// The node.
        node: String,
    },
    /// Node events need a target with at least two nodes.
    #[error(
        "the scenario has [[events]] but the target has one node; use --cluster N or a profile with [[nodes]]"
    )]
    EventsNeedNodes,
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
///
/// Deliveries are counted per lane (a runtime thread of [`super::cores`],
/// or its listener): every delivery adds one, and a counter that every core
/// added to would move its cache line between the cores each time. The
/// engine reads the sum.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) ready: AtomicU64,
    pub(crate) expected: AtomicU64,
    pub(crate) senders: AtomicU64,
    draining: AtomicBool,
    notify: Notify,
    /// One per lane, each on a cache line of its own.
    received: Box<[Padded]>,
}

/// An atomic counter alone on its cache line (128 bytes: adjacent-line
/// prefetch pairs lines on x86).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded(AtomicU64);

impl Pending {
    /// Counters for `lanes` threads (at least one).
    pub(crate) fn new(lanes: usize) -> Pending {
        Pending {
            ready: AtomicU64::new(0),
            expected: AtomicU64::new(0),
            senders: AtomicU64::new(0),
            draining: AtomicBool::new(false),
            notify: Notify::new(),
            received: (0..lanes.max(1)).map(|_| Padded::default()).collect(),
        }
    }

    /// One connected client finished its setup (successfully or not).
    pub(crate) fn ready_one(&self) {
        self.ready.fetch_add(1, Ordering::AcqRel);
        self.notify.notify_waiters();
    }

    /// From now on every delivery checks whether it was the last one
    /// expected, and wakes the engine when it was.
    ///
    /// Sequentially consistent, like the counters and the check: the
    /// engine stores this flag then sums the counters, a core adds to its
    /// counter then loads the flag and the other counters. In one total
    /// order at least one of the two sees the other's write, so the last
    /// delivery is never missed by both.
    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Expected deliveries that arrived (or were written off), summed over the cores.
    pub(crate) fn received(&self) -> u64 {
        self.received
            .iter()
            .map(|c| c.0.load(Ordering::SeqCst))
            .sum()
    }

    /// Whether every expected delivery arrived.
    pub(crate) fn all_in(&self) -> bool {
        self.received() >= self.expected.load(Ordering::SeqCst)
    }

    /// `n` more deliveries are expected.
    pub(crate) fn expect(&self, n: u64) {
        self.expected.fetch_add(n, Ordering::AcqRel);
    }

    /// `n` expected deliveries arrived at clients of lane `lane`.
    pub(crate) fn arrived(&self, lane: usize, n: u64) {
        // `lane` comes from `Run::core_of` or `Run::listener_lane`, below
        // the lane count; the fallback only keeps a stray index from
        // panicking (no division per delivery).
        let slot = self.received.get(lane).unwrap_or(&self.received[0]);
        slot.0.fetch_add(n, Ordering::SeqCst);
        if self.draining.load(Ordering::SeqCst) && self.all_in() {
            self.notify.notify_waiters();
        }
    }

    /// `n` expected deliveries can no longer arrive (the connection that
    /// was to get them is gone): the drain need not wait for them.
    pub(crate) fn written_off(&self, n: u64) {
        self.received[0].0.fetch_add(n, Ordering::SeqCst);
        self.notify.notify_waiters();
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

/// One node of the target as the run reaches it, and its connection counts.
pub(crate) struct NodeLink {
    /// `node-1`, ...
    pub(crate) name: String,
    /// WebSocket base.
    pub(crate) url: String,
    pub(crate) dialer: Dialer,
    /// REST on the engine's own runtime (the shared start's polls).
    pub(crate) rest: RestClient,
    /// One REST client per core ([`super::cores`]): a pooled connection is
    /// driven by a task on the runtime that opened it, so a publisher using
    /// its own core's pool never waits on another thread.
    core_rest: Box<[RestClient]>,
    /// The publishers' own HTTP client per core (`load::http1`), for an
    /// `http://` REST base; empty for `https://`, whose publishes go
    /// through `core_rest`.
    core_http1: Box<[Http1]>,
    /// Connections established to it.
    pub(crate) connections: AtomicU64,
    /// Of those, by clients reconnecting after a node event.
    pub(crate) reconnections: AtomicU64,
    /// Clients the spread placed on it.
    pub(crate) planned: AtomicU64,
}

/// Who receives what is published to one channel: the registered sockets,
/// and how many messages have been published to it (positions from 1), under
/// one lock so a registration and a publish are ordered.
#[derive(Debug, Default)]
struct ChannelReg {
    sockets: Vec<Arc<str>>,
    published: u64,
}

/// One message claimed on a channel: its position, its recipients, the
/// socket it excludes.
#[derive(Debug)]
pub(crate) struct Claim {
    pub(crate) position: u64,
    pub(crate) recipients: u32,
    pub(crate) excluded: Option<Arc<str>>,
}

/// Shared state of one run.
pub(crate) struct Run {
    pub(crate) plan: Plan,
    /// The target's nodes (one for a single-node target).
    pub(crate) nodes: Vec<NodeLink>,
    /// Node index of each of the plan's events.
    pub(crate) event_nodes: Vec<usize>,
    pub(crate) creds: Credentials,
    pub(crate) authorizer: Authorizer,
    pub(crate) prefix: String,
    pub(crate) epoch: Instant,
    /// The host clock payloads are stamped with.
    pub(crate) clock: HostClock,
    /// With `run.shared_channels`: the whole run's publishers and the
    /// shared start and completions.
    pub(crate) shared: Option<Shared>,
    pub(crate) connect_start: Instant,
    pub(crate) phase: watch::Sender<Phase>,
    pub(crate) channels: Vec<Arc<str>>,
    pub(crate) set_offset: Vec<u32>,
    pub(crate) channel_ids: HashMap<Arc<str>, u32>,
    registry: Vec<Mutex<ChannelReg>>,
    pub(crate) fanout: FanoutTracker,
    /// One recorder slot per runtime thread.
    pub(crate) recorders: Arc<Recorders>,
    /// Runtime threads the clients are spread over ([`super::cores`]).
    pub(crate) cores: usize,
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
    /// Records a legitimate subscriber of channel `ch`; returns how many
    /// messages were published to `ch` before it (it expects only later ones).
    pub(crate) fn register(&self, ch: u32, socket_id: &str) -> u64 {
        let mut reg = self.registry[ch as usize].lock();
        reg.sockets.push(Arc::from(socket_id));
        reg.published
    }

    /// Removes a subscriber whose connection is gone; returns how many
    /// messages were published to `ch` up to now.
    pub(crate) fn unregister(&self, ch: u32, socket_id: &str) -> u64 {
        let mut reg = self.registry[ch as usize].lock();
        if let Some(i) = reg.sockets.iter().position(|s| &**s == socket_id) {
            reg.sockets.swap_remove(i);
        }
        reg.published
    }

    /// Claims the next message on `ch`: its position and its recipients
    /// now, less the excluded socket (`exclude` picks one, rotating with
    /// `seq`) and less `sender` (a client event's sender, a member itself).
    pub(crate) fn claim(&self, ch: u32, exclude: Option<u64>, sender: bool) -> Claim {
        let mut reg = self.registry[ch as usize].lock();
        reg.published += 1;
        let n = reg.sockets.len();
        let excluded = exclude
            .filter(|_| n > 0)
            .map(|seq| reg.sockets[(seq % n as u64) as usize].clone());
        let recipients =
            (n - usize::from(excluded.is_some()) - usize::from(sender && n > 0)) as u32;
        Claim {
            position: reg.published,
            recipients,
            excluded,
        }
    }

    /// The runtime thread client `id` of population `pop` runs on. With
    /// one core, that one. Otherwise the last core sends (HTTP publishers,
    /// churners) and the others receive (connected clients, round-robin by
    /// id). A receiving thread that sleeps between deliveries pays a
    /// wake-up for each batch it reads, so receivers are kept on as few
    /// threads as leave one for the senders; and a publish never waits
    /// behind a batch of deliveries on its own thread.
    pub(crate) fn core_of(&self, pop: usize, id: u32) -> usize {
        if self.cores == 1 {
            return 0;
        }
        if self.plan.populations[pop].behaviour.holds_connection() {
            id as usize % (self.cores - 1)
        } else {
            self.cores - 1
        }
    }

    /// The lane (recorder slot and delivery counter) of the listener of
    /// runtime thread `core` (`load::listen`): its own, so the listener and
    /// the clients still on that thread's runtime never wait for each other.
    pub(crate) fn listener_lane(&self, core: usize) -> usize {
        self.cores + core
    }

    /// The recorder slot of client `id` of population `pop`: its core's,
    /// so a slot is only locked from one thread (and by the collector).
    pub(crate) fn worker(&self, pop: usize, id: u32) -> Worker {
        self.recorders.worker(self.core_of(pop, id) as u64)
    }

    /// Whether the target has more than one node (deliveries are then
    /// also timed as same-node or cross-node).
    pub(crate) fn multi_node(&self) -> bool {
        self.nodes.len() > 1
    }

    /// The node population `pop`'s client `id` starts on.
    pub(crate) fn node_of(&self, pop: usize, id: u32) -> usize {
        self.plan.populations[pop].spread.node(id, self.nodes.len())
    }

    /// Whether a connection closing under a client during traffic is an
    /// expected effect of a node event (the client then reconnects).
    pub(crate) fn expects_outages(&self) -> bool {
        !self.plan.events.is_empty()
    }

    /// Whether a connection that closes under a client in phase `now` is
    /// recovered from (reconnected and resubscribed) rather than counted
    /// as a disconnect.
    pub(crate) fn recovers_in(&self, now: Phase) -> bool {
        self.expects_outages() && matches!(now, Phase::Traffic(_) | Phase::Drain)
    }

    /// Counts a connection established to node `node`.
    pub(crate) fn connected_to(&self, node: usize, reconnect: bool) {
        let n = &self.nodes[node];
        n.connections.fetch_add(1, Ordering::Relaxed);
        if reconnect {
            n.reconnections.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The receive path's view of a run with shared channels (issue 13).
impl Run {
    /// Whether this shard accounts a delivery sent by shard `shard` (with
    /// shared channels every shard's; otherwise only its own).
    pub(crate) fn accounts(&self, shard: u32) -> bool {
        self.plan.shared || shard == self.plan.shard.index
    }

    /// Latency of a delivery arriving `now`, stamped `t` by shard `shard`
    /// on host `host`; `None` when the stamp is another host's clock.
    pub(crate) fn latency(
        &self,
        shard: u32,
        host: Option<u32>,
        t: u64,
        now: Instant,
    ) -> Option<u64> {
        let same_process = shard == self.plan.shard.index;
        (same_process || host.is_some_and(|h| self.clock.shares(h)))
            .then(|| self.clock.since(t, now))
    }

    /// Message `seq` of `source`, stamped `t`, reached its last local
    /// recipient `now`: recorded when it is a tracked shared message.
    pub(crate) fn completed(&self, source: u32, seq: u64, t: u64, now: Instant) {
        if let Some(shared) = &self.shared {
            shared.record(source, seq, t, self.clock.micros(now));
        }
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

/// Resolves one node of the target and the dialer simulated clients
/// connect to it with.
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
        sources: Dialer::loopback_sources(addr, plan.source_addresses, plan.shard.index),
    })
}

impl NodeLink {
    /// The REST client of tasks on core `core`.
    pub(crate) fn rest_on(&self, core: usize) -> &RestClient {
        &self.core_rest[core % self.core_rest.len()]
    }

    /// The publishers' HTTP client on core `core`, for an `http://` base.
    pub(crate) fn http1_on(&self, core: usize) -> Option<&Http1> {
        self.core_http1.get(core % self.core_http1.len().max(1))
    }
}

/// Every node of the target, resolved, with its REST clients (one for the
/// engine's runtime, one per core).
async fn node_links(
    plan: &Plan,
    target: &Target,
    cores: usize,
) -> Result<Vec<NodeLink>, SetupError> {
    let nodes = target.nodes();
    let mut out = Vec::with_capacity(nodes.len());
    for node in &nodes {
        let t = if nodes.len() == 1 {
            target.clone()
        } else {
            target.on_node(node).map_err(|e| SetupError::Resolve {
                url: node.url.clone(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
            })?
        };
        let rest = || RestClient::new(&t.rest_base, t.credentials.clone(), Duration::from_secs(10));
        out.push(NodeLink {
            name: node.name.clone(),
            url: t.ws_base.clone(),
            dialer: dialer(plan, &t).await?,
            rest: rest(),
            core_rest: (0..cores).map(|_| rest()).collect(),
            core_http1: (0..cores)
                .map_while(|_| Http1::for_base(&t.rest_base, Duration::from_secs(10)))
                .collect(),
            connections: AtomicU64::new(0),
            reconnections: AtomicU64::new(0),
            planned: AtomicU64::new(0),
        });
    }
    Ok(out)
}

/// Checks the plan's spreads and events against the target's nodes, counts
/// the clients each node gets, and returns the node index of each event.
fn check_nodes(plan: &Plan, target: &Target, nodes: &[NodeLink]) -> Result<Vec<usize>, SetupError> {
    let n = nodes.len();
    for p in &plan.populations {
        if let super::plan::Spread::Weights(w) = &p.spread
            && w.len() != n
        {
            return Err(SetupError::Weights {
                population: p.name.clone(),
                weights: w.len(),
                nodes: n,
            });
        }
        for local in (0..p.count.0).filter(|_| p.behaviour.connects()) {
            let node = p.spread.node(p.first_id + local, n);
            nodes[node].planned.fetch_add(1, Ordering::Relaxed);
        }
    }
    if !plan.events.is_empty() && n < 2 {
        return Err(SetupError::EventsNeedNodes);
    }
    let mut indices = Vec::with_capacity(plan.events.len());
    for e in &plan.events {
        let Some(index) = nodes.iter().position(|l| l.name == e.node) else {
            let names: Vec<&str> = nodes.iter().map(|l| l.name.as_str()).collect();
            return Err(SetupError::EventNode {
                node: e.node.clone(),
                nodes: names.join(", "),
            });
        };
        if !crate::target::lifecycle::supports(target, lifecycle_action(e.action)) {
            return Err(SetupError::EventUnsupported {
                action: e.action.as_str(),
            });
        }
        indices.push(index);
        if !matches!(e.action, NodeAction::Kill | NodeAction::Stop) {
            continue;
        }
        let publisher = plan.populations.iter().find(|p| {
            matches!(p.behaviour, Behaviour::Publisher { .. }) && p.spread.uses(index, n)
        });
        if let Some(p) = publisher {
            return Err(SetupError::PublisherOnEventNode {
                population: p.name.clone(),
                node: e.node.clone(),
            });
        }
    }
    Ok(indices)
}

/// The lifecycle API's name for a scenario event's action.
pub(crate) fn lifecycle_action(a: NodeAction) -> crate::target::Action {
    use crate::target::Action;
    match a {
        NodeAction::Kill => Action::Kill,
        NodeAction::Stop => Action::Stop,
        NodeAction::Cont => Action::Cont,
        NodeAction::Start => Action::Start,
    }
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
/// auth endpoint when the plan asks for it, names every channel. The
/// clients will run on `cores` runtime threads.
pub(crate) async fn build(
    plan: &Plan,
    target: &Target,
    run_id: &str,
    cores: usize,
) -> Result<Arc<Run>, SetupError> {
    let cores = cores.max(1);
    let nodes = node_links(plan, target, cores).await?;
    let event_nodes = check_nodes(plan, target, &nodes)?;
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
    let shared = plan.shared.then(|| Shared::new(plan));
    let sources = shared.as_ref().map_or_else(|| sources(plan), Shared::slots);
    let budget = match (plan.stop, &shared) {
        // This shard's publishers' shares of the whole run's messages.
        (StopCondition::Messages(_), Some(sh)) => plan
            .populations
            .iter()
            .filter(|p| matches!(p.behaviour, Behaviour::Publisher { .. }))
            .flat_map(|p| p.first_id..p.first_id + p.count.0)
            .map(|id| sh.messages(id))
            .sum(),
        (StopCondition::Messages(n), None) => n,
        (StopCondition::Duration(_), _) => u64::MAX,
    };
    let now = Instant::now();
    Ok(Arc::new(Run {
        plan: plan.clone(),
        nodes,
        event_nodes,
        creds: target.credentials.clone(),
        authorizer,
        prefix,
        epoch: now,
        clock: HostClock::now(),
        shared,
        connect_start: now,
        phase: watch::channel(Phase::Connect).0,
        registry: (0..channels.len()).map(|_| Mutex::default()).collect(),
        channels,
        set_offset,
        channel_ids,
        fanout: FanoutTracker::new(sources),
        // A lane per runtime thread, then one per listener.
        recorders: Recorders::new(2 * cores),
        cores,
        stop: Stop {
            deadline: OnceLock::new(),
            budget: AtomicU64::new(budget),
        },
        pending: Pending::new(2 * cores),
        connect_permits: tokio::sync::Semaphore::new(CONNECTS_IN_FLIGHT),
    }))
}
