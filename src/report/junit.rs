//! JUnit XML.
//!
//! Conformance: one `<testsuite>` per section; fail -> `<failure>`, error ->
//! `<error>`, skip -> `<skipped/>`, warn -> pass with `<system-out>`.
//!
//! Load ([`render_load`]): one `<testsuite>` per group of
//! [`super::load_checks`] (`load/thresholds`, `load/correctness`,
//! `load/security`, `load/generator`), one `<testcase>` per check; a broken
//! threshold or correctness check is a `<failure>` (`SECURITY: ` in front
//! for an accepted attack), a check the run could not judge (the generator
//! behind its schedule, an interrupted run) an `<error>`, a pass carries
//! what was observed in `<system-out>`. Every check judges the whole run,
//! so each `time` (testcase and suite alike) is the span of the connect and
//! traffic phases. `run` ([`render_run`]) writes the conformance suites,
//! then the load suites, in one document.

use std::fmt::Write;

use super::Report;
use super::load_checks::{self, Check, Group, Outcome};
use crate::conformance::{CaseResult, Verdict};
use crate::load::LoadResult;

/// Escapes text for XML attributes and content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Renders the report as JUnit XML; `time` is each case's wall time in
/// seconds (a suite's is the sum of its cases').
pub fn render(report: &Report) -> String {
    render_all(std::slice::from_ref(report))
}

/// Renders several targets' reports as one document. With more than one
/// target every suite name and classname is prefixed `<target>:` so CI
/// tools keep the targets apart.
pub fn render_all(reports: &[Report]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for report in reports {
        let prefix = if reports.len() > 1 {
            format!("{}:", report.target_name)
        } else {
            String::new()
        };
        suites(&mut out, report, &prefix);
    }
    out.push_str("</testsuites>\n");
    out
}

/// Renders load runs as one document: each run's suites, named
/// `<label><group>` (labels tell the runs of `--repeat` or of a race apart:
/// `run-2:`, `a:`, `a:run-2:`; empty for a single run).
pub fn render_load(runs: &[(String, &LoadResult)]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for (label, r) in runs {
        load_suites(&mut out, r, label);
    }
    out.push_str("</testsuites>\n");
    out
}

/// Renders a `run`: the conformance suites, then the load suites.
pub fn render_run(conformance: &Report, load: &LoadResult) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    suites(&mut out, conformance, "");
    load_suites(&mut out, load, "");
    out.push_str("</testsuites>\n");
    out
}

fn load_suites(out: &mut String, r: &LoadResult, prefix: &str) {
    let all = load_checks::checks(r);
    let time = load_checks::judged_seconds(r);
    for group in Group::ALL {
        let checks: Vec<&Check> = all.iter().filter(|c| c.group == group).collect();
        if checks.is_empty() {
            continue;
        }
        let count = |o: Outcome| checks.iter().filter(|c| c.outcome == o).count();
        let _ = writeln!(
            *out,
            "  <testsuite name=\"{}{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{time:.3}\">",
            escape(prefix),
            group.as_str(),
            checks.len(),
            count(Outcome::Fail),
            count(Outcome::Error),
        );
        for c in checks {
            let _ = writeln!(
                *out,
                "    <testcase classname=\"{}{}\" name=\"{}\" time=\"{time:.3}\">",
                escape(prefix),
                group.as_str(),
                escape(&c.name),
            );
            let detail = escape(&c.detail);
            let _ = match c.outcome {
                Outcome::Pass => writeln!(*out, "      <system-out>{detail}</system-out>"),
                Outcome::Fail => writeln!(
                    *out,
                    "      <failure message=\"{}{}\">{detail}</failure>",
                    if c.security { "SECURITY: " } else { "" },
                    escape(&c.name)
                ),
                Outcome::Error => writeln!(
                    *out,
                    "      <error message=\"{}\">{detail}</error>",
                    escape(&c.name)
                ),
            };
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
}

fn suites(out: &mut String, report: &Report, prefix: &str) {
    let mut sections: Vec<&str> = Vec::new();
    for c in &report.cases {
        let s = Report::section_of(&c.id);
        if !sections.contains(&s) {
            sections.push(s);
        }
    }
    for section in sections {
        let cases: Vec<_> = report
            .cases
            .iter()
            .filter(|c| Report::section_of(&c.id) == section)
            .collect();
        let count = |v: Verdict| cases.iter().filter(|c| c.verdict == v).count();
        let _ = writeln!(
            *out,
            "  <testsuite name=\"{}{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            escape(prefix),
            escape(section),
            cases.len(),
            count(Verdict::Fail),
            count(Verdict::Error),
            count(Verdict::Skip) + count(Verdict::NotApplicable),
            cases.iter().map(|c| c.duration.as_secs_f64()).sum::<f64>()
        );
        for c in cases {
            case(out, c, prefix, section);
        }
        out.push_str("  </testsuite>\n");
    }
}

/// One `<testcase>` with its `time` and its failure, error, skip or note.
fn case(out: &mut String, c: &CaseResult, prefix: &str, section: &str) {
    let name = c.id.rsplit('/').next().unwrap_or(&c.id);
    let _ = write!(
        *out,
        "    <testcase classname=\"{}{}\" name=\"{}\" time=\"{:.3}\"",
        escape(prefix),
        escape(section),
        escape(name),
        c.duration.as_secs_f64()
    );
    let body = format!(
        "expected: {}\nactual: {}",
        c.expected.as_deref().unwrap_or(""),
        c.actual.as_deref().unwrap_or("")
    );
    match c.verdict {
        Verdict::Pass => out.push_str("/>\n"),
        Verdict::Fail => {
            let tag = if c.security_failure() {
                "SECURITY: "
            } else {
                ""
            };
            let _ = write!(
                *out,
                ">\n      <failure message=\"{}{}\">{}</failure>\n    </testcase>\n",
                tag,
                escape(&c.requirement),
                escape(&body)
            );
        }
        Verdict::Warn => {
            let _ = write!(
                *out,
                ">\n      <system-out>{}warning (SHOULD): {}</system-out>\n    </testcase>\n",
                if c.security_failure() {
                    "SECURITY: "
                } else {
                    ""
                },
                escape(&body)
            );
        }
        Verdict::Error => {
            let _ = write!(
                *out,
                ">\n      <error message=\"{}\"/>\n    </testcase>\n",
                escape(c.message.as_deref().unwrap_or(""))
            );
        }
        Verdict::Skip | Verdict::NotApplicable => {
            let _ = write!(
                *out,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                escape(c.message.as_deref().unwrap_or(""))
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{CaseResult, Doc, Level, SpecRef};
    use std::time::Duration;

    #[test]
    fn escape_covers_markup_quotes_and_control_characters() {
        assert_eq!(
            escape("a<b>&\"c'\u{1}\n"),
            "a&lt;b&gt;&amp;&quot;c&apos;\\u0001\n"
        );
    }

    fn result(id: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.into(),
            spec: SpecRef {
                doc: Doc::Protocol,
                slug: "s",
                section: "S",
            },
            level: Level::Must,
            requirement: "Do <it>.".into(),
            verdict,
            expected: (verdict == Verdict::Fail || verdict == Verdict::Warn).then(|| "pong".into()),
            actual: (verdict == Verdict::Fail || verdict == Verdict::Warn)
                .then(|| "nothing within 2000 ms".into()),
            message: matches!(
                verdict,
                Verdict::Error | Verdict::Skip | Verdict::NotApplicable
            )
            .then(|| "why & how".into()),
            duration: Duration::from_millis(5),
            security: false,
            transcript: Vec::new(),
        }
    }

    #[test]
    fn golden_output_covers_every_verdict() {
        let cases = Verdict::ALL
            .iter()
            .map(|v| result(&format!("protocol/s/{}", v.as_str().replace('/', "")), *v))
            .collect();
        let report = Report {
            target_name: "t".into(),
            ws: "ws://x".into(),
            rest: "http://x".into(),
            cases,
            known_deviations: Default::default(),
            target_id: "ws://x".into(),
            interrupted: false,
        };
        crate::report::assert_golden("junit-golden.xml", &render(&report));
    }

    #[test]
    fn security_failures_are_marked_and_every_case_has_a_time() {
        let mut report = crate::report::every_verdict_sample();
        for c in &mut report.cases {
            c.security = true;
        }
        let xml = render(&report);
        assert!(xml.contains(r#"<failure message="SECURITY: Do"#), "{xml}");
        assert!(xml.contains("<system-out>SECURITY: warning"), "{xml}");
        let cases = xml.matches("<testcase ").count();
        assert_eq!(cases, xml.matches(r#"time="0.005""#).count(), "{xml}");
        assert!(xml.contains(r#"skipped="2" time="0.030""#), "{xml}");
    }
}

#[cfg(test)]
mod load_tests {
    use super::*;
    use crate::report::load_checks::tests::sample;

    /// One `<testcase>`: suite, name, the failure or error element's tag
    /// and message, time.
    type Case = (String, String, Option<(String, String)>, f64);

    /// Every `<testcase>` of a parsed document, the suites' counts checked.
    fn cases(xml: &str) -> Vec<Case> {
        let doc = roxmltree::Document::parse(xml).expect("well-formed JUnit XML");
        let mut out = Vec::new();
        for suite in doc.descendants().filter(|n| n.has_tag_name("testsuite")) {
            let listed: usize = suite.attribute("tests").expect("tests").parse().expect("n");
            let failures: usize = suite.attribute("failures").expect("f").parse().expect("n");
            let mut seen = (0, 0);
            for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
                let bad = case
                    .children()
                    .find(|n| n.has_tag_name("failure") || n.has_tag_name("error"))
                    .map(|n| {
                        let m = n.attribute("message").expect("message").to_owned();
                        (n.tag_name().name().to_owned(), m)
                    });
                seen.0 += 1;
                if bad.as_ref().is_some_and(|(t, _)| t == "failure") {
                    seen.1 += 1;
                }
                out.push((
                    suite.attribute("name").expect("name").to_owned(),
                    case.attribute("name").expect("name").to_owned(),
                    bad,
                    case.attribute("time")
                        .expect("time")
                        .parse()
                        .expect("seconds"),
                ));
            }
            assert_eq!(seen, (listed, failures), "the counts of {suite:?}");
        }
        out
    }

    #[test]
    fn a_failed_threshold_is_a_failure_an_accepted_attack_a_security_failure() {
        let r = sample(true, true);
        let xml = render_load(&[(String::new(), &r)]);
        let all = cases(&xml);
        let threshold = all
            .iter()
            .find(|c| c.1 == "deliver.p99 < 5ms")
            .expect("the threshold is a test case");
        assert_eq!(threshold.0, "load/thresholds");
        let (tag, message) = threshold.2.clone().expect("a failure");
        assert_eq!(
            (tag.as_str(), message.as_str()),
            ("failure", "deliver.p99 < 5ms")
        );
        let lost = all.iter().find(|c| c.1 == "lost == 0").expect("listed");
        assert_eq!(lost.2, None, "a rule that held passes");
        let attack = all
            .iter()
            .find(|c| c.0 == "load/security" && c.1.starts_with("attack "))
            .expect("the attack kind is a test case");
        let (tag, message) = attack.2.clone().expect("a failure");
        assert_eq!(tag, "failure");
        assert!(message.starts_with("SECURITY: attack "), "{message}");
        let span = load_checks::judged_seconds(&r);
        assert!((span - 3.1).abs() < 1e-9, "connect 0.1 s + traffic 3 s");
        assert!(all.iter().all(|c| (c.3 - span).abs() < 1e-3), "{all:?}");
        assert!(all.iter().any(|c| c.0 == "load/correctness"));
        assert!(all.iter().any(|c| c.0 == "load/generator"));
    }

    #[test]
    fn a_passing_run_has_no_failure_and_says_what_it_observed() {
        let r = sample(false, false);
        let xml = render_load(&[(String::new(), &r)]);
        assert!(cases(&xml).iter().all(|c| c.2.is_none()), "{xml}");
        assert!(xml.contains("<system-out>observed 0</system-out>"), "{xml}");
    }

    #[test]
    fn an_invalid_run_is_an_error_not_a_pass() {
        let mut r = sample(false, false);
        r.run.max_schedule_lag_us = 0;
        r.histograms
            .record(crate::metrics::Metric::ScheduleLag, 50_000);
        r.evaluate();
        let all = cases(&render_load(&[(String::new(), &r)]));
        let lag = all
            .iter()
            .find(|c| c.1 == "the generator kept its schedule")
            .expect("listed");
        assert_eq!(lag.2.as_ref().map(|(t, _)| t.as_str()), Some("error"));
    }

    #[test]
    fn labels_keep_runs_apart_and_run_holds_both_halves() {
        let (a, b) = (sample(false, false), sample(true, false));
        let xml = render_load(&[("a:".into(), &a), ("b:".into(), &b)]);
        let all = cases(&xml);
        assert!(
            all.iter()
                .any(|c| c.0 == "a:load/thresholds" && c.2.is_none())
        );
        assert!(
            all.iter()
                .any(|c| c.0 == "b:load/thresholds" && c.2.is_some())
        );
        let conf = crate::report::every_verdict_sample();
        let all = cases(&render_run(&conf, &b));
        assert!(all.iter().any(|c| c.0 == "protocol/s" && c.1 == "fail"));
        assert!(
            all.iter()
                .any(|c| c.0 == "load/thresholds" && c.2.is_some())
        );
    }
}
