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
