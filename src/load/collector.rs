//! The collector: once a second it swaps the worker slots out, adds them to
//! the totals, appends a time-series sample and the interval histograms,
//! and draws the progress line.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::time::Instant;

use super::result::{LoggedInterval, Sample};
use super::state::Run;
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

/// The live progress line on stderr.
pub(crate) fn progress_line(run: &Run, s: &Sample, c: &Collected) {
    let t = &c.totals.tally;
    eprint!(
        "\r\x1b[2K[{:6.1}s] conns {} subs {} sent {:.0}/s deliv {:.0}/s p99 {:.1}ms lost? {} err {} attacks {}/{} lag p99 {:.1}ms",
        s.t,
        t.connections,
        t.subscriptions,
        s.messages_per_s,
        s.deliveries_per_s,
        s.deliver_p99_us as f64 / 1000.0,
        run.pending
            .expected
            .load(Ordering::Relaxed)
            .saturating_sub(run.pending.received.load(Ordering::Relaxed)),
        t.error_total(),
        t.accepted_attacks(),
        t.attacks.values().map(|a| a.attempted).sum::<u64>(),
        s.schedule_lag_p99_us as f64 / 1000.0,
    );
    let _ = std::io::stderr().flush();
}

/// Starts the collector task; it stops when `stop` is sent.
pub(crate) fn spawn(
    run: Arc<Run>,
    collected: Arc<Mutex<Collected>>,
    progress: bool,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, mut stopped) = watch::channel(false);
    let handle = tokio::spawn(async move {
        let first = Instant::now() + Duration::from_secs(1);
        let mut tick = tokio::time::interval_at(first, Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => return,
            }
            let mut c = collected.lock();
            let s = c.absorb(&run, Instant::now());
            if progress {
                progress_line(&run, &s, &c);
            }
        }
    });
    (stop, handle)
}
