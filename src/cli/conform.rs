//! `pushcheck conform`: the catalogue against one target or a matrix.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::target::TargetFlags;
use super::{CliError, io};
use crate::client::WebhookSink;
use crate::conformance::{
    CaseResult, Env, RunOptions, registry, run, select, select_checked, skipped,
};
use crate::interrupt::Interrupt;
use crate::report::{self, Report};
use crate::status::Status;
use crate::target::{PREFLIGHT_TIMEOUT, Profile, SlowSetup, Target, preflight};

/// Flags of `conform`.
#[derive(Debug, clap::Args)]
pub struct ConformArgs {
    /// Case id prefixes to run (all if none); one matching nothing is an error.
    pub prefixes: Vec<String>,
    /// Case id prefixes to leave out; one matching nothing is an error.
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Target and credentials (repeat --target for a matrix).
    #[command(flatten)]
    pub target: TargetFlags,
    /// TOML list of targets, each with its own credentials and profile
    /// (format: `pushcheck::target`, "Target list"); adds to `--target`.
    #[arg(long)]
    pub target_config: Option<String>,
    /// Run against N bundled reference-server nodes (N >= 2), each a child
    /// process the cluster/ cases can kill, freeze and restart, sharing one
    /// Redis: `--redis`, or a redis-server from PATH started for the run.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(2..), conflicts_with_all = ["target", "target_config"])]
    pub cluster: Option<u16>,
    /// Redis of the `--cluster` nodes (`redis://HOST:PORT`) instead of starting one.
    #[arg(long, value_name = "URL", requires = "cluster")]
    pub redis: Option<String>,
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
    /// Write a self-contained HTML report here (with several targets: the
    /// matrix, then each target's detail).
    #[arg(long)]
    pub html: Option<String>,
    /// List the selected cases without running them.
    #[arg(long)]
    pub dry_run: bool,
    /// Run only this case (its exact id) and print its transcript: every
    /// frame and HTTP exchange with relative times.
    #[arg(long, value_name = "CASE")]
    pub trace: Option<String>,
}

/// The REST timestamp window of a production server (spec 5.5).
const EXTERNAL_WINDOW: Duration = Duration::from_secs(600);

/// Deadline of a slow case against an external target: the longest wait
/// (a replay after the whole window, 601 s) plus room for the rest.
const EXTERNAL_SLOW_DEADLINE: Duration = Duration::from_secs(600 + 120);

fn targets(args: &ConformArgs, profile: &Profile) -> Result<Vec<Target>, CliError> {
    let selection = args
        .target
        .selection(profile.clone(), args.target_config.clone());
    let mut list = selection.targets()?;
    if args.slow {
        for t in &mut list {
            t.slow = Some(SlowSetup {
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

/// The known-deviations file; an id that names no case is a warning.
fn known_deviations(path: Option<&str>) -> Result<BTreeSet<String>, CliError> {
    let Some(p) = path else {
        return Ok(BTreeSet::new());
    };
    let text = std::fs::read_to_string(p).map_err(io(Path::new(p)))?;
    let known: BTreeSet<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let cases = registry();
    for id in known.iter().filter(|id| !cases.iter().any(|c| c.id == *id)) {
        let closest = crate::conformance::closest(&cases, id).join(", ");
        eprintln!("warning: {p} lists {id:?}, which is no case id (closest: {closest})");
    }
    Ok(known)
}

/// The servers `conform` starts itself, held only so they run until the
/// run ends (dropping them stops them).
type Running = Box<dyn std::any::Any + Send>;

/// Starts the bundled server, or the bundled cluster with `--cluster N`.
async fn start_bundled(
    args: &ConformArgs,
    sink: std::net::SocketAddr,
) -> Result<(Running, Target), CliError> {
    let Some(n) = args.cluster else {
        let b = crate::bundled::start_default(sink)
            .await
            .map_err(CliError::Bundled)?;
        let target = b.target.clone();
        return Ok((Box::new(b), target));
    };
    let c =
        crate::bundled::cluster::start(n.into(), args.redis.as_deref(), sink, |_, _| {}).await?;
    let target = c.target.clone();
    Ok((Box::new(c), target))
}

/// Proves every target reachable and accepting its credentials.
pub(super) async fn preflight_all(targets: &[Target]) -> Result<(), CliError> {
    for t in targets {
        preflight(t, PREFLIGHT_TIMEOUT).await?;
    }
    Ok(())
}

pub(super) async fn conform(args: ConformArgs, interrupt: Interrupt) -> Result<Status, CliError> {
    let cases = registry();
    let picked = match &args.trace {
        Some(id) => cases.iter().filter(|c| c.id == id.as_str()).collect(),
        None => select_checked(&cases, &args.prefixes, &args.exclude)?,
    };
    if let (Some(id), true) = (&args.trace, picked.is_empty()) {
        return Err(CliError::UnknownCase(id.clone()));
    }
    if args.dry_run {
        for c in &picked {
            println!("{}", c.id);
        }
        return Ok(Status::Pass);
    }
    let profile = args.target.profile(args.profile.as_deref())?;
    let known = known_deviations(args.known_deviations.as_deref())?;
    let mut list = targets(&args, &profile)?;
    let bundled = if list.is_empty() {
        let sink = sink_for(&profile).await?;
        let (running, target) = start_bundled(&args, sink.local_addr()).await?;
        list.push(target);
        Some((running, sink))
    } else {
        None
    };
    preflight_all(&list).await?;
    eprintln!(
        "conform: {} cases against {} target(s)",
        picked.len(),
        list.len()
    );
    let opts = RunOptions {
        strict: args.strict,
        slow_case_deadline: if bundled.is_some() {
            RunOptions::default().slow_case_deadline
        } else {
            EXTERNAL_SLOW_DEADLINE
        },
        interrupt: interrupt.clone(),
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
        let results = run_live(&picked, env, &opts, &target.name).await;
        reports.push(Report {
            target_name: target.name.clone(),
            ws: target.ws_base.clone(),
            rest: target.rest_base.clone(),
            cases: with_excluded(&args, results),
            known_deviations: known.clone(),
            target_id: target.identity(),
            interrupted: interrupt.is_set(),
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
    Ok(Status::worst(reports.iter().map(Report::status)))
}

/// Runs the cases with live progress on a terminal (phase, elapsed time,
/// cases done of the total, verdicts so far); nothing in CI logs.
pub(super) async fn run_live(
    picked: &[&crate::conformance::Case],
    env: Arc<Env>,
    opts: &RunOptions,
    name: &str,
) -> Vec<CaseResult> {
    let bar = parking_lot::Mutex::new(super::term::CaseProgress::new(name, picked.len()));
    let progress = |_: usize, _: usize, r: &CaseResult| bar.lock().finished(r);
    let results = run(picked, env, opts, &progress).await;
    bar.lock().done();
    results
}

fn write_outputs(args: &ConformArgs, reports: &[Report]) -> Result<(), CliError> {
    for r in reports {
        super::term::print_report(&report::text::render(r));
    }
    if reports.len() > 1 {
        print!("{}", matrix(reports));
    }
    if let Some(p) = &args.json {
        let text = match reports {
            [one] => report::model::to_json(&report::model::conformance(one)),
            many => report::model::to_json(&report::model::matrix(many)),
        };
        std::fs::write(p, text).map_err(io(Path::new(p)))?;
    }
    if let Some(p) = &args.junit {
        std::fs::write(p, report::junit::render_all(reports)).map_err(io(Path::new(p)))?;
    }
    if let Some(p) = &args.markdown {
        let md = report::markdown::render_all(reports);
        std::fs::write(p, md).map_err(io(Path::new(p)))?;
    }
    if let Some(p) = &args.html {
        let page = report::html::render_conformance(reports);
        std::fs::write(p, page).map_err(io(Path::new(p)))?;
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
    let status = Status::worst(reports.iter().map(Report::status));
    out.push_str(&format!(
        "\n{} targets: {} (exit {}, the worst target's status)\n",
        reports.len(),
        status,
        status.code()
    ));
    out
}
