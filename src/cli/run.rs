//! `pushcheck run`: the conformance catalogue, then a scenario (the
//! built-in smoke scenario unless told otherwise), one report folder, one
//! status.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::conform::{preflight_all, run_live};
use super::folder::write_load;
use super::load::{OverrideFlags, fresh_run_id};
use super::summaries::SummaryFlags;
use super::target::{NodeFlags, TargetFlags};
use super::{CliError, io};
use crate::client::WebhookSink;
use crate::conformance::{Env, RunOptions, registry, select};
use crate::interrupt::Interrupt;
use crate::load::capacity::run_plan;
use crate::load::engine::EngineOptions;
use crate::load::validate;
use crate::report::{self, Report, model};
use crate::status::Status;

/// The scenario `pushcheck run` uses unless told otherwise.
pub(super) const SMOKE: &str = include_str!("../../scenarios/smoke.toml");

/// Flags of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Target and credentials.
    #[command(flatten)]
    pub target: TargetFlags,
    /// Nodes: the bundled cluster or a profile's node list.
    #[command(flatten)]
    pub nodes: NodeFlags,
    /// Scenario overrides, recorded in the report.
    #[command(flatten)]
    pub overrides: OverrideFlags,
    /// Report folder.
    #[arg(long, default_value = "pushcheck-report")]
    pub out: PathBuf,
    /// JUnit XML and Markdown summaries of both parts.
    #[command(flatten)]
    pub summaries: SummaryFlags,
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

pub(super) async fn run(args: RunArgs, interrupt: Interrupt) -> Result<Status, CliError> {
    let overrides = args.overrides.overrides()?;
    let plan = match &args.scenario {
        Some(p) => validate::load(p, &overrides)?,
        None => validate::from_toml("scenarios/smoke.toml (built in)", SMOKE, &overrides)?,
    };
    let sink = Arc::new(WebhookSink::start("127.0.0.1:0".parse().expect("valid address")).await?);
    let cluster = args.nodes.start_cluster(sink.local_addr()).await?;
    let profile = args.target.profile(args.nodes.profile.as_deref())?;
    let selection = args.target.selection(profile, None);
    let (bundled, target) = match (&cluster, selection.one("run")?) {
        (Some(c), _) => (None, c.target.clone()),
        (None, Some(t)) => (None, t),
        (None, None) if args.nodes.profile.is_some() => return Err(CliError::ProfileNeedsTarget),
        (None, None) => {
            let b = crate::bundled::start_default(sink.local_addr())
                .await
                .map_err(CliError::Bundled)?;
            let t = b.target.clone();
            (Some(b), t)
        }
    };
    let own = bundled.is_some() || cluster.is_some();
    preflight_all(std::slice::from_ref(&target)).await?;
    let cases = registry();
    let picked = select(&cases, &[], &[]);
    let env = Arc::new(Env {
        target: target.clone(),
        sink: Some(sink.clone()),
        slow: own,
        timeout: Duration::from_secs(2),
    });
    let opts = RunOptions {
        strict: args.strict,
        interrupt: interrupt.clone(),
        ..RunOptions::default()
    };
    let results = run_live(&picked, env, &opts, &target.name).await;
    let conf = Report {
        target_name: target.name.clone(),
        ws: target.ws_base.clone(),
        rest: target.rest_base.clone(),
        cases: results,
        known_deviations: Default::default(),
        target_id: target.identity(),
        interrupted: interrupt.is_set(),
    };
    super::term::print_report(&report::text::render(&conf));
    let load_opts = EngineOptions {
        run_id: fresh_run_id(),
        in_process_server: bundled.is_some(),
        progress: !args.quiet,
        interrupt,
        cores: None,
    };
    let r = run_plan(&plan, &target, &load_opts).await?;
    super::term::print_load(&report::load_text::render(&r));
    write_load(&args.out, &r, Some(&conf))?;
    let path = args.out.join("conformance.json");
    let text = model::to_json(&model::conformance(&conf));
    std::fs::write(&path, text).map_err(io(&path))?;
    let doc = model::run(&conf, &r);
    let path = args.out.join("report.json");
    std::fs::write(&path, model::to_json(&doc)).map_err(io(&path))?;
    args.summaries.write(
        || report::junit::render_run(&conf, &r),
        || report::load_markdown::render_run(&conf, &r),
    )?;
    println!(
        "report folder: {} (report.html, report.json, conformance.json, load.json, hdr/)",
        args.out.display()
    );
    println!("status: {} (exit {})", doc.status, doc.status.code());
    Ok(doc.status)
}
