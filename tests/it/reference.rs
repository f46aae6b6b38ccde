//! The whole catalogue against the bundled reference server, compared with
//! the committed expected verdicts (STYLE 2.4), in under 60 s.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::run_catalogue;

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
    eprintln!("{} cases in {elapsed:?}", results.len());
    assert!(
        elapsed < Duration::from_secs(60),
        "catalogue took {elapsed:?}"
    );
    crate::faults::every_case_fails_against_a_fault_that_breaks_its_rule().await;
}
