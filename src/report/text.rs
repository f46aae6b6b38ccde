//! Terminal summary grouped by section.

use std::fmt::Write;

use super::Report;
use crate::conformance::Verdict;

/// Renders the summary: non-passing cases by section, then the counts.
pub fn render(report: &Report) -> String {
    let mut out = format!("target {} ({})\n", report.target_name, report.ws);
    let mut section = "";
    for c in report.cases.iter().filter(|c| c.verdict != Verdict::Pass) {
        let s = Report::section_of(&c.id);
        if s != section {
            let _ = writeln!(out, "\n{s}");
            section = s;
        }
        let known = if report.known_deviations.contains(&c.id) {
            " (known deviation)"
        } else {
            ""
        };
        let security = if c.security_failure() {
            " [SECURITY]"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {:5} {}{known}{security}",
            c.verdict.as_str().to_uppercase(),
            c.id
        );
        if let (Some(e), Some(a)) = (&c.expected, &c.actual) {
            let _ = writeln!(
                out,
                "        requirement: {}\n        expected: {e}\n        actual:   {a}",
                c.requirement
            );
        }
        if let Some(m) = &c.message {
            let _ = writeln!(out, "        {m}");
        }
    }
    let s = report.summary();
    let _ = writeln!(
        out,
        "\n{} cases: {} pass, {} fail, {} warn, {} error, {} skip, {} n/a",
        report.cases.len(),
        s.pass,
        s.fail,
        s.warn,
        s.error,
        s.skip,
        s.na
    );
    let holes = report.cases.iter().filter(|c| c.security_failure()).count();
    if holes > 0 {
        let _ = writeln!(
            out,
            "{holes} security failures (accepted forgeries, leaks, bypasses): marked [SECURITY] above"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn security_failures_are_marked_and_counted() {
        let mut report = super::super::every_verdict_sample();
        for c in &mut report.cases {
            c.security = true;
        }
        let text = super::render(&report);
        let marked = text
            .lines()
            .filter(|l| l.starts_with("  ") && l.ends_with("[SECURITY]"))
            .count();
        assert_eq!(marked, 2, "{text}");
        assert!(text.contains("2 security failures"), "{text}");
    }

    #[test]
    fn golden_output_covers_every_verdict() {
        let report = super::super::every_verdict_sample();
        super::super::assert_golden("text-golden.txt", &super::render(&report));
    }
}
