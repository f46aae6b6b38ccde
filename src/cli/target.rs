//! The one set of target flags every subcommand that talks to a target
//! takes, with the environment names Pusher users already have.

use crate::target::{Profile, Selection};

/// Where the target is and how to sign for it.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetFlags {
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
    /// The flags as the library's plain selection.
    pub fn selection(&self, profile: Profile, target_config: Option<String>) -> Selection {
        Selection {
            urls: self.target.clone(),
            rest_url: self.rest_url.clone(),
            ca_cert: self.ca_cert.clone(),
            app_id: self.app_id.clone(),
            key: self.key.clone(),
            secret: self.secret.clone(),
            host: self.host.clone(),
            port: self.port.clone(),
            scheme: self.scheme.clone(),
            target_config,
            profile,
        }
    }
}
