//! `pushcheck`: the command layer does the rest (parse, run, exit code).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    pushcheck::cli::main().await
}
