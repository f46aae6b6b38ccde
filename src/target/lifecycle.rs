//! Node lifecycle: kill, freeze (stop), resume (cont) and start a node of a
//! clustered target.
//!
//! A target the harness does not own gives shell commands per node in its
//! profile (`[[nodes]]` `kill`, `start`, `stop`, `cont`; see the module docs
//! of [`crate::target`]); the bundled cluster acts on its node processes
//! itself through a [`Control`] it sets on the target. A case or scenario
//! asks [`supports`] first (an action no node can do makes it N/A) and then
//! calls [`kill`], [`stop`], [`cont`] or [`start`]: each returns once the
//! action is done (for `start`: once the node answers again), or an error
//! naming the node and the command.

use std::fmt;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::process::Command;

use super::{Node, Target};

/// What can be done to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Kill at once (SIGKILL): no goodbye to Redis, peers or clients.
    Kill,
    /// Start again after a kill, as the same node at the same address.
    Start,
    /// Freeze (SIGSTOP): sockets stay open, nothing is answered.
    Stop,
    /// Resume a frozen node (SIGCONT).
    Cont,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 4] = [Action::Kill, Action::Start, Action::Stop, Action::Cont];

    /// The profile key naming it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Kill => "kill",
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Cont => "cont",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a lifecycle action failed.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The target has no node at this index.
    #[error("target {target} has no node {index} (it has {count})")]
    NoNode {
        /// The target's name.
        target: String,
        /// The index asked for.
        index: usize,
        /// How many nodes it has.
        count: usize,
    },
    /// The profile gives no command for this action on this node.
    #[error("node {node} has no `{action}` command in the target profile")]
    Unsupported {
        /// The node's name.
        node: String,
        /// The action.
        action: Action,
    },
    /// The command could not be started.
    #[error("{action} of node {node}: cannot run `{command}`")]
    Spawn {
        /// The node's name.
        node: String,
        /// The action.
        action: Action,
        /// The command, placeholders filled in.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The command exited unsuccessfully.
    #[error("{action} of node {node}: `{command}` failed ({status}){}", stderr_tail(.stderr))]
    Failed {
        /// The node's name.
        node: String,
        /// The action.
        action: Action,
        /// The command, placeholders filled in.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The last line it wrote to stderr.
        stderr: String,
    },
    /// The command did not finish in time (it is killed).
    #[error("{action} of node {node}: `{command}` did not finish within {} ms", .timeout.as_millis())]
    Timeout {
        /// The node's name.
        node: String,
        /// The action.
        action: Action,
        /// The command, placeholders filled in.
        command: String,
        /// The limit (`[cluster] command_timeout`).
        timeout: Duration,
    },
    /// A started node did not answer in time.
    #[error("start of node {node}: `{command}` succeeded but the node did not answer within {} ms", .timeout.as_millis())]
    NotReady {
        /// The node's name.
        node: String,
        /// The command, placeholders filled in.
        command: String,
        /// The limit (`[cluster] command_timeout`).
        timeout: Duration,
    },
    /// The harness's own node process could not do it (bundled cluster).
    #[error("{action} of node {node}: {reason}")]
    Bundled {
        /// The node's name.
        node: String,
        /// The action.
        action: Action,
        /// What went wrong.
        reason: String,
    },
}

fn stderr_tail(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

/// Acts on the nodes of a target the harness runs itself (the bundled
/// cluster), in place of profile commands.
pub trait Control: fmt::Debug + Send + Sync {
    /// Whether this controller can do `action`.
    fn supports(&self, action: Action) -> bool;
    /// Does `action` to node `index` (of [`Target::nodes`]); done when it returns.
    fn act(&self, index: usize, action: Action) -> BoxFuture<'_, Result<(), LifecycleError>>;
}

/// Whether `action` can be done to every node of `target` (false for a
/// target of one node without commands).
pub fn supports(target: &Target, action: Action) -> bool {
    match &target.control {
        Some(c) => c.supports(action),
        None => {
            let nodes = target.nodes();
            !target.profile.nodes.is_empty() && nodes.iter().all(|n| n.command(action).is_some())
        }
    }
}

/// Kills node `index` of `target`.
pub async fn kill(target: &Target, index: usize) -> Result<(), LifecycleError> {
    act(target, index, Action::Kill).await
}

/// Freezes node `index` of `target`.
pub async fn stop(target: &Target, index: usize) -> Result<(), LifecycleError> {
    act(target, index, Action::Stop).await
}

/// Resumes frozen node `index` of `target`.
pub async fn cont(target: &Target, index: usize) -> Result<(), LifecycleError> {
    act(target, index, Action::Cont).await
}

/// Starts node `index` of `target` again; returns once it answers.
pub async fn start(target: &Target, index: usize) -> Result<(), LifecycleError> {
    act(target, index, Action::Start).await
}

/// Does `action` to node `index` of `target`.
pub async fn act(target: &Target, index: usize, action: Action) -> Result<(), LifecycleError> {
    let nodes = target.nodes();
    let Some(node) = nodes.get(index) else {
        return Err(LifecycleError::NoNode {
            target: target.name.clone(),
            index,
            count: nodes.len(),
        });
    };
    if let Some(control) = &target.control {
        return control.act(index, action).await;
    }
    let template = node
        .command(action)
        .ok_or_else(|| LifecycleError::Unsupported {
            node: node.name.clone(),
            action,
        })?;
    let command = fill(template, node, index);
    let timeout = target.profile.cluster.command_timeout;
    run_shell(&node.name, action, &command, timeout).await?;
    if action == Action::Start {
        wait_ready(target, node, &command, timeout).await?;
    }
    Ok(())
}

/// The command with `{node}`, `{index}`, `{url}`, `{rest_url}`, `{host}`
/// and `{port}` filled in from `node`.
pub fn fill(template: &str, node: &Node, index: usize) -> String {
    let authority = node
        .url
        .split_once("://")
        .map_or(node.url.as_str(), |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => (h, p),
        _ => (authority, ""),
    };
    template
        .replace("{node}", &node.name)
        .replace("{index}", &index.to_string())
        .replace("{rest_url}", &node.rest_url)
        .replace("{url}", &node.url)
        .replace("{host}", host)
        .replace("{port}", port)
}

/// Runs `command` under `/bin/sh -c`, killed if it outlasts `timeout`.
pub async fn run_shell(
    node: &str,
    action: Action,
    command: &str,
    timeout: Duration,
) -> Result<(), LifecycleError> {
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| LifecycleError::Spawn {
            node: node.into(),
            action,
            command: command.into(),
            source,
        })?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(source)) => {
            return Err(LifecycleError::Spawn {
                node: node.into(),
                action,
                command: command.into(),
                source,
            });
        }
        Err(_) => {
            return Err(LifecycleError::Timeout {
                node: node.into(),
                action,
                command: command.into(),
                timeout,
            });
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(LifecycleError::Failed {
        node: node.into(),
        action,
        command: command.into(),
        status: output.status,
        stderr: stderr.lines().last().unwrap_or_default().trim().to_owned(),
    })
}

/// Waits until a started node passes the preflight, up to `timeout`.
async fn wait_ready(
    target: &Target,
    node: &Node,
    command: &str,
    timeout: Duration,
) -> Result<(), LifecycleError> {
    let not_ready = || LifecycleError::NotReady {
        node: node.name.clone(),
        command: command.into(),
        timeout,
    };
    let on = target.on_node(node).map_err(|_| not_ready())?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Err(not_ready());
        }
        let step = left.min(super::PREFLIGHT_TIMEOUT);
        if super::preflight(&on, step).await.is_ok() {
            return Ok(());
        }
        // A node coming up refuses connections until it listens; this
        // pause only spaces the retries, the preflight is the readiness test.
        tokio::time::sleep(Duration::from_millis(100).min(left)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::{Credentials, Profile};

    fn target_with(nodes: Vec<Node>, timeout: Duration) -> Target {
        let mut profile = Profile {
            nodes,
            ..Profile::default()
        };
        profile.cluster.command_timeout = timeout;
        Target::new(
            "t",
            "ws://127.0.0.1:1",
            None,
            Credentials::new("1", "k", "s"),
            profile,
        )
        .expect("valid")
    }

    fn node(kill: Option<&str>) -> Node {
        let mut n = Node::new("", "ws://127.0.0.1:6002/app/k", "http://127.0.0.1:6002");
        n.kill = kill.map(str::to_owned);
        n
    }

    #[test]
    fn placeholders_are_filled_from_the_node() {
        let mut n = node(None);
        n.name = "east".into();
        assert_eq!(
            fill("x {node} {index} {host} {port} {url} {rest_url}", &n, 3),
            "x east 3 127.0.0.1 6002 ws://127.0.0.1:6002/app/k http://127.0.0.1:6002"
        );
    }

    #[tokio::test]
    async fn a_command_runs_with_the_node_filled_in() {
        let dir = std::env::temp_dir().join(format!("pushcheck-lifecycle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mark = dir.join("killed");
        let cmd = format!("echo {{node}} > {}", mark.display());
        let t = target_with(
            vec![node(Some(&cmd)), node(Some(&cmd))],
            Duration::from_secs(10),
        );
        assert!(supports(&t, Action::Kill));
        assert!(!supports(&t, Action::Stop));
        kill(&t, 1).await.expect("the command succeeds");
        let written = std::fs::read_to_string(&mark).expect("the command ran");
        assert_eq!(written.trim(), "node-2");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn failures_name_the_node_and_the_command() {
        let t = target_with(
            vec![node(Some("echo nope >&2; exit 3")), node(Some("sleep 5"))],
            Duration::from_millis(300),
        );
        let e = kill(&t, 0).await.expect_err("exit 3 fails");
        assert!(matches!(e, LifecycleError::Failed { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("node-1") && text.contains("exit 3") && text.contains("nope"),
            "{text}"
        );
        let e = kill(&t, 1).await.expect_err("sleep 5 outlasts 300 ms");
        assert!(matches!(e, LifecycleError::Timeout { .. }), "{e:?}");
        assert!(e.to_string().contains("`sleep 5`"), "{e}");
        let e = stop(&t, 0).await.expect_err("no stop command");
        assert!(matches!(e, LifecycleError::Unsupported { .. }), "{e:?}");
        let e = kill(&t, 7).await.expect_err("no such node");
        assert!(
            matches!(e, LifecycleError::NoNode { count: 2, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn a_single_node_target_supports_nothing() {
        let t = target_with(Vec::new(), Duration::from_secs(1));
        assert!(Action::ALL.iter().all(|a| !supports(&t, *a)));
    }
}
