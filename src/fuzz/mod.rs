//! `pushcheck fuzz-auth`: property-based testing of a live target's
//! authorization checks (spec 5.2, 5.3, 5.5).
//!
//! Cases come from proptest strategies ([`case::cases`]): channel
//! authorizations of every authorized kind (private, presence with
//! `channel_data`, cache and encrypted variants), sign-ins and signed HTTP API
//! requests, each valid or carrying one [`case::Tamper`] /
//! [`case::RestTamper`]. A correct target accepts every valid case and refuses
//! every tampered one; anything else is a counterexample, shrunk with
//! proptest's value tree and printed with the exact frame or request.
//!
//! Case `i` of seed `s` is generated from its own RNG seeded with `(s, i)`,
//! so a run is reproducible with `--seed` whatever the parallelism.
//! Connections are reused: a subscription is answered, then unsubscribed, so
//! one socket checks thousands of authorizations.

pub mod case;
mod exec;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

pub use case::Case;
pub use exec::{Answer, Execution, Sent};

use crate::client::{ClientError, ExpectError, RestClient, RestError};
use crate::target::Target;
use exec::Worker;

/// A family of authorizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// `pusher:subscribe` to private, presence, cache and encrypted channels (spec 5.2).
    Channel,
    /// `pusher:signin` (spec 5.3).
    Signin,
    /// Signed HTTP API requests (spec 5.5).
    Rest,
}

impl Family {
    /// All families.
    pub const ALL: [Family; 3] = [Family::Channel, Family::Signin, Family::Rest];

    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Channel => "channel",
            Family::Signin => "signin",
            Family::Rest => "rest",
        }
    }
}

impl std::str::FromStr for Family {
    type Err = String;

    fn from_str(s: &str) -> Result<Family, String> {
        Family::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown family {s:?} (channel, signin, rest)"))
    }
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seed of the whole run.
    pub seed: u64,
    /// Number of cases to generate (the run stops earlier once every family has a counterexample).
    pub cases: u64,
    /// Connections (and HTTP requests) in flight at once.
    pub parallel: usize,
    /// Families to generate.
    pub families: Vec<Family>,
    /// Wait for each answer at most this long.
    pub timeout: Duration,
    /// Upper bound on shrink steps per counterexample.
    pub max_shrink_steps: u32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            seed: 0,
            cases: 5000,
            parallel: 16,
            families: Family::ALL.to_vec(),
            timeout: Duration::from_secs(2),
            max_shrink_steps: 256,
        }
    }
}

/// Why fuzz-auth could not run (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// No family selected.
    #[error("no family selected")]
    NoFamilies,
    /// A connection could not be opened or was not established.
    #[error("cannot open a connection to {url}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: Box<ExpectError>,
    },
    /// A frame could not be sent.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// An HTTP request failed at the transport level.
    #[error(transparent)]
    Rest(#[from] RestError),
}

/// A case the target got wrong, before and after shrinking.
#[derive(Debug, Clone)]
pub struct Counterexample {
    /// Index of the case in the run (with the seed, it regenerates the case).
    pub index: u64,
    /// The case as first generated.
    pub original: Case,
    /// The smallest case found that still fails.
    pub minimal: Case,
    /// How the minimal case was sent and answered.
    pub execution: Execution,
    /// Shrink steps tried.
    pub shrink_steps: u32,
}

/// Cases run of one family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Valid cases sent.
    pub valid: u64,
    /// Tampered cases sent.
    pub tampered: u64,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The seed used.
    pub seed: u64,
    /// Cases per family.
    pub counts: BTreeMap<Family, Counts>,
    /// Time spent sending cases (shrinking not included).
    pub elapsed: Duration,
    /// At most one counterexample per family.
    pub counterexamples: BTreeMap<Family, Counterexample>,
}

impl Outcome {
    /// Cases sent in the main phase.
    pub fn total(&self) -> u64 {
        self.counts.values().map(|c| c.valid + c.tampered).sum()
    }

    /// Cases per second in the main phase.
    pub fn cases_per_second(&self) -> f64 {
        self.total() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// 0 when clean, 1 when a counterexample was found.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.counterexamples.is_empty())
    }

    /// The terminal report.
    pub fn render(&self) -> String {
        let mut out = format!(
            "fuzz-auth seed {}: {} cases in {:.2} s ({:.0} cases/s)\n",
            self.seed,
            self.total(),
            self.elapsed.as_secs_f64(),
            self.cases_per_second()
        );
        for (family, c) in &self.counts {
            let verdict = if self.counterexamples.contains_key(family) {
                "COUNTEREXAMPLE"
            } else {
                "ok"
            };
            out.push_str(&format!(
                "  {:8} {:6} valid {:6} tampered  {verdict}\n",
                family.as_str(),
                c.valid,
                c.tampered
            ));
        }
        for (family, cx) in &self.counterexamples {
            out.push_str(&format!(
                "\ncounterexample ({}, case {} of seed {}, {} shrink steps)\n  minimal case: {:?}\n  expected: {}\n  answer:   {:?}\n  reproduce: {}\n",
                family.as_str(),
                cx.index,
                self.seed,
                cx.shrink_steps,
                cx.minimal,
                if cx.minimal.is_valid() { "accepted" } else { "refused" },
                cx.execution.answer,
                cx.execution.sent.reproduce(),
            ));
            if cx.original != cx.minimal {
                out.push_str(&format!("  as first generated: {:?}\n", cx.original));
            }
        }
        out
    }
}

/// The value tree of case `index` of `seed`: its own ChaCha RNG, so the
/// case does not depend on which worker drew it.
fn tree(
    strategy: &impl Strategy<Value = Case>,
    seed: u64,
    index: u64,
) -> impl ValueTree<Value = Case> {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&index.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    strategy
        .new_tree(&mut runner)
        .expect("the case strategies never reject")
}

/// The shared progress of the main phase.
#[derive(Debug, Default)]
struct Progress {
    next: u64,
    counts: BTreeMap<Family, Counts>,
    found: BTreeMap<Family, (u64, Case)>,
}

/// Runs fuzz-auth against `target`.
pub async fn run(target: &Target, options: &Options) -> Result<Outcome, FuzzError> {
    if options.families.is_empty() {
        return Err(FuzzError::NoFamilies);
    }
    let target = Arc::new(target.clone());
    let rest = RestClient::new(
        &target.rest_base,
        target.credentials.clone(),
        options.timeout,
    );
    let progress = RefCell::new(Progress::default());
    let started = Instant::now();
    // Workers interleave on this task: each waits on the network most of the time.
    let workers = (0..options.parallel.max(1)).map(|_| {
        let worker = Worker::new(target.clone(), rest.clone(), options.timeout);
        work(worker, options, &progress)
    });
    for result in futures_util::future::join_all(workers).await {
        result?;
    }
    let elapsed = started.elapsed();
    let progress = progress.into_inner();
    let mut counterexamples = BTreeMap::new();
    let mut worker = Worker::new(target.clone(), rest, options.timeout);
    for (family, (index, case)) in progress.found {
        let cx = shrink(&mut worker, options, index, case).await?;
        counterexamples.insert(family, cx);
    }
    Ok(Outcome {
        seed: options.seed,
        counts: progress.counts,
        elapsed,
        counterexamples,
    })
}

async fn work(
    mut worker: Worker,
    options: &Options,
    progress: &RefCell<Progress>,
) -> Result<(), FuzzError> {
    let strategy = case::cases(&options.families);
    loop {
        let (index, case) = {
            let mut p = progress.borrow_mut();
            if p.next >= options.cases || p.found.len() == options.families.len() {
                return Ok(());
            }
            p.next += 1;
            let index = p.next - 1;
            (index, tree(&strategy, options.seed, index).current())
        };
        if progress.borrow().found.contains_key(&case.family()) {
            continue;
        }
        let execution = worker.execute(&case).await?;
        let mut p = progress.borrow_mut();
        let counts = p.counts.entry(case.family()).or_default();
        if case.is_valid() {
            counts.valid += 1;
        } else {
            counts.tampered += 1;
        }
        // Keep the lowest index: every lower case was issued before the
        // family was marked found, so the choice does not depend on timing.
        if execution.is_counterexample(&case) {
            let family = case.family();
            match p.found.get(&family) {
                Some((known, _)) if *known < index => {}
                _ => {
                    p.found.insert(family, (index, case));
                }
            }
        }
    }
}

/// Shrinks a failing case with proptest's value tree: simplify while the
/// target still gets it wrong, complicate back when it does not.
async fn shrink(
    worker: &mut Worker,
    options: &Options,
    index: u64,
    original: Case,
) -> Result<Counterexample, FuzzError> {
    let strategy = case::cases(&options.families);
    let mut tree = tree(&strategy, options.seed, index);
    let mut best = (original.clone(), worker.execute(&original).await?);
    if !best.1.is_counterexample(&best.0) {
        // Not reproducible on a fresh try; report it as first seen.
        return Ok(Counterexample {
            index,
            minimal: original.clone(),
            original,
            execution: best.1,
            shrink_steps: 0,
        });
    }
    let mut steps = 0;
    let mut more = tree.simplify();
    while more && steps < options.max_shrink_steps {
        steps += 1;
        let candidate = tree.current();
        // The union of families shrinks towards its first family; a case of
        // another family is not a smaller version of this counterexample.
        if candidate.family() != original.family() {
            more = tree.complicate();
            continue;
        }
        let execution = worker.execute(&candidate).await?;
        if execution.is_counterexample(&candidate) {
            best = (candidate, execution);
            more = tree.simplify();
        } else {
            more = tree.complicate();
        }
    }
    Ok(Counterexample {
        index,
        original,
        minimal: best.0,
        execution: best.1,
        shrink_steps: steps,
    })
}
