//! One report model for every subcommand: the conformance [`Report`], the
//! load result ([`crate::load::LoadResult`]), and the typed documents of
//! [`model`] that wrap them as JSON files (`kind`, `status`, `interrupted`
//! in every one). Rendered as text, JSON, JUnit XML, Markdown and HTML
//! (STYLE 2.4); exit codes come from the report's [`Status`].

pub mod capacity;
pub mod catalogue;
pub(crate) mod chart;
pub mod html;
pub mod json;
pub mod junit;
pub mod load_checks;
pub mod load_markdown;
pub mod load_text;
pub mod markdown;
mod markup;
pub mod model;
pub mod race;
pub mod text;

use std::collections::BTreeSet;

use crate::conformance::{CaseResult, Verdict};
use crate::status::Status;

/// The results of one run against one target.
#[derive(Debug, Clone)]
pub struct Report {
    /// Target name.
    pub target_name: String,
    /// WebSocket base URL.
    pub ws: String,
    /// REST base URL.
    pub rest: String,
    /// Case results in catalogue order.
    pub cases: Vec<CaseResult>,
    /// Case ids whose failure is known and accepted (`--known-deviations`).
    pub known_deviations: BTreeSet<String>,
    /// What identifies the target across reports (`bundled`, or its WebSocket base).
    pub target_id: String,
    /// Stopped by Ctrl-C or SIGTERM: unfinished cases are `skip`.
    pub interrupted: bool,
}

/// Counts per verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Warned.
    pub warn: usize,
    /// Harness errors.
    pub error: usize,
    /// Not run (excluded, or slow without `--slow`).
    pub skip: usize,
    /// Not applicable to the target's profile.
    pub na: usize,
}

/// One row of [`Report::by_section`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionRow {
    /// `doc/slug`.
    pub section: String,
    /// The section's heading in the spec.
    pub heading: String,
    /// Must or Should.
    pub level: crate::conformance::Level,
    /// Counts per verdict.
    pub counts: Summary,
}

/// Where a case goes in a list read for what needs attention: security
/// failures, failures, errors, warnings, then skip, n/a and pass.
pub fn attention_rank(c: &CaseResult) -> u8 {
    match c.verdict {
        Verdict::Fail if c.security_failure() => 0,
        Verdict::Fail => 1,
        Verdict::Error => 2,
        Verdict::Warn if c.security_failure() => 3,
        Verdict::Warn => 4,
        Verdict::Skip => 5,
        Verdict::NotApplicable => 6,
        Verdict::Pass => 7,
    }
}

impl Summary {
    /// Counts one more case of `verdict`.
    pub fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Pass => self.pass += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Warn => self.warn += 1,
            Verdict::Error => self.error += 1,
            Verdict::Skip => self.skip += 1,
            Verdict::NotApplicable => self.na += 1,
        }
    }

    /// The count of one verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        match verdict {
            Verdict::Pass => self.pass,
            Verdict::Fail => self.fail,
            Verdict::Warn => self.warn,
            Verdict::Error => self.error,
            Verdict::Skip => self.skip,
            Verdict::NotApplicable => self.na,
        }
    }
}

impl Report {
    /// Verdict counts.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.cases {
            s.add(c.verdict);
        }
        s
    }

    /// Failures not listed as known deviations.
    pub fn new_failures(&self) -> Vec<&CaseResult> {
        self.cases
            .iter()
            .filter(|c| c.verdict == Verdict::Fail && !self.known_deviations.contains(&c.id))
            .collect()
    }

    /// The status: `fail` for a new failure, `error` for a harness error,
    /// else `pass`; `interrupted` wins ([`crate::status`]).
    pub fn status(&self) -> Status {
        let judged = if !self.new_failures().is_empty() {
            Status::Fail
        } else if self.cases.iter().any(|c| c.verdict == Verdict::Error) {
            Status::Error
        } else {
            Status::Pass
        };
        if self.interrupted {
            judged.and(Status::Interrupted)
        } else {
            judged
        }
    }

    /// The exit code of [`Report::status`].
    pub fn exit_code(&self) -> u8 {
        self.status().code()
    }

    /// The command that reruns one case against this report's target and
    /// prints its transcript.
    pub fn rerun_command(&self, id: &str) -> String {
        if self.target_id == "bundled" {
            format!("pushcheck conform --trace {id}")
        } else {
            format!(
                "pushcheck conform --trace {id} --target {}={}",
                self.target_name, self.ws
            )
        }
    }

    /// Counts per verdict for each spec section and level, the rows with a
    /// fail, warn or error first (most first), then in catalogue order.
    pub fn by_section(&self) -> Vec<SectionRow> {
        let mut rows: Vec<SectionRow> = Vec::new();
        for c in &self.cases {
            let section = Self::section_of(&c.id);
            let row = match rows
                .iter_mut()
                .position(|r| r.section == section && r.level == c.level)
            {
                Some(i) => &mut rows[i],
                None => {
                    rows.push(SectionRow {
                        section: section.to_owned(),
                        heading: c.spec.section.to_owned(),
                        level: c.level,
                        counts: Summary::default(),
                    });
                    rows.last_mut().expect("just pushed")
                }
            };
            row.counts.add(c.verdict);
        }
        // Stable: rows with the same count keep catalogue order.
        rows.sort_by_key(|r| std::cmp::Reverse(r.counts.fail + r.counts.warn + r.counts.error));
        rows
    }

    /// The section key `doc/slug` of a case id.
    pub fn section_of(id: &str) -> &str {
        id.rsplit_once('/').map_or(id, |(s, _)| s)
    }
}

/// A report holding one case of every verdict, for the renderers' golden tests.
#[cfg(test)]
pub(crate) fn every_verdict_sample() -> Report {
    use crate::conformance::{Doc, Level, SpecRef};
    let cases = Verdict::ALL
        .iter()
        .map(|v| {
            let violated = matches!(v, Verdict::Fail | Verdict::Warn);
            CaseResult {
                id: format!("protocol/s/{}", v.as_str().replace('/', "")),
                spec: SpecRef {
                    doc: Doc::Protocol,
                    slug: "s",
                    section: "S",
                },
                level: if *v == Verdict::Warn {
                    Level::Should
                } else {
                    Level::Must
                },
                requirement: "Do <it> | now.".into(),
                verdict: *v,
                expected: violated.then(|| "pong".into()),
                actual: violated.then(|| "nothing within 2000 ms".into()),
                message: (!violated && *v != Verdict::Pass).then(|| "why & how".into()),
                duration: std::time::Duration::from_millis(5),
                security: false,
                transcript: Vec::new(),
            }
        })
        .collect();
    Report {
        target_name: "t".into(),
        ws: "ws://x".into(),
        rest: "http://x".into(),
        cases,
        known_deviations: ["protocol/s/fail".to_owned()].into(),
        target_id: "ws://x".into(),
        interrupted: false,
    }
}

/// Compares `actual` with a golden file under `tests/fixtures/`; with
/// `PUSHCHECK_BLESS=1` it rewrites the file instead (then review the diff).
#[cfg(test)]
pub(crate) fn assert_golden(name: &str, actual: &str) {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("PUSHCHECK_BLESS").is_some() {
        std::fs::write(&path, actual).expect("golden file writable");
    }
    let golden = std::fs::read_to_string(&path).expect("golden file present");
    assert_eq!(actual, golden, "{name} differs from its golden file");
}
