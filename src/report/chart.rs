//! Line charts as inline SVG for the HTML reports. The geometry is fixed in
//! a `viewBox` and the element scales to the width of its container, so a
//! chart is responsive without script. Axes start at zero (or at the
//! smallest x), end at a "nice" number at or above the largest value, and
//! every gridline spans exactly the plot area; the legend sits to the right
//! of the plot area, never over the data. A series without points is left
//! out, and a chart without any is not drawn (the caller says "no samples").
//!
//! Hand-written rather than `plotters`: the SVG here is a few dozen
//! elements, and keeping it ours keeps the output stable and testable
//! (the tests parse it and check every coordinate against the plot area).

use std::fmt::Write as _;

use super::markup::escape;

/// Width of the `viewBox`.
const W: f64 = 640.0;
/// Height of the `viewBox`.
const H: f64 = 300.0;
/// The plot area inside the `viewBox`: left, top, right, bottom.
const PLOT: Rect = Rect {
    left: 64.0,
    top: 30.0,
    right: 480.0,
    bottom: 250.0,
};
/// Where the legend column starts (right of the plot area).
const LEGEND_X: f64 = PLOT.right + 16.0;

/// Series colours (colour-blind safe, Okabe-Ito).
pub(crate) const COLORS: [&str; 6] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9",
];

#[derive(Debug, Clone, Copy)]
struct Rect {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

/// One named line.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Legend text.
    pub(crate) name: String,
    /// Points in data space, in x order.
    pub(crate) points: Vec<(f64, f64)>,
}

/// A line chart of several series over shared axes.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    /// Heading inside the SVG.
    pub(crate) title: String,
    /// X axis label, with its unit.
    pub(crate) x_label: String,
    /// Y axis label, with its unit.
    pub(crate) y_label: String,
    /// The lines.
    pub(crate) series: Vec<Series>,
    /// Fixed x ticks `(position, label)`; empty: nice ticks over the data.
    pub(crate) x_ticks: Vec<(f64, String)>,
}

/// Ticks at a "nice" step (1, 2, 2.5 or 5 times a power of ten) from `lo`
/// to the first tick at or above `hi`; at most about `n` + 1 of them.
pub(crate) fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = if hi > lo { hi - lo } else { hi.abs().max(1.0) };
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).floor() * step;
    let mut ticks = vec![first];
    while *ticks.last().expect("one tick") < hi - step * 1e-9 {
        ticks.push(first + step * ticks.len() as f64);
    }
    if ticks.len() == 1 {
        ticks.push(first + step);
    }
    ticks
}

/// A tick label: as few decimals as the step needs.
pub(crate) fn tick_label(v: f64, step: f64) -> String {
    let decimals = (0..6)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(6) as usize;
    format!("{v:.decimals$}")
}

impl Chart {
    /// The series that have points.
    fn drawn(&self) -> impl Iterator<Item = &Series> {
        self.series.iter().filter(|s| !s.points.is_empty())
    }

    /// The SVG element, or `None` when no series has a point.
    pub(crate) fn svg(&self) -> Option<String> {
        let pts: Vec<(f64, f64)> = self
            .drawn()
            .flat_map(|s| s.points.iter().copied())
            .collect();
        if pts.is_empty() {
            return None;
        }
        let x_ticks: Vec<(f64, String)> = if self.x_ticks.is_empty() {
            let lo = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
            let hi = pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
            labelled(&nice_ticks(lo.min(0.0), hi, 5))
        } else {
            self.x_ticks.clone()
        };
        let y_hi = pts.iter().map(|p| p.1).fold(0.0, f64::max);
        let y_ticks = labelled(&nice_ticks(0.0, y_hi, 4));
        let (x0, x1) = span(&x_ticks);
        let (y0, y1) = span(&y_ticks);
        let px = |x: f64| PLOT.left + (x - x0) / (x1 - x0) * (PLOT.right - PLOT.left);
        let py = |y: f64| PLOT.bottom - (y - y0) / (y1 - y0) * (PLOT.bottom - PLOT.top);
        let mut s = format!(
            r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" preserveAspectRatio="xMinYMin meet" role="img" aria-label="{}">"#,
            escape(&self.title)
        );
        let _ = write!(
            s,
            r#"<text class="title" x="{}" y="16" text-anchor="middle" font-weight="bold">{}</text>"#,
            (PLOT.left + PLOT.right) / 2.0,
            escape(&self.title)
        );
        let _ = write!(
            s,
            r##"<rect class="plot" x="{}" y="{}" width="{}" height="{}" fill="#fff" stroke="#888"/>"##,
            PLOT.left,
            PLOT.top,
            PLOT.right - PLOT.left,
            PLOT.bottom - PLOT.top
        );
        for (v, label) in &y_ticks {
            let y = py(*v);
            let _ = write!(
                s,
                r##"<line class="grid" x1="{}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#e4e4e4"/><text class="ytick" x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                PLOT.left,
                PLOT.right,
                PLOT.left - 6.0,
                y + 4.0,
                escape(label)
            );
        }
        for (v, label) in &x_ticks {
            let x = px(*v);
            let _ = write!(
                s,
                r##"<line class="grid" x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#f0f0f0"/><text class="xtick" x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
                PLOT.top,
                PLOT.bottom,
                PLOT.bottom + 16.0,
                escape(label)
            );
        }
        let (cx, cy) = (
            (PLOT.left + PLOT.right) / 2.0,
            (PLOT.top + PLOT.bottom) / 2.0,
        );
        let _ = write!(
            s,
            r#"<text class="xlabel" x="{cx}" y="{}" text-anchor="middle">{}</text><text class="ylabel" x="14" y="{cy}" transform="rotate(-90 14 {cy})" text-anchor="middle">{}</text>"#,
            H - 14.0,
            escape(&self.x_label),
            escape(&self.y_label)
        );
        self.draw_series(&mut s, &px, &py);
        s.push_str("</svg>");
        Some(s)
    }

    /// One polyline (a circle for a single point) and one legend entry per
    /// drawn series; the legend is a column right of the plot area.
    fn draw_series(&self, s: &mut String, px: &dyn Fn(f64) -> f64, py: &dyn Fn(f64) -> f64) {
        for (i, series) in self.drawn().enumerate() {
            let color = COLORS[i % COLORS.len()];
            if let [(x, y)] = series.points[..] {
                let _ = write!(
                    s,
                    r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#,
                    px(x),
                    py(y)
                );
            } else {
                let path: Vec<String> = series
                    .points
                    .iter()
                    .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
                    .collect();
                let _ = write!(
                    s,
                    r#"<polyline class="series" fill="none" stroke="{color}" stroke-width="1.8" points="{}"/>"#,
                    path.join(" ")
                );
            }
            let y = PLOT.top + 8.0 + 18.0 * i as f64;
            let _ = write!(
                s,
                r#"<g class="legend"><rect x="{LEGEND_X}" y="{}" width="12" height="4" fill="{color}"/><text x="{}" y="{}">{}</text></g>"#,
                y - 4.0,
                LEGEND_X + 16.0,
                y + 1.0,
                escape(&series.name)
            );
        }
    }
}

/// Ticks with labels at the precision their step needs.
fn labelled(ticks: &[f64]) -> Vec<(f64, String)> {
    let step = if ticks.len() > 1 {
        ticks[1] - ticks[0]
    } else {
        1.0
    };
    ticks.iter().map(|t| (*t, tick_label(*t, step))).collect()
}

/// First and last tick position (never an empty span).
fn span(ticks: &[(f64, String)]) -> (f64, f64) {
    let lo = ticks.first().map_or(0.0, |t| t.0);
    let hi = ticks.last().map_or(1.0, |t| t.0);
    if hi > lo { (lo, hi) } else { (lo, lo + 1.0) }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The plot rectangle of a parsed chart.
    fn plot_rect(doc: &roxmltree::Document<'_>) -> Rect {
        let r = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("plot"))
            .expect("a plot rectangle");
        let f = |a| {
            r.attribute(a)
                .and_then(|v| v.parse::<f64>().ok())
                .expect("number")
        };
        Rect {
            left: f("x"),
            top: f("y"),
            right: f("x") + f("width"),
            bottom: f("y") + f("height"),
        }
    }

    fn num(n: roxmltree::Node<'_, '_>, a: &str) -> f64 {
        n.attribute(a)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{a} of {n:?}"))
    }

    /// Checks a rendered chart: it parses as XML; gridlines span exactly the
    /// plot area; every point lies inside it; legends lie outside it; the y
    /// tick labels start at 0 and end at the first nice value at or above
    /// the data's maximum `y_max` (when given). Returns the y tick labels.
    pub(crate) fn check_chart(svg: &str, y_max: Option<f64>) -> Vec<f64> {
        let doc = roxmltree::Document::parse(svg).expect("the chart is well-formed XML");
        let p = plot_rect(&doc);
        let inside = |x: f64, y: f64| {
            x >= p.left - 0.05 && x <= p.right + 0.05 && y >= p.top - 0.05 && y <= p.bottom + 0.05
        };
        for g in doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("grid"))
        {
            let (x1, y1, x2, y2) = (num(g, "x1"), num(g, "y1"), num(g, "x2"), num(g, "y2"));
            assert!(inside(x1, y1) && inside(x2, y2), "gridline outside: {g:?}");
            let horizontal = (y1 - y2).abs() < 1e-9;
            if horizontal {
                assert_eq!((x1, x2), (p.left, p.right), "a gridline spans the plot");
            } else {
                assert_eq!((y1, y2), (p.top, p.bottom), "a gridline spans the plot");
            }
        }
        for n in doc.descendants() {
            match n.attribute("class") {
                Some("series") => {
                    for pair in n.attribute("points").expect("points").split(' ') {
                        let (x, y) = pair.split_once(',').expect("x,y");
                        let (x, y) = (x.parse().expect("x"), y.parse().expect("y"));
                        assert!(inside(x, y), "point {x},{y} outside {p:?}");
                    }
                }
                Some("point") => assert!(inside(num(n, "cx"), num(n, "cy"))),
                Some("legend") => {
                    let r = n.first_element_child().expect("swatch");
                    assert!(num(r, "x") > p.right, "the legend is right of the plot");
                }
                _ => {}
            }
        }
        let y_ticks: Vec<f64> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("ytick"))
            .map(|n| n.text().expect("label").parse().expect("a number"))
            .collect();
        let (lo, hi) = (y_ticks[0], *y_ticks.last().expect("ticks"));
        let step = y_ticks[1] - y_ticks[0];
        assert_eq!(lo, 0.0, "the y axis starts at zero");
        if let Some(y_max) = y_max {
            assert!(hi >= y_max - 1e-9, "top tick {hi} below the data's {y_max}");
            assert!(
                hi - step < y_max,
                "top tick {hi} a whole step above {y_max}"
            );
        }
        y_ticks
    }

    /// Every chart of an HTML page, checked; returns how many there were.
    pub(crate) fn check_page_charts(page: &str) -> usize {
        let mut n = 0;
        let mut rest = page;
        while let Some(start) = rest.find("<svg class=\"chart\"") {
            let end = rest[start..].find("</svg>").expect("closed") + start + 6;
            check_chart(&rest[start..end], None);
            rest = &rest[end..];
            n += 1;
        }
        n
    }

    fn series(name: &str, points: &[(f64, f64)]) -> Series {
        Series {
            name: name.into(),
            points: points.to_vec(),
        }
    }

    fn chart(series: Vec<Series>) -> Chart {
        Chart {
            title: "t <&>".into(),
            x_label: "time (s)".into(),
            y_label: "latency (ms)".into(),
            series,
            x_ticks: Vec::new(),
        }
    }

    #[test]
    fn gridlines_points_and_legends_stay_where_they_belong() {
        let c = chart(vec![
            series("a", &[(1.0, 3.2), (2.0, 17.9), (3.0, 0.0)]),
            series("b", &[(1.0, 1.0), (2.0, 2.5), (3.0, 4.0)]),
        ]);
        let svg = c.svg().expect("drawn");
        let ticks = check_chart(&svg, Some(17.9));
        assert_eq!(ticks, vec![0.0, 5.0, 10.0, 15.0, 20.0]);
        let doc = roxmltree::Document::parse(&svg).expect("xml");
        let x_ticks: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("xtick"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(x_ticks.first(), Some(&"0"), "{x_ticks:?}");
        assert!(
            x_ticks
                .last()
                .is_some_and(|t| t.parse::<f64>().expect("n") >= 3.0)
        );
        assert!(svg.contains("t &lt;&amp;&gt;"));
        assert!(svg.contains("viewBox") && !svg.contains("width=\"460\""));
    }

    #[test]
    fn an_empty_series_is_left_out_and_a_chart_without_data_is_not_drawn() {
        let c = chart(vec![series("empty", &[]), series("one", &[(2.0, 0.4)])]);
        let svg = c.svg().expect("one series has a point");
        check_chart(&svg, Some(0.4));
        assert!(!svg.contains(">empty<"), "no legend for an empty series");
        assert!(
            svg.contains("<circle"),
            "a single point is a dot, not a line"
        );
        assert!(chart(vec![series("empty", &[])]).svg().is_none());
    }

    #[test]
    fn nice_ticks_cover_the_range_with_few_round_steps() {
        assert_eq!(nice_ticks(0.0, 17.9, 4), vec![0.0, 5.0, 10.0, 15.0, 20.0]);
        assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(nice_ticks(0.0, 0.0, 4), vec![0.0, 0.25]);
        let t = nice_ticks(0.0, 123_456.0, 4);
        assert!(t.len() <= 6 && *t.last().expect("t") >= 123_456.0, "{t:?}");
        assert_eq!(tick_label(0.25, 0.25), "0.25");
        assert_eq!(tick_label(0.5, 0.5), "0.5");
        assert_eq!(tick_label(15.0, 5.0), "15");
    }
}
