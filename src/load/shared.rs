//! Shared channels (`run.shared_channels = true`, issue 13): every shard of
//! a run uses the same channel names, so every publish reaches every
//! shard's subscribers, and every shard accounts every shard's publishes.
//!
//! - **Expectations from the plan.** The plan is deterministic: each shard
//!   computes every publisher's messages (in every shard) and their
//!   channels, so a shard expects, for each message of the run, one
//!   delivery per local subscriber of its channel. A publish that fails in
//!   the publishing shard is therefore lost in every shard (and counted as
//!   an error where it failed).
//! - **Start together.** Before the first send every shard polls the
//!   target's `GET /apps/ID/channels/NAME?info=subscription_count` (spec
//!   8.5) until it reports the whole run's subscribers of every channel
//!   published to, within `run.connect_timeout`. Otherwise the run is
//!   invalid and nothing is sent.
//! - **One clock per host.** Payloads are stamped on the host's monotonic
//!   clock (`load::clock`) with a host tag; a delivery from another host
//!   is accounted, not timed.
//! - **Fan-out completion over every shard.** Each shard records, per
//!   message (up to [`COMPLETIONS_CAP`] in the run), the instant its last
//!   local recipient got it; `merge` takes the latest over the shards.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use super::plan::{Behaviour, Plan, Population, SetId, StopCondition};
use super::result::{Completion, SharedReport, SharedStart};

/// Messages of the whole run whose completion each shard records (split
/// evenly over the publishers, at least one each).
pub const COMPLETIONS_CAP: u64 = 10_000;

/// One publisher of the whole run and what it will send.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Source {
    /// Global client id (the payload's `p`).
    pub(crate) id: u32,
    /// The set it publishes to, round robin from its first channel.
    pub(crate) set: SetId,
    /// Messages it sends in the whole run.
    pub(crate) messages: u64,
    /// Its last send's intended instant after the traffic start.
    pub(crate) last_due: Duration,
}

/// A publisher's interval and its offset into the first interval: spread
/// over the whole population, so the schedule does not depend on the shard.
pub(crate) fn schedule(plan: &Plan, p: &Population, id: u32) -> (Duration, Duration) {
    let (rate, batch) = match p.behaviour {
        Behaviour::Publisher { rate, batch, .. } => (rate.get(), batch),
        _ => return (Duration::ZERO, Duration::ZERO),
    };
    let interval = Duration::from_secs_f64(f64::from(batch) / rate);
    let index = id - plan.whole_first_id(p);
    let stagger = interval.mul_f64(f64::from(index) / f64::from(p.whole.0.max(1)));
    (interval, stagger)
}

/// The offset of send `k` from a schedule's start, exactly as
/// [`super::pacing::Pacing::due`] computes it.
fn offset(interval: Duration, k: u64) -> Duration {
    Duration::from_secs_f64(interval.as_secs_f64() * k as f64)
}

/// Sends due before `d` on a schedule starting `stagger` into it.
fn ticks_before(d: Duration, stagger: Duration, interval: Duration) -> u64 {
    if stagger >= d || interval.is_zero() {
        return 0;
    }
    let left = d - stagger;
    let mut k = (left.as_secs_f64() / interval.as_secs_f64()).ceil() as u64;
    while k > 0 && offset(interval, k - 1) >= left {
        k -= 1;
    }
    while offset(interval, k) < left {
        k += 1;
    }
    k
}

/// `n` split into `total` near-equal parts: part `index`.
fn part(n: u64, total: u64, index: u64) -> u64 {
    n / total + u64::from(index < n % total)
}

/// Every publisher of the whole run, in id order, with its messages. With
/// `run.messages = N` each publisher sends its own share of N (publishers
/// counted over every population); with `run.duration` every send due
/// before the end.
pub(crate) fn sources(plan: &Plan) -> Vec<Source> {
    let publishers: u64 = plan
        .populations
        .iter()
        .filter(|p| matches!(p.behaviour, Behaviour::Publisher { .. }))
        .map(|p| u64::from(p.whole.0))
        .sum();
    let mut out = Vec::new();
    let mut ordinal = 0u64;
    for p in &plan.populations {
        let Behaviour::Publisher { set, batch, .. } = p.behaviour else {
            continue;
        };
        let first = plan.whole_first_id(p);
        for id in first..first + p.whole.0 {
            let (interval, stagger) = schedule(plan, p, id);
            let (messages, last_due) = match plan.stop {
                StopCondition::Messages(n) => {
                    let m = part(n, publishers.max(1), ordinal);
                    let sends = m.div_ceil(u64::from(batch));
                    let last = sends
                        .checked_sub(1)
                        .map_or(Duration::ZERO, |k| stagger + offset(interval, k));
                    (m, last)
                }
                StopCondition::Duration(d) => {
                    let sends = ticks_before(d, stagger, interval);
                    (sends * u64::from(batch), d)
                }
            };
            out.push(Source {
                id,
                set,
                messages,
                last_due,
            });
            ordinal += 1;
        }
    }
    out
}

/// The planned subscriptions of each of `channels` channels (ids as the
/// run numbers them from `set_offset`): every shard's with `whole`, else
/// this shard's own.
pub(super) fn planned_subscriptions(
    plan: &Plan,
    set_offset: &[u32],
    channels: usize,
    whole: bool,
) -> Vec<u64> {
    let mut out = vec![0u64; channels];
    for p in &plan.populations {
        let Behaviour::Subscriber { set, per_client } = p.behaviour else {
            continue;
        };
        let count = plan.channel_sets[set.0].count;
        let ids = if whole {
            let first = plan.whole_first_id(p);
            first..first + p.whole.0
        } else {
            p.first_id..p.first_id + p.count.0
        };
        for id in ids {
            for k in 0..per_client {
                // As the subscriber behaviour picks its channels.
                let ch = set_offset[set.0] + (id * per_client + k) % count;
                out[ch as usize] += 1;
            }
        }
    }
    out
}

/// What a shared run knows from its plan, and what it records.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Every publisher of the run.
    pub(crate) sources: Vec<Source>,
    /// The barrier's outcome, once it ran.
    pub(crate) start: parking_lot::Mutex<Option<SharedStart>>,
    completions: Completions,
}

impl Shared {
    /// The shared part of a run of `plan`.
    pub(crate) fn new(plan: &Plan) -> Shared {
        let sources = sources(plan);
        let completions = Completions::new(&sources);
        Shared {
            sources,
            start: parking_lot::Mutex::default(),
            completions,
        }
    }

    /// Messages publisher `id` sends in the whole run.
    pub(crate) fn messages(&self, id: u32) -> u64 {
        self.sources
            .iter()
            .find(|s| s.id == id)
            .map_or(0, |s| s.messages)
    }

    /// Planned messages of the whole run (for the fan-out tracker's slots).
    pub(crate) fn slots(&self) -> Vec<(u32, usize)> {
        self.sources
            .iter()
            .map(|s| (s.id, usize::try_from(s.messages).unwrap_or(usize::MAX)))
            .collect()
    }

    /// The latest intended send of the run after its start.
    pub(super) fn schedule_length(&self) -> Duration {
        self.sources
            .iter()
            .map(|s| s.last_due)
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// Message `seq` of `source` expects `recipients` here (tracked ones only).
    pub(super) fn track(&self, source: u32, seq: u64, recipients: u32) {
        if let Some(slot) = self.completions.slot(source, seq) {
            slot.recipients.store(recipients, Ordering::Release);
        }
    }

    /// Message `seq` of `source`, stamped `t`, reached its last local
    /// recipient at host instant `at` (tracked ones only).
    pub(crate) fn record(&self, source: u32, seq: u64, t: u64, at: u64) {
        if let Some(slot) = self.completions.slot(source, seq) {
            slot.t.store(t, Ordering::Release);
            slot.last.store(at.max(1), Ordering::Release);
        }
    }

    /// What the shared part of a run on host `host` adds to its report.
    pub(crate) fn report(&self, host: u32) -> SharedReport {
        let start = self.start.lock().clone();
        // Nothing was sent when the shards could not start together.
        let started = start.as_ref().is_some_and(|s| s.error.is_none());
        let completions = if started {
            self.completions.report()
        } else {
            Vec::new()
        };
        SharedReport {
            hosts: vec![host],
            start,
            completions_per_source: self.completions.per_source,
            incomplete: completions.iter().filter(|c| c.last.is_none()).count() as u64,
            completions,
            fanout_scope: "shard".into(),
        }
    }
}

/// Per tracked message: its local recipients, its intended instant and the
/// arrival at its last local recipient (host-clock microseconds, 0 until then).
#[derive(Debug, Default)]
struct Slot {
    recipients: AtomicU32,
    t: AtomicU64,
    last: AtomicU64,
}

/// The messages whose completion this shard records.
#[derive(Debug, Default)]
struct Completions {
    per_source: u64,
    slots: HashMap<u32, Box<[Slot]>>,
}

impl Completions {
    fn new(sources: &[Source]) -> Completions {
        let per_source = (COMPLETIONS_CAP / sources.len().max(1) as u64).max(1);
        let slots = sources
            .iter()
            .map(|s| {
                let n = s.messages.min(per_source) as usize;
                (s.id, (0..n).map(|_| Slot::default()).collect())
            })
            .collect();
        Completions { per_source, slots }
    }

    fn slot(&self, source: u32, seq: u64) -> Option<&Slot> {
        self.slots.get(&source)?.get(usize::try_from(seq).ok()?)
    }

    fn report(&self) -> Vec<Completion> {
        let mut out: Vec<Completion> = self
            .slots
            .iter()
            .flat_map(|(p, slots)| {
                slots.iter().enumerate().filter_map(|(s, slot)| {
                    let recipients = slot.recipients.load(Ordering::Acquire);
                    let last = slot.last.load(Ordering::Acquire);
                    (recipients > 0).then(|| Completion {
                        p: *p,
                        s: s as u64,
                        recipients,
                        t: (last > 0).then(|| slot.t.load(Ordering::Acquire)),
                        last: (last > 0).then_some(last),
                    })
                })
            })
            .collect();
        out.sort_by_key(|c| (c.p, c.s));
        out
    }
}

/// `1234567` as `1,234,567`.
pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use tokio::time::Instant;

    use super::*;
    use crate::load::plan::Shard;
    use crate::load::validate;

    const RUN: &str = r#"
version = 1
name = "shared"
[run]
messages = 7
shared_channels = true
[[channels]]
name = "room"
kind = "public"
count = 2
[[population]]
name = "audience"
behaviour = "subscriber"
count = 10
channels = "room"
[[population]]
name = "news"
behaviour = "publisher"
count = 3
rate = 2
channels = "room"
"#;

    #[test]
    fn every_shard_computes_the_same_sources_for_the_whole_run() {
        let plan = validate::from_toml("t.toml", RUN, &[]).expect("valid");
        let whole = sources(&plan);
        assert_eq!(
            whole.iter().map(|s| (s.id, s.messages)).collect::<Vec<_>>(),
            [(10, 3), (11, 2), (12, 2)],
            "7 messages over 3 publishers"
        );
        for i in 0..3 {
            let part = plan.sharded(Shard { index: i, total: 3 });
            assert_eq!(sources(&part), whole, "shard {i}");
            assert_eq!(part.stop, StopCondition::Messages(7), "the whole run's");
        }
        // Publisher 10 sends at 0, 0.5, 1.0 s: its last send 1 s in.
        assert_eq!(whole[0].last_due, Duration::from_secs(1));
        // Publisher 12 starts 2/3 into the first interval.
        let (interval, stagger) = schedule(&plan, &plan.populations[1], 12);
        assert_eq!(interval, Duration::from_millis(500));
        assert_eq!(whole[2].last_due, stagger + interval);
    }

    #[test]
    fn what_the_plan_cannot_account_is_refused_with_shared_channels() {
        let churners = RUN.replace(
            "[[population]]\nname = \"news\"",
            "[[population]]\nname = \"churn\"\nbehaviour = \"churner\"\ncount = 1\nrate = 1\nchannels = \"room\"\n\n[[population]]\nname = \"news\"",
        );
        let excluding = RUN.replace("rate = 2\n", "rate = 2\nexclude_subscriber = true\n");
        let presence = RUN.replace("kind = \"public\"", "kind = \"presence\"");
        for (toml, field) in [
            (churners, "population[1] (churn).behaviour"),
            (excluding, "population[1] (news).exclude_subscriber"),
            (presence, "population[0] (audience).channels"),
        ] {
            let err = validate::from_toml("t.toml", &toml, &[]).expect_err("refused");
            let text = err.to_string();
            assert!(text.contains(field), "{text}");
            assert!(
                text.contains("cannot be used with run.shared_channels = true"),
                "{text}"
            );
        }
        let plain = RUN.replace("shared_channels = true\n", "");
        let plain = validate::from_toml("t.toml", &plain, &[]).expect("valid");
        assert!(!plain.shared);
        let part = plain.sharded(Shard { index: 0, total: 3 });
        assert_eq!(
            part.stop,
            StopCondition::Messages(3),
            "divided without sharing"
        );
    }

    #[test]
    fn planned_subscriptions_cover_every_shard() {
        let plan = validate::from_toml("t.toml", RUN, &[]).expect("valid");
        let part = plan.sharded(Shard { index: 1, total: 3 });
        assert_eq!(planned_subscriptions(&part, &[0], 2, true), [5, 5]);
        // Shard 1 holds subscribers 4, 5 and 6.
        assert_eq!(planned_subscriptions(&part, &[0], 2, false), [2, 1]);
        assert_eq!(part.populations[0].count.0, 3, "this shard's own share");
    }

    #[test]
    fn timed_schedules_count_the_sends_due_before_the_end() {
        let i = Duration::from_millis(100);
        assert_eq!(ticks_before(Duration::from_secs(1), Duration::ZERO, i), 10);
        assert_eq!(
            ticks_before(Duration::from_secs(1), Duration::from_millis(50), i),
            10
        );
        assert_eq!(
            ticks_before(Duration::from_millis(1_001), Duration::ZERO, i),
            11
        );
        assert_eq!(
            ticks_before(Duration::from_secs(1), Duration::from_secs(1), i),
            0
        );
        // 1/3 s rounds down to whole nanoseconds: the fourth send is due
        // at 0.999999999 s, inside the second. Whatever the rounding, the
        // count is the one the publisher's own schedule makes.
        let third = Duration::from_secs_f64(1.0 / 3.0);
        assert_eq!(
            ticks_before(Duration::from_secs(1), Duration::ZERO, third),
            4
        );
        let start = Instant::now();
        for (d, stagger, interval) in [
            (1_000, 0, third),
            (2_500, 17, Duration::from_millis(7)),
            (999, 333, Duration::from_secs_f64(1.0 / 30.0)),
        ] {
            let (d, stagger) = (Duration::from_millis(d), Duration::from_millis(stagger));
            let mut pacing = crate::load::pacing::Pacing::new(start + stagger, interval);
            let mut sends = 0;
            while pacing.due() < start + d {
                pacing.advance();
                sends += 1;
            }
            assert_eq!(
                ticks_before(d, stagger, interval),
                sends,
                "{d:?} {interval:?}"
            );
        }
        assert_eq!(part(7, 3, 0), 3);
        assert_eq!(part(7, 3, 2), 2);
        assert_eq!(thousands(99_998), "99,998");
        assert_eq!(thousands(100), "100");
    }
}
