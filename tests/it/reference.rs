//! The whole catalogue against the bundled reference server, compared with
//! the committed expected verdicts (STYLE 2.4), in under 60 s.

use std::time::{Duration, Instant};

use pushcheck::conformance::{CaseResult, Doc, Level, SpecRef, Verdict};
use pushcheck::report::{Report, json};
use serde_json::Value;

use crate::support::{run_catalogue, validate_schema};

fn schema() -> Value {
    serde_json::from_str(include_str!("../../schemas/conformance-report.schema.json"))
        .expect("the schema is JSON")
}

pub(crate) fn check(value: &Value) -> Result<(), String> {
    let schema = schema();
    validate_schema(&schema, &schema, value, "")
}

fn report(name: &str, cases: Vec<CaseResult>) -> Report {
    Report {
        target_name: name.into(),
        ws: "ws://127.0.0.1:1".into(),
        rest: "http://127.0.0.1:1".into(),
        cases,
        known_deviations: ["protocol/s/fail".to_owned()].into(),
        target_id: "ws://127.0.0.1:1".into(),
        interrupted: false,
    }
}

fn every_verdict() -> Vec<CaseResult> {
    Verdict::ALL
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
                level: Level::Should,
                requirement: "Do it.".into(),
                verdict: *v,
                expected: violated.then(|| "a".into()),
                actual: violated.then(|| "b".into()),
                message: (!violated && *v != Verdict::Pass).then(|| "why".into()),
                duration: Duration::from_millis(1),
                security: false,
                transcript: Vec::new(),
            }
        })
        .collect()
}

#[test]
fn json_reports_of_every_verdict_and_matrices_validate_against_the_schema() {
    let one = report("a", every_verdict());
    check(&json::render(&one)).expect("one report validates");
    let matrix = json::render_all(&[one.clone(), report("b", every_verdict())]);
    check(&matrix).expect("a matrix validates");
    let mut broken = json::render(&one);
    broken["cases"][0]["verdict"] = Value::from("maybe");
    assert!(check(&broken).is_err(), "an unknown verdict is refused");
    let mut broken = json::render(&one);
    broken["summary"]
        .as_object_mut()
        .expect("summary object")
        .remove("n/a");
    assert!(check(&broken).is_err(), "a missing count is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_matches_the_expected_verdicts_and_every_fault_is_caught() {
    let start = Instant::now();
    let (results, _b, _sink) = run_catalogue(&[], |_| {}).await;
    let elapsed = start.elapsed();
    let expected: Value = serde_json::from_str(include_str!(
        "../fixtures/expected/reference-conformance.json"
    ))
    .expect("fixture is JSON");
    let want: Vec<(String, String)> = expected["cases"]
        .as_array()
        .expect("cases array")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or("").to_owned(),
                c["verdict"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let got: Vec<(String, String)> = results
        .iter()
        .map(|r| (r.id.clone(), r.verdict.as_str().to_owned()))
        .collect();
    for (r, w) in results.iter().zip(&want) {
        if r.verdict.as_str() != w.1 {
            eprintln!(
                "{}: {:?} expected={:?} actual={:?} msg={:?}",
                r.id, r.verdict, r.expected, r.actual, r.message
            );
        }
    }
    assert_eq!(got, want);
    let rendered = json::render(&report("reference", results.clone()));
    check(&rendered).expect("the reference run's JSON report validates");
    eprintln!("{} cases in {elapsed:?}", results.len());
    assert!(
        elapsed < Duration::from_secs(60),
        "catalogue took {elapsed:?}"
    );
    crate::faults::every_case_fails_against_a_fault_that_breaks_its_rule().await;
    crate::catalogue::the_catalogue_gives_the_same_verdicts_with_delayed_delivery(&want).await;
}
