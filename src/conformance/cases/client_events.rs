//! Spec 6, "Client events": who may send, where, and how they are relayed.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Path, case, expect_no_event, expect_none, expect_open, member};
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
            private_relay,
            security
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
            "A user_id supplied by the client is replaced with the authorized one or removed, never relayed.",
            spoofed_user_id,
            security
        ),
        case!(
            "protocol/client-events/public-rejected",
            SECTION,
            Must,
            "Client events on public and cache- channels are not relayed.",
            public_rejected,
            security
        ),
        case!(
            "protocol/client-events/not-subscribed",
            SECTION,
            Must,
            "A client event on a channel the sender is not subscribed to is not relayed.",
            not_subscribed,
            security
        ),
        case!(
            "protocol/client-events/prefix-required",
            SECTION,
            Must,
            "An event without the client- prefix sent by a client is not relayed.",
            prefix_required,
            security
        ),
        case!(
            "protocol/client-events/disabled",
            SECTION,
            Must,
            "An app without client events relays none and answers with an error frame.",
            disabled,
            security
        ),
        case!(
            "protocol/client-events/rate-limit",
            SECTION,
            Must,
            "A burst of 30 relays, in order, exactly the rate limit's allowance (limits.client_event_rate from the profile, plus refill during the burst), answers the rest with pusher:error 4301, and keeps the connection open.",
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
    expect_no_event(&ctx, &mut a, &channel, "client-hello").await
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
    // Spec 6.2: the server overwrites or drops the client's user_id; that
    // it must also add the sender's is presence-user-id's rule.
    match got.user_id() {
        None => Ok(()),
        Some(id) if id == &json!("alice") => Ok(()),
        Some(_) => Err(Failure::violation(
            "the client-supplied user_id \"bob\" replaced by \"alice\" or removed",
            got.encode(),
        )),
    }
}

async fn public_rejected(ctx: Ctx) -> Outcome {
    for kind in [ChannelKind::Public, ChannelKind::PublicCache] {
        let (channel, mut a, mut b) = pair(&ctx, kind).await?;
        a.trigger(&channel, "client-nope", json!({})).await?;
        expect_open(&ctx, &mut a).await?;
        expect_no_event(&ctx, &mut b, &channel, "client-nope").await?;
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
    expect_open(&ctx, &mut outsider).await?;
    expect_no_event(&ctx, &mut member, &channel, "client-intrude").await
}

async fn prefix_required(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (channel, mut a, mut b) = pair(&ctx, ChannelKind::Private).await?;
    for name in ["my-client-x", "hello", "Client-x", "pusher:fake"] {
        a.trigger(&channel, name, json!({})).await?;
    }
    expect_open(&ctx, &mut a).await?;
    expect_none(
        &ctx,
        &mut b,
        Path::Channel(&channel),
        "a relayed event without the client- prefix",
        |e| {
            e.channel() == Some(channel.as_str())
                && e.event() != "pusher_internal:subscription_count"
        },
    )
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
    expect_no_event(&ctx, &mut b, &channel, "client-x").await
}

/// Events a sender may have relayed in a burst that took `span`: the
/// bucket's capacity plus what it refills meanwhile (spec 6.2, 10/s).
fn rate_allowance(rate: usize, span: std::time::Duration) -> usize {
    rate + (rate as f64 * span.as_secs_f64()).ceil() as usize
}

async fn rate_limit(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (channel, mut a, mut b) = pair(&ctx, ChannelKind::Private).await?;
    let start = tokio::time::Instant::now();
    for n in 0..30 {
        a.trigger(&channel, "client-burst", json!({"n": n})).await?;
    }
    // The pong proves the server has read the whole burst (one connection's
    // frames are handled in order); absence below is proven by sentinels.
    a.send_ping().await?;
    let (_, before_pong) = a
        .expect_frame_after("pusher:pong", |e| e.event() == "pusher:pong")
        .await?;
    let span = start.elapsed();
    let mine = expect_none(
        &ctx,
        &mut a,
        Path::Channel(&channel),
        "an echoed burst event",
        |e| e.event() == "client-burst",
    )
    .await?;
    let limited = before_pong
        .iter()
        .chain(&mine)
        .filter(|e| error_code(e) == Some(json!(4301)))
        .count();
    let seen = expect_none(
        &ctx,
        &mut b,
        Path::Channel(&channel),
        "a burst event out of order",
        |_| false,
    )
    .await?;
    let got: Vec<Value> = seen
        .iter()
        .filter(|e| e.event() == "client-burst")
        .filter_map(|e| e.data_decoded().and_then(|d| d.get("n").cloned()))
        .collect();
    let rate = ctx.target().profile.limits.client_event_rate as usize;
    let most = rate_allowance(rate, span).min(29);
    let in_order = got.iter().enumerate().all(|(i, n)| n == &json!(i));
    if (rate..=most).contains(&got.len()) && in_order && limited >= 1 {
        return Ok(());
    }
    Err(Failure::violation(
        format!(
            "the first {rate} to {most} of 30 burst events relayed in order and pusher:error 4301 for the rest \
             (the limit is the profile's limits.client_event_rate = {rate}; this case depends on it)"
        ),
        format!(
            "relayed n = {got:?} within {} ms; {limited} pusher:error 4301",
            span.as_millis()
        ),
    ))
}

fn error_code(e: &crate::wire::Envelope) -> Option<Value> {
    (e.event() == "pusher:error")
        .then(|| e.data_decoded().and_then(|d| d.get("code").cloned()))
        .flatten()
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
    expect_no_event(&ctx, &mut late, &channel, "client-c").await
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
