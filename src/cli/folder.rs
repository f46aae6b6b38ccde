//! The report folders `load` and `run` write: `load.json`, `hdr/`,
//! `report.html`, and for a repeated run every run's own folder.

use std::path::Path;

use super::{CliError, io};
use crate::load::LoadResult;
use crate::load::hlog;
use crate::load::repeat::Repeated;
use crate::report::{self, Report};

/// Writes a load report folder: load.json, hdr/, report.html.
pub(super) fn write_load(
    dir: &Path,
    r: &LoadResult,
    conformance: Option<&Report>,
) -> Result<(), CliError> {
    hlog::write_dir(r, dir).map_err(io(dir))?;
    let html = dir.join("report.html");
    std::fs::write(&html, report::html::render(Some(r), conformance)).map_err(io(&html))
}

/// Writes a repeated run's folder: `load.json` holding every run under
/// `runs`, `report.html`, and each run's own folder `run-<i>/` (load.json,
/// hdr/, report.html) as a single run writes it.
pub(super) fn write_repeated(dir: &Path, rep: &Repeated) -> Result<(), CliError> {
    for (i, r) in rep.runs.iter().enumerate() {
        write_load(&dir.join(format!("run-{}", i + 1)), r, None)?;
    }
    let json = dir.join("load.json");
    std::fs::write(&json, report::model::to_json(rep)).map_err(io(&json))?;
    let html = dir.join("report.html");
    std::fs::write(&html, report::html::render_repeated(rep)).map_err(io(&html))
}
