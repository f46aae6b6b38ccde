//! Issue 8's rules that need the real process: signals, the environment,
//! `--help`, what is printed on stderr.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pushcheck::cli::CliError;
use pushcheck::status::Status;
use reference_server::Config;

use crate::load::{read_json, start_bundled};
use crate::rules::{SMALL, cli, s, scenario_file, scratch};

/// Starts the release-built binary with `args`; returns it and its stderr lines.
fn spawn(
    args: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pushcheck"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("pushcheck starts");
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

fn wait_line(rx: &std::sync::mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no stderr line with {needle:?}"));
        if line.contains(needle) {
            return line;
        }
    }
}

fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(ok.success());
}

const LONG: &str = r#"
version = 1
name = "long"
[run]
duration = "60s"
drain = "60s"
max_schedule_lag = "5s"
[[channels]]
name = "room"
kind = "public"
[[population]]
name = "audience"
behaviour = "subscriber"
count = 3
channels = "room"
[[population]]
name = "broadcaster"
behaviour = "publisher"
count = 1
rate = 20
channels = "room"
"#;

// See: issue 8, rule 6.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_8_sigterm_drains_writes_an_interrupted_report_and_exits_130() {
    let (server, t) = start_bundled(Config::default()).await.expect("starts");
    let scen = scenario_file("sigterm", LONG);
    let out = scen.with_file_name("report");
    let start = Instant::now();
    let (mut child, rx) = spawn(
        &[
            "load",
            s(&scen),
            "--target",
            &t.ws_base,
            "--quiet",
            "--out",
            s(&out),
        ],
        &[],
    );
    wait_line(&rx, "load: scenario long");
    signal(&child, "-TERM");
    let output = child.wait().expect("exits");
    server.shutdown().await;
    assert_eq!(output.code(), Some(130));
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    let report = read_json(&out.join("load.json"));
    assert_eq!(
        (report["interrupted"].as_bool(), report["verdict"].as_str()),
        (Some(true), Some("interrupted"))
    );
    assert!(out.join("report.html").is_file());
}

// See: issue 8, rule 6: a second Ctrl-C skips the drain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_8_a_second_ctrl_c_skips_the_drain() {
    // Subscribers on one server, publishes to another: every expected
    // delivery stays missing, so the drain would wait its whole 60 s.
    let (a, ws) = start_bundled(Config::default()).await.expect("starts");
    let (b, rest) = start_bundled(Config::default()).await.expect("starts");
    let scen = scenario_file("sigint", LONG);
    let out = scen.with_file_name("report");
    let start = Instant::now();
    let args = [
        "load",
        s(&scen),
        "--target",
        &ws.ws_base,
        "--rest-url",
        &rest.rest_base,
        "--out",
        s(&out),
    ];
    let (mut child, rx) = spawn(&args, &[]);
    wait_line(&rx, "traffic phase started");
    // Interrupted before its first publish, the run would expect nothing
    // and the drain would have nothing to cut short.
    wait_for_an_accepted_publish(&rest.rest_base).await;
    signal(&child, "-INT");
    wait_line(&rx, "interrupted: draining");
    signal(&child, "-INT");
    wait_line(&rx, "skipping the drain");
    let status = child.wait().expect("exits");
    a.shutdown().await;
    b.shutdown().await;
    assert_eq!(status.code(), Some(130));
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    let report = read_json(&out.join("load.json"));
    assert_eq!(report["interrupted"], true);
    assert!(
        report["deliveries"]["lost"].as_u64() > Some(0),
        "the drain was cut short"
    );
}

/// Returns once the server at `rest_base` has accepted an HTTP API
/// request, as its own metrics say.
async fn wait_for_an_accepted_publish(rest_base: &str) {
    let url = format!("{rest_base}/metrics");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = reqwest::get(&url)
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics body");
        if text
            .lines()
            .any(|l| l.starts_with(r#"pusher_http_requests_total{status="200"}"#))
        {
            return;
        }
        assert!(Instant::now() < deadline, "no publish accepted:\n{text}");
        // why: the target's metrics are polled; nothing pushes their change.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// See: issue 8, rule 7.
#[tokio::test]
async fn issue_8_selectors_matching_nothing_and_duplicate_shards_are_usage_errors() {
    for args in [
        &["conform", "protocol/ping-pongg"][..],
        &["conform", "--exclude", "nope/x", "--dry-run"],
    ] {
        let err = cli(args).await.expect_err("exit 2");
        let CliError::Select(e) = &err else {
            panic!("{err}")
        };
        assert!(!e.closest.is_empty(), "{err}");
    }
    let err = cli(&["conform", "protocol/ping-pongg"])
        .await
        .expect_err("exit 2");
    assert!(err.to_string().contains("protocol/ping-pong"), "{err}");
    let scen = scenario_file("shard", SMALL);
    let out = scen.with_file_name("shard-0");
    let status = cli(&[
        "load",
        s(&scen),
        "--shard",
        "0/2",
        "--quiet",
        "--out",
        s(&out),
    ])
    .await
    .expect("runs");
    assert_ne!(status, Status::Error);
    let merged = scen.with_file_name("merged");
    let err = cli(&["merge", s(&out), s(&out), "--out", s(&merged)])
        .await
        .expect_err("exit 2");
    assert!(
        matches!(err, CliError::DuplicateShard { shard: 0, .. }),
        "{err}"
    );
    // An unknown id in a known-deviations file is a warning, not an error.
    let known = scen.with_file_name("known.txt");
    std::fs::write(&known, "protocol/ping-pong/no-such-case\n").expect("written");
    let (child, rx) = spawn(
        &[
            "conform",
            "protocol/ping-pong",
            "--known-deviations",
            s(&known),
        ],
        &[],
    );
    let line = wait_line(&rx, "warning:");
    assert!(
        line.contains("no-such-case") && line.contains("closest"),
        "{line}"
    );
    let output = child.wait_with_output().expect("exits");
    assert_eq!(output.status.code(), Some(0));
}

// See: issue 8, rule 8.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_8_pusher_env_vars_and_every_target_form_work() {
    let (server, t) = start_bundled(Config::default()).await.expect("starts");
    let port = t.ws_base.rsplit(':').next().expect("port").to_owned();
    let scen = scenario_file("env", SMALL);
    let out = scen.with_file_name("report");
    let env = [
        ("PUSHER_HOST", "127.0.0.1"),
        ("PUSHER_PORT", port.as_str()),
        ("PUSHER_APP_KEY", "app-key"),
    ];
    let (child, _rx) = spawn(&["load", s(&scen), "--quiet", "--out", s(&out)], &env);
    let output = child.wait_with_output().expect("exits");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(
        read_json(&out.join("load.json"))["run"]["target"],
        t.ws_base.as_str()
    );
    let (child, _rx) = spawn(
        &["fuzz-auth", "--cases", "50"],
        &[("PUSHER_HOST", "127.0.0.1"), ("PUSHER_PORT", "1")],
    );
    let output = child.wait_with_output().expect("exits");
    assert_eq!(
        output.status.code(),
        Some(2),
        "a dead PUSHER_PORT is refused by the preflight"
    );
    for sub in ["conform", "load", "run", "fuzz-auth"] {
        let help = Command::new(env!("CARGO_BIN_EXE_pushcheck"))
            .args([sub, "--help"])
            .output()
            .expect("help");
        let help = String::from_utf8_lossy(&help.stdout);
        for var in [
            "PUSHER_APP_ID",
            "PUSHER_APP_KEY",
            "PUSHER_APP_SECRET",
            "PUSHER_HOST",
            "PUSHER_PORT",
            "PUSHER_SCHEME",
        ] {
            assert!(help.contains(var), "{sub} --help lists {var}");
        }
    }
    let printed = format!("{}/app/app-key", t.ws_base);
    let http = t.rest_base.clone();
    for url in [printed.as_str(), http.as_str()] {
        let status = cli(&["conform", "protocol/ping-pong", "--target", url])
            .await
            .expect("runs");
        assert_eq!(status, Status::Pass, "{url}");
    }
    let out = scen.with_file_name("printed");
    let status = cli(&[
        "load",
        s(&scen),
        "--target",
        &printed,
        "--quiet",
        "--out",
        s(&out),
    ])
    .await
    .expect("runs");
    assert_eq!(status, Status::Pass);
    let err = cli(&["conform", "--target", &printed, "--key", "other"])
        .await
        .expect_err("mismatch");
    assert!(err.to_string().contains("names app key"), "{err}");
    server.shutdown().await;
}

// See: issue 8, rule 9.
#[test]
fn issue_8_a_toml_error_is_printed_once() {
    let scen = scenario_file("toml", "version = 1\nname = \"bad\"\nspeed = 3\n");
    let output = Command::new(env!("CARGO_BIN_EXE_pushcheck"))
        .args(["load", s(&scen)])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stderr.matches("unknown field").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
}

// See: issue 8, rule 6: conform too writes its reports marked interrupted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_8_sigterm_during_conform_reports_the_cases_not_run_and_exits_130() {
    let json = scratch("conform-term").join("report.json");
    let (mut child, rx) = spawn(&["conform", "--json", s(&json)], &[]);
    wait_line(&rx, "conform: ");
    signal(&child, "-TERM");
    let status = child.wait().expect("exits");
    assert_eq!(status.code(), Some(130));
    let report = read_json(&json);
    assert_eq!(
        (report["interrupted"].as_bool(), report["status"].as_str()),
        (Some(true), Some("interrupted"))
    );
    let cases = report["cases"].as_array().expect("cases");
    assert!(
        cases.iter().any(|c| c["message"]
            .as_str()
            .is_some_and(|m| m.contains("interrupted"))),
        "cases not run are reported as such"
    );
}
