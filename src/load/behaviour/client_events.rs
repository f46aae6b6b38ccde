//! Client-event senders: subscribe to one private or presence channel of
//! their set and send `client-` events on an open-loop schedule (spec 6).
//! Every other member is an expected recipient; the sender must not get its
//! own event back.

use std::borrow::Cow;

use serde_json::json;
use tokio::time::Instant;

use super::client::{CLIENT_EVENT, Client};
use crate::load::conn::micros;
use crate::load::pacing::Pacing;
use crate::load::plan::SetId;
use crate::metrics::{ErrorKind, Metric, Payload, PayloadKind};

/// A sender's own state.
pub(crate) struct Sender {
    ch: u32,
    payload: u32,
    seq: u64,
}

/// Subscribes to the sender's channel and registers it as a member.
pub(super) async fn setup(c: &mut Client, set: SetId, payload: u32) -> Result<Sender, ErrorKind> {
    let run = c.run.clone();
    let ch = run.set_offset[set.0] + c.id % run.plan.channel_sets[set.0].count;
    c.subscribe(ch).await?;
    c.register(ch);
    Ok(Sender {
        ch,
        payload,
        seq: 0,
    })
}

/// Sends the event due now; `false` when the schedule is over.
pub(super) async fn tick(c: &mut Client, s: &mut Sender, pacing: &mut Pacing) -> bool {
    let run = c.run.clone();
    let due = pacing.due();
    if !run.stop.allows(due) || run.stop.claim(1) == 0 {
        run.pending.wake();
        return false;
    }
    pacing.advance();
    let lag = micros(Instant::now().saturating_duration_since(due));
    c.w.record(Metric::ScheduleLag, lag);
    let seq = s.seq;
    s.seq += 1;
    if seq as usize >= run.fanout.capacity(c.id) {
        return false;
    }
    let claim = run.claim(s.ch, None, true);
    let recipients = claim.recipients;
    run.fanout.expect(c.id, seq, recipients);
    c.rx.sent_here += 1;
    let body = Payload {
        h: run.plan.shard.index,
        p: c.id,
        s: seq,
        t: run.clock.micros(due),
        k: PayloadKind::ClientEvent,
        x: Some(Cow::Borrowed(&c.conn.socket_id)),
        n: Some(c.node as u32),
        c: Some(claim.position),
        o: None,
    }
    .encode(s.payload as usize);
    let name = &run.channels[s.ch as usize];
    let frame = json!({"event": CLIENT_EVENT, "channel": &**name, "data": body}).to_string();
    if c.conn.send(frame).await.is_err() {
        c.w.error(ErrorKind::Disconnected);
        return false;
    }
    c.w.tally(|t| {
        t.messages_sent += 1;
        t.expected += u64::from(recipients);
    });
    run.pending.expect(u64::from(recipients));
    true
}
