//! Target: where a server lives (WebSocket and REST bases), the app
//! credentials, and its capability profile (optional features and limits).
//!
//! # Capability profile
//!
//! A TOML file given with `--profile`. Every key is optional; a case that
//! needs a feature the profile leaves off is N/A, never a failure.
//!
//! ```toml
//! settle = "50ms"             # listening after a sentinel (absence checks);
//!                             # raise it for clustered or broker-backed servers
//!
//! [features]
//! client_events = true        # the app accepts client- events (spec 6)
//! user_authentication = true  # pusher:signin works (spec 5.3)
//! cache_channels = true       # cache- prefixes keep the last event (spec 10.1)
//! encrypted_channels = true   # private-encrypted- channels (spec 5.4)
//! watchlist = false           # watchlist events after sign-in (spec 10.4)
//! subscription_count = false  # pusher_internal:subscription_count (spec 7.5)
//! webhooks = false            # webhooks reach the harness sink (spec 9)
//!
//! [webhooks]
//! sink = "127.0.0.1:9999"     # where the harness listens; the server posts here
//!
//! [limits]
//! max_presence_members = 100  # spec 7.3
//! client_event_rate = 10      # per connection per second (spec 6.2)
//! max_event_payload_bytes = 10240  # bytes of one event's data (spec 2.3)
//!
//! # The nodes of a clustered target (the cluster/ cases need two or more);
//! # without any, the target is one node at its own address. Each node may
//! # give shell commands (run with /bin/sh -c) that kill it, freeze it
//! # (stop), resume it (cont) and start it again; the cases that need an
//! # action are N/A unless every node has its command. Placeholders:
//! # {node} the node's name, {index} its position from 0, {url}, {rest_url},
//! # {host} and {port} of its url. A command must be done when it returns
//! # (start: the harness then waits until the node answers).
//! [[nodes]]
//! name = "node-1"             # default: node-N by position
//! url = "ws://127.0.0.1:6001"
//! rest_url = "http://127.0.0.1:6001"
//! kill = "docker kill --signal KILL pusher-{index}"
//! stop = "docker pause pusher-{index}"
//! cont = "docker unpause pusher-{index}"
//! start = "docker start pusher-{index}"
//! [[nodes]]
//! url = "ws://127.0.0.1:6002"
//! rest_url = "http://127.0.0.1:6002"
//! kill = "systemctl kill --signal=KILL pusher@{port}"
//! stop = "systemctl kill --signal=STOP pusher@{port}"
//! cont = "systemctl kill --signal=CONT pusher@{port}"
//! start = "systemctl start pusher@{port}"
//!
//! [cluster]
//! dead_within = "30s"         # after a kill or stop, how long the other nodes
//!                             # may still show the node's connections
//! command_timeout = "30s"     # a command (or a started node answering) slower
//!                             # than this is an error
//!
//! # Further apps on the same server, for the cases that need them.
//! [apps.other]                # another enabled app (cross-app key cases)
//! id = "other-id"
//! key = "other-key"
//! secret = "other-secret"
//! [apps.disabled]             # an app switched off (close 4003)
//! key = "disabled-key"
//! [apps.limited]              # an app with a connection quota (close 4004)
//! key = "limited-key"
//! max_connections = 2
//! [apps.no_client_events]     # an app with client events switched off
//! id = "quiet-id"
//! key = "quiet-key"
//! secret = "quiet-secret"
//! ```
//!
//! # Target list
//!
//! A TOML file given with `--target-config` lists several targets for one
//! side-by-side run, each with its own credentials and profile (a path
//! relative to the file, or the profile inline as `[target.profile]`).
//! `rest_url` is derived from `url` when left out. `ca_cert` is a PEM file
//! (relative to the list) of a CA trusted for that target's `wss://` and
//! `https://` connections on top of the platform's roots, as `--ca-cert` does.
//!
//! ```toml
//! [[target]]
//! name = "reference"
//! url = "ws://127.0.0.1:6001"
//! app_id = "app-id"
//! key = "app-key"
//! secret = "app-secret"
//!
//! [[target]]
//! name = "staging"
//! url = "wss://ws.example.com:443"
//! rest_url = "https://api.example.com"
//! app_id = "123"
//! key = "staging-key"
//! secret = "staging-secret"
//! profile = "staging-profile.toml"
//! ca_cert = "staging-ca.pem"
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::client::{TlsError, TlsTrust};

mod address;
pub mod lifecycle;
mod preflight;
mod selection;

pub use crate::signing::Credentials;
pub use address::Address;
pub use lifecycle::{Action, Control, LifecycleError};
pub use preflight::{Diagnosis, PREFLIGHT_TIMEOUT, PreflightError, preflight};
pub use selection::Selection;

/// Optional features a target enables (`[features]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Features {
    /// Client events are enabled for the main app.
    pub client_events: bool,
    /// `pusher:signin` is supported.
    pub user_authentication: bool,
    /// Cache channels are supported.
    pub cache_channels: bool,
    /// Encrypted channels are supported.
    pub encrypted_channels: bool,
    /// Watchlist events are enabled.
    pub watchlist: bool,
    /// Subscription count events are enabled.
    pub subscription_count: bool,
    /// Webhooks are sent to the harness sink.
    pub webhooks: bool,
}

impl Default for Features {
    fn default() -> Features {
        Features {
            client_events: true,
            user_authentication: true,
            cache_channels: true,
            encrypted_channels: true,
            watchlist: false,
            subscription_count: false,
            webhooks: false,
        }
    }
}

/// Limits of the target (`[limits]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Distinct users per presence channel.
    pub max_presence_members: usize,
    /// Client events per second per connection.
    pub client_event_rate: u32,
    /// Bytes of one event's `data` the HTTP API accepts (spec 2.3: 10 KB).
    pub max_event_payload_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_presence_members: 100,
            client_event_rate: 10,
            max_event_payload_bytes: 10_240,
        }
    }
}

/// One further app in `[apps.*]`; which fields matter depends on the entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppEntry {
    /// App id.
    #[serde(default)]
    pub id: String,
    /// App key.
    pub key: String,
    /// App secret.
    #[serde(default)]
    pub secret: String,
    /// Connection quota (for `apps.limited`).
    #[serde(default)]
    pub max_connections: Option<u32>,
}

impl AppEntry {
    /// The entry as credentials.
    pub fn credentials(&self) -> Credentials {
        Credentials::new(&self.id, &self.key, &self.secret)
    }
}

/// `[webhooks]`: where the harness's sink listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Socket address the sink binds.
    pub sink: SocketAddr,
}

/// One node of a clustered target (`[[nodes]]`): where its clients connect,
/// where its HTTP API answers, and the optional shell commands that kill,
/// freeze, resume and start it ([`lifecycle`] runs them).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Its name in reports, scenarios and the `{node}` placeholder;
    /// [`Target::nodes`] fills in `node-1`, `node-2`, ... when absent.
    #[serde(default)]
    pub name: String,
    /// WebSocket base, `ws://host:port`.
    pub url: String,
    /// REST base, `http://host:port`.
    pub rest_url: String,
    /// Kills the node at once, as a crash would (`kill -KILL ...`).
    #[serde(default)]
    pub kill: Option<String>,
    /// Starts the node again after a kill or stop, under the same name and address.
    #[serde(default)]
    pub start: Option<String>,
    /// Freezes the node without closing its sockets (`kill -STOP ...`).
    #[serde(default)]
    pub stop: Option<String>,
    /// Resumes a frozen node (`kill -CONT ...`).
    #[serde(default)]
    pub cont: Option<String>,
}

impl Node {
    /// A node at these addresses, without lifecycle commands.
    pub fn new(name: &str, url: &str, rest_url: &str) -> Node {
        Node {
            name: name.into(),
            url: url.into(),
            rest_url: rest_url.into(),
            kill: None,
            start: None,
            stop: None,
            cont: None,
        }
    }

    /// The shell command for `action`, if the profile gives one.
    pub fn command(&self, action: Action) -> Option<&str> {
        match action {
            Action::Kill => self.kill.as_deref(),
            Action::Start => self.start.as_deref(),
            Action::Stop => self.stop.as_deref(),
            Action::Cont => self.cont.as_deref(),
        }
    }
}

/// `[cluster]`: how the harness drives the nodes of a clustered target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterProfile {
    /// How long after a node is killed, or frozen, the other nodes may
    /// still show its connections (its liveness lease plus one check).
    #[serde(deserialize_with = "duration_required")]
    pub dead_within: Duration,
    /// A lifecycle command (or a started node becoming reachable) taking
    /// longer than this is an error.
    #[serde(deserialize_with = "duration_required")]
    pub command_timeout: Duration,
}

impl Default for ClusterProfile {
    fn default() -> ClusterProfile {
        ClusterProfile {
            dead_within: Duration::from_secs(30),
            command_timeout: Duration::from_secs(30),
        }
    }
}

/// A capability profile (module docs give the format).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Profile {
    /// Optional features.
    pub features: Features,
    /// Limits.
    pub limits: Limits,
    /// Further apps by role: `other`, `disabled`, `limited`, `no_client_events`.
    pub apps: BTreeMap<String, AppEntry>,
    /// Webhook sink address.
    pub webhooks: Option<WebhookConfig>,
    /// How long the harness keeps listening after a sentinel arrived
    /// (`settle = "250ms"`): a clustered or broker-backed server may deliver
    /// across paths out of order by up to this much. [`Profile::settle`]
    /// gives the default when absent.
    #[serde(default, deserialize_with = "duration_text")]
    pub settle: Option<Duration>,
    /// The nodes of a clustered target; empty for a single node
    /// ([`Target::nodes`] then gives the target's own address).
    pub nodes: Vec<Node>,
    /// Timing of node lifecycle actions.
    pub cluster: ClusterProfile,
}

/// Settle time when the profile gives none: enough for a single node's
/// scheduler, small enough that a catalogue of absence checks stays fast.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(50);

impl Profile {
    /// The settle time: the profile's, or [`DEFAULT_SETTLE`].
    pub fn settle(&self) -> Duration {
        self.settle.unwrap_or(DEFAULT_SETTLE)
    }
}

/// Reads `"250ms"`, `"1s"` (humantime) into a duration.
fn duration_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Reads `"8s"` (humantime) into a duration.
fn duration_required<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(serde::de::Error::custom)
}

/// Errors building a target from flags, environment and profile.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The target URL is not one of the accepted forms.
    #[error(
        "target {0:?} must look like ws://host:port, wss://host:port, http(s)://host:port or ws://host:port/app/KEY"
    )]
    BadUrl(String),
    /// The key in a `/app/KEY` URL differs from `--key` / `PUSHER_APP_KEY`.
    #[error("the target url names app key {url:?} but --key (or PUSHER_APP_KEY) is {flag:?}")]
    KeyMismatch {
        /// Key in the URL.
        url: String,
        /// Key of the flag or environment.
        flag: String,
    },
    /// A subcommand that runs against one target was given several.
    #[error("{command} takes one target, {given} were given")]
    OneTarget {
        /// The subcommand.
        command: &'static str,
        /// How many were given.
        given: usize,
    },
    /// `PUSHER_PORT` / `--port` is not a port number.
    #[error("port {0:?} is not a number from 1 to 65535")]
    BadPort(String),
    /// The profile file could not be read.
    #[error("cannot read profile {path}")]
    ReadProfile {
        /// The path given.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The profile is not valid TOML for [`Profile`].
    #[error("invalid profile {path}")]
    ParseProfile {
        /// The path given.
        path: String,
        /// What is wrong, with line and field.
        #[source]
        source: toml::de::Error,
    },
    /// `--ca-cert` could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A target's `ca_cert` could not be loaded.
    #[error("cannot trust the ca certificate of target {target}")]
    CaCert {
        /// The target's name.
        target: String,
        /// Why.
        #[source]
        source: TlsError,
    },
    /// The target list is not valid TOML for [`TargetList`].
    #[error("invalid target list {path}")]
    ParseTargets {
        /// The path given.
        path: String,
        /// What is wrong, with line and field.
        #[source]
        source: toml::de::Error,
    },
}

/// A `--target-config` file: several targets, each with its own
/// credentials and profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetList {
    /// The targets, in the order the matrix shows them.
    pub target: Vec<TargetEntry>,
}

/// One `[[target]]` of a [`TargetList`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetEntry {
    /// Name in reports and the matrix.
    pub name: String,
    /// `ws[s]://host:port`.
    pub url: String,
    /// REST base; derived from `url` when absent.
    pub rest_url: Option<String>,
    /// App id.
    pub app_id: String,
    /// App key.
    pub key: String,
    /// App secret.
    pub secret: String,
    /// The capability profile: a path or an inline table; default when absent.
    pub profile: Option<ProfileSource>,
    /// PEM file of an extra CA to trust, relative to the target list.
    pub ca_cert: Option<String>,
}

/// Where a target's profile comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ProfileSource {
    /// A profile file, relative to the target list.
    Path(String),
    /// The profile written inline.
    Inline(Box<Profile>),
}

impl TargetList {
    /// Parses a target list from TOML text.
    pub fn from_toml(text: &str) -> Result<TargetList, toml::de::Error> {
        toml::from_str(text)
    }

    /// Reads a target list and builds its targets (profiles resolved
    /// relative to the file).
    pub fn load(path: &str) -> Result<Vec<Target>, TargetError> {
        let text = std::fs::read_to_string(path).map_err(|source| TargetError::ReadProfile {
            path: path.into(),
            source,
        })?;
        let list = TargetList::from_toml(&text).map_err(|source| TargetError::ParseTargets {
            path: path.into(),
            source,
        })?;
        let dir = std::path::Path::new(path)
            .parent()
            .unwrap_or(std::path::Path::new("."));
        list.target
            .into_iter()
            .map(|t| {
                let profile = match t.profile {
                    None => Profile::default(),
                    Some(ProfileSource::Inline(p)) => *p,
                    Some(ProfileSource::Path(p)) => Profile::load(&dir.join(p).to_string_lossy())?,
                };
                let creds = Credentials::new(&t.app_id, &t.key, &t.secret);
                let mut target =
                    Target::new(&t.name, &t.url, t.rest_url.as_deref(), creds, profile)?;
                if let Some(ca) = &t.ca_cert {
                    target.tls = TlsTrust::with_ca_file(&dir.join(ca).to_string_lossy()).map_err(
                        |source| TargetError::CaCert {
                            target: t.name.clone(),
                            source,
                        },
                    )?;
                }
                Ok(target)
            })
            .collect()
    }
}

impl Profile {
    /// Parses a profile from TOML text.
    pub fn from_toml(text: &str) -> Result<Profile, toml::de::Error> {
        toml::from_str(text)
    }

    /// Reads and parses a profile file.
    pub fn load(path: &str) -> Result<Profile, TargetError> {
        let text = std::fs::read_to_string(path).map_err(|source| TargetError::ReadProfile {
            path: path.into(),
            source,
        })?;
        Profile::from_toml(&text).map_err(|source| TargetError::ParseProfile {
            path: path.into(),
            source,
        })
    }

    /// Credentials of a further app by role, if configured.
    pub fn app(&self, role: &str) -> Option<&AppEntry> {
        self.apps.get(role)
    }
}

/// How slow cases (real timeouts) may run against this target.
#[derive(Debug, Clone)]
pub struct SlowSetup {
    /// Where slow cases connect (the bundled run uses a second, short-timeout server).
    pub target: Box<Target>,
    /// The REST timestamp window of that target.
    pub timestamp_window: Duration,
    /// Server ping after this long of silence.
    pub activity_timeout: Duration,
    /// Close after this long without a pong.
    pub pong_timeout: Duration,
    /// Cache TTL of that target's main app, when known to be short.
    pub cache_ttl: Option<Duration>,
}

/// One server under test.
#[derive(Debug, Clone)]
pub struct Target {
    /// Short name used in the matrix (`default` for a single target).
    pub name: String,
    /// WebSocket base, `ws://host:port` (no trailing slash).
    pub ws_base: String,
    /// REST base, `http://host:port` (no trailing slash).
    pub rest_base: String,
    /// Main app credentials.
    pub credentials: Credentials,
    /// Capability profile.
    pub profile: Profile,
    /// Slow cases: `None` means they are skipped (no `--slow`).
    pub slow: Option<SlowSetup>,
    /// CAs trusted for `wss://` and `https://` (native roots unless `--ca-cert`).
    pub tls: TlsTrust,
    /// The in-process reference server: its port changes every run, so
    /// reports identify it by name, not URL.
    pub bundled: bool,
    /// Who acts on the nodes when not the profile's commands: the bundled
    /// cluster signals its node processes itself.
    pub control: Option<std::sync::Arc<dyn Control>>,
}

impl Target {
    /// Builds a target from a URL of any form [`Address::parse`] accepts;
    /// the REST base is derived unless given. A key in the URL must match
    /// `credentials.key`.
    pub fn new(
        name: &str,
        url: &str,
        rest_url: Option<&str>,
        credentials: Credentials,
        profile: Profile,
    ) -> Result<Target, TargetError> {
        let address = Address::parse(url)?;
        if let Some(key) = address.key.as_ref().filter(|k| **k != credentials.key) {
            return Err(TargetError::KeyMismatch {
                url: key.clone(),
                flag: credentials.key.clone(),
            });
        }
        let rest_base = rest_url.map_or(address.rest_base, |r| r.trim_end_matches('/').to_owned());
        Ok(Target {
            name: name.into(),
            ws_base: address.ws_base,
            rest_base,
            credentials,
            profile,
            slow: None,
            tls: TlsTrust::default(),
            bundled: false,
            control: None,
        })
    }

    /// What identifies the target across reports: `bundled` for the
    /// in-process server (its port changes every run), else the WebSocket base.
    pub fn identity(&self) -> String {
        if self.bundled {
            "bundled".into()
        } else {
            self.ws_base.clone()
        }
    }

    /// The target's nodes: the profile's list (unnamed ones named `node-1`,
    /// `node-2`, ... by position), or the target itself as its one node.
    pub fn nodes(&self) -> Vec<Node> {
        if self.profile.nodes.is_empty() {
            return vec![Node::new("node-1", &self.ws_base, &self.rest_base)];
        }
        let mut nodes = self.profile.nodes.clone();
        for (i, n) in nodes.iter_mut().enumerate() {
            if n.name.is_empty() {
                n.name = format!("node-{}", i + 1);
            }
        }
        nodes
    }

    /// The index in [`Target::nodes`] of the node called `name`.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes().iter().position(|n| n.name == name)
    }

    /// This target with node `node`'s addresses (same credentials and profile).
    pub fn on_node(&self, node: &Node) -> Result<Target, TargetError> {
        let mut t = Target::new(
            &self.name,
            &node.url,
            Some(&node.rest_url),
            self.credentials.clone(),
            self.profile.clone(),
        )?;
        t.tls = self.tls.clone();
        t.bundled = self.bundled;
        t.control = self.control.clone();
        Ok(t)
    }

    /// The connection URL for an app key: `/app/{key}?protocol=7` plus `extra` query.
    pub fn ws_url(&self, key: &str, extra_query: &str) -> String {
        let extra = if extra_query.is_empty() {
            String::new()
        } else {
            format!("&{extra_query}")
        };
        format!("{}/app/{key}?protocol=7{extra}", self.ws_base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_base_is_derived_from_the_ws_url() {
        let t = Target::new(
            "t",
            "wss://h:443/",
            None,
            Credentials::new("1", "k", "s"),
            Profile::default(),
        )
        .expect("valid");
        assert_eq!(t.rest_base, "https://h:443");
        assert_eq!(t.ws_url("k", ""), "wss://h:443/app/k?protocol=7");
        assert!(
            Target::new(
                "t",
                "ftp://h",
                None,
                Credentials::new("1", "k", "s"),
                Profile::default()
            )
            .is_err()
        );
    }

    /// The first TOML example of these module docs after `heading`.
    fn doc_example(heading: &str) -> String {
        let doc = include_str!("mod.rs");
        let start = doc.find(heading).expect("section present");
        let start = start + doc[start..].find("//! ```toml").expect("example present");
        doc[start..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start_matches(' ')))
            .collect()
    }

    #[test]
    fn the_documented_profile_example_parses() {
        let body = doc_example("# Capability profile");
        let p = Profile::from_toml(&body).expect("example parses");
        assert_eq!(p.app("limited").and_then(|a| a.max_connections), Some(2));
        assert!(p.features.client_events && !p.features.webhooks);
        assert!(Profile::from_toml("[features]\nbogus = true").is_err());
        assert_eq!(p.cluster.dead_within, Duration::from_secs(30));
        assert!(
            Action::ALL
                .iter()
                .all(|a| p.nodes.iter().all(|n| n.command(*a).is_some()))
        );
        let t =
            Target::new("t", "ws://h:1", None, Credentials::new("1", "k", "s"), p).expect("valid");
        let names: Vec<String> = t.nodes().into_iter().map(|n| n.name).collect();
        assert_eq!(names, ["node-1", "node-2"]);
        assert_eq!(t.node_index("node-2"), Some(1));
        assert!(lifecycle::supports(&t, Action::Stop));
    }

    #[test]
    fn the_documented_target_list_parses_with_a_profile_per_target() {
        let body = doc_example("# Target list");
        let list = TargetList::from_toml(&body).expect("example parses");
        assert_eq!(list.target.len(), 2);
        assert_eq!(
            list.target[1].rest_url.as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(list.target[1].ca_cert.as_deref(), Some("staging-ca.pem"));
        let inline = "[[target]]\nname = \"a\"\nurl = \"ws://h:1\"\napp_id = \"1\"\nkey = \"k\"\nsecret = \"s\"\n[target.profile.features]\nwebhooks = true\n";
        let list = TargetList::from_toml(inline).expect("inline profile parses");
        assert!(matches!(
            &list.target[0].profile,
            Some(ProfileSource::Inline(p)) if p.features.webhooks
        ));
    }
}
