//! A Markdown summary of a load run for a pull-request comment: the
//! verdict, the thresholds, the correctness and security checks of
//! [`super::load_checks`] (failures first), the delivery accounting, errors
//! by kind over time, the capacity steps with the knee and the last passing
//! step, the generator's health, and the latency per stage (collapsed).
//! Also for a repeated run, a load race, and `run` (the conformance
//! summary of [`super::markdown`] first).

use std::fmt::Write as _;

use super::Report;
use super::junit::escape;
use super::load_checks::{self, Group, Outcome};
use crate::load::LoadResult;
use crate::load::repeat::Repeated;
use crate::metrics::Metric;
use crate::report::race::{Race, figure};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// One run's summary.
pub fn render(r: &LoadResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### pushcheck load: {} against {}: {}\n",
        cell(&r.run.scenario),
        cell(&r.run.target_name),
        r.verdict
    );
    body(&mut out, r);
    out
}

fn body(out: &mut String, r: &LoadResult) {
    let _ = writeln!(
        out,
        "Target `{}`; {} clients; traffic {:.1} s; verdict **{}** (exit {}).{}",
        r.run.target,
        r.budget.clients,
        r.run.traffic_seconds,
        r.verdict,
        r.exit_code,
        if r.interrupted {
            " Interrupted: the figures cover the part that ran."
        } else {
            ""
        }
    );
    if !r.accepted_attacks.is_empty() {
        let _ = writeln!(
            out,
            "\n**Security failure**: the target accepted {}.",
            r.accepted_attacks.join(", ")
        );
    }
    let checks = load_checks::checks(r);
    let thresholds: Vec<_> = checks
        .iter()
        .filter(|c| c.group == Group::Thresholds)
        .collect();
    if !thresholds.is_empty() {
        out.push_str("\n| threshold | observed | verdict |\n|---|---|---|\n");
        for (c, t) in thresholds.iter().zip(&r.thresholds) {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                cell(&c.name),
                cell(&load_checks::observed(t)),
                match t.verdict {
                    crate::load::result::ThresholdVerdict::Pass => "pass",
                    crate::load::result::ThresholdVerdict::Fail => "**fail**",
                    crate::load::result::ThresholdVerdict::NoData => "**fail** (no data)",
                }
            );
        }
    }
    let mut rest: Vec<_> = checks
        .iter()
        .filter(|c| c.group != Group::Thresholds)
        .collect();
    // Security failures, failures, errors (stable in each); passes collapsed.
    rest.sort_by_key(|c| match (c.outcome, c.security) {
        (Outcome::Fail, true) => 0,
        (Outcome::Fail, false) => 1,
        (Outcome::Error, _) => 2,
        (Outcome::Pass, _) => 3,
    });
    let passed = rest.iter().filter(|c| c.outcome == Outcome::Pass).count();
    let header = "| check | result | observed |\n|---|---|---|\n";
    let row = |out: &mut String, c: &load_checks::Check| {
        let result = match (c.outcome, c.security) {
            (Outcome::Fail, true) => "**fail (security)**",
            (Outcome::Fail, false) => "**fail**",
            (Outcome::Error, _) => "**error**",
            (Outcome::Pass, _) => "pass",
        };
        let _ = writeln!(
            out,
            "| {} | {result} | {} |",
            cell(&c.name),
            cell(&c.detail)
        );
    };
    if passed < rest.len() {
        out.push('\n');
        out.push_str(header);
        for c in rest.iter().filter(|c| c.outcome != Outcome::Pass) {
            row(out, c);
        }
    }
    if passed > 0 {
        let _ = write!(
            out,
            "\n<details><summary>{passed} correctness, security and generator checks passed</summary>\n\n{header}"
        );
        for c in rest.iter().filter(|c| c.outcome == Outcome::Pass) {
            row(out, c);
        }
        out.push_str("\n</details>\n");
    }
    let d = &r.deliveries;
    let _ = writeln!(
        out,
        "\n| expected | delivered | reordered | lost | duplicated | unexpected (excluded, unsubscribed, forged) |\n|---|---|---|---|---|---|\n| {} | {} | {} | {} | {} | {} ({}, {}, {}) |",
        d.expected,
        d.delivered,
        d.reordered,
        d.lost,
        d.duplicated,
        d.unexpected(),
        d.unexpected_excluded,
        d.unexpected_unsubscribed,
        d.unexpected_forged
    );
    errors(out, r);
    capacity(out, r);
    health(out, r);
    latency(out, r);
}

/// Errors by kind with the intervals they fell in.
fn errors(out: &mut String, r: &LoadResult) {
    let timelines = load_checks::error_timelines(r);
    if timelines.is_empty() {
        return;
    }
    out.push_str("\n**Errors by kind** (per interval: `end of interval in s: count`)\n\n| error | total | over time |\n|---|---|---|\n");
    for t in timelines {
        let times: Vec<String> = t
            .intervals
            .iter()
            .map(|(s, n)| format!("{s:.0}s: {n}"))
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            t.kind.as_str(),
            t.total,
            if times.is_empty() {
                "-".to_owned()
            } else {
                times.join(", ")
            }
        );
    }
}

/// The capacity steps, the knee in bold, and the last passing step.
fn capacity(out: &mut String, r: &LoadResult) {
    let Some(c) = &r.capacity else {
        return;
    };
    let knee = super::capacity::knee(c);
    let _ = writeln!(
        out,
        "\n**Capacity** of `{}` {}: last passing step **{}**; {}\n\n| step | {} | verdict | deliver p99 (ms) | lost | failed thresholds |\n|---|---|---|---|---|---|",
        cell(&c.population),
        c.parameter,
        c.last_passing
            .map_or_else(|| "none".to_owned(), |v| format!("{v}")),
        super::capacity::note(c),
        c.parameter
    );
    for (i, s) in c.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {}{} | {} | {} | {} | {} | {} |",
            i + 1,
            if knee == Some(i) { " (knee)" } else { "" },
            s.value,
            s.verdict,
            ms(s.deliver_p99_us),
            s.lost,
            cell(&s.failed_thresholds.join(", "))
        );
    }
}

/// The generator's own health.
fn health(out: &mut String, r: &LoadResult) {
    let b = &r.budget;
    let v = &r.validity;
    let _ = writeln!(
        out,
        "\n**Generator health**{}\n\n| schedule lag p99 (ms) | bound (ms) | CPU in traffic (% of a core) | RSS before / idle (MiB) | KiB per idle client | connections/s |\n|---|---|---|---|---|---|\n| {}{} | {} | {:.0} | {:.1} / {:.1} | {:.2} | {:.0} |",
        if b.includes_in_process_server {
            " (the target ran in this process: its CPU and memory are in these figures)"
        } else {
            ""
        },
        ms(v.schedule_lag_p99_us),
        if v.schedule_lag_p99_us <= v.bound_us {
            ""
        } else {
            " **invalid**"
        },
        ms(v.bound_us),
        b.traffic_cpu_percent,
        b.rss_before_kib as f64 / 1024.0,
        b.rss_idle_kib as f64 / 1024.0,
        b.kib_per_idle_client,
        b.connections_per_s
    );
}

/// Latency per stage, collapsed: the comment leads with the verdict.
fn latency(out: &mut String, r: &LoadResult) {
    out.push_str("\n<details><summary>Latency per stage (ms, from the intended send time)</summary>\n\n| stage | count | p50 | p90 | p99 | p99.9 | max |\n|---|---|---|---|---|---|---|\n");
    for m in Metric::ALL {
        let Some(p) = r.metrics.get(&m).filter(|p| p.count > 0) else {
            continue;
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            m.as_str(),
            p.count,
            ms(p.p50),
            ms(p.p90),
            ms(p.p99),
            ms(p.p999),
            ms(p.max)
        );
    }
    out.push_str("\n</details>\n");
}

/// A repeated run: one row per run, then every run in full.
pub fn render_repeated(rep: &Repeated) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### pushcheck load: {}, {} runs: {} (the worst run)\n\n| run | verdict | failed checks | deliver p99 (ms) |\n|---|---|---|---|",
        cell(&rep.scenario),
        rep.repeat,
        rep.verdict
    );
    for (i, r) in rep.runs.iter().enumerate() {
        let failed: Vec<String> = load_checks::checks(r)
            .into_iter()
            .filter(|c| c.outcome != Outcome::Pass)
            .map(|c| format!("`{}`", cell(&c.name)))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            i + 1,
            r.verdict,
            if failed.is_empty() {
                "-".to_owned()
            } else {
                failed.join(", ")
            },
            r.metrics
                .get(&Metric::Deliver)
                .filter(|p| p.count > 0)
                .map_or_else(|| "-".to_owned(), |p| ms(p.p99))
        );
    }
    for (i, r) in rep.runs.iter().enumerate() {
        let _ = writeln!(out, "\n#### run {} of {}\n", i + 1, rep.runs.len());
        body(&mut out, r);
    }
    out
}

/// A load race: the medians with ratios to the first target, then each
/// target's runs, collapsed.
pub fn render_race(race: &Race) -> String {
    let mut out = format!(
        "### pushcheck load race: {}, {} round(s): {}\n\nMedians over the rounds; ratio to `{}`.\n\n| |",
        cell(&race.scenario),
        race.rounds,
        race.status,
        race.entrants.first().map_or("-", |e| e.name.as_str())
    );
    for e in &race.entrants {
        let _ = write!(out, " {} |", cell(&e.name));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(race.entrants.len()));
    out.push('\n');
    for row in race.medians() {
        let _ = write!(out, "| {} |", cell(&row.label));
        for (v, ratio) in row.cells {
            let _ = match ratio {
                Some(x) => write!(out, " {} ({x:.2}x) |", figure(v)),
                None => write!(out, " {} |", figure(v)),
            };
        }
        out.push('\n');
    }
    for e in &race.entrants {
        let _ = writeln!(
            out,
            "\n<details><summary>{} (<code>{}</code>): {}</summary>\n",
            escape(&e.name),
            escape(&e.target),
            e.runs.verdict
        );
        out.push_str(&render_repeated(&e.runs));
        out.push_str("\n</details>\n");
    }
    out
}

/// `run`: the conformance summary, then the load summary.
pub fn render_run(conformance: &Report, load: &LoadResult) -> String {
    format!("{}\n{}", super::markdown::render(conformance), render(load))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::result::{CapacityOutcome, Step};
    use crate::metrics::ErrorKind;
    use crate::report::load_checks::tests::sample;
    use crate::status::Status;

    #[test]
    fn a_failed_threshold_and_an_accepted_attack_lead_the_comment() {
        let md = render(&sample(true, true));
        assert!(
            md.starts_with("### pushcheck load: r against t: fail\n"),
            "{md}"
        );
        assert!(
            md.contains("| `deliver.p99 < 5ms` | 9.01 ms | **fail** |"),
            "{md}"
        );
        assert!(md.contains("| `lost == 0` | 0 | pass |"), "{md}");
        assert!(
            md.contains("**Security failure**: the target accepted"),
            "{md}"
        );
        let security = md.find("| **fail (security)** |").expect("marked");
        let pass = md.find("| no errors | pass |").expect("listed");
        assert!(security < pass, "failures first: {md}");
        assert!(md.contains("**Generator health**"), "{md}");
        assert!(!md.contains("**Errors by kind**"), "no errors, no section");
    }

    #[test]
    fn errors_over_time_and_capacity_steps_with_the_knee_are_shown() {
        let mut r = sample(false, false);
        r.tally.errors.insert(ErrorKind::Refused, 5);
        r.series[0].errors_by_kind = [(ErrorKind::Refused, 2)].into();
        r.series[2].errors_by_kind = [(ErrorKind::Refused, 3)].into();
        r.evaluate();
        let step = |value, verdict| Step {
            value,
            verdict,
            failed_thresholds: if verdict == Status::Pass {
                Vec::new()
            } else {
                vec!["lost == 0".into()]
            },
            deliver_p99_us: 1500,
            messages_sent: 10,
            lost: 0,
        };
        r.capacity = Some(CapacityOutcome {
            population: "pub".into(),
            parameter: "rate".into(),
            steps: vec![step(100.0, Status::Pass), step(200.0, Status::Fail)],
            last_passing: Some(100.0),
        });
        let md = render(&r);
        assert!(md.contains("| `refused` | 5 | 1s: 2, 3s: 3 |"), "{md}");
        assert!(
            md.contains("last passing step **100**; knee at 200 (step 2)"),
            "{md}"
        );
        assert!(md.contains("| 2 (knee) | 200 | fail |"), "{md}");
        assert!(md.contains("| **fail** | 5 errors: refused 5 |"), "{md}");
    }

    #[test]
    fn repeated_runs_race_and_run_each_have_their_summary() {
        let rep = Repeated::new(vec![sample(false, false), sample(true, false)], 2);
        let md = render_repeated(&rep);
        assert!(md.contains("2 runs: fail (the worst run)"), "{md}");
        assert!(
            md.contains("| 2 | fail | `deliver.p99 < 5ms` | 9.01 |"),
            "{md}"
        );
        assert_eq!(md.matches("#### run ").count(), 2);
        let race = crate::report::race::tests::race();
        let md = render_race(&race);
        assert!(
            md.contains("| deliver p99 (ms) | 2.00 (1.00x) | 4.00 (2.00x) |"),
            "{md}"
        );
        let conf = crate::report::every_verdict_sample();
        let md = render_run(&conf, &sample(true, false));
        let c = md.find("### pushcheck conformance").expect("conformance");
        let l = md.find("### pushcheck load").expect("load");
        assert!(c < l);
    }
}
