//! Scenario -> plan: every value checked against its rules, names resolved,
//! thresholds parsed and checked against what the plan exercises. Errors
//! name the file, the field (and the population by name) and why.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use super::invalid::{Invalid, ScenarioError};
use super::overrides::Override;
use super::plan::{
    AuthMode, Behaviour, CLIENT_EVENT_RATE_LIMIT, Capacity, CapacityParameter, ChannelSet,
    ClientCount, MAX_PADDING, NodeAction, NodeEvent, Plan, Population, Rate, SetId, SetKind, Shard,
    Spread, StopCondition, Subject, Threshold,
};
use super::scenario::{
    AttackerSection, CapacitySection, ChurnerSection, ClientEventsSection, PopulationSection,
    PublisherSection, RunSection, Scenario, SubscriberSection, VERSION,
};
use crate::attack::AttackKind;

/// Reads a scenario file, applies `overrides` and validates it.
pub fn load(path: &Path, overrides: &[Override]) -> Result<Plan, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        file: file.clone(),
        source,
    })?;
    from_toml(&file, &text, overrides)
}

/// Parses scenario text (`file` names it in errors), applies `overrides`
/// and validates it.
pub fn from_toml(file: &str, text: &str, overrides: &[Override]) -> Result<Plan, ScenarioError> {
    let mut scenario = Scenario::from_toml(text).map_err(|error| ScenarioError::Toml {
        file: file.into(),
        error,
    })?;
    for o in overrides {
        o.apply(&mut scenario)?;
    }
    let mut plan = validate(file, &scenario)?;
    plan.overrides = overrides.iter().map(|o| o.text.clone()).collect();
    Ok(plan)
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
        (min, max): (f64, f64),
        reason: &'static str,
    ) -> Result<f64, ScenarioError> {
        if value.is_finite() && (min..=max).contains(&value) {
            Ok(value)
        } else {
            let why = Invalid::Range {
                value,
                min,
                max,
                reason,
            };
            Err(self.err(field, why))
        }
    }
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
            let why = Invalid::Duplicate { name: pop.name };
            return Err(cx.err(format!("population[{i}].name"), why));
        }
        first_id = first_id.saturating_add(pop.count.0);
        populations.push(pop);
    }
    let run = run_section(&cx, &s.run)?;
    let mut plan = Plan {
        name: s.name.clone(),
        description: s.description.clone(),
        file: file.into(),
        stop: run.stop,
        drain: run.drain,
        connect_timeout: run.connect_timeout,
        max_schedule_lag: run.max_schedule_lag,
        auth: run.auth,
        source_addresses: run.source_addresses,
        channel_sets,
        populations,
        thresholds: Vec::new(),
        capacity: None,
        shard: Shard::WHOLE,
        overrides: Vec::new(),
        events: Vec::new(),
        shared: s.run.shared_channels.unwrap_or(false),
    };
    plan.events = events(&cx, s, &plan)?;
    plan.thresholds = thresholds(&cx, s, &plan)?;
    if let Some(c) = &s.capacity {
        plan.capacity = Some(capacity(&cx, c, &plan.populations)?);
    }
    if plan.shared {
        shared_channels(&cx, &plan)?;
    }
    Ok(plan)
}

/// Refuses what a run with shared channels cannot account exactly: every
/// shard computes every other shard's deliveries from the plan, so nothing
/// may depend on what happens at run time in another process.
fn shared_channels(cx: &Ctx<'_>, plan: &Plan) -> Result<(), ScenarioError> {
    let refuse = |field: String, why: &'static str| Err(cx.err(field, Invalid::NotShared { why }));
    for (i, p) in plan.populations.iter().enumerate() {
        let field = |f: &str| format!("population[{i}] ({}).{f}", p.name);
        match &p.behaviour {
            Behaviour::Churner { .. } => {
                return refuse(field("behaviour"), "churners join and leave at run time");
            }
            Behaviour::ClientEvents { .. } => {
                return refuse(
                    field("behaviour"),
                    "a client event's recipients depend on its sender's connection",
                );
            }
            Behaviour::Attacker { .. } => {
                return refuse(field("behaviour"), "attacks are judged per connection");
            }
            Behaviour::Publisher { exclude: true, .. } => {
                return refuse(
                    field("exclude_subscriber"),
                    "the excluded socket is picked at run time by the publishing shard",
                );
            }
            Behaviour::Subscriber { set, .. } | Behaviour::Publisher { set, .. }
                if plan.channel_sets[set.0].kind == SetKind::Presence =>
            {
                return refuse(
                    field("channels"),
                    "presence channels do not report subscription_count (spec 8.5), which the shared start waits for, and members are accounted per shard",
                );
            }
            _ => {}
        }
    }
    if !plan.events.is_empty() {
        return refuse("events".into(), "outages are accounted per connection");
    }
    if plan.capacity.is_some() {
        return refuse(
            "capacity".into(),
            "a capacity search steps one process's plan",
        );
    }
    Ok(())
}

/// The node events, checked and in time order.
fn events(cx: &Ctx<'_>, s: &Scenario, plan: &Plan) -> Result<Vec<NodeEvent>, ScenarioError> {
    let mut out = Vec::new();
    for (i, e) in s.events.iter().enumerate() {
        let prefix = format!("events[{i}]");
        let actions = [
            (NodeAction::Kill, &e.kill),
            (NodeAction::Stop, &e.stop),
            (NodeAction::Cont, &e.cont),
            (NodeAction::Start, &e.start),
        ];
        let mut set = actions
            .iter()
            .filter_map(|(a, n)| n.as_ref().map(|n| (*a, n)));
        let Some((action, name)) = set.next() else {
            let why = Invalid::Missing;
            return Err(cx.err(format!("{prefix}.kill (or stop, cont, start)"), why));
        };
        if let Some((other, _)) = set.next() {
            let why = Invalid::Exclusive {
                other: action.as_str(),
            };
            return Err(cx.err(format!("{prefix}.{}", other.as_str()), why));
        }
        if name.trim().is_empty() {
            return Err(cx.err(format!("{prefix}.{}", action.as_str()), Invalid::Missing));
        }
        let at = humantime::parse_duration(&e.at).map_err(|_| {
            cx.err(
                format!("{prefix}.at"),
                Invalid::Duration { text: e.at.clone() },
            )
        })?;
        if let StopCondition::Duration(d) = plan.stop {
            let reason = "inside the traffic phase (run.duration)";
            let range = (0.0, d.as_secs_f64());
            cx.range(&format!("{prefix}.at"), at.as_secs_f64(), range, reason)?;
        }
        out.push(NodeEvent {
            at,
            action,
            node: name.clone(),
        });
    }
    if !out.is_empty() {
        // The outage ledger accounts per connection, which an excluded
        // subscriber would skew.
        let excluding = plan
            .populations
            .iter()
            .position(|p| matches!(p.behaviour, Behaviour::Publisher { exclude: true, .. }));
        if let Some(j) = excluding {
            let field = format!(
                "population[{j}] ({}).exclude_subscriber",
                plan.populations[j].name
            );
            let why = Invalid::Exclusive {
                other: "[[events]]",
            };
            return Err(cx.err(field, why));
        }
    }
    out.sort_by_key(|e| e.at);
    Ok(out)
}

/// Parses every threshold and refuses one the plan can never judge.
fn thresholds(cx: &Ctx<'_>, s: &Scenario, plan: &Plan) -> Result<Vec<Threshold>, ScenarioError> {
    let mut out = Vec::new();
    for (i, text) in s.thresholds.iter().enumerate() {
        let field = format!("thresholds[{i}]");
        let t = Threshold::parse(text).map_err(|why| cx.err(&field, why))?;
        let why = match t.subject {
            Subject::Latency(metric, _) => plan.unexercised(metric),
            Subject::Counter(counter) => plan.unexercised_counter(counter),
        };
        if let Some(why) = why {
            let text = text.clone();
            return Err(cx.err(field, Invalid::Unexercised { text, why }));
        }
        out.push(t);
    }
    Ok(out)
}

fn channel_sets(cx: &Ctx<'_>, s: &Scenario) -> Result<Vec<ChannelSet>, ScenarioError> {
    let mut out: Vec<ChannelSet> = Vec::new();
    for (i, c) in s.channels.iter().enumerate() {
        let kind = match c.kind.as_str() {
            "public" => SetKind::Public,
            "private" => SetKind::Private,
            "presence" => SetKind::Presence,
            other => {
                let why = Invalid::UnknownValue {
                    value: other.into(),
                    allowed: "public, private, presence",
                };
                return Err(cx.err(format!("channels[{i}].kind"), why));
            }
        };
        let valid = !c.name.is_empty()
            && c.name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_=@,.;".contains(ch));
        if !valid {
            let why = Invalid::UnknownValue {
                value: c.name.clone(),
                allowed: "names of [A-Za-z0-9-_=@,.;]",
            };
            return Err(cx.err(format!("channels[{i}].name"), why));
        }
        if out.iter().any(|o| o.name == c.name) {
            let why = Invalid::Duplicate {
                name: c.name.clone(),
            };
            return Err(cx.err(format!("channels[{i}].name"), why));
        }
        let count = c.count.unwrap_or(1);
        let field = format!("channels[{i}].count");
        let reason = "a set holds at least one channel";
        cx.range(&field, f64::from(count), (1.0, 100_000.0), reason)?;
        out.push(ChannelSet {
            name: c.name.clone(),
            kind,
            count,
        });
    }
    Ok(out)
}

/// Validation of one population: its field names carry its index and name.
struct Pop<'a> {
    cx: &'a Ctx<'a>,
    prefix: String,
    sets: &'a [ChannelSet],
}

impl Pop<'_> {
    fn field(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix)
    }

    fn err(&self, field: &str, why: Invalid) -> ScenarioError {
        self.cx.err(self.field(field), why)
    }

    fn rate(
        &self,
        rate: Option<f64>,
        max: f64,
        reason: &'static str,
    ) -> Result<Rate, ScenarioError> {
        let r = rate.ok_or_else(|| self.err("rate", Invalid::Missing))?;
        Ok(Rate(self.cx.range(
            &self.field("rate"),
            r,
            (0.001, max),
            reason,
        )?))
    }

    fn payload(&self, payload: Option<u32>) -> Result<u32, ScenarioError> {
        let reason = "event data is at most 10 KB (spec 8.2)";
        let range = (0.0, f64::from(MAX_PADDING));
        let p = payload.unwrap_or(0);
        self.cx
            .range(&self.field("payload"), f64::from(p), range, reason)?;
        Ok(p)
    }

    fn set(&self, name: Option<&str>) -> Result<SetId, ScenarioError> {
        let name = name.ok_or_else(|| self.err("channels", Invalid::Missing))?;
        let undefined = || Invalid::Undefined {
            name: name.into(),
            section: "[[channels]]",
        };
        let id = self.sets.iter().position(|s| s.name == name);
        id.map(SetId)
            .ok_or_else(|| self.err("channels", undefined()))
    }

    fn private_set(&self, name: Option<&str>, needs: &'static str) -> Result<SetId, ScenarioError> {
        let id = self.set(name)?;
        if self.sets[id.0].kind == SetKind::Public {
            let set = self.sets[id.0].name.clone();
            let why = Invalid::Kind {
                set,
                kind: "public",
                needs,
            };
            return Err(self.err("channels", why));
        }
        Ok(id)
    }

    fn spread(
        &self,
        (nodes, weights): (Option<&str>, Option<&[u32]>),
    ) -> Result<Spread, ScenarioError> {
        match (nodes, weights) {
            (Some(_), Some(_)) => Err(self.err("weights", Invalid::Exclusive { other: "nodes" })),
            (None | Some("round-robin"), None) => Ok(Spread::RoundRobin),
            (Some(other), None) => {
                let why = Invalid::UnknownValue {
                    value: other.into(),
                    allowed: "round-robin (or give weights = [..] per node)",
                };
                Err(self.err("nodes", why))
            }
            (None, Some(w)) => {
                let field = self.field("weights");
                let reason = "one weight per node of the target, 1 to 64 nodes";
                self.cx.range(&field, w.len() as f64, (1.0, 64.0), reason)?;
                for (j, x) in w.iter().enumerate() {
                    let reason = "a weight is 0 (no clients on that node) to 1000";
                    let f = format!("{field}[{j}]");
                    self.cx.range(&f, f64::from(*x), (0.0, 1000.0), reason)?;
                }
                let total: u32 = w.iter().sum();
                let reason = "at least one node needs a weight above 0";
                self.cx
                    .range(&field, f64::from(total), (1.0, 64_000.0), reason)?;
                Ok(Spread::Weights(w.to_vec()))
            }
        }
    }

    fn subscriber(&self, s: &SubscriberSection) -> Result<Behaviour, ScenarioError> {
        let set = self.set(s.channels.as_deref())?;
        let per_client = s.per_client.unwrap_or(1);
        let max = f64::from(self.sets[set.0].count);
        let reason = "at most the channels of the set";
        self.cx.range(
            &self.field("per_client"),
            f64::from(per_client),
            (1.0, max),
            reason,
        )?;
        Ok(Behaviour::Subscriber { set, per_client })
    }

    fn publisher(&self, s: &PublisherSection) -> Result<Behaviour, ScenarioError> {
        let batch = s.batch.unwrap_or(1);
        let reason = "batch_events takes at most 10 events (spec 8.3)";
        self.cx
            .range(&self.field("batch"), f64::from(batch), (1.0, 10.0), reason)?;
        Ok(Behaviour::Publisher {
            set: self.set(s.channels.as_deref())?,
            rate: self.rate(s.rate, 100_000.0, "events per second per publisher")?,
            batch,
            payload: self.payload(s.payload)?,
            exclude: s.exclude_subscriber.unwrap_or(false),
        })
    }

    fn client_events(&self, s: &ClientEventsSection) -> Result<Behaviour, ScenarioError> {
        let needs = "private or presence channels (spec 6.2)";
        let set = self.private_set(s.channels.as_deref(), needs)?;
        let reason = "the spec allows 10 client events per second per connection (spec 6.2)";
        Ok(Behaviour::ClientEvents {
            set,
            rate: self.rate(s.rate, CLIENT_EVENT_RATE_LIMIT, reason)?,
            payload: self.payload(s.payload)?,
        })
    }

    fn churner(&self, s: &ChurnerSection) -> Result<Behaviour, ScenarioError> {
        let hold = s.hold.as_deref();
        Ok(Behaviour::Churner {
            set: self.set(s.channels.as_deref())?,
            rate: self.rate(s.rate, 100.0, "cycles per second per churner")?,
            hold: self
                .cx
                .duration(&self.field("hold"), hold, Duration::from_millis(100))?,
        })
    }

    fn attacker(&self, s: &AttackerSection) -> Result<Behaviour, ScenarioError> {
        let set = match &s.channels {
            Some(name) => Some(self.private_set(Some(name), "private or presence channels")?),
            None => None,
        };
        let attacks = match &s.attacks {
            None => AttackKind::ALL.to_vec(),
            Some(list) if list.is_empty() => return Err(self.err("attacks", Invalid::Missing)),
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(j, a)| {
                    AttackKind::from_name(a).ok_or_else(|| {
                        let why = Invalid::UnknownValue {
                            value: a.clone(),
                            allowed: "wrong-secret, wrong-key, missing-auth, other-channel, other-socket-id, tampered-channel-data, malformed-auth, rest-wrong-secret, rest-stale, rest-future, rest-tampered-body",
                        };
                        self.err(&format!("attacks[{j}]"), why)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(Behaviour::Attacker {
            set,
            rate: self.rate(s.rate, 1000.0, "attacks per second per attacker")?,
            attacks,
        })
    }
}

/// Count and ramp of any behaviour.
fn count_and_ramp(p: &PopulationSection) -> (u32, Option<f64>) {
    match p {
        PopulationSection::Subscriber(s) => (s.count, s.ramp),
        PopulationSection::Publisher(s) => (s.count, s.ramp),
        PopulationSection::ClientEvents(s) => (s.count, s.ramp),
        PopulationSection::Churner(s) => (s.count, s.ramp),
        PopulationSection::Attacker(s) => (s.count, s.ramp),
    }
}

fn population(
    cx: &Ctx<'_>,
    i: usize,
    p: &PopulationSection,
    sets: &[ChannelSet],
    first_id: u32,
) -> Result<Population, ScenarioError> {
    let name = p.display_name(i);
    let pop = Pop {
        cx,
        prefix: format!("population[{i}] ({name})"),
        sets,
    };
    let (count, ramp) = count_and_ramp(p);
    let reason = "a population has at least one client";
    cx.range(
        &pop.field("count"),
        f64::from(count),
        (1.0, 1_000_000.0),
        reason,
    )?;
    let ramp = ramp.unwrap_or(1000.0);
    let ramp = cx.range(
        &pop.field("ramp"),
        ramp,
        (0.1, 1_000_000.0),
        "connections per second",
    )?;
    let behaviour = match p {
        PopulationSection::Subscriber(s) => pop.subscriber(s)?,
        PopulationSection::Publisher(s) => pop.publisher(s)?,
        PopulationSection::ClientEvents(s) => pop.client_events(s)?,
        PopulationSection::Churner(s) => pop.churner(s)?,
        PopulationSection::Attacker(s) => pop.attacker(s)?,
    };
    Ok(Population {
        name,
        count: ClientCount(count),
        whole: ClientCount(count),
        first_id,
        ramp: Rate(ramp),
        behaviour,
        spread: pop.spread(p.spread())?,
    })
}

/// `[run]` once validated.
struct RunSettings {
    stop: StopCondition,
    drain: Duration,
    connect_timeout: Duration,
    max_schedule_lag: Duration,
    auth: AuthMode,
    source_addresses: u8,
}

fn stop_condition(cx: &Ctx<'_>, r: &RunSection) -> Result<StopCondition, ScenarioError> {
    match (&r.duration, r.messages) {
        (Some(_), Some(_)) => {
            let why = Invalid::Exclusive {
                other: "run.duration",
            };
            Err(cx.err("run.messages", why))
        }
        (Some(d), None) => Ok(StopCondition::Duration(cx.duration(
            "run.duration",
            Some(d),
            Duration::ZERO,
        )?)),
        (None, Some(n)) => {
            let n = cx.range(
                "run.messages",
                n as f64,
                (1.0, 1e12),
                "at least one message",
            )?;
            Ok(StopCondition::Messages(n as u64))
        }
        (None, None) => Err(cx.err("run.duration", Invalid::Missing)),
    }
}

fn run_section(cx: &Ctx<'_>, r: &RunSection) -> Result<RunSettings, ScenarioError> {
    let auth = match r.auth.as_deref().unwrap_or("local") {
        "local" => AuthMode::Local,
        "endpoint" => AuthMode::Endpoint,
        other => {
            let why = Invalid::UnknownValue {
                value: other.into(),
                allowed: "local, endpoint",
            };
            return Err(cx.err("run.auth", why));
        }
    };
    let sources = r.source_addresses.unwrap_or(1);
    let reason = "addresses 127.0.0.1 to 127.0.0.250";
    cx.range(
        "run.source_addresses",
        f64::from(sources),
        (1.0, 250.0),
        reason,
    )?;
    Ok(RunSettings {
        stop: stop_condition(cx, r)?,
        drain: cx.duration("run.drain", r.drain.as_deref(), Duration::from_secs(5))?,
        connect_timeout: cx.duration(
            "run.connect_timeout",
            r.connect_timeout.as_deref(),
            Duration::from_secs(10),
        )?,
        max_schedule_lag: cx.duration(
            "run.max_schedule_lag",
            r.max_schedule_lag.as_deref(),
            Duration::from_millis(100),
        )?,
        auth,
        source_addresses: sources,
    })
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
            let why = Invalid::Undefined {
                name: c.population.clone(),
                section: "[[population]] names",
            };
            cx.err("capacity.population", why)
        })?;
    let parameter = match c.parameter.as_str() {
        "rate" => CapacityParameter::Rate,
        "count" => CapacityParameter::Count,
        other => {
            let why = Invalid::UnknownValue {
                value: other.into(),
                allowed: "rate, count",
            };
            return Err(cx.err("capacity.parameter", why));
        }
    };
    let start = cx.range(
        "capacity.start",
        c.start,
        (0.001, 1e9),
        "a positive first value",
    )?;
    let step = cx.range(
        "capacity.step",
        c.step,
        (0.001, 1e9),
        "a positive increment",
    )?;
    let max = cx.range("capacity.max", c.max, (start, 1e9), "at least start")?;
    if parameter == CapacityParameter::Rate
        && matches!(pops[population].behaviour, Behaviour::Subscriber { .. })
    {
        let why = Invalid::NotApplicable {
            behaviour: "subscriber",
        };
        return Err(cx.err("capacity.parameter", why));
    }
    let step_duration = cx.duration(
        "capacity.step_duration",
        Some(&c.step_duration),
        Duration::ZERO,
    )?;
    Ok(Capacity {
        population,
        parameter,
        start,
        step,
        max,
        step_duration,
    })
}
