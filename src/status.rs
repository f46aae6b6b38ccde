//! One exit status for every subcommand, and the one rule that combines
//! several into one.
//!
//! # Exit codes
//!
//! | status | code | meaning |
//! | --- | --- | --- |
//! | `pass` | 0 | the target did everything asked of it, with evidence |
//! | `fail` | 1 | the target failed: a conformance failure, a missed SLO, an accepted attack, load errors, missing evidence, a regression |
//! | `error` | 2 | usage or harness error: bad flags, an unreachable target, rejected credentials, a case the harness could not run |
//! | `invalid` | 3 | the generator could not keep its schedule, so the run measured itself |
//! | `interrupted` | 130 | Ctrl-C or SIGTERM: the reports written so far are marked `interrupted` |
//!
//! # Precedence
//!
//! Whenever several statuses make one (several targets of `conform`, the
//! conformance and load halves of `run`, the runs of `load --repeat`), the
//! worst wins in this order: `interrupted`, `fail`, `error`, `invalid`,
//! `pass`. A failure is a finding about a target and is never hidden by a
//! harness error elsewhere. A capacity search is `pass` when at least one
//! step passed (its report is the last passing step's), else the status of
//! its first step, and `fail` if that step passed only its own thresholds.

use serde::{Deserialize, Serialize};

/// The outcome of a subcommand, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Exit 0.
    Pass,
    /// Exit 1: the target failed.
    Fail,
    /// Exit 2: usage or harness error.
    Error,
    /// Exit 3: the run measured the generator.
    Invalid,
    /// Exit 130: stopped by a signal.
    Interrupted,
}

impl Status {
    /// Every status, best first.
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::Invalid,
        Status::Error,
        Status::Fail,
        Status::Interrupted,
    ];

    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Status::Pass => 0,
            Status::Fail => 1,
            Status::Error => 2,
            Status::Invalid => 3,
            Status::Interrupted => 130,
        }
    }

    /// The status of an exit code written in a report.
    pub fn from_code(code: u8) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Invalid => "invalid",
            Status::Interrupted => "interrupted",
        }
    }

    fn rank(self) -> usize {
        Status::ALL
            .iter()
            .position(|s| *s == self)
            .expect("every status is in ALL")
    }

    /// The worse of two statuses (module docs give the order).
    #[must_use]
    pub fn and(self, other: Status) -> Status {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// The worst of several statuses; `pass` for none.
    pub fn worst(all: impl IntoIterator<Item = Status>) -> Status {
        all.into_iter().fold(Status::Pass, Status::and)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a report file holds: `compare` refuses to compare different kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `conform --json`: one target or a matrix of targets.
    Conformance,
    /// `load` (`load.json`): one run, or several under `runs` (`--repeat`).
    Load,
    /// `run` (`report.json`): the catalogue and a scenario against one target.
    Run,
    /// `fuzz-auth --json`.
    FuzzAuth,
    /// `compare --json`.
    Comparison,
}

impl Kind {
    /// Name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Conformance => "conformance",
            Kind::Load => "load",
            Kind::Run => "run",
            Kind::FuzzAuth => "fuzz-auth",
            Kind::Comparison => "comparison",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_status_wins_in_the_documented_order() {
        use Status::*;
        assert_eq!(Status::worst([]), Pass);
        assert_eq!(Status::worst([Pass, Invalid]), Invalid);
        assert_eq!(Status::worst([Invalid, Error]), Error);
        assert_eq!(
            Status::worst([Error, Fail]),
            Fail,
            "a failure is never hidden"
        );
        assert_eq!(Status::worst([Fail, Interrupted, Pass]), Interrupted);
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
    }
}
