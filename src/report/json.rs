//! JSON rendering.
//!
//! # Format
//!
//! `schema_version` 2 (2 added the `n/a` verdict and the multi-target
//! document). The JSON Schema is `schemas/conformance-report.schema.json`;
//! a test validates rendered reports against it. Breaking changes bump
//! `schema_version`.
//!
//! A run against one target writes one **report** object:
//!
//! - `schema_version`: integer, `2`.
//! - `target`: `name`, `ws` (WebSocket base URL), `rest` (REST base URL).
//! - `summary`: a count per verdict, keyed `pass`, `fail`, `warn`, `error`,
//!   `skip`, `n/a`.
//! - `cases`: an array in catalogue order. Each case has `id`
//!   (`doc/section/case`), `spec` (`doc`, `slug`, `section`), `level`
//!   (`must` or `should`), `requirement` (one sentence), `verdict`,
//!   `known_deviation` (bool: listed in `--known-deviations`) and
//!   `duration_ms`; a `fail` or `warn` adds `expected` and `actual`; an
//!   `error`, `skip` or `n/a` adds `message` (the harness error chain or the
//!   reason). `security` (bool) says whether a failure of the case is a
//!   security hole (an accepted forgery, a leak, a bypass); a `fail`, `warn`
//!   or `error` adds `transcript`, every frame and HTTP exchange of the case
//!   as lines `+<ms>ms <ws#n|http> <>|<> <payload>`.
//! - `security_failures`: how many failed or warned cases are security holes.
//!
//! Verdicts: `pass`; `fail` (a MUST broken, or a SHOULD under `--strict`);
//! `warn` (a SHOULD broken); `error` (the harness could not check); `skip`
//! (applies but was not run: excluded, or slow without `--slow`); `n/a` (the
//! target's profile does not enable what the case needs).
//!
//! A run against several targets (`--target name=URL` repeated, or
//! `--target-config`) writes one **matrix** object: `schema_version` and
//! `targets`, an array of report objects in the order the targets were
//! given, each complete with its own `schema_version`.
//!
//! ```json
//! {
//!   "schema_version": 2,
//!   "target": {"name": "reference", "ws": "ws://127.0.0.1:6001", "rest": "http://127.0.0.1:6001"},
//!   "summary": {"pass": 1, "fail": 0, "warn": 0, "error": 0, "skip": 0, "n/a": 0},
//!   "cases": [{
//!     "id": "protocol/ping-pong/app-ping",
//!     "spec": {"doc": "protocol", "slug": "ping-pong", "section": "3. Liveness: ping, pong, activity timeout"},
//!     "level": "must",
//!     "requirement": "pusher:ping is answered with pusher:pong as the next frame.",
//!     "verdict": "pass",
//!     "known_deviation": false,
//!     "duration_ms": 3
//!   }]
//! }
//! ```

use serde_json::{Map, Value, json};

use super::Report;
use crate::conformance::Verdict;

/// The schema version written.
pub const SCHEMA_VERSION: u64 = 2;

/// Renders one report as a JSON value.
pub fn render(report: &Report) -> Value {
    let s = report.summary();
    let cases: Vec<Value> = report
        .cases
        .iter()
        .map(|c| {
            let mut v = json!({
                "id": c.id,
                "spec": {"doc": c.spec.doc.slug(), "slug": c.spec.slug, "section": c.spec.section},
                "level": c.level.as_str(),
                "requirement": c.requirement,
                "verdict": c.verdict.as_str(),
                "known_deviation": report.known_deviations.contains(&c.id),
                "duration_ms": c.duration.as_millis() as u64,
                "security": c.security,
            });
            if matches!(c.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error) {
                v["transcript"] = json!(c.transcript_lines());
            }
            for (k, val) in [
                ("expected", &c.expected),
                ("actual", &c.actual),
                ("message", &c.message),
            ] {
                if let Some(val) = val {
                    v[k] = json!(val);
                }
            }
            v
        })
        .collect();
    let summary: Map<String, Value> = Verdict::ALL
        .iter()
        .map(|v| (v.as_str().to_owned(), json!(s.count(*v))))
        .collect();
    json!({
        "schema_version": SCHEMA_VERSION,
        "target": {"name": report.target_name, "ws": report.ws, "rest": report.rest},
        "summary": summary,
        "security_failures": report.cases.iter().filter(|c| c.security_failure()).count(),
        "cases": cases,
    })
}

/// Renders the reports of a run: one report object for one target, a matrix
/// object for several.
pub fn render_all(reports: &[Report]) -> Value {
    match reports {
        [one] => render(one),
        many => json!({
            "schema_version": SCHEMA_VERSION,
            "targets": many.iter().map(render).collect::<Vec<_>>(),
        }),
    }
}
