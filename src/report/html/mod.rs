//! Self-contained HTML reports: inline CSS and SVG charts (no scripts,
//! external styles or fonts), readable offline and as a CI artifact.
//! `conform` renders the conformance results and the matrix of several
//! targets, `load` the load results, `race` the load race; `report::chart`
//! draws the charts.

pub(crate) mod conform;
pub(crate) mod load;
pub(crate) mod race;

use std::fmt::Write as _;

use super::Report;
use crate::load::LoadResult;
use crate::load::repeat::Repeated;

pub use super::markup::escape;

/// The page's CSS: verdict colours (`v-*`), badges, tables, charts that
/// scale to their column.
pub(crate) const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222;line-height:1.4}\
h1{font-size:1.5em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}h3{margin:1.2em 0 .4em}\
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}\
th{background:#f0f0f0}td.l,th.l{text-align:left}td.zero{color:#bbb}\
.pass{color:#060}.fail{color:#b00;font-weight:bold}.warn{color:#a60}.note{color:#555;font-size:.9em}\
.badge{display:inline-block;padding:0 .45em;border-radius:3px;font-size:.85em;font-weight:600;border:1px solid transparent}\
.v-pass{background:#dff3df;color:#145214}.v-fail{background:#f9d6d5;color:#8a1410}.v-warn{background:#fdeccc;color:#7a4a00}\
.v-error{background:#e9d5f5;color:#5b1a80}.v-skip{background:#eee;color:#555}.v-na{background:#f6f6f6;color:#888}\
.security{background:#8a1410;color:#fff}.sec-case{border-color:#8a1410;color:#8a1410;font-weight:400;font-size:.75em}\
details.case{border:1px solid #ddd;border-left-width:4px;border-radius:4px;margin:.3em 0;padding:.2em .5em;background:#fff;color:#222}details.case.v-fail{border-left-color:#c0392b}details.case.v-warn{border-left-color:#e69f00}details.case.v-error{border-left-color:#7b3fa0}details.case.v-pass{border-left-color:#3c9a3c}\
details.case>summary{cursor:pointer}details.case dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:.5em 0}\
details.case dt{color:#555}details.case dd{margin:0;overflow-wrap:anywhere}\
details.passes>summary{cursor:pointer}details.passes>summary h3{display:inline}\
pre.transcript{background:#f7f7f7;border:1px solid #e2e2e2;padding:.5em;overflow-x:auto;font-size:.82em;max-height:28em}\
code.cmd{background:#f3f3f3;padding:0 .3em}\
#matrix td.cell{text-align:center;padding:0}#matrix td.cell a{display:block;padding:2px 8px;color:inherit;text-decoration:none}\
#matrix td.l{font-size:.9em}tr.knee td{outline:2px solid #d55e00}\
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1em}figure{margin:0}\
svg.chart{width:100%;height:auto;background:#fafafa;border:1px solid #ddd}svg.chart text{font-size:11px;font-family:sans-serif}";

/// The page up to the `<h1>`.
fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body><h1>{0}</h1>",
        escape(title)
    )
}

const TAIL: &str = "</body></html>\n";

/// Renders a repeated run (`load --repeat N`): the runs side by side with
/// their medians, then every run in full.
pub fn render_repeated(rep: &Repeated) -> String {
    let mut out = head("pushcheck load report");
    load::repeated(&mut out, rep);
    out.push_str(TAIL);
    out
}

/// Renders the report of `run` or `load`; either part may be absent.
pub fn render(load: Option<&LoadResult>, conformance: Option<&Report>) -> String {
    let mut out = head("pushcheck report");
    if let Some(c) = conformance {
        conform::section(&mut out, c, 0);
    }
    if let Some(r) = load {
        load::section(&mut out, r);
    }
    out.push_str(TAIL);
    out
}

/// Renders the comparison page of a load race.
pub fn render_race(race: &crate::report::race::Race) -> String {
    let mut out = head("pushcheck load race");
    race::section(&mut out, race);
    out.push_str(TAIL);
    out
}

/// Renders `conform --html`: one target's report, or the matrix of several
/// followed by each target's report.
pub fn render_conformance(reports: &[Report]) -> String {
    let mut out = head("pushcheck conformance report");
    match reports {
        [one] => conform::section(&mut out, one, 0),
        many => conform::matrix(&mut out, many),
    }
    let _ = write!(
        out,
        "<p class=\"note\">pushcheck {}</p>",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str(TAIL);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_self_contained() {
        let report = super::super::every_verdict_sample();
        for page in [
            render(None, None),
            render(None, Some(&report)),
            render_conformance(std::slice::from_ref(&report)),
            render_conformance(&[report.clone(), report]),
        ] {
            assert!(!page.contains("<script") && !page.contains("<link"));
            assert!(!page.contains("http://") || page.contains("http://x"));
        }
    }
}
