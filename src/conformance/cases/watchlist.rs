//! Spec 10.4, "Watchlist", and 7.5, "Subscription count".

use serde_json::{Value, json};

use super::case;
use crate::client::ProtocolClient;
use crate::conformance::{Case, Ctx, Doc, Outcome, SpecRef};
use crate::wire::ChannelKind;

const WATCHLIST: SpecRef = SpecRef {
    doc: Doc::Protocol,
    slug: "watchlist",
    section: "10.4 Watchlist",
};
const COUNT: SpecRef = SpecRef {
    doc: Doc::Protocol,
    slug: "subscription-count",
    section: "7.5 Subscription count",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "protocol/watchlist/initial",
            WATCHLIST,
            Must,
            "Sign-in with a watchlist yields pusher_internal:watchlist_events with the current state.",
            initial
        ),
        case!(
            "protocol/watchlist/online-offline",
            WATCHLIST,
            Must,
            "A watched user signing in and out yields online and offline entries.",
            online_offline
        ),
        case!(
            "protocol/watchlist/limit",
            WATCHLIST,
            Should,
            "A watchlist of 101 ids gets signin_success and pusher:error 4302.",
            limit
        ),
        case!(
            "protocol/subscription-count/event",
            COUNT,
            Must,
            "With subscription counting, subscribers get pusher_internal:subscription_count on join and leave.",
            count_event
        ),
    ]
}

fn enabled(ctx: &Ctx) -> Outcome {
    let f = &ctx.target().profile.features;
    ctx.require(
        f.watchlist && f.user_authentication,
        "n/a: watchlist disabled",
    )
}

async fn watchlist_event(c: &mut ProtocolClient, name: &str, id: &str) -> Outcome {
    let expected = format!("watchlist_events {name} [{id}]");
    c.expect_frame(&expected, |e| {
        e.event() == "pusher_internal:watchlist_events"
            && e.data_decoded()
                .and_then(|d| d.get("events").cloned())
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .any(|x| {
                    x["name"] == json!(name)
                        && x["user_ids"]
                            .as_array()
                            .is_some_and(|ids| ids.contains(&json!(id)))
                })
    })
    .await?;
    Ok(())
}

async fn initial(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let friend = format!("f{}", ctx.random_suffix());
    let mut f = ctx.connect().await?;
    f.signin(&json!({"id": friend}).to_string()).await?;
    let mut c = ctx.connect().await?;
    c.signin(
        &json!({"id": format!("w{}", ctx.random_suffix()), "watchlist": [friend]}).to_string(),
    )
    .await?;
    watchlist_event(&mut c, "online", &friend).await
}

async fn online_offline(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let friend = format!("f{}", ctx.random_suffix());
    let mut c = ctx.connect().await?;
    c.signin(
        &json!({"id": format!("w{}", ctx.random_suffix()), "watchlist": [friend]}).to_string(),
    )
    .await?;
    let mut f = ctx.connect().await?;
    f.signin(&json!({"id": friend}).to_string()).await?;
    watchlist_event(&mut c, "online", &friend).await?;
    f.close().await;
    watchlist_event(&mut c, "offline", &friend).await
}

async fn limit(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let ids: Vec<String> = (0..101).map(|i| format!("x{i}")).collect();
    let mut c = ctx.connect().await?;
    c.signin(&json!({"id": format!("w{}", ctx.random_suffix()), "watchlist": ids}).to_string())
        .await?;
    c.expect_frame("pusher:error with code 4302", |e| {
        e.event() == "pusher:error"
            && e.data_decoded().and_then(|d| d.get("code").cloned()) == Some(json!(4302))
    })
    .await?;
    Ok(())
}

fn count_of(e: &crate::wire::Envelope) -> Option<u64> {
    e.data_decoded()
        .and_then(|d| d.get("subscription_count").and_then(Value::as_u64))
}

async fn count_event(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.subscription_count,
        "n/a: subscription_count disabled",
    )?;
    let channel = ctx.unique_channel(ChannelKind::Public);
    let (mut a, mut b) = (ctx.connect().await?, ctx.connect().await?);
    a.subscribe(&channel).await?;
    b.subscribe(&channel).await?;
    let want = |n: u64| {
        move |e: &crate::wire::Envelope| {
            e.event() == "pusher_internal:subscription_count" && count_of(e) == Some(n)
        }
    };
    a.expect_frame("subscription_count 2", want(2)).await?;
    b.unsubscribe(&channel).await?;
    a.expect_frame("subscription_count 1", want(1)).await?;
    Ok(())
}
