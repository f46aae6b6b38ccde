//! The populations: one lightweight task per simulated client. Connected
//! behaviours (subscribers, client-event senders, attackers) share one
//! [`Client`] with one receive path that feeds the delivery ledger.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::time::{Instant, sleep_until, timeout_at};

use super::conn::{Conn, Frame, Read, micros};
use super::engine::{Phase, Run};
use super::pacing::Pacing;
use super::plan::Behaviour;
use crate::attack::{AttackKind, forge_rest, forge_subscription};
use crate::metrics::{ErrorKind, Metric, Payload, PayloadKind, SeqOutcome, SeqSet, Worker};

/// Event name of HTTP publishes.
pub(crate) const PUBLISH_EVENT: &str = "pushcheck-load";
/// Event name of client events.
pub(crate) const CLIENT_EVENT: &str = "client-pushcheck-load";

/// A control frame the receive path hands back to a waiting caller.
#[derive(Debug, PartialEq, Eq)]
enum Control {
    Succeeded(Option<u32>),
    Error,
    Pong,
    Other,
}

/// A connected simulated client.
pub(crate) struct Client {
    run: Arc<Run>,
    conn: Conn,
    w: Worker,
    id: u32,
    subscribed: Vec<u32>,
    leaving: Vec<u32>,
    forged: Vec<u32>,
    churn: bool,
    seen: HashMap<u32, SeqSet>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("id", &self.id).finish()
    }
}

impl Client {
    fn new(run: Arc<Run>, conn: Conn, w: Worker, id: u32) -> Client {
        Client {
            run,
            conn,
            w,
            id,
            subscribed: Vec::new(),
            leaving: Vec::new(),
            forged: Vec::new(),
            churn: false,
            seen: HashMap::new(),
        }
    }

    fn user(&self) -> String {
        format!("u{}", self.id)
    }

    /// Handles one text frame: answers pings, accounts deliveries, returns controls.
    async fn on_text(&mut self, text: &str) -> Control {
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

    fn on_delivery(&mut self, frame: &Frame<'_>) {
        let now = Instant::now();
        let ch = frame
            .channel
            .as_deref()
            .and_then(|c| self.run.channel_ids.get(c).copied());
        let Some(ch) = ch else {
            self.w.tally(|t| t.unexpected_unsubscribed += 1);
            return;
        };
        if !self.subscribed.contains(&ch) {
            let forged = self.forged.contains(&ch);
            let leaving = self.leaving.contains(&ch);
            self.w.tally(|t| match (forged, leaving) {
                (true, _) => t.unexpected_forged += 1,
                (false, true) => t.churn_deliveries += 1,
                (false, false) => t.unexpected_unsubscribed += 1,
            });
            return;
        }
        if self.churn {
            self.w.tally(|t| t.churn_deliveries += 1);
            return;
        }
        let text = frame.data_text().unwrap_or_default();
        let Some(p) = Payload::decode(&text) else {
            self.w.error(ErrorKind::MalformedFrame);
            return;
        };
        if p.h != self.run.plan.shard.index {
            self.w.tally(|t| t.foreign += 1);
            return;
        }
        if p.x == Some(&*self.conn.socket_id) {
            self.w.tally(|t| t.unexpected_excluded += 1);
            return;
        }
        let outcome = self.seen.entry(p.p).or_default().insert(p.s);
        if outcome == SeqOutcome::Duplicate {
            self.w.tally(|t| t.duplicated += 1);
            return;
        }
        let intended = self.run.epoch + Duration::from_micros(p.t);
        let latency = micros(now.saturating_duration_since(intended));
        let last = self.run.fanout.arrived(p.p, p.s);
        let metric = match p.k {
            PayloadKind::Publish => Metric::Deliver,
            PayloadKind::ClientEvent => Metric::ClientEvent,
        };
        self.w.with(|h, t| {
            h.record(metric, latency);
            if last {
                h.record(Metric::Fanout, latency);
            }
            match outcome {
                SeqOutcome::Reordered => t.reordered += 1,
                SeqOutcome::InOrder | SeqOutcome::Duplicate => t.delivered += 1,
            }
        });
        self.run.pending.received_one();
    }

    /// Reads until a control frame arrives or `deadline`; `None` on timeout or close.
    async fn next_control(&mut self, deadline: Instant) -> Option<Control> {
        loop {
            match timeout_at(deadline, self.conn.recv()).await {
                Ok(Read::Text(t)) => match self.on_text(&t).await {
                    Control::Other => {}
                    c => return Some(c),
                },
                Ok(Read::Closed) | Err(_) => return None,
            }
        }
    }

    /// Subscribes to channel `ch` with a legitimate grant and waits for the ack.
    async fn subscribe(&mut self, ch: u32) -> Result<(), ErrorKind> {
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
            t.subscriptions += 1;
        });
        Ok(())
    }

    fn register(&self, ch: u32) {
        self.run.register(ch, &self.conn.socket_id);
    }
}

/// The timed work of a connected client during the traffic phase.
enum Job {
    Idle,
    ClientEvents {
        ch: u32,
        payload: u32,
        pacing: Option<Pacing>,
        seq: u64,
    },
    Attacks {
        attacks: Vec<AttackKind>,
        pacing: Option<Pacing>,
        donor: Box<Conn>,
    },
}

impl Job {
    fn due(&self) -> Option<Instant> {
        match self {
            Job::Idle => None,
            Job::ClientEvents { pacing, .. } | Job::Attacks { pacing, .. } => {
                pacing.as_ref().map(Pacing::due)
            }
        }
    }

    fn start(&mut self, at: Instant, interval: Duration) {
        if let Job::ClientEvents { pacing, .. } | Job::Attacks { pacing, .. } = self {
            *pacing = Some(Pacing::new(at, interval));
        }
    }

    fn stop(&mut self) {
        if let Job::ClientEvents { pacing, .. } | Job::Attacks { pacing, .. } = self {
            *pacing = None;
        }
    }
}

/// Entry point of a subscriber, client-event sender or attacker task.
pub(crate) async fn connected(run: Arc<Run>, pop: usize, local: u32) {
    let p = &run.plan.populations[pop];
    let id = p.first_id + local;
    let w = run.recorders.worker(u64::from(id));
    let due = run.connect_start + Duration::from_secs_f64(f64::from(local) / p.ramp.get());
    sleep_until(due).await;
    // Bounded handshakes in flight: a server slower than the ramp would
    // otherwise pile up thousands of half-open clients and their transient
    // buffers, inflating the generator's memory for the rest of the run.
    let Ok(permit) = run.connect_permits.acquire().await else {
        return;
    };
    let deadline = Instant::now() + run.plan.connect_timeout;
    // The handshake, setup and tick futures are large and short-lived: boxed,
    // they are freed when done instead of sizing every idle client's task.
    let conn = match Box::pin(Conn::open(&run.dialer, id, &w, deadline)).await {
        Ok(c) => c,
        Err(kind) => {
            w.error(kind);
            run.pending.ready_one();
            return;
        }
    };
    let behaviour = p.behaviour.clone();
    let mut c = Client::new(run.clone(), conn, w, id);
    let (job, interval) = match Box::pin(setup(&mut c, &behaviour)).await {
        Ok(x) => x,
        Err(kind) => {
            c.w.error(kind);
            run.pending.ready_one();
            return;
        }
    };
    drop(permit);
    run.pending.ready_one();
    serve(c, job, interval).await;
}

async fn setup(c: &mut Client, b: &Behaviour) -> Result<(Job, Duration), ErrorKind> {
    let run = c.run.clone();
    match b {
        Behaviour::Subscriber { set, per_client } => {
            let count = run.plan.channel_sets[set.0].count;
            for k in 0..*per_client {
                let ch = run.set_offset[set.0] + (c.id * per_client + k) % count;
                c.subscribe(ch).await?;
                c.register(ch);
            }
            Ok((Job::Idle, Duration::ZERO))
        }
        Behaviour::ClientEvents { set, rate, payload } => {
            let ch = run.set_offset[set.0] + c.id % run.plan.channel_sets[set.0].count;
            c.subscribe(ch).await?;
            c.register(ch);
            let job = Job::ClientEvents {
                ch,
                payload: *payload,
                pacing: None,
                seq: 0,
            };
            Ok((job, rate.interval()))
        }
        Behaviour::Attacker { rate, attacks, .. } => {
            let deadline = Instant::now() + run.plan.connect_timeout;
            let donor = Conn::open(&run.dialer, c.id, &c.w, deadline).await?;
            let job = Job::Attacks {
                attacks: attacks.clone(),
                pacing: None,
                donor: Box::new(donor),
            };
            Ok((job, rate.interval()))
        }
        Behaviour::Publisher { .. } | Behaviour::Churner { .. } => Ok((Job::Idle, Duration::ZERO)),
    }
}

/// The receive loop: frames, the job's schedule and phase changes.
async fn serve(mut c: Client, mut job: Job, interval: Duration) {
    let mut phase = c.run.phase.subscribe();
    let current = *phase.borrow_and_update();
    match current {
        Phase::Traffic(at) => job.start(at, interval),
        Phase::Stop => return,
        Phase::Connect | Phase::Drain => {}
    }
    loop {
        let due = job.due();
        tokio::select! {
            read = c.conn.recv() => match read {
                Read::Text(t) => { c.on_text(&t).await; }
                Read::Closed => {
                    if *phase.borrow() != Phase::Stop {
                        c.w.error(ErrorKind::Disconnected);
                    }
                    return;
                }
            },
            changed = phase.changed() => {
                if changed.is_err() { return; }
                let now = *phase.borrow_and_update();
                match now {
                    Phase::Traffic(at) => job.start(at, interval),
                    Phase::Drain => job.stop(),
                    Phase::Stop => return,
                    Phase::Connect => {}
                }
            }
            () = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                if !Box::pin(tick(&mut c, &mut job)).await { job.stop(); }
            }
        }
    }
}

/// Runs one due send of the job; `false` when the schedule is over.
async fn tick(c: &mut Client, job: &mut Job) -> bool {
    let run = c.run.clone();
    match job {
        Job::Idle => false,
        Job::ClientEvents {
            ch,
            payload,
            pacing,
            seq,
        } => {
            let Some(p) = pacing.as_mut() else {
                return false;
            };
            let due = p.due();
            if !run.stop.allows(due) || run.stop.claim(1) == 0 {
                run.pending.wake();
                return false;
            }
            p.advance();
            c.w.record(
                Metric::ScheduleLag,
                micros(Instant::now().saturating_duration_since(due)),
            );
            let s = *seq;
            *seq += 1;
            if s as usize >= run.fanout.capacity(c.id) {
                return false;
            }
            let recipients = run.subscribers(*ch).saturating_sub(1);
            run.fanout.expect(c.id, s, recipients);
            let body = Payload {
                h: run.plan.shard.index,
                p: c.id,
                s,
                t: micros(due.saturating_duration_since(run.epoch)),
                k: PayloadKind::ClientEvent,
                x: Some(&c.conn.socket_id),
            }
            .encode(*payload as usize);
            let name = &run.channels[*ch as usize];
            let frame =
                json!({"event": CLIENT_EVENT, "channel": &**name, "data": body}).to_string();
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
        Job::Attacks {
            attacks,
            pacing,
            donor,
        } => {
            let Some(p) = pacing.as_mut() else {
                return false;
            };
            let due = p.due();
            if !run.stop.allows(due) {
                return false;
            }
            let k = p.advance();
            let kind = attacks[(k % attacks.len() as u64) as usize];
            let variant = k / attacks.len() as u64;
            let donor_id = donor.socket_id.clone();
            attack(c, kind, variant, &donor_id).await;
            true
        }
    }
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
        let is_presence = s.kind == super::plan::SetKind::Presence;
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
        let Some(req) = forge_rest(kind, &c.run.rest, &channel) else {
            return;
        };
        match c.run.rest.send(&req).await {
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
            c.forged.push(ch);
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
        let text = match timeout_at(deadline, c.conn.recv()).await {
            Ok(Read::Text(t)) => t,
            Ok(Read::Closed) | Err(_) => return None,
        };
        let succeeded = Frame::parse(&text).is_some_and(|f| {
            f.event == "pusher_internal:subscription_succeeded"
                && f.channel.as_deref() == Some(channel)
        });
        if succeeded {
            accepted = true;
            continue;
        }
        if c.on_text(&text).await == Control::Pong {
            break;
        }
    }
    if accepted {
        let unsub = json!({"event": "pusher:unsubscribe", "data": {"channel": channel}});
        c.conn.send(unsub.to_string()).await.ok()?;
    }
    Some(accepted)
}

/// A churner: every cycle connects, subscribes, holds, leaves and proves with
/// two ping barriers that nothing arrives after leaving.
pub(crate) async fn churner(run: Arc<Run>, pop: usize, local: u32, start: Instant) {
    let p = &run.plan.populations[pop];
    let id = p.first_id + local;
    let w = run.recorders.worker(u64::from(id));
    let Behaviour::Churner { set, rate, hold } = p.behaviour.clone() else {
        return;
    };
    let offset = Duration::from_secs_f64(f64::from(local) / p.ramp.get());
    let mut pacing = Pacing::new(start + offset, rate.interval());
    let mut phase = run.phase.subscribe();
    loop {
        let due = pacing.due();
        if !run.stop.allows(due) {
            return;
        }
        tokio::select! {
            () = sleep_until(due) => {}
            _ = phase.wait_for(|p| matches!(p, Phase::Drain | Phase::Stop)) => return,
        }
        let k = pacing.advance();
        let ch = run.set_offset[set.0]
            + ((u64::from(id) + k) % u64::from(run.plan.channel_sets[set.0].count)) as u32;
        if let Err(kind) = churn_cycle(&run, &w, id, ch, hold).await {
            w.error(kind);
        }
    }
}

async fn churn_cycle(
    run: &Arc<Run>,
    w: &Worker,
    id: u32,
    ch: u32,
    hold: Duration,
) -> Result<(), ErrorKind> {
    let deadline = Instant::now() + run.plan.connect_timeout;
    let conn = Conn::open(&run.dialer, id, w, deadline).await?;
    let mut c = Client::new(run.clone(), conn, w.clone(), id);
    c.churn = true;
    c.subscribe(ch).await?;
    let until = Instant::now() + hold;
    while c.next_control(until).await.is_some() {}
    let name = run.channels[ch as usize].clone();
    let unsub = json!({"event": "pusher:unsubscribe", "data": {"channel": &*name}});
    c.conn.send(unsub.to_string()).await?;
    c.subscribed.retain(|x| *x != ch);
    c.leaving.push(ch);
    for barrier in 0..2 {
        c.conn.ping().await?;
        let deadline = Instant::now() + run.plan.connect_timeout;
        loop {
            match c.next_control(deadline).await {
                Some(Control::Pong) => break,
                Some(_) => {}
                None => return Err(ErrorKind::Disconnected),
            }
        }
        if barrier == 0 {
            // The unsubscribe was processed before this pong: from here on
            // any delivery on the channel is one the socket must not get.
            c.leaving.clear();
        }
    }
    w.tally(|t| t.churn_cycles += 1);
    Ok(())
}

/// A publisher: HTTP API sends on an open-loop schedule, each request in its
/// own task so a slow response never delays the next send.
pub(crate) async fn publisher(run: Arc<Run>, pop: usize, local: u32, start: Instant) {
    let p = &run.plan.populations[pop];
    let id = p.first_id + local;
    let w = run.recorders.worker(u64::from(id));
    let Behaviour::Publisher {
        set,
        rate,
        batch,
        payload,
        exclude,
    } = p.behaviour.clone()
    else {
        return;
    };
    let interval = Duration::from_secs_f64(f64::from(batch) / rate.get());
    // Publishers are spread over the first interval so they do not fire together.
    let stagger = interval.mul_f64(f64::from(local) / f64::from(p.count.0.max(1)));
    let mut pacing = Pacing::new(start + stagger, interval);
    let mut inflight = tokio::task::JoinSet::new();
    let mut phase = run.phase.subscribe();
    let count = run.plan.channel_sets[set.0].count;
    let mut seq = 0u64;
    loop {
        let due = pacing.due();
        if !run.stop.allows(due) {
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
        let n = run.stop.claim(u64::from(batch));
        if run.stop.budget.load(std::sync::atomic::Ordering::Acquire) == 0 {
            run.pending.wake();
        }
        if n == 0 || (seq + n) as usize > run.fanout.capacity(id) {
            break;
        }
        let mut events = Vec::with_capacity(n as usize);
        let mut recipients = 0u64;
        for _ in 0..n {
            let ch = run.set_offset[set.0] + (seq % u64::from(count)) as u32;
            let excluded = if exclude {
                run.pick_subscriber(ch, seq)
            } else {
                None
            };
            let expect = run.subscribers(ch) - u32::from(excluded.is_some());
            run.fanout.expect(id, seq, expect);
            recipients += u64::from(expect);
            let data = Payload {
                h: run.plan.shard.index,
                p: id,
                s: seq,
                t: micros(due.saturating_duration_since(run.epoch)),
                k: PayloadKind::Publish,
                x: excluded.as_deref(),
            }
            .encode(payload as usize);
            let mut e = json!({"name": PUBLISH_EVENT, "channel": &*run.channels[ch as usize], "data": data});
            if let Some(x) = excluded {
                e["socket_id"] = json!(&*x);
            }
            events.push(e);
            seq += 1;
        }
        inflight.spawn(send_publish(
            run.clone(),
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

async fn send_publish(
    run: Arc<Run>,
    w: Worker,
    mut events: Vec<serde_json::Value>,
    recipients: u64,
    due: Instant,
) {
    let n = events.len() as u64;
    let req = if events.len() == 1 {
        run.rest.request("POST", "/events").json(&events.remove(0))
    } else {
        run.rest
            .request("POST", "/batch_events")
            .json(&json!({"batch": events}))
    };
    let result = run.rest.send(&req).await;
    let rtt = micros(Instant::now().saturating_duration_since(due));
    let accepted = match &result {
        Ok(r) if (200..300).contains(&r.status) => true,
        Ok(_) => {
            w.error(ErrorKind::PublishStatus);
            false
        }
        Err(_) => {
            // Unknown fate: the target may have delivered it, so it stays expected.
            w.error(ErrorKind::PublishTransport);
            true
        }
    };
    if accepted {
        w.with(|h, t| {
            h.record(Metric::Publish, rtt);
            t.publish_requests += u64::from(result.is_ok());
            t.messages_sent += n;
            t.expected += recipients;
        });
        run.pending.expect(recipients);
    }
}
