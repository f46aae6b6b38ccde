//! One self-contained HTML report: inline CSS and SVG plots drawn here (no
//! external scripts, styles or fonts). Latency percentile distribution per
//! stage, throughput and p99 over time, the tables of the terminal summary,
//! and the conformance results when the run had them.

use std::fmt::Write as _;

use super::Report;
use crate::load::LoadResult;
use crate::load::repeat::Repeated;
use crate::load::result::ThresholdVerdict;
use crate::metrics::Metric;
use crate::metrics::spread_percent;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}\
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eee}td.l,th.l{text-align:left}\
.pass{color:#060}.fail{color:#b00;font-weight:bold}.warn{color:#a60}.plots{display:flex;flex-wrap:wrap;gap:1em}\
svg{background:#fafafa;border:1px solid #ddd}svg text{font-size:11px;font-family:sans-serif}";

const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// A line chart of several series over shared axes.
struct Chart<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    series: Vec<(&'a str, Vec<(f64, f64)>)>,
    x_ticks: Vec<(f64, String)>,
}

impl Chart<'_> {
    fn svg(&self) -> String {
        let (w, h, left, bottom, top, right) = (460.0, 260.0, 60.0, 40.0, 30.0, 20.0);
        let pts = self.series.iter().flat_map(|(_, p)| p.iter());
        let (mut x_max, mut y_max) = (0.0f64, 0.0f64);
        for (x, y) in pts {
            x_max = x_max.max(*x);
            y_max = y_max.max(*y);
        }
        let x_max = if x_max > 0.0 { x_max } else { 1.0 };
        let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
        let px = |x: f64| left + x / x_max * (w - left - right);
        let py = |y: f64| h - bottom - y / y_max * (h - bottom - top);
        let mut s = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" aria-label="{}">"#,
            escape(self.title)
        );
        let _ = write!(
            s,
            r#"<text x="{}" y="16" text-anchor="middle" font-weight="bold">{}</text>"#,
            w / 2.0,
            escape(self.title)
        );
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{0}" x2="{1}" y2="{0}" stroke="#444"/><line x1="{left}" y1="{top}" x2="{left}" y2="{0}" stroke="#444"/>"##,
            h - bottom,
            w - right
        );
        for i in 0..=4 {
            let y = y_max * f64::from(i) / 4.0;
            let _ = write!(
                s,
                r##"<text x="{}" y="{}" text-anchor="end">{}</text><line x1="{left}" y1="{1}" x2="{2}" y2="{1}" stroke="#e4e4e4"/>"##,
                left - 4.0,
                py(y) + 4.0,
                fmt_num(y)
            );
        }
        let ticks: Vec<(f64, String)> = if self.x_ticks.is_empty() {
            (0..=4)
                .map(|i| {
                    let x = x_max * f64::from(i) / 4.0;
                    (x, fmt_num(x))
                })
                .collect()
        } else {
            self.x_ticks.clone()
        };
        for (x, label) in ticks {
            let _ = write!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                px(x),
                h - bottom + 14.0,
                escape(&label)
            );
        }
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            (left + w - right) / 2.0,
            h - 6.0,
            escape(self.x_label)
        );
        let _ = write!(
            s,
            r#"<text x="12" y="{}" transform="rotate(-90 12 {0})" text-anchor="middle">{}</text>"#,
            (top + h - bottom) / 2.0,
            escape(self.y_label)
        );
        self.draw_series(&mut s, &px, &py, (left, top));
        s.push_str("</svg>");
        s
    }

    /// One polyline and legend entry per series.
    fn draw_series(
        &self,
        s: &mut String,
        px: &dyn Fn(f64) -> f64,
        py: &dyn Fn(f64) -> f64,
        (left, top): (f64, f64),
    ) {
        for (i, (name, points)) in self.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let path: Vec<String> = points
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
                .collect();
            let _ = write!(
                s,
                r#"<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{}"/>"#,
                path.join(" ")
            );
            let _ = write!(
                s,
                r#"<text x="{}" y="{}" fill="{color}">{}</text>"#,
                left + 8.0,
                top + 12.0 + 13.0 * i as f64,
                escape(name)
            );
        }
    }
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Percentile distribution of one stage: x is log10(1/(1-q)), so 90%, 99%, 99.9% are evenly spaced.
fn distribution(r: &LoadResult, m: Metric) -> Option<String> {
    let h = r.histograms.get(m);
    if h.is_empty() {
        return None;
    }
    let points: Vec<(f64, f64)> = (0..=100)
        .map(|i| {
            let x = f64::from(i) * 0.05; // 0 .. 5 (99.999%)
            let q = 1.0 - 10f64.powf(-x);
            (x, h.value_at_quantile(q) as f64 / 1000.0)
        })
        .collect();
    let ticks = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]
        .iter()
        .enumerate()
        .map(|(i, l)| (i as f64, (*l).to_owned()))
        .collect();
    Some(
        Chart {
            title: &format!("{} latency by percentile", m.as_str()),
            x_label: "percentile",
            y_label: "ms",
            series: vec![(m.as_str(), points)],
            x_ticks: ticks,
        }
        .svg(),
    )
}

/// Interrupted, evidence problems and errors by kind: what keeps a run
/// from passing whatever its thresholds say.
fn evidence_section(out: &mut String, r: &LoadResult) {
    if r.interrupted {
        out.push_str(r#"<p class="warn" id="load-interrupted">Interrupted: the figures cover the part that ran.</p>"#);
    }
    if !r.evidence.problems.is_empty() {
        out.push_str(r#"<ul class="fail" id="load-evidence">"#);
        for p in &r.evidence.problems {
            let _ = write!(
                out,
                "<li>No verdict without evidence: {}</li>",
                escape(&p.describe())
            );
        }
        out.push_str("</ul>");
    }
    if !r.evidence.errors.is_empty() {
        out.push_str(r#"<table id="load-errors"><tr><th class="l">error</th><th>count</th></tr>"#);
        for (kind, n) in &r.evidence.errors {
            let _ = write!(
                out,
                r#"<tr><td class="l">{}</td><td class="fail">{n}</td></tr>"#,
                kind.as_str()
            );
        }
        out.push_str("</table>");
    }
}

fn load_section(out: &mut String, r: &LoadResult) {
    let verdict_class = if r.exit_code == 0 { "pass" } else { "fail" };
    let _ = write!(
        out,
        "<h2>Load: {}</h2><p>{}</p>",
        escape(&r.run.scenario),
        escape(&r.run.description)
    );
    let _ = write!(
        out,
        r#"<p>Target <code>{}</code>; traffic {:.1} s; shards {}. Verdict: <span class="{verdict_class}" id="load-verdict">{}</span> (exit {}).</p><p>{}</p>"#,
        escape(&r.run.target),
        r.run.traffic_seconds,
        r.run.shards,
        r.verdict.as_str(),
        r.exit_code,
        escape(&r.latency_note)
    );
    evidence_section(out, r);
    if !r.accepted_attacks.is_empty() {
        let _ = write!(
            out,
            r#"<p class="fail">Security failure: the target accepted {}</p>"#,
            escape(&r.accepted_attacks.join(", "))
        );
    }
    out.push_str(r#"<table><tr><th class="l">stage</th><th>count</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th></tr>"#);
    for m in Metric::ALL {
        let p = &r.metrics[&m];
        if p.count > 0 {
            let ms = |v: u64| format!("{:.2}", v as f64 / 1000.0);
            let _ = write!(
                out,
                r#"<tr><td class="l">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                m.as_str(),
                p.count,
                ms(p.p50),
                ms(p.p90),
                ms(p.p99),
                ms(p.p999),
                ms(p.max)
            );
        }
    }
    out.push_str("</table>");
    outcome_tables(out, r);
    budget_lines(out, r);
}

/// Deliveries, attacks and thresholds.
fn outcome_tables(out: &mut String, r: &LoadResult) {
    let d = &r.deliveries;
    let _ = write!(
        out,
        r#"<table><tr><th>expected</th><th>delivered</th><th>reordered</th><th>lost</th><th>duplicated</th><th>unexpected (excluded / unsubscribed / forged)</th></tr><tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {} / {}</td></tr></table>"#,
        d.expected,
        d.delivered,
        d.reordered,
        d.lost,
        d.duplicated,
        d.unexpected_excluded,
        d.unexpected_unsubscribed,
        d.unexpected_forged
    );
    if !r.attacks.is_empty() {
        out.push_str(r#"<table><tr><th class="l">attack</th><th>attempted</th><th>rejected</th><th>accepted</th></tr>"#);
        for a in &r.attacks {
            let class = if a.accepted > 0 { "fail" } else { "pass" };
            let _ = write!(
                out,
                r#"<tr><td class="l">{}</td><td>{}</td><td>{}</td><td class="{class}">{}</td></tr>"#,
                a.kind.as_str(),
                a.attempted,
                a.rejected,
                a.accepted
            );
        }
        out.push_str("</table>");
    }
    if !r.thresholds.is_empty() {
        out.push_str(
            r#"<table><tr><th class="l">threshold</th><th>observed</th><th>verdict</th></tr>"#,
        );
        for t in &r.thresholds {
            let (class, word) = match t.verdict {
                ThresholdVerdict::Pass => ("pass", "pass"),
                ThresholdVerdict::Fail => ("fail", "FAIL"),
                ThresholdVerdict::NoData => ("fail", "NO DATA"),
            };
            let _ = write!(
                out,
                r#"<tr><td class="l">{}</td><td>{}</td><td class="{class}">{word}</td></tr>"#,
                escape(&t.rule),
                escape(&super::load_text::observed(t))
            );
        }
        out.push_str("</table>");
    }
}

/// The generator's budget and schedule lag.
fn budget_lines(out: &mut String, r: &LoadResult) {
    let b = &r.budget;
    let _ = write!(
        out,
        "<p>Generator: {} clients, {:.2} KiB per idle client{}, {:.0} connections/s; schedule lag p99 {:.2} ms (bound {:.2} ms).</p>",
        b.clients,
        b.kib_per_idle_client,
        if b.includes_in_process_server {
            " (includes the in-process server)"
        } else {
            ""
        },
        b.connections_per_s,
        r.validity.schedule_lag_p99_us as f64 / 1000.0,
        r.validity.bound_us as f64 / 1000.0
    );
    out.push_str(r#"<h3>Latency percentile distribution per stage</h3><div class="plots">"#);
    for m in Metric::ALL {
        if let Some(svg) = distribution(r, m) {
            out.push_str(&svg);
        }
    }
    out.push_str(r#"</div><h3>Over time</h3><div class="plots">"#);
    let series = |f: fn(&crate::load::result::Sample) -> f64| {
        r.series.iter().map(|s| (s.t, f(s))).collect::<Vec<_>>()
    };
    out.push_str(
        &Chart {
            title: "throughput",
            x_label: "seconds",
            y_label: "per second",
            series: vec![
                ("deliveries/s", series(|s| s.deliveries_per_s)),
                ("messages sent/s", series(|s| s.messages_per_s)),
            ],
            x_ticks: Vec::new(),
        }
        .svg(),
    );
    out.push_str(
        &Chart {
            title: "p99 latency",
            x_label: "seconds",
            y_label: "ms",
            series: vec![
                ("deliver p99", series(|s| s.deliver_p99_us as f64 / 1000.0)),
                (
                    "client_event p99",
                    series(|s| s.client_event_p99_us as f64 / 1000.0),
                ),
                ("publish p99", series(|s| s.publish_p99_us as f64 / 1000.0)),
            ],
            x_ticks: Vec::new(),
        }
        .svg(),
    );
    out.push_str("</div>");
}

fn conformance_section(out: &mut String, c: &Report) {
    let s = c.summary();
    let _ = write!(
        out,
        r#"<h2>Conformance</h2><p id="conformance-summary">pass {} fail {} warn {} error {} skip {}</p><table><tr><th class="l">case</th><th class="l">verdict</th><th class="l">expected / actual</th></tr>"#,
        s.pass, s.fail, s.warn, s.error, s.skip
    );
    for case in &c.cases {
        let v = case.verdict.as_str();
        let class = match v {
            "pass" => "pass",
            "fail" | "error" => "fail",
            _ => "warn",
        };
        let detail = match (&case.expected, &case.actual, &case.message) {
            (Some(e), Some(a), _) => format!("expected {e}; got {a}"),
            (_, _, Some(m)) => m.clone(),
            _ => String::new(),
        };
        let _ = write!(
            out,
            r#"<tr><td class="l">{}</td><td class="l {class}">{v}</td><td class="l">{}</td></tr>"#,
            escape(&case.id),
            escape(&detail)
        );
    }
    out.push_str("</table>");
}

fn head() -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>pushcheck report</title><style>{STYLE}</style></head><body><h1>pushcheck report</h1>"
    )
}

/// Renders a repeated run (`load --repeat N`): the runs side by side with
/// their medians, then every run in full.
pub fn render_repeated(rep: &Repeated) -> String {
    let mut out = head();
    let _ = write!(
        out,
        "<h2>{} runs of scenario {}</h2><p>Verdict: <span class=\"{}\">{}</span> (exit {}, the worst run). p50 / p99 in ms; spread = (max - min) / median of the p99s.</p><table><tr><th class=\"l\">stage</th>",
        rep.repeat,
        escape(&rep.scenario),
        if rep.exit_code == 0 { "pass" } else { "fail" },
        rep.verdict.as_str(),
        rep.exit_code
    );
    for i in 1..=rep.runs.len() {
        let _ = write!(out, "<th>run {i}</th>");
    }
    out.push_str("<th>median</th><th>spread</th></tr>");
    for (m, med) in &rep.median {
        let _ = write!(out, r#"<tr><td class="l">{}</td>"#, m.as_str());
        for r in &rep.runs {
            let p = &r.metrics[m];
            let _ = write!(
                out,
                "<td>{:.2} / {:.2}</td>",
                p.p50 as f64 / 1000.0,
                p.p99 as f64 / 1000.0
            );
        }
        let p99s: Vec<f64> = rep.runs.iter().map(|r| r.metrics[m].p99 as f64).collect();
        let _ = write!(
            out,
            "<td>{:.2} / {:.2}</td><td>{:.0}%</td></tr>",
            med.p50 / 1000.0,
            med.p99 / 1000.0,
            spread_percent(&p99s)
        );
    }
    out.push_str("</table>");
    for (i, r) in rep.runs.iter().enumerate() {
        let _ = write!(out, "<h2>Run {} of {}</h2>", i + 1, rep.repeat);
        load_section(&mut out, r);
    }
    out.push_str("</body></html>\n");
    out
}

/// Renders the report; either part may be absent.
pub fn render(load: Option<&LoadResult>, conformance: Option<&Report>) -> String {
    let mut out = head();
    if let Some(c) = conformance {
        conformance_section(&mut out, c);
    }
    if let Some(r) = load {
        load_section(&mut out, r);
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_characters() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn charts_are_self_contained_svg() {
        let c = Chart {
            title: "t<",
            x_label: "x",
            y_label: "y",
            series: vec![("a", vec![(0.0, 1.0), (1.0, 2.0)])],
            x_ticks: Vec::new(),
        };
        let svg = c.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("t&lt;") && svg.contains("<polyline"));
        let page = render(None, None);
        assert!(!page.contains("<script") && !page.contains("<link"));
    }
}
