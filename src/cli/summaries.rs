//! `--junit` and `--markdown` of `load` and `run` (and of a load race):
//! the flags and the writing of the files.

use std::path::PathBuf;

use super::{CliError, io};
use crate::load::LoadResult;
use crate::load::repeat::Repeated;

/// `--junit` and `--markdown`, shared by `load` and `run`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SummaryFlags {
    /// Write JUnit XML to FILE: every threshold, correctness and security
    /// check a test case (a broken one a <failure>, an accepted attack
    /// marked SECURITY), the generator's schedule an <error> when missed;
    /// with `run`, the conformance cases first.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary to FILE, for a pull-request comment:
    /// verdict, thresholds, checks, errors by kind, capacity steps,
    /// generator health; with `run`, the conformance summary first.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

impl SummaryFlags {
    /// Writes the files asked for and says where; each renderer runs only
    /// when its file is asked for.
    pub(super) fn write(
        &self,
        junit: impl FnOnce() -> String,
        markdown: impl FnOnce() -> String,
    ) -> Result<(), CliError> {
        if let Some(p) = &self.junit {
            std::fs::write(p, junit()).map_err(io(p))?;
            println!("junit: {}", p.display());
        }
        if let Some(p) = &self.markdown {
            std::fs::write(p, markdown()).map_err(io(p))?;
            println!("markdown: {}", p.display());
        }
        Ok(())
    }
}

/// The runs of a repeated run with their JUnit labels, `<prefix>run-<i>:`.
pub(super) fn run_labels<'a>(rep: &'a Repeated, prefix: &str) -> Vec<(String, &'a LoadResult)> {
    rep.runs
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("{prefix}run-{}:", i + 1), r))
        .collect()
}
