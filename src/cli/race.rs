//! `pushcheck load FILE --target a=URL --target b=URL`: the load race. The
//! scenario runs against each target in turn; with `--repeat N` the rounds
//! alternate (a, b, a, b, ...) so a drifting machine hits every target
//! alike. Writes `race.json` and `report.html` (the comparison) and each
//! target's own report folder `<name>/`, as a repeated run writes it.

use std::path::Path;

use super::folder::write_repeated;
use super::{CliError, io};
use crate::interrupt::Interrupt;
use crate::load::capacity::run_plan;
use crate::load::engine::EngineOptions;
use crate::load::plan::Plan;
use crate::load::repeat::Repeated;
use crate::report::race::{Entrant, Race};
use crate::report::{self, model};
use crate::status::Status;
use crate::target::Target;

/// Runs the race; `targets` holds at least two, already preflighted.
/// How the race runs: rounds, the report folder, live progress.
#[derive(Debug, Clone)]
pub(super) struct RaceOptions<'a> {
    /// Rounds (`--repeat`).
    pub(super) rounds: u32,
    /// The report folder.
    pub(super) out: &'a Path,
    /// No live progress.
    pub(super) quiet: bool,
    /// `--junit` and `--markdown`.
    pub(super) summaries: &'a super::summaries::SummaryFlags,
    /// `--cores`: generator threads, the same for every target.
    pub(super) cores: Option<std::num::NonZeroUsize>,
}

pub(super) async fn race(
    args: RaceOptions<'_>,
    plan: &Plan,
    targets: Vec<Target>,
    run_id: &str,
    interrupt: Interrupt,
) -> Result<Status, CliError> {
    eprintln!(
        "load race: scenario {} against {} targets, {} round(s) ({} clients each)",
        plan.name,
        targets.len(),
        args.rounds,
        plan.clients()
    );
    let mut runs: Vec<Vec<crate::load::LoadResult>> = vec![Vec::new(); targets.len()];
    'rounds: for round in 1..=args.rounds {
        for (i, t) in targets.iter().enumerate() {
            let opts = EngineOptions {
                run_id: format!("{run_id}-{i}-r{round}"),
                in_process_server: false,
                progress: !args.quiet,
                interrupt: interrupt.clone(),
                cores: args.cores,
            };
            println!("\nround {round} of {}: {}", args.rounds, t.name);
            let r = run_plan(plan, t, &opts).await?;
            super::term::print_load(&report::load_text::render(&r));
            runs[i].push(r);
            if interrupt.is_set() {
                break 'rounds;
            }
        }
    }
    let entrants: Vec<Entrant> = targets
        .iter()
        .zip(runs)
        .filter(|(_, r)| !r.is_empty())
        .map(|(t, r)| Entrant {
            name: t.name.clone(),
            target: t.ws_base.clone(),
            runs: Repeated::new(r, args.rounds),
        })
        .collect();
    let race = Race::new(plan.name.clone(), args.rounds, entrants);
    print!("{}", report::race::text(&race));
    write_race(args.out, &race)?;
    args.summaries.write(
        || {
            let labelled: Vec<_> = race
                .entrants
                .iter()
                .flat_map(|e| match e.runs.runs.as_slice() {
                    [one] => vec![(format!("{}:", e.name), one)],
                    _ => super::summaries::run_labels(&e.runs, &format!("{}:", e.name)),
                })
                .collect();
            report::junit::render_load(&labelled)
        },
        || report::load_markdown::render_race(&race),
    )?;
    println!("report: {}", args.out.join("report.html").display());
    Ok(race.status)
}

fn write_race(dir: &Path, race: &Race) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for e in &race.entrants {
        write_repeated(&dir.join(&e.name), &e.runs)?;
    }
    let json = dir.join("race.json");
    std::fs::write(&json, model::to_json(race)).map_err(io(&json))?;
    let html = dir.join("report.html");
    std::fs::write(&html, report::html::render_race(race)).map_err(io(&html))
}
