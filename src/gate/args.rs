//! The `compare` command line: files, budgets, outputs.

use std::path::PathBuf;

use super::snapshot::{ReadError, read};
use super::{Budget, GateMode, compare, render};

/// Flags of `compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline report (JSON from `conform --json`, `load --json` or `run`).
    pub baseline: PathBuf,
    /// The report to judge.
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
    #[arg(long, value_enum, default_value_t = GateMode::All)]
    pub gate: GateMode,
    /// Write a Markdown summary (for a pull-request comment) here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Write the comparison as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Usage errors of `compare` (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// A file could not be read or written.
    #[error("cannot access {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A report could not be read.
    #[error(transparent)]
    Report(#[from] ReadError),
    /// The budget file is not valid.
    #[error("invalid budget file {path}")]
    BudgetFile {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: toml::de::Error,
    },
    /// A `--budget` flag is not `NAME=PERCENT`.
    #[error("--budget {0:?} is not NAME=PERCENT")]
    BudgetFlag(String),
}

fn read_file(path: &PathBuf) -> Result<String, GateError> {
    std::fs::read_to_string(path).map_err(|source| GateError::Io {
        path: path.clone(),
        source,
    })
}

fn write_file(path: &PathBuf, text: &str) -> Result<(), GateError> {
    std::fs::write(path, text).map_err(|source| GateError::Io {
        path: path.clone(),
        source,
    })
}

/// The budget from the file, then the flags.
fn budget(args: &CompareArgs) -> Result<Budget, GateError> {
    let mut b = match &args.budget_file {
        Some(p) => toml::from_str(&read_file(p)?).map_err(|source| GateError::BudgetFile {
            path: p.clone(),
            source,
        })?,
        None => Budget::default(),
    };
    if let Some(d) = args.default_budget {
        b.default_percent = d;
    }
    if let Some(s) = args.max_spread {
        b.max_spread_percent = s;
    }
    for flag in &args.budgets {
        let parsed = flag
            .split_once('=')
            .and_then(|(k, v)| Some((k.trim(), v.trim().parse::<f64>().ok()?)));
        let Some((name, pct)) = parsed else {
            return Err(GateError::BudgetFlag(flag.clone()));
        };
        b.metrics.insert(name.to_owned(), pct);
    }
    Ok(b)
}

/// Runs `compare`; returns 0 (pass) or 1 (regression).
pub fn compare_cli(args: &CompareArgs) -> Result<u8, GateError> {
    let budget = budget(args)?;
    let show = |p: &PathBuf| p.display().to_string();
    let base = read(&show(&args.baseline), &read_file(&args.baseline)?)?;
    let cur = read(&show(&args.current), &read_file(&args.current)?)?;
    let comparison = compare(&base, &cur, &budget, args.gate);
    print!("{}", render::text(&comparison));
    if let Some(p) = &args.markdown {
        write_file(p, &render::markdown(&comparison))?;
    }
    if let Some(p) = &args.json {
        let text = serde_json::to_string_pretty(&render::json(&comparison))
            .expect("a JSON value always serialises");
        write_file(p, &text)?;
    }
    Ok(comparison.exit_code())
}
