//! `pushcheck compare`: a report against a baseline.

use std::path::PathBuf;

use super::{CliError, io};
use crate::gate::{GateMode, Options, compare_files, render};
use crate::report::model::to_json;
use crate::status::Status;

/// What fails the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GateFlag {
    /// Correctness and timing beyond budget.
    All,
    /// Correctness only; timing changes are printed but never fail.
    Correctness,
}

/// Flags of `compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline report (JSON from `conform --json`, `load` or `run`).
    pub baseline: PathBuf,
    /// The report to judge (of the same kind, scenarios and targets).
    pub current: PathBuf,
    /// Budget TOML: `default_percent`, `max_spread_percent`, `[metrics]` per metric.
    #[arg(long)]
    pub budget_file: Option<PathBuf>,
    /// Budget of one metric, `NAME=PERCENT` (repeatable; overrides the file).
    #[arg(long = "budget", value_name = "NAME=PERCENT")]
    pub budgets: Vec<String>,
    /// Budget of every metric not named otherwise, in percent.
    #[arg(long)]
    pub default_budget: Option<f64>,
    /// Widest run spread (percent of the median) still judged.
    #[arg(long)]
    pub max_spread: Option<f64>,
    /// What fails the gate: `all`, or `correctness` (timing is printed only).
    #[arg(long, value_enum, default_value_t = GateFlag::All)]
    pub gate: GateFlag,
    /// Compare reports of different targets (renamed or moved on purpose).
    #[arg(long)]
    pub allow_target_change: bool,
    /// Write a Markdown summary (for a pull-request comment) here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Write the comparison as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub(super) fn compare(args: &CompareArgs) -> Result<Status, CliError> {
    let options = Options {
        baseline: args.baseline.clone(),
        current: args.current.clone(),
        budget_file: args.budget_file.clone(),
        budgets: args.budgets.clone(),
        default_budget: args.default_budget,
        max_spread: args.max_spread,
        mode: match args.gate {
            GateFlag::All => GateMode::All,
            GateFlag::Correctness => GateMode::Correctness,
        },
        allow_target_change: args.allow_target_change,
    };
    let comparison = compare_files(&options)?;
    print!("{}", render::text(&comparison));
    if let Some(p) = &args.markdown {
        std::fs::write(p, render::markdown(&comparison)).map_err(io(p))?;
    }
    if let Some(p) = &args.json {
        std::fs::write(p, to_json(&render::json(&comparison))).map_err(io(p))?;
    }
    Ok(comparison.status())
}
