//! The delivery ledger: what every load message carries, how a receiver
//! classifies each arrival, and how fan-out completion is detected.
//!
//! Every message carries its shard, source (publisher or client-event sender)
//! id, a per-source sequence number and its intended send instant (on the
//! host's monotonic clock, with shared channels also the host's tag). A receiver
//! keeps one [`SeqSet`] per source and classifies each arrival as in order,
//! reordered or duplicated; arrivals a socket must not get (it was excluded,
//! it is not subscribed, it is a forged subscriber) are counted as unexpected
//! by the caller. Lost messages are what remains: expected minus received.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};

use smallvec::SmallVec;

/// What produced a load message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// An HTTP API publish.
    Publish,
    /// A client event.
    ClientEvent,
}

impl PayloadKind {
    fn code(self) -> &'static str {
        match self {
            PayloadKind::Publish => "p",
            PayloadKind::ClientEvent => "e",
        }
    }
}

/// The `data` of every message the load engine sends.
///
/// It is form-urlencoded text (`h=0&p=7&s=42&t=1000&k=p&z=....`): nothing
/// in it needs escaping in a JSON string, so a receiver reads it where it
/// lies in the frame, without unescaping or allocating (issue 14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload<'a> {
    /// Shard index of the sending process.
    pub h: u32,
    /// Source id, unique across shards.
    pub p: u32,
    /// Sequence number per source, from 0.
    pub s: u64,
    /// Intended send instant in microseconds on the sending host's
    /// monotonic clock (see `load::clock`).
    pub t: u64,
    /// HTTP publish or client event.
    pub k: PayloadKind,
    /// Socket id excluded from this message, if any.
    pub x: Option<Cow<'a, str>>,
    /// Index of the node the message was published through (multi-node targets).
    pub n: Option<u32>,
    /// Position of the message among those published to its channel, from 1:
    /// a receiver that registered after position `c` was not expected to get it.
    pub c: Option<u64>,
    /// Tag of the sending host (shared channels only): a receiver on
    /// another host accounts the message but cannot time it.
    pub o: Option<u32>,
}

impl Payload<'_> {
    /// Renders the payload, padded with `pad` filler bytes in field `z`.
    pub fn encode(&self, pad: usize) -> String {
        let mut out = String::with_capacity(64 + pad);
        let _ = write!(
            out,
            "h={}&p={}&s={}&t={}&k={}",
            self.h,
            self.p,
            self.s,
            self.t,
            self.k.code()
        );
        let mut form = form_urlencoded::Serializer::for_suffix(out, 0);
        if let Some(x) = &self.x {
            form.append_pair("x", x);
        }
        let mut out = form.finish();
        if let Some(n) = self.n {
            let _ = write!(out, "&n={n}");
        }
        if let Some(c) = self.c {
            let _ = write!(out, "&c={c}");
        }
        if let Some(o) = self.o {
            let _ = write!(out, "&o={o}");
        }
        out.push_str("&z=");
        out.extend(std::iter::repeat_n('.', pad));
        out
    }

    /// Parses a payload; `None` for text that is not one. Unknown fields
    /// are skipped; the padding `z` ends it, unread. Only the excluded
    /// socket id is percent-decoded (numbers never need it).
    pub fn decode(text: &str) -> Option<Payload<'_>> {
        let (mut h, mut p, mut s, mut t, mut k) = (None, None, None, None, None);
        let (mut x, mut n, mut c, mut o) = (None, None, None, None);
        for pair in text.split('&') {
            let (key, value) = pair.split_once('=')?;
            match key {
                "h" => h = Some(value.parse().ok()?),
                "p" => p = Some(value.parse().ok()?),
                "s" => s = Some(value.parse().ok()?),
                "t" => t = Some(value.parse().ok()?),
                "k" => {
                    k = Some(match value {
                        "p" => PayloadKind::Publish,
                        "e" => PayloadKind::ClientEvent,
                        _ => return None,
                    });
                }
                "x" => x = Some(form_urlencoded::parse(pair.as_bytes()).next()?.1),
                "n" => n = Some(value.parse().ok()?),
                "c" => c = Some(value.parse().ok()?),
                "o" => o = Some(value.parse().ok()?),
                "z" => break,
                _ => {}
            }
        }
        Some(Payload {
            h: h?,
            p: p?,
            s: s?,
            t: t?,
            k: k?,
            x,
            n,
            c,
            o,
        })
    }
}

/// How one arrival relates to the ones before it from the same source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqOutcome {
    /// First arrival of this sequence number, after every earlier one seen.
    InOrder,
    /// First arrival, but a later sequence number had already arrived.
    Reordered,
    /// This sequence number had already arrived.
    Duplicate,
}

/// The sequence numbers received from one source, as a bitset that drops
/// its complete words: every number below `base * 64` has arrived, and
/// only the words from there on are kept. Deliveries that arrive in order
/// keep it at a word or two, inline (no heap pointer to chase per
/// delivery, and no memory growing with the length of the run); a number
/// that stays missing keeps the words after it, so the set stays exact.
#[derive(Debug, Clone, Default)]
pub struct SeqSet {
    base: u64,
    bits: SmallVec<[u64; 2]>,
    max: Option<u64>,
}

impl SeqSet {
    /// Records `seq` and classifies it. A caller bounds `seq` (by what the
    /// source can have sent): the words up to it are allocated.
    pub fn insert(&mut self, seq: u64) -> SeqOutcome {
        let (word, bit) = (seq / 64, seq % 64);
        let Some(i) = word
            .checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
        else {
            return SeqOutcome::Duplicate;
        };
        if i >= self.bits.len() {
            self.bits.resize(i + 1, 0);
        }
        if self.bits[i] & (1 << bit) != 0 {
            return SeqOutcome::Duplicate;
        }
        self.bits[i] |= 1 << bit;
        let complete = self.bits.iter().take_while(|&&w| w == u64::MAX).count();
        if complete > 0 {
            self.bits.drain(..complete);
            self.base += complete as u64;
        }
        match self.max {
            Some(max) if seq < max => SeqOutcome::Reordered,
            _ => {
                self.max = Some(seq);
                SeqOutcome::InOrder
            }
        }
    }
}

/// Counters per 64-byte cache line.
const LANES: usize = 16;
/// Lines a block of slots spreads consecutive messages over.
const LINES: usize = 64;
/// Slots per block.
const BLOCK: usize = LANES * LINES;

/// Where message `seq` of a source with `cap` slots counts. Consecutive
/// messages go to consecutive cache lines of a block, so a line is shared
/// only by messages [`LINES`] apart: the publisher setting up the next
/// messages does not take the line away from the clients counting the one
/// in flight (false sharing was the tracker's cost under a high publish
/// rate, issue 14). A bijection on `0..cap`; the last, partial block keeps
/// its order.
fn slot_index(seq: usize, cap: usize) -> usize {
    if seq >= cap / BLOCK * BLOCK {
        return seq;
    }
    let (block, offset) = (seq / BLOCK, seq % BLOCK);
    block * BLOCK + (offset % LINES) * LANES + offset / LINES
}

/// One message's count of recipients still expected ([`FanoutTracker::message`]).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a>(&'a AtomicU32);

impl Message<'_> {
    /// Counts one expected arrival; `true` when it was the last one.
    pub fn arrived(self) -> bool {
        let counter = self.0;
        counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)) == Ok(1)
    }
}

/// Remaining expected recipients per (source, sequence), to time the arrival
/// at the last one. Slots are allocated up front from the plan, so recording
/// never allocates or locks; sources are kept sorted and found by binary
/// search (no hashing per delivery).
#[derive(Debug, Default)]
pub struct FanoutTracker {
    slots: Vec<(u32, Box<[AtomicU32]>)>,
}

impl FanoutTracker {
    /// A tracker with room for `capacity` messages from each listed source.
    pub fn new(sources: impl IntoIterator<Item = (u32, usize)>) -> FanoutTracker {
        let mut slots: Vec<(u32, Box<[AtomicU32]>)> = sources
            .into_iter()
            .map(|(id, cap)| (id, (0..cap).map(|_| AtomicU32::new(0)).collect()))
            .collect();
        slots.sort_by_key(|(id, _)| *id);
        slots.dedup_by_key(|(id, _)| *id);
        FanoutTracker { slots }
    }

    /// How many messages `source` may send (its slot count).
    pub fn capacity(&self, source: u32) -> usize {
        self.messages(source).map_or(0, <[AtomicU32]>::len)
    }

    /// Sets how many recipients message `seq` of `source` expects. Called before sending.
    pub fn expect(&self, source: u32, seq: u64, recipients: u32) {
        if let Some(slot) = self.slot(source, seq) {
            slot.store(recipients, Ordering::Release);
        }
    }

    /// Counts one expected arrival; `true` when it was the last one.
    pub fn arrived(&self, source: u32, seq: u64) -> bool {
        self.message(source, seq).is_some_and(Message::arrived)
    }

    /// Message `seq` of `source`, found once; `None` when that source can
    /// never send it (not a source of the run, or beyond its slots).
    pub fn message(&self, source: u32, seq: u64) -> Option<Message<'_>> {
        self.slot(source, seq).map(Message)
    }

    fn messages(&self, source: u32) -> Option<&[AtomicU32]> {
        let i = self
            .slots
            .binary_search_by_key(&source, |(id, _)| *id)
            .ok()?;
        Some(&self.slots[i].1)
    }

    fn slot(&self, source: u32, seq: u64) -> Option<&AtomicU32> {
        let messages = self.messages(source)?;
        let seq = usize::try_from(seq).ok().filter(|&s| s < messages.len())?;
        messages.get(slot_index(seq, messages.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_with_padding_and_exclusion() {
        let p = Payload {
            h: 1,
            p: 7,
            s: 42,
            t: 123_456,
            k: PayloadKind::ClientEvent,
            x: Some("12.34".into()),
            n: Some(2),
            c: Some(9),
            o: Some(4_000_000_000),
        };
        let text = p.encode(10);
        assert!(text.contains(".........."));
        assert_eq!(Payload::decode(&text), Some(p));
        assert_eq!(Payload::decode("{}"), None);
        assert_eq!(Payload::decode("h=0&p=1&s=2&t=x&k=p"), None);
        // Nothing a JSON string would escape, whatever the socket id holds.
        let odd = Payload {
            x: Some("a \"b\\&c=".into()),
            ..Payload::decode("h=0&p=1&s=2&t=3&k=e").expect("minimal")
        };
        let text = odd.encode(0);
        assert!(!text.contains(['"', '\\', ' ']), "{text}");
        assert_eq!(Payload::decode(&text), Some(odd));
    }

    #[test]
    fn seq_set_tells_in_order_reordered_and_duplicate_apart() {
        let mut s = SeqSet::default();
        assert_eq!(s.insert(0), SeqOutcome::InOrder);
        assert_eq!(s.insert(2), SeqOutcome::InOrder);
        assert_eq!(s.insert(1), SeqOutcome::Reordered);
        assert_eq!(s.insert(2), SeqOutcome::Duplicate);
        assert_eq!(s.insert(1), SeqOutcome::Duplicate);
        assert_eq!(s.insert(200), SeqOutcome::InOrder);
    }

    /// Complete words are dropped, and what they held still counts: a run
    /// of in-order arrivals stays at one word, and a gap keeps the words
    /// after it until it is filled.
    #[test]
    fn seq_set_drops_complete_words_and_stays_exact() {
        let mut s = SeqSet::default();
        for seq in 0..10_000 {
            assert_eq!(s.insert(seq), SeqOutcome::InOrder, "seq {seq}");
            assert!(s.bits.len() <= 1, "seq {seq}: {} words", s.bits.len());
        }
        assert_eq!(s.base, 10_000 / 64);
        for seq in [0, 63, 64, 9_999] {
            assert_eq!(s.insert(seq), SeqOutcome::Duplicate, "seq {seq}");
        }
        // 10_000 goes missing; the words after it are kept.
        for seq in 10_001..10_300 {
            assert_eq!(s.insert(seq), SeqOutcome::InOrder);
        }
        assert_eq!(s.base, 10_000 / 64);
        assert!(s.bits.len() >= 5);
        assert_eq!(s.insert(10_200), SeqOutcome::Duplicate);
        assert_eq!(s.insert(10_000), SeqOutcome::Reordered);
        assert_eq!(s.insert(10_000), SeqOutcome::Duplicate);
        // The gap filled, everything below the last word is dropped.
        assert_eq!(s.base, 10_300 / 64);
        assert!(s.bits.len() <= 1);
        assert_eq!(s.insert(10_300), SeqOutcome::InOrder);
    }

    /// Every message has a slot of its own, and neighbours in a full block
    /// are on different cache lines.
    #[test]
    fn slots_are_a_bijection_spreading_neighbours_over_lines() {
        for cap in [
            0,
            1,
            5,
            BLOCK - 1,
            BLOCK,
            BLOCK + 7,
            3 * BLOCK,
            3 * BLOCK + 100,
        ] {
            let mut seen = vec![false; cap];
            for seq in 0..cap {
                let i = slot_index(seq, cap);
                assert!(i < cap && !seen[i], "cap {cap} seq {seq} -> {i}");
                seen[i] = true;
            }
        }
        let cap = 2 * BLOCK + 3;
        for seq in 0..2 * BLOCK - 1 {
            let line = |s| slot_index(s, cap) / LANES;
            if (seq + 1) % BLOCK != 0 {
                assert_ne!(line(seq), line(seq + 1), "seq {seq}");
            }
        }
        // Through the tracker: each message completes once, on its own count.
        let t = FanoutTracker::new([(1, cap)]);
        for seq in 0..cap as u64 {
            t.expect(1, seq, 1 + (seq % 3) as u32);
        }
        for seq in 0..cap as u64 {
            let done: Vec<bool> = (0..=seq % 3).map(|_| t.arrived(1, seq)).collect();
            assert_eq!(done.iter().filter(|d| **d).count(), 1, "seq {seq}");
            assert!(done[done.len() - 1], "seq {seq}");
        }
        assert!(!t.arrived(1, cap as u64), "past the last slot");
    }

    #[test]
    fn fanout_reports_only_the_last_arrival() {
        let t = FanoutTracker::new([(3, 4)]);
        t.expect(3, 1, 2);
        assert!(!t.arrived(3, 1));
        assert!(t.arrived(3, 1));
        assert!(!t.arrived(3, 1), "extra arrivals never complete twice");
        assert!(!t.arrived(9, 0), "unknown sources are ignored");
        assert_eq!(t.capacity(3), 4);
        // Sources given in any order are each found.
        let t = FanoutTracker::new([(40, 1), (7, 2), (19, 3)]);
        for (id, cap) in [(7, 2), (19, 3), (40, 1), (8, 0)] {
            assert_eq!(t.capacity(id), cap, "source {id}");
        }
        t.expect(19, 2, 1);
        assert!(t.arrived(19, 2));
        assert!(!t.arrived(19, 3), "beyond the source's slots");
    }
}
