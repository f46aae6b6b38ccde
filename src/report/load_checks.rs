//! What a load run judged, as a list of typed checks: the scenario's
//! thresholds, the correctness checks (the evidence that the run tested
//! something: no errors, every planned client and subscription, messages
//! accepted, deliveries arrived), the security checks (every attack kind
//! refused, nothing delivered to a forged subscriber), and the generator's
//! own checks (schedule kept, run finished, a capacity step passed).
//!
//! The JUnit and Markdown renderers of a load run read this list, so both
//! say the same thing. It is derived from the run's own fields, and the
//! mapping is the one [`LoadResult`]'s status uses: a run passes exactly
//! when no check here fails or errs (a unit test holds this).

use crate::load::LoadResult;
use crate::load::result::{Problem, ThresholdResult, ThresholdVerdict};
use crate::metrics::{ErrorKind, Metric};

/// Which part of the run a check judges; one JUnit suite each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// The scenario's SLO rules.
    Thresholds,
    /// The evidence that the run tested what it planned.
    Correctness,
    /// Attacks refused, forged subscribers starved.
    Security,
    /// The generator kept its schedule; the run finished; capacity.
    Generator,
}

impl Group {
    /// Every group, in report order.
    pub const ALL: [Group; 4] = [
        Group::Thresholds,
        Group::Correctness,
        Group::Security,
        Group::Generator,
    ];

    /// The suite name: `load/thresholds`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Thresholds => "load/thresholds",
            Group::Correctness => "load/correctness",
            Group::Security => "load/security",
            Group::Generator => "load/generator",
        }
    }
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It held, with evidence.
    Pass,
    /// The target broke it (JUnit `<failure>`).
    Fail,
    /// It could not be judged: the generator fell behind, the run was
    /// interrupted, an attack could not be judged (JUnit `<error>`).
    Error,
}

impl Outcome {
    /// `pass`, `fail`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
        }
    }
}

/// One check of a load run.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Its suite.
    pub group: Group,
    /// What it asks, one short phrase (a threshold's rule as written).
    pub name: String,
    /// Pass, fail or error.
    pub outcome: Outcome,
    /// A failure of this check is a security hole (an accepted attack, a
    /// delivery to a forged subscriber).
    pub security: bool,
    /// What was observed, one line.
    pub detail: String,
}

impl Check {
    /// A failed security check.
    pub fn security_failure(&self) -> bool {
        self.security && self.outcome == Outcome::Fail
    }
}

/// A threshold's observed value in the rule's own unit: `12.35 ms`, `0`,
/// `no data`.
pub fn observed(th: &ThresholdResult) -> String {
    match th.observed {
        None => "no data".into(),
        Some(v) if th.unit.is_empty() => format!("{v}"),
        Some(v) => format!("{v:.2} {}", th.unit),
    }
}

/// The span every check of `r` judges, in seconds: the connect phase and
/// the traffic phase (each check judges the whole run, not a part of it).
pub fn judged_seconds(r: &LoadResult) -> f64 {
    r.budget.connect_seconds + r.run.traffic_seconds
}

/// `kind n, kind n` of a run's errors.
pub fn errors_line(r: &LoadResult) -> String {
    r.evidence
        .errors
        .iter()
        .map(|(k, n)| format!("{} {n}", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check(group: Group, name: impl Into<String>, fails: bool, detail: String) -> Check {
    Check {
        group,
        name: name.into(),
        outcome: if fails { Outcome::Fail } else { Outcome::Pass },
        security: false,
        detail,
    }
}

/// Every check of `r`, grouped in [`Group::ALL`] order.
pub fn checks(r: &LoadResult) -> Vec<Check> {
    let mut out = thresholds(r);
    correctness(&mut out, r);
    security(&mut out, r);
    generator(&mut out, r);
    out
}

fn thresholds(r: &LoadResult) -> Vec<Check> {
    r.thresholds
        .iter()
        .map(|t| {
            let detail = match t.verdict {
                ThresholdVerdict::NoData => {
                    "no data: the stage has no samples, so nothing shows the rule held".to_owned()
                }
                _ => format!("observed {}", observed(t)),
            };
            check(
                Group::Thresholds,
                t.rule.clone(),
                t.verdict != ThresholdVerdict::Pass,
                detail,
            )
        })
        .collect()
}

fn correctness(out: &mut Vec<Check>, r: &LoadResult) {
    let e = &r.evidence;
    let t = &r.tally;
    let has = |f: &dyn Fn(&Problem) -> bool| e.problems.iter().any(f);
    let total = t.error_total();
    out.push(check(
        Group::Correctness,
        "no errors",
        has(&|p| matches!(p, Problem::Errors { .. })),
        if total == 0 {
            "0 errors".into()
        } else {
            format!("{total} errors: {}", errors_line(r))
        },
    ));
    if e.planned_clients > 0 {
        out.push(check(
            Group::Correctness,
            "every planned client connected and set up",
            has(&|p| matches!(p, Problem::MissingClients { .. })),
            format!("{} of {} ready", t.ready, e.planned_clients),
        ));
    }
    if e.planned_subscriptions > 0 {
        out.push(check(
            Group::Correctness,
            "every planned subscription acknowledged",
            has(&|p| matches!(p, Problem::MissingSubscriptions { .. })),
            format!(
                "{} of {} acknowledged",
                t.subscriptions, e.planned_subscriptions
            ),
        ));
    }
    if e.publishes {
        out.push(check(
            Group::Correctness,
            "the target accepted published messages",
            has(&|p| matches!(p, Problem::NoMessageAccepted)),
            format!(
                "{} messages accepted in {} publish requests",
                t.messages_sent, t.publish_requests
            ),
        ));
    }
    if e.expects_delivery {
        let d = &r.deliveries;
        out.push(check(
            Group::Correctness,
            "deliveries arrived",
            has(&|p| matches!(p, Problem::NoDelivery)),
            format!(
                "expected {} delivered {} reordered {} lost {} duplicated {}",
                d.expected, d.delivered, d.reordered, d.lost, d.duplicated
            ),
        ));
    }
}

fn security(out: &mut Vec<Check>, r: &LoadResult) {
    for a in &r.attacks {
        let (outcome, detail) = if a.accepted > 0 {
            (
                Outcome::Fail,
                format!(
                    "the target accepted {} of {} attempts",
                    a.accepted, a.attempted
                ),
            )
        } else if a.rejected == 0 {
            let why = ErrorKind::AttackInconclusive.as_str();
            (
                Outcome::Error,
                format!("none of {} attempts could be judged ({why})", a.attempted),
            )
        } else {
            let unjudged = a.attempted.saturating_sub(a.rejected);
            let rest = if unjudged > 0 {
                format!(", {unjudged} not judged")
            } else {
                String::new()
            };
            (
                Outcome::Pass,
                format!("refused {} of {} attempts{rest}", a.rejected, a.attempted),
            )
        };
        out.push(Check {
            group: Group::Security,
            name: format!("attack {} refused", a.kind.as_str()),
            outcome,
            security: true,
            detail,
        });
    }
    let forged = r.deliveries.unexpected_forged;
    if !r.attacks.is_empty() || forged > 0 {
        out.push(Check {
            group: Group::Security,
            name: "nothing delivered to a forged subscriber".into(),
            outcome: if forged > 0 {
                Outcome::Fail
            } else {
                Outcome::Pass
            },
            security: true,
            detail: format!("{forged} deliveries to forged subscribers"),
        });
    }
}

fn generator(out: &mut Vec<Check>, r: &LoadResult) {
    let v = &r.validity;
    let ms = |us: u64| us as f64 / 1000.0;
    out.push(Check {
        group: Group::Generator,
        name: "the generator kept its schedule".into(),
        outcome: if v.schedule_lag_p99_us <= v.bound_us {
            Outcome::Pass
        } else {
            Outcome::Error
        },
        security: false,
        detail: format!(
            "schedule lag p99 {:.2} ms (bound {:.2} ms, {} samples){}",
            ms(v.schedule_lag_p99_us),
            ms(v.bound_us),
            r.metrics.get(&Metric::ScheduleLag).map_or(0, |p| p.count),
            if v.schedule_lag_p99_us <= v.bound_us {
                ""
            } else {
                ": the run measured the generator, not the target"
            }
        ),
    });
    if let Some(start) = r.shared.as_ref().and_then(|s| s.start.as_ref()) {
        out.push(Check {
            group: Group::Generator,
            name: "every shard's subscribers were in before the first publish".into(),
            outcome: if start.error.is_none() {
                Outcome::Pass
            } else {
                Outcome::Error
            },
            security: false,
            detail: start.error.clone().unwrap_or_else(|| {
                format!(
                    "the target reported {} of {} subscriptions on {} channel(s) after {:.1} s",
                    start.subscribed, start.planned, start.channels, start.waited_seconds
                )
            }),
        });
    }
    out.push(Check {
        group: Group::Generator,
        name: "the run finished".into(),
        outcome: if r.interrupted {
            Outcome::Error
        } else {
            Outcome::Pass
        },
        security: false,
        detail: if r.interrupted {
            "interrupted by Ctrl-C or SIGTERM: the figures cover the part that ran".into()
        } else {
            format!("traffic {:.1} s", r.run.traffic_seconds)
        },
    });
    if let Some(c) = &r.capacity {
        let knee = super::capacity::knee(c).map(|i| &c.steps[i]);
        let detail = match (c.last_passing, knee) {
            (Some(last), Some(k)) => format!(
                "last passing step {} {last}; knee at {} (failed: {})",
                c.parameter,
                k.value,
                k.failed_thresholds.join(", ")
            ),
            (Some(last), None) => format!(
                "last passing step {} {last}; every step run passed",
                c.parameter
            ),
            (None, _) => format!("none of {} steps passed", c.steps.len()),
        };
        out.push(check(
            Group::Generator,
            format!("a capacity step of {} {} passed", c.population, c.parameter),
            c.last_passing.is_none(),
            detail,
        ));
    }
}

/// One error kind over the run: its total and its count per interval.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorTimeline {
    /// The kind.
    pub kind: ErrorKind,
    /// Every error of this kind in the run.
    pub total: u64,
    /// `(end of interval in s, count)` for each interval with one or more.
    pub intervals: Vec<(f64, u64)>,
}

/// The run's errors by kind over time (every interval, the last partial
/// one included: these are counts, not rates). Empty without errors.
pub fn error_timelines(r: &LoadResult) -> Vec<ErrorTimeline> {
    r.evidence
        .errors
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(kind, total)| ErrorTimeline {
            kind: *kind,
            total: *total,
            intervals: r
                .series
                .iter()
                .filter_map(|s| {
                    s.errors_by_kind
                        .get(kind)
                        .filter(|n| **n > 0)
                        .map(|n| (s.t, *n))
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::attack::AttackKind;
    use crate::load::result::{CapacityOutcome, Step};
    use crate::status::Status;

    /// A finished run with thresholds, an attack kind and a publisher's
    /// evidence; `fail` breaks its threshold, `accept` accepts an attack.
    pub(crate) fn sample(fail: bool, accept: bool) -> LoadResult {
        let mut r = crate::report::race::tests::run(if fail { 9000 } else { 1000 });
        r.run.threshold_rules = vec!["deliver.p99 < 5ms".into(), "lost == 0".into()];
        let a = r.tally.attacks.entry(AttackKind::ALL[0]).or_default();
        a.attempted = 4;
        a.rejected = if accept { 3 } else { 4 };
        a.accepted = u64::from(accept);
        r.evaluate();
        r
    }

    fn find<'a>(c: &'a [Check], name: &str) -> &'a Check {
        c.iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name} in {c:?}"))
    }

    #[test]
    fn a_failed_threshold_and_an_accepted_attack_are_failures_the_second_a_security_one() {
        let c = checks(&sample(true, true));
        let th = find(&c, "deliver.p99 < 5ms");
        assert_eq!(th.outcome, Outcome::Fail);
        assert!(th.detail.contains("9.0") && !th.security, "{th:?}");
        assert_eq!(find(&c, "lost == 0").outcome, Outcome::Pass);
        let attack = find(
            &c,
            &format!("attack {} refused", AttackKind::ALL[0].as_str()),
        );
        assert!(attack.security_failure(), "{attack:?}");
        assert!(attack.detail.contains("accepted 1 of 4"), "{attack:?}");
    }

    #[test]
    fn the_checks_fail_exactly_when_the_run_does() {
        let mut cases = vec![
            sample(false, false),
            sample(true, false),
            sample(false, true),
        ];
        let mut invalid = sample(false, false);
        invalid.run.max_schedule_lag_us = 0;
        invalid.histograms.record(Metric::ScheduleLag, 50_000);
        invalid.evaluate();
        cases.push(invalid);
        let mut errors = sample(false, false);
        errors.tally.errors.insert(ErrorKind::Refused, 3);
        errors.evaluate();
        cases.push(errors);
        let mut forged = sample(false, false);
        forged.tally.unexpected_forged = 1;
        forged.evaluate();
        cases.push(forged);
        let mut nodata = sample(false, false);
        nodata
            .run
            .threshold_rules
            .push("client_event.p99 < 5ms".into());
        nodata.evaluate();
        cases.push(nodata);
        let mut interrupted = sample(false, false);
        interrupted.interrupted = true;
        interrupted.evaluate();
        cases.push(interrupted);
        let mut capacity = sample(false, false);
        capacity.capacity = Some(CapacityOutcome {
            population: "p".into(),
            parameter: "rate".into(),
            steps: vec![Step {
                value: 10.0,
                verdict: Status::Fail,
                failed_thresholds: vec!["lost == 0".into()],
                deliver_p99_us: 0,
                messages_sent: 0,
                lost: 3,
            }],
            last_passing: None,
        });
        capacity.verdict = Status::Fail;
        cases.push(capacity);
        let verdicts: Vec<Status> = cases.iter().map(|r| r.verdict).collect();
        assert_eq!(verdicts[0], Status::Pass, "the baseline passes");
        assert!(
            verdicts[1..].iter().all(|v| *v != Status::Pass),
            "{verdicts:?}"
        );
        for r in &cases {
            let bad = checks(r).iter().any(|c| c.outcome != Outcome::Pass);
            assert_eq!(
                bad,
                r.verdict != Status::Pass,
                "{:?}: {:?}",
                r.verdict,
                checks(r)
            );
        }
    }

    #[test]
    fn errors_are_timed_per_kind_and_interval() {
        let mut r = sample(false, false);
        r.tally.errors.insert(ErrorKind::Refused, 5);
        r.series[0].errors_by_kind = [(ErrorKind::Refused, 2)].into();
        r.series[2].errors_by_kind = [(ErrorKind::Refused, 3)].into();
        r.evaluate();
        let t = error_timelines(&r);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].total, 5);
        assert_eq!(t[0].intervals, vec![(1.0, 2), (3.0, 3)]);
        assert!(error_timelines(&sample(false, false)).is_empty());
    }
}
