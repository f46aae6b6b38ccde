//! `pushcheck fuzz-auth`: property-based testing of the target's
//! authorization checks.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::load::one_target;
use super::target::TargetFlags;
use super::{CliError, io};
use crate::fuzz::{Family, Options, run};
use crate::interrupt::{Interrupt, Request};
use crate::report::model;
use crate::status::Status;

/// Flags of `fuzz-auth`.
#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// Target and credentials.
    #[command(flatten)]
    pub target: TargetFlags,
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
    /// Write the result as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub(super) async fn fuzz_auth(args: FuzzArgs, interrupt: Interrupt) -> Result<Status, CliError> {
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
    let (_server, target) = one_target(&args.target, "fuzz-auth").await?;
    eprintln!(
        "fuzz-auth: {} cases against {} (seed {seed})",
        options.cases, target.ws_base
    );
    let outcome = tokio::select! {
        o = run(&target, &options) => Some(o?),
        () = interrupt.wait_for(Request::Drain) => None,
    };
    let doc = model::fuzz(&target, seed, outcome.as_ref());
    match &outcome {
        Some(o) => print!("{}", o.render()),
        None => println!("fuzz-auth seed {seed}: interrupted before the run finished"),
    }
    if let Some(p) = &args.json {
        std::fs::write(p, model::to_json(&doc)).map_err(io(p))?;
    }
    Ok(doc.status)
}
