//! The terminal: live progress (indicatif) and verdict colours, only on a
//! terminal. Colour is off under `NO_COLOR` (any non-empty value, see
//! no-color.org) and when the stream is not a terminal, so CI logs and
//! redirected output stay plain text.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::conformance::{CaseResult, Verdict};

/// Whether to colour text written to a stream that `is_terminal` describes.
pub(super) fn colour(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// ANSI colour of a verdict word as the text report prints it.
fn paint_word(word: &str) -> Option<&'static str> {
    match word {
        "PASS" => Some("32"),
        "FAIL" | "ERROR" => Some("1;31"),
        "WARN" => Some("33"),
        "SKIP" | "N/A" => Some("2"),
        _ => None,
    }
}

/// The text report with the verdict at the start of each case line (and
/// `[SECURITY]`) coloured; the text itself is unchanged.
pub(super) fn paint_verdicts(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let word = trimmed.split(' ').next().unwrap_or("");
        match (indent == "  ", paint_word(word)) {
            (true, Some(code)) => {
                let rest = &trimmed[word.len()..];
                let rest = rest.replace("[SECURITY]", "\x1b[1;41;37m[SECURITY]\x1b[0m");
                out.push_str(&format!("{indent}\x1b[{code}m{word}\x1b[0m{rest}"));
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// Prints the text report on stdout, coloured on a terminal.
pub(super) fn print_report(text: &str) {
    if colour(std::io::stdout().is_terminal()) {
        print!("{}", paint_verdicts(text));
    } else {
        print!("{text}");
    }
}

/// The live progress of a conformance run against one target: phase,
/// elapsed time, cases done of the total, and the verdicts so far. Hidden
/// when stderr is not a terminal.
#[derive(Debug)]
pub(super) struct CaseProgress {
    bar: ProgressBar,
    counts: [usize; 6],
}

impl CaseProgress {
    /// A bar for `total` cases against `target`.
    pub(super) fn new(target: &str, total: usize) -> CaseProgress {
        let bar = ProgressBar::with_draw_target(
            Some(total as u64),
            if std::io::stderr().is_terminal() {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} cases [{elapsed_precise}] {bar:30} {pos}/{len} done  {wide_msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("[{target}]"));
        bar.enable_steady_tick(Duration::from_millis(250));
        CaseProgress {
            bar,
            counts: [0; 6],
        }
    }

    /// One case finished.
    pub(super) fn finished(&mut self, r: &CaseResult) {
        if let Some(i) = Verdict::ALL.iter().position(|v| *v == r.verdict) {
            self.counts[i] += 1;
        }
        let tally: Vec<String> = Verdict::ALL
            .iter()
            .zip(self.counts)
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| format!("{} {n}", v.as_str()))
            .collect();
        self.bar
            .set_message(format!("{}  last: {}", tally.join(", "), r.id));
        self.bar.inc(1);
    }

    /// Removes the bar (the report follows on stdout).
    pub(super) fn done(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_painted_and_nothing_else_changes() {
        let text =
            "target t\n  PASS  protocol/a\n  FAIL  protocol/b [SECURITY]\n        expected: x\n";
        let painted = paint_verdicts(text);
        assert!(painted.contains("\x1b[32mPASS\x1b[0m  protocol/a"));
        assert!(painted.contains("\x1b[1;31mFAIL\x1b[0m"));
        assert!(painted.contains("\x1b[1;41;37m[SECURITY]"));
        assert!(painted.contains("\n        expected: x\n"));
        let stripped = painted
            .replace("\x1b[32m", "")
            .replace("\x1b[1;31m", "")
            .replace("\x1b[1;41;37m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, text);
    }

    #[test]
    fn no_colour_off_a_terminal() {
        assert!(!colour(false));
    }
}
