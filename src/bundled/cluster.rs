//! The bundled cluster: N reference-server nodes in-process, each on
//! 127.0.0.1:0, sharing one Redis (a `redis-server` found on `PATH` and
//! started here, or an existing one given by URL).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reference_server::{Config, Server};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::target::{Credentials, Node, Target};

/// How long a fresh `redis-server` may take to accept connections.
const REDIS_READY: Duration = Duration::from_secs(10);

/// What the harness listens for after a sentinel on a cluster: cross-node
/// paths (Redis pub/sub, then the node's fan-out) may lag a local delivery.
pub const CLUSTER_SETTLE: Duration = Duration::from_millis(200);

/// Why the bundled cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No `--redis` and no `redis-server` on `PATH`.
    #[error(
        "--cluster needs Redis: no redis-server on PATH and no --redis URL given (install the redis-server package or pass --redis redis://HOST:PORT)"
    )]
    NoRedis,
    /// `redis-server` was found but did not come up.
    #[error("cannot start {path}: {reason}")]
    RedisStart {
        /// The binary.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The Redis at the URL did not answer PING.
    #[error("redis at {url} does not answer")]
    RedisUnreachable {
        /// The URL tried.
        url: String,
        /// Why.
        #[source]
        source: redis::RedisError,
    },
    /// A node could not start.
    #[error("cannot start cluster node {index}")]
    Node {
        /// Its index, from 0.
        index: usize,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A `redis-server` child. It runs under `/bin/sh`, which kills it once its
/// stdin closes: when this is dropped, or when the harness dies, so no
/// server outlives the run.
#[derive(Debug)]
struct RedisChild {
    // Closing stdin is what stops it; the shell then exits by itself (it is
    // not killed, which would orphan the server).
    _stdin: ChildStdin,
    _child: Child,
}

/// The running cluster; dropping it stops the nodes, then Redis.
#[derive(Debug)]
pub struct BundledCluster {
    /// The nodes, in the order of the target's node list.
    pub nodes: Vec<Server>,
    /// The target: node 0 as its main address, every node in its node list.
    pub target: Target,
    _redis: Option<RedisChild>,
}

/// `redis-server` in a directory of `PATH`.
fn redis_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
}

fn start_error(path: &std::path::Path, reason: impl std::fmt::Display) -> ClusterError {
    ClusterError::RedisStart {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Starts `redis-server` on a free loopback port; returns it and its URL
/// once it logs that it accepts connections.
async fn start_redis(path: &std::path::Path) -> Result<(RedisChild, String), ClusterError> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| start_error(path, e))?
        .port();
    let script = "\"$0\" --bind 127.0.0.1 --port \"$1\" --save '' --appendonly no \
                  --protected-mode no & pid=$!; cat >/dev/null; kill -9 $pid";
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .arg(path)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| start_error(path, e))?;
    let stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let ready = async {
        while let Some(line) = lines.next_line().await? {
            if line.contains("Ready to accept connections") {
                return Ok(true);
            }
        }
        Ok::<_, std::io::Error>(false)
    };
    match tokio::time::timeout(REDIS_READY, ready).await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => return Err(start_error(path, "it exited before accepting connections")),
        Ok(Err(e)) => return Err(start_error(path, e)),
        Err(_) => {
            return Err(start_error(
                path,
                format!("not ready within {REDIS_READY:?}"),
            ));
        }
    }
    // Keep draining its log so a full pipe never stalls it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let redis = RedisChild {
        _stdin: stdin,
        _child: child,
    };
    Ok((redis, format!("redis://127.0.0.1:{port}")))
}

/// PINGs the Redis at `url`, so a wrong URL is reported before any node starts.
async fn ping(url: &str) -> Result<(), ClusterError> {
    let unreachable = |source| ClusterError::RedisUnreachable {
        url: url.into(),
        source,
    };
    let client = redis::Client::open(url).map_err(unreachable)?;
    let mut conn = tokio::time::timeout(REDIS_READY, client.get_multiplexed_async_connection())
        .await
        .map_err(|_| {
            unreachable(redis::RedisError::from(std::io::Error::from(
                std::io::ErrorKind::TimedOut,
            )))
        })?
        .map_err(unreachable)?;
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map_err(unreachable)?;
    Ok(())
}

/// A key prefix no other bundled cluster in this process or on this Redis uses.
fn fresh_prefix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "pushcheck-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Starts `n` nodes configured by [`super::main_config`] sharing one Redis:
/// `redis_url`, or a `redis-server` from `PATH` started for the run.
/// `configure` adjusts each node's config (tests switch faults on there).
pub async fn start(
    n: usize,
    redis_url: Option<&str>,
    sink: SocketAddr,
    configure: impl Fn(usize, &mut Config),
) -> Result<BundledCluster, ClusterError> {
    let (redis, url) = match redis_url {
        Some(url) => (None, url.to_owned()),
        None => {
            let path = redis_on_path().ok_or(ClusterError::NoRedis)?;
            let (child, url) = start_redis(&path).await?;
            (Some(child), url)
        }
    };
    ping(&url).await?;
    let prefix = fresh_prefix();
    let mut profile = super::profile(sink);
    profile.settle = Some(CLUSTER_SETTLE);
    let mut servers = Vec::with_capacity(n);
    for index in 0..n {
        let mut config = super::main_config(sink);
        config.cluster.redis_url = Some(url.clone());
        config.cluster.key_prefix = prefix.clone();
        config.cluster.node_id = Some(format!("node-{}", index + 1));
        configure(index, &mut config);
        let (server, target) = super::serve(config, "reference-cluster", profile.clone())
            .await
            .map_err(|source| ClusterError::Node { index, source })?;
        profile.nodes.push(Node {
            url: target.ws_base.clone(),
            rest_url: target.rest_base.clone(),
        });
        servers.push(server);
    }
    let first = &profile.nodes[0];
    let creds = Credentials::new("app-id", "app-key", "app-secret");
    let mut target = Target::new(
        "reference-cluster",
        &first.url,
        Some(&first.rest_url),
        creds,
        profile.clone(),
    )
    .expect("a ws:// url built here is valid");
    target.bundled = true;
    Ok(BundledCluster {
        nodes: servers,
        target,
        _redis: redis,
    })
}
