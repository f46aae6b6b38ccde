//! A Markdown summary for a pull-request comment.

use std::fmt::Write;

use super::{Report, attention_rank};
use crate::conformance::Verdict;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders the counts (with security failures), the sections and levels
/// that did not pass everywhere, every section and level collapsed, one row
/// per non-passing case (failures first, security failures marked) and the
/// commands that rerun them.
pub fn render(report: &Report) -> String {
    let s = report.summary();
    let holes = report.cases.iter().filter(|c| c.security_failure()).count();
    let mut out = format!(
        "### pushcheck conformance: {}\n\n| pass | fail | warn | error | skip | n/a | security failures |\n|---|---|---|---|---|---|---|\n| {} | {} | {} | {} | {} | {} | {holes} |\n",
        cell(&report.target_name),
        s.pass,
        s.fail,
        s.warn,
        s.error,
        s.skip,
        s.na
    );
    let sections: Vec<_> = report
        .by_section()
        .into_iter()
        .filter(|r| r.counts.fail + r.counts.warn + r.counts.error > 0)
        .collect();
    if !sections.is_empty() {
        out.push_str(
            "\n| section | level | pass | fail | warn | error |\n|---|---|---|---|---|---|\n",
        );
        for r in sections {
            let _ = writeln!(
                out,
                "| `{}` {} | {} | {} | {} | {} | {} |",
                r.section,
                cell(&r.heading),
                r.level.as_str(),
                r.counts.pass,
                r.counts.fail,
                r.counts.warn,
                r.counts.error
            );
        }
    }
    let all = report.by_section();
    if !all.is_empty() {
        let _ = write!(
            out,
            "\n<details><summary>Every section by level ({} rows)</summary>\n\n| section | level | pass | fail | warn | error | skip | n/a |\n|---|---|---|---|---|---|---|---|\n",
            all.len()
        );
        for r in &all {
            let c = &r.counts;
            let _ = writeln!(
                out,
                "| `{}` {} | {} | {} | {} | {} | {} | {} | {} |",
                r.section,
                cell(&r.heading),
                r.level.as_str(),
                c.pass,
                c.fail,
                c.warn,
                c.error,
                c.skip,
                c.na
            );
        }
        out.push_str("\n</details>\n");
    }
    let mut bad: Vec<_> = report
        .cases
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error))
        .collect();
    bad.sort_by_key(|c| attention_rank(c));
    if !bad.is_empty() {
        out.push_str("\n| verdict | level | case | expected | actual |\n|---|---|---|---|---|\n");
        for c in &bad {
            let _ = writeln!(
                out,
                "| {}{} | {} | `{}` | {} | {} |",
                c.verdict.as_str(),
                if c.security_failure() {
                    " (security)"
                } else {
                    ""
                },
                c.level.as_str(),
                c.id,
                cell(c.expected.as_deref().unwrap_or("")),
                cell(c.actual.as_deref().or(c.message.as_deref()).unwrap_or(""))
            );
        }
        out.push_str("\n<details><summary>Rerun one case with its transcript</summary>\n\n```sh\n");
        for c in &bad {
            let _ = writeln!(out, "{}", report.rerun_command(&c.id));
        }
        out.push_str("```\n\n</details>\n");
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
    fn security_failures_are_counted_marked_and_listed_first() {
        let mut report = super::super::every_verdict_sample();
        report.cases[2].security = true; // the warn
        let md = super::render(&report);
        assert!(md.contains("| 1 | 1 | 1 | 1 | 1 | 1 | 1 |"), "{md}");
        let warn = md.find("| warn (security) | should |").expect("marked");
        let fail = md.find("| fail | must |").expect("listed");
        assert!(fail < warn, "a failure before a warning: {md}");
    }

    #[test]
    fn golden_output_covers_every_verdict_and_the_matrix() {
        let one = super::super::every_verdict_sample();
        let mut other = one.clone();
        other.target_name = "u".into();
        other.cases[1].verdict = crate::conformance::Verdict::Pass;
        super::super::assert_golden("markdown-golden.md", &super::render_all(&[one, other]));
    }
}
