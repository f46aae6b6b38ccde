//! `compare` as a library call: plain options, the files read and checked
//! for comparability (same kind, same scenarios, same targets), budgets
//! resolved, the comparison made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::snapshot::{ReadError, ReadReport, Snapshot, read_report};
use super::{Budget, Comparison, GateMode, compare};
use crate::status::Kind;

/// What to compare and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The baseline report.
    pub baseline: PathBuf,
    /// The report to judge.
    pub current: PathBuf,
    /// Budget TOML: `default_percent`, `max_spread_percent`, `[metrics]`.
    pub budget_file: Option<PathBuf>,
    /// `NAME=PERCENT` per metric (override the file).
    pub budgets: Vec<String>,
    /// Budget of every metric not named otherwise, in percent.
    pub default_budget: Option<f64>,
    /// Widest run spread still judged, percent.
    pub max_spread: Option<f64>,
    /// What fails the gate.
    pub mode: GateMode,
    /// Compare reports of different targets (the target was renamed or moved on purpose).
    pub allow_target_change: bool,
}

/// Why `compare` cannot judge (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// A file could not be read.
    #[error("cannot access {}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A report could not be read.
    #[error(transparent)]
    Report(#[from] ReadError),
    /// The budget file is not valid.
    #[error("invalid budget file {}", path.display())]
    BudgetFile {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: toml::de::Error,
    },
    /// A `--budget` flag is not `NAME=PERCENT`.
    #[error("--budget {0:?} is not NAME=PERCENT")]
    BudgetFlag(String),
    /// The reports are of different kinds.
    #[error("cannot compare a {} report with a {} report", baseline.as_str(), current.as_str())]
    KindMismatch {
        /// The baseline's kind.
        baseline: Kind,
        /// The current report's kind.
        current: Kind,
    },
    /// The reports ran different scenarios.
    #[error("the reports ran different scenarios: baseline {baseline}, current {current}")]
    ScenarioMismatch {
        /// The baseline's scenarios.
        baseline: String,
        /// The current report's.
        current: String,
    },
    /// The reports tested different targets.
    #[error(
        "the reports tested different targets: baseline {baseline}, current {current} (pass --allow-target-change if that is intended)"
    )]
    TargetMismatch {
        /// The baseline's targets.
        baseline: String,
        /// The current report's.
        current: String,
    },
    /// Nothing was compared: no verdict without evidence.
    #[error("nothing was compared: the reports share no case, counter or metric")]
    NothingCompared,
}

fn read_file(path: &Path) -> Result<String, GateError> {
    std::fs::read_to_string(path).map_err(|source| GateError::Io {
        path: path.to_owned(),
        source,
    })
}

/// The budget from the file, then the flags.
fn budget(o: &Options) -> Result<Budget, GateError> {
    let mut b = match &o.budget_file {
        Some(p) => toml::from_str(&read_file(p)?).map_err(|source| GateError::BudgetFile {
            path: p.clone(),
            source,
        })?,
        None => Budget::default(),
    };
    if let Some(d) = o.default_budget {
        b.default_percent = d;
    }
    if let Some(s) = o.max_spread {
        b.max_spread_percent = s;
    }
    for flag in &o.budgets {
        let parsed = flag
            .split_once('=')
            .and_then(|(k, v)| Some((k.trim(), v.trim().parse::<f64>().ok()?)));
        let Some((name, pct)) = parsed else {
            return Err(GateError::BudgetFlag(flag.clone()));
        };
        b.metrics.insert(name.to_owned(), pct);
    }
    Ok(b)
}

fn joined(set: &std::collections::BTreeSet<String>) -> String {
    if set.is_empty() {
        "none".into()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Refuses reports that cannot be compared; then renames the current
/// report's single conformance scope to the baseline's, so a target that was
/// only renamed (or moved, with `allow_target_change`) is still compared.
fn comparable(
    base: &ReadReport,
    cur: &mut ReadReport,
    allow_target_change: bool,
) -> Result<(), GateError> {
    if base.kind != cur.kind {
        return Err(GateError::KindMismatch {
            baseline: base.kind,
            current: cur.kind,
        });
    }
    if base.scenarios != cur.scenarios {
        return Err(GateError::ScenarioMismatch {
            baseline: joined(&base.scenarios),
            current: joined(&cur.scenarios),
        });
    }
    if base.targets != cur.targets && !allow_target_change {
        return Err(GateError::TargetMismatch {
            baseline: joined(&base.targets),
            current: joined(&cur.targets),
        });
    }
    // One target on each side, the same one (or a change allowed): its
    // display name may differ, its results are compared under the baseline's.
    let conformance = |s: &BTreeMap<String, Snapshot>| -> Vec<String> {
        s.keys()
            .filter(|k| k.starts_with("conformance "))
            .cloned()
            .collect()
    };
    if let ([b], [c]) = (
        &conformance(&base.scopes)[..],
        &conformance(&cur.scopes)[..],
    ) {
        let snap = cur.scopes.remove(c).expect("the key was just listed");
        cur.scopes.insert(b.clone(), snap);
    }
    Ok(())
}

/// Reads both reports, checks they can be compared, compares them.
pub fn compare_files(o: &Options) -> Result<Comparison, GateError> {
    let budget = budget(o)?;
    let show = |p: &Path| p.display().to_string();
    let base = read_report(&show(&o.baseline), &read_file(&o.baseline)?)?;
    let mut cur = read_report(&show(&o.current), &read_file(&o.current)?)?;
    comparable(&base, &mut cur, o.allow_target_change)?;
    let comparison = compare(&base.scopes, &cur.scopes, &budget, o.mode);
    if comparison.compared == 0 {
        return Err(GateError::NothingCompared);
    }
    Ok(comparison)
}
