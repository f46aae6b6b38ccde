//! A validated, typed plan built from a [`Scenario`]: every value checked,
//! durations parsed, names resolved to indices, units in newtypes. Errors
//! name the file, the field and why.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use super::scenario::{CapacitySection, PopulationSection, RunSection, Scenario, VERSION};
use crate::attack::AttackKind;

pub use super::invalid::{Invalid, ScenarioError};
pub use super::shard::Shard;
pub use super::threshold::{Counter, Op, Subject, Threshold, unit_micros};

/// The spec's per-connection client-event limit (spec 6.2).
pub const CLIENT_EVENT_RATE_LIMIT: f64 = 10.0;
/// The spec's largest event `data` (spec 8.2), minus room for the payload header.
pub const MAX_PADDING: u32 = 10_240 - 200;

/// Messages or connections per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(f64);

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

    /// Whether clients hold a WebSocket connection.
    pub fn connects(&self) -> bool {
        !matches!(self, Behaviour::Publisher { .. })
    }
}

/// A group of identical clients.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    /// Name.
    pub name: String,
    /// Clients in this process (after sharding).
    pub count: ClientCount,
    /// Global id of this process's first client (ids are unique across shards).
    pub first_id: u32,
    /// Connections started per second.
    pub ramp: Rate,
    /// What the clients do.
    pub behaviour: Behaviour,
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
}

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn err(&self, field: impl Into<String>, why: Invalid) -> ScenarioError {
        ScenarioError::Invalid {
            file: self.file.into(),
            field: field.into(),
            why,
        }
    }

    fn duration(
        &self,
        field: &str,
        text: Option<&str>,
        default: Duration,
    ) -> Result<Duration, ScenarioError> {
        match text {
            None => Ok(default),
            Some(t) => humantime::parse_duration(t)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| self.err(field, Invalid::Duration { text: t.into() })),
        }
    }

    fn range(
        &self,
        field: &str,
        value: f64,
        min: f64,
        max: f64,
        reason: &'static str,
    ) -> Result<f64, ScenarioError> {
        if value.is_finite() && (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(self.err(
                field,
                Invalid::Range {
                    value,
                    min,
                    max,
                    reason,
                },
            ))
        }
    }
}

impl Plan {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Plan, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            file: file.clone(),
            source,
        })?;
        Plan::from_toml(&file, &text)
    }

    /// Parses and validates scenario text; `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Plan, ScenarioError> {
        let scenario = Scenario::from_toml(text).map_err(|source| ScenarioError::Toml {
            file: file.into(),
            source,
        })?;
        Plan::validate(file, &scenario)
    }

    /// Validates a parsed scenario.
    pub fn validate(file: &str, s: &Scenario) -> Result<Plan, ScenarioError> {
        let cx = Ctx { file };
        if s.version != VERSION {
            return Err(cx.err("version", Invalid::Version { found: s.version }));
        }
        if s.name.trim().is_empty() {
            return Err(cx.err("name", Invalid::Missing));
        }
        let channel_sets = channel_sets(&cx, s)?;
        let mut populations = Vec::new();
        let mut names = BTreeSet::new();
        let mut first_id = 0u32;
        for (i, p) in s.population.iter().enumerate() {
            let pop = population(&cx, i, p, &channel_sets, first_id)?;
            if !names.insert(pop.name.clone()) {
                return Err(cx.err(
                    format!("population[{i}].name"),
                    Invalid::Duplicate { name: pop.name },
                ));
            }
            first_id = first_id.saturating_add(pop.count.0);
            populations.push(pop);
        }
        let thresholds = s
            .thresholds
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Threshold::parse(t).map_err(|why| cx.err(format!("thresholds[{i}]"), why))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (stop, rest) = run_section(&cx, &s.run)?;
        let capacity = match &s.capacity {
            Some(c) => Some(capacity(&cx, c, &populations)?),
            None => None,
        };
        Ok(Plan {
            name: s.name.clone(),
            description: s.description.clone(),
            file: file.into(),
            stop,
            drain: rest.0,
            connect_timeout: rest.1,
            max_schedule_lag: rest.2,
            auth: rest.3,
            source_addresses: rest.4,
            channel_sets,
            populations,
            thresholds,
            capacity,
            shard: Shard::WHOLE,
        })
    }

    /// This process's part of the plan: every population's count divided
    /// among `shard.total` processes (ids stay unique), and a message-count
    /// stop divided the same way.
    pub fn sharded(&self, shard: Shard) -> Plan {
        let mut plan = self.clone();
        plan.shard = shard;
        for p in &mut plan.populations {
            let (mine, before) = shard.share(p.count.0);
            p.first_id += before;
            p.count = ClientCount(mine);
        }
        if let StopCondition::Messages(n) = plan.stop {
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
}

fn channel_sets(cx: &Ctx<'_>, s: &Scenario) -> Result<Vec<ChannelSet>, ScenarioError> {
    let mut out: Vec<ChannelSet> = Vec::new();
    for (i, c) in s.channels.iter().enumerate() {
        let kind = match c.kind.as_str() {
            "public" => SetKind::Public,
            "private" => SetKind::Private,
            "presence" => SetKind::Presence,
            other => {
                return Err(cx.err(
                    format!("channels[{i}].kind"),
                    Invalid::UnknownValue {
                        value: other.into(),
                        allowed: "public, private, presence",
                    },
                ));
            }
        };
        let valid = !c.name.is_empty()
            && c.name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_=@,.;".contains(ch));
        if !valid {
            return Err(cx.err(
                format!("channels[{i}].name"),
                Invalid::UnknownValue {
                    value: c.name.clone(),
                    allowed: "names of [A-Za-z0-9-_=@,.;]",
                },
            ));
        }
        if out.iter().any(|o| o.name == c.name) {
            return Err(cx.err(
                format!("channels[{i}].name"),
                Invalid::Duplicate {
                    name: c.name.clone(),
                },
            ));
        }
        let count = c.count.unwrap_or(1);
        cx.range(
            &format!("channels[{i}].count"),
            f64::from(count),
            1.0,
            100_000.0,
            "a set holds at least one channel",
        )?;
        out.push(ChannelSet {
            name: c.name.clone(),
            kind,
            count,
        });
    }
    Ok(out)
}

fn set_ref(
    cx: &Ctx<'_>,
    field: &str,
    name: Option<&str>,
    sets: &[ChannelSet],
) -> Result<SetId, ScenarioError> {
    let name = name.ok_or_else(|| cx.err(field, Invalid::Missing))?;
    sets.iter()
        .position(|s| s.name == name)
        .map(SetId)
        .ok_or_else(|| {
            cx.err(
                field,
                Invalid::Undefined {
                    name: name.into(),
                    section: "[[channels]]",
                },
            )
        })
}

fn population(
    cx: &Ctx<'_>,
    i: usize,
    p: &PopulationSection,
    sets: &[ChannelSet],
    first_id: u32,
) -> Result<Population, ScenarioError> {
    let f = |name: &str| format!("population[{i}].{name}");
    cx.range(
        &f("count"),
        f64::from(p.count),
        1.0,
        1_000_000.0,
        "a population has at least one client",
    )?;
    let ramp = cx.range(
        &f("ramp"),
        p.ramp.unwrap_or(1000.0),
        0.1,
        1_000_000.0,
        "connections per second",
    )?;
    let rate = |max: f64, reason| -> Result<Rate, ScenarioError> {
        let r = p.rate.ok_or_else(|| cx.err(f("rate"), Invalid::Missing))?;
        Ok(Rate(cx.range(&f("rate"), r, 0.001, max, reason)?))
    };
    let payload = cx.range(
        &f("payload"),
        f64::from(p.payload.unwrap_or(0)),
        0.0,
        f64::from(MAX_PADDING),
        "event data is at most 10 KB (spec 8.2)",
    )? as u32;
    let set = || set_ref(cx, &f("channels"), p.channels.as_deref(), sets);
    let not_for = |field: &str, present: bool, behaviour: &'static str| {
        if present {
            Err(cx.err(f(field), Invalid::NotApplicable { behaviour }))
        } else {
            Ok(())
        }
    };
    let behaviour = match p.behaviour.as_str() {
        "subscriber" => {
            let set = set()?;
            let per = p.per_client.unwrap_or(1);
            cx.range(
                &f("per_client"),
                f64::from(per),
                1.0,
                f64::from(sets[set.0].count),
                "at most the channels of the set",
            )?;
            not_for("rate", p.rate.is_some(), "subscriber")?;
            Behaviour::Subscriber {
                set,
                per_client: per,
            }
        }
        "publisher" => {
            let batch = p.batch.unwrap_or(1);
            cx.range(
                &f("batch"),
                f64::from(batch),
                1.0,
                10.0,
                "batch_events takes at most 10 events (spec 8.3)",
            )?;
            Behaviour::Publisher {
                set: set()?,
                rate: rate(100_000.0, "events per second per publisher")?,
                batch,
                payload,
                exclude: p.exclude_subscriber.unwrap_or(false),
            }
        }
        "client-events" => {
            let set = set()?;
            if sets[set.0].kind == SetKind::Public {
                return Err(cx.err(
                    f("channels"),
                    Invalid::Kind {
                        set: sets[set.0].name.clone(),
                        kind: "public",
                        needs: "private or presence channels (spec 6.2)",
                    },
                ));
            }
            Behaviour::ClientEvents {
                set,
                rate: rate(
                    CLIENT_EVENT_RATE_LIMIT,
                    "the spec allows 10 client events per second per connection (spec 6.2)",
                )?,
                payload,
            }
        }
        "churner" => Behaviour::Churner {
            set: set()?,
            rate: rate(100.0, "cycles per second per churner")?,
            hold: cx.duration(&f("hold"), p.hold.as_deref(), Duration::from_millis(100))?,
        },
        "attacker" => {
            let set = match &p.channels {
                Some(_) => {
                    let id = set()?;
                    if sets[id.0].kind == SetKind::Public {
                        return Err(cx.err(
                            f("channels"),
                            Invalid::Kind {
                                set: sets[id.0].name.clone(),
                                kind: "public",
                                needs: "private or presence channels",
                            },
                        ));
                    }
                    Some(id)
                }
                None => None,
            };
            let attacks = match &p.attacks {
                None => AttackKind::ALL.to_vec(),
                Some(list) if list.is_empty() => return Err(cx.err(f("attacks"), Invalid::Missing)),
                Some(list) => list
                    .iter()
                    .enumerate()
                    .map(|(j, a)| {
                        AttackKind::from_name(a).ok_or_else(|| cx.err(format!("population[{i}].attacks[{j}]"), Invalid::UnknownValue {
                            value: a.clone(),
                            allowed: "wrong-secret, wrong-key, missing-auth, other-channel, other-socket-id, tampered-channel-data, malformed-auth, rest-wrong-secret, rest-stale, rest-future, rest-tampered-body",
                        }))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            };
            Behaviour::Attacker {
                set,
                rate: rate(1000.0, "attacks per second per attacker")?,
                attacks,
            }
        }
        other => {
            return Err(cx.err(
                f("behaviour"),
                Invalid::UnknownValue {
                    value: other.into(),
                    allowed: "subscriber, publisher, client-events, churner, attacker",
                },
            ));
        }
    };
    let name = p
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{i}", behaviour.as_str()));
    Ok(Population {
        name,
        count: ClientCount(p.count),
        first_id,
        ramp: Rate(ramp),
        behaviour,
    })
}

type RunRest = (Duration, Duration, Duration, AuthMode, u8);

fn run_section(cx: &Ctx<'_>, r: &RunSection) -> Result<(StopCondition, RunRest), ScenarioError> {
    let stop = match (&r.duration, r.messages) {
        (Some(_), Some(_)) => {
            return Err(cx.err(
                "run.messages",
                Invalid::Exclusive {
                    other: "run.duration",
                },
            ));
        }
        (Some(d), None) => {
            StopCondition::Duration(cx.duration("run.duration", Some(d), Duration::ZERO)?)
        }
        (None, Some(n)) => StopCondition::Messages(cx.range(
            "run.messages",
            n as f64,
            1.0,
            1e12,
            "at least one message",
        )? as u64),
        (None, None) => return Err(cx.err("run.duration", Invalid::Missing)),
    };
    let auth = match r.auth.as_deref().unwrap_or("local") {
        "local" => AuthMode::Local,
        "endpoint" => AuthMode::Endpoint,
        other => {
            return Err(cx.err(
                "run.auth",
                Invalid::UnknownValue {
                    value: other.into(),
                    allowed: "local, endpoint",
                },
            ));
        }
    };
    let sources = r.source_addresses.unwrap_or(1);
    cx.range(
        "run.source_addresses",
        f64::from(sources),
        1.0,
        250.0,
        "addresses 127.0.0.1 to 127.0.0.250",
    )?;
    Ok((
        stop,
        (
            cx.duration("run.drain", r.drain.as_deref(), Duration::from_secs(5))?,
            cx.duration(
                "run.connect_timeout",
                r.connect_timeout.as_deref(),
                Duration::from_secs(10),
            )?,
            cx.duration(
                "run.max_schedule_lag",
                r.max_schedule_lag.as_deref(),
                Duration::from_millis(100),
            )?,
            auth,
            sources,
        ),
    ))
}

fn capacity(
    cx: &Ctx<'_>,
    c: &CapacitySection,
    pops: &[Population],
) -> Result<Capacity, ScenarioError> {
    let population = pops
        .iter()
        .position(|p| p.name == c.population)
        .ok_or_else(|| {
            cx.err(
                "capacity.population",
                Invalid::Undefined {
                    name: c.population.clone(),
                    section: "[[population]] names",
                },
            )
        })?;
    let parameter = match c.parameter.as_str() {
        "rate" => CapacityParameter::Rate,
        "count" => CapacityParameter::Count,
        other => {
            return Err(cx.err(
                "capacity.parameter",
                Invalid::UnknownValue {
                    value: other.into(),
                    allowed: "rate, count",
                },
            ));
        }
    };
    let start = cx.range(
        "capacity.start",
        c.start,
        0.001,
        1e9,
        "a positive first value",
    )?;
    let step = cx.range("capacity.step", c.step, 0.001, 1e9, "a positive increment")?;
    let max = cx.range("capacity.max", c.max, start, 1e9, "at least start")?;
    if parameter == CapacityParameter::Rate
        && matches!(pops[population].behaviour, Behaviour::Subscriber { .. })
    {
        return Err(cx.err(
            "capacity.parameter",
            Invalid::NotApplicable {
                behaviour: "subscriber",
            },
        ));
    }
    Ok(Capacity {
        population,
        parameter,
        start,
        step,
        max,
        step_duration: cx.duration(
            "capacity.step_duration",
            Some(&c.step_duration),
            Duration::ZERO,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metric;

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
