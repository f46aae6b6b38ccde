//! The `load`, `run` and `merge` subcommands.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::engine::{EngineError, EngineOptions};
use super::plan::{Plan, ScenarioError, Shard};
use super::repeat::{Repeated, worst_exit};
use super::result::LoadResult;
use crate::client::WebhookSink;
use crate::conformance::{Env, RunOptions, registry, select};
use crate::report::{self, Report};
use crate::target::{Credentials, Profile, Target, TargetError};

/// The scenario `pushcheck run` uses unless told otherwise.
pub const SMOKE: &str = include_str!("../../scenarios/smoke.toml");

/// Where the target is and how to sign for it.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetFlags {
    /// `ws[s]://host:port` (default: the bundled reference server, in-process).
    #[arg(long)]
    pub target: Option<String>,
    /// REST base URL (default derived from the target).
    #[arg(long)]
    pub rest_url: Option<String>,
    /// App credentials.
    #[command(flatten)]
    pub credentials: crate::target::CredentialFlags,
}

/// Flags of `load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Scenario TOML file (see scenarios/README.md).
    pub scenario: PathBuf,
    /// Target and credentials.
    #[command(flatten)]
    pub target: TargetFlags,
    /// Report folder: load.json, report.html, hdr/*.hlog.
    #[arg(long, default_value = "pushcheck-report")]
    pub out: PathBuf,
    /// Run shard `i` of `N` (0-based) of the plan.
    #[arg(long)]
    pub shard: Option<String>,
    /// Channel-name prefix; every shard of one run must use the same one.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Run the scenario N times against the same target, each a fresh run;
    /// the report holds every run (`runs`) for `compare` to judge medians.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// No live progress line.
    #[arg(long)]
    pub quiet: bool,
}

/// Flags of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Target and credentials.
    #[command(flatten)]
    pub target: TargetFlags,
    /// Report folder.
    #[arg(long, default_value = "pushcheck-report")]
    pub out: PathBuf,
    /// Scenario to run after the catalogue (default: the built-in scenarios/smoke.toml).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Conformance warnings fail.
    #[arg(long)]
    pub strict: bool,
    /// No live progress line.
    #[arg(long)]
    pub quiet: bool,
}

/// Flags of `merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Shard report folders written by `pushcheck load --shard`.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Folder for the merged report.
    #[arg(long, default_value = "pushcheck-merged")]
    pub out: PathBuf,
}

/// Why a load command could not run (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Bad scenario.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The engine could not run.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Bad target.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// `--shard` is not `i/N`.
    #[error("--shard {0:?} is not i/N with 0 <= i < N")]
    Shard(String),
    /// `--repeat` with `--shard`: `merge` combines one run per shard folder.
    #[error(
        "--repeat {0} cannot be combined with --shard: merge combines one run per shard folder; repeat the whole sharded run instead"
    )]
    RepeatSharded(u32),
    /// A file or folder could not be read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// Path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bundled server or webhook sink could not start.
    #[error("cannot start the bundled reference server")]
    Bundled(#[source] std::io::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CommandError + '_ {
    move |source| CommandError::Io {
        path: path.to_owned(),
        source,
    }
}

fn external(flags: &TargetFlags) -> Result<Option<Target>, CommandError> {
    let Some(url) = &flags.target else {
        return Ok(None);
    };
    let creds = flags.credentials.credentials();
    Ok(Some(Target::new(
        "target",
        url,
        flags.rest_url.as_deref(),
        creds,
        Profile::default(),
    )?))
}

/// Starts the reference server in-process on 127.0.0.1:0 with `config`.
pub async fn start_bundled(
    config: reference_server::Config,
) -> std::io::Result<(reference_server::Server, Target)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = reference_server::Server::start(config, listener).await?;
    let creds = Credentials::new("app-id", "app-key", "app-secret");
    let target = Target::new(
        "reference",
        &format!("ws://{}", server.local_addr()),
        None,
        creds,
        Profile::default(),
    )
    .expect("a ws:// url built here is valid");
    Ok((server, target))
}

fn fresh_run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("pc{:x}{:x}", std::process::id(), nanos)
}

/// Runs a plan (or its capacity search) against a target.
pub async fn run_plan(
    plan: &Plan,
    target: &Target,
    opts: &EngineOptions,
) -> Result<LoadResult, EngineError> {
    match &plan.capacity {
        Some(c) => super::capacity::search(plan, c, target, opts).await,
        None => super::engine::run(plan, target, opts).await,
    }
}

/// Writes a load report folder: load.json, hdr/, report.html.
pub fn write_load(
    dir: &Path,
    r: &LoadResult,
    conformance: Option<&Report>,
) -> Result<(), CommandError> {
    r.write_dir(dir).map_err(io(dir))?;
    let html = dir.join("report.html");
    std::fs::write(&html, report::html::render(Some(r), conformance)).map_err(io(&html))
}

/// `pushcheck load`.
pub async fn load(args: LoadArgs) -> Result<u8, CommandError> {
    let mut plan = Plan::load(&args.scenario)?;
    if let Some(s) = &args.shard {
        if args.repeat > 1 {
            return Err(CommandError::RepeatSharded(args.repeat));
        }
        plan = plan.sharded(Shard::parse(s).ok_or_else(|| CommandError::Shard(s.clone()))?);
    }
    let run_id = args.run_id.clone().unwrap_or_else(|| {
        if args.shard.is_some() {
            format!("pc-{}", plan.name)
        } else {
            fresh_run_id()
        }
    });
    let (bundled, target) = match external(&args.target)? {
        Some(t) => (None, t),
        None => {
            let (s, t) = start_bundled(reference_server::Config::default())
                .await
                .map_err(CommandError::Bundled)?;
            (Some(s), t)
        }
    };
    let mut runs = Vec::new();
    for i in 1..=args.repeat {
        // Each repetition gets its own channel names, so a straggling
        // delivery of one run can never be counted by the next.
        let opts = EngineOptions {
            run_id: if args.repeat == 1 {
                run_id.clone()
            } else {
                format!("{run_id}-r{i}")
            },
            in_process_server: bundled.is_some(),
            progress: !args.quiet,
        };
        if args.repeat > 1 {
            println!("\nrun {i} of {}", args.repeat);
        }
        let r = run_plan(&plan, &target, &opts).await?;
        print!("{}", report::load_text::render(&r));
        runs.push(r);
    }
    if let Some(s) = bundled {
        s.shutdown().await;
    }
    if runs.len() == 1 {
        let r = runs.pop().expect("one run");
        write_load(&args.out, &r, None)?;
        println!("report: {}", args.out.join("report.html").display());
        return Ok(r.exit_code);
    }
    let rep = Repeated::new(runs);
    print!("{}", report::load_text::render_repeated(&rep));
    write_repeated(&args.out, &rep)?;
    println!(
        "report: {} (every run in {}/run-*/)",
        args.out.join("report.html").display(),
        args.out.display()
    );
    Ok(rep.exit_code)
}

/// Writes a repeated run's folder: `load.json` holding every run under
/// `runs`, `report.html`, and each run's own folder `run-<i>/` (load.json,
/// hdr/, report.html) as a single run writes it.
pub fn write_repeated(dir: &Path, rep: &Repeated) -> Result<(), CommandError> {
    for (i, r) in rep.runs.iter().enumerate() {
        write_load(&dir.join(format!("run-{}", i + 1)), r, None)?;
    }
    let json = dir.join("load.json");
    let text = serde_json::to_string_pretty(rep).map_err(|e| CommandError::Io {
        path: json.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&json, text).map_err(io(&json))?;
    let html = dir.join("report.html");
    std::fs::write(&html, report::html::render_repeated(rep)).map_err(io(&html))
}

/// `pushcheck merge`.
pub fn merge(args: &MergeArgs) -> Result<u8, CommandError> {
    let parts = args
        .dirs
        .iter()
        .map(|d| LoadResult::read_dir(d).map_err(io(d)))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = LoadResult::merge(parts).expect("clap requires at least one folder");
    print!("{}", report::load_text::render(&merged));
    write_load(&args.out, &merged, None)?;
    println!("merged report: {}", args.out.join("report.html").display());
    Ok(merged.exit_code)
}

/// `pushcheck run`: the conformance catalogue, then the smoke scenario, one
/// report folder, one exit code.
pub async fn run(args: RunArgs) -> Result<u8, CommandError> {
    let plan = match &args.scenario {
        Some(p) => Plan::load(p)?,
        None => Plan::from_toml("scenarios/smoke.toml (built in)", SMOKE)?,
    };
    let sink = Arc::new(
        WebhookSink::start("127.0.0.1:0".parse().expect("valid address"))
            .await
            .map_err(|e| CommandError::Bundled(std::io::Error::other(e)))?,
    );
    let (bundled, target) = match external(&args.target)? {
        Some(t) => (None, t),
        None => {
            let b = crate::bundled::start_default(sink.local_addr())
                .await
                .map_err(CommandError::Bundled)?;
            let t = b.target.clone();
            (Some(b), t)
        }
    };
    let cases = registry();
    let picked = select(&cases, &[], &[]);
    let env = Arc::new(Env {
        target: target.clone(),
        sink: Some(sink.clone()),
        slow: bundled.is_some(),
        timeout: Duration::from_secs(2),
    });
    let opts = RunOptions {
        strict: args.strict,
        ..RunOptions::default()
    };
    let quiet = args.quiet;
    let progress = move |n: usize, total: usize, _r: &crate::conformance::CaseResult| {
        if !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprint!("\r\x1b[2Kconformance {n}/{total}");
        }
    };
    let results = crate::conformance::run(&picked, env, &opts, &progress).await;
    let conf = Report {
        target_name: target.name.clone(),
        ws: target.ws_base.clone(),
        rest: target.rest_base.clone(),
        cases: results,
        known_deviations: Default::default(),
    };
    print!("{}", report::text::render(&conf));
    let load_opts = EngineOptions {
        run_id: fresh_run_id(),
        in_process_server: bundled.is_some(),
        progress: !args.quiet,
    };
    let r = run_plan(&plan, &target, &load_opts).await?;
    print!("{}", report::load_text::render(&r));
    write_load(&args.out, &r, Some(&conf))?;
    let conf_json = report::json::render(&conf);
    let path = args.out.join("conformance.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&conf_json).unwrap_or_default(),
    )
    .map_err(io(&path))?;
    let combined = serde_json::json!({"schema_version": 1, "conformance": conf_json, "load": r});
    let path = args.out.join("report.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&combined).unwrap_or_default(),
    )
    .map_err(io(&path))?;
    println!(
        "report folder: {} (report.html, report.json, conformance.json, load.json, hdr/)",
        args.out.display()
    );
    Ok(combine_exit(conf.exit_code(), r.exit_code))
}

/// One exit code for a conformance code and a load code (DESIGN: 1 target
/// failed wins, then 2 harness error, then 3 invalid run).
pub fn combine_exit(conformance: u8, load: u8) -> u8 {
    worst_exit([conformance, load])
}
