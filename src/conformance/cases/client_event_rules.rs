//! Spec 6.2, who may not get a client event relayed: reserved names (roster
//! poisoning), refused and unsubscribed senders, client-supplied `user_id`
//! on private channels, and the size limit counted in bytes.

use serde_json::json;

use super::{Path, case, expect_none, expect_open, member, publish};
use crate::client::ProtocolClient;
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::wire::{ChannelKind, Envelope};

const SECTION: SpecRef = SpecRef {
    doc: Doc::Protocol,
    slug: "client-events",
    section: "6. Client events",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "protocol/client-events/reserved-names-private",
            SECTION,
            Must,
            "pusher: and pusher_internal: events sent by a client on a private channel reach no one.",
            reserved_private,
            security
        ),
        case!(
            "protocol/client-events/reserved-names-presence",
            SECTION,
            Must,
            "A client-forged pusher_internal:member_added or member_removed on a presence channel reaches no one (roster poisoning).",
            reserved_presence,
            security
        ),
        case!(
            "protocol/client-events/reserved-names-private-cache",
            SECTION,
            Must,
            "pusher: and pusher_internal: events sent by a client on a private-cache channel reach no one and are not cached.",
            reserved_private_cache,
            security
        ),
        case!(
            "protocol/client-events/refused-sender",
            SECTION,
            Must,
            "A client whose subscription was refused cannot get its client events relayed on that channel.",
            refused_sender,
            security
        ),
        case!(
            "protocol/client-events/unsubscribed-sender",
            SECTION,
            Must,
            "A client that unsubscribed cannot get its client events relayed on that channel.",
            unsubscribed_sender,
            security
        ),
        case!(
            "protocol/client-events/private-user-id-stripped",
            SECTION,
            Must,
            "On a private channel a client-supplied user_id is not relayed.",
            private_user_id_stripped,
            security
        ),
        case!(
            "protocol/client-events/too-large-multibyte",
            SECTION,
            Should,
            "A client event whose data is over 10240 bytes but under 10240 characters is refused and not relayed.",
            too_large_multibyte
        ),
    ]
}

fn enabled(ctx: &Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.client_events,
        "n/a: client events disabled",
    )
}

/// Two members of a fresh channel of `kind` (presence: alice and bob).
async fn pair(
    ctx: &Ctx,
    kind: ChannelKind,
) -> Result<(String, ProtocolClient, ProtocolClient), Failure> {
    let channel = ctx.unique_channel(kind);
    let (mut a, mut b) = (ctx.connect().await?, ctx.connect().await?);
    if kind.is_presence() {
        a.subscribe_presence(&channel, &member("alice")).await?;
        b.subscribe_presence(&channel, &member("bob")).await?;
        a.expect_event(&channel, "pusher_internal:member_added")
            .await?;
    } else if kind.is_cache() {
        // A cached event first, so the members get a replay, not cache_miss.
        publish(ctx, &channel, "seed", "{}").await?;
        for c in [&mut a, &mut b] {
            c.subscribe(&channel).await?;
            c.expect_event(&channel, "seed").await?;
        }
    } else {
        a.subscribe(&channel).await?;
        b.subscribe(&channel).await?;
    }
    Ok((channel, a, b))
}

fn reserved(e: &Envelope, channel: &str) -> bool {
    e.channel() == Some(channel)
        && (e.event().starts_with("pusher:") || e.event().starts_with("pusher_internal:"))
        && e.event() != "pusher_internal:subscription_count"
}

/// `a` sends `frames` on the pair's channel; neither member may see any of them.
async fn nobody_gets(ctx: &Ctx, kind: ChannelKind, names: &[(&str, serde_json::Value)]) -> Outcome {
    enabled(ctx)?;
    let (channel, mut a, mut b) = pair(ctx, kind).await?;
    for (name, data) in names {
        a.trigger(&channel, name, data.clone()).await?;
    }
    let what = "a relayed pusher: or pusher_internal: event sent by a client";
    for c in [&mut a, &mut b] {
        expect_none(ctx, c, Path::Channel(&channel), what, |e| {
            reserved(e, &channel)
        })
        .await?;
    }
    Ok(())
}

async fn reserved_private(ctx: Ctx) -> Outcome {
    let names = [
        ("pusher:fake", json!({})),
        ("pusher_internal:subscription_succeeded", json!("{}")),
        ("pusher:cache_miss", json!({})),
        ("pusher_internal:member_added", json!({"user_id": "ghost"})),
    ];
    nobody_gets(&ctx, ChannelKind::Private, &names).await
}

async fn reserved_presence(ctx: Ctx) -> Outcome {
    let names = [
        (
            "pusher_internal:member_added",
            json!(json!({"user_id": "ghost", "user_info": {"name": "ghost"}}).to_string()),
        ),
        (
            "pusher_internal:member_removed",
            json!(json!({"user_id": "bob"}).to_string()),
        ),
        ("pusher:member_added", json!({"user_id": "ghost"})),
    ];
    nobody_gets(&ctx, ChannelKind::Presence, &names).await
}

async fn reserved_private_cache(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.cache_channels,
        "n/a: cache channels disabled",
    )?;
    let names = [
        ("pusher:cache_miss", json!({})),
        ("pusher_internal:subscription_succeeded", json!("{}")),
    ];
    nobody_gets(&ctx, ChannelKind::PrivateCache, &names).await
}

async fn refused_sender(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let channel = ctx.unique_channel(ChannelKind::Private);
    let mut member = ctx.connect().await?;
    member.subscribe(&channel).await?;
    let mut sender = ctx.connect().await?;
    let forged = format!("{}:{}", ctx.target().credentials.key, "ef".repeat(32));
    sender.send_subscribe(&channel, Some(&forged), None).await?;
    sender.expect_error().await?;
    sender
        .trigger(&channel, "client-intrude", json!({}))
        .await?;
    expect_open(&ctx, &mut sender).await?;
    let what = "a client event from a sender whose subscription was refused";
    expect_none(&ctx, &mut member, Path::Channel(&channel), what, |e| {
        e.event() == "client-intrude"
    })
    .await
    .map(drop)
}

async fn unsubscribed_sender(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (channel, mut a, mut b) = pair(&ctx, ChannelKind::Private).await?;
    a.unsubscribe(&channel).await?;
    a.trigger(&channel, "client-after", json!({})).await?;
    expect_open(&ctx, &mut a).await?;
    let what = "a client event from a sender that unsubscribed";
    expect_none(&ctx, &mut b, Path::Channel(&channel), what, |e| {
        e.event() == "client-after"
    })
    .await
    .map(drop)
}

async fn private_user_id_stripped(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (channel, mut a, mut b) = pair(&ctx, ChannelKind::Private).await?;
    let frame =
        json!({"event": "client-spoof", "channel": channel, "data": {}, "user_id": "admin"});
    a.send_json(&frame).await?;
    let got = b.expect_event(&channel, "client-spoof").await?;
    match got.user_id() {
        None => Ok(()),
        Some(_) => Err(Failure::violation(
            "the client event without the client-supplied user_id (private channels carry none)",
            got.encode(),
        )),
    }
}

async fn too_large_multibyte(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (channel, mut a, mut b) = pair(&ctx, ChannelKind::Private).await?;
    // 5200 "é" are 10400 bytes in UTF-8 but 5200 characters (spec 2.3 counts bytes).
    a.trigger(&channel, "client-big", json!("é".repeat(5200)))
        .await?;
    a.expect_error().await?;
    let what = "a relayed client event over 10240 bytes";
    expect_none(&ctx, &mut b, Path::Channel(&channel), what, |e| {
        e.event() == "client-big"
    })
    .await
    .map(drop)
}
