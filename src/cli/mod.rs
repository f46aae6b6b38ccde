//! The command line: clap definitions, one file per subcommand, and the one
//! place a [`Status`] becomes a process exit code. Library modules take
//! plain option structs; this layer fills them from flags and the
//! environment, prints, and writes the report files.
//!
//! Every subcommand that takes a target runs the preflight of
//! [`crate::target::preflight`] first and stops with exit 2 and a one-line
//! diagnosis when it fails. Exit codes and their precedence are documented
//! in [`crate::status`].

mod compare;
mod conform;
mod folder;
mod fuzz_auth;
mod list;
mod load;
mod manual;
mod merge;
mod node;
mod preset;
mod race;
mod run;
mod signals;
mod summaries;
mod target;
mod term;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use compare::CompareArgs;
pub use conform::{ConformArgs, matrix};
pub use fuzz_auth::FuzzArgs;
pub use list::{ListArgs, list};
pub use load::LoadArgs;
pub use manual::{CompletionsArgs, completions, man};
pub use merge::MergeArgs;
pub use preset::{PRESETS, Preset};
pub use run::RunArgs;
pub use target::TargetFlags;

use crate::interrupt::Interrupt;
use crate::status::Status;

const ENV_HELP: &str = "Environment: PUSHER_APP_ID, PUSHER_APP_KEY, PUSHER_APP_SECRET, PUSHER_HOST, \
PUSHER_PORT and PUSHER_SCHEME stand in for --app-id, --key, --secret, --host, --port and --scheme.\n\
Exit codes: 0 pass, 1 the target failed, 2 usage or harness error (the target unreachable or \
refusing the credentials included), 3 run invalid, 130 interrupted; combined, the worst wins in \
the order 130, 1, 2, 3, 0.";

/// Conformance and load testing for Pusher Channels compatible servers.
#[derive(Debug, Parser)]
#[command(name = "pushcheck", version, after_help = ENV_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the conformance catalogue (default target: the bundled reference server).
    #[command(after_help = ENV_HELP)]
    Conform(Box<ConformArgs>),
    /// Print the catalogue and the coverage of every spec section.
    List(ListArgs),
    /// Run a load scenario (default target: the bundled reference server).
    #[command(after_help = ENV_HELP)]
    Load(Box<LoadArgs>),
    /// The main job: the conformance catalogue and scenarios/smoke.toml, one report folder.
    #[command(after_help = ENV_HELP)]
    Run(Box<RunArgs>),
    /// Merge shard report folders of `load --shard` into one report.
    Merge(MergeArgs),
    /// Property-based testing of the target's authorization checks (exit 1 on a counterexample).
    #[command(after_help = ENV_HELP)]
    FuzzAuth(Box<FuzzArgs>),
    /// Compare a report with a baseline; exit 1 on a regression.
    Compare(Box<CompareArgs>),
    /// Print a shell completion script (e.g. `pushcheck completions bash > /etc/bash_completion.d/pushcheck`).
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `pushcheck man > pushcheck.1`.
    Man,
    /// One node of the bundled cluster (run by pushcheck itself).
    #[command(name = "__node", hide = true)]
    Node(node::NodeArgs),
}

/// Errors of the command line (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A target could not be built.
    #[error(transparent)]
    Target(#[from] crate::target::TargetError),
    /// The target failed its preflight: nothing was tested.
    #[error(transparent)]
    Preflight(Box<crate::target::PreflightError>),
    /// A case selector or `--exclude` matches nothing.
    #[error(transparent)]
    Select(#[from] crate::conformance::NoMatch),
    /// Bad scenario or override.
    #[error(transparent)]
    Scenario(#[from] crate::load::invalid::ScenarioError),
    /// The engine could not run.
    #[error(transparent)]
    Engine(#[from] crate::load::EngineError),
    /// `fuzz-auth` could not run.
    #[error(transparent)]
    Fuzz(#[from] crate::fuzz::FuzzError),
    /// `compare` could not read or refused its inputs.
    #[error(transparent)]
    Gate(#[from] crate::gate::GateError),
    /// The webhook sink could not start.
    #[error(transparent)]
    Sink(#[from] crate::client::SinkError),
    /// The bundled reference server could not start.
    #[error("cannot start the bundled reference server")]
    Bundled(#[source] std::io::Error),
    /// The bundled cluster (`--cluster N`) could not start.
    #[error(transparent)]
    Cluster(#[from] crate::bundled::cluster::ClusterError),
    /// A bundled cluster node process stopped with an error.
    #[error(transparent)]
    Node(#[from] crate::bundled::node::NodeError),
    /// A file or folder could not be read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// Path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `--shard` is not `i/N`.
    #[error("--shard {0:?} is not i/N with 0 <= i < N")]
    Shard(String),
    /// `--repeat` with `--shard`: `merge` combines one run per shard folder.
    #[error(
        "--repeat {0} cannot be combined with --shard: merge combines one run per shard folder; repeat the whole sharded run instead"
    )]
    RepeatSharded(u32),
    /// `merge` was given the same shard twice.
    #[error("{} and {} hold the same shard {shard} of run {run_id}: merge each shard once", first.display(), second.display())]
    DuplicateShard {
        /// The run.
        run_id: String,
        /// The shard index.
        shard: u32,
        /// The first folder holding it.
        first: PathBuf,
        /// The second.
        second: PathBuf,
    },
    /// Standard output could not be written.
    #[error("cannot write to standard output")]
    Stdout(#[source] std::io::Error),
    /// A load race cannot be sharded.
    #[error(
        "--shard takes one target: run each target's shards separately, then compare the merged reports"
    )]
    RaceSharded,
    /// `load --profile` without a target: the bundled server has its own profile.
    #[error(
        "--profile needs --target (the bundled server brings its own profile; --cluster N starts a bundled cluster)"
    )]
    ProfileNeedsTarget,
    /// `--trace` names no case of the catalogue.
    #[error("no case {0:?} in the catalogue (see `pushcheck list`)")]
    UnknownCase(String),
}

impl From<crate::target::PreflightError> for CliError {
    fn from(e: crate::target::PreflightError) -> CliError {
        CliError::Preflight(Box::new(e))
    }
}

/// `io::Error` at `path` as a [`CliError::Io`].
pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |source| CliError::Io {
        path: path.to_owned(),
        source,
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(CliError::Stdout)
}

/// Runs the command without signal handlers (for tests and embedding).
pub async fn run_cli(cli: Cli) -> Result<Status, CliError> {
    execute(cli, Interrupt::never()).await
}

/// Runs the command; Ctrl-C and SIGTERM reach it through `interrupt`.
pub async fn execute(cli: Cli, interrupt: Interrupt) -> Result<Status, CliError> {
    match cli.command {
        Command::List(args) => {
            print!("{}", list(&args));
            Ok(Status::Pass)
        }
        Command::Completions(args) => {
            write_stdout(&completions(args.shell))?;
            Ok(Status::Pass)
        }
        Command::Man => {
            let page = man().map_err(CliError::Stdout)?;
            write_stdout(&page)?;
            Ok(Status::Pass)
        }
        Command::Conform(args) => conform::conform(*args, interrupt).await,
        Command::Load(args) => load::load(*args, interrupt).await,
        Command::Run(args) => run::run(*args, interrupt).await,
        Command::Merge(args) => merge::merge(&args),
        Command::FuzzAuth(args) => fuzz_auth::fuzz_auth(*args, interrupt).await,
        Command::Compare(args) => compare::compare(&args),
        Command::Node(args) => node::node(args, interrupt).await,
    }
}

pub use crate::errors::error_line;

/// The process: parse, install the signal handlers, run, print an error
/// once, exit with the status's code.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    // A bundled cluster node ignores Ctrl-C (its shell wrapper ignores
    // SIGINT for it, and no handler here undoes that): the harness drains
    // on it, and its nodes must keep serving until the harness ends them.
    let interrupt = match &cli.command {
        Command::Node(_) => Interrupt::never(),
        _ => signals::install(),
    };
    match execute(cli, interrupt).await {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) => {
            eprintln!("error: {}", error_line(&e));
            ExitCode::from(Status::Error.code())
        }
    }
}
