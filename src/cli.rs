//! The command line: `pushcheck conform` and `pushcheck list`.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::client::{TlsTrust, WebhookSink};
use crate::conformance::{CaseResult, Env, RunOptions, registry, run, select, skipped, spec};
use crate::report::{self, Report};
use crate::target::{Profile, Target, TargetError, TargetList, ws_url_from_env_parts};

/// Conformance testing for Pusher Channels compatible servers.
#[derive(Debug, Parser)]
#[command(name = "pushcheck", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the conformance catalogue (default target: the bundled reference server).
    Conform(Box<ConformArgs>),
    /// Print the catalogue and the coverage of every spec section.
    List,
    /// Run a load scenario (default target: the bundled reference server).
    Load(Box<crate::load::command::LoadArgs>),
    /// The main job: the conformance catalogue and scenarios/smoke.toml, one report folder.
    Run(Box<crate::load::command::RunArgs>),
    /// Merge shard report folders of `load --shard` into one report.
    Merge(crate::load::command::MergeArgs),
    /// Property-based testing of the target's authorization checks (exit 1 on a counterexample).
    FuzzAuth(Box<crate::fuzz::FuzzArgs>),
    /// Compare a report with a baseline; exit 1 on a regression.
    Compare(Box<crate::gate::CompareArgs>),
}

/// Flags of `conform`.
#[derive(Debug, clap::Args)]
pub struct ConformArgs {
    /// Case id prefixes to run (all if none).
    pub prefixes: Vec<String>,
    /// Case id prefixes to leave out.
    #[arg(long)]
    pub exclude: Vec<String>,
    /// `ws[s]://host:port` or `name=ws[s]://host:port`; repeat for a matrix.
    #[arg(long)]
    pub target: Vec<String>,
    /// TOML list of targets, each with its own credentials and profile
    /// (format: `pushcheck::target`, "Target list"); adds to `--target`.
    #[arg(long)]
    pub target_config: Option<String>,
    /// REST base URL (default derived from the target).
    #[arg(long)]
    pub rest_url: Option<String>,
    /// PEM file of a CA to trust for `--target` (wss/https), besides the platform's roots.
    #[arg(long)]
    pub ca_cert: Option<String>,
    /// App credentials.
    #[command(flatten)]
    pub credentials: crate::target::CredentialFlags,
    /// Capability profile TOML (see `pushcheck::target`).
    #[arg(long)]
    pub profile: Option<String>,
    /// Warnings fail.
    #[arg(long)]
    pub strict: bool,
    /// Run slow cases against external targets.
    #[arg(long)]
    pub slow: bool,
    /// File of case ids (one per line, # comments) whose failure is accepted.
    #[arg(long)]
    pub known_deviations: Option<String>,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<String>,
    /// Write JUnit XML here.
    #[arg(long)]
    pub junit: Option<String>,
    /// Write a Markdown summary here.
    #[arg(long)]
    pub markdown: Option<String>,
    /// List the selected cases without running them.
    #[arg(long)]
    pub dry_run: bool,
    /// Run only this case (its exact id) and print its transcript: every
    /// frame and HTTP exchange with relative times.
    #[arg(long, value_name = "CASE")]
    pub trace: Option<String>,
}

/// Errors of the command line (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A target could not be built.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// `--ca-cert` could not be loaded.
    #[error(transparent)]
    Tls(#[from] crate::client::TlsError),
    /// A file could not be read or written.
    #[error("cannot access {path}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The webhook sink could not start.
    #[error(transparent)]
    Sink(#[from] crate::client::SinkError),
    /// `load`, `run` or `merge` could not run.
    #[error(transparent)]
    Load(#[from] crate::load::command::CommandError),
    /// `fuzz-auth` could not run.
    #[error(transparent)]
    Fuzz(#[from] crate::fuzz::FuzzCliError),
    /// `compare` could not read its inputs or write its outputs.
    #[error(transparent)]
    Gate(#[from] crate::gate::GateError),
    /// `--trace` names no case of the catalogue.
    #[error("no case {0:?} in the catalogue (see `pushcheck list`)")]
    UnknownCase(String),
}

fn io(path: &str) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |source| CliError::Io {
        path: path.into(),
        source,
    }
}

/// Runs the command; returns the exit code.
pub async fn run_cli(cli: Cli) -> Result<u8, CliError> {
    match cli.command {
        Command::List => {
            print!("{}", list());
            Ok(0)
        }
        Command::Conform(args) => conform(*args).await,
        Command::Load(args) => Ok(crate::load::command::load(*args).await?),
        Command::Run(args) => Ok(crate::load::command::run(*args).await?),
        Command::Merge(args) => Ok(crate::load::command::merge(&args)?),
        Command::FuzzAuth(args) => Ok(crate::fuzz::fuzz_auth(*args).await?),
        Command::Compare(args) => Ok(crate::gate::compare_cli(&args)?),
    }
}

/// The `list` output.
pub fn list() -> String {
    let mut out = String::new();
    for c in registry() {
        out.push_str(&format!(
            "{:7} {}  {}\n",
            c.level.as_str(),
            c.id,
            c.requirement
        ));
    }
    out.push_str(&spec::matrix());
    out
}

fn targets(args: &ConformArgs, profile: &Profile) -> Result<Vec<Target>, CliError> {
    let creds = args.credentials.credentials();
    let tls = match &args.ca_cert {
        Some(path) => TlsTrust::with_ca_file(path)?,
        None => TlsTrust::default(),
    };
    let mut specs = args.target.clone();
    if let (true, Ok(host)) = (specs.is_empty(), std::env::var("PUSHER_HOST")) {
        {
            let port = std::env::var("PUSHER_PORT").ok();
            let scheme = std::env::var("PUSHER_SCHEME").ok();
            specs.push(ws_url_from_env_parts(
                &host,
                port.as_deref(),
                scheme.as_deref(),
            ));
        }
    }
    let mut list = specs
        .iter()
        .map(|s| {
            let (name, url) = s.split_once('=').unwrap_or(("target", s));
            let mut t = Target::new(
                name,
                url,
                args.rest_url.as_deref(),
                creds.clone(),
                profile.clone(),
            )?;
            t.tls = tls.clone();
            Ok(t)
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    if let Some(path) = &args.target_config {
        list.extend(TargetList::load(path)?);
    }
    if args.slow {
        for t in &mut list {
            t.slow = Some(crate::target::SlowSetup {
                target: Box::new(t.clone()),
                timestamp_window: EXTERNAL_WINDOW,
                activity_timeout: Duration::from_secs(120),
                pong_timeout: Duration::from_secs(30),
                cache_ttl: None,
            });
        }
    }
    Ok(list)
}

/// The REST timestamp window of a production server (spec 5.5).
const EXTERNAL_WINDOW: Duration = Duration::from_secs(600);

/// Deadline of a slow case against an external target: the longest wait
/// (a replay after the whole window, 601 s) plus room for the rest.
const EXTERNAL_SLOW_DEADLINE: Duration = Duration::from_secs(600 + 120);

/// Results of `picked` plus a Skip for every case `--exclude` left out, in
/// catalogue order.
fn with_excluded(args: &ConformArgs, results: Vec<CaseResult>) -> Vec<CaseResult> {
    let cases = registry();
    let mut ran = results.into_iter().peekable();
    select(&cases, &args.prefixes, &[])
        .into_iter()
        .filter_map(|c| match ran.peek() {
            Some(r) if r.id == c.id => ran.next(),
            _ if args.exclude.iter().any(|p| c.id.starts_with(p.as_str())) => {
                Some(skipped(c, "excluded by --exclude"))
            }
            _ => None,
        })
        .collect()
}

/// A webhook sink where `profile` says the target posts, or on an ephemeral port.
async fn sink_for(profile: &Profile) -> Result<Arc<WebhookSink>, CliError> {
    let addr = profile
        .webhooks
        .as_ref()
        .map_or("127.0.0.1:0".parse().expect("valid"), |w| w.sink);
    Ok(Arc::new(WebhookSink::start(addr).await?))
}

async fn conform(args: ConformArgs) -> Result<u8, CliError> {
    let cases = registry();
    let picked = match &args.trace {
        Some(id) => cases.iter().filter(|c| c.id == id.as_str()).collect(),
        None => select(&cases, &args.prefixes, &args.exclude),
    };
    if let (Some(id), true) = (&args.trace, picked.is_empty()) {
        return Err(CliError::UnknownCase(id.clone()));
    }
    if args.dry_run {
        for c in &picked {
            println!("{}", c.id);
        }
        return Ok(0);
    }
    let profile = match &args.profile {
        Some(p) => Profile::load(p)?,
        None => Profile::default(),
    };
    let known: BTreeSet<String> = match &args.known_deviations {
        Some(p) => std::fs::read_to_string(p)
            .map_err(io(p))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect(),
        None => BTreeSet::new(),
    };
    let mut list = targets(&args, &profile)?;
    let bundled = if list.is_empty() {
        let sink = sink_for(&profile).await?;
        let b = crate::bundled::start_default(sink.local_addr())
            .await
            .map_err(io("127.0.0.1:0"))?;
        list.push(b.target.clone());
        Some((b, sink))
    } else {
        None
    };
    let opts = RunOptions {
        strict: args.strict,
        slow_case_deadline: if bundled.is_some() {
            RunOptions::default().slow_case_deadline
        } else {
            EXTERNAL_SLOW_DEADLINE
        },
        ..RunOptions::default()
    };
    let mut reports = Vec::new();
    for target in list {
        let sink = match &bundled {
            Some((_, sink)) => sink.clone(),
            None => sink_for(&target.profile).await?,
        };
        let env = Arc::new(Env {
            target: target.clone(),
            sink: Some(sink),
            slow: bundled.is_some() || args.slow,
            timeout: Duration::from_secs(2),
        });
        // A live line on a terminal; in CI logs (not a TTY) it would be noise.
        let live = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let progress = |n: usize, total: usize, r: &crate::conformance::CaseResult| {
            if !live {
                return;
            }
            eprint!(
                "\r\x1b[2K[{}] {n}/{total} {} {}",
                target.name,
                r.verdict.as_str(),
                r.id
            );
            let _ = std::io::stderr().flush();
        };
        let results = run(&picked, env, &opts, &progress).await;
        if live {
            eprintln!();
        }
        reports.push(Report {
            target_name: target.name.clone(),
            ws: target.ws_base.clone(),
            rest: target.rest_base.clone(),
            cases: with_excluded(&args, results),
            known_deviations: known.clone(),
        });
    }
    write_outputs(&args, &reports)?;
    if let Some(id) = &args.trace {
        for c in reports
            .iter()
            .flat_map(|r| &r.cases)
            .filter(|c| &c.id == id)
        {
            print!("{}", c.trace());
        }
    }
    Ok(reports.iter().map(Report::exit_code).max().unwrap_or(0))
}

fn write_outputs(args: &ConformArgs, reports: &[Report]) -> Result<(), CliError> {
    for r in reports {
        print!("{}", report::text::render(r));
    }
    if reports.len() > 1 {
        print!("{}", matrix(reports));
    }
    if let Some(p) = &args.json {
        let value = report::json::render_all(reports);
        std::fs::write(p, serde_json::to_string_pretty(&value).unwrap_or_default())
            .map_err(io(p))?;
    }
    if let Some(p) = &args.junit {
        std::fs::write(p, report::junit::render_all(reports)).map_err(io(p))?;
    }
    if let Some(p) = &args.markdown {
        std::fs::write(p, report::markdown::render_all(reports)).map_err(io(p))?;
    }
    Ok(())
}

/// A side-by-side verdict matrix of several targets.
pub fn matrix(reports: &[Report]) -> String {
    let mut out = format!("\n{:60}", "case");
    for r in reports {
        out.push_str(&format!(" {:>10}", r.target_name));
    }
    out.push('\n');
    for (i, c) in reports[0].cases.iter().enumerate() {
        out.push_str(&format!("{:60}", c.id));
        for r in reports {
            out.push_str(&format!(
                " {:>10}",
                r.cases.get(i).map_or("-", |c| c.verdict.as_str())
            ));
        }
        out.push('\n');
    }
    out
}
