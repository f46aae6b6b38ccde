//! The comparison as a terminal table, Markdown for a pull-request comment, and JSON.

use serde::{Deserialize, Serialize};

use crate::status::{Kind, Status};

use super::{Change, Comparison, Finding, Severity};

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Regression => "REGRESSION",
        Severity::Note => "note",
        Severity::Improvement => "improved",
    }
}

/// A one-line description of a change.
pub fn describe(change: &Change) -> String {
    match change {
        Change::StoppedPassing { was, now } => format!("stopped passing ({was} -> {now})"),
        Change::NewFailure { was: Some(w) } => format!("new failure ({w} -> fail)"),
        Change::NewFailure { was: None } => "new case, failing".into(),
        Change::Fixed => "fixed (now passes)".into(),
        Change::KnownDeviation => "fails, listed as a known deviation".into(),
        Change::Missing => "missing from the current report".into(),
        Change::MetricMissing { side } => {
            format!("no samples in the {side} report: missing, not compared (never read as 0)")
        }
        Change::NotJudged { now } => {
            format!(
                "changed pass -> {now}: no longer judged (capability profile or selection changed); not a regression"
            )
        }
        Change::Verdict { was, now } => format!("changed {was} -> {now}"),
        Change::AttackAccepted { was: 0, now } => {
            format!(
                "SECURITY: the target accepted this attack ({now} times in one run; the baseline refused it)"
            )
        }
        Change::AttackAccepted { was, now: 0 } => {
            format!("now refused (the baseline accepted it {was} times)")
        }
        Change::AttackAccepted { was, now } => {
            format!("still accepted ({now} times; the baseline accepted it {was} times too)")
        }
        Change::InvalidRuns {
            baseline_invalid,
            baseline_runs,
            current_invalid,
            current_runs,
        } => format!(
            "not judged from invalid runs (the generator fell behind its schedule): {current_invalid} of {current_runs} current, {baseline_invalid} of {baseline_runs} baseline runs left out of the timing medians{}; correctness still judged",
            if current_invalid == current_runs || baseline_invalid == baseline_runs {
                ", leaving nothing to compare"
            } else {
                ""
            }
        ),
        Change::CounterUp { was, now } => format!("rose {was} -> {now}"),
        Change::CounterDown { was, now } => format!("fell {was} -> {now}"),
        Change::Timing {
            was,
            now,
            worse_percent,
            budget,
            unit,
        } => {
            let word = if *worse_percent > 0.0 {
                "worse"
            } else {
                "better"
            };
            format!(
                "median {was:.0} -> {now:.0} {unit} ({:.1}% {word}; budget {budget:.0}%)",
                worse_percent.abs()
            )
        }
        Change::TooNoisy {
            baseline_spread,
            current_spread,
        } => format!(
            "too noisy to judge (run spread {baseline_spread:.0}% baseline, {current_spread:.0}% current)"
        ),
    }
}

fn verdict_line(c: &Comparison) -> String {
    let n = c.regressions().count();
    if n == 0 {
        format!(
            "PASS: no regression against the baseline ({} items compared)",
            c.compared
        )
    } else {
        format!(
            "FAIL: {n} regression(s) against the baseline ({} items compared)",
            c.compared
        )
    }
}

/// The terminal table.
pub fn text(c: &Comparison) -> String {
    let width = c
        .findings
        .iter()
        .map(|f| f.scope.len() + f.item.len() + 1)
        .max()
        .unwrap_or(0)
        .min(90);
    let mut out = String::new();
    for f in &c.findings {
        let item = format!("{} {}", f.scope, f.item);
        out.push_str(&format!(
            "{:10}  {item:width$}  {}\n",
            severity(f.severity),
            describe(&f.change)
        ));
    }
    for u in &c.unmatched {
        out.push_str(&format!("{:10}  {u}: not compared\n", "note"));
    }
    out.push_str(&verdict_line(c));
    out.push('\n');
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Markdown for a pull-request comment: verdict, regressions, then everything else.
pub fn markdown(c: &Comparison) -> String {
    let mut out = format!("### pushcheck compare: {}\n\n", verdict_line(c));
    let table = |rows: Vec<&Finding>| {
        let mut t = String::from("| | where | what | change |\n|---|---|---|---|\n");
        for f in rows {
            t.push_str(&format!(
                "| {} | {} | `{}` | {} |\n",
                severity(f.severity),
                md_escape(&f.scope),
                md_escape(&f.item),
                md_escape(&describe(&f.change))
            ));
        }
        t
    };
    let (bad, rest): (Vec<&Finding>, Vec<&Finding>) = c
        .findings
        .iter()
        .partition(|f| f.severity == Severity::Regression);
    if !bad.is_empty() {
        out.push_str("#### Regressions\n\n");
        out.push_str(&table(bad));
        out.push('\n');
    }
    if !rest.is_empty() {
        out.push_str("<details><summary>Other changes</summary>\n\n");
        out.push_str(&table(rest));
        out.push_str("\n</details>\n");
    }
    for u in &c.unmatched {
        out.push_str(&format!("\n- not compared: {}\n", md_escape(u)));
    }
    out
}

/// One finding in the comparison's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingDoc {
    /// `conformance <target>` or `load <scenario>`.
    pub scope: String,
    /// Case id, counter or metric.
    pub item: String,
    /// `regression`, `note` or `improved`.
    pub severity: String,
    /// What changed, in words.
    pub change: String,
    /// Baseline median (timing findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_median: Option<f64>,
    /// Current median (timing findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_median: Option<f64>,
    /// Signed change, positive = worse (timing findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worse_percent: Option<f64>,
    /// The budget (timing findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_percent: Option<f64>,
}

/// `compare --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonDoc {
    /// Format version.
    pub schema_version: u32,
    /// Always `comparison`.
    pub kind: Kind,
    /// `pass` or `fail`.
    pub status: Status,
    /// Always false: a comparison is not interruptible.
    pub interrupted: bool,
    /// `pass` or `fail` (the same as `status`, kept for readers of version 1).
    pub verdict: Status,
    /// Findings that fail the gate.
    pub regressions: usize,
    /// Items compared.
    pub compared: usize,
    /// Every finding, regressions first.
    pub findings: Vec<FindingDoc>,
    /// Scopes present in only one report.
    pub unmatched: Vec<String>,
}

/// The comparison as its JSON document.
pub fn json(c: &Comparison) -> ComparisonDoc {
    let findings = c
        .findings
        .iter()
        .map(|f| {
            let timing = match f.change {
                Change::Timing {
                    was,
                    now,
                    worse_percent,
                    budget,
                    ..
                } => Some((was, now, worse_percent, budget)),
                _ => None,
            };
            FindingDoc {
                scope: f.scope.clone(),
                item: f.item.clone(),
                severity: severity(f.severity).to_ascii_lowercase(),
                change: describe(&f.change),
                baseline_median: timing.map(|t| t.0),
                current_median: timing.map(|t| t.1),
                worse_percent: timing.map(|t| t.2),
                budget_percent: timing.map(|t| t.3),
            }
        })
        .collect();
    let status = c.status();
    ComparisonDoc {
        schema_version: 2,
        kind: Kind::Comparison,
        status,
        interrupted: false,
        verdict: status,
        regressions: c.regressions().count(),
        compared: c.compared,
        findings,
        unmatched: c.unmatched.clone(),
    }
}
