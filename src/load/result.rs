//! The outcome of a load run as plain data: merged histograms and
//! counters, the time series, the generator's budget, the evidence that
//! the run tested something, validity and SLO verdicts, the status. The
//! run folder's I/O is in [`super::hlog`], shard merging in [`super::merge`].

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use super::plan::{Counter, Plan, Subject, Threshold};
use crate::attack::AttackKind;
use crate::metrics::{ErrorKind, Histograms, Interval, Metric, Percentiles, Tally};
use crate::status::{Kind, Status};
use crate::target::Target;

/// Version of the `load.json` format (bump on breaking change). 2: a
/// threshold's `observed` is in the threshold's own unit, given by `unit`.
/// 3: `kind`, `interrupted`, `evidence`, the target's name and identity,
/// overrides, `no data` thresholds (`observed` null), `interrupted` verdicts.
pub const SCHEMA_VERSION: u32 = 3;

/// One interval histogram of one stage, kept compressed until written.
#[derive(Debug, Clone)]
pub struct LoggedInterval {
    /// Stage.
    pub metric: Metric,
    /// Start, from the run epoch.
    pub start: Duration,
    /// Length.
    pub duration: Duration,
    /// V2 deflate encoding of the histogram.
    pub encoded: Vec<u8>,
}

impl LoggedInterval {
    /// Compresses one interval histogram.
    pub fn encode(
        metric: Metric,
        start: Duration,
        duration: Duration,
        h: &Histogram<u64>,
    ) -> LoggedInterval {
        let mut encoded = Vec::new();
        // Serialising into a Vec cannot fail for a valid histogram.
        let _ignored = V2DeflateSerializer::new().serialize(h, &mut encoded);
        LoggedInterval {
            metric,
            start,
            duration,
            encoded,
        }
    }

    /// The histogram back.
    pub fn decode(&self) -> Option<Histogram<u64>> {
        Deserializer::new()
            .deserialize(&mut self.encoded.as_slice())
            .ok()
    }
}

/// One point of the time series (one collector interval).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds since the run started (end of the interval).
    pub t: f64,
    /// Connections established so far.
    pub connections: u64,
    /// Messages sent per second in the interval.
    pub messages_per_s: f64,
    /// Expected deliveries received per second.
    pub deliveries_per_s: f64,
    /// Errors in the interval.
    pub errors: u64,
    /// The interval's errors by kind (only kinds that occurred).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors_by_kind: BTreeMap<crate::metrics::ErrorKind, u64>,
    /// Delivery p50 in the interval (us).
    pub deliver_p50_us: u64,
    /// Delivery p99 in the interval (us).
    pub deliver_p99_us: u64,
    /// Client-event p99 in the interval (us).
    pub client_event_p99_us: u64,
    /// Publish round-trip p99 in the interval (us).
    pub publish_p99_us: u64,
    /// Schedule lag p99 in the interval (us).
    pub schedule_lag_p99_us: u64,
}

/// The generator's own cost and capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Simulated clients in the plan (this shard).
    pub clients: u64,
    /// WebSocket connections the plan holds.
    pub sockets: u64,
    /// Open-files limit in force.
    pub fd_limit: u64,
    /// Open files the plan was estimated to need.
    pub fd_needed: u64,
    /// Resident memory before connecting (KiB).
    pub rss_before_kib: u64,
    /// Resident memory with every client connected, subscribed and idle (KiB).
    pub rss_idle_kib: u64,
    /// (idle - before) / connected clients, in KiB.
    pub kib_per_idle_client: f64,
    /// The target ran in this process, so its memory is in these figures.
    pub includes_in_process_server: bool,
    /// Length of the connect phase (s).
    pub connect_seconds: f64,
    /// Connections established per second over the connect phase.
    pub connections_per_s: f64,
    /// The generator's CPU over the traffic phase, in percent of one core
    /// (user plus system time / traffic time; includes an in-process server).
    #[serde(default)]
    pub traffic_cpu_percent: f64,
    /// Generator threads the clients ran on: with 2 or more, HTTP
    /// publishers and churners on the last and connected clients on the
    /// others. 0 in reports written before it was recorded.
    #[serde(default)]
    pub cores: u64,
    /// Connected clients read by the listener threads (subscribers on plain
    /// `ws://` connections) rather than by a task each, at the end of the
    /// connect phase. 0 in reports written before it was recorded.
    #[serde(default)]
    pub listened: u64,
}

/// The shared start of a run with `run.shared_channels` (see
/// [`super::shared`]): the target's subscription counts before the first send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedStart {
    /// Channels published to that the run waited for.
    pub channels: u64,
    /// Subscriptions every shard together plans on them.
    pub planned: u64,
    /// Of those, the target reported at the end of the wait.
    pub subscribed: u64,
    /// How long the wait took (s).
    pub waited_seconds: f64,
    /// Why the shards could not start together; the run is then invalid.
    #[serde(default)]
    pub error: Option<String>,
}

/// One message of a shared run at this shard's subscribers (host-clock
/// microseconds, see `load::clock`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// Source id.
    pub p: u32,
    /// Sequence number.
    pub s: u64,
    /// Local recipients expected.
    pub recipients: u32,
    /// Intended send instant; `None` until the last local recipient had it.
    pub t: Option<u64>,
    /// Arrival at the last local recipient; `None` when one never got it.
    pub last: Option<u64>,
}

/// What a run with shared channels adds to its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedReport {
    /// Host tags of the shards' hosts (one per shard before merging).
    pub hosts: Vec<u32>,
    /// The shared start (the first shard's after merging; the longest wait).
    pub start: Option<SharedStart>,
    /// Messages whose completion is recorded, at most this many per source.
    pub completions_per_source: u64,
    /// Per message: this shard's last local arrival (merged: the latest of
    /// every shard's).
    pub completions: Vec<Completion>,
    /// `shard` when `fanout` is one shard's subscribers, `run` when merged
    /// over every shard (needs every shard on one host).
    pub fanout_scope: String,
    /// Tracked messages that did not reach every expected recipient.
    #[serde(default)]
    pub incomplete: u64,
}

/// Whether the generator kept its schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validity {
    /// False when the run measured the generator rather than the target,
    /// or the shards of a shared run could not start together.
    pub valid: bool,
    /// Observed schedule lag p99 (us).
    pub schedule_lag_p99_us: u64,
    /// Allowed p99 (us).
    pub bound_us: u64,
    /// Why the shards of a shared run could not start together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_start: Option<String>,
}

/// A threshold's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdVerdict {
    /// It held.
    Pass,
    /// It did not hold.
    Fail,
    /// The metric has no samples: nothing to judge, so it fails.
    NoData,
}

/// One SLO rule's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// The rule as written.
    pub rule: String,
    /// Observed value, in `unit`; `None` when the metric has no samples.
    pub observed: Option<f64>,
    /// The unit the rule's bound is written in (`us`, `ms`, `s`; empty for counts).
    pub unit: String,
    /// Pass, fail or no data.
    pub verdict: ThresholdVerdict,
    /// Whether it held (`verdict == pass`).
    pub passed: bool,
}

/// Why a run cannot pass whatever its thresholds say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// Transport, auth, subscribe or publish errors happened.
    Errors {
        /// Errors of every kind.
        total: u64,
    },
    /// Fewer connected clients finished their setup than planned.
    MissingClients {
        /// Planned.
        planned: u64,
        /// Connected and set up.
        ready: u64,
    },
    /// Fewer legitimate subscriptions than planned.
    MissingSubscriptions {
        /// Planned.
        planned: u64,
        /// Acknowledged.
        made: u64,
    },
    /// The plan expects deliveries and none arrived.
    NoDelivery,
    /// The plan publishes and the target accepted no message.
    NoMessageAccepted,
    /// Node events of the scenario failed or never ran.
    EventsFailed {
        /// Events that failed or did not run.
        failed: u64,
    },
}

impl Problem {
    /// One line for the terminal and HTML reports.
    pub fn describe(&self) -> String {
        match self {
            Problem::Errors { total } => format!("{total} errors (by kind below)"),
            Problem::MissingClients { planned, ready } => {
                format!("{ready} of {planned} planned clients connected and set up")
            }
            Problem::MissingSubscriptions { planned, made } => {
                format!("{made} of {planned} planned subscriptions acknowledged")
            }
            Problem::NoDelivery => "the plan expects deliveries and none arrived".into(),
            Problem::NoMessageAccepted => "the target accepted no published message".into(),
            Problem::EventsFailed { failed } => {
                format!("{failed} node event(s) failed or never ran (see the events)")
            }
        }
    }
}

/// What the run proves it tested: a run with a problem here cannot pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Connected clients planned.
    pub planned_clients: u64,
    /// Legitimate subscriptions planned.
    pub planned_subscriptions: u64,
    /// The plan expects deliveries.
    pub expects_delivery: bool,
    /// The plan publishes over the HTTP API.
    pub publishes: bool,
    /// Errors by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// What is missing; empty when the run has its evidence.
    pub problems: Vec<Problem>,
}

impl Evidence {
    /// What `plan` must show.
    pub fn planned(plan: &Plan) -> Evidence {
        Evidence {
            planned_clients: plan.planned_clients(),
            planned_subscriptions: plan.planned_subscriptions(),
            expects_delivery: plan.expects_delivery(),
            publishes: plan.publishes(),
            errors: BTreeMap::new(),
            problems: Vec::new(),
        }
    }

    /// Judges the counters against the plan; `started` is false when a
    /// shared run never started (nothing was sent or delivered by design).
    fn judge(&mut self, t: &Tally, started: bool) {
        self.errors = t.errors.clone();
        let mut p = Vec::new();
        if t.error_total() > 0 {
            p.push(Problem::Errors {
                total: t.error_total(),
            });
        }
        if t.ready < self.planned_clients {
            let (planned, ready) = (self.planned_clients, t.ready);
            p.push(Problem::MissingClients { planned, ready });
        }
        if t.subscriptions < self.planned_subscriptions {
            let (planned, made) = (self.planned_subscriptions, t.subscriptions);
            p.push(Problem::MissingSubscriptions { planned, made });
        }
        if started && self.publishes && t.messages_sent == 0 {
            p.push(Problem::NoMessageAccepted);
        }
        if started && self.expects_delivery && t.received() == 0 {
            p.push(Problem::NoDelivery);
        }
        if t.event_failures > 0 {
            p.push(Problem::EventsFailed {
                failed: t.event_failures,
            });
        }
        self.problems = p;
    }
}

/// Delivery accounting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deliveries {
    /// Deliveries expected.
    pub expected: u64,
    /// Arrived in order.
    pub delivered: u64,
    /// Arrived out of order.
    pub reordered: u64,
    /// Never arrived.
    pub lost: u64,
    /// Arrived more than once.
    pub duplicated: u64,
    /// Arrived at an excluded socket.
    pub unexpected_excluded: u64,
    /// Arrived at a socket not subscribed.
    pub unexpected_unsubscribed: u64,
    /// Arrived at a forged subscriber.
    pub unexpected_forged: u64,
    /// Of `lost`, lost by clients while a node event had cut their connection.
    #[serde(default)]
    pub lost_during_outage: u64,
    /// Of `lost`, lost among clients whose connection stayed up.
    #[serde(default)]
    pub lost_connected: u64,
}

impl Deliveries {
    /// Arrived where they must not: excluded, unsubscribed or forged.
    pub fn unexpected(&self) -> u64 {
        self.unexpected_excluded + self.unexpected_unsubscribed + self.unexpected_forged
    }
}

/// One attack kind's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackRow {
    /// Kind.
    pub kind: AttackKind,
    /// Attempts.
    pub attempted: u64,
    /// Refused.
    pub rejected: u64,
    /// Accepted (security failure).
    pub accepted: u64,
}

/// Run identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// Scenario file.
    pub file: String,
    /// Target WebSocket base.
    pub target: String,
    /// Target name (`reference` for the bundled server).
    #[serde(default)]
    pub target_name: String,
    /// What identifies the target across reports: `bundled`, or its WebSocket base.
    #[serde(default)]
    pub target_id: String,
    /// Channel prefix shared by shards.
    pub run_id: String,
    /// Shard index.
    pub shard: u32,
    /// Shard count (1 unsharded; the number merged after `merge`).
    pub shards: u32,
    /// Start, Unix milliseconds.
    pub started_unix_ms: u64,
    /// Length of the traffic phase (s).
    pub traffic_seconds: f64,
    /// SLO rules as written.
    pub threshold_rules: Vec<String>,
    /// Largest p99 schedule lag allowed (us).
    pub max_schedule_lag_us: u64,
    /// `--duration` and `--set` overrides applied to the scenario, as given.
    #[serde(default)]
    pub overrides: Vec<String>,
}

/// One capacity step's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Parameter value of the step.
    pub value: f64,
    /// The step's status.
    pub verdict: Status,
    /// Rules that failed or had no data.
    pub failed_thresholds: Vec<String>,
    /// Delivery p99 (us).
    pub deliver_p99_us: u64,
    /// Messages the target accepted.
    pub messages_sent: u64,
    /// Lost deliveries.
    pub lost: u64,
}

/// A capacity search as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityOutcome {
    /// Population stepped.
    pub population: String,
    /// `rate` or `count`.
    pub parameter: String,
    /// Every step run, in order.
    pub steps: Vec<Step>,
    /// The highest value whose step passed.
    pub last_passing: Option<f64>,
}

/// One node of the target and the connections clients made to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeShare {
    /// Name (`node-1` for the first node of the target's node list).
    pub name: String,
    /// WebSocket base.
    pub url: String,
    /// Connections established to it (reconnects included).
    pub connections: u64,
    /// Of those, made by clients reconnecting after a node event.
    #[serde(default)]
    pub reconnections: u64,
    /// Clients planned on it by the spread (before any reconnect).
    #[serde(default)]
    pub planned: u64,
    /// Its share of every connection established, 0 to 1.
    pub share: f64,
}

impl NodeShare {
    /// Recomputes every share from the connection counts.
    pub fn reshare(nodes: &mut [NodeShare]) {
        let total: u64 = nodes.iter().map(|n| n.connections).sum();
        for n in nodes {
            n.share = if total > 0 {
                n.connections as f64 / total as f64
            } else {
                0.0
            };
        }
    }
}

/// A scenario event (`[[events]]`) as it was carried out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Planned time after the traffic phase started (s).
    pub at_seconds: f64,
    /// `kill`, `stop`, `cont` or `start`.
    pub action: String,
    /// The node it acted on.
    pub node: String,
    /// When it actually ran, after the traffic phase started (s); `None`
    /// when the run ended first.
    pub done_seconds: Option<f64>,
    /// Why it failed, if it did.
    #[serde(default)]
    pub error: Option<String>,
}

/// A load run's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadResult {
    /// Format version.
    pub schema_version: u32,
    /// Always `load`.
    pub kind: Kind,
    /// Identity.
    pub run: RunInfo,
    /// How latency is measured.
    pub latency_note: String,
    /// Latency summaries per stage (us).
    pub metrics: BTreeMap<Metric, Percentiles>,
    /// Delivery accounting.
    pub deliveries: Deliveries,
    /// Attack outcomes.
    pub attacks: Vec<AttackRow>,
    /// Names of attack kinds the target accepted.
    pub accepted_attacks: Vec<String>,
    /// Every counter.
    pub tally: Tally,
    /// Generator budget.
    pub budget: Budget,
    /// What the run proves it tested.
    pub evidence: Evidence,
    /// Schedule validity.
    pub validity: Validity,
    /// SLO verdicts.
    pub thresholds: Vec<ThresholdResult>,
    /// Time series.
    pub series: Vec<Sample>,
    /// Stopped by Ctrl-C or SIGTERM: the figures cover the part that ran.
    pub interrupted: bool,
    /// `pass`, `fail`, `invalid` or `interrupted`.
    pub verdict: Status,
    /// Process exit code (see [`crate::status`]).
    pub exit_code: u8,
    /// Capacity search steps, when the scenario has `[capacity]`.
    #[serde(default)]
    pub capacity: Option<CapacityOutcome>,
    /// The target's nodes and each one's share of the connections (one
    /// entry for a single-node target).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeShare>,
    /// The scenario's node events as carried out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventRecord>,
    /// Shared channels: the shared start and the fan-out completions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<SharedReport>,
    /// Merged histograms (not in JSON; in `hdr/`).
    #[serde(skip)]
    pub histograms: Histograms,
    /// Interval histograms (not in JSON; in `hdr/`).
    #[serde(skip)]
    pub logs: Vec<LoggedInterval>,
}

/// What the engine measured in one run, handed to [`LoadResult::build`].
#[derive(Debug)]
pub struct Measured {
    /// Channel prefix of the run.
    pub run_id: String,
    /// Wall-clock start.
    pub started: SystemTime,
    /// Length of the traffic phase.
    pub traffic: Duration,
    /// Everything recorded.
    pub totals: Interval,
    /// The time series.
    pub series: Vec<Sample>,
    /// Interval histograms.
    pub logs: Vec<LoggedInterval>,
    /// The generator's budget.
    pub budget: Budget,
    /// Stopped by a signal.
    pub interrupted: bool,
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

const LATENCY_NOTE: &str = "latencies in microseconds; publish, deliver, fanout and client_event count from the intended send time of an open-loop schedule (coordinated omission corrected); all instants from the host's monotonic clock (a delivery sent from another host is accounted but not timed)";

impl LoadResult {
    /// Assembles and evaluates a finished run.
    pub fn build(plan: &Plan, target: &Target, m: Measured) -> LoadResult {
        let run = RunInfo {
            scenario: plan.name.clone(),
            description: plan.description.clone(),
            file: plan.file.clone(),
            target: target.ws_base.clone(),
            target_name: target.name.clone(),
            target_id: target.identity(),
            run_id: m.run_id,
            shard: plan.shard.index,
            shards: plan.shard.total,
            started_unix_ms: unix_ms(m.started),
            traffic_seconds: m.traffic.as_secs_f64(),
            threshold_rules: plan.thresholds.iter().map(|t| t.text.clone()).collect(),
            max_schedule_lag_us: plan.max_schedule_lag.as_micros() as u64,
            overrides: plan.overrides.clone(),
        };
        let mut r = LoadResult {
            schema_version: SCHEMA_VERSION,
            kind: Kind::Load,
            run,
            latency_note: LATENCY_NOTE.into(),
            metrics: BTreeMap::new(),
            deliveries: deliveries(&Tally::default()),
            attacks: Vec::new(),
            accepted_attacks: Vec::new(),
            tally: m.totals.tally,
            budget: m.budget,
            evidence: Evidence::planned(plan),
            validity: Validity {
                valid: true,
                schedule_lag_p99_us: 0,
                bound_us: 0,
                shared_start: None,
            },
            thresholds: Vec::new(),
            series: m.series,
            interrupted: m.interrupted,
            verdict: Status::Pass,
            exit_code: 0,
            capacity: None,
            nodes: Vec::new(),
            events: Vec::new(),
            shared: None,
            histograms: m.totals.histograms,
            logs: m.logs,
        };
        r.evaluate();
        r
    }

    /// Recomputes every derived field from the histograms and counters.
    pub fn evaluate(&mut self) {
        self.metrics = Metric::ALL
            .into_iter()
            .map(|m| (m, Percentiles::of(self.histograms.get(m))))
            .collect();
        self.deliveries = deliveries(&self.tally);
        self.attacks = self
            .tally
            .attacks
            .iter()
            .map(|(k, a)| AttackRow {
                kind: *k,
                attempted: a.attempted,
                rejected: a.rejected,
                accepted: a.accepted,
            })
            .collect();
        self.accepted_attacks = self
            .attacks
            .iter()
            .filter(|a| a.accepted > 0)
            .map(|a| a.kind.as_str().to_owned())
            .collect();
        let lag = self.metrics[&Metric::ScheduleLag].p99;
        let shared_start = self
            .shared
            .as_ref()
            .and_then(|s| s.start.as_ref())
            .and_then(|s| s.error.clone());
        self.validity = Validity {
            valid: lag <= self.run.max_schedule_lag_us && shared_start.is_none(),
            schedule_lag_p99_us: lag,
            bound_us: self.run.max_schedule_lag_us,
            shared_start: shared_start.clone(),
        };
        self.evidence.judge(&self.tally, shared_start.is_none());
        self.thresholds = self
            .run
            .threshold_rules
            .iter()
            .filter_map(|rule| Threshold::parse(rule).ok())
            .map(|t| self.judge(&t))
            .collect();
        self.verdict = self.status();
        self.exit_code = self.verdict.code();
    }

    fn judge(&self, t: &Threshold) -> ThresholdResult {
        let observed = self.observed(t.subject);
        let verdict = match observed {
            None => ThresholdVerdict::NoData,
            Some(v) if t.op.holds(v, t.value) => ThresholdVerdict::Pass,
            Some(_) => ThresholdVerdict::Fail,
        };
        ThresholdResult {
            rule: t.text.clone(),
            observed: observed.map(|v| v / t.micros_per_unit()),
            unit: t.unit.to_owned(),
            verdict,
            passed: verdict == ThresholdVerdict::Pass,
        }
    }

    /// The status: a security failure or missing evidence fails whatever
    /// the thresholds say; then an invalid schedule; then the thresholds.
    fn status(&self) -> Status {
        let security = self.tally.accepted_attacks() > 0 || self.tally.unexpected_forged > 0;
        let judged = if security || !self.evidence.problems.is_empty() {
            Status::Fail
        } else if !self.validity.valid {
            Status::Invalid
        } else if self.thresholds.iter().any(|t| !t.passed) {
            Status::Fail
        } else {
            Status::Pass
        };
        if self.interrupted {
            judged.and(Status::Interrupted)
        } else {
            judged
        }
    }

    /// The value a threshold subject has in this run; `None` when a
    /// latency stage has no samples.
    pub fn observed(&self, subject: Subject) -> Option<f64> {
        let t = &self.tally;
        match subject {
            Subject::Latency(m, stat) => {
                let p = &self.metrics[&m];
                (p.count > 0).then(|| p.stat(stat)).flatten()
            }
            Subject::Counter(c) => Some(
                (match c {
                    Counter::Lost => t.lost(),
                    Counter::Duplicated => t.duplicated,
                    Counter::Reordered => t.reordered,
                    Counter::Unexpected => t.unexpected(),
                    Counter::AcceptedAttacks => t.accepted_attacks(),
                    Counter::Errors => t.error_total(),
                    Counter::Delivered => t.received(),
                    Counter::Connections => t.connections,
                    Counter::LostConnected => t.lost_connected(),
                    Counter::LostOutage => t.outage_lost,
                }) as f64,
            ),
        }
    }
}

pub(super) fn deliveries(t: &Tally) -> Deliveries {
    Deliveries {
        expected: t.expected,
        delivered: t.delivered,
        reordered: t.reordered,
        lost: t.lost(),
        duplicated: t.duplicated,
        unexpected_excluded: t.unexpected_excluded,
        unexpected_unsubscribed: t.unexpected_unsubscribed,
        unexpected_forged: t.unexpected_forged,
        lost_during_outage: t.outage_lost,
        lost_connected: t.lost_connected(),
    }
}
