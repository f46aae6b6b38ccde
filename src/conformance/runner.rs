//! The runner: cases in parallel with bounded concurrency, a deadline per
//! case, and verdicts derived from Outcome and Level.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::monitor::{self, Breach};
use super::{Case, Ctx, Env, Failure, HarnessError, Level, SpecRef, Verdict};
use crate::client::journal::Entry;
use crate::errors::error_line;
use crate::interrupt::{Interrupt, Request};

/// How to run a selection.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Warn becomes Fail.
    pub strict: bool,
    /// Cases running at once.
    pub concurrency: usize,
    /// A case still running after this is an Error.
    pub case_deadline: Duration,
    /// The deadline of slow cases instead (one waits out the whole REST
    /// timestamp window, 601 s against a production server).
    pub slow_case_deadline: Duration,
    /// Ctrl-C / SIGTERM: no case starts after the first, running cases are
    /// abandoned after the second; both are reported `skip` (interrupted).
    pub interrupt: Interrupt,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            strict: false,
            concurrency: 16,
            case_deadline: Duration::from_secs(30),
            slow_case_deadline: Duration::from_secs(30),
            interrupt: Interrupt::never(),
        }
    }
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Spec reference.
    pub spec: SpecRef,
    /// Level.
    pub level: Level,
    /// The requirement sentence.
    pub requirement: String,
    /// Verdict.
    pub verdict: Verdict,
    /// Expected (violations).
    pub expected: Option<String>,
    /// Actual (violations).
    pub actual: Option<String>,
    /// Skip reason or harness error chain.
    pub message: Option<String>,
    /// Wall time.
    pub duration: Duration,
    /// A failure of this case is a security hole (an accepted forgery, a
    /// leak, a bypass), not only a deviation.
    pub security: bool,
    /// Every frame and HTTP exchange of the case, with relative times.
    pub transcript: Vec<Entry>,
}

impl CaseResult {
    /// A failed or warned case whose failure is a security hole.
    pub fn security_failure(&self) -> bool {
        self.security && matches!(self.verdict, Verdict::Fail | Verdict::Warn)
    }

    /// The transcript as replayable lines (`+12.3ms ws#1 > {...}`).
    pub fn transcript_lines(&self) -> Vec<String> {
        self.transcript.iter().map(Entry::line).collect()
    }

    /// `pushcheck conform --trace`: the verdict, then every frame and HTTP
    /// exchange in order; `>` is sent by the harness, `<` by the target.
    pub fn trace(&self) -> String {
        let mut out = format!("# {} {}\n", self.id, self.verdict.as_str());
        for (k, v) in [
            ("expected", &self.expected),
            ("actual", &self.actual),
            ("message", &self.message),
        ] {
            if let Some(v) = v {
                out.push_str(&format!("# {k}: {v}\n"));
            }
        }
        for line in self.transcript_lines() {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

fn verdict_of(outcome: &Result<(), Failure>, level: Level, strict: bool) -> Verdict {
    match (outcome, level) {
        (Ok(()), _) => Verdict::Pass,
        (Err(Failure::Violation { .. }), Level::Must) => Verdict::Fail,
        (Err(Failure::Violation { .. }), Level::Should) if strict => Verdict::Fail,
        (Err(Failure::Violation { .. }), Level::Should) => Verdict::Warn,
        (Err(Failure::Harness(_)), _) => Verdict::Error,
        (Err(Failure::Skip(_)), _) => Verdict::Skip,
        (Err(Failure::NotApplicable(_)), _) => Verdict::NotApplicable,
    }
}

async fn run_one(case: &Case, env: Arc<Env>, opts: &RunOptions) -> (CaseResult, Vec<Breach>) {
    let start = Instant::now();
    let ctx = Ctx::new(env);
    let journal = ctx.journal().clone();
    let fut = (case.run)(ctx);
    let handle = tokio::spawn(fut);
    let abort = handle.abort_handle();
    let deadline = if case.slow {
        opts.slow_case_deadline
    } else {
        opts.case_deadline
    };
    let outcome = match tokio::time::timeout(deadline, handle).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(join)) => Err(Failure::Harness(HarnessError::Panicked(join.to_string()))),
        Err(_) => {
            abort.abort();
            Err(Failure::Harness(HarnessError::Deadline(
                deadline.as_millis(),
            )))
        }
    };
    let transcript = journal.entries();
    let breaches = monitor::check(&transcript);
    let dropped = breaches
        .iter()
        .find(|b| b.rule == monitor::Rule::DroppedWithoutClose);
    let mut verdict = verdict_of(&outcome, case.level, opts.strict);
    // A connection that dies without a close frame in answer to a frame is
    // a Must failure whatever the case checked (a crashed connection task).
    let outcome = match (dropped, verdict) {
        (Some(b), Verdict::Pass | Verdict::Warn | Verdict::Error) => {
            verdict = Verdict::Fail;
            Err(Failure::violation(b.rule.text(), b.detail.clone()))
        }
        _ => outcome,
    };
    let (expected, actual, message) = match outcome {
        Ok(()) => (None, None, None),
        Err(Failure::Violation { expected, actual }) => (Some(expected), Some(actual), None),
        Err(Failure::Harness(e)) => (None, None, Some(error_line(&e))),
        Err(Failure::Skip(reason) | Failure::NotApplicable(reason)) => {
            (None, None, Some(reason.to_owned()))
        }
    };
    let result = CaseResult {
        id: case.id.into(),
        spec: case.spec,
        level: case.level,
        requirement: case.requirement.into(),
        verdict,
        expected,
        actual,
        message,
        duration: start.elapsed(),
        security: case.security,
        transcript,
    };
    (result, breaches)
}

/// Folds every breach of the run into the monitor case's result, if it ran:
/// the breaches are its failure, with the case and frame of each.
fn report_breaches(results: &mut [CaseResult], breaches: &[(String, Breach)]) {
    let Some(r) = results.iter_mut().find(|r| r.id == monitor::CASE_ID) else {
        return;
    };
    if breaches.is_empty() || r.verdict != Verdict::Pass {
        return;
    }
    let shown: Vec<String> = breaches
        .iter()
        .take(10)
        .map(|(case, b)| format!("[{case}] {}: {}", b.rule.text(), b.detail))
        .collect();
    let more = breaches.len().saturating_sub(shown.len());
    r.verdict = Verdict::Fail;
    r.expected = Some("every server frame of every case obeys the frame invariants".into());
    r.actual = Some(match more {
        0 => shown.join("; "),
        n => format!("{}; and {n} more", shown.join("; ")),
    });
}

/// The result of a case left out of the run (e.g. by `--exclude`): Skip with `reason`.
pub fn skipped(case: &Case, reason: &str) -> CaseResult {
    CaseResult {
        id: case.id.into(),
        spec: case.spec,
        level: case.level,
        requirement: case.requirement.into(),
        verdict: Verdict::Skip,
        expected: None,
        actual: None,
        message: Some(reason.into()),
        duration: Duration::ZERO,
        security: case.security,
        transcript: Vec::new(),
    }
}

/// Runs `cases` against `env`; `progress` is called after each case. Results
/// come back in the order of `cases`.
pub async fn run(
    cases: &[&Case],
    env: Arc<Env>,
    opts: &RunOptions,
    progress: &(dyn Fn(usize, usize, &CaseResult) + Sync),
) -> Vec<CaseResult> {
    let permits = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let total = cases.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let futures = cases.iter().map(|case| {
        let permits = permits.clone();
        let env = env.clone();
        let done = &done;
        async move {
            let _permit = permits
                .acquire()
                .await
                .expect("the semaphore is never closed");
            let (result, breaches) = if opts.interrupt.is_set() {
                (skipped(case, "not run: interrupted"), Vec::new())
            } else {
                tokio::select! {
                    r = run_one(case, env, opts) => r,
                    () = opts.interrupt.wait_for(Request::Abort) => {
                        (skipped(case, "not finished: interrupted"), Vec::new())
                    }
                }
            };
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(n, total, &result);
            (result, breaches)
        }
    });
    let outcomes = futures_util::future::join_all(futures).await;
    let mut breaches = Vec::new();
    let mut results = Vec::with_capacity(outcomes.len());
    for (result, found) in outcomes {
        breaches.extend(found.into_iter().map(|b| (result.id.clone(), b)));
        results.push(result);
    }
    report_breaches(&mut results, &breaches);
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_should_warns_unless_strict() {
        let v = || Err(Failure::violation("a", "b"));
        assert_eq!(verdict_of(&v(), Level::Should, false), Verdict::Warn);
        assert_eq!(verdict_of(&v(), Level::Should, true), Verdict::Fail);
        assert_eq!(verdict_of(&v(), Level::Must, false), Verdict::Fail);
        assert_eq!(
            verdict_of(&Err(Failure::Skip("x")), Level::Must, false),
            Verdict::Skip
        );
        assert_eq!(
            verdict_of(&Err(Failure::NotApplicable("x")), Level::Must, true),
            Verdict::NotApplicable
        );
        assert_eq!(verdict_of(&Ok(()), Level::Must, true), Verdict::Pass);
    }
}
