//! Terminal summary of a load run: percentile tables, delivery accounting,
//! attacks, capacity steps (the knee, the last passing step), the
//! generator's budget and health, thresholds, errors by kind over time and
//! the verdict.

use std::fmt::Write as _;

use crate::load::LoadResult;
use crate::load::repeat::Repeated;
use crate::load::result::ThresholdVerdict;
use crate::metrics::Metric;
use crate::metrics::spread_percent;

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

pub use super::load_checks::observed;

/// Renders the summary.
pub fn render(r: &LoadResult) -> String {
    let mut out = String::new();
    let shards = if r.run.shards > 1 {
        format!(" ({} shards merged)", r.run.shards)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "\nload scenario {} against {}{shards}",
        r.run.scenario, r.run.target
    );
    let _ = writeln!(
        out,
        "traffic {:.1}s; latency in ms from the intended send time (open loop)\n",
        r.run.traffic_seconds
    );
    let _ = writeln!(
        out,
        "{:<17} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "stage", "count", "p50", "p90", "p99", "p99.9", "max", "mean"
    );
    for m in Metric::ALL {
        let p = &r.metrics[&m];
        if p.count == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "{:<17} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9.2}",
            m.as_str(),
            p.count,
            ms(p.p50),
            ms(p.p90),
            ms(p.p99),
            ms(p.p999),
            ms(p.max),
            p.mean / 1000.0
        );
    }
    counts(&mut out, r);
    capacity(&mut out, r);
    judgement(&mut out, r);
    out
}

/// The target's nodes with their shares, the node events, and the outage
/// ledger (only for runs that have them).
fn nodes(out: &mut String, r: &LoadResult) {
    if r.nodes.len() > 1 {
        let list: Vec<String> = r
            .nodes
            .iter()
            .map(|n| {
                format!(
                    "{} {} {} connections ({:.1}%, {} planned, {} reconnected here)",
                    n.name,
                    n.url,
                    n.connections,
                    n.share * 100.0,
                    n.planned,
                    n.reconnections
                )
            })
            .collect();
        let _ = writeln!(out, "nodes: {}", list.join("; "));
    }
    for e in &r.events {
        let done = e
            .done_seconds
            .map_or_else(|| "not run".to_owned(), |s| format!("done at {s:.2}s"));
        let error = e
            .error
            .as_deref()
            .map(|x| format!(", failed: {x}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "event {} {} at {:.1}s: {done}{error}",
            e.action, e.node, e.at_seconds
        );
    }
    let t = &r.tally;
    if !r.events.is_empty() || t.outage_disconnects > 0 {
        let _ = writeln!(
            out,
            "outage: {} connections closed under their clients, {} reconnected; deliveries expected of them {}, lost during the outage {}; lost among connected clients {}; published while away {}, early arrivals {}",
            t.outage_disconnects,
            t.reconnects,
            t.outage_expected,
            t.outage_lost,
            r.deliveries.lost_connected,
            t.missed_while_away,
            t.early
        );
    }
}

/// The capacity steps in order, the knee marked, and the last passing step.
fn capacity(out: &mut String, r: &LoadResult) {
    let Some(c) = &r.capacity else {
        return;
    };
    let knee = super::capacity::knee(c);
    let figures = super::capacity::note(c);
    let _ = writeln!(
        out,
        "\ncapacity: {} {} stepped; last passing step {} ({figures})",
        c.population,
        c.parameter,
        c.last_passing
            .map_or_else(|| "none".to_owned(), |v| format!("{v}"))
    );
    for (i, s) in c.steps.iter().enumerate() {
        let mark = if knee == Some(i) {
            "  <-- knee: first failing step above the last passing one"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  step {:>2} {:>10} {:<11} deliver p99 {:>8} ms lost {:>6}{}{mark}",
            i + 1,
            s.value,
            s.verdict.as_str(),
            ms(s.deliver_p99_us),
            s.lost,
            if s.failed_thresholds.is_empty() {
                String::new()
            } else {
                format!(" failed: {}", s.failed_thresholds.join(", "))
            }
        );
    }
}

/// Deliveries, counters and attacks.
fn counts(out: &mut String, r: &LoadResult) {
    let d = &r.deliveries;
    let _ = writeln!(
        out,
        "\ndeliveries: expected {} delivered {} reordered {} lost {} duplicated {} unexpected {} (excluded {}, unsubscribed {}, forged {})",
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
    let t = &r.tally;
    let _ = writeln!(
        out,
        "connections {} clients ready {}/{} subscriptions {}/{} messages sent {} publish requests {} churn cycles {} foreign deliveries {}",
        t.connections,
        t.ready,
        r.evidence.planned_clients,
        t.subscriptions,
        r.evidence.planned_subscriptions,
        t.messages_sent,
        t.publish_requests,
        t.churn_cycles,
        t.foreign
    );
    nodes(out, r);
    for a in &r.attacks {
        let flag = if a.accepted > 0 {
            "  <-- ACCEPTED: security failure"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "attack {:<22} attempted {:>6} rejected {:>6} accepted {:>4}{flag}",
            a.kind.as_str(),
            a.attempted,
            a.rejected,
            a.accepted
        );
    }
}

/// Errors by kind, then each kind over time; after the evidence problems,
/// which refer to them.
fn errors(out: &mut String, r: &LoadResult) {
    for (k, n) in &r.tally.errors {
        let _ = writeln!(out, "error {:<24} {n}", k.as_str());
    }
    error_timelines(out, r);
}

/// How many intervals of one error kind the terminal lists before `...`.
const SHOWN_INTERVALS: usize = 12;

/// When there were errors: each kind's counts per interval, so a burst at
/// connect time reads apart from a steady trickle.
fn error_timelines(out: &mut String, r: &LoadResult) {
    let timelines = super::load_checks::error_timelines(r);
    if timelines.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "errors over time (end of interval in s: count, intervals without errors left out):"
    );
    for t in timelines {
        let mut times: Vec<String> = t
            .intervals
            .iter()
            .take(SHOWN_INTERVALS)
            .map(|(s, n)| format!("{s:.0}s: {n}"))
            .collect();
        if t.intervals.len() > SHOWN_INTERVALS {
            times.push(format!(
                "... {} more intervals",
                t.intervals.len() - SHOWN_INTERVALS
            ));
        }
        let in_series: u64 = t.intervals.iter().map(|(_, n)| n).sum();
        if in_series < t.total {
            times.push(format!(
                "{} outside the sampled intervals",
                t.total - in_series
            ));
        }
        let _ = writeln!(out, "  {:<24} {}", t.kind.as_str(), times.join(", "));
    }
}

/// A run with shared channels: its start and whose fan-out `fanout` is.
fn shared(out: &mut String, r: &LoadResult, sh: &crate::load::result::SharedReport) {
    match &sh.start {
        Some(s) if s.error.is_none() => {
            let _ = writeln!(
                out,
                "shared start: the target reported all {} subscriptions on {} channel(s) after {:.1} s",
                s.planned, s.channels, s.waited_seconds
            );
        }
        Some(s) => {
            let _ = writeln!(
                out,
                "RUN INVALID, {}",
                s.error.as_deref().unwrap_or_default()
            );
        }
        None => {}
    }
    let whose = if sh.fanout_scope == "run" {
        "every shard's subscribers together"
    } else {
        "this shard's subscribers only (merged shards on more than one host are per shard)"
    };
    let _ = writeln!(
        out,
        "fan-out completion over {whose}; {} message(s) tracked (at most {} per publisher), {} incomplete; a publish that failed in its shard is lost in every shard",
        sh.completions.len(),
        sh.completions_per_source,
        sh.incomplete
    );
    if r.tally.untimed_other_host > 0 {
        let _ = writeln!(
            out,
            "{} deliveries from another host accounted but not timed (another host's clock)",
            r.tally.untimed_other_host
        );
    }
}

/// The generator's budget, validity, thresholds, evidence and the verdict.
fn judgement(out: &mut String, r: &LoadResult) {
    let b = &r.budget;
    let server = if b.includes_in_process_server {
        " (includes the in-process server)"
    } else {
        ""
    };
    let cores = match b.cores {
        0 => String::new(),
        1 => " on 1 core".to_owned(),
        n => format!(" on {n} cores"),
    };
    let cores = match b.listened {
        0 => cores,
        n => format!("{cores} ({n} on listener threads)"),
    };
    let _ = writeln!(
        out,
        "generator: {} clients{cores}, RSS {:.1} MiB before connecting, {:.1} MiB idle ({:.2} KiB per idle client){server}, {:.0} connections/s, CPU {:.0}% of a core in traffic, open files {}/{}",
        b.clients,
        b.rss_before_kib as f64 / 1024.0,
        b.rss_idle_kib as f64 / 1024.0,
        b.kib_per_idle_client,
        b.connections_per_s,
        b.traffic_cpu_percent,
        b.fd_needed,
        b.fd_limit
    );
    let v = &r.validity;
    let _ = writeln!(
        out,
        "schedule lag p99 {} ms (bound {} ms){}",
        ms(v.schedule_lag_p99_us),
        ms(v.bound_us),
        if v.schedule_lag_p99_us <= v.bound_us {
            ""
        } else {
            ": RUN INVALID, the generator fell behind its schedule"
        }
    );
    if let Some(sh) = &r.shared {
        shared(out, r, sh);
    }
    for th in &r.thresholds {
        let word = match th.verdict {
            ThresholdVerdict::Pass => "pass",
            ThresholdVerdict::Fail => "FAIL",
            ThresholdVerdict::NoData => "FAIL (no data)",
        };
        let _ = writeln!(
            out,
            "threshold {:<32} observed {:>12} {word}",
            th.rule,
            observed(th)
        );
    }
    for p in &r.evidence.problems {
        let _ = writeln!(out, "NO VERDICT WITHOUT EVIDENCE: {}", p.describe());
    }
    errors(out, r);
    if !r.run.overrides.is_empty() {
        let _ = writeln!(out, "overrides: {}", r.run.overrides.join(", "));
    }
    if r.interrupted {
        let _ = writeln!(out, "INTERRUPTED: the figures cover the part that ran");
    }
    if !r.accepted_attacks.is_empty() {
        let _ = writeln!(
            out,
            "SECURITY FAILURE: the target accepted {}",
            r.accepted_attacks.join(", ")
        );
    }
    let _ = writeln!(out, "verdict: {} (exit {})", r.verdict, r.exit_code);
}

/// The summary of a repeated run (`load --repeat N`), printed after each
/// run's own summary: per stage, p50 / p99 of every run and their median
/// with the spread of the p99s; deliveries, attacks and validity per run;
/// the worst verdict.
pub fn render_repeated(rep: &Repeated) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} runs of scenario {}: p50 / p99 in ms per run, median over the runs, spread of the p99s ((max - min) / median)\n",
        rep.repeat, rep.scenario
    );
    let _ = write!(out, "{:<17}", "stage");
    for i in 1..=rep.runs.len() {
        let _ = write!(out, " {:>17}", format!("run {i}"));
    }
    let _ = writeln!(out, " {:>17} {:>7}", "median", "spread");
    for (m, med) in &rep.median {
        let _ = write!(out, "{:<17}", m.as_str());
        let p99s: Vec<f64> = rep.runs.iter().map(|r| r.metrics[m].p99 as f64).collect();
        for r in &rep.runs {
            let p = &r.metrics[m];
            let _ = write!(out, " {:>17}", format!("{} / {}", ms(p.p50), ms(p.p99)));
        }
        let pair = format!("{:.2} / {:.2}", med.p50 / 1000.0, med.p99 / 1000.0);
        let _ = writeln!(out, " {pair:>17} {:>6.0}%", spread_percent(&p99s));
    }
    let row = |out: &mut String, name: &str, f: &dyn Fn(&LoadResult) -> String| {
        let _ = write!(out, "{name:<17}");
        for r in &rep.runs {
            let _ = write!(out, " {:>17}", f(r));
        }
        out.push('\n');
    };
    let d = |f: fn(&crate::load::result::Deliveries) -> u64| {
        move |r: &LoadResult| f(&r.deliveries).to_string()
    };
    row(&mut out, "delivered", &d(|d| d.delivered));
    row(&mut out, "lost", &d(|d| d.lost));
    row(&mut out, "duplicated", &d(|d| d.duplicated));
    row(&mut out, "accepted attacks", &|r| {
        if r.accepted_attacks.is_empty() {
            "0".into()
        } else {
            r.accepted_attacks.join(",")
        }
    });
    row(&mut out, "schedule lag p99", &|r| {
        let v = &r.validity;
        format!(
            "{}{}",
            ms(v.schedule_lag_p99_us),
            if v.schedule_lag_p99_us <= v.bound_us {
                ""
            } else {
                " INVALID"
            }
        )
    });
    row(&mut out, "verdict", &|r| {
        format!("{} (exit {})", r.verdict, r.exit_code)
    });
    let _ = writeln!(
        out,
        "verdict: {} (exit {}, the worst of {} runs)",
        rep.verdict, rep.exit_code, rep.repeat
    );
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn capacity_steps_show_the_knee_and_the_last_passing_step() {
        use crate::load::result::{CapacityOutcome, Step};
        use crate::status::Status;
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
        let mut r = crate::report::race::tests::run(1000);
        r.capacity = Some(CapacityOutcome {
            population: "pub".into(),
            parameter: "rate".into(),
            steps: vec![
                step(100.0, Status::Pass),
                step(200.0, Status::Fail),
                step(150.0, Status::Pass),
            ],
            last_passing: Some(150.0),
        });
        let text = super::render(&r);
        assert!(text.contains("last passing step 150"), "{text}");
        let knee: Vec<&str> = text.lines().filter(|l| l.contains("<-- knee")).collect();
        assert_eq!(knee.len(), 1, "{text}");
        assert!(knee[0].contains(" 200 "), "{text}");
        assert!(text.contains("MiB idle"), "the generator's RSS: {text}");
        assert!(
            text.contains("the other figures are the last passing step's"),
            "{text}"
        );
        let mut all = r.clone();
        if let Some(c) = all.capacity.as_mut() {
            c.steps.retain(|s| s.verdict == Status::Pass);
        }
        let every = super::render(&all);
        assert!(
            every.contains("every step run passed, so the limit is above 150"),
            "{every}"
        );
        let html = crate::report::html::render(Some(&r), None);
        assert!(html.contains(r#"<tr class="knee">"#));
        assert!(html.contains(r#"id="capacity-last-passing">Last passing step: <b>150</b>"#));
    }

    #[test]
    fn errors_are_listed_per_kind_over_time_only_when_there_were_some() {
        use crate::metrics::ErrorKind;
        let mut r = crate::report::race::tests::run(1000);
        assert!(!super::render(&r).contains("errors over time"));
        r.tally.errors.insert(ErrorKind::Handshake, 4);
        r.series[0].errors_by_kind = [(ErrorKind::Handshake, 1)].into();
        r.series[1].errors_by_kind = [(ErrorKind::Handshake, 2)].into();
        r.evaluate();
        let text = super::render(&r);
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("handshake "))
            .expect("the kind's timeline");
        assert!(
            line.ends_with("1s: 1, 2s: 2, 1 outside the sampled intervals"),
            "{text}"
        );
        let evidence = text
            .find("NO VERDICT WITHOUT EVIDENCE: 4 errors")
            .expect("a problem");
        assert!(
            evidence < text.find("error handshake").expect("listed"),
            "{text}"
        );
    }
}
