//! JSON rendering.
//!
//! # Format
//!
//! `schema_version` 1. Top level: `schema_version` (integer), `target`
//! (`name`, `ws`, `rest`), `summary` (`pass`, `fail`, `warn`, `error`, `skip`
//! counts) and `cases`, an array in catalogue order of objects with `id`,
//! `spec` (`doc`, `slug`, `section`), `level` (`must`/`should`), `requirement`,
//! `verdict` (`pass`/`fail`/`warn`/`error`/`skip`), `known_deviation`
//! (bool), optional `expected`, `actual` (violations) and `message` (skip
//! reason or harness error), and `duration_ms`. The JSON Schema is
//! `schemas/conformance-report.schema.json`. Breaking changes bump
//! `schema_version`.

use serde_json::{Value, json};

use super::Report;

/// The schema version written.
pub const SCHEMA_VERSION: u64 = 1;

/// Renders the report as a JSON value.
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
            });
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
    json!({
        "schema_version": SCHEMA_VERSION,
        "target": {"name": report.target_name, "ws": report.ws, "rest": report.rest},
        "summary": {"pass": s.pass, "fail": s.fail, "warn": s.warn, "error": s.error, "skip": s.skip},
        "cases": cases,
    })
}
