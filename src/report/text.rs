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
        let _ = writeln!(
            out,
            "  {:5} {}{known}",
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
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn golden_output_covers_every_verdict() {
        let report = super::super::every_verdict_sample();
        super::super::assert_golden("text-golden.txt", &super::render(&report));
    }
}
