//! `pushcheck load --repeat N`: several fresh runs of one scenario against
//! one target, kept side by side so the gate can judge medians and spread
//! instead of one noisy sample.
//!
//! The report (`load.json` of a repeated run) is the runs themselves under
//! `runs`, each exactly a single run's `load.json`, plus the median of every
//! stage's percentiles over the runs and the worst exit code:
//!
//! ```json
//! {"schema_version": 3, "kind": "load", "scenario": "smoke", "repeat": 2, "interrupted": false,
//!  "verdict": "pass", "exit_code": 0,
//!  "median": {"deliver": {"p50": 410.0, "p90": 800.0, "p99": 1250.5, "p999": 2100.0}},
//!  "runs": [{"schema_version": 3, "kind": "load", "run": {...}, ...}, {...}]}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::capacity::run_plan;
use super::engine::{EngineError, EngineOptions};
use super::plan::Plan;
use super::result::{LoadResult, SCHEMA_VERSION};
use crate::metrics::{Metric, Percentiles, median};
use crate::status::{Kind, Status};
use crate::target::Target;

/// The median over the runs of one stage's percentiles (microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MedianPercentiles {
    /// Median of the runs' p50.
    pub p50: f64,
    /// Median of the runs' p90.
    pub p90: f64,
    /// Median of the runs' p99.
    pub p99: f64,
    /// Median of the runs' p99.9.
    pub p999: f64,
}

/// Several runs of one scenario and their medians.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Repeated {
    /// Format version (the same as a single run's).
    pub schema_version: u32,
    /// Always `load`.
    pub kind: Kind,
    /// Scenario name.
    pub scenario: String,
    /// Number of runs.
    pub repeat: u32,
    /// The worst run's status ([`crate::status`] gives the order).
    pub verdict: Status,
    /// Its exit code.
    pub exit_code: u8,
    /// Stopped by Ctrl-C or SIGTERM before every run was done.
    pub interrupted: bool,
    /// Per stage with samples in every run: the median of the runs' percentiles.
    pub median: BTreeMap<Metric, MedianPercentiles>,
    /// The runs, in the order they ran.
    pub runs: Vec<LoadResult>,
}

impl Repeated {
    /// Collects finished runs (at least one).
    pub fn new(runs: Vec<LoadResult>, planned: u32) -> Repeated {
        let interrupted = runs.len() < planned as usize || runs.iter().any(|r| r.interrupted);
        let mut verdict = Status::worst(runs.iter().map(|r| r.verdict));
        if interrupted {
            verdict = verdict.and(Status::Interrupted);
        }
        let median = Metric::ALL
            .into_iter()
            .filter(|m| runs.iter().all(|r| r.metrics[m].count > 0))
            .map(|m| (m, median_of(&runs, m)))
            .collect();
        Repeated {
            schema_version: SCHEMA_VERSION,
            kind: Kind::Load,
            scenario: runs
                .first()
                .map(|r| r.run.scenario.clone())
                .unwrap_or_default(),
            repeat: runs.len() as u32,
            verdict,
            exit_code: verdict.code(),
            interrupted,
            median,
            runs,
        }
    }
}

fn median_of(runs: &[LoadResult], m: Metric) -> MedianPercentiles {
    let over = |f: fn(&Percentiles) -> u64| {
        let v: Vec<f64> = runs.iter().map(|r| f(&r.metrics[&m]) as f64).collect();
        median(&v)
    };
    MedianPercentiles {
        p50: over(|p| p.p50),
        p90: over(|p| p.p90),
        p99: over(|p| p.p99),
        p999: over(|p| p.p999),
    }
}

/// Runs the plan `n` times against `target`, each with its own channel
/// names (so a straggling delivery of one run is never counted by the
/// next); `each` sees every finished run. Stops early on an interrupt.
pub async fn repeat(
    plan: &Plan,
    target: &Target,
    opts: &EngineOptions,
    n: u32,
    mut each: impl FnMut(u32, &LoadResult),
) -> Result<Vec<LoadResult>, EngineError> {
    let mut runs = Vec::new();
    for i in 1..=n {
        let run_opts = EngineOptions {
            run_id: if n == 1 {
                opts.run_id.clone()
            } else {
                format!("{}-r{i}", opts.run_id)
            },
            ..opts.clone()
        };
        let r = run_plan(plan, target, &run_opts).await?;
        each(i, &r);
        runs.push(r);
        if opts.interrupt.is_set() {
            break;
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::result::{Budget, Measured};
    use crate::load::validate;
    use crate::metrics::Interval;
    use crate::target::{Credentials, Profile};

    fn result(verdict: Status) -> LoadResult {
        let toml = "version = 1\nname = \"r\"\n[run]\nduration = \"1s\"\n";
        let plan = validate::from_toml("r.toml", toml, &[]).expect("valid");
        let creds = Credentials::new("a", "k", "s");
        let target = Target::new("t", "ws://h:1", None, creds, Profile::default()).expect("url");
        let budget = Budget {
            clients: 0,
            sockets: 0,
            fd_limit: 0,
            fd_needed: 0,
            rss_before_kib: 0,
            rss_idle_kib: 0,
            kib_per_idle_client: 0.0,
            includes_in_process_server: false,
            connect_seconds: 0.0,
            connections_per_s: 0.0,
            traffic_cpu_percent: 0.0,
            cores: 1,
            listened: 0,
        };
        let measured = Measured {
            run_id: "r".into(),
            started: std::time::SystemTime::now(),
            traffic: std::time::Duration::ZERO,
            totals: Interval::default(),
            series: Vec::new(),
            logs: Vec::new(),
            budget,
            interrupted: false,
        };
        let mut r = LoadResult::build(&plan, &target, measured);
        (r.verdict, r.exit_code) = (verdict, verdict.code());
        r
    }

    #[test]
    fn the_worst_run_wins_and_a_repeat_cut_short_is_interrupted() {
        use Status::{Fail, Interrupted, Invalid, Pass};
        let rep = Repeated::new(vec![result(Pass), result(Invalid)], 2);
        assert_eq!((rep.verdict, rep.exit_code), (Invalid, 3));
        let rep = Repeated::new(vec![result(Invalid), result(Fail), result(Pass)], 3);
        assert_eq!((rep.verdict, rep.exit_code), (Fail, 1));
        let rep = Repeated::new(vec![result(Pass)], 3);
        assert_eq!(
            (rep.verdict, rep.exit_code, rep.interrupted),
            (Interrupted, 130, true)
        );
    }
}
