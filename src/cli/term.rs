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

/// The load summary with its verdict words coloured: threshold results,
/// the `verdict:` line, evidence problems and security failures; the text
/// itself is unchanged.
pub(super) fn paint_load(text: &str) -> String {
    let paint = |code: &str, s: &str| format!("\x1b[{code}m{s}\x1b[0m");
    let status_code = |word: &str| match word {
        "pass" => "32",
        "invalid" | "interrupted" => "33",
        _ => "1;31",
    };
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let painted = if body.starts_with("threshold ") {
            [
                (" FAIL (no data)", "1;31"),
                (" FAIL", "1;31"),
                (" pass", "32"),
            ]
            .iter()
            .find_map(|(end, code)| {
                body.strip_suffix(end)
                    .map(|head| format!("{head} {}", paint(code, &end[1..])))
            })
        } else if let Some(rest) = body.strip_prefix("verdict: ") {
            let word = rest.split(' ').next().unwrap_or("");
            Some(format!(
                "verdict: {}{}",
                paint(status_code(word), word),
                &rest[word.len()..]
            ))
        } else if body.starts_with("SECURITY FAILURE:") {
            Some(paint("1;41;37", body))
        } else if body.starts_with("NO VERDICT WITHOUT EVIDENCE:") {
            Some(paint("1;31", body))
        } else {
            body.find("<-- ACCEPTED")
                .map(|i| format!("{}{}", &body[..i], paint("1;41;37", &body[i..])))
        };
        out.push_str(painted.as_deref().unwrap_or(body));
        out.push_str(nl);
    }
    out
}

/// Prints a load summary on stdout, coloured on a terminal.
pub(super) fn print_load(text: &str) {
    if colour(std::io::stdout().is_terminal()) {
        print!("{}", paint_load(text));
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
    fn load_verdicts_are_painted_and_nothing_else_changes() {
        let text = "stage count\nthreshold lost == 0   observed 0 pass\nthreshold deliver.p99 < 5ms observed 9.01 ms FAIL\nthreshold x observed no data FAIL (no data)\nattack wrong-secret attempted 4 accepted 1  <-- ACCEPTED: security failure\nSECURITY FAILURE: the target accepted wrong-secret\nverdict: fail (exit 1)\n";
        let painted = paint_load(text);
        assert!(
            painted.contains("observed 0 \x1b[32mpass\x1b[0m\n"),
            "{painted}"
        );
        assert!(
            painted.contains("9.01 ms \x1b[1;31mFAIL\x1b[0m\n"),
            "{painted}"
        );
        assert!(
            painted.contains("\x1b[1;31mFAIL (no data)\x1b[0m"),
            "{painted}"
        );
        assert!(painted.contains("\x1b[1;41;37m<-- ACCEPTED"), "{painted}");
        assert!(
            painted.contains("\x1b[1;41;37mSECURITY FAILURE:"),
            "{painted}"
        );
        assert!(
            painted.contains("verdict: \x1b[1;31mfail\x1b[0m (exit 1)"),
            "{painted}"
        );
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
