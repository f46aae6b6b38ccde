//! JUnit XML: one `<testsuite>` per section; fail -> `<failure>`, error ->
//! `<error>`, skip -> `<skipped/>`, warn -> pass with `<system-out>`.

use std::fmt::Write;

use super::Report;
use crate::conformance::{CaseResult, Verdict};

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
