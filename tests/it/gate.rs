//! `pushcheck compare` on real report files: the committed reference
//! baseline against itself and against a copy with one case broken.

use std::path::PathBuf;

use clap::Parser;
use pushcheck::cli::{Cli, CliError, run_cli};
use pushcheck::status::Status;
use serde_json::Value;

const BASELINE: &str = "tests/fixtures/expected/reference-conformance.json";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pushcheck-gate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// `pushcheck compare ARGS`: the status, or the usage error. On a thread
/// of its own, so async tests can call it too.
pub(crate) fn try_compare(args: &[&str]) -> Result<Status, CliError> {
    let mut argv = vec!["pushcheck".to_owned(), "compare".to_owned()];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    let cli = Cli::parse_from(argv);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(run_cli(cli))
    })
    .join()
    .expect("compare does not panic")
}

pub(crate) fn compare(args: &[&str]) -> u8 {
    try_compare(args).expect("compare runs").code()
}

#[test]
fn the_baseline_compared_with_itself_passes() {
    assert_eq!(compare(&[BASELINE, BASELINE]), 0);
}

#[test]
fn a_case_that_stopped_passing_fails_the_gate_and_is_named_in_every_output() {
    let mut report: Value =
        serde_json::from_str(&std::fs::read_to_string(BASELINE).expect("fixture")).expect("json");
    let case = report["cases"]
        .as_array_mut()
        .expect("cases")
        .iter_mut()
        .find(|c| c["verdict"] == "pass")
        .expect("a passing case");
    case["verdict"] = "fail".into();
    let id = case["id"].as_str().expect("id").to_owned();
    let current = scratch("current.json");
    std::fs::write(&current, report.to_string()).expect("write");
    let (md, json) = (scratch("gate.md"), scratch("gate.json"));
    let code = compare(&[
        BASELINE,
        current.to_str().expect("utf-8 path"),
        "--markdown",
        md.to_str().expect("utf-8 path"),
        "--json",
        json.to_str().expect("utf-8 path"),
        "--gate",
        "correctness",
    ]);
    assert_eq!(code, 1);
    let md = std::fs::read_to_string(md).expect("markdown written");
    assert!(
        md.contains("FAIL: 1 regression") && md.contains(&id),
        "{md}"
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(json).expect("json written")).expect("json");
    assert_eq!(json["verdict"], "fail");
    assert_eq!(json["findings"][0]["item"], id.as_str());
}

#[test]
fn unreadable_inputs_are_usage_errors() {
    let args = try_compare;
    assert!(args(&["/nonexistent/a.json", BASELINE]).is_err());
    assert!(args(&[BASELINE, BASELINE, "--budget", "deliver.p99"]).is_err());
    let not_a_report = scratch("empty.json");
    std::fs::write(&not_a_report, "{}").expect("write");
    assert!(args(&[BASELINE, not_a_report.to_str().expect("utf-8 path")]).is_err());
}

#[test]
fn the_committed_ci_baseline_is_a_run_report_with_conformance_and_load() {
    let text = std::fs::read_to_string("ci/baseline.json").expect("ci baseline");
    let scopes = pushcheck::gate::snapshot::read("ci/baseline.json", &text).expect("readable");
    assert!(scopes.keys().any(|s| s.starts_with("conformance ")));
    let load = scopes.get("load smoke").expect("the smoke scenario");
    assert!(load.metrics.contains_key("deliver.p99"));
    assert_eq!(load.counters["deliveries.lost"], 0);
    assert_eq!(compare(&["ci/baseline.json", "ci/baseline.json"]), 0);
}

/// The committed baseline's smoke run, with `lost` set.
fn smoke_run(lost: u64) -> Value {
    let text = std::fs::read_to_string("ci/baseline.json").expect("ci baseline");
    let mut run = serde_json::from_str::<Value>(&text).expect("json")["load"].take();
    run["deliveries"]["lost"] = lost.into();
    run
}

#[test]
fn one_of_two_repeated_runs_losing_messages_is_a_regression() {
    let baseline = scratch("repeat-base.json");
    let current = scratch("repeat-lossy.json");
    let repeated = |runs: Vec<Value>| serde_json::json!({"schema_version": 2, "runs": runs});
    std::fs::write(
        &baseline,
        repeated(vec![smoke_run(0), smoke_run(0)]).to_string(),
    )
    .expect("write");
    std::fs::write(
        &current,
        repeated(vec![smoke_run(0), smoke_run(7)]).to_string(),
    )
    .expect("write");
    let (b, c) = (
        baseline.to_str().expect("utf-8 path"),
        current.to_str().expect("utf-8 path"),
    );
    assert_eq!(compare(&[b, b]), 0);
    let json = scratch("repeat-gate.json");
    let code = compare(&[
        b,
        c,
        "--gate",
        "correctness",
        "--json",
        json.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(code, 1);
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(json).expect("json written")).expect("json");
    assert_eq!(json["findings"][0]["item"], "deliveries.lost");
    assert_eq!(json["findings"][0]["severity"], "regression");
}
