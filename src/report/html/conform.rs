//! The conformance part of the HTML report, and the matrix page.
//!
//! One target: the verdict counts, a summary by spec section and level
//! (sections with failures first), then the cases that did not pass
//! (failures first, security failures marked), then the passes collapsed.
//! Every case is a `<details>` with its requirement, level, spec section,
//! expected and actual, the transcript of a failing case and the command
//! that reruns just that case.
//!
//! Several targets: the matrix (cases as rows, targets as columns, a
//! colour per verdict), each cell a link to that target's detail of the
//! case further down the same page. The link targets an element inside
//! the case's `<details>`, which the browser opens on fragment navigation.

use std::fmt::Write as _;

use super::escape;
use crate::conformance::{CaseResult, Level, Verdict};
use crate::report::{Report, attention_rank};

/// The CSS class of a verdict (colours in [`super::STYLE`]).
fn class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "v-pass",
        Verdict::Fail => "v-fail",
        Verdict::Warn => "v-warn",
        Verdict::Error => "v-error",
        Verdict::Skip => "v-skip",
        Verdict::NotApplicable => "v-na",
    }
}

/// The element id of a case's detail in the section of target `t`.
pub(crate) fn anchor(t: usize, id: &str) -> String {
    format!("t{t}-{}", id.replace('/', "--"))
}

/// `<span>` badge of a verdict, with `SECURITY` for a security failure.
fn badge(c: &CaseResult) -> String {
    let mut s = format!(
        r#"<span class="badge {}">{}</span>"#,
        class(c.verdict),
        c.verdict.as_str()
    );
    if c.security_failure() {
        s.push_str(r#" <span class="badge security">security</span>"#);
    }
    s
}

fn counts(out: &mut String, report: &Report) {
    let s = report.summary();
    out.push_str(r#"<p class="counts" id="conformance-summary">"#);
    for v in Verdict::ALL {
        let _ = write!(
            out,
            r#"<span class="badge {}">{} {}</span> "#,
            class(v),
            v.as_str(),
            s.count(v)
        );
    }
    let holes = report.cases.iter().filter(|c| c.security_failure()).count();
    if holes > 0 {
        let _ = write!(
            out,
            r#"<span class="badge security" id="security-failures">{holes} security failures</span>"#
        );
    }
    out.push_str("</p>");
}

/// Counts per verdict for each section and level, failing rows first.
fn by_section(out: &mut String, report: &Report) {
    out.push_str(r#"<h3>By spec section and level</h3><table id="by-section"><tr><th class="l">section</th><th class="l">spec</th><th class="l">level</th>"#);
    for v in Verdict::ALL {
        let _ = write!(out, "<th>{}</th>", v.as_str());
    }
    out.push_str("</tr>");
    for row in report.by_section() {
        let _ = write!(
            out,
            r#"<tr><td class="l"><code>{}</code></td><td class="l">{}</td><td class="l">{}</td>"#,
            escape(&row.section),
            escape(&row.heading),
            row.level.as_str()
        );
        for v in Verdict::ALL {
            let k = row.counts.count(v);
            let c = if k > 0 { class(v) } else { "zero" };
            let _ = write!(out, r#"<td class="{c}">{k}</td>"#);
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

/// One case as a `<details>`.
fn case(out: &mut String, report: &Report, t: usize, c: &CaseResult) {
    let level = match c.level {
        Level::Must => "MUST",
        Level::Should => "SHOULD",
    };
    let _ = write!(
        out,
        r#"<details class="case {}"><summary>{} <code>{}</code> {}</summary><div class="detail" id="{}"><dl><dt>requirement</dt><dd>{}</dd><dt>level</dt><dd>{level}</dd><dt>spec</dt><dd>{} ({}): {}</dd>"#,
        class(c.verdict),
        badge(c),
        escape(&c.id),
        escape(&c.requirement),
        anchor(t, &c.id),
        escape(&c.requirement),
        c.spec.doc.slug(),
        c.spec.slug,
        escape(c.spec.section),
    );
    for (k, v) in [
        ("expected", &c.expected),
        ("actual", &c.actual),
        ("message", &c.message),
    ] {
        if let Some(v) = v {
            let _ = write!(out, "<dt>{k}</dt><dd>{}</dd>", escape(v));
        }
    }
    if report.known_deviations.contains(&c.id) {
        out.push_str("<dt>known deviation</dt><dd>listed in --known-deviations</dd>");
    }
    let _ = write!(
        out,
        "<dt>duration</dt><dd>{} ms</dd><dt>rerun</dt><dd><code class=\"cmd\">{}</code></dd></dl>",
        c.duration.as_millis(),
        escape(&report.rerun_command(&c.id))
    );
    if matches!(c.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error) {
        let lines = c.transcript_lines();
        if lines.is_empty() {
            out.push_str(r#"<p class="note">No frames or HTTP exchanges were recorded.</p>"#);
        } else {
            let _ = write!(
                out,
                r#"<p class="note">Transcript: <code>&gt;</code> sent by the harness, <code>&lt;</code> by the target, times since the case started.</p><pre class="transcript">{}</pre>"#,
                escape(&lines.join("\n"))
            );
        }
    }
    out.push_str("</div></details>");
}

/// The whole section of one target (`t` numbers it on a matrix page).
pub(crate) fn section(out: &mut String, report: &Report, t: usize) {
    let _ = write!(
        out,
        r#"<section class="target" id="target-{t}"><h2>Conformance: {}</h2><p>WebSocket <code>{}</code>, REST <code>{}</code>. Status: <span class="badge {}">{}</span> (exit {}).{}</p>"#,
        escape(&report.target_name),
        escape(&report.ws),
        escape(&report.rest),
        if report.status() == crate::status::Status::Pass {
            "v-pass"
        } else {
            "v-fail"
        },
        report.status(),
        report.exit_code(),
        if report.interrupted {
            " Interrupted: cases not run are skip."
        } else {
            ""
        }
    );
    counts(out, report);
    by_section(out, report);
    let mut order: Vec<&CaseResult> = report.cases.iter().collect();
    order.sort_by_key(|c| attention_rank(c));
    // Failures, warnings and errors open; cases not run (skip, n/a) and
    // passes collapsed, so what needs attention is all that shows.
    let (passed, rest): (Vec<&CaseResult>, Vec<&CaseResult>) =
        order.into_iter().partition(|c| c.verdict == Verdict::Pass);
    let (not_run, attention): (Vec<&CaseResult>, Vec<&CaseResult>) = rest
        .into_iter()
        .partition(|c| matches!(c.verdict, Verdict::Skip | Verdict::NotApplicable));
    if !attention.is_empty() {
        let _ = write!(
            out,
            r#"<h3>Not passed ({})</h3><div class="cases">"#,
            attention.len()
        );
        for c in attention {
            case(out, report, t, c);
        }
        out.push_str("</div>");
    }
    for (title, cases) in [
        ("Not run: skipped or not applicable", not_run),
        ("Passed", passed),
    ] {
        if cases.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            r#"<details class="passes"><summary><h3>{title} ({})</h3></summary><div class="cases">"#,
            cases.len()
        );
        for c in cases {
            case(out, report, t, c);
        }
        out.push_str("</div></details>");
    }
    out.push_str("</section>");
}

/// The matrix of several targets, then each target's section.
pub(crate) fn matrix(out: &mut String, reports: &[Report]) {
    out.push_str(r#"<h2>Compatibility matrix</h2><p class="note">One row per case, one column per target; a cell opens that target's detail of the case.</p><table id="matrix"><tr><th class="l">case</th><th class="l">level</th>"#);
    for (t, r) in reports.iter().enumerate() {
        let s = r.summary();
        let _ = write!(
            out,
            r##"<th><a href="#target-{t}">{}</a><br><small>{} pass / {} fail</small></th>"##,
            escape(&r.target_name),
            s.pass,
            s.fail
        );
    }
    out.push_str("</tr>");
    let Some(first) = reports.first() else {
        out.push_str("</table>");
        return;
    };
    for c in &first.cases {
        let security = if c.security {
            r#" <span class="badge sec-case" title="a failure of this case is a security hole">security</span>"#
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<tr><td class="l"><code>{}</code>{security}</td><td class="l">{}</td>"#,
            escape(&c.id),
            c.level.as_str()
        );
        for (t, r) in reports.iter().enumerate() {
            match r.cases.iter().find(|x| x.id == c.id) {
                Some(x) => {
                    let _ = write!(
                        out,
                        r##"<td class="cell {}"><a href="#{}">{}</a></td>"##,
                        class(x.verdict),
                        anchor(t, &x.id),
                        x.verdict.as_str()
                    );
                }
                None => out.push_str(r#"<td class="cell">-</td>"#),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    for (t, r) in reports.iter().enumerate() {
        section(out, r, t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::every_verdict_sample;

    #[test]
    fn failures_come_first_passes_are_collapsed_and_security_is_marked() {
        let mut report = every_verdict_sample();
        report.cases[1].security = true; // the fail
        let mut out = String::new();
        section(&mut out, &report, 0);
        let fail = out.find("protocol/s/fail").expect("fail listed");
        let pass = out
            .find("<code>protocol/s/pass</code>")
            .expect("pass listed");
        let passes = out.find(r#"<details class="passes">"#).expect("collapsed");
        assert!(fail < passes && passes < pass, "{out}");
        assert!(out.contains(r#"id="security-failures">1 security failures"#));
        assert!(out.contains("pushcheck conform --trace protocol/s/fail --target t=ws://x"));
        assert!(out.contains("Do &lt;it&gt; | now."), "requirement escaped");
        assert!(out.contains(r#"id="t0-protocol--s--fail""#));
    }

    #[test]
    fn cases_not_run_are_collapsed_apart_from_the_failures() {
        let report = every_verdict_sample();
        let mut out = String::new();
        section(&mut out, &report, 0);
        let attention = out.find("<h3>Not passed").expect("failures listed");
        let not_run = out
            .find("Not run: skipped or not applicable")
            .expect("not-run group");
        let skipped = out
            .find("<code>protocol/s/skip</code>")
            .expect("skip listed");
        let na = out.find("<code>protocol/s/na</code>").expect("n/a listed");
        let fail = out
            .find("<code>protocol/s/fail</code>")
            .expect("fail listed");
        assert!(attention < fail && fail < not_run, "{out}");
        assert!(not_run < skipped && not_run < na, "{out}");
        let opens = out[..not_run].rfind("<details").expect("inside a details");
        assert!(opens > fail, "the not-run group is collapsed: {out}");
    }

    #[test]
    fn the_matrix_links_every_cell_to_its_targets_detail() {
        let one = every_verdict_sample();
        let mut two = one.clone();
        two.target_name = "u".into();
        two.cases[0].verdict = Verdict::Fail;
        let mut out = String::new();
        matrix(&mut out, &[one, two]);
        for t in 0..2 {
            for c in &every_verdict_sample().cases {
                let a = anchor(t, &c.id);
                assert!(out.contains(&format!("href=\"#{a}\"")), "{a} linked");
                assert!(out.contains(&format!("id=\"{a}\"")), "{a} present");
            }
        }
        assert!(
            out.contains(r##"<td class="cell v-fail"><a href="#t1-protocol--s--pass">fail</a>"##)
        );
    }
}
