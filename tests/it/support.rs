//! Shared setup: the bundled servers and a webhook sink on 127.0.0.1:0.

use std::sync::Arc;
use std::time::Duration;

use pushcheck::bundled::{self, Bundled};
use pushcheck::client::WebhookSink;
use pushcheck::conformance::{CaseResult, Env, RunOptions, registry, run, select};
use reference_server::Config;

/// Runs the selected cases against the bundled servers, both configured by
/// `configure` (slow cases run on the short-timeout server).
pub(crate) async fn run_catalogue(
    prefixes: &[String],
    configure: impl Fn(&mut Config),
) -> (Vec<CaseResult>, Bundled, Arc<WebhookSink>) {
    let sink = Arc::new(
        WebhookSink::start("127.0.0.1:0".parse().expect("valid addr"))
            .await
            .expect("sink binds"),
    );
    let mut main = bundled::main_config(sink.local_addr());
    configure(&mut main);
    let mut short = bundled::short_config(sink.local_addr());
    configure(&mut short);
    let b = bundled::start_with(main, short, sink.local_addr())
        .await
        .expect("bundled servers start");
    let env = Arc::new(Env {
        target: b.target.clone(),
        sink: Some(sink.clone()),
        slow: true,
        timeout: Duration::from_secs(2),
    });
    let cases = registry();
    let picked = select(&cases, prefixes, &[]);
    let results = run(&picked, env, &RunOptions::default(), &|_, _, _| {}).await;
    (results, b, sink)
}
