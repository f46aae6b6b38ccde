//! The latency stages and one HdrHistogram per stage (microseconds).

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest trackable latency: 5 minutes in microseconds. Larger values saturate.
const MAX_US: u64 = 300_000_000;
/// Significant decimal digits kept by every histogram (0.1% value resolution).
const SIGFIG: u8 = 3;

/// A new, empty latency histogram (1 us .. 5 min, 3 significant digits).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, SIGFIG).expect("constant bounds are valid")
}

/// A measured stage. Each has its own histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// TCP connect plus WebSocket upgrade.
    Connect,
    /// From connect start to `pusher:connection_established`.
    Established,
    /// Round trip to the harness's own auth endpoint.
    Auth,
    /// From `pusher:subscribe` sent to `subscription_succeeded`.
    Subscribe,
    /// HTTP publish (`events` or `batch_events`) round trip, from the intended send time.
    Publish,
    /// Publish-to-delivery, per delivery, from the intended publish time.
    Deliver,
    /// [`Metric::Deliver`] where the publisher's node is the subscriber's
    /// node (recorded against multi-node targets only).
    DeliverSameNode,
    /// [`Metric::Deliver`] across nodes: published on one node, delivered
    /// by another (multi-node targets only).
    DeliverCrossNode,
    /// From the intended publish time until the last expected subscriber has it.
    Fanout,
    /// Client event, from the sender's intended time to each receiver.
    ClientEvent,
    /// From an attack sent until the target's refusal was observed.
    AttackRejection,
    /// How late the generator started a scheduled send (open-loop lag).
    ScheduleLag,
}

impl Metric {
    /// Every stage, in report order.
    pub const ALL: [Metric; 12] = [
        Metric::Connect,
        Metric::Established,
        Metric::Auth,
        Metric::Subscribe,
        Metric::Publish,
        Metric::Deliver,
        Metric::DeliverSameNode,
        Metric::DeliverCrossNode,
        Metric::Fanout,
        Metric::ClientEvent,
        Metric::AttackRejection,
        Metric::ScheduleLag,
    ];

    /// Stable name used in thresholds, reports and log file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Connect => "connect",
            Metric::Established => "established",
            Metric::Auth => "auth",
            Metric::Subscribe => "subscribe",
            Metric::Publish => "publish",
            Metric::Deliver => "deliver",
            Metric::DeliverSameNode => "deliver_same_node",
            Metric::DeliverCrossNode => "deliver_cross_node",
            Metric::Fanout => "fanout",
            Metric::ClientEvent => "client_event",
            Metric::AttackRejection => "attack_rejection",
            Metric::ScheduleLag => "schedule_lag",
        }
    }

    /// The stage named `name` (see [`Metric::as_str`]).
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// Position in [`Metric::ALL`].
    pub fn index(self) -> usize {
        Metric::ALL
            .iter()
            .position(|m| *m == self)
            .expect("every metric is in ALL")
    }
}

/// One histogram per [`Metric`].
#[derive(Debug, Clone)]
pub struct Histograms {
    by_metric: Vec<Histogram<u64>>,
}

impl Default for Histograms {
    fn default() -> Histograms {
        Histograms {
            by_metric: Metric::ALL.iter().map(|_| new_histogram()).collect(),
        }
    }
}

impl Histograms {
    /// Records one latency in microseconds (saturating at the top bound).
    pub fn record(&mut self, metric: Metric, micros: u64) {
        self.by_metric[metric.index()].saturating_record(micros.max(1));
    }

    /// The histogram of one stage.
    pub fn get(&self, metric: Metric) -> &Histogram<u64> {
        &self.by_metric[metric.index()]
    }

    /// Adds a histogram into one stage (used when merging logs).
    pub fn add_to(&mut self, metric: Metric, other: &Histogram<u64>) {
        // Same bounds everywhere; a histogram read from a foreign log with a
        // wider range is still added value by value, saturating.
        if self.by_metric[metric.index()].add(other).is_err() {
            for v in other.iter_recorded() {
                self.by_metric[metric.index()]
                    .saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
    }

    /// Adds every stage of `other` into this set.
    pub fn add(&mut self, other: &Histograms) {
        for m in Metric::ALL {
            self.add_to(m, other.get(m));
        }
    }

    /// Clears every histogram.
    pub fn reset(&mut self) {
        for h in &mut self.by_metric {
            h.reset();
        }
    }
}

/// A summary of one histogram in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Recorded values.
    pub count: u64,
    /// Minimum.
    pub min: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Maximum.
    pub max: u64,
}

impl Percentiles {
    /// Summarises a histogram.
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles {
                count: 0,
                min: 0,
                mean: 0.0,
                p50: 0,
                p90: 0,
                p99: 0,
                p999: 0,
                max: 0,
            };
        }
        Percentiles {
            count: h.len(),
            min: h.min(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }

    /// A statistic by threshold name (`p50`, `p90`, `p99`, `p999`, `max`, `min`, `mean`, `count`).
    pub fn stat(&self, name: &str) -> Option<f64> {
        Some(match name {
            "p50" => self.p50 as f64,
            "p90" => self.p90 as f64,
            "p99" => self.p99 as f64,
            "p999" => self.p999 as f64,
            "max" => self.max as f64,
            "min" => self.min as f64,
            "mean" => self.mean,
            "count" => self.count as f64,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_histograms_hold_every_recorded_value() {
        let (mut a, mut b) = (Histograms::default(), Histograms::default());
        for v in 1..=100 {
            a.record(Metric::Deliver, v * 10);
            b.record(Metric::Deliver, v * 1000);
        }
        a.add(&b);
        let p = Percentiles::of(a.get(Metric::Deliver));
        assert_eq!(p.count, 200);
        assert_eq!(p.min, 10);
        assert!(p.max >= 100_000 && p.max <= 100_100);
        assert!(a.get(Metric::Connect).is_empty());
    }

    #[test]
    fn values_beyond_the_range_saturate_instead_of_failing() {
        let mut h = Histograms::default();
        h.record(Metric::Connect, u64::MAX);
        h.record(Metric::Connect, 0);
        assert_eq!(h.get(Metric::Connect).len(), 2);
    }

    #[test]
    fn metric_names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.as_str()), Some(m));
        }
    }
}
