//! The knee of a capacity search and what it means, shared by the
//! terminal, Markdown and HTML reports.

use crate::load::result::CapacityOutcome;
use crate::status::Status;

/// The index of the knee: the first step above the last passing value that
/// did not pass (where the target stopped keeping up). `None` when every
/// step passed or none did.
pub fn knee(c: &CapacityOutcome) -> Option<usize> {
    let last = c.last_passing?;
    c.steps
        .iter()
        .position(|s| s.value > last && s.verdict != Status::Pass)
}

/// What the capacity search found beyond the last passing value, and
/// whose figures the rest of the report shows (the search keeps the last
/// passing step's run, or the first step's when none passed).
pub fn note(c: &CapacityOutcome) -> String {
    match (c.last_passing, knee(c)) {
        (None, _) => "no step passed; the other figures are the first step's".to_owned(),
        (Some(_), None) => format!(
            "every step run passed, so the limit is above {}; the other figures are the last step's",
            c.steps.last().map_or(0.0, |s| s.value)
        ),
        (Some(_), Some(i)) => format!(
            "knee at {} (step {}), the first failing step above it; the other figures are the last passing step's",
            c.steps[i].value,
            i + 1
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::result::Step;

    fn step(value: f64, verdict: Status) -> Step {
        Step {
            value,
            verdict,
            failed_thresholds: Vec::new(),
            deliver_p99_us: 0,
            messages_sent: 0,
            lost: 0,
        }
    }

    #[test]
    fn the_knee_is_the_first_failing_step_above_the_last_passing_one() {
        let mut c = CapacityOutcome {
            population: "pub".into(),
            parameter: "rate".into(),
            steps: vec![
                step(100.0, Status::Pass),
                step(200.0, Status::Pass),
                step(400.0, Status::Fail),
                step(300.0, Status::Fail),
            ],
            last_passing: Some(200.0),
        };
        assert_eq!(knee(&c), Some(2));
        assert!(note(&c).starts_with("knee at 400 (step 3)"), "{}", note(&c));
        c.last_passing = None;
        assert_eq!(knee(&c), None);
        assert!(note(&c).starts_with("no step passed"));
        c.steps.truncate(2);
        c.last_passing = Some(200.0);
        assert!(note(&c).starts_with("every step run passed, so the limit is above 200;"));
    }
}
