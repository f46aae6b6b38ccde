//! Capacity search: the plan is run step by step with one population's rate
//! or count raised each time, until a threshold breaks; the report names the
//! last step that passed.

use serde::{Deserialize, Serialize};

use super::engine::{EngineError, EngineOptions, run};
use super::plan::{Behaviour, Capacity, CapacityParameter, ClientCount, Plan, Rate, StopCondition};
use super::result::LoadResult;
use crate::metrics::Metric;
use crate::target::Target;

/// One step's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Parameter value of the step.
    pub value: f64,
    /// `pass`, `fail` or `invalid`.
    pub verdict: String,
    /// Rules that failed.
    pub failed_thresholds: Vec<String>,
    /// Delivery p99 (us).
    pub deliver_p99_us: u64,
    /// Messages the target accepted.
    pub messages_sent: u64,
    /// Lost deliveries.
    pub lost: u64,
}

/// The search as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityOutcome {
    /// Population stepped.
    pub population: String,
    /// `rate` or `count`.
    pub parameter: String,
    /// Every step run, in order.
    pub steps: Vec<Step>,
    /// The highest value whose step passed.
    pub last_passing: Option<f64>,
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
        outcome.steps.push(Step {
            value,
            verdict: r.verdict.clone(),
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
        let passed = r.exit_code == 0;
        if passed {
            outcome.last_passing = Some(value);
        }
        if passed || kept.is_none() {
            kept = Some(r);
        }
        if !passed {
            break;
        }
        value += c.step;
        n += 1;
    }
    let mut r = kept.expect("the loop runs at least once: start <= max is validated");
    let found = outcome.last_passing.is_some();
    r.capacity = Some(outcome);
    if found && r.exit_code == 0 {
        r.verdict = "pass".into();
    } else if r.exit_code == 0 {
        r.verdict = "fail".into();
        r.exit_code = 1;
    }
    Ok(r)
}
