//! The bundled cluster: N reference-server nodes, each its own process
//! (`pushcheck __node`, see [`super::node`]) on 127.0.0.1:0, sharing one
//! Redis (a `redis-server` found on `PATH` and started here, or an existing
//! one given by URL). Being processes, they can be killed (SIGKILL), frozen
//! (SIGSTOP), resumed (SIGCONT) and started again on the same port: the
//! target's [`Control`] does that for the lifecycle API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use reference_server::Config;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use super::node;
use crate::errors::error_line;
use crate::target::lifecycle::run_shell;
use crate::target::{Action, Control, Credentials, LifecycleError, Node, Target};

/// How long a fresh `redis-server` may take to accept connections.
const REDIS_READY: Duration = Duration::from_secs(10);

/// How long a node process may take to listen, and a restarted one to answer.
const NODE_READY: Duration = Duration::from_secs(20);

/// The bundled nodes' liveness lease: short, so node-death cases are quick,
/// and still many heartbeats long, so a busy machine does not lose a node.
pub const LEASE_MS: u64 = 2000;
/// How often a bundled node renews its lease and reaps dead ones.
pub const HEARTBEAT_MS: u64 = 250;
/// The bundled profile's `[cluster] dead_within`: lease plus two heartbeats
/// plus room for a loaded machine.
pub const DEAD_WITHIN: Duration = Duration::from_millis(LEASE_MS + 2 * HEARTBEAT_MS + 4000);

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
        source: SpawnError,
    },
    /// A node's config could not be written as TOML.
    #[error("cannot write the config of cluster node {index}")]
    Config {
        /// Its index, from 0.
        index: usize,
        /// Why.
        #[source]
        source: toml::ser::Error,
    },
    /// The folder of the nodes' config files could not be written.
    #[error("cannot write {}", path.display())]
    Dir {
        /// The path.
        path: PathBuf,
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
    /// The target: node 0 as its main address, every node in its node list,
    /// and a [`Control`] that kills, freezes and restarts the node processes.
    pub target: Target,
    nodes: Arc<NodeProcesses>,
    _redis: Option<RedisChild>,
}

impl BundledCluster {
    /// Where node `index` listens (the same after a restart).
    pub fn addr(&self, index: usize) -> SocketAddr {
        self.nodes.slots.lock()[index].addr
    }

    /// The process id of node `index`, `None` while it is killed.
    pub fn pid(&self, index: usize) -> Option<u32> {
        self.nodes.slots.lock()[index]
            .running
            .as_ref()
            .map(|r| r.pid)
    }

    /// How many nodes the cluster has.
    pub fn len(&self) -> usize {
        self.nodes.slots.lock().len()
    }

    /// Whether the cluster has no nodes (never, once started).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for BundledCluster {
    fn drop(&mut self) {
        // Target clones may outlive the cluster; the processes must not.
        self.nodes.stop_all();
    }
}

/// A running node process. It runs under `/bin/sh`, which SIGKILLs it once
/// its stdin closes (this dropped, or the harness gone), frozen or not.
#[derive(Debug)]
struct Running {
    pid: u32,
    /// Turns true once the node process has ended.
    exited: tokio::sync::watch::Receiver<bool>,
    _stdin: ChildStdin,
    _shell: Child,
}

/// One node: its config file and address, and its process while it runs.
#[derive(Debug)]
struct Slot {
    name: String,
    config: PathBuf,
    addr: SocketAddr,
    running: Option<Running>,
    frozen: bool,
}

/// The node processes of a cluster and how to start them; the cluster's
/// [`Control`].
#[derive(Debug)]
struct NodeProcesses {
    program: PathBuf,
    dir: PathBuf,
    credentials: Credentials,
    slots: parking_lot::Mutex<Vec<Slot>>,
    timeout: Duration,
}

impl Drop for NodeProcesses {
    fn drop(&mut self) {
        self.stop_all();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl NodeProcesses {
    fn stop_all(&self) {
        for slot in self.slots.lock().iter_mut() {
            slot.running = None;
        }
    }

    fn error(
        &self,
        index: usize,
        action: Action,
        reason: impl std::fmt::Display,
    ) -> LifecycleError {
        LifecycleError::Bundled {
            node: self
                .slots
                .lock()
                .get(index)
                .map_or_else(|| format!("#{index}"), |s| s.name.clone()),
            action,
            reason: reason.to_string(),
        }
    }

    /// Sends `signal` to node `index`'s process.
    async fn signal(
        &self,
        index: usize,
        action: Action,
        signal: &str,
    ) -> Result<(), LifecycleError> {
        let (name, pid, mut exited) = {
            let slots = self.slots.lock();
            let slot = &slots[index];
            match (&slot.running, action, slot.frozen) {
                (None, _, _) => Err("the node is not running"),
                (Some(_), Action::Stop, true) => Err("the node is already frozen"),
                (Some(_), Action::Cont, false) => Err("the node is not frozen"),
                (Some(r), _, _) => Ok((slot.name.clone(), r.pid, r.exited.clone())),
            }
        }
        .map_err(|reason| self.error(index, action, reason))?;
        let command = format!("kill -{signal} {pid}");
        run_shell(&name, action, &command, self.timeout).await?;
        if action == Action::Kill {
            // Done once the process is gone and its sockets with it.
            let gone = exited.wait_for(|e| *e);
            if tokio::time::timeout(self.timeout, gone).await.is_err() {
                return Err(self.error(index, action, "the process outlived SIGKILL"));
            }
        }
        let mut slots = self.slots.lock();
        let slot = &mut slots[index];
        match action {
            Action::Kill => {
                // Dropping the shell's stdin makes it SIGKILL the (already
                // dead) node and exit.
                slot.running = None;
                slot.frozen = false;
            }
            Action::Stop => slot.frozen = true,
            Action::Cont => slot.frozen = false,
            Action::Start => {}
        }
        Ok(())
    }

    async fn restart(&self, index: usize) -> Result<(), LifecycleError> {
        let (config, addr, name) = {
            let slots = self.slots.lock();
            let slot = &slots[index];
            if slot.running.is_some() {
                return Err(LifecycleError::Bundled {
                    node: slot.name.clone(),
                    action: Action::Start,
                    reason: "the node is running".into(),
                });
            }
            (slot.config.clone(), slot.addr, slot.name.clone())
        };
        let (running, _) = spawn_node(&self.program, &config, addr)
            .await
            .map_err(|e| self.error(index, Action::Start, error_line(&e)))?;
        self.slots.lock()[index].running = Some(running);
        let url = format!("ws://{addr}");
        let target = Target::new(
            &name,
            &url,
            None,
            self.credentials.clone(),
            crate::target::Profile::default(),
        )
        .map_err(|e| self.error(index, Action::Start, e))?;
        crate::target::preflight(&target, self.timeout)
            .await
            .map_err(|e| self.error(index, Action::Start, error_line(&e)))?;
        Ok(())
    }
}

/// The cluster's nodes as the target's [`Control`].
#[derive(Debug)]
struct ClusterControl(Weak<NodeProcesses>);

impl Control for ClusterControl {
    fn supports(&self, _: Action) -> bool {
        true
    }

    fn act(&self, index: usize, action: Action) -> BoxFuture<'_, Result<(), LifecycleError>> {
        Box::pin(async move {
            let Some(nodes) = self.0.upgrade() else {
                return Err(LifecycleError::Bundled {
                    node: format!("node-{}", index + 1),
                    action,
                    reason: "the bundled cluster has stopped".into(),
                });
            };
            if index >= nodes.slots.lock().len() {
                return Err(nodes.error(index, action, "no such node"));
            }
            match action {
                Action::Kill => nodes.signal(index, action, "KILL").await,
                Action::Stop => nodes.signal(index, action, "STOP").await,
                Action::Cont => nodes.signal(index, action, "CONT").await,
                Action::Start => nodes.restart(index).await,
            }
        })
    }
}

/// Why a node process could not start.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The program could not be run.
    #[error("cannot run {}", program.display())]
    Spawn {
        /// The program (the harness itself).
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It exited or went silent before saying it listens.
    #[error("the node process did not report ready within {} ms", .0.as_millis())]
    NotReady(Duration),
    /// It exited before saying it listens.
    #[error("the node process exited before it listened")]
    Exited,
}

/// Starts `program __node --config CONFIG --bind ADDR` under a shell that
/// kills it when its stdin closes; returns once it printed its ready line.
async fn spawn_node(
    program: &Path,
    config: &Path,
    addr: SocketAddr,
) -> Result<(Running, SocketAddr), SpawnError> {
    // fd 3 keeps the harness's pipe for the watcher: an asynchronous list
    // reads /dev/null unless redirected. The watcher SIGKILLs the node
    // once the pipe closes; the shell itself waits for the node, so its
    // stdout (the harness's pipe) closes exactly when the node is gone.
    let script = "exec 3<&0; trap '' INT; \
                  \"$0\" __node --config \"$1\" --bind \"$2\" </dev/null 3<&- & pid=$!; \
                  (cat <&3 >/dev/null 2>&1; kill -9 $pid 2>/dev/null) >/dev/null 2>&1 & \
                  exec 3<&-; wait $pid 2>/dev/null";
    let spawn_error = |source| SpawnError::Spawn {
        program: program.to_owned(),
        source,
    };
    let mut shell = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .arg(program)
        .arg(config)
        .arg(addr.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(spawn_error)?;
    let stdin = shell.stdin.take().expect("piped");
    let stdout = shell.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let ready = async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(found) = node::parse_ready(&line) {
                return Some(found);
            }
        }
        None
    };
    let (bound, pid) = match tokio::time::timeout(NODE_READY, ready).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(SpawnError::Exited),
        Err(_) => return Err(SpawnError::NotReady(NODE_READY)),
    };
    // Keep draining its stdout so a full pipe never stalls it; its end is
    // the node's end.
    let (gone, exited) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        while let Ok(Some(_)) = lines.next_line().await {}
        let _ = gone.send(true);
    });
    Ok((
        Running {
            pid,
            exited,
            _stdin: stdin,
            _shell: shell,
        },
        bound,
    ))
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
    // Ctrl-C reaches the whole foreground process group: the shell and
    // its cat ignore it, and redis-server (which handles SIGINT by shutting
    // down) runs in its own session where it can, so a draining harness
    // keeps its Redis.
    let script = "trap '' INT; set -- \"$0\" --bind 127.0.0.1 --port \"$1\" --save '' \
                  --appendonly no --protected-mode no; \
                  if command -v setsid >/dev/null 2>&1; then setsid \"$@\" & else \"$@\" & fi; \
                  pid=$!; cat >/dev/null; kill -9 $pid 2>/dev/null";
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

/// The program a node process runs: the harness itself (`pushcheck __node`).
pub fn node_program() -> std::io::Result<PathBuf> {
    std::env::current_exe()
}

/// Starts `n` node processes configured by [`super::main_config`] sharing
/// one Redis: `redis_url`, or a `redis-server` from `PATH` started for the
/// run. `configure` adjusts each node's config (tests switch faults on there).
pub async fn start(
    n: usize,
    redis_url: Option<&str>,
    sink: SocketAddr,
    configure: impl Fn(usize, &mut Config),
) -> Result<BundledCluster, ClusterError> {
    let program = node_program().map_err(|source| ClusterError::Node {
        index: 0,
        source: SpawnError::Spawn {
            program: PathBuf::from("pushcheck"),
            source,
        },
    })?;
    start_using(&program, n, redis_url, sink, configure).await
}

/// [`start`] with the nodes run by `program`, a `pushcheck` binary (tests
/// pass `env!("CARGO_BIN_EXE_pushcheck")`: their own executable is the test
/// binary).
pub async fn start_using(
    program: &Path,
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
    let dir = std::env::temp_dir().join(&prefix);
    std::fs::create_dir_all(&dir).map_err(|e| ClusterError::Dir {
        path: dir.clone(),
        source: e,
    })?;
    let mut profile = super::profile(sink);
    profile.settle = Some(CLUSTER_SETTLE);
    profile.cluster.dead_within = DEAD_WITHIN;
    profile.cluster.command_timeout = NODE_READY;
    let creds = Credentials::new("app-id", "app-key", "app-secret");
    let processes = Arc::new(NodeProcesses {
        program: program.to_owned(),
        dir: dir.clone(),
        credentials: creds.clone(),
        slots: parking_lot::Mutex::new(Vec::with_capacity(n)),
        timeout: NODE_READY,
    });
    for index in 0..n {
        let name = format!("node-{}", index + 1);
        let mut config = super::main_config(sink);
        config.cluster.redis_url = Some(url.clone());
        config.cluster.key_prefix = prefix.clone();
        config.cluster.node_id = Some(name.clone());
        config.cluster.lease_ms = LEASE_MS;
        config.cluster.heartbeat_ms = HEARTBEAT_MS;
        configure(index, &mut config);
        let path = dir.join(format!("{name}.toml"));
        let text =
            toml::to_string(&config).map_err(|e| ClusterError::Config { index, source: e })?;
        std::fs::write(&path, text).map_err(|e| ClusterError::Dir {
            path: path.clone(),
            source: e,
        })?;
        let any: SocketAddr = "127.0.0.1:0".parse().expect("valid");
        let (running, addr) = spawn_node(program, &path, any)
            .await
            .map_err(|source| ClusterError::Node { index, source })?;
        let url = format!("ws://{addr}");
        profile
            .nodes
            .push(Node::new(&name, &url, &format!("http://{addr}")));
        processes.slots.lock().push(Slot {
            name,
            config: path,
            addr,
            running: Some(running),
            frozen: false,
        });
    }
    let first = &profile.nodes[0];
    let mut target = Target::new(
        "reference-cluster",
        &first.url,
        Some(&first.rest_url),
        creds,
        profile.clone(),
    )
    .expect("a ws:// url built here is valid");
    target.bundled = true;
    target.control = Some(Arc::new(ClusterControl(Arc::downgrade(&processes))));
    Ok(BundledCluster {
        target,
        nodes: processes,
        _redis: redis,
    })
}
