//! `cluster_bench`: what cluster mode costs (issue 10, "Performance").
//!
//! Spawns `reference-server` nodes (the release binary beside this example)
//! on one Redis and measures, over loopback:
//!
//! 1. `latency`: one subscriber on the publishing node and one on another
//!    node; signed HTTP publishes to the first node on an open-loop schedule
//!    (`--rate` per second); each delivery is timed from its *intended* send
//!    time (no coordinated omission) into an HdrHistogram; p50/p99/max per
//!    subscriber. The difference is the added cross-node latency.
//! 2. `fanout`: `--subscribers` connections on one channel, spread evenly
//!    over `--nodes` nodes (or one node without Redis with `--nodes 0`);
//!    `--publishes` publishes one after another, each timed until the last
//!    subscriber has it; the median deliveries per second.
//!
//! ```text
//! cargo build --release -p reference-server --examples
//! redis-server --port 6390 --save '' &
//! target/release/examples/cluster_bench --redis redis://127.0.0.1:6390 latency --rate 1000 --seconds 5
//! target/release/examples/cluster_bench --redis redis://127.0.0.1:6390 fanout --nodes 3 --subscribers 3000
//! ```

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use parking_lot::Mutex;
use sha2::Sha256;
use tokio_tungstenite::tungstenite::Message;

/// Cluster-mode benchmark: cross-node latency and fan-out throughput.
#[derive(Debug, Parser)]
struct Args {
    /// The Redis every spawned node shares.
    #[arg(long)]
    redis: String,
    /// The server binary [default: reference-server beside the examples directory].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// Publish-to-delivery latency on the publishing node and on another node.
    Latency {
        /// Publishes per second (open loop).
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        /// How long to publish.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// Deliveries per second to one channel's subscribers spread over nodes.
    Fanout {
        /// Nodes sharing the channel; 0 is one node without Redis.
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Subscribers in all.
        #[arg(long, default_value_t = 3000)]
        subscribers: usize,
        /// Measured publishes, one after another.
        #[arg(long, default_value_t = 20)]
        publishes: usize,
    },
}

/// A spawned node; killed on drop.
struct Node {
    child: Child,
    addr: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_bin(given: Option<&PathBuf>) -> PathBuf {
    given.cloned().unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("own path");
        exe.parent()
            .and_then(|examples| examples.parent())
            .map(|dir| dir.join("reference-server"))
            .expect("target/<profile>/reference-server")
    })
}

fn spawn(bin: &PathBuf, redis: Option<(&str, &str)>, name: &str) -> Node {
    let mut command = Command::new(bin);
    command.args(["--bind", "127.0.0.1:0"]);
    if let Some((url, prefix)) = redis {
        let path = std::env::temp_dir().join(format!("{prefix}.toml"));
        std::fs::write(&path, format!("[cluster]\nkey_prefix = \"{prefix}\"\n")).expect("config");
        command
            .args(["--redis", url, "--node-id", name])
            .arg("--config")
            .arg(path);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn reference-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let line = lines
        .find(|l| l.contains("listening on ws://"))
        .expect("listening line");
    // Keep reading, so the node never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let addr = line
        .split("ws://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("address")
        .to_owned();
    Node { child, addr }
}

/// A signed `POST /apps/app-id/events` (spec 5.5, 8.2).
async fn publish(http: &reqwest::Client, addr: &str, channel: &str, data: &str) {
    let body = serde_json::json!({"name": "e", "channel": channel, "data": data}).to_string();
    let md5 = hex::encode(Md5::digest(body.as_bytes()));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let query = format!("auth_key=app-key&auth_timestamp={now}&auth_version=1.0&body_md5={md5}");
    let mut mac = Hmac::<Sha256>::new_from_slice(b"app-secret").expect("key");
    mac.update(format!("POST\n/apps/app-id/events\n{query}").as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    let url = format!("http://{addr}/apps/app-id/events?{query}&auth_signature={signature}");
    let reply = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("publish");
    assert!(
        reply.status().is_success(),
        "publish answered {}",
        reply.status()
    );
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects and subscribes to `channel`; returns once subscribed.
async fn subscriber(addr: &str, channel: &str) -> Ws {
    let url = format!("ws://{addr}/app/app-key?protocol=7");
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let sub = serde_json::json!({"event": "pusher:subscribe", "data": {"channel": channel}});
    ws.send(Message::text(sub.to_string()))
        .await
        .expect("subscribe");
    while let Some(Ok(message)) = ws.next().await {
        if message
            .to_text()
            .is_ok_and(|t| t.contains("subscription_succeeded"))
        {
            return ws;
        }
    }
    panic!("no subscription_succeeded");
}

/// The `data` of an `e` event frame, as a number. A substring search, not
/// a JSON parse: the generator must cost less per frame than the server.
fn seq_of(message: &Message) -> Option<usize> {
    let text = message.to_text().ok()?;
    if !text.contains(r#""event":"e""#) {
        return None;
    }
    let rest = &text[text.find(r#""data":""#)? + 8..];
    rest[..rest.find('"')?].parse().ok()
}

async fn latency(bin: &PathBuf, redis: &str, rate: u64, seconds: u64) {
    let prefix = format!("bench-{}", std::process::id());
    let nodes = [
        spawn(bin, Some((redis, &prefix)), "a"),
        spawn(bin, Some((redis, &prefix)), "b"),
    ];
    let interval = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let total = (rate * seconds) as usize;
    let start = Arc::new(Mutex::new(None::<Instant>));
    let mut readers = Vec::new();
    for node in &nodes {
        let mut ws = subscriber(&node.addr, "lat").await;
        let start = start.clone();
        readers.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            let mut got = 0;
            while got < total {
                let Some(Ok(message)) = ws.next().await else {
                    break;
                };
                let Some(seq) = seq_of(&message) else {
                    continue;
                };
                let at = Instant::now();
                let begun = start.lock().expect("publishing started");
                let intended = begun + interval * seq as u32;
                hist.record(at.saturating_duration_since(intended).as_micros().max(1) as u64)
                    .expect("in range");
                got += 1;
            }
            (hist, got)
        }));
    }
    let http = reqwest::Client::builder().no_proxy().build().expect("http");
    let begun = Instant::now();
    *start.lock() = Some(begun);
    // Open loop: each publish goes at its own time, several in flight if needed.
    let mut inflight = Vec::new();
    for seq in 0..total {
        tokio::time::sleep_until((begun + interval * seq as u32).into()).await;
        let (http, addr) = (http.clone(), nodes[0].addr.clone());
        inflight.push(tokio::spawn(async move {
            publish(&http, &addr, "lat", &seq.to_string()).await
        }));
    }
    for task in inflight {
        task.await.expect("publish task");
    }
    let behind = begun.elapsed().saturating_sub(interval * total as u32);
    for (reader, name) in readers.into_iter().zip(["publishing node", "other node"]) {
        let (hist, got) = reader.await.expect("reader");
        println!(
            "{name:>15}: {got}/{total} delivered, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            hist.value_at_quantile(0.5) as f64 / 1000.0,
            hist.value_at_quantile(0.99) as f64 / 1000.0,
            hist.max() as f64 / 1000.0
        );
    }
    println!("rate {rate}/s for {seconds} s; publisher finished {behind:?} after its schedule");
}

async fn fanout(bin: &PathBuf, redis: &str, nodes: usize, subscribers: usize, publishes: usize) {
    let prefix = format!("bench-{}-{nodes}", std::process::id());
    let spawned: Vec<Node> = if nodes == 0 {
        vec![spawn(bin, None, "single")]
    } else {
        (0..nodes)
            .map(|i| spawn(bin, Some((redis, &prefix)), &format!("n{i}")))
            .collect()
    };
    let counts: Arc<Vec<AtomicUsize>> =
        Arc::new((0..=publishes).map(|_| AtomicUsize::new(0)).collect());
    let last: Arc<Vec<Mutex<Option<Instant>>>> =
        Arc::new((0..=publishes).map(|_| Mutex::new(None)).collect());
    for i in 0..subscribers {
        let node = &spawned[i % spawned.len()];
        let mut ws = subscriber(&node.addr, "fan").await;
        let (counts, last) = (counts.clone(), last.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = ws.next().await {
                if let Some(seq) = seq_of(&message).filter(|s| *s <= publishes) {
                    let at = Instant::now();
                    counts[seq].fetch_add(1, Ordering::AcqRel);
                    let mut slot = last[seq].lock();
                    if slot.is_none_or(|t| t < at) {
                        *slot = Some(at);
                    }
                }
            }
        });
    }
    let http = reqwest::Client::builder().no_proxy().build().expect("http");
    let mut rates = Vec::new();
    // Publish 0 is a warm-up, not measured.
    for seq in 0..=publishes {
        let sent = Instant::now();
        publish(
            &http,
            &spawned[seq % spawned.len()].addr,
            "fan",
            &seq.to_string(),
        )
        .await;
        while counts[seq].load(Ordering::Acquire) < subscribers {
            assert!(
                sent.elapsed() < Duration::from_secs(60),
                "deliveries missing"
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let done = last[seq].lock().expect("a delivery");
        if seq > 0 {
            rates.push(subscribers as f64 / done.duration_since(sent).as_secs_f64());
        }
    }
    rates.sort_by(f64::total_cmp);
    let label = if nodes == 0 {
        "1 node, no Redis".to_owned()
    } else {
        format!("{nodes} clustered node(s)")
    };
    println!(
        "{label:>22}: {subscribers} subscribers, median {:.0} deliveries/s over {publishes} publishes (min {:.0}, max {:.0})",
        rates[rates.len() / 2],
        rates[0],
        rates[rates.len() - 1]
    );
}

fn main() {
    let args = Args::parse();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let bin = server_bin(args.server_bin.as_ref());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}", load.trim());
    }
    runtime.block_on(async {
        match args.what {
            What::Latency { rate, seconds } => latency(&bin, &args.redis, rate, seconds).await,
            What::Fanout {
                nodes,
                subscribers,
                publishes,
            } => {
                fanout(&bin, &args.redis, nodes, subscribers, publishes).await;
            }
        }
    });
}
