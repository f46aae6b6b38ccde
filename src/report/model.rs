//! The JSON documents every subcommand writes, as typed structs serialised
//! with serde (no hand-assembled JSON). Each carries `schema_version`,
//! `kind` (so `compare` can refuse reports of different kinds), `status`
//! and `interrupted`. The load documents are [`crate::load::LoadResult`]
//! and [`crate::load::repeat::Repeated`] themselves; the comparison is
//! [`crate::gate::render::ComparisonDoc`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Report;
use crate::conformance::Verdict;
use crate::load::LoadResult;
use crate::status::{Kind, Status};

/// The conformance report format version (2 added `n/a` and the matrix;
/// 3 added `kind`, `status`, `interrupted` and `target.id`).
pub const CONFORMANCE_SCHEMA_VERSION: u64 = 3;

/// Where a report's target is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetDoc {
    /// Name in the matrix (`reference` for the bundled server).
    pub name: String,
    /// WebSocket base URL.
    pub ws: String,
    /// REST base URL.
    pub rest: String,
    /// What identifies the target across reports: `bundled`, or its WebSocket base.
    pub id: String,
}

/// A case's spec reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecDoc {
    /// `protocol`, `auth-signatures`, `rest-api` or `webhooks`.
    pub doc: String,
    /// Section slug.
    pub slug: String,
    /// Section heading.
    pub section: String,
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDoc {
    /// `doc/section/case`.
    pub id: String,
    /// Where the requirement is written.
    pub spec: SpecDoc,
    /// `must` or `should`.
    pub level: String,
    /// One sentence.
    pub requirement: String,
    /// `pass`, `fail`, `warn`, `error`, `skip` or `n/a`.
    pub verdict: String,
    /// Listed in `--known-deviations`.
    pub known_deviation: bool,
    /// Wall time.
    pub duration_ms: u64,
    /// What the requirement asks for (`fail`, `warn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What the target did (`fail`, `warn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// The harness error chain or the reason (`error`, `skip`, `n/a`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A failure of this case is a security hole (an accepted forgery, a
    /// leak, a bypass).
    #[serde(default)]
    pub security: bool,
    /// Every frame and HTTP exchange of a `fail`, `warn` or `error` case, as
    /// lines `+<ms>ms <ws#n|http> <>|<> <payload>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Vec<String>>,
}

/// A conformance run against one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformanceDoc {
    /// [`CONFORMANCE_SCHEMA_VERSION`].
    pub schema_version: u64,
    /// Always `conformance`.
    pub kind: Kind,
    /// The status of this target.
    pub status: Status,
    /// Stopped by Ctrl-C or SIGTERM.
    pub interrupted: bool,
    /// The target.
    pub target: TargetDoc,
    /// Count per verdict.
    pub summary: BTreeMap<String, usize>,
    /// How many failed or warned cases are security holes.
    #[serde(default)]
    pub security_failures: usize,
    /// Cases in catalogue order.
    pub cases: Vec<CaseDoc>,
}

/// A conformance run against several targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixDoc {
    /// [`CONFORMANCE_SCHEMA_VERSION`].
    pub schema_version: u64,
    /// Always `conformance`.
    pub kind: Kind,
    /// The worst status of the targets.
    pub status: Status,
    /// Stopped by Ctrl-C or SIGTERM.
    pub interrupted: bool,
    /// One report per target, in the order given.
    pub targets: Vec<ConformanceDoc>,
}

/// `run`'s `report.json`: the catalogue and the scenario against one target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunDoc {
    /// [`CONFORMANCE_SCHEMA_VERSION`].
    pub schema_version: u64,
    /// Always `run`.
    pub kind: Kind,
    /// The worse of the two halves.
    pub status: Status,
    /// Its exit code.
    pub exit_code: u8,
    /// Stopped by Ctrl-C or SIGTERM.
    pub interrupted: bool,
    /// The conformance half.
    pub conformance: ConformanceDoc,
    /// The load half.
    pub load: LoadResult,
}

/// The document of one conformance report.
pub fn conformance(report: &Report) -> ConformanceDoc {
    let s = report.summary();
    let cases = report
        .cases
        .iter()
        .map(|c| CaseDoc {
            id: c.id.clone(),
            spec: SpecDoc {
                doc: c.spec.doc.slug().into(),
                slug: c.spec.slug.into(),
                section: c.spec.section.into(),
            },
            level: c.level.as_str().into(),
            requirement: c.requirement.clone(),
            verdict: c.verdict.as_str().into(),
            known_deviation: report.known_deviations.contains(&c.id),
            duration_ms: c.duration.as_millis() as u64,
            expected: c.expected.clone(),
            actual: c.actual.clone(),
            message: c.message.clone(),
            security: c.security,
            transcript: matches!(c.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error)
                .then(|| c.transcript_lines()),
        })
        .collect();
    ConformanceDoc {
        schema_version: CONFORMANCE_SCHEMA_VERSION,
        kind: Kind::Conformance,
        status: report.status(),
        interrupted: report.interrupted,
        target: TargetDoc {
            name: report.target_name.clone(),
            ws: report.ws.clone(),
            rest: report.rest.clone(),
            id: report.target_id.clone(),
        },
        summary: Verdict::ALL
            .iter()
            .map(|v| (v.as_str().to_owned(), s.count(*v)))
            .collect(),
        security_failures: report.cases.iter().filter(|c| c.security_failure()).count(),
        cases,
    }
}

/// The document of several conformance reports.
pub fn matrix(reports: &[Report]) -> MatrixDoc {
    MatrixDoc {
        schema_version: CONFORMANCE_SCHEMA_VERSION,
        kind: Kind::Conformance,
        status: Status::worst(reports.iter().map(Report::status)),
        interrupted: reports.iter().any(|r| r.interrupted),
        targets: reports.iter().map(conformance).collect(),
    }
}

/// The document of a `run`.
pub fn run(conformance_report: &Report, load: &LoadResult) -> RunDoc {
    let status = conformance_report.status().and(load.verdict);
    RunDoc {
        schema_version: CONFORMANCE_SCHEMA_VERSION,
        kind: Kind::Run,
        status,
        exit_code: status.code(),
        interrupted: conformance_report.interrupted || load.interrupted,
        conformance: conformance(conformance_report),
        load: load.clone(),
    }
}

/// Pretty JSON of any document (serialising these types cannot fail).
pub fn to_json<T: Serialize>(doc: &T) -> String {
    serde_json::to_string_pretty(doc).expect("report documents always serialise")
}

/// One family's cases in `fuzz-auth --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyDoc {
    /// `channel`, `signin` or `rest`.
    pub family: String,
    /// Valid cases sent.
    pub valid: u64,
    /// Tampered cases sent.
    pub tampered: u64,
    /// The shrunk counterexample, if the target got one wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<CounterexampleDoc>,
}

/// A counterexample in `fuzz-auth --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterexampleDoc {
    /// Index of the case in the run (with the seed, it regenerates the case).
    pub index: u64,
    /// The minimal case.
    pub minimal: String,
    /// `accepted` or `refused`: what a correct target does.
    pub expected: String,
    /// What the target answered.
    pub answer: String,
    /// How to send it again by hand.
    pub reproduce: String,
}

/// `fuzz-auth --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FuzzDoc {
    /// Format version.
    pub schema_version: u32,
    /// Always `fuzz-auth`.
    pub kind: Kind,
    /// `pass`, `fail` (a counterexample) or `interrupted`.
    pub status: Status,
    /// Stopped by Ctrl-C or SIGTERM before the run finished.
    pub interrupted: bool,
    /// The target's WebSocket base.
    pub target: String,
    /// The seed.
    pub seed: u64,
    /// Cases per second of the main phase.
    pub cases_per_second: f64,
    /// Per family.
    pub families: Vec<FamilyDoc>,
}

/// The document of a `fuzz-auth` run (`None`: interrupted).
pub fn fuzz(
    target: &crate::target::Target,
    seed: u64,
    outcome: Option<&crate::fuzz::Outcome>,
) -> FuzzDoc {
    let families = outcome.map_or_else(Vec::new, |o| {
        o.counts
            .iter()
            .map(|(family, c)| FamilyDoc {
                family: family.as_str().into(),
                valid: c.valid,
                tampered: c.tampered,
                counterexample: o.counterexamples.get(family).map(|cx| CounterexampleDoc {
                    index: cx.index,
                    minimal: format!("{:?}", cx.minimal),
                    expected: if cx.minimal.is_valid() {
                        "accepted"
                    } else {
                        "refused"
                    }
                    .into(),
                    answer: format!("{:?}", cx.execution.answer),
                    reproduce: cx.execution.sent.reproduce(),
                }),
            })
            .collect()
    });
    let status = match outcome {
        None => Status::Interrupted,
        Some(o) if o.counterexamples.is_empty() => Status::Pass,
        Some(_) => Status::Fail,
    };
    FuzzDoc {
        schema_version: 1,
        kind: Kind::FuzzAuth,
        status,
        interrupted: outcome.is_none(),
        target: target.ws_base.clone(),
        seed,
        cases_per_second: outcome.map_or(0.0, crate::fuzz::Outcome::cases_per_second),
        families,
    }
}
