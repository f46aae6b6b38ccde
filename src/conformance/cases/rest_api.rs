//! Spec 8, "HTTP REST API": events, batches, channel queries, users, terminate.

use serde_json::{Value, json};

use super::{case, expect_no_event, expect_open, expect_status, member, publish};
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::wire::ChannelKind;

const EVENTS: SpecRef = SpecRef {
    doc: Doc::RestApi,
    slug: "events",
    section: "8.2 POST /apps/<app_id>/events",
};
const BATCH: SpecRef = SpecRef {
    doc: Doc::RestApi,
    slug: "batch",
    section: "8.3 POST /apps/<app_id>/batch_events",
};
const CHANNELS: SpecRef = SpecRef {
    doc: Doc::RestApi,
    slug: "channels",
    section: "8.4 GET /apps/<app_id>/channels",
};
const CHANNEL: SpecRef = SpecRef {
    doc: Doc::RestApi,
    slug: "channel",
    section: "8.5 GET /apps/<app_id>/channels/<channel_name>",
};
const USERS: SpecRef = SpecRef {
    doc: Doc::RestApi,
    slug: "users",
    section: "8.6-8.7 users and terminate_connections",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "rest-api/events/single",
            EVENTS,
            Must,
            "A publish to one channel is delivered with data unchanged and answered 200 with a JSON object.",
            single
        ),
        case!(
            "rest-api/events/multi",
            EVENTS,
            Must,
            "A publish to 3 channels is delivered on each.",
            multi
        ),
        case!(
            "rest-api/events/too-many-channels",
            EVENTS,
            Must,
            "A publish to 101 channels is refused with 400.",
            too_many_channels
        ),
        case!(
            "rest-api/events/too-large",
            EVENTS,
            Must,
            "Event data one byte over the limit (10240 bytes, or the profile's limits.max_event_payload_bytes) is refused with 413.",
            too_large
        ),
        case!(
            "rest-api/events/max-size",
            EVENTS,
            Should,
            "Event data of exactly the limit (10240 bytes, or the profile's) is accepted.",
            max_size
        ),
        case!(
            "rest-api/events/exclude-socket",
            EVENTS,
            Must,
            "socket_id excludes that connection only; others of the same user still receive.",
            exclude_socket
        ),
        case!(
            "rest-api/events/info",
            EVENTS,
            Should,
            "info=user_count,subscription_count returns channel attributes.",
            info
        ),
        case!(
            "rest-api/events/reserved-name",
            EVENTS,
            Should,
            "Events named pusher:* are refused with 400.",
            reserved_name,
            security
        ),
        case!(
            "rest-api/events/encrypted-multi",
            EVENTS,
            Should,
            "A publish to two channels, one encrypted, is refused with 400.",
            encrypted_multi
        ),
        case!(
            "rest-api/events/send-to-user",
            EVENTS,
            Must,
            "Events to #server-to-user-<id> reach every connection signed in as id.",
            send_to_user,
            security
        ),
        case!(
            "rest-api/batch/ok",
            BATCH,
            Must,
            "A batch of 10 is delivered and answered 200.",
            batch_ok
        ),
        case!(
            "rest-api/batch/too-many",
            BATCH,
            Should,
            "A batch of 11 is refused with 400.",
            batch_too_many
        ),
        case!(
            "rest-api/channels/list",
            CHANNELS,
            Must,
            "Only occupied channels are listed, filtered by prefix.",
            channels_list
        ),
        case!(
            "rest-api/channels/user-count-needs-presence-filter",
            CHANNELS,
            Must,
            "info=user_count without a presence- filter is refused with 400.",
            user_count_needs_presence
        ),
        case!(
            "rest-api/channel/info",
            CHANNEL,
            Must,
            "GET channel always has occupied; an unused channel gives {\"occupied\":false}.",
            channel_info
        ),
        case!(
            "rest-api/channel/user-count-public",
            CHANNEL,
            Must,
            "info=user_count on a public channel is refused with 400.",
            user_count_public
        ),
        case!(
            "rest-api/users/presence",
            USERS,
            Must,
            "GET users lists distinct users of a presence channel.",
            users_presence
        ),
        case!(
            "rest-api/users/non-presence",
            USERS,
            Must,
            "GET users on a non-presence channel is refused with 400.",
            users_non_presence
        ),
        case!(
            "rest-api/users/terminate",
            USERS,
            Must,
            "terminate_connections closes every signed-in socket of the user with 4009 or a 42xx code, and leaves presence-only sockets and other users open.",
            terminate,
            security
        ),
        case!(
            "rest-api/users/terminate-reconnect",
            USERS,
            Must,
            "After terminate_connections the user may connect and sign in again, and receives its user events.",
            terminate_reconnect
        ),
    ]
}

async fn single(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Public);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    publish(&ctx, &channel, "ev", "{\"x\": [1, 2]}").await?;
    let e = c.expect_event(&channel, "ev").await?;
    if e.data() == Some(&json!("{\"x\": [1, 2]}")) {
        Ok(())
    } else {
        Err(Failure::violation("data string unchanged", e.encode()))
    }
}

async fn multi(ctx: Ctx) -> Outcome {
    let names: Vec<String> = (0..3)
        .map(|_| ctx.unique_channel(ChannelKind::Public))
        .collect();
    let mut c = ctx.connect().await?;
    for n in &names {
        c.subscribe(n).await?;
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    expect_status(
        &ctx.rest().publish(&refs, "ev", "{}", json!({})).await?,
        200,
        "a 3-channel publish",
    )?;
    for n in &names {
        c.expect_event(n, "ev").await?;
    }
    Ok(())
}

async fn refused(
    ctx: &Ctx,
    channels: &[&str],
    name: &str,
    data: &str,
    status: u16,
    what: &str,
) -> Outcome {
    expect_status(
        &ctx.rest().publish(channels, name, data, json!({})).await?,
        status,
        what,
    )
}

async fn too_many_channels(ctx: Ctx) -> Outcome {
    let names: Vec<String> = (0..101)
        .map(|i| format!("pc-{i}-{}", ctx.random_suffix()))
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    refused(&ctx, &refs, "ev", "{}", 400, "101 channels").await
}

/// The data limit this case depends on: the profile's, 10240 by default.
fn payload_limit(ctx: &Ctx) -> usize {
    ctx.target().profile.limits.max_event_payload_bytes
}

async fn too_large(ctx: Ctx) -> Outcome {
    let limit = payload_limit(&ctx);
    let what = format!(
        "{} bytes of data (the profile's limits.max_event_payload_bytes = {limit}; this case depends on it)",
        limit + 1
    );
    refused(
        &ctx,
        &["pc-large"],
        "ev",
        &"x".repeat(limit + 1),
        413,
        &what,
    )
    .await
}

async fn max_size(ctx: Ctx) -> Outcome {
    let limit = payload_limit(&ctx);
    let what = format!(
        "exactly {limit} bytes of data (the profile's limits.max_event_payload_bytes; this case depends on it)"
    );
    refused(&ctx, &["pc-max"], "ev", &"x".repeat(limit), 200, &what).await
}

async fn exclude_socket(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let (mut a, mut b) = (ctx.connect().await?, ctx.connect().await?);
    a.subscribe_presence(&channel, &member("same")).await?;
    b.subscribe_presence(&channel, &member("same")).await?;
    let resp = ctx
        .rest()
        .publish(&[&channel], "ev", "{}", json!({"socket_id": a.socket_id()}))
        .await?;
    expect_status(&resp, 200, "a publish with socket_id")?;
    b.expect_event(&channel, "ev").await?;
    expect_no_event(&ctx, &mut a, &channel, "ev").await
}

async fn info(ctx: Ctx) -> Outcome {
    let presence = ctx.unique_channel(ChannelKind::Presence);
    let public = ctx.unique_channel(ChannelKind::Public);
    let mut a = ctx.connect().await?;
    a.subscribe_presence(&presence, &member("a")).await?;
    a.subscribe(&public).await?;
    let extra = json!({"info": "user_count,subscription_count"});
    let resp = ctx
        .rest()
        .publish(&[&presence, &public], "ev", "{}", extra)
        .await?;
    expect_status(&resp, 200, "a publish with info")?;
    let counting = ctx.target().profile.features.subscription_count;
    // Spec 8.2: user_count on presence only, subscription_count on every
    // other kind when the app counts; attributes that do not apply are left out.
    let want = json!({
        "channels": {
            presence.as_str(): {"user_count": 1},
            public.as_str(): if counting { json!({"subscription_count": 1}) } else { json!({}) },
        }
    });
    if resp.json() == Some(want.clone()) {
        Ok(())
    } else {
        Err(Failure::violation(want.to_string(), resp.describe()))
    }
}

async fn reserved_name(ctx: Ctx) -> Outcome {
    refused(
        &ctx,
        &["pc-reserved"],
        "pusher:foo",
        "{}",
        400,
        "event name pusher:foo",
    )
    .await
}

async fn encrypted_multi(ctx: Ctx) -> Outcome {
    let enc = ctx.unique_channel(ChannelKind::Encrypted);
    refused(
        &ctx,
        &[&enc, "pc-plain"],
        "ev",
        "{}",
        400,
        "an encrypted channel among several",
    )
    .await
}

async fn send_to_user(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.user_authentication,
        "n/a: user authentication disabled",
    )?;
    let id = format!("u{}", ctx.random_suffix());
    let channel = format!("#server-to-user-{id}");
    let mut conns = Vec::new();
    for _ in 0..2 {
        let mut c = ctx.connect().await?;
        c.signin(&json!({"id": id}).to_string()).await?;
        c.subscribe(&channel).await?;
        conns.push(c);
    }
    publish(&ctx, &channel, "to-user", "{}").await?;
    for c in &mut conns {
        c.expect_event(&channel, "to-user").await?;
    }
    Ok(())
}

async fn batch_ok(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Public);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    let batch: Vec<Value> = (0..10)
        .map(|i| json!({"name": format!("b{i}"), "channel": channel, "data": "{}"}))
        .collect();
    let rest = ctx.rest();
    let resp = rest
        .send(
            &rest
                .request("POST", "/batch_events")
                .json(&json!({"batch": batch})),
        )
        .await?;
    expect_status(&resp, 200, "a batch of 10")?;
    for i in 0..10 {
        c.expect_event(&channel, &format!("b{i}")).await?;
    }
    Ok(())
}

async fn batch_too_many(ctx: Ctx) -> Outcome {
    let batch: Vec<Value> = (0..11)
        .map(|i| json!({"name": "ev", "channel": format!("pc-{i}"), "data": "{}"}))
        .collect();
    let rest = ctx.rest();
    let resp = rest
        .send(
            &rest
                .request("POST", "/batch_events")
                .json(&json!({"batch": batch})),
        )
        .await?;
    expect_status(&resp, 400, "a batch of 11")
}

async fn get(
    ctx: &Ctx,
    path: &str,
    query: &[(&str, &str)],
) -> Result<crate::client::RestResponse, Failure> {
    let rest = ctx.rest();
    let req = query
        .iter()
        .fold(rest.request("GET", path), |r, (k, v)| r.query(k, v));
    Ok(rest.send(&req).await?)
}

async fn channels_list(ctx: Ctx) -> Outcome {
    let prefix = format!("pc-list-{}-", ctx.random_suffix());
    let (occupied, empty) = (format!("{prefix}a"), format!("{prefix}b"));
    let mut c = ctx.connect().await?;
    c.subscribe(&occupied).await?;
    c.subscribe(&ctx.unique_channel(ChannelKind::Public))
        .await?;
    publish(&ctx, &empty, "ev", "{}").await?;
    let resp = get(&ctx, "/channels", &[("filter_by_prefix", &prefix)]).await?;
    expect_status(&resp, 200, "GET channels")?;
    let want = json!({"channels": {occupied: {}}});
    if resp.json() == Some(want.clone()) {
        Ok(())
    } else {
        Err(Failure::violation(want.to_string(), resp.describe()))
    }
}

async fn user_count_needs_presence(ctx: Ctx) -> Outcome {
    expect_status(
        &get(
            &ctx,
            "/channels",
            &[("info", "user_count"), ("filter_by_prefix", "pc-")],
        )
        .await?,
        400,
        "user_count without a presence- filter",
    )
}

async fn channel_info(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Public);
    let resp = get(&ctx, &format!("/channels/{channel}"), &[]).await?;
    if resp.status != 200 || resp.json() != Some(json!({"occupied": false})) {
        return Err(Failure::violation(
            "200 {\"occupied\":false}",
            resp.describe(),
        ));
    }
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    let resp = get(&ctx, &format!("/channels/{channel}"), &[]).await?;
    match resp.json().and_then(|j| j.get("occupied").cloned()) {
        Some(Value::Bool(true)) => Ok(()),
        _ => Err(Failure::violation("occupied true", resp.describe())),
    }
}

async fn user_count_public(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Public);
    expect_status(
        &get(
            &ctx,
            &format!("/channels/{channel}"),
            &[("info", "user_count")],
        )
        .await?,
        400,
        "user_count on a public channel",
    )
}

async fn users_presence(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut held = Vec::new();
    for user in ["a", "b", "a"] {
        let mut c = ctx.connect().await?;
        c.subscribe_presence(&channel, &member(user)).await?;
        held.push(c);
    }
    let resp = get(&ctx, &format!("/channels/{channel}/users"), &[]).await?;
    let mut ids: Vec<String> = resp
        .json()
        .and_then(|j| j.get("users").cloned())
        .and_then(|u| u.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|u| u.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    ids.sort();
    if resp.status == 200 && ids == ["a", "b"] {
        Ok(())
    } else {
        Err(Failure::violation("users [a, b]", resp.describe()))
    }
}

async fn users_non_presence(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Private);
    expect_status(
        &get(&ctx, &format!("/channels/{channel}/users"), &[]).await?,
        400,
        "users of a private channel",
    )
}

/// Close codes a terminated connection may get: 4009 (what open servers
/// send) or a 4200-range "reconnect" code, since the user may reconnect
/// (spec 8.7, open question 13).
fn terminate_code_ok(code: Option<u16>) -> bool {
    code.is_some_and(|c| c == 4009 || (4200..4300).contains(&c))
}

async fn terminate(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.user_authentication,
        "n/a: user authentication disabled",
    )?;
    let id = format!("u{}", ctx.random_suffix());
    let user = json!({"id": id}).to_string();
    let mut signed = Vec::new();
    for _ in 0..2 {
        let mut c = ctx.connect().await?;
        c.signin(&user).await?;
        signed.push(c);
    }
    let mut member_only = ctx.connect().await?;
    member_only
        .subscribe_presence(&ctx.unique_channel(ChannelKind::Presence), &member(&id))
        .await?;
    let mut bystander = ctx.connect().await?;
    bystander
        .signin(&json!({"id": format!("{id}-other")}).to_string())
        .await?;
    let rest = ctx.rest();
    let req = rest
        .request("POST", &format!("/users/{id}/terminate_connections"))
        .json(&json!({}));
    expect_status(&rest.send(&req).await?, 200, "terminate_connections")?;
    for (n, c) in signed.iter_mut().enumerate() {
        let (code, reason) = c.expect_close().await?;
        if !terminate_code_ok(code) {
            return Err(Failure::violation(
                format!(
                    "signed-in connection {} of {id} closed with 4009 or a 4200-4299 code",
                    n + 1
                ),
                format!("close {code:?} {reason:?}"),
            ));
        }
    }
    expect_open(&ctx, &mut member_only).await?;
    expect_open(&ctx, &mut bystander).await?;
    Ok(())
}

async fn terminate_reconnect(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.user_authentication,
        "n/a: user authentication disabled",
    )?;
    let id = format!("u{}", ctx.random_suffix());
    let user = json!({"id": id}).to_string();
    let mut c = ctx.connect().await?;
    c.signin(&user).await?;
    let rest = ctx.rest();
    let req = rest
        .request("POST", &format!("/users/{id}/terminate_connections"))
        .json(&json!({}));
    expect_status(&rest.send(&req).await?, 200, "terminate_connections")?;
    c.expect_close().await?;
    let mut again = ctx.connect().await?;
    again.signin(&user).await?;
    let channel = format!("#server-to-user-{id}");
    again.subscribe(&channel).await?;
    publish(&ctx, &channel, "after-terminate", "{}").await?;
    again.expect_event(&channel, "after-terminate").await?;
    Ok(())
}
