//! The whole catalogue against the bundled reference server.

use std::time::Instant;

use crate::support::run_catalogue;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_runs_against_the_reference_server() {
    let start = Instant::now();
    let (results, _b, _sink) = run_catalogue(&[], |_| {}).await;
    for r in &results {
        if r.verdict != pushcheck::conformance::Verdict::Pass {
            eprintln!(
                "{} {:?} expected={:?} actual={:?} msg={:?}",
                r.id, r.verdict, r.expected, r.actual, r.message
            );
        }
    }
    eprintln!("{} cases in {:?}", results.len(), start.elapsed());
}
