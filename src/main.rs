//! `pushcheck`: the command layer does the rest (parse, run, exit code).

use std::process::ExitCode;

/// jemalloc, not glibc's malloc: the load generator allocates per HTTP
/// publish from every worker thread, and glibc's arenas spent a fifth of its
/// CPU there at 6,000 publishes/s (issue 14).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    pushcheck::cli::main().await
}
