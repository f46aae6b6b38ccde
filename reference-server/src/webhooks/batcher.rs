//! The queue's single consumer: holds vacate events (9.3), batches per app
//! (9.1), de-duplicates `cache_miss` (10.1), and spawns one delivery task per
//! signed request, never more than [`MAX_IN_FLIGHT`] at once.
//!
//! Everything here is owned by one task, so no locks: the only shared state is
//! the atomic counters.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinError, JoinSet};
use tokio::time::{Instant, sleep_until, timeout_at};

use super::delivery::{self, RetryPolicy};
use super::{AppHooks, Counters, MAX_IN_FLIGHT, WebhookEvent, WebhookSettings};

/// One emitted event waiting in the queue.
#[derive(Debug)]
pub(super) struct Queued {
    pub(super) app: Arc<AppHooks>,
    pub(super) event: WebhookEvent,
}

/// Identifies one timer: its deadline plus a sequence number for uniqueness.
type TimerId = (Instant, u64);

/// Deadlines ordered by time. Entries are removed exactly when their owner
/// goes, so the map is never larger than the owners' map.
#[derive(Debug)]
struct Timers<K> {
    next_seq: u64,
    by_due: BTreeMap<TimerId, K>,
}

impl<K> Timers<K> {
    fn new() -> Self {
        Timers {
            next_seq: 0,
            by_due: BTreeMap::new(),
        }
    }

    fn insert(&mut self, due: Instant, key: K) -> TimerId {
        self.next_seq += 1;
        let id = (due, self.next_seq);
        self.by_due.insert(id, key);
        id
    }

    fn remove(&mut self, id: TimerId) {
        self.by_due.remove(&id);
    }

    fn next_due(&self) -> Option<Instant> {
        self.by_due.first_key_value().map(|((due, _), _)| *due)
    }

    /// The earliest key if its deadline is at or before `now`.
    fn pop_due(&mut self, now: Instant) -> Option<K> {
        let entry = self.by_due.first_entry()?;
        (entry.key().0 <= now).then(|| entry.remove())
    }
}

/// What a held event is waiting for (9.3): the same app and channel, and for
/// members the same user id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct HoldKey {
    app_id: String,
    channel: String,
    user_id: Option<String>,
}

/// How an event takes part in the vacate delay.
enum Role {
    /// `channel_vacated` / `member_removed`: held.
    Held,
    /// `channel_occupied` / `member_added`: cancels a held partner.
    Cancels,
}

impl HoldKey {
    fn of(app_id: &str, event: &WebhookEvent) -> Option<(HoldKey, Role)> {
        let key = |channel: &str, user_id: Option<&String>| HoldKey {
            app_id: app_id.to_owned(),
            channel: channel.to_owned(),
            user_id: user_id.cloned(),
        };
        match event {
            WebhookEvent::ChannelVacated { channel } => Some((key(channel, None), Role::Held)),
            WebhookEvent::ChannelOccupied { channel } => Some((key(channel, None), Role::Cancels)),
            WebhookEvent::MemberRemoved { channel, user_id } => {
                Some((key(channel, Some(user_id)), Role::Held))
            }
            WebhookEvent::MemberAdded { channel, user_id } => {
                Some((key(channel, Some(user_id)), Role::Cancels))
            }
            WebhookEvent::ClientEvent { .. }
            | WebhookEvent::CacheMiss { .. }
            | WebhookEvent::SubscriptionCount { .. } => None,
        }
    }
}

#[derive(Debug)]
struct Held {
    app: Arc<AppHooks>,
    event: WebhookEvent,
    timer: TimerId,
}

#[derive(Debug)]
struct Batch {
    app: Arc<AppHooks>,
    events: Vec<WebhookEvent>,
    timer: TimerId,
}

/// What woke the loop.
enum Step {
    Stop(Instant),
    StopGone,
    Due,
    Reaped(Result<(), JoinError>),
    Event(Queued),
    Closed,
}

#[derive(Debug)]
pub(super) struct Batcher {
    settings: WebhookSettings,
    counters: Arc<Counters>,
    client: Option<reqwest::Client>,
    policy: RetryPolicy,
    held: HashMap<HoldKey, Held>,
    hold_timers: Timers<HoldKey>,
    /// Keyed by app id: different apps never share a request.
    batches: HashMap<String, Batch>,
    batch_timers: Timers<String>,
    inflight: JoinSet<()>,
    /// Set once stopping: waits for a delivery slot end here.
    stop_by: Option<Instant>,
}

impl Batcher {
    pub(super) fn new(settings: WebhookSettings, counters: Arc<Counters>) -> Self {
        Batcher {
            client: delivery::client(&settings),
            policy: RetryPolicy::new(&settings),
            settings,
            counters,
            held: HashMap::new(),
            hold_timers: Timers::new(),
            batches: HashMap::new(),
            batch_timers: Timers::new(),
            inflight: JoinSet::new(),
            stop_by: None,
        }
    }

    /// Runs until told to stop (or every handle is dropped), then flushes.
    pub(super) async fn run(
        mut self,
        mut queue: mpsc::Receiver<Queued>,
        mut stop: oneshot::Receiver<Instant>,
    ) {
        let mut stop_open = true;
        let deadline = loop {
            let due = self.next_due();
            // Timers come before new events so a busy queue cannot starve them.
            let step = tokio::select! {
                biased;
                s = &mut stop, if stop_open => s.map_or(Step::StopGone, Step::Stop),
                () = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => Step::Due,
                Some(joined) = self.inflight.join_next() => Step::Reaped(joined),
                queued = queue.recv() => queued.map_or(Step::Closed, Step::Event),
            };
            match step {
                Step::Stop(deadline) => break deadline,
                Step::StopGone => stop_open = false,
                Step::Due => self.fire_due(Instant::now()).await,
                Step::Reaped(joined) => log_join(joined),
                Step::Event(queued) => self.accept(queued, Instant::now()).await,
                Step::Closed => break Instant::now() + self.policy_window(),
            }
        };
        self.finish(queue, deadline).await;
    }

    fn policy_window(&self) -> Duration {
        Duration::from_millis(self.settings.retry_window_ms)
    }

    fn next_due(&self) -> Option<Instant> {
        match (self.hold_timers.next_due(), self.batch_timers.next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    async fn accept(&mut self, queued: Queued, now: Instant) {
        let Queued { app, event } = queued;
        match HoldKey::of(&app.app_id, &event) {
            Some((key, Role::Held)) if self.settings.vacate_delay_ms > 0 => {
                self.hold(key, app, event, now).await;
            }
            // 9.3: the partner came back in time; neither event is sent.
            Some((key, Role::Cancels)) if self.cancel(&key) => {}
            _ => self.add(app, event, now).await,
        }
    }

    async fn hold(&mut self, key: HoldKey, app: Arc<AppHooks>, event: WebhookEvent, now: Instant) {
        // A second vacate without an occupy between: the first is due anyway.
        if let Some(old) = self.held.remove(&key) {
            self.hold_timers.remove(old.timer);
            self.add(old.app, old.event, now).await;
        }
        if self.held.len() >= self.settings.queue_capacity {
            Counters::add(&self.counters.dropped_overflow, 1);
            return;
        }
        let due = now + Duration::from_millis(self.settings.vacate_delay_ms);
        let timer = self.hold_timers.insert(due, key.clone());
        self.held.insert(key, Held { app, event, timer });
    }

    fn cancel(&mut self, key: &HoldKey) -> bool {
        let Some(held) = self.held.remove(key) else {
            return false;
        };
        self.hold_timers.remove(held.timer);
        true
    }

    /// Appends to the app's open batch (opening one if needed) and sends it
    /// when full.
    async fn add(&mut self, app: Arc<AppHooks>, event: WebhookEvent, now: Instant) {
        let app_id = app.app_id.clone();
        // Same id, different config (a reload): never sign with a mixed secret.
        if self
            .batches
            .get(&app_id)
            .is_some_and(|b| !Arc::ptr_eq(&b.app, &app))
        {
            self.flush(&app_id).await;
        }
        let batch = match self.batches.entry(app_id) {
            Entry::Occupied(open) => open.into_mut(),
            Entry::Vacant(slot) => {
                let due = now + Duration::from_millis(self.settings.batch_window_ms);
                let timer = self.batch_timers.insert(due, slot.key().clone());
                slot.insert(Batch {
                    app,
                    events: Vec::new(),
                    timer,
                })
            }
        };
        // 10.1: one cache_miss per channel per batch.
        if matches!(event, WebhookEvent::CacheMiss { .. })
            && batch.events.contains(&event)
            && !batch.app.faults.no_cache_miss_dedup()
        {
            return;
        }
        batch.events.push(event);
        if batch.events.len() >= self.settings.max_batch_events {
            let app_id = batch.app.app_id.clone();
            self.flush(&app_id).await;
        }
    }

    async fn fire_due(&mut self, now: Instant) {
        while let Some(key) = self.hold_timers.pop_due(now) {
            if let Some(held) = self.held.remove(&key) {
                self.add(held.app, held.event, now).await;
            }
        }
        while let Some(app_id) = self.batch_timers.pop_due(now) {
            if let Some(batch) = self.batches.remove(&app_id) {
                self.send(batch).await;
            }
        }
    }

    async fn flush(&mut self, app_id: &str) {
        if let Some(batch) = self.batches.remove(app_id) {
            self.batch_timers.remove(batch.timer);
            self.send(batch).await;
        }
    }

    /// Signs one request per interested target and spawns its delivery,
    /// waiting for a free slot first.
    async fn send(&mut self, batch: Batch) {
        let time_ms = delivery::unix_time_ms()
            / if batch.app.faults.webhook_time_in_seconds() {
                1000
            } else {
                1
            };
        let requests = delivery::requests_for(&batch.app, &batch.events, time_ms);
        let total = requests.len();
        for (sent, request) in requests.into_iter().enumerate() {
            if !self.wait_for_slot().await {
                let left = u64::try_from(total - sent).unwrap_or(u64::MAX);
                Counters::add(&self.counters.given_up, left);
                return;
            }
            let counters = Arc::clone(&self.counters);
            let task = delivery::deliver(self.client.clone(), request, self.policy, counters);
            self.inflight.spawn(task);
        }
    }

    /// False if the stop deadline passed before a slot freed.
    async fn wait_for_slot(&mut self) -> bool {
        while self.inflight.len() >= MAX_IN_FLIGHT {
            let next = self.inflight.join_next();
            let joined = match self.stop_by {
                Some(deadline) => match timeout_at(deadline, next).await {
                    Ok(joined) => joined,
                    Err(_elapsed) => return false,
                },
                None => next.await,
            };
            if let Some(joined) = joined {
                log_join(joined);
            }
        }
        true
    }

    /// Drains the queue, releases every held event at once, sends every open
    /// batch, and waits for deliveries until `deadline`; what is left then is
    /// aborted and counted as given up.
    async fn finish(mut self, mut queue: mpsc::Receiver<Queued>, deadline: Instant) {
        self.stop_by = Some(deadline);
        queue.close();
        let now = Instant::now();
        while let Ok(queued) = queue.try_recv() {
            self.accept(queued, now).await;
        }
        let far = deadline.max(now) + Duration::from_millis(self.settings.vacate_delay_ms);
        while let Some(key) = self.hold_timers.pop_due(far) {
            if let Some(held) = self.held.remove(&key) {
                self.add(held.app, held.event, now).await;
            }
        }
        let open: Vec<String> = self.batches.keys().cloned().collect();
        for app_id in open {
            self.flush(&app_id).await;
        }
        self.drain_inflight(deadline).await;
    }

    async fn drain_inflight(&mut self, deadline: Instant) {
        loop {
            match timeout_at(deadline, self.inflight.join_next()).await {
                Ok(Some(joined)) => log_join(joined),
                Ok(None) => return,
                Err(_elapsed) => break,
            }
        }
        while let Some(joined) = self.inflight.try_join_next() {
            log_join(joined);
        }
        let left = u64::try_from(self.inflight.len()).unwrap_or(u64::MAX);
        Counters::add(&self.counters.given_up, left);
        self.inflight.abort_all();
    }
}

fn log_join(joined: Result<(), JoinError>) {
    if let Err(err) = joined
        && err.is_panic()
    {
        tracing::error!(error = %err, "webhook delivery task panicked");
    }
}
