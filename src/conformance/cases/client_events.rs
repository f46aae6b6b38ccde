//! Spec 6, "Client events": who may send, where, and how they are relayed.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{case, expect_no_event, member};
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::wire::ChannelKind;

const SECTION: SpecRef = SpecRef {
    doc: Doc::Protocol,
    slug: "client-events",
    section: "6. Client events",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "protocol/client-events/private-relay",
            SECTION,
            Must,
            "A client event reaches other subscribers but not the sender.",
            private_relay
        ),
        case!(
            "protocol/client-events/presence-user-id",
            SECTION,
            Must,
            "On presence channels the relayed event carries the sender's user_id.",
            presence_user_id
        ),
        case!(
            "protocol/client-events/spoofed-user-id",
            SECTION,
            Must,
            "A user_id supplied by the client is replaced with the authorized one.",
            spoofed_user_id
        ),
        case!(
            "protocol/client-events/public-rejected",
            SECTION,
            Must,
            "Client events on public and cache- channels are not relayed.",
            public_rejected
        ),
        case!(
            "protocol/client-events/not-subscribed",
            SECTION,
            Must,
            "A client event on a channel the sender is not subscribed to is not relayed.",
            not_subscribed
        ),
        case!(
            "protocol/client-events/prefix-required",
            SECTION,
            Must,
            "An event without the client- prefix sent by a client is not relayed.",
            prefix_required
        ),
        case!(
            "protocol/client-events/disabled",
            SECTION,
            Must,
            "An app without client events relays none and answers with an error frame.",
            disabled
        ),
        case!(
            "protocol/client-events/rate-limit",
            SECTION,
            Must,
            "A burst of 30 is cut by the rate limit with pusher:error 4301; the connection stays open and never closes with 43xx.",
            rate_limit
        ),
        case!(
            "protocol/client-events/cache-variant-allowed",
            SECTION,
            Should,
            "Client events on private-cache- channels are relayed but not cached.",
            cache_variant_allowed
        ),
        case!(
            "protocol/client-events/webhook",
            SECTION,
            Must,
            "A relayed client event produces a client_event webhook with event, data, socket_id and user_id on presence.",
            webhook
        ),
    ]
}

fn enabled(ctx: &Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.client_events,
        "n/a: client events disabled",
    )
}

/// Two subscribers of a fresh channel of `kind`.
async fn pair(
    ctx: &Ctx,
    kind: ChannelKind,
) -> Result<
    (
        String,
        crate::client::ProtocolClient,
        crate::client::ProtocolClient,
    ),
    Failure,
> {
    let channel = ctx.unique_channel(kind);
    let (mut a, mut b) = (ctx.connect().await?, ctx.connect().await?);
    if kind.is_presence() {
        a.subscribe_presence(&channel, &member("alice")).await?;
        b.subscribe_presence(&channel, &member("bob")).await?;
        a.expect_event(&channel, "pusher_internal:member_added")
            .await?;
    } else {
        a.subscribe(&channel).await?;
        b.subscribe(&channel).await?;
    }
    Ok((channel, a, b))
}

async fn private_relay(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (channel, mut a, mut b) = pair(&ctx, ChannelKind::Private).await?;
    a.trigger(&channel, "client-hello", json!({"n": 1})).await?;
    let got = b.expect_event(&channel, "client-hello").await?;
    if got.data_decoded() != Some(json!({"n": 1})) || got.user_id().is_some() {
        return Err(Failure::violation(
            "client-hello with data {\"n\":1} and no user_id",
            got.encode(),
        ));
    }
    expect_no_event(&mut a, &channel, "client-hello").await
}

async fn presence_user_id(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (channel, mut a, mut b) = pair(&ctx, ChannelKind::Presence).await?;
    a.trigger(&channel, "client-hi", json!({})).await?;
    let got = b.expect_event(&channel, "client-hi").await?;
    if got.user_id() == Some(&json!("alice")) {
        Ok(())
    } else {
        Err(Failure::violation("user_id \"alice\"", got.encode()))
    }
}

async fn spoofed_user_id(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (channel, mut a, mut b) = pair(&ctx, ChannelKind::Presence).await?;
    let frame = json!({"event": "client-spoof", "channel": channel, "data": {}, "user_id": "bob"});
    a.send_json(&frame).await?;
    let got = b.expect_event(&channel, "client-spoof").await?;
    if got.user_id() == Some(&json!("alice")) {
        Ok(())
    } else {
        Err(Failure::violation(
            "user_id \"alice\" set by the server",
            got.encode(),
        ))
    }
}

async fn public_rejected(ctx: Ctx) -> Outcome {
    for kind in [ChannelKind::Public, ChannelKind::PublicCache] {
        let (channel, mut a, mut b) = pair(&ctx, kind).await?;
        a.trigger(&channel, "client-nope", json!({})).await?;
        a.expect_none_before_pong("anything", |_| false).await?;
        expect_no_event(&mut b, &channel, "client-nope").await?;
    }
    Ok(())
}

async fn not_subscribed(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let channel = ctx.unique_channel(ChannelKind::Private);
    let (mut outsider, mut member) = (ctx.connect().await?, ctx.connect().await?);
    member.subscribe(&channel).await?;
    outsider
        .trigger(&channel, "client-intrude", json!({}))
        .await?;
    outsider
        .expect_none_before_pong("anything", |_| false)
        .await?;
    expect_no_event(&mut member, &channel, "client-intrude").await
}

async fn prefix_required(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (channel, mut a, mut b) = pair(&ctx, ChannelKind::Private).await?;
    for name in ["my-client-x", "hello", "pusher:fake"] {
        a.trigger(&channel, name, json!({})).await?;
    }
    a.expect_none_before_pong("anything", |_| false).await?;
    b.expect_none_before_pong("a relayed non-client- event", |e| {
        e.channel() == Some(channel.as_str()) && !e.event().starts_with("pusher")
    })
    .await?;
    Ok(())
}

async fn disabled(ctx: Ctx) -> Outcome {
    let creds = Arc::new(ctx.app("no_client_events")?.credentials());
    let channel = ctx.unique_channel(ChannelKind::Private);
    let (mut a, mut b) = (
        ctx.connect_as(creds.clone()).await?,
        ctx.connect_as(creds).await?,
    );
    a.subscribe(&channel).await?;
    b.subscribe(&channel).await?;
    a.trigger(&channel, "client-x", json!({})).await?;
    a.expect_error().await?;
    expect_no_event(&mut b, &channel, "client-x").await
}

async fn rate_limit(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (channel, mut a, mut b) = pair(&ctx, ChannelKind::Private).await?;
    for n in 0..30 {
        a.trigger(&channel, "client-burst", json!({"n": n})).await?;
    }
    let limited = a.expect_frame("pusher:error with code 4301", |e| {
        e.event() == "pusher:error"
            && e.data_decoded().and_then(|d| d.get("code").cloned()) == Some(json!(4301))
    });
    limited.await?;
    a.expect_none_before_pong("close", |_| false).await?;
    let seen = b.expect_none_before_pong("nothing", |_| false).await?;
    let delivered = seen.iter().filter(|e| e.event() == "client-burst").count();
    let max = ctx.target().profile.limits.client_event_rate as usize;
    if delivered >= max.min(10) && delivered < 30 {
        Ok(())
    } else {
        Err(Failure::violation(
            format!("between {max} and 29 of 30 burst events delivered"),
            format!("{delivered} delivered"),
        ))
    }
}

async fn cache_variant_allowed(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    ctx.require(
        ctx.target().profile.features.cache_channels,
        "n/a: cache channels disabled",
    )?;
    let (channel, mut a, mut b) = pair(&ctx, ChannelKind::PrivateCache).await?;
    a.trigger(&channel, "client-c", json!({})).await?;
    b.expect_event(&channel, "client-c").await?;
    let mut late = ctx.connect().await?;
    late.subscribe(&channel).await?;
    expect_no_event(&mut late, &channel, "client-c").await
}

async fn webhook(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let sink = ctx.sink()?;
    let (channel, mut a, mut b) = pair(&ctx, ChannelKind::Presence).await?;
    a.trigger(&channel, "client-hook", json!({"k": "v"}))
        .await?;
    b.expect_event(&channel, "client-hook").await?;
    let (e, _) = sink
        .expect_event(&channel, "client_event", ctx.timeout() * 3)
        .await?;
    let ok = e["event"] == json!("client-hook")
        && e["data"]
            .as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            == Some(json!({"k": "v"}))
        && e["socket_id"] == json!(a.socket_id())
        && e["user_id"] == json!("alice");
    if ok {
        Ok(())
    } else {
        Err(Failure::violation(
            "client_event webhook with event, data string, socket_id, user_id",
            e.to_string(),
        ))
    }
}
