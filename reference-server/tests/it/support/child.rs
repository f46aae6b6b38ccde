//! The `reference-server` binary as a child process: its memory and file
//! descriptors are its own, and limits can be set on it.

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Distinguishes the config files of children started by one test process.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// `reference-server` as a child process, so its memory is its own.
pub(crate) struct ChildServer {
    child: Child,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
}

impl ChildServer {
    /// Starts the binary with `config` (TOML text); with `max_files`, under
    /// that open-files limit (soft and hard, so the server cannot raise it).
    pub(crate) fn start(max_files: Option<u32>, config: &str) -> ChildServer {
        let dir = std::env::temp_dir().join(format!(
            "reference-server-child-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("config.toml");
        std::fs::write(&path, config).expect("write config");
        let binary = env!("CARGO_BIN_EXE_reference-server");
        let mut command = match max_files {
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let mut child = command
            .args(["--bind", "127.0.0.1:0", "--config"])
            .arg(&path)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start reference-server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the listening line");
        let addr = line
            .split("ws://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        ChildServer { child, addr }
    }

    /// A `/proc/PID/status` field in KB (`VmRSS`, `VmHWM`).
    pub(crate) fn status_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
