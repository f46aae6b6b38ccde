//! `load --junit/--markdown` end to end through the CLI (issue 11): a
//! scenario whose threshold cannot hold against the bundled server, and a
//! reference server with a fault that accepts forged channel auth.

use clap::Parser;
use pushcheck::cli::{Cli, run_cli};
use reference_server::{Config, Server};

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pushcheck-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `delivered == 0` fails whenever the target delivers anything, which the
/// correctness check `deliveries arrived` requires: one of the two fails.
const BROKEN_THRESHOLD: &str = r#"
version = 1
name = "broken-threshold"
thresholds = ["lost == 0", "delivered == 0"]
[run]
messages = 20
max_schedule_lag = "5s"
[[channels]]
name = "room"
kind = "public"
count = 1
[[population]]
name = "listeners"
behaviour = "subscriber"
count = 2
channels = "room"
[[population]]
name = "publisher"
behaviour = "publisher"
count = 1
rate = 200
channels = "room"
"#;

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

/// One `<testcase>` as read back: suite, name, failure message, time.
struct Case {
    suite: String,
    name: String,
    failure: Option<String>,
    time: f64,
}

fn junit_cases(path: &std::path::Path) -> Vec<Case> {
    let xml = std::fs::read_to_string(path).expect("JUnit written");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed JUnit XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| Case {
            suite: n.attribute("classname").expect("classname").to_owned(),
            name: n.attribute("name").expect("name").to_owned(),
            failure: n
                .children()
                .find(|c| c.has_tag_name("failure"))
                .map(|c| c.attribute("message").unwrap_or("").to_owned()),
            time: n
                .attribute("time")
                .expect("a time attribute")
                .parse()
                .expect("seconds"),
        })
        .collect()
}

async fn load(scenario: &str, name: &str, target: Option<String>) -> (u8, std::path::PathBuf) {
    let dir = temp(name);
    let file = dir.join("scenario.toml");
    std::fs::write(&file, scenario).expect("scenario written");
    let path = |p: &str| dir.join(p).to_str().expect("utf-8").to_owned();
    let mut argv = vec!["pushcheck".to_owned(), "load".into(), path("scenario.toml")];
    if let Some(t) = target {
        argv.extend(["--target".into(), t]);
    }
    argv.extend([
        "--out".into(),
        path("report"),
        "--junit".into(),
        path("load.xml"),
        "--markdown".into(),
        path("load.md"),
        "--quiet".into(),
    ]);
    let status = run_cli(Cli::parse_from(argv)).await.expect("load runs");
    (status.code(), dir)
}

/// See: issue 11 (`load` writes JUnit and Markdown).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_threshold_is_a_junit_failure_and_a_failed_row_in_markdown() {
    let (code, dir) = load(BROKEN_THRESHOLD, "load-junit", None).await;
    assert_eq!(code, 1, "the threshold fails the run");
    let cases = junit_cases(&dir.join("load.xml"));
    let find = |name: &str| {
        cases
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name} is a test case"))
    };
    let broken = find("delivered == 0");
    assert_eq!(broken.suite, "load/thresholds");
    assert_eq!(broken.failure.as_deref(), Some("delivered == 0"));
    assert_eq!(find("lost == 0").failure, None);
    assert_eq!(find("deliveries arrived").failure, None);
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c.failure.is_some())
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, ["delivered == 0"], "nothing else failed");
    assert!(cases.iter().all(|c| c.time > 0.0), "every case is timed");
    let md = std::fs::read_to_string(dir.join("load.md")).expect("Markdown written");
    assert!(
        md.starts_with("### pushcheck load: broken-threshold against reference: fail"),
        "{md}"
    );
    assert!(md.contains("| `delivered == 0` | 40 | **fail** |"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// See: issue 11 (security failures marked in JUnit). Fault:
/// `accept_any_signature` makes the server accept forged channel auth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_attack_is_a_junit_failure_marked_security() {
    let mut config = Config::default();
    config.faults.accept_any_signature = true;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let server = Server::start(config, listener)
        .await
        .expect("server starts");
    let target = format!("faulty=ws://{}", server.local_addr());
    let (code, dir) = load(ATTACKS, "load-junit-security", Some(target)).await;
    server.shutdown().await;
    assert_eq!(code, 1);
    let cases = junit_cases(&dir.join("load.xml"));
    let forged = cases
        .iter()
        .find(|c| c.name == "attack wrong-secret refused")
        .expect("the attack kind is a test case");
    assert_eq!(forged.suite, "load/security");
    assert_eq!(
        forged.failure.as_deref(),
        Some("SECURITY: attack wrong-secret refused")
    );
    let rest = cases
        .iter()
        .find(|c| c.name == "attack rest-wrong-secret refused")
        .expect("REST attacks too");
    assert_eq!(rest.failure, None, "REST checks are untouched by the fault");
    let md = std::fs::read_to_string(dir.join("load.md")).expect("Markdown written");
    assert!(
        md.contains("| attack wrong-secret refused | **fail (security)** |"),
        "{md}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// See: issue 11 (`run` writes JUnit and Markdown of both parts). Against a
/// served reference server (so without the slow cases): the catalogue
/// passes, the scenario's threshold fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_writes_the_conformance_and_the_load_part_in_one_junit_and_markdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let server = Server::start(Config::default(), listener)
        .await
        .expect("server starts");
    let dir = temp("run-junit");
    std::fs::write(dir.join("scenario.toml"), BROKEN_THRESHOLD).expect("scenario written");
    let path = |p: &str| dir.join(p).to_str().expect("utf-8").to_owned();
    let argv = [
        "pushcheck".to_owned(),
        "run".into(),
        "--target".into(),
        format!("ws://{}", server.local_addr()),
        "--scenario".into(),
        path("scenario.toml"),
        "--out".into(),
        path("report"),
        "--junit".into(),
        path("run.xml"),
        "--markdown".into(),
        path("run.md"),
        "--quiet".into(),
    ];
    let status = run_cli(Cli::parse_from(argv)).await.expect("run runs");
    server.shutdown().await;
    assert_eq!(status.code(), 1);
    let cases = junit_cases(&dir.join("run.xml"));
    let conformance = cases.iter().filter(|c| c.suite.starts_with("protocol/"));
    assert!(conformance.clone().count() > 50, "the catalogue's cases");
    assert!(conformance.clone().all(|c| c.failure.is_none()));
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c.failure.is_some())
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, ["delivered == 0"]);
    let md = std::fs::read_to_string(dir.join("run.md")).expect("Markdown written");
    let c = md
        .find("### pushcheck conformance:")
        .expect("conformance part");
    let l = md
        .find("### pushcheck load: broken-threshold")
        .expect("load part");
    assert!(c < l, "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// See: issue 11 (JUnit and Markdown from every load command) and issue 13
/// (sharded runs merged): `merge` writes them for the merged run, so a CI
/// that runs shards gets one test view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_writes_junit_and_markdown_for_the_merged_shards() {
    let dir = temp("merge-junit");
    let file = dir.join("scenario.toml");
    std::fs::write(&file, BROKEN_THRESHOLD).expect("scenario written");
    let path = |p: &str| dir.join(p).to_str().expect("utf-8").to_owned();
    for i in 0..2 {
        let argv = [
            "pushcheck".to_owned(),
            "load".into(),
            path("scenario.toml"),
            "--shard".into(),
            format!("{i}/2"),
            "--run-id".into(),
            "it-merge-junit".into(),
            "--out".into(),
            path(&format!("shard-{i}")),
            "--quiet".into(),
        ];
        run_cli(Cli::parse_from(argv)).await.expect("shard runs");
    }
    let argv = [
        "pushcheck".to_owned(),
        "merge".into(),
        path("shard-0"),
        path("shard-1"),
        "--out".into(),
        path("merged"),
        "--junit".into(),
        path("merged.xml"),
        "--markdown".into(),
        path("merged.md"),
    ];
    let status = run_cli(Cli::parse_from(argv)).await.expect("merge runs");
    assert_eq!(status.code(), 1, "the merged run fails its threshold");
    let cases = junit_cases(&dir.join("merged.xml"));
    let broken = cases
        .iter()
        .find(|c| c.name == "delivered == 0")
        .expect("the threshold is a test case");
    assert_eq!(broken.failure.as_deref(), Some("delivered == 0"));
    let md = std::fs::read_to_string(dir.join("merged.md")).expect("Markdown written");
    assert!(
        md.starts_with("### pushcheck load: broken-threshold"),
        "{md}"
    );
    assert!(md.contains("**fail**"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}
