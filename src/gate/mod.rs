//! `pushcheck compare`: the regression gate. It compares a current report
//! with a baseline and says, per finding, whether it fails the build.
//!
//! Correctness findings (a case that stopped passing, a new failure, lost or
//! duplicated deliveries, an accepted attack, an SLO now missed) always gate.
//! Timing findings compare medians over the runs of a scenario against a
//! per-metric budget in percent; they gate only under [`GateMode::All`], and
//! a metric whose runs spread wider than `max_spread_percent` is reported as
//! too noisy to judge instead.

mod options;
pub mod render;
pub mod snapshot;

use std::collections::BTreeMap;

use serde::Deserialize;

pub use crate::metrics::{median, spread_percent};
pub use options::{GateError, Options, compare_files};
pub use snapshot::{Better, Metric, Snapshot};

use crate::status::Status;

/// Which findings fail the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateMode {
    /// Correctness and timing beyond budget.
    All,
    /// Correctness only; timing changes are printed but never fail.
    Correctness,
}

/// Per-metric budgets in percent (TOML: `default_percent`, `max_spread_percent`, `[metrics]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Budget {
    /// Allowed worsening of a metric's median, in percent, unless listed in `metrics`.
    pub default_percent: f64,
    /// Runs spreading wider than this (max - min over median, percent) are too noisy to judge.
    pub max_spread_percent: f64,
    /// Budget per metric name, e.g. `"deliver.p99" = 20`.
    pub metrics: BTreeMap<String, f64>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            default_percent: 10.0,
            max_spread_percent: 25.0,
            metrics: BTreeMap::new(),
        }
    }
}

impl Budget {
    /// The budget of one metric.
    pub fn percent(&self, metric: &str) -> f64 {
        self.metrics
            .get(metric)
            .copied()
            .unwrap_or(self.default_percent)
    }
}

/// What changed between baseline and current.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A case passing in the baseline does not pass now.
    StoppedPassing {
        /// Verdict then.
        was: String,
        /// Verdict now.
        now: String,
    },
    /// A case fails now that did not fail before (or is new and fails).
    NewFailure {
        /// Verdict then, if the case existed.
        was: Option<String>,
    },
    /// A failing case now passes.
    Fixed,
    /// A failure listed as a known deviation.
    KnownDeviation,
    /// A case of the baseline is missing from the current report.
    Missing,
    /// A metric has samples on one side only: not compared, never read as 0.
    MetricMissing {
        /// `baseline` or `current`: the side without samples.
        side: &'static str,
    },
    /// A passing case is now `n/a` or `skip`: the capability profile or the
    /// selection changed, so it was not judged. A change, not a regression.
    NotJudged {
        /// Verdict now.
        now: String,
    },
    /// Any other verdict change (e.g. `n/a -> pass`).
    Verdict {
        /// Verdict then.
        was: String,
        /// Verdict now.
        now: String,
    },
    /// The target accepted an attack of this kind (the most in one run).
    AttackAccepted {
        /// Then (0: refused every time).
        was: u64,
        /// Now (0: refused every time).
        now: u64,
    },
    /// Timing is not judged from invalid runs (the generator fell behind its
    /// schedule, so it measured itself rather than the target).
    InvalidRuns {
        /// Invalid baseline runs.
        baseline_invalid: usize,
        /// Baseline runs.
        baseline_runs: usize,
        /// Invalid current runs.
        current_invalid: usize,
        /// Current runs.
        current_runs: usize,
    },
    /// A correctness counter grew.
    CounterUp {
        /// Then.
        was: u64,
        /// Now.
        now: u64,
    },
    /// A correctness counter shrank.
    CounterDown {
        /// Then.
        was: u64,
        /// Now.
        now: u64,
    },
    /// A metric's median moved.
    Timing {
        /// Median then.
        was: f64,
        /// Median now.
        now: f64,
        /// Signed change in percent, positive = worse.
        worse_percent: f64,
        /// The budget.
        budget: f64,
        /// Unit.
        unit: &'static str,
    },
    /// A metric's runs spread too widely to judge.
    TooNoisy {
        /// Spread of the baseline runs, percent.
        baseline_spread: f64,
        /// Spread of the current runs, percent.
        current_spread: f64,
    },
}

/// How a finding counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Fails the gate.
    Regression,
    /// Shown, does not fail.
    Note,
    /// An improvement.
    Improvement,
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The report section: `conformance <target>` or `load <scenario>`.
    pub scope: String,
    /// Case id, counter or metric name.
    pub item: String,
    /// What changed.
    pub change: Change,
    /// How it counts.
    pub severity: Severity,
}

/// The result of a comparison.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comparison {
    /// Findings, regressions first.
    pub findings: Vec<Finding>,
    /// Scopes present in only one report.
    pub unmatched: Vec<String>,
    /// Items compared (verdicts, counters, attack kinds, metrics).
    pub compared: usize,
}

impl Comparison {
    /// Findings that fail the gate.
    pub fn regressions(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Regression)
    }

    /// `fail` on a regression, else `pass`.
    pub fn status(&self) -> Status {
        if self.regressions().next().is_some() {
            Status::Fail
        } else {
            Status::Pass
        }
    }

    /// 0 pass, 1 regression.
    pub fn exit_code(&self) -> u8 {
        self.status().code()
    }
}

/// Compares every scope present in both reports.
pub fn compare(
    baseline: &BTreeMap<String, Snapshot>,
    current: &BTreeMap<String, Snapshot>,
    budget: &Budget,
    mode: GateMode,
) -> Comparison {
    let mut out = Comparison::default();
    for (scope, base) in baseline {
        match current.get(scope) {
            Some(cur) => {
                out.compared += compared(base, cur);
                verdicts(scope, base, cur, &mut out.findings);
                counters(scope, base, cur, &mut out.findings);
                attacks(scope, base, cur, &mut out.findings);
                timing(scope, base, cur, budget, mode, &mut out.findings);
            }
            None => out.unmatched.push(format!("{scope} (baseline only)")),
        }
    }
    for scope in current.keys().filter(|s| !baseline.contains_key(*s)) {
        out.unmatched.push(format!("{scope} (current only)"));
    }
    out.findings
        .sort_by(|a, b| (a.severity, &a.scope, &a.item).cmp(&(b.severity, &b.scope, &b.item)));
    out
}

/// Items present on both sides: what the comparison actually judged.
fn compared(base: &Snapshot, cur: &Snapshot) -> usize {
    let verdicts = cur
        .verdicts
        .keys()
        .filter(|k| base.verdicts.contains_key(*k))
        .count();
    let counters = cur
        .counters
        .keys()
        .filter(|k| base.counters.contains_key(*k))
        .count();
    let metrics = cur
        .metrics
        .keys()
        .filter(|k| base.metrics.contains_key(*k))
        .count();
    let attacks = base.accepted_attacks.len() + cur.accepted_attacks.len();
    verdicts + counters + metrics + attacks
}

fn push(out: &mut Vec<Finding>, scope: &str, item: &str, change: Change, severity: Severity) {
    out.push(Finding {
        scope: scope.into(),
        item: item.into(),
        change,
        severity,
    });
}

fn verdicts(scope: &str, base: &Snapshot, cur: &Snapshot, out: &mut Vec<Finding>) {
    for (id, (now, known)) in &cur.verdicts {
        let was = base.verdicts.get(id).map(|(v, _)| v.clone());
        let failing = |v: &str| v == "fail" || v == "error";
        let change = match (was.as_deref(), now.as_str()) {
            (Some(w), n) if failing(w) && !failing(n) && n == "pass" => {
                push(out, scope, id, Change::Fixed, Severity::Improvement);
                continue;
            }
            (_, n) if failing(n) && *known => {
                push(out, scope, id, Change::KnownDeviation, Severity::Note);
                continue;
            }
            (Some("pass"), n @ ("n/a" | "skip")) => {
                let change = Change::NotJudged { now: n.into() };
                push(out, scope, id, change, Severity::Note);
                continue;
            }
            (Some("pass"), n) if n != "pass" => Change::StoppedPassing {
                was: "pass".into(),
                now: n.into(),
            },
            (w, n) if failing(n) && !w.is_some_and(failing) => Change::NewFailure {
                was: w.map(str::to_owned),
            },
            (Some(w), n) if w != n => {
                let change = Change::Verdict {
                    was: w.into(),
                    now: n.into(),
                };
                push(out, scope, id, change, Severity::Note);
                continue;
            }
            _ => continue,
        };
        push(out, scope, id, change, Severity::Regression);
    }
    for id in base
        .verdicts
        .keys()
        .filter(|id| !cur.verdicts.contains_key(*id))
    {
        push(out, scope, id, Change::Missing, Severity::Note);
    }
}

fn counters(scope: &str, base: &Snapshot, cur: &Snapshot, out: &mut Vec<Finding>) {
    for (name, &now) in &cur.counters {
        let was = base.counters.get(name).copied().unwrap_or(0);
        if now > was {
            push(
                out,
                scope,
                name,
                Change::CounterUp { was, now },
                Severity::Regression,
            );
        } else if now < was {
            push(
                out,
                scope,
                name,
                Change::CounterDown { was, now },
                Severity::Improvement,
            );
        }
    }
}

/// Every attack kind the target accepts now: a regression when the
/// baseline refused it every time, a note when the baseline accepted it too.
fn attacks(scope: &str, base: &Snapshot, cur: &Snapshot, out: &mut Vec<Finding>) {
    let kinds = base
        .accepted_attacks
        .keys()
        .chain(cur.accepted_attacks.keys());
    let kinds: std::collections::BTreeSet<&String> = kinds.collect();
    for kind in kinds {
        let was = base.accepted_attacks.get(kind).copied().unwrap_or(0);
        let now = cur.accepted_attacks.get(kind).copied().unwrap_or(0);
        let severity = match (was, now) {
            (0, 0) => continue,
            (0, _) => Severity::Regression,
            (_, 0) => Severity::Improvement,
            _ => Severity::Note,
        };
        let item = format!("attack {kind}");
        push(
            out,
            scope,
            &item,
            Change::AttackAccepted { was, now },
            severity,
        );
    }
}

fn timing(
    scope: &str,
    base: &Snapshot,
    cur: &Snapshot,
    budget: &Budget,
    mode: GateMode,
    out: &mut Vec<Finding>,
) {
    if base.invalid_runs > 0 || cur.invalid_runs > 0 {
        let change = Change::InvalidRuns {
            baseline_invalid: base.invalid_runs,
            baseline_runs: base.runs,
            current_invalid: cur.invalid_runs,
            current_runs: cur.runs,
        };
        push(out, scope, "timing", change, Severity::Note);
    }
    missing_metrics(scope, base, cur, out);
    for (name, now) in &cur.metrics {
        let Some(was) = base.metrics.get(name) else {
            continue;
        };
        let (bs, cs) = (spread_percent(&was.samples), spread_percent(&now.samples));
        if bs > budget.max_spread_percent || cs > budget.max_spread_percent {
            let change = Change::TooNoisy {
                baseline_spread: bs,
                current_spread: cs,
            };
            push(out, scope, name, change, Severity::Note);
            continue;
        }
        let (w, n) = (median(&was.samples), median(&now.samples));
        if w == 0.0 {
            continue;
        }
        let delta = (n - w) / w * 100.0;
        let worse_percent = match now.better {
            Better::Lower => delta,
            Better::Higher => -delta,
        };
        let limit = budget.percent(name);
        let severity = if worse_percent > limit && mode == GateMode::All {
            Severity::Regression
        } else if worse_percent < -limit {
            Severity::Improvement
        } else {
            Severity::Note
        };
        let change = Change::Timing {
            was: w,
            now: n,
            worse_percent,
            budget: limit,
            unit: now.unit,
        };
        push(out, scope, name, change, severity);
    }
}

/// Metrics with samples on one side only: missing is never 0, so never an
/// improvement. Gone from the current report (the stage stopped being
/// exercised) is a regression; new in it is a note. Sides whose runs were
/// invalid are left out: their timing was dropped on purpose.
fn missing_metrics(scope: &str, base: &Snapshot, cur: &Snapshot, out: &mut Vec<Finding>) {
    if base.invalid_runs > 0 || cur.invalid_runs > 0 {
        return;
    }
    for name in base
        .metrics
        .keys()
        .filter(|m| !cur.metrics.contains_key(*m))
    {
        let change = Change::MetricMissing { side: "current" };
        push(out, scope, name, change, Severity::Regression);
    }
    for name in cur
        .metrics
        .keys()
        .filter(|m| !base.metrics.contains_key(*m))
    {
        let change = Change::MetricMissing { side: "baseline" };
        push(out, scope, name, change, Severity::Note);
    }
}

#[cfg(test)]
mod tests;
