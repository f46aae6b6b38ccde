//! The `fuzz-auth` command line: flags, target selection, the bundled server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Family, FuzzError, Options, run};
use crate::target::{Credentials, Profile, Target, TargetError};

/// Flags of `fuzz-auth`.
#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// `ws[s]://host:port` of the target (default: a bundled reference server).
    #[arg(long)]
    pub target: Option<String>,
    /// REST base URL (default derived from the target).
    #[arg(long)]
    pub rest_url: Option<String>,
    /// App credentials.
    #[command(flatten)]
    pub credentials: crate::target::CredentialFlags,
    /// Seed; the same seed generates the same cases (default: from the clock, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Cases to generate.
    #[arg(long, default_value_t = 5000)]
    pub cases: u64,
    /// Connections in flight at once.
    #[arg(long, default_value_t = 16)]
    pub parallel: usize,
    /// Families to test: channel, signin, rest (repeat or comma-separate; default all).
    #[arg(long, value_delimiter = ',')]
    pub family: Vec<Family>,
    /// How long to wait for each answer, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub timeout_ms: u64,
}

/// Errors of the `fuzz-auth` command (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum FuzzCliError {
    /// The target flags are wrong.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The bundled server could not start.
    #[error("cannot start the bundled reference server")]
    Bundled(#[source] std::io::Error),
    /// The run failed.
    #[error(transparent)]
    Fuzz(#[from] FuzzError),
}

/// Starts a reference server on 127.0.0.1:0 with one app `app-id` /
/// `app-key` / `app-secret`, user authentication on, no webhooks.
pub async fn bundled() -> std::io::Result<(reference_server::Server, Target)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server =
        reference_server::Server::start(reference_server::Config::default(), listener).await?;
    let target = Target::new(
        "bundled",
        &format!("ws://{}", server.local_addr()),
        None,
        Credentials::new("app-id", "app-key", "app-secret"),
        Profile::default(),
    )
    .expect("a ws:// url built here is valid");
    Ok((server, target))
}

/// Runs `fuzz-auth`; returns the exit code (0 clean, 1 counterexample).
pub async fn fuzz_auth(args: FuzzArgs) -> Result<u8, FuzzCliError> {
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let options = Options {
        seed,
        cases: args.cases,
        parallel: args.parallel,
        families: if args.family.is_empty() {
            Family::ALL.to_vec()
        } else {
            args.family.clone()
        },
        timeout: Duration::from_millis(args.timeout_ms),
        ..Options::default()
    };
    let (_server, target) = match &args.target {
        Some(url) => {
            let creds = args.credentials.credentials();
            let t = Target::new(
                "target",
                url,
                args.rest_url.as_deref(),
                creds,
                Profile::default(),
            )?;
            (None, t)
        }
        None => {
            let (server, target) = bundled().await.map_err(FuzzCliError::Bundled)?;
            (Some(server), target)
        }
    };
    eprintln!(
        "fuzz-auth: {} cases against {} (seed {seed})",
        options.cases, target.ws_base
    );
    let outcome = run(&target, &options).await?;
    print!("{}", outcome.render());
    Ok(outcome.exit_code())
}
