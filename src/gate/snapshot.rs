//! Reading reports into the one shape the gate compares: a [`Snapshot`] of
//! correctness facts (case verdicts, counters that must not grow) and timing
//! metrics (one sample per run).
//!
//! Conformance reports are `report::json` (`schema_version` 1, `cases`); an
//! array of them is a multi-target run. Load reports are read through
//! [`LoadRun`], from the top level, from `"load"` of a `run` report, or as an
//! array under `"runs"` (`load --repeat N`): every run of the same scenario
//! adds one sample per metric.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use crate::status::Kind;

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Latencies.
    Lower,
    /// Throughput.
    Higher,
}

/// One timing metric over the runs of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// One value per run.
    pub samples: Vec<f64>,
    /// Unit for display.
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
}

/// What a report says, keyed for comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Case id to verdict (`pass`, `fail`, `warn`, `error`, `skip`) and known-deviation flag.
    pub verdicts: BTreeMap<String, (String, bool)>,
    /// Correctness counters that must not grow: lost and duplicated
    /// deliveries, accepted attacks, missed SLOs. Worst run counts.
    pub counters: BTreeMap<String, u64>,
    /// Timing metrics by name, e.g. `deliver.p99`, from the valid runs only.
    pub metrics: BTreeMap<String, Metric>,
    /// Attack kinds the target accepted, with the most accepted in one run.
    pub accepted_attacks: BTreeMap<String, u64>,
    /// Load runs read.
    pub runs: usize,
    /// Load runs marked invalid (the generator fell behind its schedule):
    /// their timing measured the generator, so it is left out of `metrics`.
    pub invalid_runs: usize,
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not JSON.
    #[error("{path} is not JSON")]
    Json {
        /// File.
        path: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// JSON of no known report shape.
    #[error("{path} is neither a conformance report nor a load report")]
    Shape {
        /// File.
        path: String,
    },
    /// A load run that does not parse.
    #[error("{path}: invalid load report")]
    Load {
        /// File.
        path: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// The latency summary of one load stage, microseconds.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct Percentiles {
    /// Samples; a stage with none has no percentiles to compare.
    pub count: Option<u64>,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
}

/// Delivery accounting of a load run.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct Deliveries {
    /// Arrived.
    pub delivered: u64,
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

/// One SLO rule's verdict.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Threshold {
    /// The rule as written.
    pub rule: String,
    /// Whether it held.
    pub passed: bool,
}

/// Whether the generator kept its schedule.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default)]
pub struct Validity {
    /// False when the run measured the generator rather than the target.
    pub valid: bool,
}

impl Default for Validity {
    fn default() -> Validity {
        Validity { valid: true }
    }
}

/// One attack kind's outcome.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AttackRow {
    /// Kind, e.g. `wrong-secret`.
    pub kind: String,
    /// Accepted by the target (a security failure).
    pub accepted: u64,
}

/// Identity of a load run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunInfo {
    /// Scenario name.
    pub scenario: String,
    /// Target WebSocket base.
    pub target: String,
    /// Target identity (`bundled`, or the WebSocket base); schema 3.
    pub target_id: String,
    /// Traffic phase length, seconds.
    pub traffic_seconds: f64,
}

/// The fields of a load report the gate reads (see `pushcheck load --json`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LoadRun {
    /// Identity.
    pub run: RunInfo,
    /// Latency summaries per stage.
    pub metrics: BTreeMap<String, Percentiles>,
    /// Delivery accounting.
    pub deliveries: Deliveries,
    /// Attack outcomes per kind.
    pub attacks: Vec<AttackRow>,
    /// Attack kinds the target accepted (read when `attacks` is absent).
    pub accepted_attacks: Vec<String>,
    /// Schedule validity (absent: valid).
    pub validity: Validity,
    /// `pass`, `fail` or `invalid`.
    pub verdict: String,
    /// SLO verdicts.
    pub thresholds: Vec<Threshold>,
    /// Counters, of which the errors by kind are read.
    pub tally: TallyErrors,
    /// What the run proves it tested (schema 3).
    pub evidence: EvidenceRead,
}

/// The errors by kind of a load run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TallyErrors {
    /// Count per error kind.
    pub errors: BTreeMap<String, u64>,
}

/// The evidence problems of a load run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EvidenceRead {
    /// One entry per problem.
    pub problems: Vec<Value>,
}

/// A report file as the gate sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadReport {
    /// What the file holds.
    pub kind: Kind,
    /// The identities of its targets.
    pub targets: BTreeSet<String>,
    /// The scenarios of its load runs.
    pub scenarios: BTreeSet<String>,
    /// One snapshot per target or scenario.
    pub scopes: BTreeMap<String, Snapshot>,
}

/// The kind a report declares, or the one its shape shows (reports from
/// before `kind` existed).
fn kind_of(value: &Value) -> Option<Kind> {
    if let Some(k) = value.get("kind") {
        return serde_json::from_value(k.clone()).ok();
    }
    if value.get("conformance").is_some() && value.get("load").is_some() {
        Some(Kind::Run)
    } else if value.is_array() || value.get("cases").is_some() || value.get("targets").is_some() {
        Some(Kind::Conformance)
    } else if value.get("runs").is_some() || value.get("deliveries").is_some() {
        Some(Kind::Load)
    } else {
        None
    }
}

fn identities(value: &Value, out: &mut BTreeSet<String>) {
    let str_at = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_owned);
    if let Some(items) = value.as_array() {
        items.iter().for_each(|i| identities(i, out));
        return;
    }
    for key in ["targets", "runs", "load"] {
        if let Some(v) = value.get(key) {
            identities(v, out);
        }
    }
    if let Some(c) = value.get("conformance") {
        identities(c, out);
    }
    let conf = str_at(value, "/target/id").or_else(|| str_at(value, "/target/name"));
    let load = str_at(value, "/run/target_id")
        .filter(|s| !s.is_empty())
        .or_else(|| str_at(value, "/run/target"));
    out.extend(conf.into_iter().chain(load));
}

/// Reads a report file: its kind, targets and scenarios, and its snapshots.
pub fn read_report(path: &str, text: &str) -> Result<ReadReport, ReadError> {
    let value: Value = serde_json::from_str(text).map_err(|source| ReadError::Json {
        path: path.into(),
        source,
    })?;
    let kind = kind_of(&value).ok_or_else(|| ReadError::Shape { path: path.into() })?;
    let mut scopes = BTreeMap::new();
    collect(path, &value, &mut scopes)?;
    if scopes.is_empty() {
        return Err(ReadError::Shape { path: path.into() });
    }
    let mut targets = BTreeSet::new();
    identities(&value, &mut targets);
    let scenarios = scopes
        .keys()
        .filter_map(|k| k.strip_prefix("load "))
        .map(str::to_owned)
        .collect();
    Ok(ReadReport {
        kind,
        targets,
        scenarios,
        scopes,
    })
}

/// Reads a report file's JSON into one snapshot per target or scenario.
pub fn read(path: &str, text: &str) -> Result<BTreeMap<String, Snapshot>, ReadError> {
    read_report(path, text).map(|r| r.scopes)
}

fn collect(
    path: &str,
    value: &Value,
    out: &mut BTreeMap<String, Snapshot>,
) -> Result<(), ReadError> {
    if let Some(items) = value.as_array() {
        for item in items {
            collect(path, item, out)?;
        }
        return Ok(());
    }
    if let Some(targets) = value.get("targets").and_then(Value::as_array) {
        for t in targets {
            collect(path, t, out)?;
        }
    }
    if value.get("cases").is_some_and(Value::is_array) {
        let name = value
            .pointer("/target/name")
            .and_then(Value::as_str)
            .unwrap_or("target");
        let snap = out.entry(format!("conformance {name}")).or_default();
        conformance(value, snap);
    }
    if let Some(c) = value.get("conformance") {
        collect(path, c, out)?;
    }
    let runs: Vec<&Value> = match (value.get("load"), value.get("runs")) {
        (Some(load), _) => load.as_array().map_or(vec![load], |a| a.iter().collect()),
        (None, Some(Value::Array(runs))) => runs.iter().collect(),
        _ if value.get("deliveries").is_some() => vec![value],
        _ => vec![],
    };
    for run in runs {
        let run: LoadRun =
            serde_json::from_value(run.clone()).map_err(|source| ReadError::Load {
                path: path.into(),
                source,
            })?;
        let snap = out.entry(format!("load {}", run.run.scenario)).or_default();
        add_load(&run, snap);
    }
    Ok(())
}

fn conformance(value: &Value, snap: &mut Snapshot) {
    for case in value["cases"].as_array().into_iter().flatten() {
        let (Some(id), Some(verdict)) = (case["id"].as_str(), case["verdict"].as_str()) else {
            continue;
        };
        let known = case["known_deviation"].as_bool().unwrap_or(false);
        snap.verdicts
            .insert(id.to_owned(), (verdict.to_owned(), known));
    }
}

fn worst(snap: &mut Snapshot, name: String, value: u64) {
    let v = snap.counters.entry(name).or_insert(0);
    *v = (*v).max(value);
}

/// Adds one run: its counters (worst run wins) and one sample per metric.
pub fn add_load(run: &LoadRun, snap: &mut Snapshot) {
    let d = &run.deliveries;
    worst(snap, "deliveries.lost".into(), d.lost);
    worst(snap, "deliveries.duplicated".into(), d.duplicated);
    let unexpected = d.unexpected_excluded + d.unexpected_unsubscribed + d.unexpected_forged;
    worst(snap, "deliveries.unexpected".into(), unexpected);
    // Errors gate like losses: a count that grows is a regression.
    worst(snap, "errors".into(), run.tally.errors.values().sum());
    for (kind, n) in &run.tally.errors {
        worst(snap, format!("errors.{kind}"), *n);
    }
    let problems = run.evidence.problems.len() as u64;
    worst(snap, "evidence problems".into(), problems);
    let mut accepted: BTreeMap<&str, u64> = run
        .attacks
        .iter()
        .filter(|a| a.accepted > 0)
        .map(|a| (a.kind.as_str(), a.accepted))
        .collect();
    for kind in &run.accepted_attacks {
        accepted.entry(kind.as_str()).or_insert(1);
    }
    for (kind, n) in accepted {
        let v = snap.accepted_attacks.entry(kind.to_owned()).or_insert(0);
        *v = (*v).max(n);
    }
    snap.runs += 1;
    if !run.validity.valid || run.verdict == "invalid" {
        // Correctness above still counts; timing of this run does not.
        snap.invalid_runs += 1;
        return;
    }
    for t in &run.thresholds {
        worst(
            snap,
            format!("slo missed: {}", t.rule),
            u64::from(!t.passed),
        );
    }
    let mut push = |name: String, value: f64, unit: &'static str, better: Better| {
        snap.metrics
            .entry(name)
            .or_insert_with(|| Metric {
                samples: Vec::new(),
                unit,
                better,
            })
            .samples
            .push(value);
    };
    // A stage without samples has no percentiles: it is missing, not 0.
    for (stage, p) in run.metrics.iter().filter(|(_, p)| p.count != Some(0)) {
        push(format!("{stage}.p50"), p.p50, "us", Better::Lower);
        push(format!("{stage}.p99"), p.p99, "us", Better::Lower);
    }
    if run.run.traffic_seconds > 0.0 && d.delivered > 0 {
        let rate = d.delivered as f64 / run.run.traffic_seconds;
        push("deliveries.per_second".into(), rate, "/s", Better::Higher);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_conformance_report_and_a_run_report_with_repeated_load_runs() {
        let conf = r#"{"schema_version":1,"target":{"name":"reference"},
            "cases":[{"id":"a/b/c","verdict":"pass","known_deviation":false}]}"#;
        let s = read("c.json", conf).expect("reads");
        assert_eq!(s["conformance reference"].verdicts["a/b/c"].0, "pass");
        let run = |p99: u64, lost: u64| {
            format!(
                r#"{{"run":{{"scenario":"fanout","traffic_seconds":2.0}},
                "metrics":{{"deliver":{{"p50":10,"p99":{p99}}}}},
                "deliveries":{{"delivered":100,"lost":{lost}}},
                "accepted_attacks":[],"thresholds":[{{"rule":"deliver p99 < 5ms","passed":true}}]}}"#
            )
        };
        let text = format!(
            r#"{{"schema_version":1,"conformance":{conf},"load":[{},{}]}}"#,
            run(30, 0),
            run(50, 2)
        );
        let s = read("r.json", &text).expect("reads");
        let load = &s["load fanout"];
        assert_eq!(load.metrics["deliver.p99"].samples, vec![30.0, 50.0]);
        assert_eq!(
            load.metrics["deliveries.per_second"].samples,
            vec![50.0, 50.0]
        );
        assert_eq!(load.counters["deliveries.lost"], 2);
        assert_eq!(load.counters["slo missed: deliver p99 < 5ms"], 0);
        assert!(s.contains_key("conformance reference"));
        assert!(matches!(read("x", "{}"), Err(ReadError::Shape { .. })));
    }
}
