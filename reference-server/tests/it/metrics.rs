//! `GET /metrics` (Prometheus text format) and `GET /up` (issue 9 item 12).

use serde_json::json;

use crate::support::{TestServer, WAIT, config, firehose_batch, stalled_client, start_server};

async fn get(server: &TestServer, path: &str) -> (u16, String, String) {
    let response = tokio::time::timeout(
        WAIT,
        reqwest::get(format!("http://{}{path}", server.addr())),
    )
    .await
    .expect("reply within the deadline")
    .expect("HTTP request succeeds");
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, response.text().await.expect("body"))
}

/// The value of the sample `series` (name and labels exactly as exposed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn up_answers_200() {
    let server = start_server(config()).await;
    let (status, _, body) = get(&server, "/up").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
}

#[tokio::test]
async fn metrics_count_connections_subscriptions_deliveries_refusals_and_requests() {
    let server = start_server(config()).await;
    let mut public = server.connect().await;
    public.subscribe("news").await;
    let mut private = server.connect().await;
    private.subscribe_private("private-room").await;
    server.rest().publish("news", "story", "{}").await;
    public.expect_next("story").await;
    // Over 10 client events at once: some are refused with 4301.
    for _ in 0..15 {
        private.trigger("private-room", "client-x", json!({})).await;
    }
    private.expect_next("pusher:error").await;
    let mut forged = server.rest().call("GET", "/channels");
    forged.secret = "wrong".into();
    assert_eq!(forged.send().await.status, 401);

    let (status, kind, text) = get(&server, "/metrics").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let app = r#"app_id="app-id""#;
    let expect = |series: String, at_least: f64| {
        let value = sample(&text, &series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
        assert!(
            value >= at_least,
            "{series} = {value}, expected >= {at_least}"
        );
    };
    expect(format!("pusher_connections{{{app}}}"), 2.0);
    expect(
        format!(r#"pusher_subscriptions{{{app},kind="public"}}"#),
        1.0,
    );
    expect(
        format!(r#"pusher_subscriptions{{{app},kind="private"}}"#),
        1.0,
    );
    expect(format!("pusher_deliveries_total{{{app}}}"), 1.0);
    expect(format!("pusher_rate_limited_total{{{app}}}"), 1.0);
    expect(
        r#"pusher_http_requests_total{status="200"}"#.to_owned(),
        1.0,
    );
    expect(
        r#"pusher_http_requests_total{status="401"}"#.to_owned(),
        1.0,
    );
    expect("pusher_webhook_queue_depth".to_owned(), 0.0);
    expect("pusher_webhook_failed_attempts_total".to_owned(), 0.0);
    assert_eq!(
        sample(
            &text,
            &format!(r#"pusher_subscriptions{{{app},kind="presence"}}"#)
        ),
        Some(0.0)
    );
}

#[tokio::test]
async fn metrics_count_slow_consumer_closes() {
    let mut config = config();
    config.transport.outbound_queue_bytes = 64 * 1024;
    let server = start_server(config).await;
    let mut slow = stalled_client(server.addr()).await;
    slow.subscribe("firehose").await;
    let batch = firehose_batch();
    for _ in 0..60 {
        server
            .rest()
            .post("/batch_events", &json!({ "batch": batch }))
            .await;
    }
    let (code, _) = slow.expect_close().await;
    assert_eq!(code, 4100);
    let (_, _, text) = get(&server, "/metrics").await;
    assert_eq!(
        sample(
            &text,
            r#"pusher_slow_consumer_closes_total{app_id="app-id"}"#
        ),
        Some(1.0),
        "{text}"
    );
}
