//! One report model rendered as text, JSON, JUnit XML and Markdown (STYLE 2.4).

pub mod html;
pub mod json;
pub mod junit;
pub mod load_text;
pub mod markdown;
pub mod text;

use std::collections::BTreeSet;

use crate::conformance::{CaseResult, Verdict};

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
    /// Skipped or not applicable.
    pub skip: usize,
}

impl Report {
    /// Verdict counts.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.cases {
            match c.verdict {
                Verdict::Pass => s.pass += 1,
                Verdict::Fail => s.fail += 1,
                Verdict::Warn => s.warn += 1,
                Verdict::Error => s.error += 1,
                Verdict::Skip => s.skip += 1,
            }
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

    /// Exit code (STYLE 2.4): 1 for a new failure, 2 for a harness error, else 0.
    pub fn exit_code(&self) -> u8 {
        if !self.new_failures().is_empty() {
            1
        } else if self.cases.iter().any(|c| c.verdict == Verdict::Error) {
            2
        } else {
            0
        }
    }

    /// The section key `doc/slug` of a case id.
    pub fn section_of(id: &str) -> &str {
        id.rsplit_once('/').map_or(id, |(s, _)| s)
    }
}
