//! What the server counts, served as `GET /metrics` in the Prometheus text
//! format (0.0.4), through the Prometheus project's `prometheus-client`.
//!
//! Each server has its own registry, so servers in one process (tests) keep
//! their own figures. Per-app handles are looked up once, when the app is
//! built, so the hot paths only add to an atomic: a publish adds its whole
//! delivery count at once, not once per recipient.
//!
//! | metric | kind | labels |
//! | --- | --- | --- |
//! | `pusher_connections` | gauge | `app_id` |
//! | `pusher_subscriptions` | gauge | `app_id`, `kind` |
//! | `pusher_deliveries_total` | counter | `app_id` |
//! | `pusher_slow_consumer_closes_total` (4100) | counter | `app_id` |
//! | `pusher_rate_limited_total` (client events, 4301) | counter | `app_id` |
//! | `pusher_http_requests_total` (HTTP API) | counter | `status` |
//! | `pusher_webhook_queue_depth` | gauge | |
//! | `pusher_webhook_failed_attempts_total`, `..._given_up_total`, `..._dropped_total`, `..._delivered_requests_total` | counter | |

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

use crate::protocol::channel::Access;
use crate::webhooks::Webhooks;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabel {
    app_id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    app_id: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: u16,
}

/// Every channel kind, in the order of [`AppMetrics::subscriptions`].
const KINDS: [Access; 5] = [
    Access::Public,
    Access::Private,
    Access::Encrypted,
    Access::Presence,
    Access::ServerToUser,
];

fn kind_name(access: Access) -> &'static str {
    match access {
        Access::Public => "public",
        Access::Private => "private",
        Access::Encrypted => "private_encrypted",
        Access::Presence => "presence",
        Access::ServerToUser => "server_to_user",
    }
}

fn kind_index(access: Access) -> usize {
    match access {
        Access::Public => 0,
        Access::Private => 1,
        Access::Encrypted => 2,
        Access::Presence => 3,
        Access::ServerToUser => 4,
    }
}

/// The server's registry and its metric families.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    connections: Family<AppLabel, Gauge>,
    subscriptions: Family<KindLabel, Gauge>,
    deliveries: Family<AppLabel, Counter>,
    slow_closes: Family<AppLabel, Counter>,
    rate_limited: Family<AppLabel, Counter>,
    http_requests: Family<StatusLabel, Counter>,
}

/// One app's handles into the families.
#[derive(Clone, Debug)]
pub struct AppMetrics {
    connections: Gauge,
    subscriptions: [Gauge; 5],
    deliveries: Counter,
    slow_closes: Counter,
    rate_limited: Counter,
}

impl Metrics {
    /// A registry with every family, and the webhook queue read at each scrape.
    pub fn new(webhooks: &Webhooks) -> Metrics {
        let mut registry = Registry::default();
        let metrics = Metrics {
            connections: Family::default(),
            subscriptions: Family::default(),
            deliveries: Family::default(),
            slow_closes: Family::default(),
            rate_limited: Family::default(),
            http_requests: Family::default(),
            registry: Registry::default(),
        };
        let m = &metrics;
        registry.register(
            "pusher_connections",
            "Open WebSocket connections",
            m.connections.clone(),
        );
        registry.register(
            "pusher_subscriptions",
            "Channel subscriptions by channel kind",
            m.subscriptions.clone(),
        );
        registry.register(
            "pusher_deliveries",
            "Frames fanned out to channel subscribers",
            m.deliveries.clone(),
        );
        registry.register(
            "pusher_slow_consumer_closes",
            "Connections closed 4100 for not reading",
            m.slow_closes.clone(),
        );
        registry.register(
            "pusher_rate_limited",
            "Client events refused by the rate limit (4301)",
            m.rate_limited.clone(),
        );
        registry.register(
            "pusher_http_requests",
            "HTTP API requests by response status",
            m.http_requests.clone(),
        );
        registry.register_collector(Box::new(WebhookCollector(webhooks.clone())));
        Metrics {
            registry,
            ..metrics
        }
    }

    /// The handles of one app.
    pub fn app(&self, app_id: &str) -> AppMetrics {
        let app = AppLabel {
            app_id: app_id.to_owned(),
        };
        let kind = |access| KindLabel {
            app_id: app_id.to_owned(),
            kind: kind_name(access),
        };
        AppMetrics {
            connections: self.connections.get_or_create(&app).clone(),
            subscriptions: KINDS.map(|a| self.subscriptions.get_or_create(&kind(a)).clone()),
            deliveries: self.deliveries.get_or_create(&app).clone(),
            slow_closes: self.slow_closes.get_or_create(&app).clone(),
            rate_limited: self.rate_limited.get_or_create(&app).clone(),
        }
    }

    /// Counts one HTTP API response.
    pub fn http_response(&self, status: u16) {
        self.http_requests
            .get_or_create(&StatusLabel { status })
            .inc();
    }

    /// The Prometheus text exposition of everything.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

impl AppMetrics {
    /// A connection opened (`1`) or closed (`-1`).
    pub fn connection(&self, delta: i64) {
        self.connections.inc_by(delta);
    }

    /// A subscription of this kind added (`1`) or removed (`-1`).
    pub fn subscription(&self, access: Access, delta: i64) {
        self.subscriptions[kind_index(access)].inc_by(delta);
    }

    /// `n` frames fanned out.
    pub fn delivered(&self, n: usize) {
        if n > 0 {
            self.deliveries.inc_by(n as u64);
        }
    }

    /// A connection closed 4100.
    pub fn slow_consumer_closed(&self) {
        self.slow_closes.inc();
    }

    /// A client event refused by the rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }
}

/// Reads the webhook queue's depth and delivery counters at scrape time.
#[derive(Debug)]
struct WebhookCollector(Webhooks);

impl Collector for WebhookCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let stats = self.0.stats();
        let depth = ConstGauge::new(i64::try_from(self.0.queue_depth()).unwrap_or(i64::MAX));
        depth.encode(encoder.encode_descriptor(
            "pusher_webhook_queue_depth",
            "Webhook events waiting in the queue",
            None,
            depth.metric_type(),
        )?)?;
        for (name, help, value) in [
            (
                "pusher_webhook_failed_attempts",
                "Webhook attempts that failed (non-2xx, connect error, timeout)",
                stats.failed_attempts,
            ),
            (
                "pusher_webhook_given_up",
                "Webhook requests abandoned after their retry window",
                stats.given_up,
            ),
            (
                "pusher_webhook_dropped",
                "Webhook events dropped: queue full or server shutting down",
                stats.dropped_overflow + stats.dropped_closed,
            ),
            (
                "pusher_webhook_delivered_requests",
                "Webhook requests answered 2xx",
                stats.delivered_requests,
            ),
        ] {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        Ok(())
    }
}
