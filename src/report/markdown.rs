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
                "| {} | `{}` | {} | {} |",
                c.verdict.as_str(),
                c.id,
                cell(c.expected.as_deref().unwrap_or("")),
                cell(c.actual.as_deref().or(c.message.as_deref()).unwrap_or(""))
            );
        }
    }
    out
}
