//! Per-worker recording. Each simulated client records into one of a few
//! worker slots (chosen by its id), so locks are rarely contended and no
//! client owns a histogram of its own (that would break the memory budget per
//! idle client). A collector swaps every slot out once per interval.

use std::collections::BTreeMap;
use std::ops::AddAssign;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use serde::{Deserialize, Serialize};

use super::{ErrorKind, Histograms, Metric};
use crate::attack::AttackKind;

/// Outcome counts of one attack kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackCount {
    /// Attempts made.
    pub attempted: u64,
    /// Attempts the target refused.
    pub rejected: u64,
    /// Attempts the target accepted: security failures.
    pub accepted: u64,
}

/// Counters of one worker (or of a whole run once summed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Connections that got `connection_established`.
    pub connections: u64,
    /// Connected clients that finished their setup (connect, subscribe).
    #[serde(default)]
    pub ready: u64,
    /// Legitimate subscriptions acknowledged (churners not counted).
    pub subscriptions: u64,
    /// Subscriptions of churners, one per cycle.
    #[serde(default)]
    pub churn_subscriptions: u64,
    /// HTTP publish requests answered 2xx.
    pub publish_requests: u64,
    /// Events the target accepted for delivery (HTTP events and client events sent).
    pub messages_sent: u64,
    /// Deliveries the ledger expects (recipients of every accepted message).
    pub expected: u64,
    /// Expected deliveries that arrived in order.
    pub delivered: u64,
    /// Expected deliveries that arrived after a later one from the same source.
    pub reordered: u64,
    /// Second or later arrivals of the same message at the same socket.
    pub duplicated: u64,
    /// Arrivals at the socket the message excluded (REST `socket_id` or the client-event sender).
    pub unexpected_excluded: u64,
    /// Arrivals on a channel the socket was not (or no longer) subscribed to.
    pub unexpected_unsubscribed: u64,
    /// Arrivals at a socket whose only claim to the channel was a forged authorization.
    pub unexpected_forged: u64,
    /// Arrivals from another shard's sources (counted, not timed or accounted).
    pub foreign: u64,
    /// Accounted deliveries not timed: sent from another host, whose
    /// monotonic clock is not this one's (shared channels across machines).
    #[serde(default)]
    pub untimed_other_host: u64,
    /// Arrivals at churners while they were subscribed (not accounted).
    pub churn_deliveries: u64,
    /// Completed churn cycles (connect, subscribe, leave).
    pub churn_cycles: u64,
    /// Arrivals of messages published before the receiving subscription was
    /// registered (after a reconnect): not expected of it, so not counted.
    #[serde(default)]
    pub early: u64,
    /// Connections closed under a client while a node event was planned
    /// (the client then reconnects to another node).
    #[serde(default)]
    pub outage_disconnects: u64,
    /// Clients that reconnected and resubscribed after such a close.
    #[serde(default)]
    pub reconnects: u64,
    /// Deliveries the ledger expected of connections that were then closed
    /// under their clients (messages published while they were registered).
    #[serde(default)]
    pub outage_expected: u64,
    /// Of those, the ones that never arrived: lost during the outage.
    #[serde(default)]
    pub outage_lost: u64,
    /// Messages published to a client's channels between losing its
    /// connection and resubscribing (expected of nobody).
    #[serde(default)]
    pub missed_while_away: u64,
    /// Scenario node events that failed or never ran (the run ended first).
    #[serde(default)]
    pub event_failures: u64,
    /// Errors by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Attack outcomes by kind.
    pub attacks: BTreeMap<AttackKind, AttackCount>,
}

impl Tally {
    /// Counts one error.
    pub fn error(&mut self, kind: ErrorKind) {
        *self.errors.entry(kind).or_default() += 1;
    }

    /// All errors together.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Deliveries that arrived where they should, in order or not.
    pub fn received(&self) -> u64 {
        self.delivered + self.reordered
    }

    /// Expected deliveries that never arrived.
    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.received())
    }

    /// Expected deliveries lost among clients whose connection stayed up
    /// (every loss not explained by a node outage).
    pub fn lost_connected(&self) -> u64 {
        self.lost().saturating_sub(self.outage_lost)
    }

    /// Every unexpected arrival.
    pub fn unexpected(&self) -> u64 {
        self.unexpected_excluded + self.unexpected_unsubscribed + self.unexpected_forged
    }

    /// Attacks the target accepted.
    pub fn accepted_attacks(&self) -> u64 {
        self.attacks.values().map(|a| a.accepted).sum()
    }
}

impl AddAssign<&Tally> for Tally {
    fn add_assign(&mut self, o: &Tally) {
        self.connections += o.connections;
        self.ready += o.ready;
        self.subscriptions += o.subscriptions;
        self.churn_subscriptions += o.churn_subscriptions;
        self.publish_requests += o.publish_requests;
        self.messages_sent += o.messages_sent;
        self.expected += o.expected;
        self.delivered += o.delivered;
        self.reordered += o.reordered;
        self.duplicated += o.duplicated;
        self.unexpected_excluded += o.unexpected_excluded;
        self.unexpected_unsubscribed += o.unexpected_unsubscribed;
        self.unexpected_forged += o.unexpected_forged;
        self.foreign += o.foreign;
        self.untimed_other_host += o.untimed_other_host;
        self.churn_deliveries += o.churn_deliveries;
        self.churn_cycles += o.churn_cycles;
        self.early += o.early;
        self.outage_disconnects += o.outage_disconnects;
        self.reconnects += o.reconnects;
        self.outage_expected += o.outage_expected;
        self.outage_lost += o.outage_lost;
        self.missed_while_away += o.missed_while_away;
        self.event_failures += o.event_failures;
        for (k, n) in &o.errors {
            *self.errors.entry(*k).or_default() += n;
        }
        for (k, a) in &o.attacks {
            let mine = self.attacks.entry(*k).or_default();
            mine.attempted += a.attempted;
            mine.rejected += a.rejected;
            mine.accepted += a.accepted;
        }
    }
}

#[derive(Debug, Default)]
struct Slot {
    histograms: Histograms,
    tally: Tally,
}

/// The worker slots of one run.
#[derive(Debug)]
pub struct Recorders {
    slots: Vec<Mutex<Slot>>,
}

/// What the slots held since the previous swap, summed.
#[derive(Debug, Clone, Default)]
pub struct Interval {
    /// Latencies recorded in the interval.
    pub histograms: Histograms,
    /// Counters of the interval.
    pub tally: Tally,
}

impl Recorders {
    /// `workers` slots (at least one).
    pub fn new(workers: usize) -> Arc<Recorders> {
        Arc::new(Recorders {
            slots: (0..workers.max(1)).map(|_| Mutex::default()).collect(),
        })
    }

    /// The worker handle for simulated client `id`.
    pub fn worker(self: &Arc<Recorders>, id: u64) -> Worker {
        let index = (id % self.slots.len() as u64) as usize;
        Worker {
            recorders: self.clone(),
            index,
        }
    }

    /// Empties every slot and returns the merged contents.
    pub fn take_interval(&self) -> Interval {
        let mut out = Interval::default();
        for slot in &self.slots {
            let taken = std::mem::take(&mut *slot.lock());
            out.histograms.add(&taken.histograms);
            out.tally += &taken.tally;
        }
        out
    }
}

/// A simulated client's handle on its worker slot.
#[derive(Debug, Clone)]
pub struct Worker {
    recorders: Arc<Recorders>,
    index: usize,
}

impl Worker {
    /// Records a latency in microseconds.
    pub fn record(&self, metric: Metric, micros: u64) {
        self.recorders.slots[self.index]
            .lock()
            .histograms
            .record(metric, micros);
    }

    /// Updates the counters.
    pub fn tally(&self, f: impl FnOnce(&mut Tally)) {
        f(&mut self.recorders.slots[self.index].lock().tally);
    }

    /// Counts one error.
    pub fn error(&self, kind: ErrorKind) {
        self.tally(|t| t.error(kind));
    }

    /// Records latencies and counters under one lock.
    pub fn with(&self, f: impl FnOnce(&mut Histograms, &mut Tally)) {
        self.lock().with(f);
    }

    /// Locks the slot for several records in a row (a receive loop's batch
    /// of frames). Held briefly: the collector waits for it.
    pub fn lock(&self) -> Locked<'_> {
        Locked(self.recorders.slots[self.index].lock())
    }
}

/// A worker slot locked by [`Worker::lock`].
#[derive(Debug)]
pub struct Locked<'a>(MutexGuard<'a, Slot>);

impl Locked<'_> {
    /// Records a latency in microseconds.
    pub fn record(&mut self, metric: Metric, micros: u64) {
        self.0.histograms.record(metric, micros);
    }

    /// The counters.
    pub fn tally(&mut self) -> &mut Tally {
        &mut self.0.tally
    }

    /// Counts one error.
    pub fn error(&mut self, kind: ErrorKind) {
        self.0.tally.error(kind);
    }

    /// Latencies and counters together.
    pub fn with(&mut self, f: impl FnOnce(&mut Histograms, &mut Tally)) {
        let slot = &mut *self.0;
        f(&mut slot.histograms, &mut slot.tally);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_interval_merges_workers_and_empties_them() {
        let r = Recorders::new(3);
        for id in 0..6 {
            let w = r.worker(id);
            w.record(Metric::Deliver, 100 + id);
            w.tally(|t| t.delivered += 1);
            w.error(ErrorKind::Disconnected);
        }
        let i = r.take_interval();
        assert_eq!(i.histograms.get(Metric::Deliver).len(), 6);
        assert_eq!(i.tally.delivered, 6);
        assert_eq!(i.tally.errors[&ErrorKind::Disconnected], 6);
        assert_eq!(r.take_interval().tally, Tally::default());
    }

    #[test]
    fn lost_is_expected_minus_received() {
        let t = Tally {
            expected: 10,
            delivered: 6,
            reordered: 1,
            ..Tally::default()
        };
        assert_eq!(t.lost(), 3);
    }
}
