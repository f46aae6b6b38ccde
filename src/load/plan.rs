//! A validated, typed plan: every value checked, durations parsed, names
//! resolved to indices, units in newtypes. [`super::validate`] builds it
//! from a [`super::scenario::Scenario`]; the engine only reads it.

use std::time::Duration;

use crate::attack::AttackKind;
use crate::metrics::Metric;

pub use super::shard::Shard;
pub use super::threshold::{Counter, Op, Subject, Threshold, unit_micros};

/// The spec's per-connection client-event limit (spec 6.2).
pub const CLIENT_EVENT_RATE_LIMIT: f64 = 10.0;
/// The spec's largest event `data` (spec 8.2), minus room for the payload header.
pub const MAX_PADDING: u32 = 10_240 - 200;

/// Messages or connections per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(pub(super) f64);

impl Rate {
    /// A rate per second (positive, finite).
    pub fn per_second(value: f64) -> Rate {
        Rate(value)
    }

    /// The value per second.
    pub fn get(self) -> f64 {
        self.0
    }

    /// Time between two events.
    pub fn interval(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.0)
    }
}

/// A number of simulated clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClientCount(pub u32);

/// Index of a channel set in [`Plan::channel_sets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SetId(pub usize);

/// When the traffic phase ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StopCondition {
    /// After this long.
    Duration(Duration),
    /// After this many messages in total.
    Messages(u64),
}

/// How legitimate clients get their channel authorizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Signed in-process with the app secret.
    Local,
    /// Through the harness's own HTTP auth endpoint (measured).
    Endpoint,
}

/// The kind of the channels of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// `name`.
    Public,
    /// `private-name`.
    Private,
    /// `presence-name`.
    Presence,
}

impl SetKind {
    /// Name prefix of the kind.
    pub fn prefix(self) -> &'static str {
        match self {
            SetKind::Public => "",
            SetKind::Private => "private-",
            SetKind::Presence => "presence-",
        }
    }

    /// Name in errors and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SetKind::Public => "public",
            SetKind::Private => "private",
            SetKind::Presence => "presence",
        }
    }
}

/// A named set of channels.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSet {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: SetKind,
    /// Number of channels.
    pub count: u32,
}

/// What a population's clients do.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Subscribe and listen.
    Subscriber {
        /// Channel set.
        set: SetId,
        /// Channels each.
        per_client: u32,
    },
    /// Publish over the HTTP API on an open-loop schedule.
    Publisher {
        /// Channel set published to (round robin).
        set: SetId,
        /// Events per second per publisher.
        rate: Rate,
        /// Events per request.
        batch: u32,
        /// Padding bytes.
        payload: u32,
        /// Exclude one subscriber per event.
        exclude: bool,
    },
    /// Subscribe and send client events on an open-loop schedule.
    ClientEvents {
        /// Channel set (private or presence).
        set: SetId,
        /// Events per second per sender.
        rate: Rate,
        /// Padding bytes.
        payload: u32,
    },
    /// Connect, subscribe, leave, repeat.
    Churner {
        /// Channel set.
        set: SetId,
        /// Cycles per second per churner.
        rate: Rate,
        /// Time subscribed per cycle.
        hold: Duration,
    },
    /// Send forged subscriptions and HTTP requests.
    Attacker {
        /// Channel set attacked (else the attacker's own channels).
        set: Option<SetId>,
        /// Attacks per second per attacker.
        rate: Rate,
        /// Kinds cycled through.
        attacks: Vec<AttackKind>,
    },
}

impl Behaviour {
    /// Name in reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            Behaviour::Subscriber { .. } => "subscriber",
            Behaviour::Publisher { .. } => "publisher",
            Behaviour::ClientEvents { .. } => "client-events",
            Behaviour::Churner { .. } => "churner",
            Behaviour::Attacker { .. } => "attacker",
        }
    }

    /// Whether clients open WebSocket connections (churners, one per cycle).
    pub fn connects(&self) -> bool {
        !matches!(self, Behaviour::Publisher { .. })
    }

    /// Whether each client holds one connection for the whole run.
    pub fn holds_connection(&self) -> bool {
        !matches!(
            self,
            Behaviour::Publisher { .. } | Behaviour::Churner { .. }
        )
    }
}

/// How a population's clients are spread over the target's nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spread {
    /// Client `id` on node `id mod nodes`.
    RoundRobin,
    /// Relative shares per node, in node order (some may be 0).
    Weights(Vec<u32>),
}

impl Spread {
    /// The node (index into the target's node list) of client `id` among `nodes`.
    pub fn node(&self, id: u32, nodes: usize) -> usize {
        match self {
            Spread::RoundRobin => id as usize % nodes.max(1),
            Spread::Weights(w) => {
                let total: u64 = w.iter().map(|x| u64::from(*x)).sum();
                let mut pos = u64::from(id) % total.max(1);
                for (i, x) in w.iter().enumerate() {
                    if pos < u64::from(*x) {
                        return i;
                    }
                    pos -= u64::from(*x);
                }
                0
            }
        }
    }

    /// Whether any client may be placed on node `index`.
    pub fn uses(&self, index: usize, nodes: usize) -> bool {
        match self {
            Spread::RoundRobin => index < nodes,
            Spread::Weights(w) => w.get(index).is_some_and(|x| *x > 0),
        }
    }
}

/// A lifecycle action of a scenario event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeAction {
    /// SIGKILL the node.
    Kill,
    /// SIGSTOP it.
    Stop,
    /// SIGCONT it.
    Cont,
    /// Start it again after a kill.
    Start,
}

impl NodeAction {
    /// Name as written in the scenario.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeAction::Kill => "kill",
            NodeAction::Stop => "stop",
            NodeAction::Cont => "cont",
            NodeAction::Start => "start",
        }
    }
}

/// A node event during the traffic phase.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeEvent {
    /// After the traffic phase started.
    pub at: Duration,
    /// What happens.
    pub action: NodeAction,
    /// The node's name in the target's node list (`node-2` unless the
    /// profile names its nodes).
    pub node: String,
}

/// A group of identical clients.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    /// Name.
    pub name: String,
    /// Clients in this process (after sharding).
    pub count: ClientCount,
    /// Clients in the whole run, every shard together.
    pub whole: ClientCount,
    /// Global id of this process's first client (ids are unique across shards).
    pub first_id: u32,
    /// Connections started per second.
    pub ramp: Rate,
    /// What the clients do.
    pub behaviour: Behaviour,
    /// How the clients are spread over the target's nodes.
    pub spread: Spread,
}

/// Which parameter a capacity search steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityParameter {
    /// The population's `rate`.
    Rate,
    /// The population's `count`.
    Count,
}

/// A capacity search: run steps with a growing parameter until a threshold breaks.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    /// Index into [`Plan::populations`].
    pub population: usize,
    /// What is stepped.
    pub parameter: CapacityParameter,
    /// First value.
    pub start: f64,
    /// Increment.
    pub step: f64,
    /// Last value.
    pub max: f64,
    /// Traffic time per step.
    pub step_duration: Duration,
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Scenario name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Where it came from.
    pub file: String,
    /// When traffic stops.
    pub stop: StopCondition,
    /// Longest wait for outstanding deliveries.
    pub drain: Duration,
    /// Deadline per client to connect and subscribe.
    pub connect_timeout: Duration,
    /// Largest acceptable p99 schedule lag.
    pub max_schedule_lag: Duration,
    /// Authorization mode.
    pub auth: AuthMode,
    /// Loopback source addresses to spread sockets over.
    pub source_addresses: u8,
    /// Channel sets.
    pub channel_sets: Vec<ChannelSet>,
    /// Populations.
    pub populations: Vec<Population>,
    /// SLO rules.
    pub thresholds: Vec<Threshold>,
    /// Capacity search, if any.
    pub capacity: Option<Capacity>,
    /// This process's shard.
    pub shard: Shard,
    /// `--duration` and `--set` overrides applied to the scenario, as given.
    pub overrides: Vec<String>,
    /// Node events during traffic, in time order.
    pub events: Vec<NodeEvent>,
    /// `run.shared_channels`: every shard uses the same channels and
    /// accounts every shard's publishes (see [`super::shared`]).
    pub shared: bool,
}

impl Plan {
    /// This process's part of the plan: every population's count divided
    /// among `shard.total` processes (ids stay unique), and a message-count
    /// stop divided the same way (with shared channels it stays the whole
    /// run's: each publisher's own share follows from it).
    pub fn sharded(&self, shard: Shard) -> Plan {
        let mut plan = self.clone();
        plan.shard = shard;
        for p in &mut plan.populations {
            let (mine, before) = shard.share(p.count.0);
            p.first_id += before;
            p.count = ClientCount(mine);
        }
        if let StopCondition::Messages(n) = plan.stop
            && !plan.shared
        {
            let (mine, _) = shard.share(u32::try_from(n).unwrap_or(u32::MAX));
            plan.stop = StopCondition::Messages(u64::from(mine));
        }
        plan
    }

    /// Total simulated clients holding a WebSocket (attackers hold two).
    pub fn sockets(&self) -> u64 {
        self.populations
            .iter()
            .map(|p| match p.behaviour {
                Behaviour::Attacker { .. } => 2 * u64::from(p.count.0),
                Behaviour::Publisher { .. } => 0,
                _ => u64::from(p.count.0),
            })
            .sum()
    }

    /// Total clients of every behaviour.
    pub fn clients(&self) -> u64 {
        self.populations.iter().map(|p| u64::from(p.count.0)).sum()
    }

    /// The name of channel `index` of `set` with the run's prefix.
    pub fn channel_name(&self, prefix: &str, set: SetId, index: u32) -> String {
        let s = &self.channel_sets[set.0];
        format!("{}{prefix}{}-{index}", s.kind.prefix(), s.name)
    }

    /// Connected clients that must finish their setup (connect, and
    /// subscribe where the behaviour subscribes) for the run to count.
    pub fn planned_clients(&self) -> u64 {
        self.populations
            .iter()
            .filter(|p| p.behaviour.holds_connection())
            .map(|p| u64::from(p.count.0))
            .sum()
    }

    /// Legitimate subscriptions the connected clients make during setup.
    pub fn planned_subscriptions(&self) -> u64 {
        self.populations
            .iter()
            .map(|p| match p.behaviour {
                Behaviour::Subscriber { per_client, .. } => {
                    u64::from(p.count.0) * u64::from(per_client)
                }
                Behaviour::ClientEvents { .. } => u64::from(p.count.0),
                _ => 0,
            })
            .sum()
    }

    /// Clients of `set` that receive what is published to it.
    fn receivers(&self, set: SetId) -> u64 {
        self.populations
            .iter()
            .map(|p| match p.behaviour {
                Behaviour::Subscriber { set: s, .. } | Behaviour::ClientEvents { set: s, .. }
                    if s == set =>
                {
                    u64::from(p.count.0)
                }
                _ => 0,
            })
            .sum()
    }

    /// Whether an HTTP publisher sends to a set somebody listens to.
    fn publishes_to_listeners(&self) -> bool {
        self.populations.iter().any(|p| match p.behaviour {
            Behaviour::Publisher { set, exclude, .. } => self.receivers(set) > u64::from(exclude),
            _ => false,
        })
    }

    /// Whether client events have somebody else to reach.
    fn client_events_reach_others(&self) -> bool {
        self.populations.iter().any(|p| match p.behaviour {
            Behaviour::ClientEvents { set, .. } => self.receivers(set) >= 2,
            _ => false,
        })
    }

    /// Whether the plan expects deliveries: a run that saw none cannot pass.
    pub fn expects_delivery(&self) -> bool {
        self.publishes_to_listeners() || self.client_events_reach_others()
    }

    /// Whether any population publishes over the HTTP API in this process
    /// (a shard may hold none of a population's publishers).
    pub fn publishes(&self) -> bool {
        self.populations
            .iter()
            .any(|p| matches!(p.behaviour, Behaviour::Publisher { .. }) && p.count.0 > 0)
    }

    /// Global id of population `p`'s first client in the whole run.
    pub fn whole_first_id(&self, p: &Population) -> u32 {
        p.first_id - self.shard.share(p.whole.0).1
    }

    fn has(&self, f: fn(&Behaviour) -> bool) -> bool {
        self.populations.iter().any(|p| f(&p.behaviour))
    }

    /// Why the plan never records `metric`, or `None` when it does.
    pub fn unexercised(&self, metric: Metric) -> Option<&'static str> {
        let connects = self.has(Behaviour::connects);
        let subscribes = self.has(|b| {
            matches!(
                b,
                Behaviour::Subscriber { .. }
                    | Behaviour::ClientEvents { .. }
                    | Behaviour::Churner { .. }
            )
        });
        let private = self.channel_sets.iter().any(|s| s.kind != SetKind::Public);
        let (ok, why) = match metric {
            Metric::Connect | Metric::Established => (connects, "no population connects"),
            Metric::Subscribe => (subscribes, "no population subscribes"),
            Metric::Auth => (
                self.auth == AuthMode::Endpoint && subscribes && private,
                "auth is only measured with run.auth = \"endpoint\" and private or presence subscriptions",
            ),
            Metric::Publish => (self.publishes(), "no population publishes"),
            Metric::Deliver
            | Metric::DeliverSameNode
            | Metric::DeliverCrossNode
            | Metric::Fanout => (
                self.publishes_to_listeners(),
                "no publisher sends to a set that subscribers or client-event senders joined",
            ),
            Metric::ClientEvent => (
                self.client_events_reach_others(),
                "no client-events population has two or more members on one set",
            ),
            Metric::AttackRejection => (
                self.has(|b| matches!(b, Behaviour::Attacker { .. })),
                "no population attacks",
            ),
            Metric::ScheduleLag => (
                self.has(|b| {
                    matches!(
                        b,
                        Behaviour::Publisher { .. } | Behaviour::ClientEvents { .. }
                    )
                }),
                "no population sends on a schedule",
            ),
        };
        (!ok).then_some(why)
    }

    /// Why the plan can never move `counter`, or `None` when it can.
    pub fn unexercised_counter(&self, counter: Counter) -> Option<&'static str> {
        match counter {
            Counter::Lost
            | Counter::LostConnected
            | Counter::LostOutage
            | Counter::Duplicated
            | Counter::Reordered
            | Counter::Delivered => {
                (!self.expects_delivery()).then_some("the plan expects no delivery")
            }
            Counter::AcceptedAttacks => self.unexercised(Metric::AttackRejection),
            Counter::Connections => self.unexercised(Metric::Connect),
            Counter::Unexpected | Counter::Errors => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_place_clients_by_round_robin_or_weight() {
        let rr: Vec<usize> = (0..6).map(|id| Spread::RoundRobin.node(id, 3)).collect();
        assert_eq!(rr, [0, 1, 2, 0, 1, 2]);
        let w = Spread::Weights(vec![2, 0, 1]);
        let placed: Vec<usize> = (0..6).map(|id| w.node(id, 3)).collect();
        assert_eq!(placed, [0, 0, 2, 0, 0, 2]);
        assert!(w.uses(0, 3) && !w.uses(1, 3) && w.uses(2, 3));
        assert!(Spread::RoundRobin.uses(2, 3) && !Spread::RoundRobin.uses(3, 3));
    }

    #[test]
    fn thresholds_parse_latency_units_and_counters() {
        let t = Threshold::parse("deliver.p99 < 25ms").expect("valid");
        assert_eq!(t.subject, Subject::Latency(Metric::Deliver, "p99"));
        assert_eq!(t.value, 25_000.0);
        assert_eq!((t.unit, t.micros_per_unit()), ("ms", 1_000.0));
        assert!(t.op.holds(24_999.0, t.value));
        let t = Threshold::parse("lost == 0").expect("valid");
        assert_eq!(t.subject, Subject::Counter(Counter::Lost));
        assert!(Threshold::parse("deliver.p99 < 25").is_err());
        assert!(Threshold::parse("nope.p99 < 1ms").is_err());
        assert!(Threshold::parse("lost = 0").is_err());
    }

    #[test]
    fn shards_split_counts_without_overlap() {
        let total: u32 = (0..3)
            .map(|i| Shard { index: i, total: 3 }.share(10).0)
            .sum();
        assert_eq!(total, 10);
        assert_eq!(Shard { index: 0, total: 3 }.share(10), (4, 0));
        assert_eq!(Shard { index: 2, total: 3 }.share(10), (3, 7));
        assert_eq!(Shard::parse("1/4"), Some(Shard { index: 1, total: 4 }));
        assert_eq!(Shard::parse("4/4"), None);
    }
}
