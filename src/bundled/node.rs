//! One bundled cluster node as its own process, so it can really be killed
//! (SIGKILL) and frozen (SIGSTOP). The harness re-executes itself as
//! `pushcheck __node --config FILE --bind ADDR` (a hidden subcommand; the
//! CLI layer parses it and calls [`serve_node`]), which serves one
//! reference server with that config and prints [`READY`], its address and
//! its process id on stdout once it listens.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use reference_server::{Config, ConfigError};
use tokio::net::TcpListener;

/// The line a node prints on stdout once it listens: `READY ADDR PID`.
pub const READY: &str = "pushcheck-node ready";

/// How long a restarted node retries its address while the killed one's
/// socket is still being torn down by the kernel.
const BIND_RETRY: Duration = Duration::from_secs(5);

/// Why a node process stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The config file is missing or invalid.
    #[error("bad node config")]
    Config(#[from] ConfigError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an error (Redis unreachable at start included).
    #[error("the node's server stopped")]
    Serve(#[source] std::io::Error),
}

/// Binds `addr`, retrying "address in use" for a while (a restart binds the
/// port its killed predecessor held).
async fn bind(addr: SocketAddr) -> Result<TcpListener, NodeError> {
    let deadline = tokio::time::Instant::now() + BIND_RETRY;
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && tokio::time::Instant::now() < deadline =>
            {
                // The kernel frees the port when the killed process is gone;
                // nothing signals that, so the bind is retried.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(source) => return Err(NodeError::Bind { addr, source }),
        }
    }
}

/// Serves the reference server configured by the TOML file `config` on
/// `addr` until `shutdown` completes; prints [`READY`] once it listens.
pub async fn serve_node(
    config: &Path,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let config = Config::load(config)?;
    // Each connection is a file descriptor; the default soft limit would cap
    // a node far below what the machine allows.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let listener = bind(addr).await?;
    let local = listener
        .local_addr()
        .map_err(|source| NodeError::Bind { addr, source })?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        // The parent reads this line; if it cannot be written the parent
        // times out and says so.
        let _ = writeln!(out, "{READY} {local} {}", std::process::id());
        let _ = out.flush();
    }
    reference_server::serve(listener, config, shutdown)
        .await
        .map_err(NodeError::Serve)
}

/// Parses a [`READY`] line into the node's address and process id.
pub fn parse_ready(line: &str) -> Option<(SocketAddr, u32)> {
    let rest = line.strip_prefix(READY)?.trim();
    let (addr, pid) = rest.split_once(' ')?;
    Some((addr.parse().ok()?, pid.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_round_trips() {
        let line = format!("{READY} 127.0.0.1:4567 99");
        assert_eq!(
            parse_ready(&line),
            Some(("127.0.0.1:4567".parse().expect("addr"), 99))
        );
        assert_eq!(parse_ready("something else"), None);
        assert_eq!(parse_ready(&format!("{READY} nonsense")), None);
    }

    #[test]
    fn a_node_config_survives_the_file() {
        let sink: SocketAddr = "127.0.0.1:9".parse().expect("addr");
        let mut config = crate::bundled::main_config(sink);
        config.cluster.redis_url = Some("redis://127.0.0.1:1".into());
        config.cluster.lease_ms = 1234;
        let text = toml::to_string(&config).expect("serialises");
        let back = Config::from_toml_str(&text).expect("parses back");
        assert_eq!(format!("{back:?}"), format!("{config:?}"));
    }
}
