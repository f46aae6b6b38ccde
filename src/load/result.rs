//! The outcome of a load run: merged histograms and counters, the time
//! series, the generator's budget, validity and SLO verdicts, the exit code.
//! Also reading and writing a run folder (`load.json` + `hdr/*.hlog`) and
//! merging shard folders.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use super::engine::EngineOptions;
use super::plan::{Counter, Plan, Subject, Threshold};
use crate::attack::AttackKind;
use crate::metrics::{Histograms, Interval, Metric, Percentiles, Tally};
use crate::target::Target;

/// Version of the `load.json` format (bump on breaking change). 2: a
/// threshold's `observed` is in the threshold's own unit, given by `unit`.
pub const SCHEMA_VERSION: u32 = 2;

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
}

/// Whether the generator kept its schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validity {
    /// False when the run measured the generator rather than the target.
    pub valid: bool,
    /// Observed schedule lag p99 (us).
    pub schedule_lag_p99_us: u64,
    /// Allowed p99 (us).
    pub bound_us: u64,
}

/// One SLO rule's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// The rule as written.
    pub rule: String,
    /// Observed value, in `unit`.
    pub observed: f64,
    /// The unit the rule's bound is written in (`us`, `ms`, `s`; empty for counts).
    pub unit: String,
    /// Whether it held.
    pub passed: bool,
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
}

/// A load run's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadResult {
    /// Format version.
    pub schema_version: u32,
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
    /// Schedule validity.
    pub validity: Validity,
    /// SLO verdicts.
    pub thresholds: Vec<ThresholdResult>,
    /// Time series.
    pub series: Vec<Sample>,
    /// `pass`, `fail` or `invalid`.
    pub verdict: String,
    /// Process exit code (DESIGN: 0, 1, 3).
    pub exit_code: u8,
    /// Capacity search steps, when the scenario has `[capacity]`.
    #[serde(default)]
    pub capacity: Option<super::capacity::CapacityOutcome>,
    /// Merged histograms (not in JSON; in `hdr/`).
    #[serde(skip)]
    pub histograms: Histograms,
    /// Interval histograms (not in JSON; in `hdr/`).
    #[serde(skip)]
    pub logs: Vec<LoggedInterval>,
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl LoadResult {
    /// Assembles and evaluates a finished run.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site assembling the parts of a run"
    )]
    pub(crate) fn build(
        plan: &Plan,
        target: &Target,
        opts: &EngineOptions,
        started: SystemTime,
        traffic: Duration,
        totals: Interval,
        series: Vec<Sample>,
        logs: Vec<LoggedInterval>,
        budget: Budget,
    ) -> LoadResult {
        let run = RunInfo {
            scenario: plan.name.clone(),
            description: plan.description.clone(),
            file: plan.file.clone(),
            target: target.ws_base.clone(),
            run_id: opts.run_id.clone(),
            shard: plan.shard.index,
            shards: plan.shard.total,
            started_unix_ms: unix_ms(started),
            traffic_seconds: traffic.as_secs_f64(),
            threshold_rules: plan.thresholds.iter().map(|t| t.text.clone()).collect(),
            max_schedule_lag_us: plan.max_schedule_lag.as_micros() as u64,
        };
        let mut r = LoadResult {
            schema_version: SCHEMA_VERSION,
            run,
            latency_note: "latencies in microseconds; publish, deliver, fanout and client_event count from the intended send time of an open-loop schedule (coordinated omission corrected); all instants from one monotonic clock in one process".into(),
            metrics: BTreeMap::new(),
            deliveries: deliveries(&Tally::default()),
            attacks: Vec::new(),
            accepted_attacks: Vec::new(),
            tally: totals.tally,
            budget,
            validity: Validity { valid: true, schedule_lag_p99_us: 0, bound_us: 0 },
            thresholds: Vec::new(),
            series,
            verdict: String::new(),
            exit_code: 0,
            capacity: None,
            histograms: totals.histograms,
            logs,
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
        self.validity = Validity {
            valid: lag <= self.run.max_schedule_lag_us,
            schedule_lag_p99_us: lag,
            bound_us: self.run.max_schedule_lag_us,
        };
        self.thresholds = self
            .run
            .threshold_rules
            .iter()
            .filter_map(|rule| Threshold::parse(rule).ok())
            .map(|t| {
                let observed = self.observed(t.subject);
                ThresholdResult {
                    rule: t.text.clone(),
                    observed: observed / t.micros_per_unit(),
                    unit: t.unit.to_owned(),
                    passed: t.op.holds(observed, t.value),
                }
            })
            .collect();
        let security = self.tally.accepted_attacks() > 0 || self.tally.unexpected_forged > 0;
        (self.verdict, self.exit_code) = if security {
            ("fail".into(), 1)
        } else if !self.validity.valid {
            ("invalid".into(), 3)
        } else if self.thresholds.iter().any(|t| !t.passed) {
            ("fail".into(), 1)
        } else {
            ("pass".into(), 0)
        };
    }

    /// The value a threshold subject has in this run.
    pub fn observed(&self, subject: Subject) -> f64 {
        let t = &self.tally;
        match subject {
            Subject::Latency(m, stat) => self.metrics[&m].stat(stat).unwrap_or(0.0),
            Subject::Counter(c) => {
                (match c {
                    Counter::Lost => t.lost(),
                    Counter::Duplicated => t.duplicated,
                    Counter::Reordered => t.reordered,
                    Counter::Unexpected => t.unexpected(),
                    Counter::AcceptedAttacks => t.accepted_attacks(),
                    Counter::Errors => t.error_total(),
                    Counter::Delivered => t.received(),
                    Counter::Connections => t.connections,
                }) as f64
            }
        }
    }

    /// Writes `load.json` and `hdr/<metric>.hlog` into `dir`.
    pub fn write_dir(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("hdr"))?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("load.json"), json)?;
        let start = UNIX_EPOCH + Duration::from_millis(self.run.started_unix_ms);
        for m in Metric::ALL {
            let mut out = Vec::new();
            let mut builder = IntervalLogWriterBuilder::new();
            builder
                .add_comment(&format!(
                    "pushcheck {} stage {} (values in microseconds)",
                    self.run.scenario,
                    m.as_str()
                ))
                .with_start_time(start)
                .with_base_time(start);
            let mut serializer = V2DeflateSerializer::new();
            let mut writer = builder.begin_log_with(&mut out, &mut serializer)?;
            for l in self.logs.iter().filter(|l| l.metric == m) {
                if let Some(h) = l.decode() {
                    writer
                        .write_histogram(&h, l.start, l.duration, Tag::new(m.as_str()))
                        .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
                }
            }
            std::fs::write(dir.join("hdr").join(format!("{}.hlog", m.as_str())), out)?;
        }
        Ok(())
    }

    /// Reads a folder written by [`LoadResult::write_dir`], histograms included.
    pub fn read_dir(dir: &Path) -> std::io::Result<LoadResult> {
        let text = std::fs::read_to_string(dir.join("load.json"))?;
        let mut r: LoadResult = serde_json::from_str(&text).map_err(std::io::Error::other)?;
        if r.schema_version != SCHEMA_VERSION {
            return Err(std::io::Error::other(format!(
                "{}: schema_version {} is not {SCHEMA_VERSION}",
                dir.display(),
                r.schema_version
            )));
        }
        for m in Metric::ALL {
            let path = dir.join("hdr").join(format!("{}.hlog", m.as_str()));
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            for entry in IntervalLogIterator::new(&bytes) {
                let Ok(LogEntry::Interval(i)) = entry else {
                    continue;
                };
                let engine = base64::engine::general_purpose::STANDARD;
                let raw = base64::Engine::decode(&engine, i.encoded_histogram())
                    .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
                let h: Histogram<u64> = Deserializer::new()
                    .deserialize(&mut raw.as_slice())
                    .map_err(|e| std::io::Error::other(format!("{}: {e:?}", path.display())))?;
                r.histograms.add_to(m, &h);
                r.logs.push(LoggedInterval::encode(
                    m,
                    i.start_timestamp(),
                    i.duration(),
                    &h,
                ));
            }
        }
        Ok(r)
    }

    /// Combines shard results into one report: counters summed, histograms
    /// added, time series aligned by interval, verdicts re-evaluated.
    pub fn merge(parts: Vec<LoadResult>) -> Option<LoadResult> {
        let mut iter = parts.into_iter();
        let mut out = iter.next()?;
        let mut shards = 1;
        for p in iter {
            shards += 1;
            out.tally += &p.tally;
            out.histograms.add(&p.histograms);
            out.logs.extend(p.logs);
            let b = &mut out.budget;
            b.clients += p.budget.clients;
            b.sockets += p.budget.sockets;
            b.connections_per_s += p.budget.connections_per_s;
            b.rss_idle_kib += p.budget.rss_idle_kib;
            b.rss_before_kib += p.budget.rss_before_kib;
            b.connect_seconds = b.connect_seconds.max(p.budget.connect_seconds);
            out.run.traffic_seconds = out.run.traffic_seconds.max(p.run.traffic_seconds);
            out.run.started_unix_ms = out.run.started_unix_ms.min(p.run.started_unix_ms);
            for (i, s) in p.series.into_iter().enumerate() {
                match out.series.get_mut(i) {
                    Some(o) => {
                        o.connections += s.connections;
                        o.messages_per_s += s.messages_per_s;
                        o.deliveries_per_s += s.deliveries_per_s;
                        o.errors += s.errors;
                    }
                    None => out.series.push(s),
                }
            }
        }
        out.run.shards = shards;
        out.run.shard = 0;
        let clients = out.budget.clients.max(1) as f64;
        out.budget.kib_per_idle_client =
            out.budget
                .rss_idle_kib
                .saturating_sub(out.budget.rss_before_kib) as f64
                / clients;
        merge_series_percentiles(&mut out);
        out.evaluate();
        Some(out)
    }
}

/// Recomputes per-interval percentiles of the series from the merged interval logs.
fn merge_series_percentiles(r: &mut LoadResult) {
    let mut by_second: BTreeMap<(u64, Metric), Histogram<u64>> = BTreeMap::new();
    for l in &r.logs {
        let key = (
            (l.start + l.duration).as_secs_f64().round() as u64,
            l.metric,
        );
        if let Some(h) = l.decode() {
            let slot = by_second
                .entry(key)
                .or_insert_with(crate::metrics::new_histogram);
            let _ = slot.add(&h);
        }
    }
    for s in &mut r.series {
        let sec = s.t.round() as u64;
        let p99 = |m| {
            by_second
                .get(&(sec, m))
                .map_or(0, |h: &Histogram<u64>| h.value_at_quantile(0.99))
        };
        s.deliver_p99_us = p99(Metric::Deliver);
        s.client_event_p99_us = p99(Metric::ClientEvent);
        s.publish_p99_us = p99(Metric::Publish);
        s.schedule_lag_p99_us = p99(Metric::ScheduleLag);
        s.deliver_p50_us = by_second
            .get(&(sec, Metric::Deliver))
            .map_or(0, |h| h.value_at_quantile(0.5));
    }
}

fn deliveries(t: &Tally) -> Deliveries {
    Deliveries {
        expected: t.expected,
        delivered: t.delivered,
        reordered: t.reordered,
        lost: t.lost(),
        duplicated: t.duplicated,
        unexpected_excluded: t.unexpected_excluded,
        unexpected_unsubscribed: t.unexpected_unsubscribed,
        unexpected_forged: t.unexpected_forged,
    }
}
