//! `pushcheck`: parse the command line, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = pushcheck::cli::Cli::parse();
    match pushcheck::cli::run_cli(cli).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let mut text = format!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("{text}");
            ExitCode::from(2)
        }
    }
}
