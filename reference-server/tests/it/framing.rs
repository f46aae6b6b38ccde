//! Framing: malformed input is answered with an error frame, never a disconnect (spec 2).

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{KEY, SECRET, channel_auth, config, signin_auth, start_server};

#[tokio::test]
async fn malformed_frames_get_pusher_error_and_the_connection_keeps_working() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    for text in [
        "not json",
        "{\"event\":",
        "[1,2,3]",
        "42",
        "\"pusher:ping\"",
        "{}",
        "{\"event\":7}",
        "{\"event\":\"pusher:subscribe\"}",
        "{\"event\":\"pusher:subscribe\",\"data\":{\"auth\":\"\"}}",
        "{\"event\":\"pusher:subscribe\",\"data\":\"not json inside\"}",
    ] {
        client.send_text(text).await;
        let error = client.expect_error().await;
        assert!(error["code"].is_null(), "{text}: {error}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{text}: {error}"
        );
    }
    client.expect_quiet().await;
}

#[tokio::test]
async fn unknown_events_get_an_error_and_the_connection_answers_ping() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client
        .send_json(&json!({"event": "hello", "data": {}}))
        .await;
    assert!(client.expect_error().await["code"].is_null());
    client.expect_quiet().await;
}

#[tokio::test]
async fn subscribe_data_may_be_a_json_string() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    let data = json!({"channel": "news", "auth": ""}).to_string();
    client
        .send_json(&json!({"event": "pusher:subscribe", "data": data}))
        .await;
    client.expect_succeeded("news").await;
    server.rest().publish("news", "story", "{}").await;
    client.expect_next("story").await;
}

#[tokio::test]
async fn a_binary_frame_is_an_error_not_a_disconnect() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client
        .send_message(Message::Binary(
            b"{\"event\":\"pusher:ping\"}".to_vec().into(),
        ))
        .await;
    client.expect_error().await;
    client.expect_quiet().await;
}

#[tokio::test]
async fn a_message_over_the_frame_limit_closes_the_connection() {
    let mut config = config();
    config.transport.max_message_bytes = 16 * 1024;
    let server = start_server(config).await;
    let mut client = server.connect().await;
    let big = json!({"event": "client-x", "channel": "private-a", "data": "x".repeat(20 * 1024)});
    client.send_json(&big).await;
    let (code, _) = client.expect_close().await;
    assert_eq!(code, 1009, "message too big (RFC 6455 7.4.1)");
}

#[tokio::test]
async fn a_message_just_under_the_frame_limit_is_read() {
    let mut config = config();
    config.transport.max_message_bytes = 16 * 1024;
    let server = start_server(config).await;
    let mut client = server.connect().await;
    let channel = format!("news{}", "n".repeat(150));
    let mut text =
        json!({"event": "pusher:subscribe", "data": {"channel": channel, "auth": ""}}).to_string();
    text.push_str(&" ".repeat(16 * 1024 - text.len()));
    client.send_text(&text).await;
    client.expect_succeeded(&channel).await;
}

// See: issue 9 item 8. serde reads a struct from a JSON array too, taking
// the fields in order, so `"data":["news"]` subscribed to `news`.
#[tokio::test]
async fn issue_9_non_object_data_is_refused_where_the_spec_needs_an_object() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    // Signed correctly, so only the shape of channel_data and user_data is wrong.
    let channel_data = json!(["u1"]).to_string();
    let presence_auth = channel_auth(
        KEY,
        SECRET,
        client.socket_id(),
        "presence-a",
        Some(&channel_data),
    );
    let user_data = json!(["u1"]).to_string();
    let signin = signin_auth(KEY, SECRET, client.socket_id(), &user_data);
    for frame in [
        json!({"event": "pusher:subscribe", "data": ["news"]}),
        json!({"event": "pusher:subscribe", "data": ["news", ""]}),
        json!({"event": "pusher:subscribe", "data": "[\"news\"]"}),
        json!({"event": "pusher:unsubscribe", "data": ["news"]}),
        json!({"event": "pusher:signin", "data": ["app-key:00", "{\"id\":\"u\"}"]}),
        json!({"event": "pusher:subscribe", "data": {"channel": "presence-a", "auth": presence_auth, "channel_data": channel_data}}),
        json!({"event": "pusher:signin", "data": {"auth": signin, "user_data": user_data}}),
        json!(["pusher:subscribe", {"channel": "news"}]),
    ] {
        client.send_json(&frame).await;
        let error = client.expect_error().await;
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("object")),
            "{frame}: {error}"
        );
    }
    // Nothing was subscribed: a publish to `news` reaches nobody.
    server.rest().publish("news", "story", "{}").await;
    client.expect_quiet().await;
}
