//! `pushcheck __node`: hidden; one node of the bundled cluster, run by the
//! harness as a child process of itself (see [`crate::bundled::node`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::interrupt::{Interrupt, Request};
use crate::status::Status;

/// Flags of `__node`.
#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// The node's reference-server config (TOML).
    #[arg(long)]
    pub config: PathBuf,
    /// Address to listen on (port 0: any free port).
    #[arg(long)]
    pub bind: SocketAddr,
}

pub(super) async fn node(args: NodeArgs, interrupt: Interrupt) -> Result<Status, super::CliError> {
    let stop = async move { interrupt.wait_for(Request::Drain).await };
    crate::bundled::node::serve_node(&args.config, args.bind, stop).await?;
    Ok(Status::Pass)
}
