//! The load race: one scenario against several targets, in turn
//! (alternating round by round with `--repeat N`, so drift of the machine
//! hits every target alike), written as one comparison: `race.json` (this
//! model), the terminal table of medians with ratios, and the HTML page of
//! `html::race` ([`super::html::render_race`]).
//!
//! Ratios compare each target with the first one given: `2.00x` on a
//! latency means twice as slow; on throughput, twice as much.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::load::repeat::Repeated;
use crate::metrics::{Metric, median};
use crate::status::{Kind, Status};

/// The race format version.
pub const RACE_SCHEMA_VERSION: u32 = 1;

/// One target's runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entrant {
    /// Target name (`NAME=URL`).
    pub name: String,
    /// Its WebSocket base.
    pub target: String,
    /// Its runs, in the order they ran, with medians.
    pub runs: Repeated,
}

impl Entrant {
    /// Median over the runs of the deliveries per second over the traffic
    /// phase (delivered / traffic seconds).
    pub fn throughput(&self) -> f64 {
        let v: Vec<f64> = self
            .runs
            .runs
            .iter()
            .map(|r| r.deliveries.delivered as f64 / r.run.traffic_seconds.max(1e-3))
            .collect();
        median(&v)
    }

    /// Median over the runs of the errors counted.
    pub fn errors(&self) -> f64 {
        let v: Vec<f64> = self
            .runs
            .runs
            .iter()
            .map(|r| r.evidence.errors.values().sum::<u64>() as f64)
            .collect();
        median(&v)
    }
}

/// One row of [`Race::medians`]: what it measures, then per entrant its
/// value and its ratio to the first entrant's (none when that is zero).
#[derive(Debug, Clone, PartialEq)]
pub struct MedianRow {
    /// `deliver p99 (ms)`, `deliveries/s`, ...
    pub label: String,
    /// Value and ratio per entrant.
    pub cells: Vec<(f64, Option<f64>)>,
}

/// A race.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Race {
    /// [`RACE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `load`.
    pub kind: Kind,
    /// Scenario name.
    pub scenario: String,
    /// Rounds run (`--repeat`).
    pub rounds: u32,
    /// The worst status of the entrants' runs.
    pub status: Status,
    /// One per target, in the order given.
    pub entrants: Vec<Entrant>,
}

impl Race {
    /// Collects the entrants (at least one).
    pub fn new(scenario: String, rounds: u32, entrants: Vec<Entrant>) -> Race {
        Race {
            schema_version: RACE_SCHEMA_VERSION,
            kind: Kind::Load,
            scenario,
            rounds,
            status: Status::worst(entrants.iter().map(|e| e.runs.verdict)),
            entrants,
        }
    }

    /// The rows of the medians table: a label, then per entrant its value
    /// and its ratio to the first entrant's.
    pub fn medians(&self) -> Vec<MedianRow> {
        let mut rows = Vec::new();
        let ratio = |v: f64, base: f64| (base > 0.0).then(|| v / base);
        for m in Metric::ALL {
            if !self.entrants.iter().all(|e| e.runs.median.contains_key(&m)) {
                continue;
            }
            for (label, f) in [
                (
                    "p50",
                    (|p: &crate::load::repeat::MedianPercentiles| p.p50) as fn(&_) -> f64,
                ),
                ("p99", |p| p.p99),
            ] {
                let values: Vec<f64> = self
                    .entrants
                    .iter()
                    .map(|e| f(&e.runs.median[&m]) / 1000.0)
                    .collect();
                let base = values[0];
                rows.push(MedianRow {
                    label: format!("{} {label} (ms)", m.as_str()),
                    cells: values.iter().map(|v| (*v, ratio(*v, base))).collect(),
                });
            }
        }
        for (label, f) in [
            ("deliveries/s", Entrant::throughput as fn(&Entrant) -> f64),
            ("errors", Entrant::errors),
        ] {
            let values: Vec<f64> = self.entrants.iter().map(f).collect();
            let base = values[0];
            rows.push(MedianRow {
                label: label.to_owned(),
                cells: values.iter().map(|v| (*v, ratio(*v, base))).collect(),
            });
        }
        rows
    }
}

/// A number as the tables print it.
pub(crate) fn figure(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The terminal table: medians per target with ratios to the first.
pub fn text(race: &Race) -> String {
    let mut out = format!(
        "\nrace: scenario {}, {} round(s), medians over the rounds; ratio to {}\n{:28}",
        race.scenario,
        race.rounds,
        race.entrants.first().map_or("-", |e| e.name.as_str()),
        "",
    );
    for e in &race.entrants {
        let _ = write!(out, " {:>20}", e.name);
    }
    out.push('\n');
    for row in race.medians() {
        let _ = write!(out, "{:28}", row.label);
        for (v, r) in row.cells {
            let cell = match r {
                Some(r) => format!("{} ({r:.2}x)", figure(v)),
                None => figure(v),
            };
            let _ = write!(out, " {cell:>20}");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "status: {} (exit {}, the worst run of any target)",
        race.status,
        race.status.code()
    );
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::load::LoadResult;
    use crate::load::result::{Budget, Measured, Sample};
    use crate::load::validate;
    use crate::metrics::Interval;
    use crate::target::{Credentials, Profile, Target};

    /// A finished run whose deliveries all took `deliver_us`.
    pub(crate) fn run(deliver_us: u64) -> LoadResult {
        let toml = "version = 1\nname = \"r\"\n[run]\nduration = \"3s\"\n";
        let plan = validate::from_toml("r.toml", toml, &[]).expect("valid");
        let creds = Credentials::new("a", "k", "s");
        let target = Target::new("t", "ws://h:1", None, creds, Profile::default()).expect("url");
        let mut totals = Interval::default();
        for _ in 0..100 {
            totals.histograms.record(Metric::Deliver, deliver_us);
        }
        let series = (1..=3)
            .map(|t| Sample {
                t: f64::from(t),
                connections: 1,
                messages_per_s: 10.0,
                deliveries_per_s: 10.0,
                errors: 0,
                errors_by_kind: Default::default(),
                deliver_p50_us: deliver_us,
                deliver_p99_us: deliver_us,
                client_event_p99_us: 0,
                publish_p99_us: 0,
                schedule_lag_p99_us: 0,
            })
            .collect();
        let budget = Budget {
            clients: 1,
            sockets: 1,
            fd_limit: 1024,
            fd_needed: 8,
            rss_before_kib: 0,
            rss_idle_kib: 0,
            kib_per_idle_client: 0.0,
            includes_in_process_server: false,
            connect_seconds: 0.1,
            connections_per_s: 10.0,
            traffic_cpu_percent: 50.0,
            cores: 1,
            listened: 0,
        };
        let measured = Measured {
            run_id: "r".into(),
            started: std::time::SystemTime::now(),
            traffic: std::time::Duration::from_secs(3),
            totals,
            series,
            logs: Vec::new(),
            budget,
            interrupted: false,
        };
        LoadResult::build(&plan, &target, measured)
    }

    pub(crate) fn race() -> Race {
        let entrant = |name: &str, us: u64| Entrant {
            name: name.into(),
            target: format!("ws://{name}:1"),
            runs: Repeated::new(vec![run(us), run(us)], 2),
        };
        Race::new("r".into(), 2, vec![entrant("a", 2000), entrant("b", 4000)])
    }

    #[test]
    fn medians_carry_ratios_to_the_first_target() {
        let race = race();
        let rows = race.medians();
        let p99 = rows
            .iter()
            .find(|r| r.label == "deliver p99 (ms)")
            .expect("deliver measured");
        assert_eq!(p99.cells[0].1, Some(1.0));
        let ratio = p99.cells[1].1.expect("a ratio");
        assert!((ratio - 2.0).abs() < 0.01, "{ratio}");
        assert!(
            rows.iter().all(|r| r.label != "client_event p50 (ms)"),
            "no samples, no row"
        );
        let text = text(&race);
        assert!(text.contains("(2.00x)"), "{text}");
    }
}
