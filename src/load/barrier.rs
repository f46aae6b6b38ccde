//! The shared start of a run with shared channels (issue 13, see
//! [`super::shared`]): wait for every shard's subscribers on the target,
//! then expect every shard's messages here.

use std::time::Duration;

use tokio::time::{Instant, sleep};

use super::result::SharedStart;
use super::shared::{Shared, planned_subscriptions, thousands};
use super::state::Run;
use crate::interrupt::{Interrupt, Request};

/// Pause between two polls of the target's subscription counts.
const POLL: Duration = Duration::from_millis(200);

/// Slack on the end of a shard's traffic phase for the other shards'
/// start: they pass the same barrier within about one poll of each other.
const START_SLACK: Duration = Duration::from_secs(2);

/// Waits until the target reports every shard's subscribers on every
/// channel the run publishes to, within `run.connect_timeout`. Returns the
/// start of the schedule, or `None` when the run cannot start together
/// (recorded for the report) or was interrupted.
pub(crate) async fn start(run: &Run, interrupt: &Interrupt) -> Option<Instant> {
    let shared = run.shared.as_ref()?;
    let planned = planned_subscriptions(&run.plan, &run.set_offset, run.channels.len(), true);
    let mut published = vec![false; run.channels.len()];
    for s in &shared.sources {
        let count = run.plan.channel_sets[s.set.0].count;
        let offset = run.set_offset[s.set.0];
        for j in 0..s.messages.min(u64::from(count)) as u32 {
            published[(offset + j) as usize] = true;
        }
    }
    let mut waiting: Vec<(u32, u64, u64)> = (0..run.channels.len())
        .filter(|&ch| published[ch] && planned[ch] > 0)
        .map(|ch| (ch as u32, planned[ch], 0))
        .collect();
    let channels = waiting.len() as u64;
    let total: u64 = waiting.iter().map(|w| w.1).sum();
    let began = Instant::now();
    let deadline = began + run.plan.connect_timeout;
    let rest = &run.nodes[0].rest;
    let mut reached = 0u64;
    let mut problem: Option<String> = None;
    let outcome = 'poll: loop {
        let mut still = Vec::with_capacity(waiting.len());
        for (ch, need, seen) in std::mem::take(&mut waiting) {
            let name = &*run.channels[ch as usize];
            // The highest count seen: at the deadline the other shards
            // may already be closing their connections.
            match subscription_count(rest, name).await {
                Ok(n) if n >= need => reached += need,
                Ok(n) => still.push((ch, need, n.max(seen))),
                Err(Poll::Fatal(why)) => break 'poll Err(why),
                Err(Poll::Retry(why)) => {
                    problem = Some(why);
                    still.push((ch, need, seen));
                }
            }
        }
        waiting = still;
        if waiting.is_empty() {
            break Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            let short: u64 = waiting.iter().map(|w| w.2.min(w.1)).sum();
            let mut why = format!(
                "shared start: {} of {} subscribed after {} s (run.connect_timeout)",
                thousands(reached + short),
                thousands(total),
                run.plan.connect_timeout.as_secs_f64()
            );
            if let Some(p) = &problem {
                why.push_str(&format!(" (last poll: {p})"));
            }
            why.push_str("; every shard of a shared run must run at once with the same --run-id");
            break Err(why);
        }
        tokio::select! {
            () = sleep(POLL.min(deadline - now)) => {}
            () = interrupt.wait_for(Request::Drain) => return None,
        }
    };
    let subscribed = match &outcome {
        Ok(()) => total,
        Err(_) => reached + waiting.iter().map(|w| w.2.min(w.1)).sum::<u64>(),
    };
    *shared.start.lock() = Some(SharedStart {
        channels,
        planned: total,
        subscribed,
        waited_seconds: began.elapsed().as_secs_f64(),
        error: outcome.as_ref().err().cloned(),
    });
    match outcome {
        Ok(()) => Some(Instant::now()),
        Err(why) => {
            eprintln!("load: {why}");
            None
        }
    }
}

enum Poll {
    /// The target cannot answer this (no subscription counting): give up.
    Fatal(String),
    /// Try again at the next poll.
    Retry(String),
}

/// The target's subscription count of channel `name` (spec 8.5).
async fn subscription_count(rest: &crate::client::RestClient, name: &str) -> Result<u64, Poll> {
    let path = format!("/channels/{name}");
    let req = rest
        .request("GET", &path)
        .query("info", "subscription_count");
    let shown = format!(
        "GET /apps/{}{path}?info=subscription_count",
        rest.credentials().app_id
    );
    let not_counted = |what: String| {
        Poll::Fatal(format!(
            "the target does not report subscription_count: {shown} answered {}; a shared run waits for it before publishing (spec 8.5: enable subscription counting for the app; on the reference server `subscription_count = true` under [[apps]])",
            what.trim_end()
        ))
    };
    match rest.send(&req).await {
        Err(e) => Err(Poll::Retry(format!(
            "{shown}: {}",
            crate::errors::error_line(&e)
        ))),
        Ok(r) if (400..500).contains(&r.status) => Err(not_counted(r.describe())),
        Ok(r) if !(200..300).contains(&r.status) => {
            Err(Poll::Retry(format!("{shown}: {}", r.describe())))
        }
        Ok(r) => match r.json().and_then(|j| j.get("subscription_count")?.as_u64()) {
            Some(n) => Ok(n),
            None => Err(not_counted(format!("without it ({})", r.describe()))),
        },
    }
}

/// Sets the fan-out tracker's expectations of every message of the whole
/// run on this shard's planned subscribers, before any of them subscribes:
/// the target counts a subscriber before its client has read the
/// acknowledgement, so another shard may pass the shared start and publish
/// before this shard's connect phase is over. A subscriber that fails its
/// setup is then expected all the same (its deliveries are lost, and the
/// run already fails on the missing subscription). Returns the deliveries
/// this shard expects, for [`expect`] once the run has started.
pub(crate) fn expect_all(run: &Run) -> u64 {
    let Some(shared) = run.shared.as_ref() else {
        return 0;
    };
    let local = planned_subscriptions(&run.plan, &run.set_offset, run.channels.len(), false);
    let mut total = 0u64;
    for s in &shared.sources {
        let count = u64::from(run.plan.channel_sets[s.set.0].count);
        let offset = run.set_offset[s.set.0];
        for seq in 0..s.messages {
            let ch = offset + (seq % count) as u32;
            let r = u32::try_from(local[ch as usize]).unwrap_or(u32::MAX);
            run.fanout.expect(s.id, seq, r);
            shared.track(s.id, seq, r);
            total += u64::from(r);
        }
    }
    total
}

/// The shared run started: `total` deliveries are expected here.
pub(crate) fn expect(run: &Run, total: u64) {
    run.recorders.worker(0).tally(|t| t.expected += total);
    run.pending.expect(total);
}

/// When a shard of a shared run stops waiting for deliveries in its traffic
/// phase: the whole run's schedule from `start`, and slack for the other
/// shards' start (the drain then waits up to `run.drain` more).
pub(crate) fn traffic_deadline(run: &Run, start: Instant) -> Instant {
    let length = run
        .shared
        .as_ref()
        .map_or(Duration::ZERO, Shared::schedule_length);
    start + length + START_SLACK + POLL
}
