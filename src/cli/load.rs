//! `pushcheck load`: one scenario against one target, once, `--repeat N`
//! times, or as one shard of a sharded run; and the report folder it writes.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use super::CliError;
use super::folder::{write_load, write_repeated};
use super::summaries::{SummaryFlags, run_labels};
pub(super) use super::target::one_target;
use super::target::{NodeFlags, TargetFlags, load_target};
use crate::interrupt::Interrupt;
use crate::load::engine::EngineOptions;
use crate::load::overrides::Override;
use crate::load::plan::{Plan, Shard};
use crate::load::repeat::{Repeated, repeat};
use crate::load::{LoadResult, validate};
use crate::report;
use crate::status::Status;
use crate::target::Target;

/// Flags of `load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Scenario TOML file (see scenarios/README.md).
    pub scenario: PathBuf,
    /// Target and credentials.
    #[command(flatten)]
    pub target: TargetFlags,
    /// Nodes: the bundled cluster or a profile's node list.
    #[command(flatten)]
    pub nodes: NodeFlags,
    /// Scenario overrides, recorded in the report.
    #[command(flatten)]
    pub overrides: OverrideFlags,
    /// Report folder: load.json, report.html, hdr/*.hlog.
    #[arg(long, default_value = "pushcheck-report")]
    pub out: PathBuf,
    /// JUnit XML and Markdown summaries.
    #[command(flatten)]
    pub summaries: SummaryFlags,
    /// Run shard `i` of `N` (0-based) of the plan.
    #[arg(long)]
    pub shard: Option<String>,
    /// Channel-name prefix; every shard of one run must use the same one
    /// (with `run.shared_channels` the shards wait for each other's
    /// subscribers on these channels before publishing).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Run the scenario N times against the same target, each a fresh run;
    /// the report holds every run (`runs`) for `compare` to judge medians.
    /// With several `--target`s (a load race) the rounds alternate between
    /// the targets.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Generator threads to run the clients on (default: one per core of
    /// this machine). With 2 or more, HTTP publishers and churners run on
    /// the last and connected clients on the others; the report records it.
    #[arg(long, value_name = "N")]
    pub cores: Option<std::num::NonZeroUsize>,
    /// No live progress line.
    #[arg(long)]
    pub quiet: bool,
}

/// `--duration` and `--set`, shared by `load` and `run`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OverrideFlags {
    /// Traffic phase length instead of the scenario's (`2s`, `1m`).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Override a scenario value: `population.NAME.count=500`,
    /// `population.NAME.rate=N`, `population.NAME.ramp=N`, `run.duration=D`,
    /// `run.messages=N`, `run.drain=D`, `run.connect_timeout=D`, `run.max_schedule_lag=D`
    /// (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl OverrideFlags {
    /// The overrides in the order they apply: `--duration`, then each `--set`.
    pub fn overrides(&self) -> Result<Vec<Override>, CliError> {
        let mut out: Vec<Override> = self
            .duration
            .iter()
            .map(|d| Override::duration(d))
            .collect();
        for s in &self.set {
            out.push(Override::parse(s)?);
        }
        Ok(out)
    }
}

/// A fresh channel prefix for an unsharded run.
pub(super) fn fresh_run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("pc{:x}{:x}", std::process::id(), nanos)
}

pub(super) async fn load(args: LoadArgs, interrupt: Interrupt) -> Result<Status, CliError> {
    let mut plan = validate::load(&args.scenario, &args.overrides.overrides()?)?;
    if let Some(s) = &args.shard {
        if args.repeat > 1 {
            return Err(CliError::RepeatSharded(args.repeat));
        }
        plan = plan.sharded(Shard::parse(s).ok_or_else(|| CliError::Shard(s.clone()))?);
    }
    let run_id = args.run_id.clone().unwrap_or_else(|| {
        if args.shard.is_some() {
            format!("pc-{}", plan.name)
        } else {
            fresh_run_id()
        }
    });
    let many = args
        .target
        .selection(args.target.profile(args.nodes.profile.as_deref())?, None)
        .targets()?;
    if many.len() > 1 {
        if args.shard.is_some() {
            return Err(CliError::RaceSharded);
        }
        super::conform::preflight_all(&many).await?;
        let opts = super::race::RaceOptions {
            rounds: args.repeat,
            out: &args.out,
            quiet: args.quiet,
            summaries: &args.summaries,
            cores: args.cores,
        };
        return super::race::race(opts, &plan, many, &run_id, interrupt).await;
    }
    let (bundled, target) = load_target(&args.target, &args.nodes, "load").await?;
    let runs = if args.repeat > 1 {
        format!(", {} runs", args.repeat)
    } else {
        String::new()
    };
    eprintln!(
        "load: scenario {} against {} ({} clients{runs})",
        plan.name,
        target.ws_base,
        plan.clients()
    );
    let opts = EngineOptions {
        run_id,
        in_process_server: bundled.in_process(),
        progress: !args.quiet,
        interrupt,
        cores: args.cores,
    };
    let mut runs = run_repeated(&plan, &target, &opts, args.repeat).await?;
    bundled.shutdown().await;
    if runs.len() == 1 && args.repeat == 1 {
        let r = runs.pop().expect("one run");
        write_load(&args.out, &r, None)?;
        args.summaries.write(
            || report::junit::render_load(&[(String::new(), &r)]),
            || report::load_markdown::render(&r),
        )?;
        println!("report: {}", args.out.join("report.html").display());
        return Ok(r.verdict);
    }
    let rep = Repeated::new(runs, args.repeat);
    super::term::print_load(&report::load_text::render_repeated(&rep));
    write_repeated(&args.out, &rep)?;
    args.summaries.write(
        || report::junit::render_load(&run_labels(&rep, "")),
        || report::load_markdown::render_repeated(&rep),
    )?;
    println!(
        "report: {} (every run in {}/run-*/)",
        args.out.join("report.html").display(),
        args.out.display()
    );
    Ok(rep.verdict)
}

async fn run_repeated(
    plan: &Plan,
    target: &Target,
    opts: &EngineOptions,
    n: u32,
) -> Result<Vec<LoadResult>, CliError> {
    let each = |i: u32, r: &LoadResult| {
        if n > 1 {
            println!("\nrun {i} of {n}");
        }
        super::term::print_load(&report::load_text::render(r));
    };
    Ok(repeat(plan, target, opts, n, each).await?)
}
