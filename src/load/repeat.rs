//! `pushcheck load --repeat N`: several fresh runs of one scenario against
//! one target, kept side by side so the gate can judge medians and spread
//! instead of one noisy sample.
//!
//! The report (`load.json` of a repeated run) is the runs themselves under
//! `runs`, each exactly a single run's `load.json`, plus the median of every
//! stage's percentiles over the runs and the worst exit code:
//!
//! ```json
//! {"schema_version": 2, "scenario": "smoke", "repeat": 2,
//!  "verdict": "pass", "exit_code": 0,
//!  "median": {"deliver": {"p50": 410.0, "p90": 800.0, "p99": 1250.5, "p999": 2100.0}},
//!  "runs": [{"schema_version": 2, "run": {...}, ...}, {...}]}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::result::{LoadResult, SCHEMA_VERSION};
use crate::metrics::{Metric, Percentiles, median};

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
    /// Scenario name.
    pub scenario: String,
    /// Number of runs.
    pub repeat: u32,
    /// `pass`, `fail` or `invalid`: the verdict of the worst run.
    pub verdict: String,
    /// The worst run's exit code (1 over 3 over 0, as DESIGN orders them).
    pub exit_code: u8,
    /// Per stage with samples in every run: the median of the runs' percentiles.
    pub median: BTreeMap<Metric, MedianPercentiles>,
    /// The runs, in the order they ran.
    pub runs: Vec<LoadResult>,
}

/// The worst of several exit codes: 1 (target failed) over 2 (harness
/// error) over 3 (invalid run) over 0.
pub fn worst_exit(codes: impl IntoIterator<Item = u8>) -> u8 {
    let codes: Vec<u8> = codes.into_iter().collect();
    [1, 2, 3]
        .into_iter()
        .find(|c| codes.contains(c))
        .unwrap_or(0)
}

impl Repeated {
    /// Collects finished runs (at least one).
    pub fn new(runs: Vec<LoadResult>) -> Repeated {
        let exit_code = worst_exit(runs.iter().map(|r| r.exit_code));
        let verdict = runs
            .iter()
            .find(|r| r.exit_code == exit_code)
            .map_or_else(|| "pass".to_owned(), |r| r.verdict.clone());
        let median = Metric::ALL
            .into_iter()
            .filter(|m| runs.iter().all(|r| r.metrics[m].count > 0))
            .map(|m| (m, median_of(&runs, m)))
            .collect();
        Repeated {
            schema_version: SCHEMA_VERSION,
            scenario: runs
                .first()
                .map(|r| r.run.scenario.clone())
                .unwrap_or_default(),
            repeat: runs.len() as u32,
            verdict,
            exit_code,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_exit_code_wins_in_design_order() {
        assert_eq!(worst_exit([0, 0]), 0);
        assert_eq!(worst_exit([0, 3]), 3);
        assert_eq!(worst_exit([3, 1, 0]), 1);
        assert_eq!(worst_exit([3, 2]), 2);
        assert_eq!(worst_exit([]), 0);
    }
}
