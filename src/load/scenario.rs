//! The scenario file as written: serde structs for TOML, unknown fields
//! rejected. [`super::plan::Plan`] validates it. The format is documented in
//! `scenarios/README.md`.

use serde::Deserialize;

/// The scenario format version this build reads.
pub const VERSION: u32 = 1;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Format version; must be [`VERSION`].
    pub version: u32,
    /// Short name, used in reports and default channel prefixes.
    pub name: String,
    /// One or two sentences on what the scenario exercises.
    #[serde(default)]
    pub description: String,
    /// SLO rules such as `deliver.p99 < 25ms` or `lost == 0`.
    #[serde(default)]
    pub thresholds: Vec<String>,
    /// Run-wide settings.
    #[serde(default)]
    pub run: RunSection,
    /// Named sets of channels that populations subscribe or publish to.
    #[serde(default)]
    pub channels: Vec<ChannelSection>,
    /// The simulated clients.
    #[serde(default)]
    pub population: Vec<PopulationSection>,
    /// Step load up until a threshold breaks.
    #[serde(default)]
    pub capacity: Option<CapacitySection>,
}

/// `[run]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// Traffic phase length (`"10s"`); exclusive with `messages`.
    pub duration: Option<String>,
    /// Stop after this many messages in total; exclusive with `duration`.
    pub messages: Option<u64>,
    /// Longest wait for outstanding deliveries after the stop (default `"5s"`).
    pub drain: Option<String>,
    /// Deadline for one client to connect and subscribe (default `"10s"`).
    pub connect_timeout: Option<String>,
    /// Largest p99 schedule lag before the run is invalid (default `"100ms"`).
    pub max_schedule_lag: Option<String>,
    /// `"local"` (default) or `"endpoint"` (through the harness's auth endpoint).
    pub auth: Option<String>,
    /// Loopback source addresses to spread sockets over (default 1).
    pub source_addresses: Option<u8>,
}

/// `[[channels]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSection {
    /// Set name referenced by populations.
    pub name: String,
    /// `public`, `private` or `presence`.
    pub kind: String,
    /// Number of channels in the set (default 1).
    pub count: Option<u32>,
}

/// `[[population]]`: a group of identical simulated clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSection {
    /// Name in reports (default: behaviour and position).
    pub name: Option<String>,
    /// `subscriber`, `publisher`, `client-events`, `churner` or `attacker`.
    pub behaviour: String,
    /// Number of clients.
    pub count: u32,
    /// Connections started per second (default 1000).
    pub ramp: Option<f64>,
    /// Channel set used.
    pub channels: Option<String>,
    /// Channels each subscriber joins (subscribers; default 1).
    pub per_client: Option<u32>,
    /// Sends (or cycles, or attacks) per second per client.
    pub rate: Option<f64>,
    /// Events per HTTP request; above 1 uses `batch_events` (publishers; default 1).
    pub batch: Option<u32>,
    /// Padding bytes added to each payload (default 0).
    pub payload: Option<u32>,
    /// Each event excludes one subscriber by `socket_id` (publishers; default false).
    pub exclude_subscriber: Option<bool>,
    /// Time subscribed per cycle (churners; default `"100ms"`).
    pub hold: Option<String>,
    /// Attack kinds to cycle through (attackers; default all).
    pub attacks: Option<Vec<String>>,
}

/// `[capacity]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacitySection {
    /// Population whose parameter is stepped.
    pub population: String,
    /// `rate` or `count`.
    pub parameter: String,
    /// First value.
    pub start: f64,
    /// Increment per step.
    pub step: f64,
    /// Last value tried.
    pub max: f64,
    /// Traffic duration of each step.
    pub step_duration: String,
}

impl Scenario {
    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Scenario, toml::de::Error> {
        toml::from_str(text)
    }
}
