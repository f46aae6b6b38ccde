//! The collector: once a second it swaps the worker slots out, adds them to
//! the totals, appends a time-series sample and the interval histograms,
//! and draws the live progress (indicatif, on a terminal only).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::time::Instant;

use super::plan::StopCondition;
use super::result::{LoggedInterval, Sample};
use super::state::{Phase, Run};
use crate::metrics::{Interval, Metric, Percentiles};

/// What the collector accumulates.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    /// Everything recorded so far.
    pub(crate) totals: Interval,
    /// One sample per interval.
    pub(crate) samples: Vec<Sample>,
    /// Interval histograms for `hdr/`.
    pub(crate) logs: Vec<LoggedInterval>,
    last: Option<Instant>,
}

impl Collected {
    /// Takes the worker slots' contents since the last call.
    pub(crate) fn absorb(&mut self, run: &Run, now: Instant) -> Sample {
        let interval = run.recorders.take_interval();
        let start = self.last.unwrap_or(run.epoch);
        let secs = now.saturating_duration_since(start).as_secs_f64().max(1e-3);
        for m in Metric::ALL {
            let h = interval.histograms.get(m);
            if !h.is_empty() {
                self.logs
                    .push(LoggedInterval::encode(m, start - run.epoch, now - start, h));
            }
        }
        let p = |m| Percentiles::of(interval.histograms.get(m));
        self.totals.histograms.add(&interval.histograms);
        self.totals.tally += &interval.tally;
        let t = &interval.tally;
        let sample = Sample {
            t: now.saturating_duration_since(run.epoch).as_secs_f64(),
            connections: self.totals.tally.connections,
            messages_per_s: t.messages_sent as f64 / secs,
            deliveries_per_s: t.received() as f64 / secs,
            errors: t.error_total(),
            errors_by_kind: t
                .errors
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| (*k, *n))
                .collect(),
            deliver_p50_us: p(Metric::Deliver).p50,
            deliver_p99_us: p(Metric::Deliver).p99,
            client_event_p99_us: p(Metric::ClientEvent).p99,
            publish_p99_us: p(Metric::Publish).p99,
            schedule_lag_p99_us: p(Metric::ScheduleLag).p99,
        };
        self.samples.push(sample.clone());
        self.last = Some(now);
        sample
    }
}

/// The phase label of the live progress: which phase, and for a timed
/// traffic phase how far through it.
fn phase_label(run: &Run, now: Instant) -> String {
    match *run.phase.borrow() {
        Phase::Connect => "connect".into(),
        Phase::Traffic(start) => match run.plan.stop {
            StopCondition::Duration(d) => format!(
                "traffic {:.0}/{:.0} s",
                now.saturating_duration_since(start).as_secs_f64(),
                d.as_secs_f64()
            ),
            StopCondition::Messages(n) => format!("traffic (until {n} messages)"),
        },
        Phase::Drain => "drain".into(),
        Phase::Stop => "stop".into(),
    }
}

/// The live progress (an indicatif spinner on stderr; the engine only asks
/// for it on a terminal): phase, elapsed time and the last interval.
pub(crate) fn progress_line(bar: &ProgressBar, run: &Run, s: &Sample, c: &Collected) {
    let t = &c.totals.tally;
    bar.set_prefix(phase_label(run, Instant::now()));
    let in_flight = run
        .pending
        .expected
        .load(Ordering::Relaxed)
        .saturating_sub(run.pending.received());
    bar.set_message(format!(
        "in flight {in_flight} | errors {} | attacks accepted/attempted {}/{} | sent {:.0}/s delivered {:.0}/s | deliver p99 {:.1} ms | connections {} subscriptions {} | schedule lag p99 {:.1} ms",
        t.error_total(),
        t.accepted_attacks(),
        t.attacks.values().map(|a| a.attempted).sum::<u64>(),
        s.messages_per_s,
        s.deliveries_per_s,
        s.deliver_p99_us as f64 / 1000.0,
        t.connections,
        t.subscriptions,
        s.schedule_lag_p99_us as f64 / 1000.0,
    ));
}

/// Starts the collector task; it stops when `stop` is sent.
pub(crate) fn spawn(
    run: Arc<Run>,
    collected: Arc<Mutex<Collected>>,
    progress: bool,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, mut stopped) = watch::channel(false);
    let bar = if progress {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {prefix:.bold}  {wide_msg}")
            .expect("a valid template"),
    );
    bar.set_prefix("connect");
    let handle = tokio::spawn(async move {
        let first = Instant::now() + Duration::from_secs(1);
        let mut tick = tokio::time::interval_at(first, Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => {
                    bar.finish_and_clear();
                    return;
                }
            }
            let mut c = collected.lock();
            let s = c.absorb(&run, Instant::now());
            if progress {
                progress_line(&bar, &run, &s, &c);
            }
        }
    });
    (stop, handle)
}
