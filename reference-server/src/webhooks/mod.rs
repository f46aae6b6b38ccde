//! Webhook delivery (spec 9): batching, signing and retrying from a bounded
//! queue that never blocks a connection.
//!
//! # Flow
//!
//! The hub calls [`Webhooks::emit`], which only `try_send`s into a bounded
//! queue: a full queue drops the event and counts it. One batcher task drains
//! the queue. It holds `channel_vacated` and `member_removed` (9.3), gathers
//! each app's events for a batch window (9.1), de-duplicates `cache_miss`
//! (10.1), then signs one request per interested target and hands it to its own
//! delivery task, which retries with exponential back-off (9.1). At most
//! [`MAX_IN_FLIGHT`] delivery tasks run at once; past that the batcher waits
//! and the queue absorbs the difference, so a dead endpoint costs queue space,
//! never a connection's time.

mod batcher;
mod delivery;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use batcher::{Batcher, Queued};

/// Most delivery tasks (requests, including those waiting to retry) alive at once.
pub const MAX_IN_FLIGHT: usize = 64;

/// Every millisecond setting is capped at one year, so adding it to an
/// `Instant` cannot overflow whatever the configuration says.
const MAX_MS: u64 = 365 * 24 * 3600 * 1000;

/// The queue is capped so a typo cannot ask tokio for an impossible buffer.
const MAX_QUEUE: usize = 1 << 24;

/// How long [`Webhooks::shutdown`] waits past its deadline for the batcher to
/// record what it abandoned at that deadline.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(25);

/// Which webhook events an endpoint wants (spec 9.2); serde names are the wire
/// names (snake_case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookKind {
    /// A channel went from 0 to 1 subscribed connection.
    ChannelOccupied,
    /// A channel went from 1 to 0 subscribed connections.
    ChannelVacated,
    /// A user id joined a presence channel (its first connection).
    MemberAdded,
    /// A user id's last connection left a presence channel.
    MemberRemoved,
    /// A client event was relayed on a private or presence channel.
    ClientEvent,
    /// A client subscribed to a cache channel with nothing cached.
    CacheMiss,
    /// A channel's subscription count changed.
    SubscriptionCount,
}

impl WebhookKind {
    /// The kind that cancels this one, or that this one cancels, under the
    /// vacate delay (9.3).
    fn partner(self) -> Option<WebhookKind> {
        match self {
            WebhookKind::ChannelOccupied => Some(WebhookKind::ChannelVacated),
            WebhookKind::ChannelVacated => Some(WebhookKind::ChannelOccupied),
            WebhookKind::MemberAdded => Some(WebhookKind::MemberRemoved),
            WebhookKind::MemberRemoved => Some(WebhookKind::MemberAdded),
            WebhookKind::ClientEvent | WebhookKind::CacheMiss | WebhookKind::SubscriptionCount => {
                None
            }
        }
    }
}

/// One configured endpoint of an app (TOML: `[[apps.webhooks]]` with `url` and
/// `events`; `events` omitted means every kind).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    /// Where requests are POSTed.
    pub url: String,
    /// The kinds this endpoint receives; `None` means all of them.
    #[serde(default)]
    pub events: Option<Vec<WebhookKind>>,
}

impl WebhookTarget {
    /// Whether this endpoint's filter lets `kind` through.
    pub fn wants(&self, kind: WebhookKind) -> bool {
        self.events
            .as_ref()
            .is_none_or(|kinds| kinds.contains(&kind))
    }
}

/// Server-wide delivery settings (TOML table `[webhooks]`; every field has a
/// default).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Events of one app gathered this long go in one request (9.1 "batch
    /// webhooks"). Default 50.
    pub batch_window_ms: u64,
    /// Most events in one request; a full batch is sent at once. Default 100.
    pub max_batch_events: usize,
    /// How long `channel_vacated` and `member_removed` are held (9.3).
    /// Default 3000; 0 sends them at once, in order.
    pub vacate_delay_ms: u64,
    /// Queue size in events; overflow drops the event and counts it. Also
    /// bounds the number of held events. Default 65536.
    pub queue_capacity: usize,
    /// First retry delay; doubles on each attempt (9.1). Default 1000.
    pub retry_initial_ms: u64,
    /// No attempt starts later than this after the first (9.1). Default 300000.
    pub retry_window_ms: u64,
    /// Whole-request timeout of one attempt (9.1: receivers get 4 s). Default 4000.
    pub request_timeout_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            batch_window_ms: 50,
            max_batch_events: 100,
            vacate_delay_ms: 3000,
            queue_capacity: 65536,
            retry_initial_ms: 1000,
            retry_window_ms: 300_000,
            request_timeout_ms: 4000,
        }
    }
}

impl WebhookSettings {
    /// Clamps values that would otherwise panic or spin: a zero-sized queue,
    /// empty batches, a zero retry delay, or durations that overflow `Instant`.
    fn sanitised(self) -> Self {
        WebhookSettings {
            batch_window_ms: self.batch_window_ms.min(MAX_MS),
            max_batch_events: self.max_batch_events.max(1),
            vacate_delay_ms: self.vacate_delay_ms.min(MAX_MS),
            queue_capacity: self.queue_capacity.clamp(1, MAX_QUEUE),
            retry_initial_ms: self.retry_initial_ms.clamp(1, MAX_MS),
            retry_window_ms: self.retry_window_ms.min(MAX_MS),
            request_timeout_ms: self.request_timeout_ms.min(MAX_MS),
        }
    }
}

/// What the hub reports; serialises to the spec 9.2 JSON object (`name` first,
/// then the fields; `user_id` only when present).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum WebhookEvent {
    /// `channel_occupied`.
    ChannelOccupied {
        /// Channel name.
        channel: String,
    },
    /// `channel_vacated`.
    ChannelVacated {
        /// Channel name.
        channel: String,
    },
    /// `member_added`.
    MemberAdded {
        /// Presence channel name.
        channel: String,
        /// The user id, always a string on the wire (7.1).
        user_id: String,
    },
    /// `member_removed`.
    MemberRemoved {
        /// Presence channel name.
        channel: String,
        /// The user id, always a string on the wire (7.1).
        user_id: String,
    },
    /// `client_event`.
    ClientEvent {
        /// Channel name.
        channel: String,
        /// The client event's name (`client-...`).
        event: String,
        /// The event payload as a string (9.2).
        data: String,
        /// The sender's socket id.
        socket_id: String,
        /// The sender's user id; presence channels only.
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
    },
    /// `cache_miss`.
    CacheMiss {
        /// Cache channel name.
        channel: String,
    },
    /// `subscription_count`.
    SubscriptionCount {
        /// Channel name.
        channel: String,
        /// Subscribed connections, a JSON number.
        subscription_count: u64,
    },
}

impl WebhookEvent {
    /// This event's kind, for filters.
    pub fn kind(&self) -> WebhookKind {
        match self {
            WebhookEvent::ChannelOccupied { .. } => WebhookKind::ChannelOccupied,
            WebhookEvent::ChannelVacated { .. } => WebhookKind::ChannelVacated,
            WebhookEvent::MemberAdded { .. } => WebhookKind::MemberAdded,
            WebhookEvent::MemberRemoved { .. } => WebhookKind::MemberRemoved,
            WebhookEvent::ClientEvent { .. } => WebhookKind::ClientEvent,
            WebhookEvent::CacheMiss { .. } => WebhookKind::CacheMiss,
            WebhookEvent::SubscriptionCount { .. } => WebhookKind::SubscriptionCount,
        }
    }
}

/// Per-app hook configuration, built once per app and shared.
pub struct AppHooks {
    /// The app id; apps never share a request.
    pub app_id: String,
    /// Sent as `X-Pusher-Key`.
    pub key: String,
    /// Signs each body (`X-Pusher-Signature`); never printed.
    pub secret: String,
    /// The app's endpoints.
    pub targets: Vec<WebhookTarget>,
    /// Test-only misbehaviours (all off outside the harness's tests).
    pub faults: crate::faults::Handle,
}

impl AppHooks {
    /// Whether [`Webhooks::emit`] needs events of `kind`: some target wants
    /// `kind`, or wants its vacate-delay partner (occupied/vacated,
    /// added/removed), because a held vacate is cancelled only by seeing its
    /// partner (9.3). Cheap enough for hot paths.
    pub fn wants(&self, kind: WebhookKind) -> bool {
        self.targets.iter().any(|target| {
            target.wants(kind) || kind.partner().is_some_and(|partner| target.wants(partner))
        })
    }
}

impl fmt::Debug for AppHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppHooks")
            .field("app_id", &self.app_id)
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .field("targets", &self.targets)
            .finish()
    }
}

/// Delivery counters since [`Webhooks::start`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookStats {
    /// Events accepted into the queue.
    pub queued: u64,
    /// Requests answered with a 2xx status.
    pub delivered_requests: u64,
    /// Attempts that failed: non-2xx status, connect error or timeout.
    pub failed_attempts: u64,
    /// Events dropped because the queue, or the table of held events, was full.
    pub dropped_overflow: u64,
    /// Events emitted after shutdown, dropped.
    pub dropped_closed: u64,
    /// Requests abandoned: retry window over, permanently bad request (such as
    /// a malformed URL), or still pending at the shutdown deadline.
    pub given_up: u64,
}

/// The live counters behind [`WebhookStats`], shared with the tasks.
#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    delivered_requests: AtomicU64,
    failed_attempts: AtomicU64,
    dropped_overflow: AtomicU64,
    dropped_closed: AtomicU64,
    given_up: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> WebhookStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        WebhookStats {
            queued: get(&self.queued),
            delivered_requests: get(&self.delivered_requests),
            failed_attempts: get(&self.failed_attempts),
            dropped_overflow: get(&self.dropped_overflow),
            dropped_closed: get(&self.dropped_closed),
            given_up: get(&self.given_up),
        }
    }
}

/// Cheap-to-clone handle on the delivery machinery.
#[derive(Clone, Debug)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    queue: mpsc::Sender<Queued>,
    counters: Arc<Counters>,
    /// Taken by the first shutdown; carries the deadline to the batcher.
    stop: Mutex<Option<oneshot::Sender<Instant>>>,
    batcher: Mutex<Option<JoinHandle<()>>>,
}

impl Webhooks {
    /// Spawns the batcher on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as `tokio::spawn` does.
    pub fn start(settings: WebhookSettings) -> Webhooks {
        let settings = settings.sanitised();
        let (queue, queue_rx) = mpsc::channel(settings.queue_capacity);
        let (stop, stop_rx) = oneshot::channel();
        let counters = Arc::new(Counters::default());
        let batcher = Batcher::new(settings, Arc::clone(&counters));
        let task = tokio::spawn(batcher.run(queue_rx, stop_rx));
        let inner = Inner {
            queue,
            counters,
            stop: Mutex::new(Some(stop)),
            batcher: Mutex::new(Some(task)),
        };
        Webhooks {
            inner: Arc::new(inner),
        }
    }

    /// Queues `event` for `app`. Never blocks and never awaits: when the queue
    /// is full the event is dropped and counted. Kinds the app does not need
    /// (see [`AppHooks::wants`]) are ignored without counting.
    pub fn emit(&self, app: &Arc<AppHooks>, event: WebhookEvent) {
        if !app.wants(event.kind()) {
            return;
        }
        let queued = Queued {
            app: Arc::clone(app),
            event,
        };
        let counters = &self.inner.counters;
        match self.inner.queue.try_send(queued) {
            Ok(()) => Counters::add(&counters.queued, 1),
            Err(TrySendError::Full(_)) => Counters::add(&counters.dropped_overflow, 1),
            Err(TrySendError::Closed(_)) => Counters::add(&counters.dropped_closed, 1),
        }
    }

    /// Events waiting in the queue for the batcher.
    pub fn queue_depth(&self) -> usize {
        let queue = &self.inner.queue;
        queue.max_capacity() - queue.capacity()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> WebhookStats {
        self.inner.counters.snapshot()
    }

    /// Sends everything pending, held events included (at once, without their
    /// delay), waits for in-flight requests and their retries, and stops. What
    /// is still pending `deadline` from now is abandoned and counted as given
    /// up. Returns within `deadline` plus a few milliseconds; a second call
    /// returns at once.
    pub async fn shutdown(&self, deadline: Duration) {
        let now = Instant::now();
        let until = now + deadline.min(Duration::from_millis(MAX_MS));
        if let Some(stop) = self.inner.stop.lock().take() {
            // An error means the batcher already ended; the join below sees that.
            let _ = stop.send(until);
        }
        let task = self.inner.batcher.lock().take();
        let Some(mut task) = task else {
            return;
        };
        if tokio::time::timeout_at(until + SHUTDOWN_GRACE, &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}
