//! Presence: roster, member events once per user, identity, limits, subscription count (spec 7).

use serde_json::{Value, json};

use crate::support::{config, config_with, data_of, eventually, start_server};

const CHANNEL: &str = "presence-room";

fn member(id: &str) -> String {
    json!({"user_id": id, "user_info": {"name": id.to_uppercase()}}).to_string()
}

fn sorted_ids(presence: &Value) -> Vec<String> {
    let mut ids: Vec<String> = presence["ids"]
        .as_array()
        .expect("ids array")
        .iter()
        .map(|id| id.as_str().expect("ids are strings").to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn roster_lists_ids_hash_and_count_including_the_subscriber() {
    let server = start_server(config()).await;
    let mut alice = server.connect().await;
    let own = alice.subscribe_presence(CHANNEL, &member("alice")).await;
    assert_eq!(
        own,
        json!({"ids": ["alice"], "hash": {"alice": {"name": "ALICE"}}, "count": 1})
    );
    let mut bob = server.connect().await;
    let roster = bob
        .subscribe_presence(CHANNEL, r#"{"user_id":"bob"}"#)
        .await;
    assert_eq!(sorted_ids(&roster), ["alice", "bob"]);
    assert_eq!(
        roster["hash"],
        json!({"alice": {"name": "ALICE"}, "bob": null})
    );
    assert_eq!(roster["count"], 2);
}

#[tokio::test]
async fn member_added_goes_to_others_only_and_once_per_user() {
    let server = start_server(config()).await;
    let mut alice = server.connect().await;
    alice.subscribe_presence(CHANNEL, &member("alice")).await;
    let mut bob = server.connect().await;
    bob.subscribe_presence(CHANNEL, r#"{"user_id":"bob"}"#)
        .await;
    let added = alice.expect_next("pusher_internal:member_added").await;
    assert_eq!(added["channel"], CHANNEL);
    assert_eq!(
        data_of(&added),
        json!({"user_id": "bob"}),
        "no user_info key when absent"
    );
    bob.expect_quiet().await;
    let mut bob_again = server.connect().await;
    let roster = bob_again
        .subscribe_presence(CHANNEL, r#"{"user_id":"bob"}"#)
        .await;
    assert_eq!(roster["count"], 2, "users, not connections");
    alice.expect_quiet().await;
    bob.expect_quiet().await;
}

#[tokio::test]
async fn member_removed_is_sent_only_when_the_users_last_connection_leaves() {
    let server = start_server(config()).await;
    let mut alice = server.connect().await;
    alice.subscribe_presence(CHANNEL, &member("alice")).await;
    let mut bob1 = server.connect().await;
    bob1.subscribe_presence(CHANNEL, &member("bob")).await;
    let mut bob2 = server.connect().await;
    bob2.subscribe_presence(CHANNEL, &member("bob")).await;
    alice.expect_next("pusher_internal:member_added").await;
    bob1.unsubscribe(CHANNEL).await;
    bob1.expect_quiet().await;
    alice.expect_quiet().await;
    bob2.close().await;
    let removed = alice.expect_next("pusher_internal:member_removed").await;
    assert_eq!(data_of(&removed), json!({"user_id": "bob"}));
    assert_eq!(removed["channel"], CHANNEL);
}

#[tokio::test]
async fn a_disconnect_that_is_not_the_users_last_sends_no_member_removed() {
    let server = start_server(config()).await;
    let mut alice = server.connect().await;
    alice.subscribe_presence(CHANNEL, &member("alice")).await;
    let mut bob1 = server.connect().await;
    bob1.subscribe_presence(CHANNEL, &member("bob")).await;
    let mut bob2 = server.connect().await;
    bob2.subscribe_presence(CHANNEL, &member("bob")).await;
    alice.expect_next("pusher_internal:member_added").await;
    bob1.close().await;
    bob2.close().await;
    let rest = server.rest();
    eventually("both bob connections left", || async {
        rest.get(&format!("/channels/{CHANNEL}/users"), &[])
            .await
            .ok()
            == json!({"users": [{"id": "alice"}]})
    })
    .await;
    let frames = alice.barrier().await;
    let removed: Vec<&Value> = frames
        .iter()
        .filter(|f| f["event"] == "pusher_internal:member_removed")
        .collect();
    assert_eq!(removed.len(), 1, "{frames:?}");
}

#[tokio::test]
async fn numeric_user_ids_become_their_json_text() {
    let server = start_server(config()).await;
    let mut observer = server.connect().await;
    observer
        .subscribe_presence(CHANNEL, &member("observer"))
        .await;
    let mut numeric = server.connect().await;
    let roster = numeric
        .subscribe_presence(
            CHANNEL,
            r#"{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#,
        )
        .await;
    assert_eq!(sorted_ids(&roster), ["10", "observer"]);
    assert_eq!(roster["hash"]["10"], json!({"name": "Mr. Channels"}));
    let added = data_of(&observer.expect_next("pusher_internal:member_added").await);
    assert_eq!(added["user_id"], "10");
}

async fn assert_presence_refused(
    channel_data: &str,
    edit: impl FnOnce(&mut reference_server::AppConfig),
) {
    let server = start_server(config_with(edit)).await;
    let mut client = server.connect().await;
    let auth = client.auth(CHANNEL, Some(channel_data));
    client
        .send_subscribe(json!({"channel": CHANNEL, "auth": auth, "channel_data": channel_data}))
        .await;
    let error = client.expect_error().await;
    assert!(error["code"].is_null(), "{channel_data}: {error}");
    let users = server
        .rest()
        .get(&format!("/channels/{CHANNEL}/users"), &[])
        .await
        .ok();
    assert_eq!(users, json!({"users": []}), "{channel_data}");
}

#[tokio::test]
async fn user_info_that_is_not_an_object_is_refused() {
    for info in [r#""name""#, "[1]", "5", "true"] {
        assert_presence_refused(&format!(r#"{{"user_id":"u","user_info":{info}}}"#), |_| {}).await;
    }
}

#[tokio::test]
async fn channel_data_without_a_usable_user_id_is_refused() {
    for data in [
        r#"{"user_info":{}}"#,
        r#"{"user_id":""}"#,
        r#"{"user_id":null}"#,
        r#"{"user_id":{}}"#,
        "not json",
        "[]",
    ] {
        assert_presence_refused(data, |_| {}).await;
    }
}

#[tokio::test]
async fn user_id_over_128_characters_is_refused_and_128_accepted() {
    assert_presence_refused(&json!({"user_id": "u".repeat(129)}).to_string(), |_| {}).await;
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    let roster = client
        .subscribe_presence(CHANNEL, &json!({"user_id": "u".repeat(128)}).to_string())
        .await;
    assert_eq!(roster["count"], 1);
}

#[tokio::test]
async fn user_info_over_1_kb_is_refused_and_1024_bytes_accepted() {
    let info_of = |len: usize| format!(r#"{{"n":"{}"}}"#, "x".repeat(len - 8));
    assert_eq!(info_of(1024).len(), 1024);
    assert_presence_refused(
        &format!(r#"{{"user_id":"u","user_info":{}}}"#, info_of(1025)),
        |_| {},
    )
    .await;
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    let data = format!(r#"{{"user_id":"u","user_info":{}}}"#, info_of(1024));
    assert_eq!(client.subscribe_presence(CHANNEL, &data).await["count"], 1);
}

#[tokio::test]
async fn channel_data_altered_after_signing_is_refused() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    let signed = r#"{"user_id":"alice"}"#;
    let auth = client.auth(CHANNEL, Some(signed));
    for sent in [r#"{"user_id":"admin"}"#, r#"{"user_id": "alice"}"#] {
        client
            .send_subscribe(json!({"channel": CHANNEL, "auth": auth, "channel_data": sent}))
            .await;
        assert!(client.expect_error().await["code"].is_null());
    }
    client
        .send_subscribe(json!({"channel": CHANNEL, "auth": auth}))
        .await;
    assert!(
        client.expect_error().await["code"].is_null(),
        "no channel_data and not signed in"
    );
    client.expect_quiet().await;
}

#[tokio::test]
async fn the_member_limit_refuses_a_new_user_but_not_another_connection_of_a_member() {
    let server = start_server(config_with(|app| app.max_presence_members = 2)).await;
    let mut a = server.connect().await;
    a.subscribe_presence(CHANNEL, &member("a")).await;
    let mut b = server.connect().await;
    b.subscribe_presence(CHANNEL, &member("b")).await;
    let mut c = server.connect().await;
    let data = member("c");
    let auth = c.auth(CHANNEL, Some(&data));
    c.send_subscribe(json!({"channel": CHANNEL, "auth": auth, "channel_data": data}))
        .await;
    assert!(c.expect_error().await["code"].is_null());
    server.rest().publish(CHANNEL, "hello", "{}").await;
    c.expect_quiet().await;
    let mut a2 = server.connect().await;
    assert_eq!(
        a2.subscribe_presence(CHANNEL, &member("a")).await["count"],
        2
    );
}

#[tokio::test]
async fn a_signed_in_connection_joins_presence_without_channel_data() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client
        .signin(r#"{"id":"u1","user_info":{"name":"U"}}"#)
        .await;
    let auth = client.auth(CHANNEL, None);
    client
        .send_subscribe(json!({"channel": CHANNEL, "auth": auth}))
        .await;
    let roster = client.expect_succeeded(CHANNEL).await["presence"].clone();
    assert_eq!(
        roster,
        json!({"ids": ["u1"], "hash": {"u1": {"name": "U"}}, "count": 1})
    );
}

#[tokio::test]
async fn subscription_count_is_sent_to_every_subscriber_when_enabled() {
    let server = start_server(config_with(|app| app.subscription_count = true)).await;
    let mut a = server.connect().await;
    a.subscribe("news").await;
    let count = |frame: &Value| data_of(frame)["subscription_count"].clone();
    assert_eq!(
        count(&a.expect_next("pusher_internal:subscription_count").await),
        1
    );
    let mut b = server.connect().await;
    b.subscribe("news").await;
    assert_eq!(
        count(&b.expect_next("pusher_internal:subscription_count").await),
        2
    );
    assert_eq!(
        count(&a.expect_next("pusher_internal:subscription_count").await),
        2
    );
    b.unsubscribe("news").await;
    b.expect_quiet().await;
    let frame = a.expect_next("pusher_internal:subscription_count").await;
    assert_eq!(frame["channel"], "news");
    assert_eq!(count(&frame), 1);
}

#[tokio::test]
async fn subscription_count_is_never_sent_on_presence_or_when_disabled() {
    let server = start_server(config_with(|app| app.subscription_count = true)).await;
    let mut client = server.connect().await;
    client.subscribe_presence(CHANNEL, &member("a")).await;
    client.expect_quiet().await;
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe("news").await;
    client.expect_quiet().await;
}
