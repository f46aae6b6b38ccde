//! Spec 2, "Message framing": text JSON objects, double encoding, error shape, malformed input.

use serde_json::{Value, json};

use super::{case, data_object, expect_open, member, publish};
use crate::client::Incoming;
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::wire::ChannelKind;

const SECTION: SpecRef = SpecRef {
    doc: Doc::Protocol,
    slug: "framing",
    section: "2. Message framing",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "protocol/framing/text-only",
            SECTION,
            Must,
            "Every server frame is a text frame holding a JSON object with a string event.",
            text_only
        ),
        case!(
            "protocol/framing/double-encoding",
            SECTION,
            Must,
            "connection_established, subscription_succeeded and member_added carry data as a JSON string.",
            double_encoding
        ),
        case!(
            "protocol/framing/error-shape",
            SECTION,
            Must,
            "pusher:error data has a string message and an integer or null code.",
            error_shape
        ),
        case!(
            "protocol/framing/accept-string-data",
            SECTION,
            Should,
            "pusher:subscribe with data as a JSON string works.",
            accept_string_data
        ),
        case!(
            "protocol/framing/every-frame",
            SECTION,
            Must,
            "Every server frame of every case is a JSON object with string data where spec 2.2 says, no channel on connection-level frames, no client-side event names, numeric or null error codes, and no 43xx close.",
            every_frame
        ),
        case!(
            "protocol/framing/invalid-json",
            SECTION,
            Should,
            "A garbage frame does not break the connection: the next ping is answered.",
            invalid_json
        ),
    ]
}

async fn text_only(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Public);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    publish(&ctx, &channel, "ev", "{\"n\":1}").await?;
    c.expect_event(&channel, "ev").await?;
    c.send_ping().await?;
    loop {
        match c.recv().await {
            Some(Incoming::Text(e)) if e.event() == "pusher:pong" => return Ok(()),
            Some(Incoming::Text(_) | Incoming::Ping | Incoming::Pong) => {}
            Some(other) => {
                return Err(Failure::violation(
                    "text frames with JSON objects",
                    other.describe(),
                ));
            }
            None => return Err(Failure::violation("pusher:pong", "nothing")),
        }
    }
}

fn expect_string_data(e: &crate::wire::Envelope) -> Outcome {
    if e.data().is_some_and(Value::is_string) {
        Ok(())
    } else {
        Err(Failure::violation(
            format!("{} with string data", e.event()),
            e.encode(),
        ))
    }
}

async fn double_encoding(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut a = ctx.connect().await?;
    expect_string_data(a.established().expect("handshake kept"))?;
    expect_string_data(&a.subscribe_presence(&channel, &member("a")).await?)?;
    let mut b = ctx.connect().await?;
    b.subscribe_presence(&channel, &member("b")).await?;
    expect_string_data(
        &a.expect_event(&channel, "pusher_internal:member_added")
            .await?,
    )
}

async fn error_shape(ctx: Ctx) -> Outcome {
    let mut c = ctx.connect().await?;
    c.send_subscribe(&ctx.unique_channel(ChannelKind::Private), None, None)
        .await?;
    let e = c.expect_error().await?;
    let data = data_object(&e, "pusher:error")?;
    let code_ok = matches!(data.get("code"), Some(Value::Null))
        || data.get("code").is_some_and(Value::is_i64);
    if data.get("message").is_some_and(Value::is_string) && code_ok {
        Ok(())
    } else {
        Err(Failure::violation(
            "data {message: string, code: int or null}",
            e.encode(),
        ))
    }
}

async fn accept_string_data(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Public);
    let mut c = ctx.connect().await?;
    let data = json!({"channel": channel, "auth": ""}).to_string();
    c.send_json(&json!({"event": "pusher:subscribe", "data": data}))
        .await?;
    c.expect_subscribed(&channel).await?;
    Ok(())
}

/// Traffic that draws every kind of server frame; the runner judges the
/// frames of this case and of every other case of the run (monitor).
async fn every_frame(ctx: Ctx) -> Outcome {
    let features = ctx.target().profile.features.clone();
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let (mut a, mut b) = (ctx.connect().await?, ctx.connect().await?);
    a.subscribe_presence(&channel, &member("a")).await?;
    b.subscribe_presence(&channel, &member("b")).await?;
    a.expect_event(&channel, "pusher_internal:member_added")
        .await?;
    b.send_subscribe(&ctx.unique_channel(ChannelKind::Private), None, None)
        .await?;
    b.expect_error().await?;
    if features.client_events {
        b.trigger(&channel, "client-x", json!({})).await?;
        a.expect_event(&channel, "client-x").await?;
    }
    if features.user_authentication {
        let id = format!("u{}", ctx.random_suffix());
        let watch = if features.watchlist {
            json!([id])
        } else {
            json!([])
        };
        b.signin(&json!({"id": id, "watchlist": watch}).to_string())
            .await?;
    }
    if features.cache_channels {
        a.subscribe(&ctx.unique_channel(ChannelKind::PublicCache))
            .await?;
    }
    b.close_handshake().await;
    a.expect_event(&channel, "pusher_internal:member_removed")
        .await?;
    a.send_ping().await?;
    a.expect_frame("pusher:pong", |e| e.event() == "pusher:pong")
        .await?;
    expect_open(&ctx, &mut a).await.map(drop)
}

async fn invalid_json(ctx: Ctx) -> Outcome {
    let mut c = ctx.connect().await?;
    for garbage in ["{{nope", "[1,2]", "{\"data\":{}}", "\"str\""] {
        // A send that fails here means the server dropped the connection
        // over an earlier garbage frame: the violation, not a harness error.
        if let Err(e) = c.send_text(garbage).await {
            return Err(Failure::violation(
                "the connection open after a garbage frame",
                format!("sending the next frame failed: {e}"),
            ));
        }
    }
    expect_open(&ctx, &mut c).await?;
    Ok(())
}
