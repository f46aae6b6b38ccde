//! The load engine against the bundled reference server: scenario
//! validation, exact delivery accounting, and attacks seen failing against a
//! server with a fault that accepts forged authorizations.

use std::path::Path;

use pushcheck::interrupt::Interrupt;
use pushcheck::load::invalid::{Invalid, ScenarioError};
use pushcheck::load::{EngineOptions, LoadResult, hlog, merge, run, validate};
use pushcheck::target::{Profile, Target};
use reference_server::{Config, Server};

use crate::support::validate_schema;

pub(crate) fn opts(run_id: &str) -> EngineOptions {
    EngineOptions {
        run_id: run_id.into(),
        in_process_server: true,
        progress: false,
        interrupt: Interrupt::never(),
        cores: None,
    }
}

/// The bundled reference server with `config`.
pub(crate) async fn start_bundled(config: Config) -> std::io::Result<(Server, Target)> {
    pushcheck::bundled::serve(config, "reference", Profile::default()).await
}

async fn run_against(config: Config, toml: &str, run_id: &str) -> LoadResult {
    let plan = validate::from_toml("test.toml", toml, &[]).expect("valid scenario");
    let (server, target) = start_bundled(config).await.expect("server starts");
    let r = run(&plan, &target, &opts(run_id))
        .await
        .expect("run completes");
    server.shutdown().await;
    r
}

#[test]
fn every_shipped_scenario_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("scenarios folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            validate::load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(
        n >= 6,
        "smoke, fanout, presence-churn, client-events, auth-attacks, capacity"
    );
}

#[test]
fn unknown_fields_are_rejected_naming_the_file_and_field() {
    let err = validate::from_toml("x.toml", "version = 1\nname = \"a\"\nspeed = 3\n", &[])
        .expect_err("unknown field");
    let text = pushcheck::cli::error_line(&err);
    assert!(matches!(err, ScenarioError::Toml { .. }));
    assert!(
        text.starts_with("x.toml: ") && text.contains("speed"),
        "{text}"
    );
    // See: issue 8, rule 9: the parser's message is printed once.
    assert_eq!(text.matches("unknown field").count(), 1, "{text}");
}

#[test]
fn invalid_values_name_the_field_and_why() {
    let base = "version = 1\nname = \"a\"\n[run]\nduration = \"1s\"\n[[channels]]\nname = \"c\"\nkind = \"public\"\n";
    let cases = [
        (
            "[[population]]\nbehaviour = \"publisher\"\ncount = 1\nrate = 10\nchannels = \"nope\"\n",
            "population[0] (publisher-0).channels",
        ),
        (
            "[[population]]\nname = \"chat\"\nbehaviour = \"client-events\"\ncount = 1\nrate = 5\nchannels = \"c\"\n",
            "population[0] (chat).channels",
        ),
        (
            "[[population]]\nbehaviour = \"publisher\"\ncount = 1\nrate = 10\nbatch = 11\nchannels = \"c\"\n",
            "population[0] (publisher-0).batch",
        ),
        (
            "[[population]]\nbehaviour = \"attacker\"\ncount = 1\nrate = 1\nattacks = [\"guess\"]\n",
            "population[0] (attacker-0).attacks[0]",
        ),
    ];
    for (extra, field) in cases {
        let err = validate::from_toml("f.toml", &format!("{base}{extra}"), &[]).expect_err(field);
        let ScenarioError::Invalid {
            file, field: got, ..
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!((file.as_str(), got.as_str()), ("f.toml", field), "{err}");
    }
    for (extra, needle) in [
        (
            "[[population]]\nbehaviour = \"sleeper\"\ncount = 1\n",
            "sleeper",
        ),
        (
            "[[population]]\nbehaviour = \"subscriber\"\ncount = 1\nrate = 3\nchannels = \"c\"\n",
            "rate",
        ),
    ] {
        let err = validate::from_toml("f.toml", &format!("{base}{extra}"), &[]).expect_err(needle);
        assert!(matches!(err, ScenarioError::Toml { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
    }
    let err =
        validate::from_toml("f.toml", "version = 2\nname = \"a\"\n", &[]).expect_err("version");
    assert!(matches!(
        err,
        ScenarioError::Invalid {
            why: Invalid::Version { found: 2 },
            ..
        }
    ));
    let err = validate::from_toml(
        "f.toml",
        "version = 1\nname = \"a\"\nthresholds = [\"deliver.p99 < 5\"]\n[run]\nduration = \"1s\"\n",
        &[],
    )
    .expect_err("unit");
    assert!(err.to_string().contains("thresholds[0]"), "{err}");
}

const EXACT: &str = r#"
version = 1
name = "exact"
thresholds = ["lost == 0", "duplicated == 0", "unexpected == 0", "accepted_attacks == 0", "deliver.p99 < 60s"]
[run]
messages = 120
max_schedule_lag = "5s"
auth = "endpoint"
source_addresses = 3
[[channels]]
name = "room"
kind = "private"
count = 2
[[channels]]
name = "chat"
kind = "presence"
count = 1
[[population]]
name = "listeners"
behaviour = "subscriber"
count = 6
channels = "room"
per_client = 2
[[population]]
name = "publisher"
behaviour = "publisher"
count = 1
rate = 400
channels = "room"
batch = 4
exclude_subscriber = true
[[population]]
name = "attackers"
behaviour = "attacker"
count = 1
rate = 200
channels = "chat"
"#;

#[tokio::test]
async fn a_small_run_accounts_for_every_delivery_and_refuses_every_attack() {
    let r = run_against(Config::default(), EXACT, "it-exact").await;
    let t = &r.tally;
    // 120 events, each to one of two channels that all 6 listeners joined,
    // each excluding one listener: 120 * (6 - 1) deliveries.
    assert_eq!(t.messages_sent, 120);
    assert_eq!(t.expected, 600);
    assert_eq!(t.received(), 600);
    assert_eq!((t.lost(), t.duplicated, t.unexpected()), (0, 0, 0));
    assert_eq!(t.connections, 8, "6 listeners, attacker and donor");
    assert_eq!(
        r.histograms.get(pushcheck::metrics::Metric::Deliver).len(),
        600
    );
    assert_eq!(t.accepted_attacks(), 0);
    assert!(t.attacks.values().map(|a| a.attempted).sum::<u64>() >= 1);
    assert!(t.errors.is_empty(), "{:?}", t.errors);
    assert_eq!(
        r.exit_code,
        0,
        "{}",
        pushcheck::report::load_text::render(&r)
    );
    let slo = r.thresholds.last().expect("the latency threshold");
    let p99_us = r.metrics[&pushcheck::metrics::Metric::Deliver].p99 as f64;
    assert_eq!(
        (slo.unit.as_str(), slo.observed),
        ("s", Some(p99_us / 1e6)),
        "observed in the rule's own unit"
    );
    assert_eq!(
        (r.thresholds[0].unit.as_str(), r.thresholds[0].observed),
        ("", Some(0.0))
    );
    assert!(r.evidence.problems.is_empty(), "{:?}", r.evidence.problems);
    assert_eq!((t.ready, r.evidence.planned_clients), (7, 7));
}

const SPREAD: &str = r#"
version = 1
name = "spread"
[run]
messages = 90
drain = "40s"
max_schedule_lag = "5s"
auth = "endpoint"
[[channels]]
name = "room"
kind = "private"
count = 3
[[population]]
name = "listeners"
behaviour = "subscriber"
count = 9
channels = "room"
[[population]]
name = "senders"
behaviour = "publisher"
count = 2
rate = 200
channels = "room"
[[population]]
name = "talkers"
behaviour = "client-events"
count = 3
rate = 10
channels = "room"
"#;

/// Clients on three runtime threads (listeners and talkers on the first
/// two, round-robin; the HTTP publishers on the third): every delivery is
/// accounted once in the per-thread recorder slots, and the engine sees the
/// last one arrive
/// although the per-thread counters it waits on are summed. The server
/// holds every delivery for a second, so they all arrive after the drain
/// began and only a delivery's own wake-up can end it.
#[tokio::test]
async fn clients_spread_over_three_cores_are_accounted_exactly_and_end_the_drain() {
    let plan = validate::from_toml("spread.toml", SPREAD, &[]).expect("valid scenario");
    let mut config = Config::default();
    config.faults.delay_deliveries_ms = Some(1_000);
    let (server, target) = start_bundled(config).await.expect("server");
    let opts = EngineOptions {
        cores: std::num::NonZeroUsize::new(3),
        ..opts("it-spread")
    };
    let started = std::time::Instant::now();
    let r = run(&plan, &target, &opts).await.expect("run completes");
    let took = started.elapsed();
    server.shutdown().await;
    let t = &r.tally;
    // 90 messages in all (HTTP and client events), each to the 3 listeners
    // of its channel plus, for an HTTP event, its talker; a client event
    // goes to the channel's listeners only (never back to its sender).
    assert_eq!(t.messages_sent, 90, "{t:?}");
    assert_eq!(t.received(), t.expected, "{t:?}");
    assert_eq!((t.lost(), t.duplicated, t.unexpected()), (0, 0, 0));
    let deliver = r.histograms.get(pushcheck::metrics::Metric::Deliver).len();
    let client = r
        .histograms
        .get(pushcheck::metrics::Metric::ClientEvent)
        .len();
    assert_eq!(deliver + client, t.received(), "one latency per delivery");
    assert!(deliver > 0 && client > 0, "{deliver} {client}");
    assert_eq!(t.connections, 12, "9 listeners and 3 talkers");
    assert!(t.errors.is_empty(), "{:?}", t.errors);
    // A last delivery the engine did not see would hold the run for the
    // whole 40 s drain.
    assert!(took < std::time::Duration::from_secs(25), "{took:?}");
}

const PINGED: &str = r#"
version = 1
name = "pinged"
[run]
duration = "1500ms"
max_schedule_lag = "5s"
[[channels]]
name = "room"
kind = "public"
count = 2
[[population]]
name = "listeners"
behaviour = "subscriber"
count = 20
channels = "room"
[[population]]
name = "sender"
behaviour = "publisher"
count = 1
rate = 20
channels = "room"
"#;

/// Subscribers are read by the listener threads, which answer the server's
/// `pusher:ping` (spec 3.3): the server pings every client after 100 ms
/// without a frame from it and closes those that do not answer within
/// 300 ms, many times over the run.
#[tokio::test]
async fn listened_subscribers_answer_the_servers_pings_and_miss_nothing() {
    let plan = validate::from_toml("pinged.toml", PINGED, &[]).expect("valid scenario");
    let mut config = Config::default();
    config.timeouts.activity_timeout_ms = 100;
    config.timeouts.pong_timeout_ms = 300;
    // Only `pusher:ping`, without the control ping that the connection
    // answers by itself: the answer must come from the frame handler.
    config.faults.only_text_ping = true;
    let (server, target) = start_bundled(config).await.expect("server");
    let r = run(&plan, &target, &opts("it-pinged"))
        .await
        .expect("run completes");
    server.shutdown().await;
    let t = &r.tally;
    assert_eq!(r.budget.listened, 20, "every subscriber handed over");
    assert!(t.errors.is_empty(), "{:?}", t.errors);
    assert!(t.expected > 0);
    assert_eq!(
        (t.received(), t.lost(), t.unexpected()),
        (t.expected, 0, 0),
        "{t:?}"
    );
}

const CLIENT_EVENTS: &str = r#"
version = 1
name = "client-events"
[run]
messages = 40
max_schedule_lag = "5s"
[[channels]]
name = "chat"
kind = "presence"
count = 1
[[population]]
behaviour = "client-events"
count = 4
rate = 10
channels = "chat"
"#;

#[tokio::test]
async fn client_events_reach_every_other_member_exactly_once() {
    let r = run_against(Config::default(), CLIENT_EVENTS, "it-ce").await;
    let t = &r.tally;
    assert_eq!(t.messages_sent, 40);
    assert_eq!(
        (t.expected, t.received()),
        (120, 120),
        "3 other members each"
    );
    assert_eq!(
        (t.duplicated, t.unexpected_excluded),
        (0, 0),
        "never echoed to the sender"
    );
}

const ATTACKS: &str = r#"
version = 1
name = "attacks"
[run]
duration = "1s"
max_schedule_lag = "5s"
[[population]]
behaviour = "attacker"
count = 1
rate = 30
"#;

#[tokio::test]
async fn a_server_accepting_forged_auth_fails_the_run_with_the_attack_named() {
    let mut config = Config::default();
    config.faults.accept_any_signature = true;
    let r = run_against(config, ATTACKS, "it-faulty").await;
    assert_eq!(r.exit_code, 1);
    assert!(
        r.accepted_attacks.iter().any(|a| a == "wrong-secret"),
        "{:?}",
        r.accepted_attacks
    );
    assert!(
        !r.accepted_attacks.iter().any(|a| a.starts_with("rest-")),
        "REST checks are untouched"
    );
    let text = pushcheck::report::load_text::render(&r);
    assert!(
        text.contains("SECURITY FAILURE") && text.contains("wrong-secret"),
        "{text}"
    );
}

#[tokio::test]
async fn shard_reports_written_and_merged_add_up() {
    let plan = validate::from_toml("test.toml", EXACT, &[]).expect("valid");
    let (server, target) = start_bundled(Config::default())
        .await
        .expect("server starts");
    let dir = std::env::temp_dir().join(format!("pushcheck-merge-{}", std::process::id()));
    let mut parts = Vec::new();
    for i in 0..2 {
        let shard = pushcheck::load::plan::Shard { index: i, total: 2 };
        let r = run(
            &plan.sharded(shard),
            &target,
            &opts(&format!("it-shard{i}")),
        )
        .await
        .expect("run");
        let d = dir.join(format!("shard-{i}"));
        hlog::write_dir(&r, &d).expect("written");
        parts.push(hlog::read_dir(&d).expect("read back"));
    }
    server.shutdown().await;
    let sent: u64 = parts.iter().map(|p| p.tally.messages_sent).sum();
    let merged = merge::merge(parts).expect("two parts");
    assert_eq!(merged.run.shards, 2);
    assert_eq!(merged.tally.messages_sent, sent);
    assert_eq!(merged.tally.lost(), 0);
    let deliver = merged
        .histograms
        .get(pushcheck::metrics::Metric::Deliver)
        .len();
    assert_eq!(
        deliver,
        merged.tally.received(),
        "histograms survive the hlog round trip"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const TWICE: &str = r#"
version = 1
name = "twice"
thresholds = ["lost == 0", "duplicated == 0", "deliver.p99 < 60s"]
[run]
messages = 40
max_schedule_lag = "5s"
[[channels]]
name = "room"
kind = "public"
count = 1
[[population]]
name = "listeners"
behaviour = "subscriber"
count = 3
channels = "room"
[[population]]
name = "publisher"
behaviour = "publisher"
count = 1
rate = 200
channels = "room"
"#;

/// `pushcheck load` with `args` (after the scenario) on a scenario file
/// written into a fresh folder; returns the exit code and the report folder.
pub(crate) async fn load_cli(name: &str, toml: &str, args: &[&str]) -> (u8, std::path::PathBuf) {
    use clap::Parser;
    use pushcheck::cli::Cli;
    let dir = std::env::temp_dir().join(format!("pushcheck-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let scenario = dir.join("scenario.toml");
    std::fs::write(&scenario, toml).expect("scenario written");
    let out = dir.join("report");
    let mut argv = vec![
        "pushcheck",
        "load",
        scenario.to_str().expect("utf-8 path"),
        "--out",
        out.to_str().expect("utf-8 path"),
        "--quiet",
    ];
    argv.extend_from_slice(args);
    let status = pushcheck::cli::run_cli(Cli::parse_from(argv))
        .await
        .expect("load runs");
    (status.code(), out)
}

pub(crate) fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written"))
        .expect("report is JSON")
}

/// `--cores` sets how many generator threads run the clients, and the
/// report says how many did; zero is refused before anything runs.
#[tokio::test]
async fn load_cores_runs_the_clients_on_that_many_threads_and_records_it() {
    use clap::Parser;
    for cores in ["1", "3"] {
        let (code, out) = load_cli(&format!("cores{cores}"), TWICE, &["--cores", cores]).await;
        assert_eq!(code, 0, "--cores {cores}");
        let report = read_json(&out.join("load.json"));
        assert_eq!(report["budget"]["cores"].to_string(), cores);
        assert_eq!(report["deliveries"]["lost"], 0);
        assert_eq!(report["deliveries"]["expected"], 120);
    }
    let zero = pushcheck::cli::Cli::try_parse_from(["pushcheck", "load", "s.toml", "--cores", "0"]);
    let err = zero.expect_err("zero cores refused").to_string();
    assert!(err.contains("--cores"), "{err}");
}

#[tokio::test]
async fn load_repeat_2_reports_both_runs_and_the_report_compared_with_itself_passes() {
    let (code, out) = load_cli("repeat", TWICE, &["--repeat", "2"]).await;
    assert_eq!(code, 0);
    let report = read_json(&out.join("load.json"));
    let runs = report["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (report["repeat"].as_u64(), report["exit_code"].as_u64()),
        (Some(2), Some(0))
    );
    for run in runs {
        // 40 events to one channel all 3 listeners joined.
        assert_eq!(run["deliveries"]["expected"], 120);
        assert_eq!(
            run["deliveries"]["delivered"].as_u64().unwrap_or(0)
                + run["deliveries"]["reordered"].as_u64().unwrap_or(0),
            120
        );
        assert_eq!(run["deliveries"]["lost"], 0);
    }
    assert_ne!(
        runs[0]["run"]["run_id"], runs[1]["run"]["run_id"],
        "fresh channels per run"
    );
    assert!(report["median"]["deliver"]["p99"].is_number());
    for i in 1..=2 {
        let single = hlog::read_dir(&out.join(format!("run-{i}"))).expect("run folder");
        assert_eq!(single.tally.received(), 120);
    }
    assert!(out.join("report.html").is_file());
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schemas/load-report.schema.json"))
            .expect("the schema is JSON");
    for file in [out.join("load.json"), out.join("run-1").join("load.json")] {
        validate_schema(&schema, &schema, &read_json(&file), "")
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
    let mut broken = read_json(&out.join("run-1").join("load.json"));
    broken["thresholds"][0]["unit"] = "minutes".into();
    assert!(validate_schema(&schema, &schema, &broken, "").is_err());

    let path = out.join("load.json");
    let text = std::fs::read_to_string(&path).expect("report");
    let scopes = pushcheck::gate::snapshot::read("load.json", &text).expect("the gate reads it");
    assert_eq!(scopes["load twice"].metrics["deliver.p99"].samples.len(), 2);
    let path = path.to_str().expect("utf-8 path");
    assert_eq!(crate::gate::compare(&[path, path]), 0);
}

#[tokio::test]
async fn repeat_cannot_be_combined_with_shard() {
    use clap::Parser;
    use pushcheck::cli::Cli;
    let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoke.toml");
    let smoke = smoke.to_str().expect("utf-8 path");
    let argv = [
        "pushcheck",
        "load",
        smoke,
        "--repeat",
        "2",
        "--shard",
        "0/2",
    ];
    let err = pushcheck::cli::run_cli(Cli::parse_from(argv))
        .await
        .expect_err("usage error");
    assert!(
        err.to_string()
            .contains("--repeat 2 cannot be combined with --shard"),
        "{err}"
    );
}
