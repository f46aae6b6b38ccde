//! The load part of the HTML report: verdict and evidence, the latency
//! table (ms), deliveries, attacks and thresholds, capacity steps with the
//! last passing step, the generator's health, and the charts (percentile
//! spectrum per stage on a log scale, throughput and p99 over whole
//! intervals, errors and schedule lag over time).

use std::fmt::Write as _;

use super::escape;
use crate::load::LoadResult;
use crate::load::repeat::Repeated;
use crate::load::result::{Sample, ThresholdVerdict};
use crate::metrics::{Histograms, Metric, spread_percent};
use crate::report::chart::{Chart, Series};

/// How the HTML states the units and the measurement (the JSON keeps
/// microseconds; the tables and charts here are in milliseconds).
const LATENCY_NOTE: &str = "Latencies in milliseconds. publish, deliver, fanout and client_event count from the intended send time of an open-loop schedule (coordinated omission corrected); every instant comes from the host's monotonic clock (a delivery sent from another host is accounted but not timed).";

/// Percentile labels of the spectrum's x axis and their position,
/// `log10(1 / (1 - q))`: 90 %, 99 %, 99.9 % ... are evenly spaced.
const NINES: [(f64, &str); 6] = [
    (0.0, "0%"),
    (1.0, "90%"),
    (2.0, "99%"),
    (3.0, "99.9%"),
    (4.0, "99.99%"),
    (5.0, "99.999%"),
];

/// The samples of whole collector intervals. The median interval length is
/// the collector's period; an interval shorter than 90 % of it (the last
/// one, cut short when the run stopped) would read as a drop to zero.
pub(crate) fn whole_intervals(series: &[Sample]) -> Vec<&Sample> {
    let mut prev = 0.0;
    let lengths: Vec<f64> = series
        .iter()
        .map(|s| {
            let l = s.t - prev;
            prev = s.t;
            l
        })
        .collect();
    let mut sorted = lengths.clone();
    sorted.sort_by(f64::total_cmp);
    let Some(median) = sorted.get(sorted.len() / 2).copied() else {
        return Vec::new();
    };
    series
        .iter()
        .zip(&lengths)
        .filter(|(_, l)| **l >= 0.9 * median)
        .map(|(s, _)| s)
        .collect()
}

/// The percentile spectrum of one stage in ms (x: [`NINES`] positions).
pub(crate) fn spectrum(h: &Histograms, m: Metric) -> Vec<(f64, f64)> {
    let h = h.get(m);
    if h.is_empty() {
        return Vec::new();
    }
    (0..=100)
        .map(|i| {
            let x = f64::from(i) * 0.05;
            let q = 1.0 - 10f64.powf(-x);
            (x, h.value_at_quantile(q) as f64 / 1000.0)
        })
        .collect()
}

/// A spectrum chart of named histograms (one stage of one run, or one
/// stage of several targets in a race).
pub(crate) fn spectrum_chart(title: String, series: Vec<Series>) -> Option<String> {
    Chart {
        title,
        x_label: "percentile (log scale of 1 / (1 - q))".into(),
        y_label: "latency (ms)".into(),
        series,
        x_ticks: NINES.iter().map(|(x, l)| (*x, (*l).to_owned())).collect(),
    }
    .svg()
}

/// A series over whole intervals; `None` from `f` leaves the interval out
/// (a p99 of an interval without samples is no data, not zero).
pub(crate) fn over_time(r: &LoadResult, name: &str, f: impl Fn(&Sample) -> Option<f64>) -> Series {
    Series {
        name: name.into(),
        points: whole_intervals(&r.series)
            .into_iter()
            .filter_map(|s| f(s).map(|v| (s.t, v)))
            .collect(),
    }
}

/// A p99 in ms, or `None` for an interval without samples.
pub(crate) fn p99_ms(us: u64) -> Option<f64> {
    (us > 0).then(|| us as f64 / 1000.0)
}

fn chart_or_note(out: &mut String, chart: Option<String>, what: &str) {
    match chart {
        Some(svg) => {
            let _ = write!(out, "<figure>{svg}</figure>");
        }
        None => {
            let _ = write!(out, r#"<p class="note">{}: no samples.</p>"#, escape(what));
        }
    }
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
        out.push_str(r#"<h3>Errors by kind</h3><table id="load-errors"><tr><th class="l">error</th><th>count</th></tr>"#);
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

/// The whole load section of one run.
pub(crate) fn section(out: &mut String, r: &LoadResult) {
    let verdict_class = if r.exit_code == 0 { "pass" } else { "fail" };
    let _ = write!(
        out,
        "<h2>Load: {}</h2><p>{}</p>",
        escape(&r.run.scenario),
        escape(&r.run.description)
    );
    let _ = write!(
        out,
        r#"<p>Target <code>{}</code>; traffic {:.1} s; shards {}. Verdict: <span class="{verdict_class}" id="load-verdict">{}</span> (exit {}).</p><p class="note">{LATENCY_NOTE}</p>"#,
        escape(&r.run.target),
        r.run.traffic_seconds,
        r.run.shards,
        r.verdict.as_str(),
        r.exit_code,
    );
    evidence_section(out, r);
    if !r.accepted_attacks.is_empty() {
        let _ = write!(
            out,
            r#"<p class="fail">Security failure: the target accepted {}</p>"#,
            escape(&r.accepted_attacks.join(", "))
        );
    }
    latency_table(out, r);
    outcome_tables(out, r);
    nodes_table(out, r);
    capacity_table(out, r);
    health(out, r);
    charts(out, r);
}

fn latency_table(out: &mut String, r: &LoadResult) {
    out.push_str(r#"<h3>Latency per stage (ms)</h3><table><tr><th class="l">stage</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>"#);
    for m in Metric::ALL {
        let Some(p) = r.metrics.get(&m).filter(|p| p.count > 0) else {
            continue;
        };
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
    out.push_str("</table>");
}

/// The target's nodes and their shares, node events and the outage ledger.
fn nodes_table(out: &mut String, r: &LoadResult) {
    use crate::report::markup::escape;
    if r.nodes.len() > 1 {
        out.push_str(r#"<h3>Nodes</h3><table><tr><th class="l">node</th><th class="l">url</th><th>connections</th><th>share</th><th>planned</th><th>reconnected here</th></tr>"#);
        for n in &r.nodes {
            let _ = write!(
                out,
                r#"<tr><td class="l">{}</td><td class="l">{}</td><td>{}</td><td>{:.1}%</td><td>{}</td><td>{}</td></tr>"#,
                escape(&n.name),
                escape(&n.url),
                n.connections,
                n.share * 100.0,
                n.planned,
                n.reconnections
            );
        }
        out.push_str("</table>");
    }
    if r.events.is_empty() {
        return;
    }
    out.push_str(r#"<h3>Node events</h3><table><tr><th class="l">event</th><th>at (s)</th><th>done (s)</th><th class="l">error</th></tr>"#);
    for e in &r.events {
        let done = e
            .done_seconds
            .map_or_else(|| "-".into(), |s| format!("{s:.2}"));
        let _ = write!(
            out,
            r#"<tr><td class="l">{} {}</td><td>{:.1}</td><td>{done}</td><td class="l">{}</td></tr>"#,
            escape(&e.action),
            escape(&e.node),
            e.at_seconds,
            escape(e.error.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>");
    let t = &r.tally;
    let _ = write!(
        out,
        r#"<table><tr><th>closed by events</th><th>reconnected</th><th>expected of them</th><th>lost during outage</th><th>lost among connected</th><th>published while away</th></tr><tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>"#,
        t.outage_disconnects,
        t.reconnects,
        t.outage_expected,
        t.outage_lost,
        r.deliveries.lost_connected,
        t.missed_while_away
    );
}

/// Deliveries, attacks and thresholds.
fn outcome_tables(out: &mut String, r: &LoadResult) {
    let d = &r.deliveries;
    let _ = write!(
        out,
        r#"<h3>Deliveries</h3><table><tr><th>expected</th><th>delivered</th><th>reordered</th><th>lost</th><th>duplicated</th><th>unexpected (excluded / unsubscribed / forged)</th></tr><tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {} / {}</td></tr></table>"#,
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
        out.push_str(r#"<h3>Attacks</h3><table><tr><th class="l">attack</th><th>attempted</th><th>rejected</th><th>accepted</th></tr>"#);
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
            r#"<h3>Thresholds</h3><table><tr><th class="l">threshold</th><th>observed</th><th>verdict</th></tr>"#,
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
                escape(&crate::report::load_text::observed(t))
            );
        }
        out.push_str("</table>");
    }
}

/// Capacity steps in order, the knee (the first failing step above the
/// last passing one) and the last passing value.
fn capacity_table(out: &mut String, r: &LoadResult) {
    let Some(c) = &r.capacity else {
        return;
    };
    let knee = crate::report::capacity::knee(c);
    let _ = write!(
        out,
        r#"<h3>Capacity: {} {}</h3><p id="capacity-last-passing">Last passing step: <b>{}</b>; {}.</p><table id="capacity"><tr><th class="l">step</th><th>{1}</th><th>verdict</th><th>deliver p99 (ms)</th><th>messages sent</th><th>lost</th><th class="l">failed thresholds</th></tr>"#,
        escape(&c.population),
        escape(&c.parameter),
        c.last_passing
            .map_or_else(|| "none".to_owned(), |v| format!("{v}")),
        escape(&crate::report::capacity::note(c)),
    );
    for (i, s) in c.steps.iter().enumerate() {
        let passed = s.verdict == crate::status::Status::Pass;
        let is_knee = knee == Some(i);
        let _ = write!(
            out,
            r#"<tr{}><td class="l">{}</td><td>{}</td><td class="{}">{}{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td class="l">{}</td></tr>"#,
            if is_knee { r#" class="knee""# } else { "" },
            i + 1,
            s.value,
            if passed { "pass" } else { "fail" },
            s.verdict.as_str(),
            if is_knee { " (knee)" } else { "" },
            s.deliver_p99_us as f64 / 1000.0,
            s.messages_sent,
            s.lost,
            escape(&s.failed_thresholds.join(", ")),
        );
    }
    out.push_str("</table>");
}

/// The generator's own health: memory, connect rate, schedule lag.
fn health(out: &mut String, r: &LoadResult) {
    let b = &r.budget;
    let _ = write!(
        out,
        r#"<h3>Generator health</h3><table id="generator"><tr><th class="l">clients</th><th>sockets</th><th>cores</th><th>listened</th><th>RSS before (MiB)</th><th>RSS idle (MiB)</th><th>KiB per idle client</th><th>connections/s</th><th>CPU in traffic (% of a core)</th><th>schedule lag p99 (ms)</th><th>bound (ms)</th><th>valid</th></tr><tr><td class="l">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.2}</td><td>{:.0}</td><td>{:.0}</td><td>{:.2}</td><td>{:.2}</td><td class="{}">{}</td></tr></table>{}"#,
        b.clients,
        b.sockets,
        match b.cores {
            0 => "-".to_owned(),
            n => n.to_string(),
        },
        b.listened,
        b.rss_before_kib as f64 / 1024.0,
        b.rss_idle_kib as f64 / 1024.0,
        b.kib_per_idle_client,
        b.connections_per_s,
        b.traffic_cpu_percent,
        r.validity.schedule_lag_p99_us as f64 / 1000.0,
        r.validity.bound_us as f64 / 1000.0,
        if r.validity.valid { "pass" } else { "fail" },
        if r.validity.valid { "yes" } else { "no" },
        if b.includes_in_process_server {
            r#"<p class="note">The target ran in this process: its memory is in these figures.</p>"#
        } else {
            ""
        },
    );
}

fn charts(out: &mut String, r: &LoadResult) {
    out.push_str(r#"<h3>Latency percentile spectrum per stage</h3><div class="plots">"#);
    for m in Metric::ALL {
        let points = spectrum(&r.histograms, m);
        if points.is_empty() {
            continue;
        }
        let chart = spectrum_chart(
            format!("{} latency by percentile", m.as_str()),
            vec![Series {
                name: m.as_str().into(),
                points,
            }],
        );
        chart_or_note(out, chart, m.as_str());
    }
    out.push_str(r#"</div><h3>Over time (whole 1 s intervals)</h3><div class="plots">"#);
    let throughput = Chart {
        title: "throughput".into(),
        x_label: "time since start (s)".into(),
        y_label: "per second".into(),
        series: vec![
            over_time(r, "deliveries/s", |s| Some(s.deliveries_per_s)),
            over_time(r, "messages sent/s", |s| Some(s.messages_per_s)),
        ],
        x_ticks: Vec::new(),
    };
    chart_or_note(out, throughput.svg(), "throughput");
    let p99 = Chart {
        title: "p99 latency per interval".into(),
        x_label: "time since start (s)".into(),
        y_label: "p99 (ms)".into(),
        series: vec![
            over_time(r, "deliver", |s| p99_ms(s.deliver_p99_us)),
            over_time(r, "client_event", |s| p99_ms(s.client_event_p99_us)),
            over_time(r, "publish", |s| p99_ms(s.publish_p99_us)),
            over_time(r, "schedule lag", |s| p99_ms(s.schedule_lag_p99_us)),
        ],
        x_ticks: Vec::new(),
    };
    chart_or_note(out, p99.svg(), "p99 latency");
    let mut kinds: Vec<crate::metrics::ErrorKind> = r
        .series
        .iter()
        .flat_map(|s| s.errors_by_kind.keys().copied())
        .collect();
    kinds.sort();
    kinds.dedup();
    // One line per kind that occurred; with none, the total (a line at zero
    // is a measurement: no errors, not missing data).
    let series = if kinds.is_empty() {
        vec![over_time(r, "errors (all kinds)", |s| {
            Some(s.errors as f64)
        })]
    } else {
        kinds
            .iter()
            .map(|k| {
                over_time(r, k.as_str(), |s| {
                    Some(s.errors_by_kind.get(k).copied().unwrap_or(0) as f64)
                })
            })
            .collect()
    };
    let errors = Chart {
        title: "errors per interval, by kind".into(),
        x_label: "time since start (s)".into(),
        y_label: "errors".into(),
        series,
        x_ticks: Vec::new(),
    };
    chart_or_note(out, errors.svg(), "errors");
    out.push_str("</div>");
}

/// A repeated run (`load --repeat N`): the runs side by side with their
/// medians, then every run in full.
pub(crate) fn repeated(out: &mut String, rep: &Repeated) {
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
        section(out, r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, deliveries_per_s: f64) -> Sample {
        Sample {
            t,
            connections: 1,
            messages_per_s: deliveries_per_s,
            deliveries_per_s,
            errors: 0,
            errors_by_kind: Default::default(),
            deliver_p50_us: 0,
            deliver_p99_us: 0,
            client_event_p99_us: 0,
            publish_p99_us: 0,
            schedule_lag_p99_us: 0,
        }
    }

    #[test]
    fn the_last_partial_interval_is_dropped() {
        let series = [
            sample(1.0, 100.0),
            sample(2.0, 100.0),
            sample(3.001, 100.0),
            sample(3.2, 7.0),
        ];
        let whole: Vec<f64> = whole_intervals(&series).iter().map(|s| s.t).collect();
        assert_eq!(whole, vec![1.0, 2.0, 3.001]);
        assert!(whole_intervals(&[]).is_empty());
    }

    #[test]
    fn the_load_page_draws_its_charts_inside_their_plot_areas_and_says_ms() {
        let r = crate::report::race::tests::run(3000);
        let page = crate::report::html::render(Some(&r), None);
        let charts = crate::report::chart::tests::check_page_charts(&page);
        // deliver spectrum, throughput, p99, errors
        assert_eq!(charts, 4, "{page}");
        assert!(page.contains("Latencies in milliseconds"));
        assert!(!page.contains("latencies in microseconds"));
        let at = page
            .find(r#"aria-label="p99 latency per interval""#)
            .expect("drawn");
        let start = page[..at].rfind("<svg").expect("svg");
        let end = at + page[at..].find("</svg>").expect("closed") + 6;
        let p99 = &page[start..end];
        assert_eq!(
            p99.matches(r#"<g class="legend">"#).count(),
            1,
            "only the stage with samples is drawn: {p99}"
        );
        let top = crate::report::chart::tests::check_chart(p99, Some(3.0));
        assert_eq!(top.last(), Some(&3.0));
    }

    #[test]
    fn errors_are_drawn_per_kind_over_time() {
        use crate::metrics::ErrorKind;
        let mut r = crate::report::race::tests::run(3000);
        r.series[0].errors_by_kind = [(ErrorKind::Refused, 2)].into();
        r.series[1].errors_by_kind = [(ErrorKind::Handshake, 1), (ErrorKind::Refused, 4)].into();
        let page = crate::report::html::render(Some(&r), None);
        crate::report::chart::tests::check_page_charts(&page);
        let at = page
            .find(r#"aria-label="errors per interval, by kind""#)
            .expect("drawn");
        let svg = &page[at..at + page[at..].find("</svg>").expect("closed")];
        assert!(
            svg.contains(">handshake<") && svg.contains(">refused<"),
            "{svg}"
        );
        assert_eq!(svg.matches(r#"<g class="legend">"#).count(), 2);
    }

    #[test]
    fn a_p99_of_an_interval_without_samples_is_no_point() {
        assert_eq!(p99_ms(0), None);
        assert_eq!(p99_ms(1500), Some(1.5));
    }
}
