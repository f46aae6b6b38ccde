//! The report commands end to end against real servers on 127.0.0.1:0:
//! `conform --html` for a matrix of two targets (one breaking client
//! events), and the load race of two targets (issue 11).

use clap::Parser;
use pushcheck::cli::{Cli, run_cli};
use reference_server::{Config, Server};

async fn server(client_events: bool) -> Server {
    let mut config = Config::default();
    config.apps[0].client_events = client_events;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    Server::start(config, listener)
        .await
        .expect("server starts")
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pushcheck-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// See: issue 11 (the matrix). Cells link to the detail of the same case in
/// that target's section; the target without client events fails there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conform_html_with_two_targets_writes_one_matrix_page() {
    let (good, quiet) = (server(true).await, server(false).await);
    let dir = temp("matrix");
    let html = dir.join("matrix.html");
    let md = dir.join("matrix.md");
    let argv = [
        "pushcheck".to_owned(),
        "conform".into(),
        "protocol/client-events/".into(),
        "--target".into(),
        format!("good=ws://{}", good.local_addr()),
        "--target".into(),
        format!("quiet=ws://{}", quiet.local_addr()),
        "--html".into(),
        html.to_str().expect("utf-8").into(),
        "--markdown".into(),
        md.to_str().expect("utf-8").into(),
    ];
    let status = run_cli(Cli::parse_from(argv)).await.expect("conform runs");
    assert_eq!(status.code(), 1, "the quiet target fails");
    let page = std::fs::read_to_string(&html).expect("page written");
    assert!(page.contains(r#"<table id="matrix">"#));
    assert_eq!(page.matches(r#"<section class="target""#).count(), 2);
    let cell = r##"<td class="cell v-fail"><a href="#t1-protocol--client-events--"##;
    assert!(page.contains(cell), "a failing cell of the second target");
    let good_cells = page.matches(r##"<a href="#t0-"##).count();
    assert!(good_cells > 0 && !page.contains(r##"v-fail"><a href="#t0-"##));
    for anchor in page.split(r##"href="#t"##).skip(1) {
        let id = &anchor[..anchor.find('"').expect("closed")];
        assert!(page.contains(&format!(r#"id="t{id}""#)), "t{id} resolves");
    }
    assert!(page.contains("pushcheck conform --trace protocol/client-events/"));
    let md = std::fs::read_to_string(&md).expect("markdown written");
    assert!(md.contains("### pushcheck compatibility matrix"));
    good.shutdown().await;
    quiet.shutdown().await;
}

const RACE: &str = r#"
version = 1
name = "race"
thresholds = ["lost == 0"]
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

/// See: issue 11 (the load race). Two rounds alternate between the targets;
/// one comparison page and each target's own report folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_race_runs_each_target_every_round_and_writes_one_comparison() {
    let (a, b) = (server(true).await, server(true).await);
    let dir = temp("race");
    let scenario = dir.join("race.toml");
    std::fs::write(&scenario, RACE).expect("scenario written");
    let out = dir.join("report");
    let argv = [
        "pushcheck".to_owned(),
        "load".into(),
        scenario.to_str().expect("utf-8").into(),
        "--target".into(),
        format!("a=ws://{}", a.local_addr()),
        "--target".into(),
        format!("b=ws://{}", b.local_addr()),
        "--repeat".into(),
        "2".into(),
        "--out".into(),
        out.to_str().expect("utf-8").into(),
        "--quiet".into(),
    ];
    let status = run_cli(Cli::parse_from(argv)).await.expect("the race runs");
    assert_eq!(status.code(), 0);
    let race: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("race.json")).expect("race.json"))
            .expect("JSON");
    let entrants = race["entrants"].as_array().expect("entrants");
    assert_eq!(entrants.len(), 2);
    for e in entrants {
        let runs = e["runs"]["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), 2, "two rounds each");
        for r in runs {
            assert_eq!(r["deliveries"]["lost"], 0);
            assert!(r["deliveries"]["delivered"].as_u64() > Some(0));
        }
    }
    let page = std::fs::read_to_string(out.join("report.html")).expect("comparison page");
    assert!(page.contains(r#"id="race-medians""#));
    assert!(out.join("a/report.html").exists() && out.join("b/run-2/load.json").exists());
    a.shutdown().await;
    b.shutdown().await;
}
