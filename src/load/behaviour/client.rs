//! One connected simulated client: its receive path (pings answered,
//! deliveries accounted in the ledger, control frames handed back) and a
//! legitimate subscription. Every connected behaviour is built on it.

use std::sync::Arc;

use serde_json::json;
use smallvec::SmallVec;
use tokio::time::{Instant, timeout_at};

use crate::load::conn::{Conn, Frame, Read, Span, micros};
use crate::load::state::Run;
use crate::metrics::{ErrorKind, Locked, Metric, Payload, PayloadKind, SeqOutcome, SeqSet, Worker};

/// Event name of HTTP publishes.
pub(crate) const PUBLISH_EVENT: &str = "pushcheck-load";
/// Event name of client events.
pub(crate) const CLIENT_EVENT: &str = "client-pushcheck-load";

/// A control frame the receive path hands back to a waiting caller.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Control {
    /// `subscription_succeeded` for a channel of the run (or another).
    Succeeded(Option<u32>),
    /// An error frame.
    Error,
    /// `pusher:pong`.
    Pong,
    /// Anything else (already accounted).
    Other,
}

/// What one text frame came to, for the loop that read it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Heard {
    /// `pusher:ping`: the reader must answer `pusher:pong`.
    Ping,
    /// An expected delivery, accounted: the reader counts it for the drain.
    Delivery,
    /// Anything else, for a waiting caller.
    Control(Control),
}

/// A connected simulated client.
pub(crate) struct Client {
    pub(crate) run: Arc<Run>,
    pub(crate) conn: Conn,
    pub(crate) w: Worker,
    pub(crate) id: u32,
    /// The node (index into the run's nodes) the connection is to.
    pub(crate) node: usize,
    /// The runtime thread the client runs on.
    pub(crate) core: usize,
    /// What it is a recipient of, and what it got.
    pub(crate) rx: Recipient,
}

/// A client's side of the ledger: the channels it is a recipient of and
/// the deliveries it got. Kept apart from the connection and the worker
/// slot, so a receive loop can account a frame while it holds both.
#[derive(Debug, Default)]
pub(crate) struct Recipient {
    /// Channels legitimately subscribed.
    pub(crate) subscribed: SmallVec<[u32; 2]>,
    /// Channels just left; a delivery before the barrier is not unexpected.
    pub(crate) leaving: Vec<u32>,
    /// Channels joined only with a forged authorization.
    pub(crate) forged: Vec<u32>,
    /// A churner: deliveries are counted, not accounted.
    pub(crate) churn: bool,
    /// This connection's registrations: channel, and the messages published
    /// to it before (only later ones are expected here).
    regs: SmallVec<[(u32, u64); 1]>,
    /// Expected deliveries that arrived on this connection.
    received_here: u64,
    /// Client events this connection sent (not delivered back to it).
    pub(crate) sent_here: u64,
    /// The sequence numbers received, per source, sorted by source (found
    /// by a binary search: no hashing per delivery).
    seen: SmallVec<[(u32, SeqSet); 1]>,
}

/// The connection a frame came in on, as the ledger needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct On<'a> {
    /// Its socket id (a delivery that excludes it is unexpected here).
    pub(crate) socket_id: &'a str,
    /// The node it is to.
    pub(crate) node: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("id", &self.id).finish()
    }
}

impl Client {
    /// Client `id`, on runtime thread `core`.
    pub(crate) fn new(run: Arc<Run>, conn: Conn, w: Worker, (id, core): (u32, usize)) -> Client {
        Client {
            run,
            conn,
            w,
            id,
            node: 0,
            core,
            rx: Recipient::default(),
        }
    }

    pub(crate) fn user(&self) -> String {
        format!("u{}", self.id)
    }

    /// Handles the text message `recv` returned (see [`Conn::lend`]).
    pub(crate) async fn on_frame(&mut self, span: Span) -> Control {
        let lent = self.conn.lend(span);
        // Not UTF-8: empty, which on_text counts as a malformed frame.
        let control = self.on_text(lent.text().unwrap_or_default()).await;
        self.conn.restore(lent);
        control
    }

    /// Handles one text frame: answers pings, accounts deliveries, returns controls.
    pub(crate) async fn on_text(&mut self, text: &str) -> Control {
        let on = On {
            socket_id: &self.conn.socket_id,
            node: self.node,
        };
        let heard = self.rx.hear(&self.run, on, text, &mut self.w.lock());
        match heard {
            Heard::Ping => {
                if self.conn.pong().await.is_err() {
                    self.w.error(ErrorKind::Disconnected);
                }
                Control::Other
            }
            Heard::Delivery => {
                self.run.pending.arrived(self.core, 1);
                Control::Other
            }
            Heard::Control(c) => c,
        }
    }

    /// Reads until a control frame arrives or `deadline`; `None` on timeout or close.
    pub(crate) async fn next_control(&mut self, deadline: Instant) -> Option<Control> {
        loop {
            match timeout_at(deadline, self.conn.recv()).await {
                Ok(Read::Text(span)) => match self.on_frame(span).await {
                    Control::Other => {}
                    c => return Some(c),
                },
                Ok(Read::Closed) | Err(_) => return None,
            }
        }
    }

    /// Subscribes to channel `ch` with a legitimate grant and waits for the ack.
    pub(crate) async fn subscribe(&mut self, ch: u32) -> Result<(), ErrorKind> {
        let name = self.run.channels[ch as usize].clone();
        let grant = self
            .run
            .authorizer
            .authorize(&self.conn.socket_id, &name, &self.user(), &self.w)
            .await?;
        let mut data = json!({"channel": &*name, "auth": grant.auth});
        if let Some(cd) = grant.channel_data {
            data["channel_data"] = json!(cd);
        }
        let start = Instant::now();
        self.conn
            .send(json!({"event": "pusher:subscribe", "data": data}).to_string())
            .await?;
        self.rx.subscribed.push(ch);
        let deadline = start + self.run.plan.connect_timeout;
        loop {
            match self.next_control(deadline).await {
                Some(Control::Succeeded(Some(c))) if c == ch => break,
                Some(Control::Error) => {
                    self.rx.subscribed.retain(|c| *c != ch);
                    return Err(ErrorKind::SubscribeRefused);
                }
                Some(_) => {}
                None => {
                    self.rx.subscribed.retain(|c| *c != ch);
                    return Err(ErrorKind::SubscribeTimeout);
                }
            }
        }
        self.w.with(|h, t| {
            h.record(Metric::Subscribe, micros(start.elapsed()));
            if self.rx.churn {
                t.churn_subscriptions += 1;
            } else {
                t.subscriptions += 1;
            }
        });
        Ok(())
    }

    /// Registers this connection as a recipient of `ch` with the ledger.
    pub(crate) fn register(&mut self, ch: u32) {
        let at = self.run.register(ch, &self.conn.socket_id);
        self.rx.regs.push((ch, at));
    }

    /// After the connection closed under the client during a run with node
    /// events: accounts what this connection was expected to get and did
    /// not (lost during the outage), reconnects to the next node that
    /// answers, resubscribes and registers again.
    pub(crate) async fn recover(&mut self) -> Result<(), ErrorKind> {
        let run = self.run.clone();
        let mut expected = 0u64;
        let mut away = Vec::with_capacity(self.rx.regs.len());
        for (ch, at) in std::mem::take(&mut self.rx.regs) {
            let now = run.unregister(ch, &self.conn.socket_id);
            expected += now - at;
            away.push((ch, now));
        }
        // The connection's own client events were never expected back.
        let expected = expected.saturating_sub(self.rx.sent_here);
        let lost = expected.saturating_sub(self.rx.received_here);
        self.w.tally(|t| {
            t.outage_disconnects += 1;
            t.outage_expected += expected;
            t.outage_lost += lost;
        });
        run.pending.written_off(lost);
        (self.rx.received_here, self.rx.sent_here) = (0, 0);
        let channels = std::mem::take(&mut self.rx.subscribed);
        let n = run.nodes.len();
        let mut conn = None;
        for k in 1..=n {
            let node = (self.node + k) % n;
            let deadline = Instant::now() + run.plan.connect_timeout;
            if let Ok(c) = Box::pin(Conn::open(
                &run.nodes[node].dialer,
                self.id,
                &self.w,
                deadline,
            ))
            .await
            {
                run.connected_to(node, true);
                conn = Some((node, c));
                break;
            }
        }
        let Some((node, c)) = conn else {
            return Err(ErrorKind::Disconnected);
        };
        (self.node, self.conn) = (node, c);
        for ch in channels {
            Box::pin(self.subscribe(ch)).await?;
            self.register(ch);
        }
        let missed: u64 = away
            .iter()
            .map(|(ch, left)| {
                let back = self
                    .rx
                    .regs
                    .iter()
                    .find(|(c, _)| c == ch)
                    .map_or(*left, |(_, at)| *at);
                back.saturating_sub(*left)
            })
            .sum();
        self.w.tally(|t| {
            t.reconnects += 1;
            t.missed_while_away += missed;
        });
        Ok(())
    }
}

impl Recipient {
    /// Accounts one text frame that came in `on` a connection of `run`,
    /// recording into `slot`; says what the reader has left to do.
    pub(crate) fn hear(
        &mut self,
        run: &Run,
        on: On<'_>,
        text: &str,
        slot: &mut Locked<'_>,
    ) -> Heard {
        let Some(frame) = Frame::parse(text) else {
            slot.error(ErrorKind::MalformedFrame);
            return Heard::Control(Control::Other);
        };
        let control = match &*frame.event {
            "pusher:ping" => return Heard::Ping,
            "pusher:pong" => Control::Pong,
            "pusher:error" | "pusher:subscription_error" => Control::Error,
            "pusher_internal:subscription_succeeded" => Control::Succeeded(
                frame
                    .channel
                    .as_deref()
                    .and_then(|c| run.channel_ids.get(c).copied()),
            ),
            PUBLISH_EVENT | CLIENT_EVENT => {
                if self.on_delivery(run, on, &frame, slot) {
                    return Heard::Delivery;
                }
                Control::Other
            }
            _ => Control::Other,
        };
        Heard::Control(control)
    }

    /// The sequence numbers received from `source`.
    fn seen(&mut self, source: u32) -> &mut SeqSet {
        let i = match self.seen.binary_search_by_key(&source, |(s, _)| *s) {
            Ok(i) => i,
            Err(i) => {
                self.seen.insert(i, (source, SeqSet::default()));
                i
            }
        };
        &mut self.seen[i].1
    }

    /// Accounts one delivery; `true` when it was an expected one.
    fn on_delivery(
        &mut self,
        run: &Run,
        on: On<'_>,
        frame: &Frame<'_>,
        slot: &mut Locked<'_>,
    ) -> bool {
        let now = Instant::now();
        // A client has few channels: comparing its own names is cheaper
        // than hashing the name into the run's map, which only a delivery
        // on a channel it is not subscribed to needs.
        let name = frame.channel.as_deref();
        let mine = name.and_then(|name| {
            let mut subscribed = self.subscribed.iter().copied();
            subscribed.find(|&c| *run.channels[c as usize] == *name)
        });
        let Some(ch) = mine else {
            let ch = name.and_then(|name| run.channel_ids.get(name).copied());
            let forged = ch.is_some_and(|c| self.forged.contains(&c));
            let leaving = ch.is_some_and(|c| self.leaving.contains(&c));
            let t = slot.tally();
            match (forged, leaving) {
                (true, _) => t.unexpected_forged += 1,
                (false, true) => t.churn_deliveries += 1,
                (false, false) => t.unexpected_unsubscribed += 1,
            }
            return false;
        };
        if self.churn {
            slot.tally().churn_deliveries += 1;
            return false;
        }
        let text = frame.data_text().unwrap_or_default();
        let Some(p) = Payload::decode(&text) else {
            slot.error(ErrorKind::MalformedFrame);
            return false;
        };
        if !run.accounts(p.h) {
            slot.tally().foreign += 1;
            return false;
        }
        if p.x.as_deref() == Some(on.socket_id) {
            slot.tally().unexpected_excluded += 1;
            return false;
        }
        let registered = self.regs.iter().find(|(c, _)| *c == ch).map(|(_, at)| *at);
        if let Some(pos) = p.c
            && registered.is_none_or(|at| pos <= at)
        {
            // Published before this connection was a registered recipient
            // (it just resubscribed): expected of nobody here.
            slot.tally().early += 1;
            return false;
        }
        let Some(message) = run.fanout.message(p.p, p.s) else {
            // A message this run's source can never have sent: made up or
            // mangled by the target (and never counted as a delivery).
            slot.error(ErrorKind::MalformedFrame);
            return false;
        };
        let outcome = self.seen(p.p).insert(p.s);
        if outcome == SeqOutcome::Duplicate {
            slot.tally().duplicated += 1;
            return false;
        }
        let latency = run.latency(p.h, p.o, p.t, now);
        let last = message.arrived();
        if last {
            run.completed(p.p, p.s, p.t, now);
        }
        let metric = match p.k {
            PayloadKind::Publish => Metric::Deliver,
            PayloadKind::ClientEvent => Metric::ClientEvent,
        };
        let by_node = match (p.k, p.n) {
            (PayloadKind::Publish, Some(n)) if run.multi_node() => Some(if n as usize == on.node {
                Metric::DeliverSameNode
            } else {
                Metric::DeliverCrossNode
            }),
            _ => None,
        };
        self.received_here += 1;
        slot.with(|h, t| {
            if let Some(latency) = latency {
                h.record(metric, latency);
                if let Some(m) = by_node {
                    h.record(m, latency);
                }
                if last {
                    h.record(Metric::Fanout, latency);
                }
            } else {
                t.untimed_other_host += 1;
            }
            match outcome {
                SeqOutcome::Reordered => t.reordered += 1,
                SeqOutcome::InOrder | SeqOutcome::Duplicate => t.delivered += 1,
            }
        });
        true
    }
}
