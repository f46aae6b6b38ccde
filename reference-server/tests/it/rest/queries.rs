//! Channel queries: `GET /channels`, `/channels/{name}`, `/channels/{name}/users` (spec 8.4-8.6).

use serde_json::json;

use crate::support::{config, config_with, start_server};

#[tokio::test]
async fn channels_lists_only_occupied_channels_filtered_by_prefix() {
    let server = start_server(config()).await;
    let rest = server.rest();
    rest.publish("never-subscribed", "e", "x").await;
    let mut client = server.connect().await;
    client.subscribe("news").await;
    client.subscribe_private("private-chat").await;
    client.signin(r#"{"id":"u1"}"#).await;
    client.subscribe("#server-to-user-u1").await;
    assert_eq!(
        rest.get("/channels", &[]).await.ok(),
        json!({"channels": {"news": {}, "private-chat": {}}})
    );
    let private = rest
        .get("/channels", &[("filter_by_prefix", "private-")])
        .await
        .ok();
    assert_eq!(private, json!({"channels": {"private-chat": {}}}));
}

#[tokio::test]
async fn user_count_in_the_channel_list_needs_a_presence_prefix() {
    let server = start_server(config()).await;
    let rest = server.rest();
    let mut a = server.connect().await;
    a.subscribe_presence("presence-room", r#"{"user_id":"a"}"#)
        .await;
    let mut a2 = server.connect().await;
    a2.subscribe_presence("presence-room", r#"{"user_id":"a"}"#)
        .await;
    let listed = rest
        .get(
            "/channels",
            &[("filter_by_prefix", "presence-"), ("info", "user_count")],
        )
        .await
        .ok();
    assert_eq!(
        listed,
        json!({"channels": {"presence-room": {"user_count": 1}}})
    );
    assert_eq!(
        rest.get("/channels", &[("info", "user_count")])
            .await
            .status,
        400
    );
    let private = [("filter_by_prefix", "private-"), ("info", "user_count")];
    assert_eq!(rest.get("/channels", &private).await.status, 400);
}

#[tokio::test]
async fn channel_reports_occupied_and_the_attributes_its_kind_allows() {
    let server = start_server(config_with(|app| app.subscription_count = true)).await;
    let rest = server.rest();
    assert_eq!(
        rest.get("/channels/news", &[]).await.ok(),
        json!({"occupied": false})
    );
    let mut a = server.connect().await;
    a.subscribe("news").await;
    let mut b = server.connect().await;
    b.subscribe("news").await;
    let news = rest
        .get("/channels/news", &[("info", "subscription_count")])
        .await
        .ok();
    assert_eq!(news, json!({"occupied": true, "subscription_count": 2}));
    assert_eq!(
        rest.get("/channels/news", &[("info", "user_count")])
            .await
            .status,
        400
    );
    assert_eq!(
        rest.get("/channels/news", &[("info", "cache")])
            .await
            .status,
        400
    );
    a.barrier().await;
    a.subscribe_presence("presence-room", r#"{"user_id":"a"}"#)
        .await;
    let room = rest
        .get("/channels/presence-room", &[("info", "user_count")])
        .await
        .ok();
    assert_eq!(room, json!({"occupied": true, "user_count": 1}));
    let counted = [("info", "subscription_count")];
    assert_eq!(
        rest.get("/channels/presence-room", &counted).await.status,
        400
    );
}

#[tokio::test]
async fn subscription_count_is_not_available_when_the_app_disables_it() {
    let server = start_server(config()).await;
    let reply = server
        .rest()
        .get("/channels/news", &[("info", "subscription_count")])
        .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn users_lists_distinct_presence_members_and_refuses_other_kinds() {
    let server = start_server(config()).await;
    let rest = server.rest();
    assert_eq!(
        rest.get("/channels/presence-room/users", &[]).await.ok(),
        json!({"users": []})
    );
    let mut a = server.connect().await;
    a.subscribe_presence("presence-room", r#"{"user_id":"a"}"#)
        .await;
    let mut a2 = server.connect().await;
    a2.subscribe_presence("presence-room", r#"{"user_id":"a"}"#)
        .await;
    let mut b = server.connect().await;
    b.subscribe_presence("presence-room", r#"{"user_id":7}"#)
        .await;
    let mut users = rest.get("/channels/presence-room/users", &[]).await.ok()["users"]
        .as_array()
        .expect("users array")
        .clone();
    users.sort_by_key(|u| u["id"].as_str().map(str::to_owned));
    assert_eq!(users, [json!({"id": "7"}), json!({"id": "a"})]);
    for channel in ["news", "private-chat"] {
        assert_eq!(
            rest.get(&format!("/channels/{channel}/users"), &[])
                .await
                .status,
            400
        );
    }
}

#[tokio::test]
async fn unknown_paths_under_an_app_are_404() {
    let server = start_server(config()).await;
    assert_eq!(server.rest().get("/nothing-here", &[]).await.status, 404);
}
