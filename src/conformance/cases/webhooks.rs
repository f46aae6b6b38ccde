//! Spec 9, "Webhooks": signed requests, event payloads, timing, retries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::{case, member};
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::signing::verify_webhook;
use crate::wire::ChannelKind;

const SECTION: SpecRef = SpecRef {
    doc: Doc::Webhooks,
    slug: "events",
    section: "9. Webhooks",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "webhooks/events/signature",
            SECTION,
            Must,
            "Webhooks carry X-Pusher-Key, X-Pusher-Signature = HMAC of the raw body, and Content-Type: application/json exactly.",
            signature,
            security
        ),
        case!(
            "webhooks/events/occupied-vacated",
            SECTION,
            Must,
            "The first subscriber triggers channel_occupied and the last leaver channel_vacated.",
            occupied_vacated
        ),
        case!(
            "webhooks/events/member-events-per-user",
            SECTION,
            Must,
            "member_added/member_removed webhooks fire once per user, not per connection.",
            member_events_per_user
        ),
        case!(
            "webhooks/events/time-ms",
            SECTION,
            Must,
            "time_ms is the creation time in Unix milliseconds (within 5 s of now).",
            time_ms
        ),
        case!(
            "webhooks/events/retry",
            SECTION,
            Should,
            "A receiver answering 500 twice then 200 gets the event delivered.",
            retry
        ),
        case!(
            "webhooks/events/cache-miss-dedup",
            SECTION,
            Should,
            "5 concurrent subscribers to an empty cache channel yield one cache_miss webhook.",
            cache_miss_dedup
        ),
        case!(
            "webhooks/events/vacate-delay",
            SECTION,
            Should,
            "Leaving and rejoining within the hold gives no vacated/occupied pair.",
            vacate_delay,
            slow
        ),
    ]
}

fn names_for(sink: &crate::client::WebhookSink, channel: &str) -> Vec<String> {
    sink.events_for(channel)
        .iter()
        .filter_map(|(e, _)| e.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

fn hook_timeout(ctx: &Ctx) -> Duration {
    ctx.timeout() * 3
}

async fn signature(ctx: Ctx) -> Outcome {
    let sink = ctx.sink()?;
    let channel = ctx.unique_channel(ChannelKind::Public);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    let (_, d) = sink
        .expect_event(&channel, "channel_occupied", hook_timeout(&ctx))
        .await?;
    let creds = &ctx.target().credentials;
    let actual = format!(
        "key {:?}, content-type {:?}, signature {:?}",
        d.key, d.content_type, d.signature
    );
    let sig_ok = d
        .signature
        .as_deref()
        .is_some_and(|s| verify_webhook(&creds.secret, &d.body, s).is_ok());
    if d.key.as_deref() == Some(creds.key.as_str())
        && d.content_type.as_deref() == Some("application/json")
        && sig_ok
    {
        Ok(())
    } else {
        Err(Failure::violation(
            "the app key, application/json and a valid signature",
            actual,
        ))
    }
}

async fn occupied_vacated(ctx: Ctx) -> Outcome {
    let sink = ctx.sink()?;
    let channel = ctx.unique_channel(ChannelKind::Public);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    sink.expect_event(&channel, "channel_occupied", hook_timeout(&ctx))
        .await?;
    c.unsubscribe(&channel).await?;
    sink.expect_event(&channel, "channel_vacated", hook_timeout(&ctx) * 2)
        .await?;
    Ok(())
}

async fn member_events_per_user(ctx: Ctx) -> Outcome {
    let sink = ctx.sink()?;
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let (mut a, mut b) = (ctx.connect().await?, ctx.connect().await?);
    a.subscribe_presence(&channel, &member("u")).await?;
    b.subscribe_presence(&channel, &member("u")).await?;
    a.close().await;
    b.close().await;
    // Webhook requests may arrive out of order (spec 9.3): wait for each
    // expected event before counting.
    for name in ["member_added", "member_removed", "channel_vacated"] {
        sink.expect_event(&channel, name, hook_timeout(&ctx) * 2)
            .await?;
    }
    let names = names_for(sink, &channel);
    let count = |n: &str| names.iter().filter(|x| *x == n).count();
    if count("member_added") == 1 && count("member_removed") == 1 {
        Ok(())
    } else {
        Err(Failure::violation(
            "one member_added and one member_removed",
            format!("{names:?}"),
        ))
    }
}

async fn time_ms(ctx: Ctx) -> Outcome {
    let sink = ctx.sink()?;
    let channel = ctx.unique_channel(ChannelKind::Public);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    let (_, d) = sink
        .expect_event(&channel, "channel_occupied", hook_timeout(&ctx))
        .await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as i128;
    match d
        .json
        .as_ref()
        .and_then(|j| j.get("time_ms"))
        .and_then(Value::as_i64)
    {
        Some(t) if (now - i128::from(t)).abs() < 5000 => Ok(()),
        _ => Err(Failure::violation(
            "time_ms within 5 s of now",
            String::from_utf8_lossy(&d.body).into_owned(),
        )),
    }
}

async fn retry(ctx: Ctx) -> Outcome {
    let sink = ctx.sink()?;
    let channel = ctx.unique_channel(ChannelKind::Public);
    sink.fail_next(&channel, 2);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    sink.expect_event(&channel, "channel_occupied", Duration::from_secs(10))
        .await?;
    Ok(())
}

async fn cache_miss_dedup(ctx: Ctx) -> Outcome {
    let sink = ctx.sink()?;
    ctx.require(
        ctx.target().profile.features.cache_channels,
        "n/a: cache channels disabled",
    )?;
    let channel = ctx.unique_channel(ChannelKind::PublicCache);
    let mut conns = futures_util::future::join_all((0..5).map(|_| ctx.connect()))
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    for c in &mut conns {
        c.send_subscribe(&channel, Some(""), None).await?;
    }
    for c in &mut conns {
        c.expect_subscribed(&channel).await?;
    }
    for c in conns {
        c.close().await;
    }
    for name in ["cache_miss", "channel_vacated"] {
        sink.expect_event(&channel, name, hook_timeout(&ctx) * 2)
            .await?;
    }
    let n = names_for(sink, &channel)
        .iter()
        .filter(|n| *n == "cache_miss")
        .count();
    if n == 1 {
        Ok(())
    } else {
        Err(Failure::violation("one cache_miss webhook", format!("{n}")))
    }
}

async fn vacate_delay(ctx: Ctx) -> Outcome {
    let sink = ctx.sink()?;
    let (slow, _) = ctx.slow()?;
    let channel = slow.unique_channel(ChannelKind::Public);
    let mut a = slow.connect().await?;
    a.subscribe(&channel).await?;
    sink.expect_event(&channel, "channel_occupied", hook_timeout(&ctx))
        .await?;
    a.unsubscribe(&channel).await?;
    a.subscribe(&channel).await?;
    a.close().await;
    sink.expect_event(&channel, "channel_vacated", Duration::from_secs(10))
        .await?;
    // Barrier: a channel vacated later is held at least as long, so its
    // vacate comes after any premature vacate/occupied pair of `channel`.
    let barrier = slow.unique_channel(ChannelKind::Public);
    let mut b = slow.connect().await?;
    b.subscribe(&barrier).await?;
    b.unsubscribe(&barrier).await?;
    sink.expect_event(&barrier, "channel_vacated", Duration::from_secs(10))
        .await?;
    let names = names_for(sink, &channel);
    if names == ["channel_occupied", "channel_vacated"] {
        Ok(())
    } else {
        Err(Failure::violation(
            "[channel_occupied, channel_vacated]",
            format!("{names:?}"),
        ))
    }
}
