//! Capacity search: the plan is run step by step with one population's rate
//! or count raised each time, until a threshold breaks; the report names the
//! last step that passed.

use super::engine::{EngineError, EngineOptions, run};
use super::plan::{Behaviour, Capacity, CapacityParameter, ClientCount, Plan, Rate, StopCondition};
use super::result::{CapacityOutcome, LoadResult, Step};
use crate::metrics::Metric;
use crate::status::Status;
use crate::target::Target;

/// Runs a plan: its capacity search when it has one, else one engine run.
pub async fn run_plan(
    plan: &Plan,
    target: &Target,
    opts: &EngineOptions,
) -> Result<LoadResult, EngineError> {
    match &plan.capacity {
        Some(c) => search(plan, c, target, opts).await,
        None => run(plan, target, opts).await,
    }
}

fn with_value(plan: &Plan, c: &Capacity, value: f64) -> Plan {
    let mut p = plan.clone();
    p.capacity = None;
    p.stop = StopCondition::Duration(c.step_duration);
    let pop = &mut p.populations[c.population];
    match c.parameter {
        CapacityParameter::Count => pop.count = ClientCount(value.round().max(1.0) as u32),
        CapacityParameter::Rate => match &mut pop.behaviour {
            Behaviour::Publisher { rate, .. }
            | Behaviour::ClientEvents { rate, .. }
            | Behaviour::Churner { rate, .. }
            | Behaviour::Attacker { rate, .. } => *rate = Rate::per_second(value),
            Behaviour::Subscriber { .. } => {}
        },
    }
    // Later populations keep unique ids when a count grows.
    let mut next = 0;
    for pop in &mut p.populations {
        pop.first_id = next;
        next += pop.count.0;
        // A step is a whole plan of its own.
        pop.whole = pop.count;
    }
    p
}

/// Runs the steps; returns the outcome and the report of the last passing
/// step (or of the first step when none passed). Stops at the first failure.
pub async fn search(
    plan: &Plan,
    c: &Capacity,
    target: &Target,
    opts: &EngineOptions,
) -> Result<LoadResult, EngineError> {
    let mut outcome = CapacityOutcome {
        population: plan.populations[c.population].name.clone(),
        parameter: match c.parameter {
            CapacityParameter::Rate => "rate".into(),
            CapacityParameter::Count => "count".into(),
        },
        steps: Vec::new(),
        last_passing: None,
    };
    let mut kept: Option<LoadResult> = None;
    let mut value = c.start;
    let mut n = 0;
    while value <= c.max + f64::EPSILON {
        let step_plan = with_value(plan, c, value);
        let step_opts = EngineOptions {
            run_id: format!("{}-s{n}", opts.run_id),
            ..opts.clone()
        };
        let r = run(&step_plan, target, &step_opts).await?;
        if opts.progress {
            eprintln!(
                "capacity step {} = {value}: {}",
                outcome.parameter, r.verdict
            );
        }
        let interrupted = r.interrupted;
        outcome.steps.push(Step {
            value,
            verdict: r.verdict,
            failed_thresholds: r
                .thresholds
                .iter()
                .filter(|t| !t.passed)
                .map(|t| t.rule.clone())
                .collect(),
            deliver_p99_us: r.metrics[&Metric::Deliver].p99,
            messages_sent: r.tally.messages_sent,
            lost: r.tally.lost(),
        });
        let passed = r.verdict == Status::Pass;
        if passed {
            outcome.last_passing = Some(value);
        }
        if passed || kept.is_none() {
            kept = Some(r);
        }
        if !passed || interrupted {
            break;
        }
        value += c.step;
        n += 1;
    }
    let mut r = kept.expect("the loop runs at least once: start <= max is validated");
    r.interrupted |= outcome
        .steps
        .iter()
        .any(|s| s.verdict == Status::Interrupted);
    let found = outcome.last_passing.is_some();
    r.capacity = Some(outcome);
    // Precedence (crate::status): pass if a step passed, else the first
    // step's status, and fail if that step passed only its own rules.
    if r.interrupted {
        r.verdict = Status::Interrupted;
    } else if !found && r.verdict == Status::Pass {
        r.verdict = Status::Fail;
    }
    r.exit_code = r.verdict.code();
    Ok(r)
}
