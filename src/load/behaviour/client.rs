//! One connected simulated client: its receive path (pings answered,
//! deliveries accounted in the ledger, control frames handed back) and a
//! legitimate subscription. Every connected behaviour is built on it.

use std::sync::Arc;

use serde_json::json;
use tokio::time::{Instant, timeout_at};

use crate::load::conn::{Conn, Frame, Read, Span, micros};
use crate::load::state::Run;
use crate::metrics::{ErrorKind, Metric, Payload, PayloadKind, SeqOutcome, SeqSet, Worker};

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

/// A connected simulated client.
pub(crate) struct Client {
    pub(crate) run: Arc<Run>,
    pub(crate) conn: Conn,
    pub(crate) w: Worker,
    pub(crate) id: u32,
    /// Channels legitimately subscribed.
    pub(crate) subscribed: Vec<u32>,
    /// Channels just left; a delivery before the barrier is not unexpected.
    pub(crate) leaving: Vec<u32>,
    /// Channels joined only with a forged authorization.
    pub(crate) forged: Vec<u32>,
    /// A churner: deliveries are counted, not accounted.
    pub(crate) churn: bool,
    /// The node (index into the run's nodes) the connection is to.
    pub(crate) node: usize,
    /// The runtime thread the client runs on.
    pub(crate) core: usize,
    /// This connection's registrations: channel, and the messages published
    /// to it before (only later ones are expected here).
    regs: Vec<(u32, u64)>,
    /// Expected deliveries that arrived on this connection.
    received_here: u64,
    /// Client events this connection sent (not delivered back to it).
    pub(crate) sent_here: u64,
    /// The sequence numbers received, per source, sorted by source (found
    /// by a binary search: no hashing per delivery).
    seen: Vec<(u32, SeqSet)>,
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
            core,
            run,
            conn,
            w,
            id,
            subscribed: Vec::new(),
            leaving: Vec::new(),
            forged: Vec::new(),
            churn: false,
            node: 0,
            regs: Vec::new(),
            received_here: 0,
            sent_here: 0,
            seen: Vec::new(),
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
        let Some(frame) = Frame::parse(text) else {
            self.w.error(ErrorKind::MalformedFrame);
            return Control::Other;
        };
        match &*frame.event {
            "pusher:ping" => {
                if self.conn.pong().await.is_err() {
                    self.w.error(ErrorKind::Disconnected);
                }
                Control::Other
            }
            "pusher:pong" => Control::Pong,
            "pusher:error" | "pusher:subscription_error" => Control::Error,
            "pusher_internal:subscription_succeeded" => Control::Succeeded(
                frame
                    .channel
                    .as_deref()
                    .and_then(|c| self.run.channel_ids.get(c).copied()),
            ),
            PUBLISH_EVENT | CLIENT_EVENT => {
                self.on_delivery(&frame);
                Control::Other
            }
            _ => Control::Other,
        }
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

    fn on_delivery(&mut self, frame: &Frame<'_>) {
        let now = Instant::now();
        // A client has few channels: comparing its own names is cheaper
        // than hashing the name into the run's map, which only a delivery
        // on a channel it is not subscribed to needs.
        let name = frame.channel.as_deref();
        let run = &self.run;
        let mine = name.and_then(|name| {
            let mut subscribed = self.subscribed.iter().copied();
            subscribed.find(|&c| *run.channels[c as usize] == *name)
        });
        let Some(ch) = mine else {
            let ch = name.and_then(|name| run.channel_ids.get(name).copied());
            let forged = ch.is_some_and(|c| self.forged.contains(&c));
            let leaving = ch.is_some_and(|c| self.leaving.contains(&c));
            self.w.tally(|t| match (forged, leaving) {
                (true, _) => t.unexpected_forged += 1,
                (false, true) => t.churn_deliveries += 1,
                (false, false) => t.unexpected_unsubscribed += 1,
            });
            return;
        };
        if self.churn {
            self.w.tally(|t| t.churn_deliveries += 1);
            return;
        }
        let text = frame.data_text().unwrap_or_default();
        let Some(p) = Payload::decode(&text) else {
            self.w.error(ErrorKind::MalformedFrame);
            return;
        };
        if !self.run.accounts(p.h) {
            self.w.tally(|t| t.foreign += 1);
            return;
        }
        if p.x.as_deref() == Some(&*self.conn.socket_id) {
            self.w.tally(|t| t.unexpected_excluded += 1);
            return;
        }
        let registered = self.regs.iter().find(|(c, _)| *c == ch).map(|(_, at)| *at);
        if let Some(pos) = p.c
            && registered.is_none_or(|at| pos <= at)
        {
            // Published before this connection was a registered recipient
            // (it just resubscribed): expected of nobody here.
            self.w.tally(|t| t.early += 1);
            return;
        }
        let outcome = self.seen(p.p).insert(p.s);
        if outcome == SeqOutcome::Duplicate {
            self.w.tally(|t| t.duplicated += 1);
            return;
        }
        let latency = self.run.latency(p.h, p.o, p.t, now);
        let last = self.run.fanout.arrived(p.p, p.s);
        if last {
            self.run.completed(p.p, p.s, p.t, now);
        }
        let metric = match p.k {
            PayloadKind::Publish => Metric::Deliver,
            PayloadKind::ClientEvent => Metric::ClientEvent,
        };
        let by_node = match (p.k, p.n) {
            (PayloadKind::Publish, Some(n)) if self.run.multi_node() => {
                Some(if n as usize == self.node {
                    Metric::DeliverSameNode
                } else {
                    Metric::DeliverCrossNode
                })
            }
            _ => None,
        };
        if outcome != SeqOutcome::Duplicate {
            self.received_here += 1;
        }
        self.w.with(|h, t| {
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
        self.run.pending.received_one(self.core);
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
        self.subscribed.push(ch);
        let deadline = start + self.run.plan.connect_timeout;
        loop {
            match self.next_control(deadline).await {
                Some(Control::Succeeded(Some(c))) if c == ch => break,
                Some(Control::Error) => {
                    self.subscribed.retain(|c| *c != ch);
                    return Err(ErrorKind::SubscribeRefused);
                }
                Some(_) => {}
                None => {
                    self.subscribed.retain(|c| *c != ch);
                    return Err(ErrorKind::SubscribeTimeout);
                }
            }
        }
        self.w.with(|h, t| {
            h.record(Metric::Subscribe, micros(start.elapsed()));
            if self.churn {
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
        self.regs.push((ch, at));
    }

    /// After the connection closed under the client during a run with node
    /// events: accounts what this connection was expected to get and did
    /// not (lost during the outage), reconnects to the next node that
    /// answers, resubscribes and registers again.
    pub(crate) async fn recover(&mut self) -> Result<(), ErrorKind> {
        let run = self.run.clone();
        let mut expected = 0u64;
        let mut away = Vec::with_capacity(self.regs.len());
        for (ch, at) in std::mem::take(&mut self.regs) {
            let now = run.unregister(ch, &self.conn.socket_id);
            expected += now - at;
            away.push((ch, now));
        }
        // The connection's own client events were never expected back.
        let expected = expected.saturating_sub(self.sent_here);
        let lost = expected.saturating_sub(self.received_here);
        self.w.tally(|t| {
            t.outage_disconnects += 1;
            t.outage_expected += expected;
            t.outage_lost += lost;
        });
        run.pending.written_off(lost);
        (self.received_here, self.sent_here) = (0, 0);
        let channels = std::mem::take(&mut self.subscribed);
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
