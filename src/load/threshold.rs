//! SLO thresholds of a scenario: `deliver.p99 < 25ms`, `lost == 0` (issue 4),
//! parsed into a [`Threshold`] that the report checks against measured values.

use super::invalid::Invalid;
use crate::metrics::Metric;

/// A counter a threshold can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Expected deliveries that never arrived.
    Lost,
    /// Duplicated deliveries.
    Duplicated,
    /// Reordered deliveries.
    Reordered,
    /// Unexpected deliveries.
    Unexpected,
    /// Accepted attacks.
    AcceptedAttacks,
    /// Errors of every kind.
    Errors,
    /// Deliveries received (in order or not).
    Delivered,
    /// Connections established.
    Connections,
    /// Lost among clients whose connection stayed up (a node event's outage excluded).
    LostConnected,
    /// Lost by clients while a node event had cut their connection.
    LostOutage,
}

impl Counter {
    const ALL: [(Counter, &'static str); 10] = [
        (Counter::Lost, "lost"),
        (Counter::Duplicated, "duplicated"),
        (Counter::Reordered, "reordered"),
        (Counter::Unexpected, "unexpected"),
        (Counter::AcceptedAttacks, "accepted_attacks"),
        (Counter::Errors, "errors"),
        (Counter::Delivered, "delivered"),
        (Counter::Connections, "connections"),
        (Counter::LostConnected, "lost_connected"),
        (Counter::LostOutage, "lost_outage"),
    ];

    /// Name in thresholds.
    pub fn as_str(self) -> &'static str {
        Counter::ALL
            .iter()
            .find(|(c, _)| *c == self)
            .map(|(_, n)| *n)
            .expect("every counter is listed")
    }
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A statistic of a latency histogram, in microseconds.
    Latency(Metric, &'static str),
    /// A counter.
    Counter(Counter),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
}

impl Op {
    /// Whether `lhs op rhs` holds.
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            Op::Lt => lhs < rhs,
            Op::Le => lhs <= rhs,
            Op::Gt => lhs > rhs,
            Op::Ge => lhs >= rhs,
            Op::Eq => (lhs - rhs).abs() < f64::EPSILON,
        }
    }
}

/// An SLO rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// As written.
    pub text: String,
    /// What is measured.
    pub subject: Subject,
    /// Comparison.
    pub op: Op,
    /// Bound (microseconds for latencies).
    pub value: f64,
    /// The unit the bound was written in (`us`, `ms`, `s`; empty for counts),
    /// so the observed value is shown as the rule reads.
    pub unit: &'static str,
}

const STATS: [&str; 8] = ["p50", "p90", "p99", "p999", "max", "min", "mean", "count"];

impl Threshold {
    /// Parses `metric.stat op value[unit]` or `counter op value`.
    pub fn parse(text: &str) -> Result<Threshold, Invalid> {
        let bad = |reason| Invalid::Threshold {
            text: text.into(),
            reason,
        };
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [lhs, op, rhs] = parts[..] else {
            return Err(bad("needs three parts separated by spaces"));
        };
        let op = match op {
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "==" => Op::Eq,
            _ => return Err(bad("operator must be <, <=, >, >= or ==")),
        };
        let subject = if let Some((metric, stat)) = lhs.split_once('.') {
            let metric = Metric::from_name(metric).ok_or(bad("unknown metric"))?;
            let stat = STATS.into_iter().find(|s| *s == stat).ok_or(bad(
                "unknown statistic (p50 p90 p99 p999 max min mean count)",
            ))?;
            Subject::Latency(metric, stat)
        } else {
            let c = Counter::ALL
                .iter()
                .find(|(_, n)| *n == lhs)
                .ok_or(bad("unknown counter"))?;
            Subject::Counter(c.0)
        };
        let (value, unit) = match subject {
            Subject::Latency(_, "count") | Subject::Counter(_) => {
                let v = rhs
                    .parse::<f64>()
                    .map_err(|_| bad("bound is not a number"))?;
                (v, "")
            }
            Subject::Latency(..) => {
                parse_micros(rhs).ok_or(bad("bound needs a unit: us, ms or s"))?
            }
        };
        Ok(Threshold {
            text: text.into(),
            subject,
            op,
            value,
            unit,
        })
    }

    /// Microseconds per unit of [`Threshold::unit`] (1 for counts).
    pub fn micros_per_unit(&self) -> f64 {
        unit_micros(self.unit)
    }
}

/// Microseconds in one `us`, `ms` or `s`; 1 for anything else (counts).
pub fn unit_micros(unit: &str) -> f64 {
    match unit {
        "ms" => 1_000.0,
        "s" => 1_000_000.0,
        _ => 1.0,
    }
}

/// A latency bound in microseconds, and the unit it was written in.
fn parse_micros(text: &str) -> Option<(f64, &'static str)> {
    let (num, unit) = if let Some(n) = text.strip_suffix("us") {
        (n, "us")
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, "ms")
    } else if let Some(n) = text.strip_suffix('s') {
        (n, "s")
    } else {
        return None;
    };
    num.parse::<f64>()
        .ok()
        .map(|v| (v * unit_micros(unit), unit))
}
