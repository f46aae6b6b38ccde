//! `pushcheck completions SHELL` and `pushcheck man`: generated from the
//! clap definitions (clap_complete, clap_mangen), so they list exactly
//! the flags the binary takes.

use clap::CommandFactory;

use super::Cli;

/// Flags of `completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, elvish, fish, powershell or zsh.
    pub shell: clap_complete::Shell,
}

/// The completion script of `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "pushcheck", &mut out);
    out
}

/// The man page (roff) of `pushcheck`: options, the subcommands, exit
/// codes and environment (the `after_help` text).
pub fn man() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_know_every_subcommand_and_the_report_flags() {
        let bash = String::from_utf8(completions(clap_complete::Shell::Bash)).expect("utf-8");
        for word in [
            "conform",
            "load",
            "completions",
            "man",
            "--html",
            "--preset",
        ] {
            assert!(bash.contains(word), "bash completion lacks {word}");
        }
        let zsh = String::from_utf8(completions(clap_complete::Shell::Zsh)).expect("utf-8");
        assert!(zsh.starts_with("#compdef pushcheck"));
    }

    #[test]
    fn the_man_page_is_roff_with_the_subcommands() {
        let page = String::from_utf8(man().expect("renders")).expect("utf-8");
        assert!(
            page.starts_with(".ie") || page.starts_with(".TH"),
            "{}",
            &page[..40]
        );
        assert!(page.contains(".TH pushcheck"));
        assert!(page.contains("conform") && page.contains("completions"));
    }
}
