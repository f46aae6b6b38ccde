//! Merging the shard folders of one run (`load --shard i/N`, then
//! `merge`): counters and planned evidence summed, histograms added, the
//! time series aligned by interval, everything re-evaluated.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::result::{LoadResult, NodeShare};
use crate::metrics::Metric;

/// Combines shard results into one report: counters summed, histograms
/// added, time series aligned by interval, verdicts re-evaluated.
pub fn merge(parts: Vec<LoadResult>) -> Option<LoadResult> {
    let mut iter = parts.into_iter();
    let mut out = iter.next()?;
    let mut shards = 1;
    for p in iter {
        shards += 1;
        out.tally += &p.tally;
        out.histograms.add(&p.histograms);
        out.logs.extend(p.logs);
        let b = &mut out.budget;
        b.clients += p.budget.clients;
        b.sockets += p.budget.sockets;
        b.connections_per_s += p.budget.connections_per_s;
        b.rss_idle_kib += p.budget.rss_idle_kib;
        b.rss_before_kib += p.budget.rss_before_kib;
        b.connect_seconds = b.connect_seconds.max(p.budget.connect_seconds);
        let e = &mut out.evidence;
        e.planned_clients += p.evidence.planned_clients;
        e.planned_subscriptions += p.evidence.planned_subscriptions;
        e.expects_delivery |= p.evidence.expects_delivery;
        e.publishes |= p.evidence.publishes;
        merge_nodes(&mut out.nodes, p.nodes);
        out.events.extend(p.events);
        out.interrupted |= p.interrupted;
        out.run.traffic_seconds = out.run.traffic_seconds.max(p.run.traffic_seconds);
        out.run.started_unix_ms = out.run.started_unix_ms.min(p.run.started_unix_ms);
        for (i, s) in p.series.into_iter().enumerate() {
            match out.series.get_mut(i) {
                Some(o) => {
                    o.connections += s.connections;
                    o.messages_per_s += s.messages_per_s;
                    o.deliveries_per_s += s.deliveries_per_s;
                    o.errors += s.errors;
                }
                None => out.series.push(s),
            }
        }
    }
    out.run.shards = shards;
    out.run.shard = 0;
    let clients = out.budget.clients.max(1) as f64;
    out.budget.kib_per_idle_client = out
        .budget
        .rss_idle_kib
        .saturating_sub(out.budget.rss_before_kib) as f64
        / clients;
    merge_series_percentiles(&mut out);
    out.evaluate();
    Some(out)
}

/// Adds another shard's per-node counts into `into`, by node name.
fn merge_nodes(into: &mut Vec<NodeShare>, from: Vec<NodeShare>) {
    for n in from {
        match into.iter_mut().find(|o| o.name == n.name) {
            Some(o) => {
                o.connections += n.connections;
                o.reconnections += n.reconnections;
                o.planned += n.planned;
            }
            None => into.push(n),
        }
    }
    NodeShare::reshare(into);
}

/// Recomputes per-interval percentiles of the series from the merged interval logs.
fn merge_series_percentiles(r: &mut LoadResult) {
    let mut by_second: BTreeMap<(u64, Metric), Histogram<u64>> = BTreeMap::new();
    for l in &r.logs {
        let key = (
            (l.start + l.duration).as_secs_f64().round() as u64,
            l.metric,
        );
        if let Some(h) = l.decode() {
            let slot = by_second
                .entry(key)
                .or_insert_with(crate::metrics::new_histogram);
            let _ = slot.add(&h);
        }
    }
    for s in &mut r.series {
        let sec = s.t.round() as u64;
        let p99 = |m| {
            by_second
                .get(&(sec, m))
                .map_or(0, |h: &Histogram<u64>| h.value_at_quantile(0.99))
        };
        s.deliver_p99_us = p99(Metric::Deliver);
        s.client_event_p99_us = p99(Metric::ClientEvent);
        s.publish_p99_us = p99(Metric::Publish);
        s.schedule_lag_p99_us = p99(Metric::ScheduleLag);
        s.deliver_p50_us = by_second
            .get(&(sec, Metric::Deliver))
            .map_or(0, |h| h.value_at_quantile(0.5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, connections: u64) -> NodeShare {
        NodeShare {
            name: name.into(),
            url: format!("ws://{name}"),
            connections,
            reconnections: 1,
            planned: connections,
            share: 0.0,
        }
    }

    #[test]
    fn node_counts_add_up_by_name_and_shares_are_recomputed() {
        let mut into = vec![node("a", 30), node("b", 10)];
        merge_nodes(&mut into, vec![node("b", 50), node("c", 10)]);
        let got: Vec<(&str, u64, u64)> = into
            .iter()
            .map(|n| (n.name.as_str(), n.connections, n.reconnections))
            .collect();
        assert_eq!(got, [("a", 30, 1), ("b", 60, 2), ("c", 10, 1)]);
        assert_eq!(into[1].share, 0.6);
        let total: f64 = into.iter().map(|n| n.share).sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
    }
}
