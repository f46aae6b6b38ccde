//! The `pushcheck` command line.
fn main() {}
