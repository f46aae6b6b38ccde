//! Server configuration: apps, limits, timeouts and webhooks, from TOML and flags.
//!
//! Every field has a default, so an empty file is a valid config that serves
//! the conventional app (`app-id` / `app-key` / `app-secret`). Unknown fields
//! are rejected so that a typo never silently falls back to a default.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cluster::ClusterSettings;
use crate::webhooks::{WebhookSettings, WebhookTarget};

/// The whole server configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The apps this server hosts; at least one.
    pub apps: Vec<AppConfig>,
    /// Liveness timers (spec 3.3).
    pub timeouts: Timeouts,
    /// WebSocket transport limits.
    pub transport: TransportLimits,
    /// HTTP API settings (spec 8).
    pub rest: RestSettings,
    /// Webhook delivery settings (spec 9).
    pub webhooks: WebhookSettings,
    /// Cluster mode: nodes sharing state through Redis. Off without a `redis_url`.
    pub cluster: ClusterSettings,
    /// TLS on the listener: `wss://` and `https://` instead of the plain
    /// schemes (`--tls-cert`/`--tls-key` set it too).
    pub tls: Option<TlsSettings>,
    /// Test-only misbehaviours; see [`crate::faults`].
    #[cfg(feature = "faults")]
    pub faults: crate::faults::Faults,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            apps: vec![AppConfig::new("app-id", "app-key", "app-secret")],
            timeouts: Timeouts::default(),
            transport: TransportLimits::default(),
            rest: RestSettings::default(),
            webhooks: WebhookSettings::default(),
            cluster: ClusterSettings::default(),
            tls: None,
            #[cfg(feature = "faults")]
            faults: crate::faults::Faults::default(),
        }
    }
}

/// One hosted application and its per-app options and limits.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppConfig {
    /// App id, used in REST paths (`/apps/{id}/...`).
    pub id: String,
    /// App key, used in the WebSocket path and in signatures.
    pub key: String,
    /// App secret, the HMAC key.
    pub secret: AppSecret,
    /// A disabled app refuses connections (4003) and REST calls (403).
    pub enabled: bool,
    /// Whether clients may trigger `client-` events (spec 6.2).
    pub client_events: bool,
    /// Plain `ws://` connections are closed with 4000; only `wss://` is
    /// served (spec 1.5). Needs `[tls]` on the server.
    pub require_tls: bool,
    /// Whether `pusher:signin` is accepted (spec 5.3).
    pub user_authentication: bool,
    /// Whether `pusher_internal:subscription_count` is sent (spec 7.5).
    pub subscription_count: bool,
    /// Whether watchlist events are sent after sign-in (spec 10.4).
    pub watchlist: bool,
    /// Maximum concurrent connections; over it new ones are closed 4004.
    pub max_connections: Option<u32>,
    /// Maximum channels one connection may be subscribed to at once; more
    /// are refused with `pusher:error` (spec 4.5). The hosted service sets
    /// no documented limit (spec 10.7); this one keeps a single connection
    /// from taking unbounded memory.
    pub max_subscriptions_per_connection: usize,
    /// Maximum distinct users in one presence channel (spec 7.1: 100).
    pub max_presence_members: usize,
    /// Maximum presence `user_id` length in characters (spec 7.1: 128).
    pub max_presence_user_id_chars: usize,
    /// Maximum presence `user_info` size in bytes (spec 7.1: 1 KB).
    pub max_presence_user_info_bytes: usize,
    /// Maximum `data` size of one event in bytes (spec 2.3: 10 KB).
    pub max_event_payload_bytes: usize,
    /// Maximum channels of one published event (spec 8.2: 100).
    pub max_channels_per_event: usize,
    /// Maximum events of one batch request (spec 8.3: 10).
    pub max_batch_events: usize,
    /// Client events per second per connection (spec 6.2: 10).
    pub client_event_rate: u32,
    /// Maximum watchlist size honoured at sign-in (spec 10.4: 100).
    pub max_watchlist: usize,
    /// How long a cache channel keeps its last event, in ms (spec 10.1).
    pub cache_ttl_ms: u64,
    /// Webhook endpoints of this app (spec 9).
    pub webhooks: Vec<WebhookTarget>,
}

impl AppConfig {
    /// An app with the given credentials and every other option at its default.
    pub fn new(id: &str, key: &str, secret: &str) -> AppConfig {
        AppConfig {
            id: id.to_owned(),
            key: key.to_owned(),
            secret: AppSecret::new(secret.to_owned()),
            ..AppConfig::default()
        }
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            id: "app-id".to_owned(),
            key: "app-key".to_owned(),
            secret: AppSecret::new("app-secret".to_owned()),
            enabled: true,
            client_events: true,
            require_tls: false,
            user_authentication: true,
            subscription_count: false,
            watchlist: true,
            max_connections: None,
            max_subscriptions_per_connection: 1000,
            max_presence_members: 100,
            max_presence_user_id_chars: 128,
            max_presence_user_info_bytes: 1024,
            max_event_payload_bytes: 10 * 1024,
            max_channels_per_event: 100,
            max_batch_events: 10,
            client_event_rate: 10,
            max_watchlist: 100,
            cache_ttl_ms: 30 * 60 * 1000,
            webhooks: Vec::new(),
        }
    }
}

/// The longest cache TTL accepted: a year, in ms.
const MAX_CACHE_TTL_MS: u64 = 365 * 24 * 3600 * 1000;

/// An app secret; its `Debug` never prints the value.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct AppSecret(String);

impl AppSecret {
    /// Wraps a secret.
    pub fn new(secret: String) -> AppSecret {
        AppSecret(secret)
    }

    /// The secret's bytes, the HMAC key.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// TLS on the listener, from PEM files (rustls).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// The certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// A TLS handshake must complete within this (ms).
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
}

fn default_handshake_timeout_ms() -> u64 {
    10_000
}

impl TlsSettings {
    /// Certificate and key files with the default handshake timeout.
    pub fn new(cert: PathBuf, key: PathBuf) -> TlsSettings {
        TlsSettings {
            cert,
            key,
            handshake_timeout_ms: default_handshake_timeout_ms(),
        }
    }
}

/// Liveness timers (spec 3.3). Milliseconds, so tests can run them fast.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    /// Inbound silence after which the server pings; also advertised, rounded
    /// up to whole seconds, as `activity_timeout`.
    pub activity_timeout_ms: u64,
    /// How long after its ping the server waits before closing 4201.
    pub pong_timeout_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            activity_timeout_ms: 120_000,
            pong_timeout_ms: 30_000,
        }
    }
}

/// WebSocket transport limits: frame size and per-connection buffers.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransportLimits {
    /// Largest inbound message in bytes; larger ones close the connection (1009).
    pub max_message_bytes: usize,
    /// Bytes queued for one connection at most; a frame past it closes the
    /// connection 4100. The memory bound: large enough that a reading client
    /// never reaches it in a burst.
    pub outbound_queue_bytes: usize,
    /// A connection whose writes make no progress for this long (it is not
    /// reading) is closed 4100: how slowness is judged.
    pub drain_timeout_ms: u64,
    /// A request's header must arrive within this (ms); it is also how long
    /// a keep-alive HTTP connection may wait idle for its next request.
    pub header_timeout_ms: u64,
    /// A request's body must arrive within this (ms), or the request gets 408.
    pub body_timeout_ms: u64,
    /// Accepted connections still waiting for their first request, at most;
    /// more wait in the kernel's listen backlog.
    pub max_pending_connections: usize,
    /// Read buffer per connection in bytes. tungstenite zero-fills it before
    /// each read, so all of it is resident on every idle connection; a larger
    /// message grows it as needed, so this sets the idle cost and the most
    /// bytes one read call takes, not the largest message.
    pub read_buffer_bytes: usize,
}

impl Default for TransportLimits {
    fn default() -> Self {
        TransportLimits {
            max_message_bytes: 32 * 1024,
            outbound_queue_bytes: 2 * 1024 * 1024,
            drain_timeout_ms: 10_000,
            header_timeout_ms: 10_000,
            body_timeout_ms: 10_000,
            max_pending_connections: 1024,
            read_buffer_bytes: 1024,
        }
    }
}

/// HTTP API settings (spec 5.5, 8).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RestSettings {
    /// Requests whose `auth_timestamp` is this many seconds or more away
    /// from server time are refused (spec 5.5: 600).
    pub timestamp_window_secs: u64,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
}

impl Default for RestSettings {
    fn default() -> Self {
        RestSettings {
            timestamp_window_secs: 600,
            max_body_bytes: 256 * 1024,
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or a field has the wrong type or name.
    // The TOML error is the source, printed by whoever walks the chain;
    // repeating it here printed it twice.
    #[error("invalid config")]
    Parse(#[from] toml::de::Error),
    /// A field parsed but its value is not allowed.
    #[error("invalid config: {field}: {reason}")]
    Invalid {
        /// Dotted path of the field, e.g. `apps[0].key`.
        field: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl Config {
    /// Parses and validates a TOML document.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let config = Config::read(path)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a TOML file without validating it, for a caller that
    /// changes it (command-line flags) and validates afterwards.
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Ok(toml::from_str(&text)?)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: String, reason| Err(ConfigError::Invalid { field, reason });
        if self.apps.is_empty() {
            return invalid("apps".into(), "at least one app is required");
        }
        for (i, app) in self.apps.iter().enumerate() {
            for (name, value) in [
                ("id", &app.id),
                ("key", &app.key),
                ("secret", &app.secret.0),
            ] {
                if value.is_empty() {
                    return invalid(format!("apps[{i}].{name}"), "must not be empty");
                }
            }
            if app.key.contains([':', '/', '?', '#']) {
                return invalid(
                    format!("apps[{i}].key"),
                    "must not contain ':', '/', '?' or '#'",
                );
            }
            if app.max_subscriptions_per_connection == 0 {
                return invalid(
                    format!("apps[{i}].max_subscriptions_per_connection"),
                    "must be at least 1",
                );
            }
            // Far enough for any use; keeps `now + ttl` from overflowing.
            if app.cache_ttl_ms > MAX_CACHE_TTL_MS {
                return invalid(format!("apps[{i}].cache_ttl_ms"), "must be at most a year");
            }
            if app.client_event_rate == 0 {
                return invalid(format!("apps[{i}].client_event_rate"), "must be at least 1");
            }
            for other in self.apps.iter().take(i) {
                if other.id == app.id {
                    return invalid(format!("apps[{i}].id"), "duplicates an earlier app id");
                }
                if other.key == app.key {
                    return invalid(format!("apps[{i}].key"), "duplicates an earlier app key");
                }
            }
            for (j, hook) in app.webhooks.iter().enumerate() {
                if !(hook.url.starts_with("http://") || hook.url.starts_with("https://")) {
                    return invalid(
                        format!("apps[{i}].webhooks[{j}].url"),
                        "must be an http(s) URL",
                    );
                }
            }
        }
        if self.timeouts.activity_timeout_ms == 0 || self.timeouts.pong_timeout_ms == 0 {
            return invalid("timeouts".into(), "timeouts must be positive");
        }
        if self.transport.outbound_queue_bytes < 16 * 1024 {
            return invalid(
                "transport.outbound_queue_bytes".into(),
                "must be at least 16384",
            );
        }
        let t = &self.transport;
        for (name, value) in [
            ("drain_timeout_ms", t.drain_timeout_ms),
            ("header_timeout_ms", t.header_timeout_ms),
            ("body_timeout_ms", t.body_timeout_ms),
        ] {
            if value == 0 {
                return invalid(format!("transport.{name}"), "must be positive");
            }
        }
        for (i, app) in self.apps.iter().enumerate() {
            if app.require_tls && self.tls.is_none() {
                return invalid(
                    format!("apps[{i}].require_tls"),
                    "needs [tls] (or --tls-cert and --tls-key) on the server",
                );
            }
        }
        if self
            .tls
            .as_ref()
            .is_some_and(|t| t.handshake_timeout_ms == 0)
        {
            return invalid("tls.handshake_timeout_ms".into(), "must be positive");
        }
        if t.max_pending_connections == 0 {
            return invalid(
                "transport.max_pending_connections".into(),
                "must be at least 1",
            );
        }
        self.validate_cluster()
    }

    fn validate_cluster(&self) -> Result<(), ConfigError> {
        let invalid = |field: &str, reason| {
            Err(ConfigError::Invalid {
                field: format!("cluster.{field}"),
                reason,
            })
        };
        let cluster = &self.cluster;
        if let Some(url) = &cluster.redis_url
            && !["redis://", "rediss://", "redis+unix://", "unix://"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
        {
            return invalid("redis_url", "must be a redis:// (or redis+unix://) URL");
        }
        if cluster.key_prefix.is_empty() {
            return invalid("key_prefix", "must not be empty");
        }
        if cluster.node_id.as_deref().is_some_and(str::is_empty) {
            return invalid("node_id", "must not be empty");
        }
        if cluster.heartbeat_ms == 0 || cluster.command_timeout_ms == 0 {
            return invalid(
                "heartbeat_ms",
                "heartbeat_ms and command_timeout_ms must be positive",
            );
        }
        if cluster.lease_ms <= cluster.heartbeat_ms {
            return invalid("lease_ms", "must be longer than heartbeat_ms");
        }
        Ok(())
    }

    /// The `activity_timeout` advertised to clients: whole seconds, at least 1.
    pub fn advertised_activity_timeout(&self) -> u64 {
        self.timeouts.activity_timeout_ms.div_ceil(1000).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_conventional_app() {
        let config = Config::from_toml_str("").expect("empty config is valid");
        assert_eq!(config.apps.len(), 1);
        assert_eq!(config.apps[0].key, "app-key");
        assert_eq!(format!("{:?}", config.apps[0].secret), "<redacted>");
    }

    #[test]
    fn unknown_field_is_named() {
        let err =
            Config::from_toml_str("[[apps]]\nid='1'\nkey='k'\nsecret='s'\nclient_event=true\n")
                .expect_err("typo must be refused");
        // The TOML error is the source, not repeated in the message.
        let chain: Vec<String> =
            std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source())
                .map(ToString::to_string)
                .collect();
        assert!(chain.join(": ").contains("client_event"), "{chain:?}");
    }

    #[test]
    fn duplicate_key_is_refused_with_its_field() {
        let text = "[[apps]]\nid='1'\nkey='k'\nsecret='s'\n[[apps]]\nid='2'\nkey='k'\nsecret='t'\n";
        let err = Config::from_toml_str(text).expect_err("duplicate key");
        assert!(err.to_string().contains("apps[1].key"), "{err}");
    }

    #[test]
    fn documented_example_parses_to_the_defaults() {
        let example = Config::from_toml_str(include_str!("../config.example.toml"))
            .expect("config.example.toml is valid");
        let defaults = Config::default();
        assert_eq!(
            format!("{:?}", example.timeouts),
            format!("{:?}", defaults.timeouts)
        );
        assert_eq!(
            format!("{:?}", example.transport),
            format!("{:?}", defaults.transport)
        );
        assert_eq!(
            format!("{:?}", example.rest),
            format!("{:?}", defaults.rest)
        );
        assert_eq!(
            format!("{:?}", example.webhooks),
            format!("{:?}", defaults.webhooks)
        );
        assert_eq!(
            format!("{:?}", example.cluster),
            format!("{:?}", defaults.cluster)
        );
        let mut app = example.apps[0].clone();
        assert_eq!(app.webhooks.len(), 1);
        app.webhooks.clear();
        assert_eq!(format!("{app:?}"), format!("{:?}", defaults.apps[0]));
    }

    #[test]
    fn cluster_is_off_by_default_and_reaps_within_ten_seconds() {
        let cluster = Config::default().cluster;
        assert_eq!(cluster.redis_url, None, "single node unless asked");
        assert!(cluster.lease_ms + cluster.heartbeat_ms <= 10_000);
    }

    #[test]
    fn cluster_settings_that_cannot_work_are_refused() {
        for (text, field) in [
            ("[cluster]\nredis_url = 'http://x'\n", "cluster.redis_url"),
            (
                "[cluster]\nlease_ms = 100\nheartbeat_ms = 100\n",
                "cluster.lease_ms",
            ),
            ("[cluster]\nheartbeat_ms = 0\n", "cluster.heartbeat_ms"),
            ("[cluster]\nkey_prefix = ''\n", "cluster.key_prefix"),
        ] {
            let err = Config::from_toml_str(text).expect_err(text);
            assert!(err.to_string().contains(field), "{text}: {err}");
        }
        Config::from_toml_str("[cluster]\nredis_url = 'redis://127.0.0.1:6379'\n")
            .expect("a redis URL is accepted");
    }

    #[test]
    fn advertised_timeout_rounds_up_to_a_positive_second() {
        let mut config = Config::default();
        config.timeouts.activity_timeout_ms = 200;
        assert_eq!(config.advertised_activity_timeout(), 1);
        config.timeouts.activity_timeout_ms = 120_000;
        assert_eq!(config.advertised_activity_timeout(), 120);
    }
}
