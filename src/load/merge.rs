//! Merging the shard folders of one run (`load --shard i/N`, then
//! `merge`): counters and planned evidence summed, histograms added, the
//! time series aligned by interval, everything re-evaluated.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::result::{Completion, LoadResult, LoggedInterval, NodeShare, SharedReport};
use crate::metrics::{Histograms, Metric};

/// Combines shard results into one report: counters summed, histograms
/// added, time series aligned by interval, verdicts re-evaluated.
pub fn merge(parts: Vec<LoadResult>) -> Option<LoadResult> {
    let mut iter = parts.into_iter();
    let mut out = iter.next()?;
    let mut shards = 1;
    let mut shared = vec![out.shared.take()];
    for mut p in iter {
        shards += 1;
        shared.push(p.shared.take());
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
    if shared.iter().all(Option::is_some) {
        let parts: Vec<SharedReport> = shared.into_iter().flatten().collect();
        out.shared = Some(merge_shared(&mut out, parts));
    }
    out.evaluate();
    Some(out)
}

/// One message of a shared run over the shards that expected it.
#[derive(Debug, Default)]
struct Merged {
    recipients: u32,
    t: Option<u64>,
    last: Option<u64>,
    incomplete: bool,
}

/// The shards' completions of every message of a shared run, the latest
/// last arrival per message. With every shard on one host the merged
/// `fanout` histogram is rebuilt from them (fan-out over all the run's
/// subscribers); otherwise the shards' own histograms stay, summed, and the
/// report says their completion is per shard.
fn merge_shared(out: &mut LoadResult, parts: Vec<SharedReport>) -> SharedReport {
    let merged = merge_completions(parts);
    if let Some(fanout) = run_fanout(&merged) {
        let mut histograms = Histograms::default();
        for m in Metric::ALL.into_iter().filter(|m| *m != Metric::Fanout) {
            histograms.add_to(m, out.histograms.get(m));
        }
        histograms.add_to(Metric::Fanout, &fanout);
        out.histograms = histograms;
        // One interval over the traffic phase: the shards' own intervals
        // timed each shard's subscribers only.
        out.logs.retain(|l| l.metric != Metric::Fanout);
        if !fanout.is_empty() {
            let traffic = Duration::from_secs_f64(out.run.traffic_seconds.max(0.001));
            let whole = LoggedInterval::encode(Metric::Fanout, Duration::ZERO, traffic, &fanout);
            out.logs.push(whole);
        }
    }
    merged
}

/// The shards' shared reports as one: per message the latest last arrival
/// (complete only when every shard that expected it completed it), the
/// longest (or failed) start, every shard's host.
fn merge_completions(parts: Vec<SharedReport>) -> SharedReport {
    let hosts: Vec<u32> = parts.iter().flat_map(|p| p.hosts.iter().copied()).collect();
    let one_host = hosts
        .first()
        .is_some_and(|h| *h != 0 && hosts.iter().all(|x| x == h));
    let start = parts.iter().filter_map(|p| p.start.clone()).max_by(|a, b| {
        (a.error.is_some(), a.waited_seconds)
            .partial_cmp(&(b.error.is_some(), b.waited_seconds))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let per_source = parts
        .iter()
        .map(|p| p.completions_per_source)
        .min()
        .unwrap_or(0);
    let mut by_message: BTreeMap<(u32, u64), Merged> = BTreeMap::new();
    for c in parts.into_iter().flat_map(|p| p.completions) {
        let m = by_message.entry((c.p, c.s)).or_default();
        m.recipients += c.recipients;
        m.t = m.t.or(c.t);
        match c.last {
            Some(last) => m.last = m.last.max(Some(last)),
            None => m.incomplete = true,
        }
    }
    let incomplete = by_message.values().filter(|m| m.incomplete).count() as u64;
    let completions = by_message
        .iter()
        .map(|(&(p, s), m)| Completion {
            p,
            s,
            recipients: m.recipients,
            t: m.t.filter(|_| !m.incomplete),
            last: m.last.filter(|_| !m.incomplete),
        })
        .collect::<Vec<_>>();
    SharedReport {
        hosts,
        start,
        completions_per_source: per_source,
        completions,
        fanout_scope: if one_host { "run" } else { "shard" }.into(),
        incomplete,
    }
}

/// Fan-out completion over the whole run from merged completions; `None`
/// when the shards ran on more than one host (their clocks differ).
fn run_fanout(r: &SharedReport) -> Option<Histogram<u64>> {
    if r.fanout_scope != "run" {
        return None;
    }
    let mut fanout = crate::metrics::new_histogram();
    for c in &r.completions {
        if let (Some(t), Some(last)) = (c.t, c.last) {
            fanout.saturating_record(last.saturating_sub(t).max(1));
        }
    }
    Some(fanout)
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

    fn shard(host: u32, completions: Vec<Completion>) -> SharedReport {
        SharedReport {
            hosts: vec![host],
            start: None,
            completions_per_source: 100,
            completions,
            fanout_scope: "shard".into(),
            incomplete: 0,
        }
    }

    fn done(s: u64, recipients: u32, t: u64, last: Option<u64>) -> Completion {
        Completion {
            p: 7,
            s,
            recipients,
            t: last.map(|_| t),
            last,
        }
    }

    #[test]
    fn completions_merge_to_the_latest_arrival_of_every_shard() {
        let a = shard(
            5,
            vec![
                done(0, 100, 1_000, Some(1_500)),
                done(1, 100, 2_000, Some(2_100)),
            ],
        );
        // Shard b's last subscriber of message 0 got it later; message 1
        // never reached one of b's subscribers.
        let b = shard(
            5,
            vec![done(0, 50, 1_000, Some(1_800)), done(1, 50, 2_000, None)],
        );
        // Shard c has no subscriber of message 1's channel.
        let c = shard(5, vec![done(0, 10, 1_000, Some(1_200))]);
        let m = merge_completions(vec![a, b, c]);
        assert_eq!((m.fanout_scope.as_str(), m.incomplete), ("run", 1));
        assert_eq!(m.completions[0], done(0, 160, 1_000, Some(1_800)));
        assert_eq!(m.completions[1].last, None);
        assert_eq!(m.completions[1].recipients, 150);
        let h = run_fanout(&m).expect("one host");
        assert_eq!(h.len(), 1, "only the complete message is timed");
        assert!(h.max() >= 800 && h.max() <= 801, "{}", h.max());
    }

    #[test]
    fn shards_on_two_hosts_keep_their_own_fan_out() {
        let a = shard(5, vec![done(0, 1, 1_000, Some(1_500))]);
        let b = shard(6, vec![done(0, 1, 9_000, Some(9_100))]);
        let m = merge_completions(vec![a, b]);
        assert_eq!(m.fanout_scope, "shard");
        assert!(run_fanout(&m).is_none(), "two clocks cannot be compared");
        assert_eq!(m.hosts, [5, 6]);
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
