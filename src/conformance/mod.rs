//! The conformance catalogue: cases as data (STYLE 2.3), the registry, the
//! context a case runs in, and the parallel runner.

mod cases;
mod ctx;
pub mod monitor;
mod observe;
mod runner;
pub mod spec;

use std::future::Future;
use std::pin::Pin;

pub use ctx::{Ctx, Env};
pub use runner::{CaseResult, RunOptions, run, skipped};

use crate::client::{ClientError, ExpectError, RestError};

/// The future a case returns.
pub type CaseFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// One checkable requirement of a Pusher spec section.
#[derive(Debug)]
pub struct Case {
    /// Stable id `doc/section-slug/case-slug`. Never renumbered.
    pub id: &'static str,
    /// Where the requirement is written.
    pub spec: SpecRef,
    /// MUST / SHOULD, from the spec's evidence labels (F = Must, W = Should).
    pub level: Level,
    /// One sentence saying what the target must do.
    pub requirement: &'static str,
    /// The case waits out a server timeout (activity, REST window, cache
    /// TTL, vacate hold): opt-in against external targets, and it runs
    /// under [`RunOptions::slow_case_deadline`].
    pub slow: bool,
    /// A failure is a security hole (an accepted forgery, a leak to a
    /// party that must not see it, a bypass), not only a deviation.
    pub security: bool,
    /// Runs the check with a fresh context; must not share state with other cases.
    pub run: fn(Ctx) -> CaseFuture,
}

/// `slug` is our short, stable name for the section, used in case ids;
/// `section` is the heading of `shared/spec/pusher-protocol.md` (read 2026-11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecRef {
    /// Which document.
    pub doc: Doc,
    /// Section slug used in ids.
    pub slug: &'static str,
    /// Section heading as written in the spec.
    pub section: &'static str,
}

/// The documents cases cite (the first segment of a case id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Doc {
    /// The WebSocket protocol (spec 1-4, 6, 7, 10).
    Protocol,
    /// Auth signatures (spec 5).
    AuthSignatures,
    /// The HTTP API (spec 8).
    RestApi,
    /// Webhooks (spec 9).
    Webhooks,
    /// The rules of every section again, across the nodes of a cluster
    /// (each case cites the section of its rule).
    Cluster,
}

impl Doc {
    /// The id segment.
    pub fn slug(self) -> &'static str {
        match self {
            Doc::Protocol => "protocol",
            Doc::AuthSignatures => "auth-signatures",
            Doc::RestApi => "rest-api",
            Doc::Webhooks => "webhooks",
            Doc::Cluster => "cluster",
        }
    }
}

/// How binding a requirement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// A broken MUST fails.
    Must,
    /// A broken SHOULD warns (fails under `--strict`).
    Should,
}

impl Level {
    /// `must` / `should`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
        }
    }
}

/// The harness could not run a case.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The WebSocket client failed.
    #[error("websocket client error")]
    Client(#[source] ClientError),
    /// The REST client failed.
    #[error("rest client error")]
    Rest(#[source] RestError),
    /// The case overran its deadline.
    #[error("case did not finish within {0} ms")]
    Deadline(u128),
    /// The case task panicked.
    #[error("case panicked: {0}")]
    Panicked(String),
    /// A setup step of the case (not what it checks) was refused, so the
    /// requirement could not be checked: an error, never a failure.
    #[error("setup step {step} was refused: expected {expected}, got {actual}")]
    Setup {
        /// The step, such as `connect`.
        step: &'static str,
        /// What the step needed.
        expected: String,
        /// What the target did.
        actual: String,
    },
    /// A node of the target could not be killed, frozen, resumed or started.
    #[error("node lifecycle")]
    Lifecycle(#[source] Box<crate::target::LifecycleError>),
    /// A node of the target has an address no client can use.
    #[error("bad node address")]
    Node(#[source] Box<crate::target::TargetError>),
    /// The sentinel of an absence check could not be published, so nothing
    /// can be concluded from what did not arrive.
    #[error("cannot publish the sentinel on {channel}: {response}")]
    Sentinel {
        /// The sentinel's channel.
        channel: String,
        /// The REST answer.
        response: String,
    },
}

/// What a case returns.
pub type Outcome = Result<(), Failure>;

/// Why a case did not pass.
#[derive(Debug)]
pub enum Failure {
    /// The target broke the requirement. JUnit `<failure>`.
    Violation {
        /// What the requirement asks for.
        expected: String,
        /// What the target did.
        actual: String,
    },
    /// The harness could not run the case. JUnit `<error>`.
    Harness(HarnessError),
    /// The case does not apply to this target's profile (a feature it does
    /// not enable, an app it does not list). JUnit `<skipped>`.
    NotApplicable(&'static str),
    /// The case applies but was not run (a slow case without `--slow`).
    /// JUnit `<skipped>`.
    Skip(&'static str),
}

impl Failure {
    /// Shorthand for a violation.
    pub fn violation(expected: impl Into<String>, actual: impl Into<String>) -> Failure {
        Failure::Violation {
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

impl From<ExpectError> for Failure {
    fn from(e: ExpectError) -> Failure {
        match e {
            ExpectError::Violation { expected, actual } => Failure::Violation { expected, actual },
            ExpectError::Client(c) => Failure::Harness(HarnessError::Client(c)),
            ExpectError::Rest(r) => Failure::Harness(HarnessError::Rest(r)),
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        Failure::Harness(HarnessError::Client(e))
    }
}

impl From<crate::target::LifecycleError> for Failure {
    fn from(e: crate::target::LifecycleError) -> Failure {
        Failure::Harness(HarnessError::Lifecycle(Box::new(e)))
    }
}

impl From<RestError> for Failure {
    fn from(e: RestError) -> Failure {
        Failure::Harness(HarnessError::Rest(e))
    }
}

/// Derived by the runner from Outcome and Level.
/// A broken SHOULD is Warn, or Fail under --strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// Requirement met.
    Pass,
    /// A MUST broken (or a SHOULD under `--strict`).
    Fail,
    /// A SHOULD broken.
    Warn,
    /// The harness could not check.
    Error,
    /// The case applies but was not run: excluded, or slow without `--slow`.
    Skip,
    /// The case does not apply to the target's capability profile.
    NotApplicable,
}

impl Verdict {
    /// Every verdict, in report order.
    pub const ALL: [Verdict; 6] = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::Warn,
        Verdict::Error,
        Verdict::Skip,
        Verdict::NotApplicable,
    ];

    /// `pass` / `fail` / `warn` / `error` / `skip` / `n/a`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Warn => "warn",
            Verdict::Error => "error",
            Verdict::Skip => "skip",
            Verdict::NotApplicable => "n/a",
        }
    }

    /// Parses [`Verdict::as_str`] output.
    pub fn parse(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Every case, in spec order.
pub fn registry() -> Vec<Case> {
    cases::all()
}

/// A case selector or `--exclude` prefix that matches no case (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{flag} {prefix:?} matches no case id; closest: {}", closest.join(", "))]
pub struct NoMatch {
    /// `selector` or `--exclude`.
    pub flag: &'static str,
    /// The prefix given.
    pub prefix: String,
    /// The most similar case ids and sections.
    pub closest: Vec<String>,
}

/// The ids and section prefixes (`doc/slug`) most similar to `prefix`.
pub fn closest(cases: &[Case], prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = cases.iter().map(|c| c.id.to_owned()).collect();
    names.extend(
        cases
            .iter()
            .map(|c| format!("{}/{}", c.spec.doc.slug(), c.spec.slug)),
    );
    names.sort();
    names.dedup();
    let mut scored: Vec<(f64, String)> = names
        .into_iter()
        .map(|n| (strsim::jaro_winkler(prefix, &n), n))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

/// [`select`], refusing a prefix of `include` or `exclude` that matches no case.
pub fn select_checked<'a>(
    cases: &'a [Case],
    include: &[String],
    exclude: &[String],
) -> Result<Vec<&'a Case>, NoMatch> {
    let lists = [("selector", include), ("--exclude", exclude)];
    for (flag, list) in lists {
        for p in list {
            if !cases.iter().any(|c| c.id.starts_with(p.as_str())) {
                return Err(NoMatch {
                    flag,
                    prefix: p.clone(),
                    closest: closest(cases, p),
                });
            }
        }
    }
    Ok(select(cases, include, exclude))
}

/// Cases whose id starts with any of `include` (all if empty) and none of `exclude`.
pub fn select<'a>(cases: &'a [Case], include: &[String], exclude: &[String]) -> Vec<&'a Case> {
    cases
        .iter()
        .filter(|c| include.is_empty() || include.iter().any(|p| c.id.starts_with(p.as_str())))
        .filter(|c| !exclude.iter().any(|p| c.id.starts_with(p.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_well_formed_and_prefixed_by_their_section() {
        let cases = registry();
        let mut seen = HashSet::new();
        for c in &cases {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            let parts: Vec<&str> = c.id.split('/').collect();
            assert_eq!(parts.len(), 3, "{} is not doc/slug/slug", c.id);
            for p in parts {
                assert!(
                    !p.is_empty()
                        && p.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                    "{}",
                    c.id
                );
            }
            assert!(
                c.id.starts_with(&format!("{}/{}/", c.spec.doc.slug(), c.spec.slug)),
                "{}",
                c.id
            );
        }
    }

    #[test]
    fn the_coverage_matrix_names_real_cases_and_every_case_checks_a_rule() {
        let cases = registry();
        let ids: HashSet<&str> = cases.iter().map(|c| c.id).collect();
        let mut named = HashSet::new();
        for s in spec::SECTIONS {
            assert!(!s.rules.is_empty(), "{} has no rules", s.number);
            for r in s.rules {
                match r.coverage {
                    spec::Coverage::Cases(list) => {
                        for id in list {
                            assert!(ids.contains(id), "{} names {id}, not a case", s.number);
                            named.insert(*id);
                        }
                    }
                    spec::Coverage::NotCovered(reason) => assert!(!reason.is_empty()),
                }
            }
        }
        let unnamed: Vec<&&str> = ids.iter().filter(|id| !named.contains(**id)).collect();
        assert!(unnamed.is_empty(), "cases no rule names: {unnamed:?}");
    }

    #[test]
    fn a_prefix_matching_nothing_is_refused_with_the_closest_ids() {
        let cases = registry();
        let err = select_checked(&cases, &["protocol/ping-pongg".into()], &[])
            .expect_err("no case id starts with it");
        assert!(
            err.closest
                .iter()
                .any(|c| c.starts_with("protocol/ping-pong")),
            "{err}"
        );
        let err = select_checked(&cases, &[], &["nope".into()]).expect_err("exclude");
        assert_eq!(err.flag, "--exclude");
        assert!(select_checked(&cases, &["protocol/".into()], &[]).is_ok());
    }

    #[test]
    fn every_forgery_and_signature_binding_case_is_marked_as_security() {
        let cases = registry();
        for c in &cases {
            let forgery = c.id.starts_with("auth-signatures/forgery/")
                || c.id.contains("/anchored-infix-")
                || c.id.starts_with("rest-api/auth/missing-auth-signature");
            assert!(!forgery || c.security, "{} is a forgery case", c.id);
        }
        let marked = cases.iter().filter(|c| c.security).count();
        assert!(marked >= 60, "{marked} security cases");
    }

    #[test]
    fn selection_works_by_prefix_with_exclusions() {
        let cases = registry();
        let picked = select(
            &cases,
            &["protocol/ping-pong".into()],
            &["protocol/ping-pong/ws".into()],
        );
        assert!(!picked.is_empty());
        assert!(
            picked
                .iter()
                .all(|c| c.id.starts_with("protocol/ping-pong/")
                    && !c.id.starts_with("protocol/ping-pong/ws"))
        );
    }
}
