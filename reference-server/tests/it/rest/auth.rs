//! Request authentication (spec 5.5, 8.10): signature, body_md5, timestamp window, keys, apps.

use reference_server::AppConfig;
use serde_json::json;

use crate::support::{config, config_with, hmac_hex, start_server};

fn publish_body() -> serde_json::Value {
    json!({"name": "e", "channel": "news", "data": "{}"})
}

#[tokio::test]
async fn a_correctly_signed_request_is_accepted() {
    let server = start_server(config()).await;
    let rest = server.rest();
    assert_eq!(rest.post("/events", &publish_body()).await.ok(), json!({}));
    assert_eq!(
        rest.get("/channels", &[]).await.ok(),
        json!({"channels": {}})
    );
}

#[tokio::test]
async fn a_wrong_signature_is_refused_with_401() {
    let server = start_server(config()).await;
    let mut call = server.rest().call("POST", "/events").body(&publish_body());
    call.secret = "not-the-secret".into();
    let reply = call.send().await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(!reply.body.is_empty(), "readable error body");
}

#[tokio::test]
async fn a_signature_for_another_path_method_or_params_is_refused() {
    let server = start_server(config()).await;
    let rest = server.rest();
    let call = rest.call("GET", "/channels");
    let mut params = call.signed_params();
    params.push(("filter_by_prefix".into(), "presence-".into()));
    assert_eq!(
        call.send_with(&params).await.status,
        401,
        "unsigned extra parameter"
    );
    let call = rest.call("GET", "/channels");
    let mut params = call.signed_params();
    let signature = params.pop().expect("signature last").1;
    params.push(("auth_signature".into(), signature.to_uppercase()));
    assert_eq!(call.send_with(&params).await.status, 401, "uppercase hex");
    let signed_for_get = rest.call("GET", "/channels").signed_params();
    let mut call = rest.call("GET", "/channels/news");
    call.params.clear();
    assert_eq!(
        call.send_with(&signed_for_get).await.status,
        401,
        "signed for another path"
    );
}

#[tokio::test]
async fn parameter_keys_are_signed_lowercased_and_sorted() {
    let server = start_server(config()).await;
    let mut call = server.rest().call("GET", "/channels");
    call.params = vec![
        ("Info".into(), "user_count".into()),
        ("FILTER_BY_PREFIX".into(), "presence-".into()),
    ];
    assert_eq!(call.send().await.ok(), json!({"channels": {}}));
}

#[tokio::test]
async fn a_tampered_body_is_refused_with_401() {
    let server = start_server(config()).await;
    let mut call = server.rest().call("POST", "/events").body(&publish_body());
    call.sent_body = Some(
        json!({"name": "e", "channel": "admin", "data": "{}"})
            .to_string()
            .into_bytes(),
    );
    assert_eq!(call.send().await.status, 401);
}

#[tokio::test]
async fn a_non_empty_body_without_body_md5_is_refused() {
    let server = start_server(config()).await;
    let mut call = server.rest().call("POST", "/events");
    call.sent_body = Some(publish_body().to_string().into_bytes());
    assert_eq!(call.send().await.status, 401);
}

#[tokio::test]
async fn a_get_carrying_the_md5_of_an_empty_body_is_accepted() {
    let server = start_server(config()).await;
    let mut call = server.rest().call("GET", "/channels");
    call.body_md5 = Some("d41d8cd98f00b204e9800998ecf8427e".into());
    assert_eq!(call.send().await.ok(), json!({"channels": {}}));
}

async fn status_at_offset(offset: i64) -> u16 {
    let server = start_server(config()).await;
    let mut call = server.rest().call("GET", "/channels");
    call.timestamp = call
        .timestamp
        .checked_add_signed(offset)
        .expect("sane clock");
    call.send().await.status
}

#[tokio::test]
async fn timestamps_within_599_seconds_are_accepted_and_601_refused_both_ways() {
    // Signers send whole seconds while the server's clock has a fraction: one
    // second in the past is 598 s at least and under 600 s.
    assert_eq!(status_at_offset(599).await, 200);
    assert_eq!(status_at_offset(-598).await, 200);
    assert_eq!(status_at_offset(601).await, 401);
    assert_eq!(status_at_offset(-601).await, 401);
    assert_eq!(status_at_offset(-3600).await, 401);
}

#[tokio::test]
async fn missing_or_unsupported_auth_parameters_are_refused() {
    let server = start_server(config()).await;
    let rest = server.rest();
    for (drop, replace) in [
        ("auth_version", Some("2.0")),
        ("auth_version", None),
        ("auth_timestamp", None),
        ("auth_key", None),
        ("auth_timestamp", Some("soon")),
    ] {
        let call = rest.call("GET", "/channels");
        let mut params: Vec<(String, String)> = call
            .signed_params()
            .into_iter()
            .filter(|(k, _)| k != drop)
            .collect();
        if let Some(value) = replace {
            params.push((drop.into(), value.into()));
        }
        assert_eq!(
            call.send_with(&params).await.status,
            401,
            "{drop}={replace:?}"
        );
    }
}

#[tokio::test]
async fn an_unknown_key_or_another_apps_key_is_refused_with_401() {
    let mut config = config();
    config
        .apps
        .push(AppConfig::new("other-id", "other-key", "other-secret"));
    let server = start_server(config).await;
    let rest = server.rest();
    let stranger = rest.as_app("app-id", "no-such-key", "app-secret");
    assert_eq!(stranger.get("/channels", &[]).await.status, 401);
    let other_app = rest.as_app("app-id", "other-key", "other-secret");
    assert_eq!(other_app.get("/channels", &[]).await.status, 401);
    let right = rest.as_app("other-id", "other-key", "other-secret");
    assert_eq!(right.get("/channels", &[]).await.status, 200);
}

#[tokio::test]
async fn an_unknown_app_is_404_and_a_disabled_app_403() {
    let server = start_server(config()).await;
    let unknown = server.rest().as_app("no-such-app", "app-key", "app-secret");
    assert_eq!(unknown.get("/channels", &[]).await.status, 404);
    let server = start_server(config_with(|app| app.enabled = false)).await;
    let reply = server.rest().post("/events", &publish_body()).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
}

#[tokio::test]
async fn the_test_signer_agrees_with_the_known_answer_hmac() {
    assert_eq!(
        hmac_hex("7ad3773142a6692b25b8", b"1234.1234:private-foobar"),
        "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
    );
}

// See: issue 9 item 1. An unauthenticated request (only the public key)
// with a timestamp past year 9999, or past what the clock type can add,
// panicked in the handler and the client got an empty reply.
#[tokio::test]
async fn issue_9_a_timestamp_beyond_the_clock_is_refused_with_401_not_a_panic() {
    let server = start_server(config()).await;
    let rest = server.rest();
    for timestamp in [
        "253402300800",
        "9223372036854775808",
        "18446744073709551615",
        "99999999999999999999999",
    ] {
        let params: Vec<(String, String)> = [
            ("auth_key", "app-key"),
            ("auth_version", "1.0"),
            ("auth_timestamp", timestamp),
            ("auth_signature", "x"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let reply = rest.call("GET", "/channels").send_with(&params).await;
        assert_eq!(reply.status, 401, "{timestamp}: {}", reply.body);
        assert!(
            reply.body.contains("Timestamp"),
            "{timestamp}: {}",
            reply.body
        );
    }
    // The server is still there.
    assert_eq!(rest.get("/channels", &[]).await.status, 200);
}
