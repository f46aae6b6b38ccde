//! The one set of target flags every subcommand that talks to a target
//! takes, with the environment names Pusher users already have.

use super::{CliError, preset};
use crate::target::{PREFLIGHT_TIMEOUT, Profile, Selection, Target, TargetError, preflight};

/// Where the target is and how to sign for it.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetFlags {
    /// A known server: its capability profile and documented defaults
    /// (address, app credentials); see docs/targets/NAME.md. Other flags
    /// override the defaults, --profile replaces the profile.
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(preset::NAMES))]
    pub preset: Option<String>,
    /// Target: `ws://host:port`, `wss://host:port`, `http(s)://host:port`
    /// or the URL servers print, `ws://host:port/app/KEY` (the key is taken
    /// from it, or checked against --key); `NAME=URL` names it in reports.
    /// Default: the bundled reference server, in-process.
    #[arg(long, value_name = "URL")]
    pub target: Vec<String>,
    /// Target host when no --target is given.
    #[arg(long, env = "PUSHER_HOST")]
    pub host: Option<String>,
    /// Port with --host (default 443 for TLS, else 80).
    #[arg(long, env = "PUSHER_PORT")]
    pub port: Option<String>,
    /// Scheme with --host: ws, wss, http or https.
    #[arg(long, env = "PUSHER_SCHEME")]
    pub scheme: Option<String>,
    /// REST base URL (default derived from the target).
    #[arg(long)]
    pub rest_url: Option<String>,
    /// PEM file of a CA to trust for wss/https targets, besides the platform's roots.
    #[arg(long)]
    pub ca_cert: Option<String>,
    /// App id [default: app-id].
    #[arg(long, env = "PUSHER_APP_ID")]
    pub app_id: Option<String>,
    /// App key [default: the key of a /app/KEY target, else app-key].
    #[arg(long, env = "PUSHER_APP_KEY")]
    pub key: Option<String>,
    /// App secret [default: app-secret].
    #[arg(long, env = "PUSHER_APP_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
}

impl TargetFlags {
    fn preset(&self) -> Option<&'static preset::Preset> {
        self.preset.as_deref().and_then(preset::find)
    }

    /// The capability profile: `--profile FILE`, else the preset's, else
    /// the default.
    pub fn profile(&self, file: Option<&str>) -> Result<Profile, TargetError> {
        match (file, self.preset()) {
            (Some(path), _) => Profile::load(path),
            (None, Some(p)) => p.profile(),
            (None, None) => Ok(Profile::default()),
        }
    }

    /// The flags as the library's plain selection; a preset fills in the
    /// address and credentials the flags and environment leave open.
    pub fn selection(&self, profile: Profile, target_config: Option<String>) -> Selection {
        let preset = self.preset();
        let urls = match preset {
            Some(p) if self.target.is_empty() && self.host.is_none() => {
                vec![format!("{}={}", p.name, p.url)]
            }
            _ => self.target.clone(),
        };
        let or_preset = |flag: &Option<String>, f: fn(&preset::Preset) -> &'static str| {
            flag.clone().or_else(|| preset.map(|p| f(p).to_owned()))
        };
        Selection {
            urls,
            rest_url: self.rest_url.clone(),
            ca_cert: self.ca_cert.clone(),
            app_id: or_preset(&self.app_id, |p| p.app_id),
            key: or_preset(&self.key, |p| p.key),
            secret: or_preset(&self.secret, |p| p.secret),
            host: self.host.clone(),
            port: self.port.clone(),
            scheme: self.scheme.clone(),
            target_config,
            profile,
        }
    }
}

/// `--cluster N [--redis URL]` and `--profile` of `load` and `run`: the
/// bundled cluster, or a profile whose `[[nodes]]` the load spreads over.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NodeFlags {
    /// Run against N bundled reference-server nodes (N >= 2) sharing one
    /// Redis: `--redis`, or a redis-server from PATH started for the run.
    /// Populations spread over the nodes (scenario `nodes`, `weights`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(2..), conflicts_with_all = ["target", "host", "preset", "profile"])]
    pub cluster: Option<u16>,
    /// Redis of the `--cluster` nodes (`redis://HOST:PORT`) instead of starting one.
    #[arg(long, value_name = "URL", requires = "cluster")]
    pub redis: Option<String>,
    /// Capability profile TOML (see `pushcheck::target`); its `[[nodes]]`
    /// are the nodes the load spreads over.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<String>,
}

impl NodeFlags {
    /// The bundled cluster when `--cluster N` was given (its target lists
    /// every node); webhooks of its nodes go to `sink`.
    pub async fn start_cluster(
        &self,
        sink: std::net::SocketAddr,
    ) -> Result<Option<crate::bundled::cluster::BundledCluster>, super::CliError> {
        let Some(n) = self.cluster else {
            return Ok(None);
        };
        let c = crate::bundled::cluster::start(n.into(), self.redis.as_deref(), sink, |_, _| {})
            .await?;
        Ok(Some(c))
    }
}

/// What `load` started itself, held until the run ends.
#[derive(Debug)]
pub(super) enum Held {
    /// An external target.
    Nothing,
    /// The bundled reference server, in-process.
    Server(reference_server::Server),
    /// The bundled cluster and the sink its webhooks go to.
    Cluster {
        /// The nodes.
        cluster: Box<crate::bundled::cluster::BundledCluster>,
        /// Kept listening while the nodes run.
        _sink: std::sync::Arc<crate::client::WebhookSink>,
    },
}

impl Held {
    /// Whether the target's sockets and memory are this process's.
    pub(super) fn in_process(&self) -> bool {
        // The bundled cluster's nodes are processes of their own.
        matches!(self, Held::Server(_))
    }

    /// Stops what was started.
    pub(super) async fn shutdown(self) {
        match self {
            Held::Nothing => {}
            Held::Server(s) => s.shutdown().await,
            Held::Cluster { cluster, .. } => drop(cluster),
        }
    }
}

/// The one target of `load`: the bundled cluster with `--cluster N`, else
/// the flags' target with `--profile`, else the bundled server; preflighted.
pub(super) async fn load_target(
    flags: &TargetFlags,
    nodes: &NodeFlags,
    command: &'static str,
) -> Result<(Held, crate::target::Target), super::CliError> {
    if nodes.cluster.is_some() {
        let sink = crate::client::WebhookSink::start("127.0.0.1:0".parse().expect("valid"));
        let sink = std::sync::Arc::new(sink.await?);
        let Some(c) = nodes.start_cluster(sink.local_addr()).await? else {
            unreachable!("--cluster was given");
        };
        let target = c.target.clone();
        preflight(&target, PREFLIGHT_TIMEOUT).await?;
        let held = Held::Cluster {
            cluster: Box::new(c),
            _sink: sink,
        };
        return Ok((held, target));
    }
    if nodes.profile.is_none() {
        let (server, target) = one_target(flags, command).await?;
        return Ok((server.map_or(Held::Nothing, Held::Server), target));
    }
    let selection = flags.selection(flags.profile(nodes.profile.as_deref())?, None);
    let Some(target) = selection.one(command)? else {
        return Err(super::CliError::ProfileNeedsTarget);
    };
    preflight(&target, PREFLIGHT_TIMEOUT).await?;
    Ok((Held::Nothing, target))
}

/// The target of a single-target subcommand, or the bundled server (kept
/// alive by the returned handle), preflighted either way.
pub(super) async fn one_target(
    flags: &TargetFlags,
    command: &'static str,
) -> Result<(Option<reference_server::Server>, Target), CliError> {
    let selection = flags.selection(flags.profile(None)?, None);
    let (server, target) = match selection.one(command)? {
        Some(t) => (None, t),
        None => {
            let config = reference_server::Config::default();
            let (s, t) = crate::bundled::serve(config, "reference", Profile::default())
                .await
                .map_err(CliError::Bundled)?;
            (Some(s), t)
        }
    };
    preflight(&target, PREFLIGHT_TIMEOUT).await?;
    Ok((server, target))
}
