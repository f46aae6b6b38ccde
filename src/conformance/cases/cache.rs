//! Spec 10.1, "Cache channels".

use std::time::Duration;

use serde_json::json;

use super::{case, expect_no_event, expect_open, publish};
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::wire::ChannelKind;

const SECTION: SpecRef = SpecRef {
    doc: Doc::Protocol,
    slug: "cache",
    section: "10.1 Cache channels",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "protocol/cache/hit",
            SECTION,
            Must,
            "After a publish, a new subscriber gets the cached event right after subscription_succeeded.",
            hit
        ),
        case!(
            "protocol/cache/miss",
            SECTION,
            Must,
            "A subscriber to an empty cache channel gets pusher:cache_miss.",
            miss
        ),
        case!(
            "protocol/cache/all-prefixes",
            SECTION,
            Must,
            "cache-, private-cache-, presence-cache- and private-encrypted-cache- all replay the last event.",
            all_prefixes
        ),
        case!(
            "protocol/cache/client-events-not-cached",
            SECTION,
            Must,
            "A client event on private-cache- is not replayed to a later subscriber.",
            client_events_not_cached,
            security
        ),
        case!(
            "protocol/cache/ttl",
            SECTION,
            Should,
            "The cached value is gone after the TTL.",
            ttl,
            slow
        ),
    ]
}

fn enabled(ctx: &Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.cache_channels,
        "n/a: cache channels disabled",
    )
}

async fn replayed(ctx: &Ctx, channel: &str) -> Outcome {
    publish(ctx, channel, "old", "{\"v\":1}").await?;
    publish(ctx, channel, "last", "{\"v\":2}").await?;
    let mut c = ctx.connect().await?;
    c.subscribe(channel).await?;
    let e = next_after_count(&mut c, "last").await?;
    if e.channel() == Some(channel) && e.data() == Some(&json!("{\"v\":2}")) {
        Ok(())
    } else {
        Err(Failure::violation(
            format!("the last event on {channel}"),
            e.encode(),
        ))
    }
}

async fn hit(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    replayed(&ctx, &ctx.unique_channel(ChannelKind::PublicCache)).await
}

async fn miss(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let channel = ctx.unique_channel(ChannelKind::PublicCache);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    let e = next_after_count(&mut c, "pusher:cache_miss").await?;
    if e.channel() == Some(channel.as_str()) {
        Ok(())
    } else {
        Err(Failure::violation(
            format!("pusher:cache_miss carrying channel {channel}"),
            e.encode(),
        ))
    }
}

/// The next frame other than `pusher_internal:subscription_count` must be
/// `event`: the spec orders cache replay right after subscription_succeeded
/// and is silent on where the opt-in count goes, so count frames are skipped.
async fn next_after_count(
    c: &mut crate::client::ProtocolClient,
    event: &str,
) -> Result<crate::wire::Envelope, Failure> {
    let expected = format!("{event} as the first event after subscription_succeeded");
    let e = c
        .expect_frame(&expected, |e| {
            e.event() != "pusher_internal:subscription_count"
        })
        .await?;
    if e.event() == event {
        Ok(e)
    } else {
        Err(Failure::violation(expected, e.encode()))
    }
}

async fn all_prefixes(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    for kind in [
        ChannelKind::PublicCache,
        ChannelKind::PrivateCache,
        ChannelKind::PresenceCache,
        ChannelKind::EncryptedCache,
    ] {
        replayed(&ctx, &ctx.unique_channel(kind)).await?;
    }
    Ok(())
}

async fn client_events_not_cached(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    ctx.require(
        ctx.target().profile.features.client_events,
        "n/a: client events disabled",
    )?;
    let channel = ctx.unique_channel(ChannelKind::PrivateCache);
    let mut a = ctx.connect().await?;
    a.subscribe(&channel).await?;
    a.trigger(&channel, "client-x", json!({})).await?;
    // Whether anyone gets the relay is private-relay's rule, not this one. The
    // sentinel on a's own connection proves the server has handled the
    // client event without putting a REST event on the channel, so the
    // channel's cache must still be empty.
    expect_open(&ctx, &mut a).await?;
    let mut late = ctx.connect().await?;
    late.subscribe(&channel).await?;
    next_after_count(&mut late, "pusher:cache_miss").await?;
    expect_no_event(&ctx, &mut late, &channel, "client-x").await
}

async fn ttl(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (slow, setup) = ctx.slow()?;
    let ttl = setup.cache_ttl.ok_or(Failure::NotApplicable(
        "n/a: no short cache TTL known for this target",
    ))?;
    let channel = slow.unique_channel(ChannelKind::PublicCache);
    publish(&slow, &channel, "short-lived", "{}").await?;
    // Expiry is the passage of time itself; there is no event to wait for.
    tokio::time::sleep(ttl + Duration::from_millis(300)).await;
    let mut c = slow.connect().await?;
    c.subscribe(&channel).await?;
    next_after_count(&mut c, "pusher:cache_miss").await?;
    Ok(())
}
