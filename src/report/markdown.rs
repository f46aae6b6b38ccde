//! A Markdown summary for a pull-request comment.

use std::fmt::Write;

use super::Report;
use crate::conformance::Verdict;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders the summary table and one row per non-passing case.
pub fn render(report: &Report) -> String {
    let s = report.summary();
    let mut out = format!(
        "### pushcheck conformance: {}\n\n| pass | fail | warn | error | skip | n/a |\n|---|---|---|---|---|---|\n| {} | {} | {} | {} | {} | {} |\n",
        cell(&report.target_name),
        s.pass,
        s.fail,
        s.warn,
        s.error,
        s.skip,
        s.na
    );
    let bad: Vec<_> = report
        .cases
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error))
        .collect();
    if !bad.is_empty() {
        out.push_str("\n| verdict | case | expected | actual |\n|---|---|---|---|\n");
        for c in bad {
            let _ = writeln!(
                out,
                "| {}{} | `{}` | {} | {} |",
                c.verdict.as_str(),
                if c.security_failure() {
                    " (security)"
                } else {
                    ""
                },
                c.id,
                cell(c.expected.as_deref().unwrap_or("")),
                cell(c.actual.as_deref().or(c.message.as_deref()).unwrap_or(""))
            );
        }
    }
    out
}

/// Renders every target's summary; with several targets a verdict matrix
/// (one row per case that is not a pass everywhere) comes first.
pub fn render_all(reports: &[Report]) -> String {
    let mut out = String::new();
    if reports.len() > 1 {
        out.push_str("### pushcheck compatibility matrix\n\n| case |");
        for r in reports {
            let _ = write!(out, " {} |", cell(&r.target_name));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(reports.len()));
        out.push('\n');
        for (i, c) in reports[0].cases.iter().enumerate() {
            let verdicts: Vec<&str> = reports
                .iter()
                .map(|r| r.cases.get(i).map_or("-", |c| c.verdict.as_str()))
                .collect();
            if verdicts.iter().all(|v| *v == "pass") {
                continue;
            }
            let _ = write!(out, "| `{}` |", c.id);
            for v in verdicts {
                let _ = write!(out, " {v} |");
            }
            out.push('\n');
        }
        out.push('\n');
    }
    let each: Vec<String> = reports.iter().map(render).collect();
    out.push_str(&each.join("\n"));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn golden_output_covers_every_verdict_and_the_matrix() {
        let one = super::super::every_verdict_sample();
        let mut other = one.clone();
        other.target_name = "u".into();
        other.cases[1].verdict = crate::conformance::Verdict::Pass;
        super::super::assert_golden("markdown-golden.md", &super::render_all(&[one, other]));
    }
}
