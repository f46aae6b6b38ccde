//! Spec 4.5 and 5.2, the security property of a refused subscription: a
//! forged presence subscriber is invisible to the members, to REST users and
//! occupancy, and to webhooks; a forged cache subscriber gets neither the
//! cached event nor `cache_miss`; presence signatures bind `channel_data`.

use serde_json::{Value, json};

use super::{
    Path, case, expect_no_event, expect_none, expect_refused, expect_status, member, publish,
};
use crate::client::ProtocolClient;
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::signing::channel_auth;
use crate::wire::ChannelKind;

const SECTION: SpecRef = SpecRef {
    doc: Doc::AuthSignatures,
    slug: "forgery",
    section: "5.2 Channel authorization strings",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "auth-signatures/forgery/presence-forged-invisible-to-members",
            SECTION,
            Must,
            "A refused presence subscriber causes no member_added for the members.",
            invisible_to_members,
            security
        ),
        case!(
            "auth-signatures/forgery/presence-forged-not-in-users",
            SECTION,
            Must,
            "A refused presence subscriber is not listed by GET users.",
            not_in_users,
            security
        ),
        case!(
            "auth-signatures/forgery/presence-forged-not-counted",
            SECTION,
            Must,
            "A refused presence subscriber is not counted in user_count.",
            not_counted,
            security
        ),
        case!(
            "auth-signatures/forgery/presence-forged-no-webhook",
            SECTION,
            Must,
            "A refused presence subscriber produces no member_added webhook.",
            no_webhook,
            security
        ),
        case!(
            "auth-signatures/forgery/presence-two-part-signature",
            SECTION,
            Must,
            "A presence subscribe with a signature over socket_id:channel only and attacker channel_data is refused.",
            two_part_signature,
            security
        ),
        case!(
            "auth-signatures/forgery/cache-forged-no-replay",
            SECTION,
            Must,
            "A refused private-cache subscriber does not get the cached event.",
            cache_no_replay,
            security
        ),
        case!(
            "auth-signatures/forgery/cache-forged-no-miss",
            SECTION,
            Must,
            "A refused private-cache subscriber of an empty channel does not get cache_miss.",
            cache_no_miss,
            security
        ),
    ]
}

/// A presence channel with member `m`, and a forger refused on it who
/// claims to be `ghost`.
async fn forged_presence(ctx: &Ctx) -> Result<(String, ProtocolClient, ProtocolClient), Failure> {
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut m = ctx.connect().await?;
    m.subscribe_presence(&channel, &member("m")).await?;
    let mut forger = ctx.connect().await?;
    let forged = format!("{}:{}", ctx.target().credentials.key, "ab".repeat(32));
    forger
        .send_subscribe(&channel, Some(&forged), Some(&member("ghost")))
        .await?;
    expect_refused(ctx, &mut forger, &channel).await?;
    Ok((channel, m, forger))
}

async fn invisible_to_members(ctx: Ctx) -> Outcome {
    let (channel, mut m, _forger) = forged_presence(&ctx).await?;
    expect_no_event(&ctx, &mut m, &channel, "pusher_internal:member_added").await
}

async fn rest_get(ctx: &Ctx, path: &str, query: &[(&str, &str)]) -> Result<Value, Failure> {
    let rest = ctx.rest();
    let req = query
        .iter()
        .fold(rest.request("GET", path), |r, (k, v)| r.query(k, v));
    let resp = rest.send(&req).await?;
    expect_status(&resp, 200, path)?;
    Ok(resp.json().unwrap_or(Value::Null))
}

async fn not_in_users(ctx: Ctx) -> Outcome {
    let (channel, _m, _forger) = forged_presence(&ctx).await?;
    let users = rest_get(&ctx, &format!("/channels/{channel}/users"), &[]).await?;
    if users == json!({"users": [{"id": "m"}]}) {
        Ok(())
    } else {
        Err(Failure::violation(
            "{\"users\":[{\"id\":\"m\"}]}",
            users.to_string(),
        ))
    }
}

async fn not_counted(ctx: Ctx) -> Outcome {
    let (channel, _m, _forger) = forged_presence(&ctx).await?;
    let info = rest_get(
        &ctx,
        &format!("/channels/{channel}"),
        &[("info", "user_count")],
    )
    .await?;
    if info["user_count"] == json!(1) && info["occupied"] == json!(true) {
        Ok(())
    } else {
        Err(Failure::violation(
            "{\"occupied\":true,\"user_count\":1}",
            info.to_string(),
        ))
    }
}

async fn no_webhook(ctx: Ctx) -> Outcome {
    let sink = ctx.sink()?;
    let (channel, _m, _forger) = forged_presence(&ctx).await?;
    // A later legitimate member's webhook is the sentinel for the webhook path.
    let mut late = ctx.connect().await?;
    late.subscribe_presence(&channel, &member("late")).await?;
    let late_added =
        |e: &Value| e["name"] == json!("member_added") && e["user_id"] == json!("late");
    let what = "webhook member_added for the later member (the sentinel)";
    sink.expect_matching(&channel, what, late_added, ctx.timeout() * 3)
        .await?;
    // Webhooks may arrive out of order (spec 9.3): listen for the settle time too.
    tokio::time::sleep(ctx.settle()).await;
    let ghosts: Vec<String> = sink
        .events_for(&channel)
        .iter()
        .filter(|(e, _)| e["user_id"] == json!("ghost"))
        .map(|(e, _)| e.to_string())
        .collect();
    if ghosts.is_empty() {
        Ok(())
    } else {
        Err(Failure::violation(
            "no webhook about the forged member ghost",
            ghosts.join(" "),
        ))
    }
}

async fn two_part_signature(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut m = ctx.connect().await?;
    m.subscribe_presence(&channel, &member("m")).await?;
    let mut c = ctx.connect().await?;
    let creds = &ctx.target().credentials;
    let two_part = channel_auth(&creds.key, &creds.secret, c.socket_id(), &channel, None);
    c.send_subscribe(&channel, Some(&two_part), Some(&member("admin")))
        .await?;
    expect_refused(&ctx, &mut c, &channel).await?;
    expect_no_event(&ctx, &mut m, &channel, "pusher_internal:member_added").await
}

fn cache_enabled(ctx: &Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.cache_channels,
        "n/a: cache channels disabled",
    )
}

/// A forger refused on a private-cache channel; nothing on it may reach it.
async fn forged_cache(ctx: &Ctx, channel: &str) -> Outcome {
    let mut forger = ctx.connect().await?;
    let forged = format!("{}:{}", ctx.target().credentials.key, "ab".repeat(32));
    forger.send_subscribe(channel, Some(&forged), None).await?;
    expect_refused(ctx, &mut forger, channel).await?;
    let what = format!("the cached event or cache_miss of refused {channel}");
    expect_none(ctx, &mut forger, Path::Connection, &what, |e| {
        e.channel() == Some(channel)
    })
    .await
    .map(drop)
}

async fn cache_no_replay(ctx: Ctx) -> Outcome {
    cache_enabled(&ctx)?;
    let channel = ctx.unique_channel(ChannelKind::PrivateCache);
    publish(&ctx, &channel, "secret", "{\"s\":1}").await?;
    forged_cache(&ctx, &channel).await
}

async fn cache_no_miss(ctx: Ctx) -> Outcome {
    cache_enabled(&ctx)?;
    forged_cache(&ctx, &ctx.unique_channel(ChannelKind::PrivateCache)).await
}
