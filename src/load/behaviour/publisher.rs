//! HTTP publishers: `events` or `batch_events` on an open-loop schedule,
//! each request in its own task so a slow response never delays the next
//! send. Every event's recipients are registered with the ledger first.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::json;
use tokio::time::{Instant, sleep_until};

use super::client::PUBLISH_EVENT;
use crate::load::conn::micros;
use crate::load::pacing::Pacing;
use crate::load::plan::Behaviour;
use crate::load::shared;
use crate::load::state::{Phase, Run};
use crate::metrics::{ErrorKind, Metric, Payload, PayloadKind, Worker};

/// Entry point of a publisher task.
pub(crate) async fn publisher(run: Arc<Run>, pop: usize, local: u32, start: Instant) {
    let p = &run.plan.populations[pop];
    let id = p.first_id + local;
    let w = run.worker(pop, id);
    let core = run.core_of(pop, id);
    let Behaviour::Publisher {
        set,
        batch,
        payload,
        exclude,
        ..
    } = p.behaviour.clone()
    else {
        return;
    };
    // Publishers are spread over the first interval so they do not fire
    // together (over the whole run's publishers, whatever the shard).
    let (interval, stagger) = shared::schedule(&run.plan, p, id);
    // With shared channels each publisher sends its own share of the run.
    let own = run.shared.as_ref().map(|s| s.messages(id));
    let mut pacing = Pacing::new(start + stagger, interval);
    let mut inflight = tokio::task::JoinSet::new();
    let mut phase = run.phase.subscribe();
    let count = run.plan.channel_sets[set.0].count;
    let node = run.node_of(pop, id);
    let mut seq = 0u64;
    loop {
        let due = pacing.due();
        if !run.stop.allows(due) || own.is_some_and(|m| seq >= m) {
            break;
        }
        tokio::select! {
            () = sleep_until(due) => {}
            _ = phase.wait_for(|p| matches!(p, Phase::Drain | Phase::Stop)) => break,
        }
        pacing.advance();
        w.record(
            Metric::ScheduleLag,
            micros(Instant::now().saturating_duration_since(due)),
        );
        let want = own.map_or(u64::from(batch), |m| u64::from(batch).min(m - seq.min(m)));
        let n = if want > 0 { run.stop.claim(want) } else { 0 };
        if run.stop.budget.load(std::sync::atomic::Ordering::Acquire) == 0 {
            run.pending.wake();
        }
        if n == 0 || (seq + n) as usize > run.fanout.capacity(id) {
            break;
        }
        let batch = Batch {
            id,
            set_offset: run.set_offset[set.0],
            count,
            exclude,
            payload,
            due,
            node,
        };
        let (events, recipients) = batch.events(&run, &mut seq, n);
        inflight.spawn(send_publish(
            run.clone(),
            (node, core),
            w.clone(),
            events,
            recipients,
            due,
        ));
        // Reap finished requests so the set does not grow with the run.
        while inflight.try_join_next().is_some() {}
    }
    while inflight.join_next().await.is_some() {}
    run.pending.sender_done();
}

/// One request's worth of events from publisher `id`.
struct Batch {
    id: u32,
    set_offset: u32,
    count: u32,
    exclude: bool,
    payload: u32,
    due: Instant,
    node: usize,
}

impl Batch {
    /// `n` events from sequence number `seq` on, registered with the
    /// ledger, and their recipients in total.
    fn events(&self, run: &Run, seq: &mut u64, n: u64) -> (Vec<serde_json::Value>, u64) {
        let mut events = Vec::with_capacity(n as usize);
        let mut recipients = 0u64;
        for _ in 0..n {
            let ch = self.set_offset + (*seq % u64::from(self.count)) as u32;
            let claim = run.claim(ch, self.exclude.then_some(*seq), false);
            let (expect, excluded) = (claim.recipients, claim.excluded);
            // Shared channels: every shard set its expectations from the plan.
            if run.shared.is_none() {
                run.fanout.expect(self.id, *seq, expect);
                recipients += u64::from(expect);
            }
            let data = Payload {
                h: run.plan.shard.index,
                p: self.id,
                s: *seq,
                t: run.clock.micros(self.due),
                k: PayloadKind::Publish,
                x: excluded.as_deref().map(Cow::Borrowed),
                n: Some(self.node as u32),
                c: Some(claim.position),
                o: run.shared.as_ref().map(|_| run.clock.host),
            }
            .encode(self.payload as usize);
            let channel = &*run.channels[ch as usize];
            let mut e = json!({"name": PUBLISH_EVENT, "channel": channel, "data": data});
            if let Some(x) = excluded {
                e["socket_id"] = json!(&*x);
            }
            events.push(e);
            *seq += 1;
        }
        (events, recipients)
    }
}

async fn send_publish(
    run: Arc<Run>,
    (node, core): (usize, usize),
    w: Worker,
    mut events: Vec<serde_json::Value>,
    recipients: u64,
    due: Instant,
) {
    let n = events.len() as u64;
    let link = &run.nodes[node];
    let rest = link.rest_on(core);
    let req = if events.len() == 1 {
        rest.request("POST", "/events").json(&events.remove(0))
    } else {
        rest.request("POST", "/batch_events")
            .json(&json!({"batch": events}))
    };
    // An error's detail is not reported per request: its kind is counted.
    let status = match link.http1_on(core) {
        Some(http) => http.send(&req.prepare(http.base())).await.ok(),
        None => rest.send(&req).await.ok().map(|r| r.status),
    };
    let rtt = micros(Instant::now().saturating_duration_since(due));
    let accepted = match status {
        Some(status) if (200..300).contains(&status) => true,
        Some(_) => {
            w.error(ErrorKind::PublishStatus);
            false
        }
        None => {
            // Unknown fate: the target may have delivered it, so it stays expected.
            w.error(ErrorKind::PublishTransport);
            true
        }
    };
    if accepted {
        let answered = status.is_some();
        w.with(|h, t| {
            // Only an answered request has a round trip: a transport error
            // timed in microseconds would read as a fast target.
            if answered {
                h.record(Metric::Publish, rtt);
            }
            t.publish_requests += u64::from(answered);
            t.messages_sent += n;
            t.expected += recipients;
        });
        run.pending.expect(recipients);
    }
}
