//! A real `redis-server` (the Debian package) for the cluster tests: one per
//! test binary, shared, each test using its own key prefix; or a private one
//! for a test that stops and restarts it.
//!
//! The server runs under `sh`, which kills it when its stdin closes: when
//! the guard is dropped, or when the test process dies, so no server
//! outlives its tests.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The Debian package that provides the binary.
const PACKAGE: &str = "redis-server";

/// How long a fresh server may take to answer PING.
const READY: Duration = Duration::from_secs(10);

/// A running `redis-server`; dropping it stops it.
#[derive(Debug)]
pub(crate) struct RedisServer {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers PING.
    pub(crate) fn start() -> RedisServer {
        RedisServer::start_on(free_port())
    }

    /// Starts a server on `port` (a restart after [`RedisServer::stop`]).
    pub(crate) fn start_on(port: u16) -> RedisServer {
        RedisServer::spawn(port, None)
    }

    /// Starts a server on `port` that loads `dir/dump.rdb` if there is one
    /// and writes it on `SAVE` only: stopped after a `SAVE` and started
    /// again, Redis has kept its data.
    pub(crate) fn start_keeping(port: Option<u16>, dir: &std::path::Path) -> RedisServer {
        RedisServer::spawn(port.unwrap_or_else(free_port), Some(dir))
    }

    fn spawn(port: u16, dir: Option<&std::path::Path>) -> RedisServer {
        let dir = dir.map_or(String::new(), |d| format!("--dir '{}' ", d.display()));
        let script = format!(
            "redis-server --bind 127.0.0.1 --port {port} --save '' --appendonly no {dir}\
             --protected-mode no --loglevel warning & pid=$!; cat >/dev/null; kill -9 $pid"
        );
        if which().is_none() {
            panic!(
                "redis-server is not installed: the cluster tests need the Debian package \
                 `{PACKAGE}` (apt-get install -y {PACKAGE}); they are never skipped"
            );
        }
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sh for redis-server");
        let stdin = child.stdin.take();
        let server = RedisServer { child, stdin, port };
        server.wait_ready();
        server
    }

    /// `redis://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (SIGKILL: nothing saved) and waits until its port is closed.
    pub(crate) fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
        let deadline = Instant::now() + READY;
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "redis-server did not stop");
            // why: the server stops in another process; its port refusing
            // connections is the only event there is to wait on.
            std::thread::sleep(Duration::from_millis(10)); // why: see above
        }
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + READY;
        loop {
            if ping(self.port) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING within {READY:?}",
                self.port
            );
            // why: the server is starting in another process; there is no
            // event to wait on but its port answering.
            std::thread::sleep(Duration::from_millis(10)); // why: see above
        }
    }

    /// Returns once `nodes` nodes of the cluster under `prefix` (app
    /// `app-id`) listen on its event channel: after a restart, they are
    /// back.
    pub(crate) async fn wait_subscribed(&self, prefix: &str, nodes: usize) {
        let events = format!("{prefix}:app-id:events");
        let want = nodes.to_string();
        crate::support::eventually("every node subscribed again", || {
            let out = self.cli(&["PUBSUB", "NUMSUB", &events]);
            let back = out.lines().nth(1) == Some(want.as_str());
            async move { back }
        })
        .await;
    }

    /// Runs one command with `redis-cli` and returns its output.
    pub(crate) fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("run redis-cli (package redis-tools, a dependency of redis-server)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            self.shut();
        }
    }
}

fn which() -> Option<()> {
    let status = Command::new("sh")
        .args(["-c", "command -v redis-server"])
        .stdout(Stdio::null())
        .status()
        .ok()?;
    status.success().then_some(())
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).is_ok() && line.starts_with("+PONG")
}

/// A port nobody listens on now: bound then released (redis-server cannot
/// pick its own TCP port).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("bound address").port()
}

/// The test binary's shared server.
pub(crate) fn shared() -> &'static RedisServer {
    static SHARED: OnceLock<RedisServer> = OnceLock::new();
    SHARED.get_or_init(RedisServer::start)
}

/// A key prefix no other test uses.
pub(crate) fn unique_prefix(test: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "t{}-{}-{test}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
