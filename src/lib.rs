//! pushcheck: conformance and load testing for Pusher Channels compatible servers.
//!
//! # Layout
//!
//! - [`wire`]: the harness's own codec (envelopes, close codes, channel kinds).
//! - [`signing`]: channel auth, sign-in, REST signing, webhook verification.
//! - [`target`]: where a target lives, its credentials and capability profile.
//! - [`client`]: the WebSocket protocol client, the signed REST client, the webhook sink.
//! - [`conformance`]: cases (one module per spec section), registry and runner.
//! - [`load`]: scenarios, plans, the load engine and its populations.
//! - [`attack`]: forgery and replay generators.
//! - [`metrics`]: per-worker HdrHistograms, the delivery ledger, error counters.
//! - [`report`]: one report model rendered as text, JSON, JUnit and Markdown.
//! - [`fuzz`]: `fuzz-auth`, property-based testing of a live target's auth checks.
//! - [`gate`]: `compare`, the regression gate against a baseline report.
//! - [`bundled`]: the in-process reference server used when no target is given.
//! - [`cli`]: the command line.

pub mod attack;
pub mod bundled;
pub mod cli;
pub mod client;
pub mod conformance;
pub mod fuzz;
pub mod gate;
pub mod load;
pub mod metrics;
pub mod report;
pub mod signing;
pub mod target;
pub mod wire;
