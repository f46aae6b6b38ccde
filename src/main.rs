//! `pushcheck`: conformance and load testing for Pusher Channels servers (the harness is being built).

fn main() {}
