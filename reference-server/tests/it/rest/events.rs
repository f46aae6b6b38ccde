//! Publishing: `POST /events` and `POST /batch_events` (spec 8.2, 8.3, 8.9, 5.4).

use serde_json::{Value, json};

use crate::support::{config, config_with, start_server};

fn event(channel: &str, data: &str) -> Value {
    json!({"name": "e", "channel": channel, "data": data})
}

#[tokio::test]
async fn an_event_reaches_each_subscribed_channel_once() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe("a").await;
    client.subscribe("b").await;
    let body = json!({"name": "e", "channels": ["a", "b", "c"], "data": "x"});
    assert_eq!(server.rest().post("/events", &body).await.ok(), json!({}));
    let mut frames = client.barrier().await;
    frames.sort_by_key(|f| f["channel"].as_str().map(str::to_owned));
    assert_eq!(
        frames,
        [
            json!({"event": "e", "channel": "a", "data": "x"}),
            json!({"event": "e", "channel": "b", "data": "x"})
        ]
    );
}

#[tokio::test]
async fn socket_id_excludes_only_that_connection_even_of_the_same_user() {
    let server = start_server(config()).await;
    let mut first = server.connect().await;
    let mut second = server.connect().await;
    for client in [&mut first, &mut second] {
        client.signin(r#"{"id":"u1"}"#).await;
        client.subscribe("news").await;
    }
    let body = json!({"name": "e", "channel": "news", "data": "x", "socket_id": first.socket_id()});
    server.rest().post("/events", &body).await.ok();
    second.expect_next("e").await;
    first.expect_quiet().await;
    let body = json!({"name": "e", "channel": "news", "data": "y", "socket_id": "1.1"});
    server.rest().post("/events", &body).await.ok();
    first.expect_next("e").await;
}

#[tokio::test]
async fn a_malformed_socket_id_is_400() {
    let server = start_server(config()).await;
    let body = json!({"name": "e", "channel": "news", "data": "x", "socket_id": "abc"});
    assert_eq!(server.rest().post("/events", &body).await.status, 400);
}

#[tokio::test]
async fn at_most_100_channels_per_event() {
    let server = start_server(config()).await;
    let channels = |n: usize| (0..n).map(|i| format!("c{i}")).collect::<Vec<_>>();
    let rest = server.rest();
    let ok = json!({"name": "e", "channels": channels(100), "data": "x"});
    assert_eq!(rest.post("/events", &ok).await.status, 200);
    let over = json!({"name": "e", "channels": channels(101), "data": "x"});
    let reply = rest.post("/events", &over).await;
    assert_eq!(reply.status, 400);
    assert!(!reply.body.is_empty());
}

#[tokio::test]
async fn data_of_10240_bytes_is_accepted_and_10241_is_413() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe("news").await;
    let rest = server.rest();
    assert_eq!(
        rest.post("/events", &event("news", &"x".repeat(10240)))
            .await
            .status,
        200
    );
    client.expect_next("e").await;
    let reply = rest
        .post("/events", &event("news", &"x".repeat(10241)))
        .await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    let multibyte = "é".repeat(5121);
    assert_eq!(
        rest.post("/events", &event("news", &multibyte))
            .await
            .status,
        413,
        "bytes, not chars"
    );
    client.expect_quiet().await;
}

#[tokio::test]
async fn invalid_event_bodies_are_400_and_deliver_nothing() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe("news").await;
    let rest = server.rest();
    let bad = [
        json!({"name": "pusher:fake", "channel": "news", "data": "x"}),
        json!({"name": "pusher_internal:member_added", "channel": "news", "data": "x"}),
        json!({"name": "e", "channel": "news", "data": {"an": "object"}}),
        json!({"name": "e", "channel": "news"}),
        json!({"channel": "news", "data": "x"}),
        json!({"name": "n".repeat(201), "channel": "news", "data": "x"}),
        json!({"name": "e", "data": "x"}),
        json!({"name": "e", "channel": "news", "channels": ["news"], "data": "x"}),
        json!({"name": "e", "channels": [], "data": "x"}),
        json!({"name": "e", "channel": "bad name", "data": "x"}),
        json!({"name": "e", "channel": "#private", "data": "x"}),
        json!({"name": "e", "channel": "c".repeat(201), "data": "x"}),
        json!({"name": "e", "channels": ["private-encrypted-a", "news"], "data": "x"}),
        json!(["e", "x", "news"]),
    ];
    for body in bad {
        let reply = rest.post("/events", &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
    }
    let mut call = rest.call("POST", "/events");
    call.body = b"{not json".to_vec();
    assert_eq!(call.send().await.status, 400);
    client.expect_quiet().await;
}

#[tokio::test]
async fn encrypted_channel_data_is_relayed_byte_for_byte() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe_private("private-encrypted-vault").await;
    let data = r#"{"nonce":"WEFKSTBZNkRQQkhTQUhYVEhWM0EzWk1G","ciphertext":"tsYJa2JgGDOpVIYFe4aNVWAvZlpB7z7CjN9mpIdbATE0Yc4izN8aM8D6VigBxnIQ"}"#;
    let odd = "  {\"nonce\" : \"a\\u00e9\",\n\"ciphertext\":\"b\"}  ";
    for payload in [data, odd] {
        server
            .rest()
            .publish("private-encrypted-vault", "secret", payload)
            .await;
        assert_eq!(client.expect_next("secret").await["data"], payload);
    }
}

#[tokio::test]
async fn a_batch_of_10_is_delivered_and_11_is_refused_whole() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe("news").await;
    let rest = server.rest();
    let batch = |n: usize| json!({"batch": (0..n).map(|i| event("news", &i.to_string())).collect::<Vec<_>>()});
    assert_eq!(rest.post("/batch_events", &batch(10)).await.ok(), json!({}));
    let frames = client.barrier().await;
    let data: Vec<&str> = frames
        .iter()
        .map(|f| f["data"].as_str().expect("data"))
        .collect();
    assert_eq!(
        data,
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        "in order"
    );
    assert_eq!(rest.post("/batch_events", &batch(11)).await.status, 400);
    client.expect_quiet().await;
}

#[tokio::test]
async fn one_bad_batch_entry_rejects_the_whole_batch() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe("news").await;
    let rest = server.rest();
    let body = json!({"batch": [event("news", "ok"), event("bad name", "x")]});
    assert_eq!(rest.post("/batch_events", &body).await.status, 400);
    let body = json!({"batch": [event("news", "ok"), event("news", &"x".repeat(10241))]});
    assert_eq!(rest.post("/batch_events", &body).await.status, 413);
    let body = json!({"batch": [{"name": "e", "channels": ["news"], "data": "x"}]});
    assert_eq!(
        rest.post("/batch_events", &body).await.status,
        400,
        "batch entries take one channel"
    );
    for body in [
        json!({"batch": [["e", "x", "news"]]}),
        json!([[event("news", "x")]]),
    ] {
        assert_eq!(
            rest.post("/batch_events", &body).await.status,
            400,
            "{body}"
        );
    }
    client.expect_quiet().await;
}

#[tokio::test]
async fn batch_entries_each_honour_their_own_socket_id() {
    let server = start_server(config()).await;
    let mut a = server.connect().await;
    let mut b = server.connect().await;
    a.subscribe("news").await;
    b.subscribe("news").await;
    let body = json!({"batch": [
        {"name": "one", "channel": "news", "data": "1", "socket_id": a.socket_id()},
        {"name": "two", "channel": "news", "data": "2", "socket_id": b.socket_id()},
    ]});
    server.rest().post("/batch_events", &body).await.ok();
    assert_eq!(
        a.barrier()
            .await
            .iter()
            .map(|f| f["event"].clone())
            .collect::<Vec<_>>(),
        ["two"]
    );
    assert_eq!(
        b.barrier()
            .await
            .iter()
            .map(|f| f["event"].clone())
            .collect::<Vec<_>>(),
        ["one"]
    );
}

#[tokio::test]
async fn info_attributes_report_counts_per_channel() {
    let server = start_server(config_with(|app| app.subscription_count = true)).await;
    let mut a = server.connect().await;
    a.subscribe_presence("presence-room", r#"{"user_id":"a"}"#)
        .await;
    a.subscribe("news").await;
    let mut a2 = server.connect().await;
    a2.subscribe_presence("presence-room", r#"{"user_id":"a"}"#)
        .await;
    let body = json!({"name": "e", "channels": ["presence-room", "news"], "data": "x", "info": "user_count,subscription_count"});
    let reply = server.rest().post("/events", &body).await.ok();
    assert_eq!(
        reply,
        json!({"channels": {"presence-room": {"user_count": 1}, "news": {"subscription_count": 1}}})
    );
    let batch = json!({"batch": [
        {"name": "e", "channel": "news", "data": "x"},
        {"name": "e", "channel": "presence-room", "data": "x", "info": "user_count"},
    ]});
    let reply = server.rest().post("/batch_events", &batch).await.ok();
    assert_eq!(reply, json!({"batch": [{}, {"user_count": 1}]}));
}
