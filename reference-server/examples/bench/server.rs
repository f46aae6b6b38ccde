//! The server under test: spawned as a child or attached to by URL; its RSS; the open-files limit.

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft limit.
/// Children spawned afterwards inherit it.
pub(crate) fn raise_nofile_limit() -> Result<u64, String> {
    rlimit::increase_nofile_limit(u64::MAX)
        .map_err(|e| format!("cannot raise the open-files limit: {e}"))
}

/// A server's resident set size in KB; `None` when its PID is unknown.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rss(Option<u64>);

impl Rss {
    pub(crate) fn kb(self) -> Option<u64> {
        self.0
    }
}

/// The server being measured.
#[derive(Debug)]
pub(crate) struct Server {
    addr: SocketAddr,
    pid: Option<u32>,
    /// Present when the bench started the server; it is killed on drop.
    child: Option<Child>,
}

impl Server {
    /// Starts `bin --bind 127.0.0.1:0 [--config FILE]` and reads the address
    /// from its first line.
    pub(crate) fn spawn(bin: Option<PathBuf>, config: Option<&Path>) -> Result<Server, String> {
        let bin = match bin {
            Some(bin) => bin,
            None => default_bin()?,
        };
        let mut command = Command::new(&bin);
        command.args(["--bind", "127.0.0.1:0"]);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let pid = child.id();
        let stdout = child
            .stdout
            .take()
            .ok_or("the server's stdout is not piped")?;
        let mut server = Server {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            pid: Some(pid),
            child: Some(child),
        };
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| format!("{} exited without printing its address", bin.display()))?;
        server.addr = listening_addr(&first)
            .ok_or_else(|| format!("unexpected first line from the server: {first}"))?;
        // Keep draining stdout: a closed pipe would make the server's next print fail.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = writeln!(std::io::stdout(), "server: {line}");
            }
        });
        Ok(server)
    }

    /// A server someone else runs; loopback only.
    pub(crate) fn attach(url: &reqwest::Url, pid: Option<u32>) -> Result<Server, String> {
        let addr = url
            .socket_addrs(|| Some(80))
            .map_err(|e| format!("cannot resolve {url}: {e}"))?
            .into_iter()
            .find(|addr| addr.ip().is_loopback())
            .ok_or_else(|| {
                format!("{url} is not a loopback address; the bench runs on loopback only")
            })?;
        Ok(Server {
            addr,
            pid,
            child: None,
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn http_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `VmRSS` from `/proc/PID/status`.
    pub(crate) fn rss(&self) -> Result<Rss, String> {
        let Some(pid) = self.pid else {
            return Ok(Rss(None));
        };
        let path = format!("/proc/{pid}/status");
        let status =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let kb = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no VmRSS line in {path}"))?;
        Ok(Rss(Some(kb)))
    }
}

impl Server {
    /// User plus system CPU time the server has used so far.
    pub(crate) fn cpu(&self) -> Result<Option<Duration>, String> {
        self.pid
            .map(|pid| cpu_time(&format!("/proc/{pid}/stat")))
            .transpose()
    }
}

/// User plus system CPU time this process has used so far.
pub(crate) fn own_cpu() -> Result<Option<Duration>, String> {
    cpu_time("/proc/self/stat").map(Some)
}

/// `utime + stime` from a `/proc/.../stat` file, in clock ticks of 1/100 s
/// (the Linux `USER_HZ`).
fn cpu_time(path: &str) -> Result<Duration, String> {
    let stat = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    // Fields after the parenthesised command name, which may contain spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3.
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => Ok(Duration::from_millis((user + system) * 10)),
        _ => Err(format!("unexpected format of {path}")),
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}", self.addr)?;
        match (self.pid, &self.child) {
            (Some(pid), Some(_)) => write!(f, " (spawned, pid {pid})"),
            (Some(pid), None) => write!(f, " (pid {pid})"),
            (None, _) => write!(f, " (pid unknown: no RSS figures)"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `target/<profile>/reference-server`, next to the `examples/` directory this runs from.
fn default_bin() -> Result<PathBuf, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot locate the bench binary: {e}"))?;
    let bin = exe
        .parent()
        .and_then(|examples| examples.parent())
        .map(|profile| profile.join("reference-server"));
    match bin {
        Some(bin) if bin.exists() => Ok(bin),
        _ => Err("no reference-server binary next to the examples directory; run `cargo build --release -p reference-server` first or pass --server-bin".to_owned()),
    }
}

/// The address in `reference-server listening on ws://ADDR/app/...`.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split_once("ws://")?.1;
    rest.split_once('/')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_address_from_the_server_banner() {
        let line = "reference-server listening on ws://127.0.0.1:41234/app/app-key (app id app-id), http://127.0.0.1:41234/apps/app-id";
        assert_eq!(
            listening_addr(line),
            Some(SocketAddr::from(([127, 0, 0, 1], 41234)))
        );
        assert_eq!(listening_addr("something else"), None);
    }
}
