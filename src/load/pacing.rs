//! The one schedule every sender follows (STYLE 2.6: one engine, Pacing x
//! StopCondition). Sends are due at `start + k * interval` whatever happened
//! to earlier sends (open loop, as wrk2 does), so latency is measured from
//! the intended instant and a slow target cannot slow the schedule down.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// A constant-rate open-loop schedule.
#[derive(Debug, Clone)]
pub(crate) struct Pacing {
    start: Instant,
    interval: Duration,
    next: u64,
}

impl Pacing {
    /// Sends every `interval` from `start`.
    pub(crate) fn new(start: Instant, interval: Duration) -> Pacing {
        Pacing {
            start,
            interval,
            next: 0,
        }
    }

    /// The intended instant of the next send.
    pub(crate) fn due(&self) -> Instant {
        let offset = self.interval.as_secs_f64() * self.next as f64;
        self.start + Duration::from_secs_f64(offset)
    }

    /// Moves to the following send; returns the index of the one just due.
    pub(crate) fn advance(&mut self) -> u64 {
        self.next += 1;
        self.next - 1
    }
}

/// Where the traffic phase ends: a deadline and/or a shared message budget.
#[derive(Debug)]
pub(crate) struct Stop {
    /// No send is due at or after this instant (set when traffic starts).
    pub(crate) deadline: OnceLock<Instant>,
    /// Messages still allowed in total (`u64::MAX` when unbounded).
    pub(crate) budget: AtomicU64,
}

impl Stop {
    /// Whether a send due at `due` is still within the run.
    pub(crate) fn allows(&self, due: Instant) -> bool {
        self.deadline.get().is_none_or(|d| due < *d) && self.budget.load(Ordering::Acquire) > 0
    }

    /// Takes up to `n` messages from the budget; returns how many were granted.
    pub(crate) fn claim(&self, n: u64) -> u64 {
        let mut granted = 0;
        let _ = self
            .budget
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                granted = left.min(n);
                (granted > 0).then(|| left - granted)
            });
        granted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_times_do_not_drift_with_late_sends() {
        let start = Instant::now();
        let mut p = Pacing::new(start, Duration::from_millis(10));
        assert_eq!(p.due(), start);
        for _ in 0..100 {
            p.advance();
        }
        assert_eq!(p.due(), start + Duration::from_secs(1));
    }

    #[test]
    fn budget_is_shared_and_never_overdrawn() {
        let stop = Stop {
            deadline: OnceLock::new(),
            budget: AtomicU64::new(5),
        };
        assert_eq!(stop.claim(3), 3);
        assert_eq!(stop.claim(3), 2);
        assert_eq!(stop.claim(1), 0);
        assert!(!stop.allows(Instant::now()));
    }
}
