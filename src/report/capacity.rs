//! The knee of a capacity search, shared by the terminal and HTML reports.

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
        c.last_passing = None;
        assert_eq!(knee(&c), None);
    }
}
