//! Spec 7, "Presence": roster, member events, identity, limits.

use serde_json::{Value, json};

use super::{Path, case, expect_no_event, expect_none, expect_refused, member};
use crate::client::ProtocolClient;
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::wire::{ChannelKind, Envelope};

const SECTION: SpecRef = SpecRef {
    doc: Doc::Protocol,
    slug: "presence",
    section: "7. Presence",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "protocol/presence/roster",
            SECTION,
            Must,
            "subscription_succeeded carries presence ids, hash and count including the subscriber.",
            roster
        ),
        case!(
            "protocol/presence/member-added-others",
            SECTION,
            Must,
            "Other members get member_added; the joiner does not.",
            member_added_others
        ),
        case!(
            "protocol/presence/multi-connection",
            SECTION,
            Must,
            "A user's second connection adds no member; member_removed comes only when its last connection leaves.",
            multi_connection
        ),
        case!(
            "protocol/presence/disconnect-removes",
            SECTION,
            Must,
            "Closing the socket of a member sends member_removed to the others.",
            disconnect_removes
        ),
        case!(
            "protocol/presence/unsubscribe-removes",
            SECTION,
            Must,
            "pusher:unsubscribe of a user's only connection sends member_removed to the others.",
            unsubscribe_removes
        ),
        case!(
            "protocol/presence/numeric-user-id",
            SECTION,
            Should,
            "A numeric user_id is accepted and reported as a string.",
            numeric_user_id
        ),
        case!(
            "protocol/presence/user-info-not-object",
            SECTION,
            Should,
            "A user_info that is not an object is refused.",
            user_info_not_object
        ),
        case!(
            "protocol/presence/limit",
            SECTION,
            Should,
            "The user over the presence member limit is refused.",
            limit
        ),
        case!(
            "protocol/presence/signin-identity",
            SECTION,
            Should,
            "A signed-in connection subscribes without channel_data and is the signed-in user.",
            signin_identity,
            security
        ),
        case!(
            "protocol/presence/subscription-count-excluded",
            SECTION,
            Must,
            "Presence channels get no subscription_count events.",
            subscription_count_excluded
        ),
    ]
}

fn presence_of(e: &Envelope) -> Value {
    e.data_decoded()
        .and_then(|d| d.get("presence").cloned())
        .unwrap_or(Value::Null)
}

async fn roster(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut a = ctx.connect().await?;
    a.subscribe_presence(&channel, &member("a")).await?;
    let mut b = ctx.connect().await?;
    let p = presence_of(&b.subscribe_presence(&channel, &member("b")).await?);
    let mut ids: Vec<String> = p["ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    ids.sort();
    let hash_ok = p["hash"]["a"] == json!({"name": "a"}) && p["hash"]["b"] == json!({"name": "b"});
    if ids == ["a", "b"] && hash_ok && p["count"] == json!(2) {
        Ok(())
    } else {
        Err(Failure::violation(
            "presence {ids:[a,b], hash:{a,b}, count:2}",
            p.to_string(),
        ))
    }
}

async fn member_added_others(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut a = ctx.connect().await?;
    a.subscribe_presence(&channel, &member("a")).await?;
    let mut b = ctx.connect().await?;
    b.subscribe_presence(&channel, &member("b")).await?;
    let added = a
        .expect_event(&channel, "pusher_internal:member_added")
        .await?;
    if added.data_decoded().and_then(|d| d.get("user_id").cloned()) != Some(json!("b")) {
        return Err(Failure::violation(
            "member_added with user_id \"b\"",
            added.encode(),
        ));
    }
    expect_no_event(&ctx, &mut b, &channel, "pusher_internal:member_added").await
}

async fn multi_connection(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut watcher = ctx.connect().await?;
    watcher.subscribe_presence(&channel, &member("w")).await?;
    let mut u1 = ctx.connect().await?;
    u1.subscribe_presence(&channel, &member("u")).await?;
    watcher
        .expect_event(&channel, "pusher_internal:member_added")
        .await?;
    let mut u2 = ctx.connect().await?;
    let p = presence_of(&u2.subscribe_presence(&channel, &member("u")).await?);
    if p["count"] != json!(2) {
        return Err(Failure::violation(
            "count 2 (users, not connections)",
            p.to_string(),
        ));
    }
    let removed = |e: &Envelope| {
        e.event() == "pusher_internal:member_removed" && e.channel() == Some(channel.as_str())
    };
    let what = "a second member_added for u (a user, not a connection, is a member)";
    let added = |e: &Envelope| e.event() == "pusher_internal:member_added";
    expect_none(&ctx, &mut watcher, Path::Channel(&channel), what, added).await?;
    u1.close_handshake().await;
    let what = "member_removed for u while its second connection is still subscribed";
    expect_none(&ctx, &mut watcher, Path::Channel(&channel), what, removed).await?;
    u2.close_handshake().await;
    watcher
        .expect_event(&channel, "pusher_internal:member_removed")
        .await?;
    let what = "a duplicate member_removed for u after its last connection left";
    expect_none(&ctx, &mut watcher, Path::Channel(&channel), what, removed).await?;
    Ok(())
}

async fn disconnect_removes(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut a = ctx.connect().await?;
    a.subscribe_presence(&channel, &member("a")).await?;
    let mut b = ctx.connect().await?;
    b.subscribe_presence(&channel, &member("b")).await?;
    b.close().await;
    expect_removed(&mut a, &channel, "b").await
}

async fn unsubscribe_removes(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut a = ctx.connect().await?;
    a.subscribe_presence(&channel, &member("a")).await?;
    let mut b = ctx.connect().await?;
    b.subscribe_presence(&channel, &member("b")).await?;
    a.expect_event(&channel, "pusher_internal:member_added")
        .await?;
    b.unsubscribe(&channel).await?;
    expect_removed(&mut a, &channel, "b").await
}

async fn numeric_user_id(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut a = ctx.connect().await?;
    let p = presence_of(
        &a.subscribe_presence(&channel, r#"{"user_id":10,"user_info":{}}"#)
            .await?,
    );
    if p["ids"] == json!(["10"]) {
        Ok(())
    } else {
        Err(Failure::violation("ids [\"10\"]", p.to_string()))
    }
}

async fn user_info_not_object(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut c = ctx.connect().await?;
    let data = r#"{"user_id":"x","user_info":"x"}"#;
    let auth = c.auth_for(&channel, Some(data));
    c.send_subscribe(&channel, Some(&auth), Some(data)).await?;
    expect_refused(&ctx, &mut c, &channel).await?;
    Ok(())
}

async fn limit(ctx: Ctx) -> Outcome {
    let max = ctx.target().profile.limits.max_presence_members;
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut held = Vec::new();
    for i in 0..max {
        let mut c = ctx.connect().await?;
        c.subscribe_presence(&channel, &member(&format!("m{i}")))
            .await?;
        held.push(c);
    }
    let mut extra = ctx.connect().await?;
    let data = member("one-too-many");
    let auth = extra.auth_for(&channel, Some(&data));
    extra
        .send_subscribe(&channel, Some(&auth), Some(&data))
        .await?;
    expect_refused(&ctx, &mut extra, &channel)
        .await
        .map_err(|f| match f {
            Failure::Violation { expected, actual } => Failure::violation(
                format!(
                    "{expected} (the limit is the profile's limits.max_presence_members = {max}; this case depends on it)"
                ),
                actual,
            ),
            other => other,
        })
}

async fn signin_identity(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.user_authentication,
        "n/a: user authentication disabled",
    )?;
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut c = ctx.connect().await?;
    c.signin(r#"{"id":"signed-user","user_info":{"n":1}}"#)
        .await?;
    let auth = c.auth_for(&channel, None);
    c.send_subscribe(&channel, Some(&auth), None).await?;
    let p = presence_of(&c.expect_subscribed(&channel).await?);
    if p["ids"] == json!(["signed-user"]) {
        Ok(())
    } else {
        Err(Failure::violation("ids [\"signed-user\"]", p.to_string()))
    }
}

async fn subscription_count_excluded(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.subscription_count,
        "n/a: subscription_count disabled",
    )?;
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut a = ctx.connect().await?;
    a.subscribe_presence(&channel, &member("a")).await?;
    let mut b = ctx.connect().await?;
    b.subscribe_presence(&channel, &member("b")).await?;
    a.expect_event(&channel, "pusher_internal:member_added")
        .await?;
    expect_no_event(&ctx, &mut a, &channel, "pusher_internal:subscription_count").await
}

/// Expects `member_removed` on `channel` naming `user_id` (spec 7.2).
async fn expect_removed(c: &mut ProtocolClient, channel: &str, user_id: &str) -> Outcome {
    let removed = c
        .expect_event(channel, "pusher_internal:member_removed")
        .await?;
    match removed
        .data_decoded()
        .and_then(|d| d.get("user_id").cloned())
    {
        Some(id) if id == json!(user_id) => Ok(()),
        _ => Err(Failure::violation(
            format!("member_removed with user_id {user_id:?}"),
            removed.encode(),
        )),
    }
}
