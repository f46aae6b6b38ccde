//! `pushcheck merge`: shard folders of one run into one report.

use std::path::PathBuf;

use super::folder::write_load;
use super::summaries::SummaryFlags;
use super::{CliError, io};
use crate::load::{hlog, merge as shards};
use crate::report;
use crate::status::Status;

/// Flags of `merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Shard report folders written by `pushcheck load --shard`.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Folder for the merged report.
    #[arg(long, default_value = "pushcheck-merged")]
    pub out: PathBuf,
    /// JUnit and Markdown of the merged run, as `load` writes them.
    #[command(flatten)]
    pub summaries: SummaryFlags,
}

pub(super) fn merge(args: &MergeArgs) -> Result<Status, CliError> {
    let mut parts = Vec::new();
    for (i, d) in args.dirs.iter().enumerate() {
        let part = hlog::read_dir(d).map_err(io(d))?;
        let same = |p: &crate::load::LoadResult| {
            p.run.run_id == part.run.run_id && p.run.shard == part.run.shard
        };
        if let Some(j) = parts.iter().position(same) {
            return Err(CliError::DuplicateShard {
                run_id: part.run.run_id.clone(),
                shard: part.run.shard,
                first: args.dirs[j].clone(),
                second: args.dirs[i].clone(),
            });
        }
        parts.push(part);
    }
    let merged = shards::merge(parts).expect("clap requires at least one folder");
    print!("{}", report::load_text::render(&merged));
    write_load(&args.out, &merged, None)?;
    println!("merged report: {}", args.out.join("report.html").display());
    args.summaries.write(
        || report::junit::render_load(&[(String::new(), &merged)]),
        || report::load_markdown::render(&merged),
    )?;
    Ok(merged.verdict)
}
