//! Issue 8's ten rules, each shown against the bundled server, a dead port
//! and wrong credentials: no verdict without evidence.

use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use clap::Parser;
use pushcheck::cli::{Cli, CliError, run_cli};
use pushcheck::load::result::{Problem, ThresholdVerdict};
use pushcheck::load::{hlog, run, validate};
use pushcheck::metrics::ErrorKind;
use pushcheck::status::Status;
use pushcheck::target::{Credentials, Diagnosis, Profile, Target};
use reference_server::Config;
use serde_json::Value;

use crate::gate::{compare, try_compare};
use crate::load::{opts, read_json, start_bundled};

/// Subscribers and a publisher for one second; every rule below can be
/// judged on it.
pub(crate) const SMALL: &str = r#"
version = 1
name = "small"
thresholds = ["lost == 0", "fanout.p99 < 500ms"]
[run]
duration = "1s"
drain = "2s"
connect_timeout = "2s"
max_schedule_lag = "5s"
[[channels]]
name = "room"
kind = "public"
[[population]]
name = "audience"
behaviour = "subscriber"
count = 5
channels = "room"
[[population]]
name = "broadcaster"
behaviour = "publisher"
count = 1
rate = 10
channels = "room"
"#;

const DEAD: &str = "ws://127.0.0.1:1";

pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pushcheck-rules-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

pub(crate) fn scenario_file(name: &str, toml: &str) -> PathBuf {
    let path = scratch(name).join("scenario.toml");
    std::fs::write(&path, toml).expect("scenario written");
    path
}

fn target(url: &str, creds: Credentials) -> Target {
    Target::new("target", url, None, creds, Profile::default()).expect("valid url")
}

fn creds(id: &str, key: &str, secret: &str) -> Credentials {
    Credentials::new(id, key, secret)
}

pub(crate) async fn cli(args: &[&str]) -> Result<Status, CliError> {
    let mut argv = vec!["pushcheck"];
    argv.extend_from_slice(args);
    run_cli(Cli::parse_from(argv)).await
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

// See: issue 8, rule 1.
#[tokio::test]
async fn issue_8_errors_and_missing_evidence_fail_a_run_in_every_report_format() {
    let plan = validate::from_toml("small.toml", SMALL, &[]).expect("valid");
    let (server, good) = start_bundled(Config::default()).await.expect("starts");
    let runs = [
        (
            "dead port",
            target(DEAD, creds("app-id", "app-key", "app-secret")),
            ErrorKind::TcpConnect,
        ),
        (
            "wrong secret",
            target(&good.ws_base, creds("app-id", "app-key", "wrong")),
            ErrorKind::PublishStatus,
        ),
        (
            "wrong key",
            target(&good.ws_base, creds("app-id", "wrong", "app-secret")),
            ErrorKind::Refused,
        ),
    ];
    for (what, t, kind) in runs {
        let r = run(&plan, &t, &opts(&format!("it-evidence-{}", kind.as_str())))
            .await
            .expect("the engine runs");
        assert_eq!(r.verdict, Status::Fail, "{what}");
        assert_eq!(r.exit_code, 1, "{what}");
        assert!(
            r.evidence.errors.get(&kind).is_some_and(|n| *n > 0),
            "{what}: {:?}",
            r.evidence
        );
        assert!(
            matches!(r.evidence.problems[0], Problem::Errors { .. }),
            "{what}"
        );
        assert!(r.evidence.problems.contains(&Problem::NoDelivery), "{what}");
        let text = pushcheck::report::load_text::render(&r);
        assert!(
            text.contains(kind.as_str()) && text.contains("verdict: fail (exit 1)"),
            "{text}"
        );
        let html = pushcheck::report::html::render(Some(&r), None);
        assert!(
            html.contains("id=\"load-errors\"") && html.contains(kind.as_str()),
            "{what}"
        );
        assert!(
            html.contains(r#"class="fail" id="load-verdict">fail"#),
            "{what}"
        );
        let json = serde_json::to_value(&r).expect("json");
        assert!(
            json["evidence"]["errors"][kind.as_str()].as_u64() > Some(0),
            "{what}"
        );
        // A missing metric is no data, never 0, and fails.
        let fanout = r
            .thresholds
            .iter()
            .find(|t| t.rule.starts_with("fanout"))
            .expect("rule");
        assert_eq!(
            (fanout.verdict, fanout.observed),
            (ThresholdVerdict::NoData, None),
            "{what}"
        );
    }
    let r = run(&plan, &good, &opts("it-evidence-good"))
        .await
        .expect("runs");
    assert_eq!(
        r.verdict,
        Status::Pass,
        "{}",
        pushcheck::report::load_text::render(&r)
    );
    assert!(r.evidence.problems.is_empty());
    server.shutdown().await;
}

// See: issue 8, rule 1: fewer clients than planned cannot pass.
#[tokio::test]
async fn issue_8_a_run_with_fewer_clients_than_planned_cannot_pass() {
    let mut config = Config::default();
    let mut app = reference_server::AppConfig::new("app-id", "app-key", "app-secret");
    app.max_connections = Some(3);
    config.apps = vec![app];
    let plan = validate::from_toml("small.toml", SMALL, &[]).expect("valid");
    let (server, t) = start_bundled(config).await.expect("starts");
    let r = run(&plan, &t, &opts("it-quota")).await.expect("runs");
    server.shutdown().await;
    let missing = Problem::MissingClients {
        planned: 5,
        ready: 3,
    };
    assert!(
        r.evidence.problems.contains(&missing),
        "{:?}",
        r.evidence.problems
    );
    assert_eq!(r.verdict, Status::Fail);
}

/// What a diagnosis must be.
type Expected = fn(&Diagnosis) -> bool;

// See: issue 8, rule 2.
#[tokio::test]
async fn issue_8_preflight_diagnoses_each_broken_target_in_one_line_within_seconds() {
    let (server, good) = start_bundled(Config::default()).await.expect("starts");
    let sink = pushcheck::client::WebhookSink::start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sink");
    let not_pusher = format!("ws://{}", sink.local_addr());
    let scen = scenario_file("preflight", SMALL);
    let cases: Vec<(Vec<&str>, Expected)> = vec![
        (vec!["--target", DEAD], |d| matches!(d, Diagnosis::Refused)),
        (vec!["--target", &not_pusher], |d| {
            matches!(d, Diagnosis::UpgradeRefused(_))
        }),
        (vec!["--target", &good.ws_base, "--key", "nope"], |d| {
            matches!(d, Diagnosis::UnknownKey { code: 4001, .. })
        }),
        (
            vec!["--target", &good.ws_base, "--secret", "nope"],
            |d| matches!(d, Diagnosis::CredentialsRejected { status: 401, body, .. } if body.contains("signature")),
        ),
        (vec!["--target", &good.ws_base, "--app-id", "nope"], |d| {
            matches!(d, Diagnosis::AppNotFound { .. })
        }),
    ];
    for (flags, expected) in cases {
        for sub in [
            &["load", s(&scen)][..],
            &["conform"],
            &["run"],
            &["fuzz-auth"],
        ] {
            let mut args = sub.to_vec();
            args.extend_from_slice(&flags);
            let start = Instant::now();
            let err = cli(&args).await.expect_err("preflight refuses");
            assert!(
                start.elapsed() < Duration::from_secs(6),
                "{args:?} took {:?}",
                start.elapsed()
            );
            let CliError::Preflight(p) = &err else {
                panic!("{args:?}: {err}");
            };
            assert!(
                expected(&p.diagnosis),
                "{args:?}: {}",
                pushcheck::cli::error_line(&err)
            );
            let line = pushcheck::cli::error_line(&err);
            assert!(!line.contains('\n'), "one line: {line}");
        }
    }
    server.shutdown().await;
}

// See: issue 8, rule 2: a case whose own setup step is refused is an error.
#[tokio::test]
async fn issue_8_a_refused_setup_step_is_an_error_not_a_failure() {
    use pushcheck::conformance::{Env, RunOptions, Verdict, registry, select};
    let (server, good) = start_bundled(Config::default()).await.expect("starts");
    let wrong = target(&good.ws_base, creds("app-id", "unknown-key", "app-secret"));
    let env = std::sync::Arc::new(Env {
        target: wrong,
        sink: None,
        slow: false,
        timeout: Duration::from_secs(2),
    });
    let cases = registry();
    let picked = select(&cases, &["protocol/client-events/".into()], &[]);
    let results =
        pushcheck::conformance::run(&picked, env, &RunOptions::default(), &|_, _, _| {}).await;
    server.shutdown().await;
    assert!(!results.is_empty());
    for r in &results {
        assert_ne!(r.verdict, Verdict::Fail, "{} {:?}", r.id, r.actual);
    }
    let errors: Vec<_> = results
        .iter()
        .filter(|r| r.verdict == Verdict::Error)
        .collect();
    assert!(!errors.is_empty());
    assert!(
        errors[0]
            .message
            .as_deref()
            .unwrap_or("")
            .contains("setup step connect"),
        "{:?}",
        errors[0].message
    );
}

// See: issue 8, rule 3.
#[test]
fn issue_8_thresholds_on_stages_the_plan_never_exercises_are_refused() {
    let base = "version = 1\nname = \"a\"\n[run]\nduration = \"1s\"\n[[channels]]\nname = \"c\"\nkind = \"public\"\n[[population]]\nbehaviour = \"subscriber\"\ncount = 2\nchannels = \"c\"\n";
    for rule in [
        "deliver.p99 < 5ms",
        "lost == 0",
        "accepted_attacks == 0",
        "client_event.p50 < 1ms",
    ] {
        let toml = format!("thresholds = [\"{rule}\"]\n{base}");
        let err = validate::from_toml("t.toml", &toml, &[]).expect_err(rule);
        let text = err.to_string();
        assert!(
            text.contains("thresholds[0]") && text.contains("can never be judged"),
            "{text}"
        );
    }
    let toml = format!(
        "{base}[[population]]\nbehaviour = \"publisher\"\ncount = 1\nrate = 5\nchannels = \"c\"\n"
    );
    let toml = toml.replacen(
        "name = \"a\"\n",
        "name = \"a\"\nthresholds = [\"deliver.p99 < 5ms\", \"lost == 0\"]\n",
        1,
    );
    validate::from_toml("t.toml", &toml, &[]).expect("exercised stages are fine");
}

/// Reports for the compare tests: a conformance report, the same under
/// another target name, and a good and a dead-port load run.
struct Reports {
    dir: PathBuf,
    conf: PathBuf,
    renamed: PathBuf,
    good: PathBuf,
    dead: PathBuf,
}

async fn reports(name: &str) -> Reports {
    let dir = scratch(name);
    let (server, good) = start_bundled(Config::default()).await.expect("starts");
    let plan = validate::from_toml("small.toml", SMALL, &[]).expect("valid");
    let ok = run(&plan, &good, &opts(&format!("it-{name}-good")))
        .await
        .expect("runs");
    let dead_target = target(DEAD, creds("app-id", "app-key", "app-secret"));
    let mut dead = run(&plan, &dead_target, &opts(&format!("it-{name}-dead")))
        .await
        .expect("runs");
    // The same target identity, so only the data differs.
    dead.run.target_id = ok.run.target_id.clone();
    hlog::write_dir(&ok, &dir.join("good")).expect("written");
    hlog::write_dir(&dead, &dir.join("dead")).expect("written");
    let conf = dir.join("conformance.json");
    let renamed = dir.join("renamed.json");
    let port = good.ws_base.rsplit(':').next().expect("port").to_owned();
    let other = format!("other=ws://localhost:{port}");
    for (t, out) in [(good.ws_base.as_str(), &conf), (other.as_str(), &renamed)] {
        let args = [
            "conform",
            "protocol/ping-pong",
            "--target",
            t,
            "--json",
            s(out),
        ];
        assert_eq!(cli(&args).await.expect("conform runs"), Status::Pass);
    }
    server.shutdown().await;
    Reports {
        good: dir.join("good/load.json"),
        dead: dir.join("dead/load.json"),
        dir,
        conf,
        renamed,
    }
}

fn refused(args: &[&str]) -> String {
    match try_compare(args) {
        Err(CliError::Gate(e)) => e.to_string(),
        other => panic!("{args:?}: {other:?}"),
    }
}

// See: issue 8, rule 4.
#[tokio::test]
async fn issue_8_compare_refuses_kinds_scenarios_targets_and_empty_comparisons() {
    let r = reports("refuse").await;
    let text = refused(&[s(&r.conf), s(&r.good)]);
    assert!(
        text.contains("cannot compare a conformance report with a load report"),
        "{text}"
    );
    assert!(refused(&[s(&r.conf), s(&r.renamed)]).contains("different targets"));
    assert_eq!(
        compare(&[s(&r.conf), s(&r.renamed), "--allow-target-change"]),
        0
    );
    let mut other = read_json(&r.good);
    other["run"]["scenario"] = "fanout".into();
    let other_path = r.dir.join("other.json");
    std::fs::write(&other_path, other.to_string()).expect("written");
    assert!(refused(&[s(&r.good), s(&other_path)]).contains("different scenarios"));
    let mut empty = read_json(&r.conf);
    empty["cases"] = Value::Array(vec![]);
    let empty_path = r.dir.join("empty.json");
    std::fs::write(&empty_path, empty.to_string()).expect("written");
    assert!(refused(&[s(&r.conf), s(&empty_path)]).contains("nothing was compared"));
}

// See: issue 8, rule 4: missing is never 0; errors gate like losses.
#[tokio::test]
async fn issue_8_compare_never_reads_a_missing_metric_as_zero_and_gates_on_errors() {
    let r = reports("missing").await;
    let json = r.dir.join("gate.json");
    let code = compare(&[s(&r.good), s(&r.dead), "--json", s(&json)]);
    assert_eq!(code, 1);
    let gate = read_json(&json);
    let findings = gate["findings"].as_array().expect("findings");
    let find = |item: &str| {
        findings
            .iter()
            .find(|f| f["item"] == item)
            .unwrap_or_else(|| panic!("{item}: {gate}"))
    };
    // The target's stages have no samples against a dead port: each is
    // missing (a regression), never 0 and never an improvement. Only the
    // generator's own schedule lag is still measured.
    for stage in ["connect", "subscribe", "publish", "deliver", "fanout"] {
        for stat in ["p50", "p99"] {
            let f = find(&format!("{stage}.{stat}"));
            assert_eq!(f["severity"], "regression", "{f}");
            assert!(
                f["change"].as_str().expect("text").contains("missing"),
                "{f}"
            );
        }
    }
    assert_eq!(find("errors")["severity"], "regression");
    assert_eq!(find("errors.tcp_connect")["severity"], "regression");
}

// See: issue 8, rule 5.
#[tokio::test]
async fn issue_8_one_status_a_failed_target_is_never_hidden_by_a_harness_error() {
    let mut faulty = Config::default();
    faulty.faults.no_pong = true;
    let (a, healthy) = start_bundled(Config::default()).await.expect("starts");
    let (b, broken) = start_bundled(faulty).await.expect("starts");
    let json = scratch("matrix").join("matrix.json");
    let status = cli(&[
        "conform",
        "protocol/ping-pong",
        "--target",
        &format!("healthy={}", healthy.ws_base),
        "--target",
        &format!("broken={}", broken.ws_base),
        "--json",
        s(&json),
    ])
    .await
    .expect("conform runs");
    a.shutdown().await;
    b.shutdown().await;
    assert_eq!((status, status.code()), (Status::Fail, 1));
    let matrix = read_json(&json);
    assert_eq!(matrix["status"], "fail");
    assert_eq!(matrix["targets"][0]["status"], "pass");
    assert_eq!(Status::worst([Status::Error, Status::Fail]).code(), 1);
    assert_eq!(
        Status::worst([Status::Fail, Status::Interrupted]).code(),
        130
    );
}

// See: issue 8, rule 10.
#[tokio::test]
async fn issue_8_duration_and_population_overrides_shrink_a_shipped_scenario_and_are_recorded() {
    let fanout = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/fanout.toml");
    let out = scratch("overrides").join("report");
    let args = [
        "load",
        s(&fanout),
        "--duration",
        "1s",
        "--set",
        "population.audience.count=5",
        // Tests share two cores: a late timer must not make the run invalid.
        "--set",
        "run.max_schedule_lag=5s",
        "--quiet",
        "--out",
        s(&out),
    ];
    let status = cli(&args).await.expect("runs");
    assert_eq!(status, Status::Pass);
    let report = read_json(&out.join("load.json"));
    assert_eq!(
        report["run"]["overrides"],
        serde_json::json!([
            "run.duration=1s",
            "population.audience.count=5",
            "run.max_schedule_lag=5s"
        ])
    );
    assert_eq!(report["budget"]["clients"], 6);
    let err = cli(&["load", s(&fanout), "--set", "population.crowd.count=5"])
        .await
        .expect_err("unknown");
    let text = err.to_string();
    assert!(
        text.contains("crowd") && text.contains("audience"),
        "{text}"
    );
    let out = scratch("overrides-run").join("report");
    let status = cli(&[
        "run",
        "--duration",
        "1s",
        "--set",
        "run.max_schedule_lag=5s",
        "--quiet",
        "--out",
        s(&out),
    ])
    .await
    .expect("runs");
    assert_eq!(status, Status::Pass);
    assert_eq!(
        read_json(&out.join("report.json"))["load"]["run"]["overrides"][0],
        "run.duration=1s"
    );
}

/// A capacity search over the publisher's rate, with `rule` as its threshold.
fn capacity_scenario(rule: &str) -> String {
    format!(
        r#"
version = 1
name = "steps"
thresholds = ["{rule}"]
[run]
duration = "1s"
drain = "2s"
max_schedule_lag = "5s"
[[channels]]
name = "room"
kind = "public"
[[population]]
name = "audience"
behaviour = "subscriber"
count = 2
channels = "room"
[[population]]
name = "broadcaster"
behaviour = "publisher"
count = 1
rate = 5
channels = "room"
[capacity]
population = "broadcaster"
parameter = "rate"
start = 5
step = 5
max = 10
step_duration = "1s"
"#
    )
}

// See: issue 8, rule 5: a capacity search passes when a step passed.
#[tokio::test]
async fn issue_8_a_capacity_search_passes_on_a_passing_step_and_fails_when_none_passed() {
    let (server, t) = start_bundled(Config::default()).await.expect("starts");
    let passing =
        validate::from_toml("c.toml", &capacity_scenario("lost == 0"), &[]).expect("valid");
    let r = pushcheck::load::capacity::run_plan(&passing, &t, &opts("it-cap-pass"))
        .await
        .expect("runs");
    let outcome = r.capacity.as_ref().expect("steps");
    assert_eq!(
        (r.verdict, outcome.last_passing),
        (Status::Pass, Some(10.0))
    );
    assert_eq!(outcome.steps.len(), 2);
    let failing =
        validate::from_toml("c.toml", &capacity_scenario("deliver.p99 < 1us"), &[]).expect("valid");
    let r = pushcheck::load::capacity::run_plan(&failing, &t, &opts("it-cap-fail"))
        .await
        .expect("runs");
    server.shutdown().await;
    let outcome = r.capacity.as_ref().expect("steps");
    assert_eq!(
        (r.verdict, r.exit_code, outcome.last_passing),
        (Status::Fail, 1, None)
    );
    assert_eq!(
        outcome.steps.len(),
        1,
        "the search stops at the first failing step"
    );
}
