//! User authentication: sign-in, the server-to-user channel, terminate, watchlist (spec 5.3, 8.7, 10.2-10.4).

use serde_json::{Value, json};

use crate::support::{Client, config, config_with, data_of, signin_auth, start_server};

async fn expect_watchlist(client: &mut Client) -> Vec<Value> {
    let frame = client.expect_next("pusher_internal:watchlist_events").await;
    assert!(
        frame.get("channel").is_none(),
        "connection-level frame: {frame}"
    );
    data_of(&frame)["events"]
        .as_array()
        .expect("events array")
        .clone()
}

#[tokio::test]
async fn signin_succeeds_and_echoes_the_signed_user_data() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    let user_data = r#"{"id":"12345","user_info":{"name":"Mr. Channels"}}"#;
    let data = client.signin(user_data).await;
    assert_eq!(data["user_data"], user_data, "the exact signed text");
    client.subscribe("#server-to-user-12345").await;
}

#[tokio::test]
async fn a_bad_signin_is_error_4009_and_the_connection_is_not_signed_in() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    let id = client.socket_id().to_owned();
    let good = r#"{"id":"u1"}"#;
    let attempts = [
        (signin_auth("app-key", "wrong", &id, good), good.to_owned()),
        (
            signin_auth("app-key", "app-secret", "1.1", good),
            good.to_owned(),
        ),
        (
            signin_auth("app-key", "app-secret", &id, good),
            r#"{"id":"u2"}"#.to_owned(),
        ),
        (
            signin_auth("app-key", "app-secret", &id, "{}"),
            "{}".to_owned(),
        ),
        (
            signin_auth("app-key", "app-secret", &id, r#"{"id":""}"#),
            r#"{"id":""}"#.to_owned(),
        ),
        (
            signin_auth("app-key", "app-secret", &id, r#"{"id":5}"#),
            r#"{"id":5}"#.to_owned(),
        ),
        (
            signin_auth("app-key", "app-secret", &id, "nope"),
            "nope".to_owned(),
        ),
    ];
    for (auth, user_data) in attempts {
        client
            .send_json(
                &json!({"event": "pusher:signin", "data": {"auth": auth, "user_data": user_data}}),
            )
            .await;
        assert_eq!(client.expect_error().await["code"], 4009, "{user_data}");
    }
    for id in ["u1", "u2"] {
        client
            .send_subscribe(json!({"channel": format!("#server-to-user-{id}"), "auth": ""}))
            .await;
        assert!(client.expect_error().await["code"].is_null());
    }
    client.expect_quiet().await;
}

#[tokio::test]
async fn signin_is_refused_when_user_authentication_is_off() {
    let server = start_server(config_with(|app| app.user_authentication = false)).await;
    let mut client = server.connect().await;
    client.send_signin(r#"{"id":"u1"}"#).await;
    assert_eq!(client.expect_error().await["code"], 4009);
}

#[tokio::test]
async fn signing_in_again_as_another_user_is_refused() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.signin(r#"{"id":"u1"}"#).await;
    client.send_signin(r#"{"id":"u2"}"#).await;
    assert_eq!(client.expect_error().await["code"], 4009);
    client.signin(r#"{"id":"u1","user_info":{}}"#).await;
}

#[tokio::test]
async fn server_to_user_channel_is_only_for_the_signed_in_id_and_receives_rest_events() {
    let server = start_server(config()).await;
    let mut u1a = server.connect().await;
    u1a.signin(r#"{"id":"u1"}"#).await;
    let mut u1b = server.connect().await;
    u1b.signin(r#"{"id":"u1"}"#).await;
    u1a.send_subscribe(json!({"channel": "#server-to-user-u2", "auth": ""}))
        .await;
    assert!(u1a.expect_error().await["code"].is_null());
    u1a.subscribe("#server-to-user-u1").await;
    u1b.subscribe("#server-to-user-u1").await;
    let body = json!({"name": "notice", "channels": ["#server-to-user-u1"], "data": "hi", "socket_id": u1b.socket_id()});
    server.rest().post("/events", &body).await.ok();
    let frame = u1a.expect_next("notice").await;
    assert_eq!(
        frame,
        json!({"event": "notice", "channel": "#server-to-user-u1", "data": "hi"})
    );
    u1b.expect_quiet().await;
    u1a.trigger("#server-to-user-u1", "client-x", json!({}))
        .await;
    u1a.expect_error().await;
    u1b.expect_quiet().await;
}

#[tokio::test]
async fn terminate_connections_closes_signed_in_sockets_with_4009_only() {
    let server = start_server(config()).await;
    let mut signed = server.connect().await;
    signed.signin(r#"{"id":"u1"}"#).await;
    let mut presence_only = server.connect().await;
    presence_only
        .subscribe_presence("presence-room", r#"{"user_id":"u1"}"#)
        .await;
    let mut other = server.connect().await;
    other.signin(r#"{"id":"u2"}"#).await;
    let reply = server
        .rest()
        .post("/users/u1/terminate_connections", &json!({}))
        .await;
    assert_eq!(reply.ok(), json!({}));
    assert_eq!(signed.expect_close().await.0, 4009);
    presence_only.expect_quiet().await;
    other.expect_quiet().await;
    let mut again = server.connect().await;
    again.signin(r#"{"id":"u1"}"#).await;
}

#[tokio::test]
async fn watchlist_gets_the_initial_state_then_online_and_offline_changes() {
    let server = start_server(config()).await;
    let mut x = server.connect().await;
    x.signin(r#"{"id":"x"}"#).await;
    let mut watcher = server.connect().await;
    watcher.signin(r#"{"id":"w","watchlist":["x","y"]}"#).await;
    let initial = expect_watchlist(&mut watcher).await;
    assert!(
        initial.contains(&json!({"name": "online", "user_ids": ["x"]})),
        "{initial:?}"
    );
    assert!(
        initial.contains(&json!({"name": "offline", "user_ids": ["y"]})),
        "{initial:?}"
    );
    let mut y = server.connect().await;
    y.signin(r#"{"id":"y"}"#).await;
    assert_eq!(
        expect_watchlist(&mut watcher).await,
        [json!({"name": "online", "user_ids": ["y"]})]
    );
    let mut y2 = server.connect().await;
    y2.signin(r#"{"id":"y"}"#).await;
    y2.expect_quiet().await;
    watcher.expect_quiet().await;
    y.close().await;
    y2.close().await;
    assert_eq!(
        expect_watchlist(&mut watcher).await,
        [json!({"name": "offline", "user_ids": ["y"]})]
    );
}

#[tokio::test]
async fn a_watchlist_over_100_ids_is_truncated_with_error_4302() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    let ids: Vec<String> = (0..101).map(|i| format!("user{i}")).collect();
    let user_data = json!({"id": "w", "watchlist": ids}).to_string();
    client.signin(&user_data).await;
    assert_eq!(client.expect_error().await["code"], 4302);
    let events = expect_watchlist(&mut client).await;
    let watched: usize = events
        .iter()
        .map(|e| e["user_ids"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(watched, 100);
}

#[tokio::test]
async fn watchlist_events_are_not_sent_when_the_app_switches_them_off() {
    let server = start_server(config_with(|app| app.watchlist = false)).await;
    let mut client = server.connect().await;
    client.signin(r#"{"id":"w","watchlist":["x"]}"#).await;
    client.expect_quiet().await;
}
