//! Attackers: a second "donor" connection supplies a real socket id, then
//! forged subscriptions and HTTP API requests go out on an open-loop
//! schedule (spec 4.5, 5.2, 5.5). A forged subscription is judged with a
//! ping barrier; an accepted attack is a security failure.

use serde_json::json;
use tokio::time::{Instant, timeout_at};

use super::client::{Client, Control};
use crate::attack::{AttackKind, forge_rest, forge_subscription};
use crate::load::conn::{Conn, Frame, Read, micros};
use crate::load::pacing::Pacing;
use crate::load::plan::{Behaviour, SetKind};
use crate::metrics::{ErrorKind, Metric};

/// An attacker's own state.
pub(crate) struct Attacks {
    attacks: Vec<AttackKind>,
    donor: Box<Conn>,
}

/// Opens the donor connection.
pub(super) async fn setup(c: &mut Client, attacks: &[AttackKind]) -> Result<Attacks, ErrorKind> {
    let deadline = Instant::now() + c.run.plan.connect_timeout;
    let donor = Conn::open(&c.run.nodes[c.node].dialer, c.id, &c.w, deadline).await?;
    c.run.connected_to(c.node, false);
    Ok(Attacks {
        attacks: attacks.to_vec(),
        donor: Box::new(donor),
    })
}

/// Sends the attack due now; `false` when the schedule is over.
pub(super) async fn tick(c: &mut Client, a: &mut Attacks, pacing: &mut Pacing) -> bool {
    if !c.run.stop.allows(pacing.due()) {
        return false;
    }
    let k = pacing.advance();
    let n = a.attacks.len() as u64;
    let kind = a.attacks[(k % n) as usize];
    let donor_id = a.donor.socket_id.clone();
    attack(c, kind, k / n, &donor_id).await;
    true
}

/// The channel attacked by `kind`: one of the plan's sets, else the attacker's own.
fn attack_channel(c: &Client, kind: AttackKind, variant: u64) -> (String, Option<u32>) {
    let run = &c.run;
    let p = run
        .plan
        .populations
        .iter()
        .find(|p| p.first_id <= c.id && c.id < p.first_id + p.count.0);
    if let Some(Behaviour::Attacker { set: Some(set), .. }) = p.map(|p| &p.behaviour) {
        let s = &run.plan.channel_sets[set.0];
        let is_presence = s.kind == SetKind::Presence;
        if !kind.needs_presence() || is_presence {
            let ch =
                run.set_offset[set.0] + ((u64::from(c.id) + variant) % u64::from(s.count)) as u32;
            return (run.channels[ch as usize].to_string(), Some(ch));
        }
    }
    let kind_prefix = if kind.needs_presence() {
        "presence-"
    } else {
        "private-"
    };
    (format!("{kind_prefix}{}atk-{}", run.prefix, c.id), None)
}

async fn attack(c: &mut Client, kind: AttackKind, variant: u64, donor: &str) {
    let (channel, ch) = attack_channel(c, kind, variant);
    let start = Instant::now();
    let accepted = if kind.is_rest() {
        let Some(req) = forge_rest(kind, c.run.nodes[c.node].rest_on(c.core), &channel) else {
            return;
        };
        match c.run.nodes[c.node].rest_on(c.core).send(&req).await {
            Ok(resp) => Some((200..300).contains(&resp.status)),
            Err(_) => None,
        }
    } else {
        let creds = &c.run.creds;
        let Some(forged) =
            forge_subscription(kind, creds, &c.conn.socket_id, donor, &channel, variant)
        else {
            return;
        };
        if let Some(ch) = ch {
            c.rx.forged.push(ch);
        }
        subscription_attack(c, &forged.frame(), &channel).await
    };
    let elapsed = micros(start.elapsed());
    c.w.with(|h, t| {
        let a = t.attacks.entry(kind).or_default();
        a.attempted += 1;
        match accepted {
            Some(true) => a.accepted += 1,
            Some(false) => {
                a.rejected += 1;
                h.record(Metric::AttackRejection, elapsed);
            }
            None => t.error(ErrorKind::AttackInconclusive),
        }
    });
}

/// Sends a forged subscription, then a ping: the target has judged it once
/// the pong is back (frames are answered in order). `Some(true)` if it was accepted.
async fn subscription_attack(c: &mut Client, frame: &str, channel: &str) -> Option<bool> {
    c.conn.send(frame.to_owned()).await.ok()?;
    c.conn.ping().await.ok()?;
    let deadline = Instant::now() + c.run.plan.connect_timeout;
    let mut accepted = false;
    loop {
        let span = match timeout_at(deadline, c.conn.recv()).await {
            Ok(Read::Text(span)) => span,
            Ok(Read::Closed) | Err(_) => return None,
        };
        let lent = c.conn.lend(span);
        // Not UTF-8: empty, which on_text counts as a malformed frame.
        let text = lent.text().unwrap_or_default();
        let succeeded = Frame::parse(text).is_some_and(|f| {
            f.event == "pusher_internal:subscription_succeeded"
                && f.channel.as_deref() == Some(channel)
        });
        let control = if succeeded {
            accepted = true;
            Control::Other
        } else {
            c.on_text(text).await
        };
        c.conn.restore(lent);
        if control == Control::Pong {
            break;
        }
    }
    if accepted {
        let unsub = json!({"event": "pusher:unsubscribe", "data": {"channel": channel}});
        c.conn.send(unsub.to_string()).await.ok()?;
    }
    Some(accepted)
}
