//! The scenario file as written: serde structs for TOML, unknown fields
//! rejected, one tagged variant per behaviour (each with only its own
//! fields). [`super::validate`] turns it into a [`super::plan::Plan`]. The
//! format is documented in `scenarios/README.md`.

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
    /// Node events during the traffic phase (kill, stop, cont, start).
    #[serde(default)]
    pub events: Vec<EventSection>,
}

/// `[[events]]`: one lifecycle action on one node of the target, `at` a
/// time after the traffic phase starts; exactly one of the actions is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSection {
    /// When, after the traffic phase started (`"10s"`).
    pub at: String,
    /// Kill this node (`"node-2"`).
    pub kill: Option<String>,
    /// Freeze this node.
    pub stop: Option<String>,
    /// Resume a frozen node.
    pub cont: Option<String>,
    /// Start a killed node again.
    pub start: Option<String>,
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
    /// Every shard uses the same channels and accounts every shard's
    /// publishes; publishing starts once the target reports every shard's
    /// subscribers (default false).
    pub shared_channels: Option<bool>,
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

/// `[[population]]`: a group of identical simulated clients, tagged by
/// `behaviour`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "behaviour", rename_all = "kebab-case")]
pub enum PopulationSection {
    /// Subscribe and listen.
    Subscriber(SubscriberSection),
    /// Publish over the HTTP API.
    Publisher(PublisherSection),
    /// Subscribe and send client events.
    ClientEvents(ClientEventsSection),
    /// Connect, subscribe, leave, repeat.
    Churner(ChurnerSection),
    /// Forge subscriptions and HTTP requests.
    Attacker(AttackerSection),
}

/// `behaviour = "subscriber"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberSection {
    /// Name in reports.
    pub name: Option<String>,
    /// Number of clients.
    pub count: u32,
    /// Connections started per second.
    pub ramp: Option<f64>,
    /// Channel set joined.
    pub channels: Option<String>,
    /// Channels each subscriber joins (default 1).
    pub per_client: Option<u32>,
    /// How the clients are spread over the target's nodes: `"round-robin"`
    /// (the default); exclusive with `weights`.
    pub nodes: Option<String>,
    /// Relative share of each node of the target, in node order (`[2, 1]`).
    pub weights: Option<Vec<u32>>,
}

/// `behaviour = "publisher"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublisherSection {
    /// Name in reports.
    pub name: Option<String>,
    /// Number of clients.
    pub count: u32,
    /// Start rate (unused by HTTP publishers, accepted for symmetry).
    pub ramp: Option<f64>,
    /// Channel set published to.
    pub channels: Option<String>,
    /// Events per second per publisher.
    pub rate: Option<f64>,
    /// Events per HTTP request; above 1 uses `batch_events` (default 1).
    pub batch: Option<u32>,
    /// Padding bytes added to each payload (default 0).
    pub payload: Option<u32>,
    /// Each event excludes one subscriber by `socket_id` (default false).
    pub exclude_subscriber: Option<bool>,
    /// How the clients are spread over the target's nodes: `"round-robin"`
    /// (the default); exclusive with `weights`.
    pub nodes: Option<String>,
    /// Relative share of each node of the target, in node order (`[2, 1]`).
    pub weights: Option<Vec<u32>>,
}

/// `behaviour = "client-events"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEventsSection {
    /// Name in reports.
    pub name: Option<String>,
    /// Number of clients.
    pub count: u32,
    /// Connections started per second.
    pub ramp: Option<f64>,
    /// Channel set (private or presence).
    pub channels: Option<String>,
    /// Client events per second per sender.
    pub rate: Option<f64>,
    /// Padding bytes added to each payload (default 0).
    pub payload: Option<u32>,
    /// How the clients are spread over the target's nodes: `"round-robin"`
    /// (the default); exclusive with `weights`.
    pub nodes: Option<String>,
    /// Relative share of each node of the target, in node order (`[2, 1]`).
    pub weights: Option<Vec<u32>>,
}

/// `behaviour = "churner"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChurnerSection {
    /// Name in reports.
    pub name: Option<String>,
    /// Number of clients.
    pub count: u32,
    /// Cycles started per second across the population.
    pub ramp: Option<f64>,
    /// Channel set joined.
    pub channels: Option<String>,
    /// Cycles per second per churner.
    pub rate: Option<f64>,
    /// Time subscribed per cycle (default `"100ms"`).
    pub hold: Option<String>,
    /// How the clients are spread over the target's nodes: `"round-robin"`
    /// (the default); exclusive with `weights`.
    pub nodes: Option<String>,
    /// Relative share of each node of the target, in node order (`[2, 1]`).
    pub weights: Option<Vec<u32>>,
}

/// `behaviour = "attacker"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackerSection {
    /// Name in reports.
    pub name: Option<String>,
    /// Number of clients.
    pub count: u32,
    /// Connections started per second.
    pub ramp: Option<f64>,
    /// Channel set attacked (default: the attacker's own channels).
    pub channels: Option<String>,
    /// Attacks per second per attacker.
    pub rate: Option<f64>,
    /// Attack kinds to cycle through (default all).
    pub attacks: Option<Vec<String>>,
    /// How the clients are spread over the target's nodes: `"round-robin"`
    /// (the default); exclusive with `weights`.
    pub nodes: Option<String>,
    /// Relative share of each node of the target, in node order (`[2, 1]`).
    pub weights: Option<Vec<u32>>,
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

impl PopulationSection {
    /// The behaviour's name as written in `behaviour`.
    pub fn behaviour(&self) -> &'static str {
        match self {
            PopulationSection::Subscriber(_) => "subscriber",
            PopulationSection::Publisher(_) => "publisher",
            PopulationSection::ClientEvents(_) => "client-events",
            PopulationSection::Churner(_) => "churner",
            PopulationSection::Attacker(_) => "attacker",
        }
    }

    /// The explicit name, if any.
    pub fn name(&self) -> Option<&str> {
        match self {
            PopulationSection::Subscriber(s) => s.name.as_deref(),
            PopulationSection::Publisher(s) => s.name.as_deref(),
            PopulationSection::ClientEvents(s) => s.name.as_deref(),
            PopulationSection::Churner(s) => s.name.as_deref(),
            PopulationSection::Attacker(s) => s.name.as_deref(),
        }
    }

    /// The name reports use: the explicit one, else `behaviour-index`.
    pub fn display_name(&self, index: usize) -> String {
        self.name()
            .map_or_else(|| format!("{}-{index}", self.behaviour()), str::to_owned)
    }

    /// `nodes` and `weights`, whatever the behaviour.
    pub fn spread(&self) -> (Option<&str>, Option<&[u32]>) {
        match self {
            PopulationSection::Subscriber(s) => (s.nodes.as_deref(), s.weights.as_deref()),
            PopulationSection::Publisher(s) => (s.nodes.as_deref(), s.weights.as_deref()),
            PopulationSection::ClientEvents(s) => (s.nodes.as_deref(), s.weights.as_deref()),
            PopulationSection::Churner(s) => (s.nodes.as_deref(), s.weights.as_deref()),
            PopulationSection::Attacker(s) => (s.nodes.as_deref(), s.weights.as_deref()),
        }
    }

    /// The client count, for overrides.
    pub fn count_mut(&mut self) -> &mut u32 {
        match self {
            PopulationSection::Subscriber(s) => &mut s.count,
            PopulationSection::Publisher(s) => &mut s.count,
            PopulationSection::ClientEvents(s) => &mut s.count,
            PopulationSection::Churner(s) => &mut s.count,
            PopulationSection::Attacker(s) => &mut s.count,
        }
    }

    /// The ramp, for overrides.
    pub fn ramp_mut(&mut self) -> &mut Option<f64> {
        match self {
            PopulationSection::Subscriber(s) => &mut s.ramp,
            PopulationSection::Publisher(s) => &mut s.ramp,
            PopulationSection::ClientEvents(s) => &mut s.ramp,
            PopulationSection::Churner(s) => &mut s.ramp,
            PopulationSection::Attacker(s) => &mut s.ramp,
        }
    }

    /// The rate, for overrides; `None` for subscribers, which have none.
    pub fn rate_mut(&mut self) -> Option<&mut Option<f64>> {
        match self {
            PopulationSection::Subscriber(_) => None,
            PopulationSection::Publisher(s) => Some(&mut s.rate),
            PopulationSection::ClientEvents(s) => Some(&mut s.rate),
            PopulationSection::Churner(s) => Some(&mut s.rate),
            PopulationSection::Attacker(s) => Some(&mut s.rate),
        }
    }
}

impl Scenario {
    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Scenario, toml::de::Error> {
        toml::from_str(text)
    }
}
