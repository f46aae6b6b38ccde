//! `fuzz-auth` finds forged authorizations a faulty server accepts, and
//! nothing against a healthy one (STYLE 2.8 item 6).

use std::time::Duration;

use pushcheck::fuzz::{self, Answer, Family, Options, Sent};
use pushcheck::target::{Credentials, Profile, Target};
use reference_server::{Config, Faults, Server};

async fn server(faults: Faults) -> (Server, Target) {
    let config = Config {
        faults,
        ..Config::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let server = Server::start(config, listener)
        .await
        .expect("server starts");
    let target = Target::new(
        "faulty",
        &format!("ws://{}", server.local_addr()),
        None,
        Credentials::new("app-id", "app-key", "app-secret"),
        Profile::default(),
    )
    .expect("valid url");
    (server, target)
}

fn options(families: &[Family], cases: u64) -> Options {
    Options {
        seed: 7,
        cases,
        parallel: 8,
        families: families.to_vec(),
        timeout: Duration::from_secs(2),
        max_shrink_steps: 128,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_nothing_against_the_healthy_reference_server() {
    let (_server, target) = pushcheck::bundled::serve(
        reference_server::Config::default(),
        "reference",
        Profile::default(),
    )
    .await
    .expect("bundled server starts");
    let outcome = fuzz::run(&target, &options(&Family::ALL, 600))
        .await
        .expect("runs");
    assert!(outcome.counterexamples.is_empty(), "{}", outcome.render());
    assert_eq!(outcome.total(), 600);
    for family in Family::ALL {
        let c = outcome.counts[&family];
        assert!(c.valid > 0 && c.tampered > 0, "{family:?} {c:?}");
    }
    assert_eq!(outcome.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_and_shrinks_forged_channel_auth_and_sign_in_when_any_signature_is_accepted() {
    let (_server, target) = server(Faults {
        accept_any_signature: true,
        ..Faults::default()
    })
    .await;
    let outcome = fuzz::run(&target, &options(&[Family::Channel, Family::Signin], 400))
        .await
        .expect("runs");
    assert_eq!(outcome.exit_code(), 1);
    for family in [Family::Channel, Family::Signin] {
        let cx = &outcome.counterexamples[&family];
        assert!(!cx.minimal.is_valid(), "a tampered case was accepted");
        assert!(matches!(cx.execution.answer, Answer::Accepted(_)));
        let Sent::Frame { frame, .. } = &cx.execution.sent else {
            panic!("a WebSocket case is reproduced with its frame");
        };
        let event = if family == Family::Channel {
            "pusher:subscribe"
        } else {
            "pusher:signin"
        };
        assert!(frame.contains(event), "{frame}");
    }
    let text = outcome.render();
    println!("{text}");
    assert!(text.contains("counterexample (channel") && text.contains("send the text frame"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_forged_http_requests_when_the_rest_signature_is_ignored() {
    let (_server, target) = server(Faults {
        ignore_rest_signature: true,
        ..Faults::default()
    })
    .await;
    let outcome = fuzz::run(&target, &options(&[Family::Rest], 400))
        .await
        .expect("runs");
    let cx = &outcome.counterexamples[&Family::Rest];
    assert!(!cx.minimal.is_valid());
    let Sent::Http { url, .. } = &cx.execution.sent else {
        panic!("an HTTP case is reproduced with its request");
    };
    assert!(url.contains("auth_signature="));
    assert!(cx.execution.sent.reproduce().starts_with("curl "));
    println!("{}", outcome.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_generates_the_same_cases() {
    let (_server, target) = server(Faults {
        accept_any_signature: true,
        ..Faults::default()
    })
    .await;
    let first = fuzz::run(&target, &options(&[Family::Channel], 200))
        .await
        .expect("runs");
    let second = fuzz::run(&target, &options(&[Family::Channel], 200))
        .await
        .expect("runs");
    let (a, b) = (
        &first.counterexamples[&Family::Channel],
        &second.counterexamples[&Family::Channel],
    );
    assert_eq!(
        (a.index, &a.original, &a.minimal),
        (b.index, &b.original, &b.minimal)
    );
}
