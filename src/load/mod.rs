//! The scenario runner and load engine, one way through:
//!
//! [`scenario`] (the TOML as written, serde) -> [`overrides`] -> [`validate`]
//! -> [`plan`] (validated, typed) -> run state -> behaviours (one file each)
//! -> [`engine`] (phases: preflight, connect, traffic, drain, finish) ->
//! [`result`] (plain data; [`hlog`] writes and reads a run folder, [`merge`]
//! combines shards). [`capacity`] and [`repeat`] drive the engine from above.
#![doc = include_str!("../../scenarios/README.md")]

pub mod invalid;
pub mod overrides;
pub mod plan;
pub mod scenario;
mod shard;
pub mod shared;
pub mod threshold;
pub mod validate;

mod auth;
mod barrier;
mod behaviour;
mod clock;
mod collector;
pub mod conn;
mod cores;
mod http1;
mod listen;
mod pacing;
mod state;

pub mod capacity;
pub mod engine;
pub mod hlog;
pub mod merge;
pub mod repeat;
pub mod result;

pub use auth::AuthEndpoint;
pub use cores::CoresError;
pub use engine::{EngineError, EngineOptions, run};
pub use result::LoadResult;
pub use state::CONNECTS_IN_FLIGHT;
