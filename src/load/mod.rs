//! The scenario runner and load engine: scenario TOML -> [`plan::Plan`] ->
//! engine -> populations of simulated clients -> merged measurements.
#![doc = include_str!("../../scenarios/README.md")]

mod invalid;
pub mod plan;
pub mod scenario;
mod shard;
pub mod threshold;

pub use plan::{Plan, ScenarioError};
pub mod engine;
pub mod result;

mod auth;
mod clients;
mod conn;
mod pacing;

pub use auth::AuthEndpoint;
pub use engine::{EngineError, EngineOptions, run};
pub use result::LoadResult;
pub mod capacity;
pub mod command;
pub mod repeat;
