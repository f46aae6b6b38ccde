//! JSON rendering.
//!
//! # Format
//!
//! `schema_version` 3 (2 added the `n/a` verdict and the multi-target
//! document; 3 added `kind`, `status`, `interrupted` and `target.id`). The JSON Schema is `schemas/conformance-report.schema.json`;
//! a test validates rendered reports against it. Breaking changes bump
//! `schema_version`.
//!
//! A run against one target writes one **report** object:
//!
//! - `schema_version`: integer, `3`.
//! - `kind`: `"conformance"`.
//! - `status`: `pass`, `fail`, `error` or `interrupted` (see [`crate::status`]).
//! - `interrupted`: bool, stopped by Ctrl-C or SIGTERM (unfinished cases are `skip`).
//! - `target`: `name`, `ws` (WebSocket base URL), `rest` (REST base URL),
//!   `id` (`bundled`, or the WebSocket base: what `compare` matches).
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
//! given, each complete with its own `schema_version`, plus the matrix's own
//! `kind`, `status` (the worst target's) and `interrupted`.
//!
//! ```json
//! {
//!   "schema_version": 3,
//!   "kind": "conformance",
//!   "status": "pass",
//!   "interrupted": false,
//!   "target": {"name": "reference", "ws": "ws://127.0.0.1:6001", "rest": "http://127.0.0.1:6001", "id": "bundled"},
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

use serde_json::Value;

use super::Report;
use super::model;

/// The schema version written.
pub const SCHEMA_VERSION: u64 = model::CONFORMANCE_SCHEMA_VERSION;

/// Renders one report as a JSON value (from [`model::ConformanceDoc`]).
pub fn render(report: &Report) -> Value {
    serde_json::to_value(model::conformance(report)).expect("report documents always serialise")
}

/// Renders the reports of a run: one report object for one target, a matrix
/// object for several.
pub fn render_all(reports: &[Report]) -> Value {
    let value = match reports {
        [one] => serde_json::to_value(model::conformance(one)),
        many => serde_json::to_value(model::matrix(many)),
    };
    value.expect("report documents always serialise")
}
