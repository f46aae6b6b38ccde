//! pushcheck: conformance and load testing for Pusher Channels compatible servers.
//!
//! # Layout
//!
//! Lower modules never import higher ones (no import cycles):
//!
//! - [`status`]: the one exit status of every subcommand and its precedence.
//! - [`interrupt`]: Ctrl-C / SIGTERM as a value passed in.
//! - [`errors`]: an error and its causes on one line, for people.
//! - [`wire`]: the harness's own codec (envelopes, close codes, channel kinds).
//! - [`signing`]: credentials, channel auth, sign-in, REST signing, webhook verification.
//! - [`client`]: the WebSocket protocol client, the signed REST client, the webhook sink.
//! - [`target`]: where a target lives (every URL form), its profile, and the preflight.
//! - [`attack`]: forgery and replay generators.
//! - [`metrics`]: per-worker HdrHistograms, the delivery ledger, error counters.
//! - [`conformance`]: cases (one module per spec section), registry and runner.
//! - [`load`]: scenario -> plan -> run state -> behaviours -> engine -> result.
//! - [`fuzz`]: `fuzz-auth`, property-based testing of a live target's auth checks.
//! - [`gate`]: `compare`, the regression gate against a baseline report.
//! - [`report`]: one report model rendered as text, JSON, JUnit, Markdown and HTML.
//! - [`bundled`]: the in-process reference server used when no target is given.
//! - [`cli`]: the command line, the only place clap and exit codes live.

pub mod attack;
pub mod bundled;
pub mod cli;
pub mod client;
pub mod conformance;
pub mod errors;
pub mod fuzz;
pub mod gate;
pub mod interrupt;
pub mod load;
pub mod metrics;
pub mod report;
pub mod signing;
pub mod status;
pub mod target;
pub mod wire;
