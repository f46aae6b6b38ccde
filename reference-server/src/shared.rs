//! What every request handler and connection task shares.

use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::faults::Handle;
use crate::hub::Hub;

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) faults: Handle,
    pub(crate) hub: Hub,
    /// Flips to `true` when the server shuts down.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Each connection task holds a clone; shutdown waits until all are dropped.
    pub(crate) live: mpsc::Sender<()>,
}
