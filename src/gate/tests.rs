use std::collections::BTreeMap;

use super::*;

fn conf(cases: &[(&str, &str, bool)]) -> BTreeMap<String, Snapshot> {
    let mut s = Snapshot::default();
    for (id, v, known) in cases {
        s.verdicts.insert((*id).into(), ((*v).into(), *known));
    }
    BTreeMap::from([("conformance reference".to_owned(), s)])
}

fn load(p99: &[f64], lost: u64) -> BTreeMap<String, Snapshot> {
    let mut s = Snapshot::default();
    s.counters.insert("deliveries.lost".into(), lost);
    s.metrics.insert(
        "deliver.p99".into(),
        Metric {
            samples: p99.to_vec(),
            unit: "us",
            better: Better::Lower,
        },
    );
    BTreeMap::from([("load fanout".to_owned(), s)])
}

fn items(c: &Comparison, severity: Severity) -> Vec<String> {
    c.findings
        .iter()
        .filter(|f| f.severity == severity)
        .map(|f| f.item.clone())
        .collect()
}

#[test]
fn a_case_that_stopped_passing_or_newly_fails_is_a_regression() {
    let base = conf(&[
        ("a", "pass", false),
        ("b", "skip", false),
        ("c", "fail", false),
        ("d", "pass", false),
        ("e", "pass", false),
    ]);
    let cur = conf(&[
        ("a", "fail", false),
        ("b", "fail", false),
        ("c", "pass", false),
        ("d", "pass", false),
        ("e", "fail", true),
        ("f", "error", false),
    ]);
    let c = compare(&base, &cur, &Budget::default(), GateMode::All);
    assert_eq!(items(&c, Severity::Regression), ["a", "b", "f"]);
    assert_eq!(items(&c, Severity::Improvement), ["c"]);
    assert_eq!(items(&c, Severity::Note), ["e"]);
    assert_eq!(c.exit_code(), 1);
    assert_eq!(
        compare(&base, &base, &Budget::default(), GateMode::All).exit_code(),
        0
    );
}

#[test]
fn timing_gates_on_the_median_within_budget_and_only_in_all_mode() {
    let base = load(&[100.0, 101.0, 99.0], 0);
    let slower = load(&[130.0, 120.0, 125.0], 0);
    let c = compare(&base, &slower, &Budget::default(), GateMode::All);
    assert_eq!(items(&c, Severity::Regression), ["deliver.p99"]);
    let c = compare(&base, &slower, &Budget::default(), GateMode::Correctness);
    assert_eq!(c.exit_code(), 0);
    assert!(render::text(&c).contains("25.0% worse"));
    let mut generous = Budget::default();
    generous.metrics.insert("deliver.p99".into(), 30.0);
    assert_eq!(
        compare(&base, &slower, &generous, GateMode::All).exit_code(),
        0
    );
}

#[test]
fn lost_messages_gate_even_in_correctness_mode_and_wide_spread_is_not_judged() {
    let base = load(&[100.0], 0);
    let c = compare(
        &base,
        &load(&[100.0], 3),
        &Budget::default(),
        GateMode::Correctness,
    );
    assert_eq!(items(&c, Severity::Regression), ["deliveries.lost"]);
    let noisy = load(&[100.0, 300.0, 150.0], 0);
    let c = compare(&base, &noisy, &Budget::default(), GateMode::All);
    assert_eq!(c.exit_code(), 0);
    assert!(matches!(c.findings[0].change, Change::TooNoisy { .. }));
    assert!(render::markdown(&c).contains("too noisy to judge"));
}

#[test]
fn medians_and_spreads() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    assert_eq!(spread_percent(&[90.0, 100.0, 110.0]), 20.0);
    assert_eq!(spread_percent(&[5.0]), 0.0);
}

#[test]
fn pass_to_na_is_a_change_not_a_regression_while_pass_to_fail_or_error_is() {
    let base = conf(&[
        ("a", "pass", false),
        ("b", "pass", false),
        ("c", "pass", false),
        ("d", "n/a", false),
    ]);
    let cur = conf(&[
        ("a", "n/a", false),
        ("b", "fail", false),
        ("c", "error", false),
        ("d", "pass", false),
    ]);
    let c = compare(&base, &cur, &Budget::default(), GateMode::All);
    assert_eq!(items(&c, Severity::Regression), ["b", "c"]);
    assert_eq!(items(&c, Severity::Note), ["a", "d"]);
    let text = render::text(&c);
    assert!(text.contains("changed pass -> n/a"), "{text}");
    assert!(text.contains("changed n/a -> pass"), "{text}");
}

/// A load run as `load --json` writes it (the fields the gate reads).
fn run_json(p99: u64, valid: bool, accepted: &[(&str, u64)]) -> String {
    let attacks: Vec<String> = accepted
        .iter()
        .map(|(k, n)| format!(r#"{{"kind":"{k}","attempted":9,"rejected":0,"accepted":{n}}}"#))
        .collect();
    let names: Vec<String> = accepted.iter().map(|(k, _)| format!("\"{k}\"")).collect();
    format!(
        r#"{{"run":{{"scenario":"s","traffic_seconds":1.0}},
        "metrics":{{"deliver":{{"p50":10,"p99":{p99}}}}},
        "deliveries":{{"delivered":100,"lost":0}},
        "attacks":[{}],"accepted_attacks":[{}],
        "validity":{{"valid":{valid},"schedule_lag_p99_us":1,"bound_us":1}},
        "verdict":"{}","thresholds":[]}}"#,
        attacks.join(","),
        names.join(","),
        if valid { "pass" } else { "invalid" }
    )
}

fn read_runs(runs: &[String]) -> BTreeMap<String, Snapshot> {
    snapshot::read("r.json", &format!(r#"{{"runs":[{}]}}"#, runs.join(","))).expect("reads")
}

#[test]
fn timing_of_an_invalid_run_is_not_judged_but_correctness_is() {
    let base = read_runs(&[run_json(100, true, &[])]);
    let cur = read_runs(&[run_json(900, false, &[("wrong-secret", 3)])]);
    assert_eq!(cur["load s"].invalid_runs, 1);
    assert!(
        cur["load s"].metrics.is_empty(),
        "no timing from an invalid run"
    );
    let c = compare(&base, &cur, &Budget::default(), GateMode::All);
    assert_eq!(items(&c, Severity::Regression), ["attack wrong-secret"]);
    let text = render::text(&c);
    assert!(
        text.contains("not judged from invalid runs") && text.contains("1 of 1 current"),
        "{text}"
    );
    assert!(!text.contains("deliver.p99"), "{text}");
    // One valid run of two still gives a median, from the valid run only.
    let mixed = read_runs(&[run_json(100, true, &[]), run_json(900, false, &[])]);
    assert_eq!(mixed["load s"].metrics["deliver.p99"].samples, vec![100.0]);
    let c = compare(&base, &mixed, &Budget::default(), GateMode::All);
    assert_eq!(c.exit_code(), 0, "{}", render::text(&c));
}

#[test]
fn accepted_attacks_are_judged_and_named_per_kind() {
    let base = read_runs(&[run_json(100, true, &[("wrong-key", 2)])]);
    let cur = read_runs(&[
        run_json(100, true, &[("wrong-key", 1)]),
        run_json(100, true, &[("tampered-channel-data", 4)]),
    ]);
    let c = compare(&base, &cur, &Budget::default(), GateMode::Correctness);
    assert_eq!(
        items(&c, Severity::Regression),
        ["attack tampered-channel-data"]
    );
    let notes = items(&c, Severity::Note);
    assert!(notes.contains(&"attack wrong-key".to_owned()), "{notes:?}");
    let md = render::markdown(&c);
    assert!(
        md.contains("attack tampered-channel-data") && md.contains("SECURITY"),
        "{md}"
    );
    let fixed = read_runs(&[run_json(100, true, &[])]);
    let c = compare(&base, &fixed, &Budget::default(), GateMode::All);
    assert_eq!(items(&c, Severity::Improvement), ["attack wrong-key"]);
}
