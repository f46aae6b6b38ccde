//! `bench`: the reference server's quick benchmark (issue 2, "Performance").
//!
//! Two figures, measured over loopback against one server process:
//!
//! 1. Idle memory: `--connections` WebSocket clients connect (spec 1.3) and
//!    each subscribes to a public channel (spec 4.3, 4.4); the server's RSS
//!    (`VmRSS` in `/proc/PID/status`) is read before the first connection and
//!    after the last subscription, and the growth is divided by the count.
//! 2. Fan-out: the first `--subscribers` of them are on one channel; each of
//!    `--publishes` signed HTTP publishes (spec 5.5, 8.2) is timed from just
//!    before the request until the last subscriber has the event, giving the
//!    time-to-last and deliveries per second; medians are reported.
//!
//! The open-files hard limit here is 20,000 per process, so the server and
//! this load generator are separate processes. The bench raises its own soft
//! `RLIMIT_NOFILE` to the hard limit before it spawns the server, which
//! inherits it. Client sockets bind to 127.0.0.2, 127.0.0.3, ... so no single
//! source address runs out of ephemeral ports.
//!
//! ```text
//! cargo build --release -p reference-server
//! cargo run --release -p reference-server --example bench -- \
//!     --connections 15000 --subscribers 10000 --publishes 20
//! ```
//!
//! `--url http://127.0.0.1:6001 --server-pid PID` measures a server that is
//! already running instead of spawning `--server-bin`.

mod client;
mod publish;
mod server;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use self::client::{Plan, Tally};
use self::publish::{Credentials, Publisher, Sample};
use self::server::{Rss, Server};

/// Quick benchmark of a Pusher Channels server: idle memory per subscribed
/// connection and HTTP publish fan-out to one channel.
#[derive(Debug, Parser)]
#[command(about, long_about)]
struct Args {
    /// Connections opened for the idle-memory figure; each subscribes to a channel.
    #[arg(long, default_value_t = 15_000)]
    connections: usize,
    /// How many of them subscribe to the fan-out channel (the rest to another
    /// channel); more than --connections opens the difference too.
    #[arg(long, default_value_t = 10_000)]
    subscribers: usize,
    /// Measured HTTP publishes to the fan-out channel, after one warm-up (0 skips fan-out).
    #[arg(long, default_value_t = 20)]
    publishes: usize,
    /// Size of each published event's `data` in bytes.
    #[arg(long, default_value_t = 100)]
    payload_bytes: usize,
    /// Server binary, started as `BIN --bind 127.0.0.1:0`
    /// [default: reference-server next to this example's directory].
    #[arg(long, conflicts_with = "url")]
    server_bin: Option<PathBuf>,
    /// TOML config for the spawned server (`--config FILE`), e.g. to try other
    /// `[transport]` buffer sizes; the default app must stay reachable.
    #[arg(long, conflicts_with = "url")]
    server_config: Option<PathBuf>,
    /// Use an already running server at this base URL instead, e.g. http://127.0.0.1:6001.
    #[arg(long)]
    url: Option<reqwest::Url>,
    /// PID of the server at --url, for the RSS readings (without it no memory figure).
    #[arg(long, requires = "url")]
    server_pid: Option<u32>,
    /// App id used in the HTTP API path.
    #[arg(long, default_value = "app-id")]
    app_id: String,
    /// App key used in the WebSocket path and the request signature.
    #[arg(long, default_value = "app-key")]
    app_key: String,
    /// App secret that signs HTTP API requests.
    #[arg(long, default_value = "app-secret")]
    app_secret: String,
    /// Loopback source addresses 127.0.0.2, 127.0.0.3, ... that client sockets bind to.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=250))]
    source_addrs: u8,
    /// WebSocket handshakes in flight at once.
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// Load-generator runtime threads (1 = a current-thread runtime).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
    threads: u8,
    /// Seconds to let the server settle before each RSS reading.
    #[arg(long, default_value_t = 2)]
    settle_secs: u64,
    /// Give up on connecting, or on one publish, after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
}

/// File descriptors the bench needs beside its WebSocket connections.
const SPARE_FDS: u64 = 64;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let total = args.connections.max(args.subscribers);
    let nofile = server::raise_nofile_limit()?;
    println!("open-files limit: {nofile} (soft raised to hard; a spawned server inherits it)");
    if total as u64 + SPARE_FDS > nofile {
        return Err(format!(
            "{total} connections need more than the open-files limit of {nofile}"
        ));
    }
    let server = match &args.url {
        Some(url) => Server::attach(url, args.server_pid)?,
        None => Server::spawn(args.server_bin.clone(), args.server_config.as_deref())?,
    };
    println!("server: {server}");
    // Fan-out timings are CPU-bound and shared with everything else on the machine.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}", load.trim());
    }
    let runtime = match args.threads {
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n.into())
            .enable_all()
            .build(),
    }
    .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(bench(args, &server, total))
}

async fn bench(args: &Args, server: &Server, total: usize) -> Result<(), String> {
    let settle = Duration::from_secs(args.settle_secs);
    tokio::time::sleep(settle).await;
    let before = server.rss()?;
    let sources = (0..args.source_addrs)
        .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i)))
        .collect();
    let plan = Arc::new(Plan::new(
        server.addr(),
        &args.app_key,
        sources,
        args.subscribers,
    ));
    let tally = Arc::new(Tally::new(args.publishes + 1));
    let connect_time = client::open_all(
        &plan,
        &tally,
        total,
        args.concurrency,
        Duration::from_secs(args.timeout_secs),
    )
    .await?;
    println!(
        "connected and subscribed: {total} in {:.1} s ({:.0}/s), {} on the fan-out channel",
        connect_time.as_secs_f64(),
        total as f64 / connect_time.as_secs_f64(),
        args.subscribers.min(total)
    );
    tokio::time::sleep(settle).await;
    let after = server.rss()?;
    report_memory(before, after, total);
    if args.publishes > 0 && args.subscribers > 0 {
        fan_out(args, server, &tally, (before, total)).await?;
    }
    let closed = tally.closed();
    if closed > 0 {
        return Err(format!(
            "the server closed {closed} connections during the run"
        ));
    }
    Ok(())
}

fn report_memory(before: Rss, after: Rss, total: usize) {
    match (before.kb(), after.kb()) {
        (Some(before), Some(after)) => {
            let per_conn = after.saturating_sub(before) as f64 / total as f64;
            println!(
                "server RSS: {before} KB before, {after} KB after {total} subscribed connections"
            );
            println!("idle memory: {per_conn:.2} KB per subscribed connection");
        }
        _ => println!("server RSS: not measured (no --server-pid)"),
    }
}

async fn fan_out(
    args: &Args,
    server: &Server,
    tally: &Arc<Tally>,
    (baseline, total): (Rss, usize),
) -> Result<(), String> {
    let credentials = Credentials {
        app_id: args.app_id.clone(),
        key: args.app_key.clone(),
        secret: args.app_secret.clone(),
    };
    let publisher = Publisher::new(
        server.http_base(),
        credentials,
        client::FANOUT_CHANNEL,
        args.payload_bytes,
    )?;
    let expected = args.subscribers;
    let timeout = Duration::from_secs(args.timeout_secs);
    let warm_up = publisher.publish(tally, 0, expected, timeout).await?;
    println!(
        "warm-up publish: last delivery after {:.2} ms",
        warm_up.to_last.as_secs_f64() * 1e3
    );
    let mut samples = Vec::with_capacity(args.publishes);
    let cpu_before = (server.cpu()?, server::own_cpu()?);
    for index in 1..=args.publishes {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sample = publisher.publish(tally, index, expected, timeout).await?;
        println!("{sample}");
        samples.push(sample);
    }
    report_fan_out(&samples, expected);
    if let (Some(before), Some(after)) = (cpu_before.0, server.cpu()?) {
        let per_publish = |d: Duration| d.as_secs_f64() * 1e3 / args.publishes as f64;
        let own = server::own_cpu()?
            .unwrap_or_default()
            .saturating_sub(cpu_before.1.unwrap_or_default());
        println!(
            "CPU per publish (user+system, incl. the 200 ms gaps): server {:.1} ms, load generator {:.1} ms",
            per_publish(after.saturating_sub(before)),
            per_publish(own)
        );
    }
    let after = server.rss()?;
    if let (Some(before), Some(after)) = (baseline.kb(), after.kb()) {
        println!(
            "server RSS after fan-out: {after} KB ({:.2} KB per connection over the baseline)",
            after.saturating_sub(before) as f64 / total as f64
        );
    }
    Ok(())
}

fn report_fan_out(samples: &[Sample], subscribers: usize) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut to_last: Vec<f64> = samples.iter().map(|s| ms(s.to_last)).collect();
    let mut to_first: Vec<f64> = samples.iter().map(|s| ms(s.to_first)).collect();
    let mut response: Vec<f64> = samples.iter().map(|s| ms(s.response)).collect();
    let mut rate: Vec<f64> = samples.iter().map(Sample::deliveries_per_sec).collect();
    println!(
        "fan-out to {subscribers} subscribers over {} publishes (median [min..max]): time to last {}, time to first {}, HTTP response {} (ms); {} deliveries/s",
        samples.len(),
        spread(&mut to_last, 2),
        spread(&mut to_first, 2),
        spread(&mut response, 2),
        spread(&mut rate, 0),
    );
}

/// `median [min..max]` of `values` with `decimals` digits.
fn spread(values: &mut [f64], decimals: usize) -> String {
    values.sort_by(f64::total_cmp);
    let median = match values.len() {
        0 => return "n/a".to_owned(),
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    };
    format!(
        "{median:.decimals$} [{:.decimals$}..{:.decimals$}]",
        values[0],
        values[values.len() - 1]
    )
}
