//! The load race page: the medians table with ratios to the first target,
//! then overlaid curves, one colour per target: the latency percentile
//! spectrum per stage (every round's histogram merged), and throughput,
//! delivery p99 and errors over whole intervals of each target's first
//! round.

use std::fmt::Write as _;

use super::escape;
use super::load::{over_time, p99_ms, spectrum, spectrum_chart};
use crate::metrics::{Histograms, Metric};
use crate::report::chart::{Chart, Series};
use crate::report::race::{Entrant, Race, figure};

fn merged(e: &Entrant) -> Histograms {
    let mut all = Histograms::default();
    for r in &e.runs.runs {
        all.add(&r.histograms);
    }
    all
}

fn medians_table(out: &mut String, race: &Race) {
    out.push_str(r#"<h2>Medians</h2><table id="race-medians"><tr><th class="l">figure</th>"#);
    for (i, e) in race.entrants.iter().enumerate() {
        let _ = write!(
            out,
            "<th>{}{}</th>",
            escape(&e.name),
            if i == 0 { " (base)" } else { "" }
        );
    }
    out.push_str("</tr>");
    for row in race.medians() {
        let _ = write!(out, r#"<tr><td class="l">{}</td>"#, escape(&row.label));
        for (v, r) in row.cells {
            let ratio = r.map_or_else(String::new, |r| format!(" <small>({r:.2}x)</small>"));
            let _ = write!(out, "<td>{}{ratio}</td>", figure(v));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn figure_or_note(out: &mut String, svg: Option<String>, what: &str) {
    match svg {
        Some(svg) => {
            let _ = write!(out, "<figure>{svg}</figure>");
        }
        None => {
            let _ = write!(out, r#"<p class="note">{}: no samples.</p>"#, escape(what));
        }
    }
}

fn over_time_chart(
    race: &Race,
    title: &str,
    y_label: &str,
    f: fn(&crate::load::result::Sample) -> Option<f64>,
) -> Option<String> {
    Chart {
        title: title.into(),
        x_label: "time since start (s)".into(),
        y_label: y_label.into(),
        series: race
            .entrants
            .iter()
            .filter_map(|e| e.runs.runs.first().map(|r| over_time(r, &e.name, f)))
            .collect(),
        x_ticks: Vec::new(),
    }
    .svg()
}

/// The whole page body.
pub(crate) fn section(out: &mut String, race: &Race) {
    let _ = write!(
        out,
        r#"<p>Scenario <b>{}</b> against {} targets, {} round(s), the targets alternating within each round. Status: <span class="{}">{}</span> (exit {}, the worst run of any target). Latencies in milliseconds; ratios are to the first target.</p><ul>"#,
        escape(&race.scenario),
        race.entrants.len(),
        race.rounds,
        if race.status.code() == 0 {
            "pass"
        } else {
            "fail"
        },
        race.status,
        race.status.code()
    );
    for e in &race.entrants {
        let _ = write!(
            out,
            r#"<li><b>{}</b> <code>{}</code>: {}, <a href="{}/report.html">its full report</a></li>"#,
            escape(&e.name),
            escape(&e.target),
            e.runs.verdict,
            escape(&e.name)
        );
    }
    out.push_str("</ul>");
    medians_table(out, race);
    out.push_str(r#"<h2>Latency percentile spectrum per stage</h2><div class="plots">"#);
    let hists: Vec<Histograms> = race.entrants.iter().map(merged).collect();
    for m in Metric::ALL {
        let series: Vec<Series> = race
            .entrants
            .iter()
            .zip(&hists)
            .map(|(e, h)| Series {
                name: e.name.clone(),
                points: spectrum(h, m),
            })
            .collect();
        if series.iter().all(|s| s.points.is_empty()) {
            continue;
        }
        let svg = spectrum_chart(format!("{} latency by percentile", m.as_str()), series);
        figure_or_note(out, svg, m.as_str());
    }
    out.push_str(
        r#"</div><h2>Over time (first round, whole 1 s intervals)</h2><div class="plots">"#,
    );
    figure_or_note(
        out,
        over_time_chart(race, "deliveries per second", "deliveries/s", |s| {
            Some(s.deliveries_per_s)
        }),
        "throughput",
    );
    figure_or_note(
        out,
        over_time_chart(race, "deliver p99 per interval", "p99 (ms)", |s| {
            p99_ms(s.deliver_p99_us)
        }),
        "deliver p99",
    );
    figure_or_note(
        out,
        over_time_chart(race, "errors per interval", "errors", |s| {
            Some(s.errors as f64)
        }),
        "errors",
    );
    out.push_str("</div>");
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_race_page_overlays_one_curve_per_target_in_well_drawn_charts() {
        let page = super::super::render_race(&crate::report::race::tests::race());
        let charts = crate::report::chart::tests::check_page_charts(&page);
        assert!(charts >= 3, "{charts} charts");
        assert!(page.contains(r#"id="race-medians""#));
        assert!(page.contains(r#"<a href="b/report.html">"#));
        let spectrum = &page[page.find("deliver latency by percentile").expect("drawn")..];
        let spectrum = &spectrum[..spectrum.find("</svg>").expect("closed")];
        assert_eq!(spectrum.matches(r#"<g class="legend">"#).count(), 2);
    }
}
