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
            "Event data of 10241 bytes is refused with 413.",
            too_large
        ),
        case!(
            "rest-api/events/max-size",
            EVENTS,
            Should,
            "Event data of exactly 10240 bytes is accepted.",
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
            reserved_name
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
            send_to_user
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
            "terminate_connections closes signed-in sockets of the user, not presence-only ones.",
            terminate
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

async fn too_large(ctx: Ctx) -> Outcome {
    refused(
        &ctx,
        &["pc-large"],
        "ev",
        &"x".repeat(10241),
        413,
        "10241 bytes of data",
    )
    .await
}

async fn max_size(ctx: Ctx) -> Outcome {
    refused(
        &ctx,
        &["pc-max"],
        "ev",
        &"x".repeat(10240),
        200,
        "exactly 10240 bytes of data",
    )
    .await
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
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut a = ctx.connect().await?;
    a.subscribe_presence(&channel, &member("a")).await?;
    let resp = ctx
        .rest()
        .publish(&[&channel], "ev", "{}", json!({"info": "user_count"}))
        .await?;
    expect_status(&resp, 200, "a publish with info")?;
    match resp.json().and_then(|j| {
        j.pointer(&format!("/channels/{channel}/user_count"))
            .cloned()
    }) {
        Some(n) if n == json!(1) => Ok(()),
        _ => Err(Failure::violation(
            format!("{{\"channels\":{{\"{channel}\":{{\"user_count\":1}}}}}}"),
            resp.describe(),
        )),
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

async fn terminate(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.user_authentication,
        "n/a: user authentication disabled",
    )?;
    let id = format!("u{}", ctx.random_suffix());
    let mut signed = ctx.connect().await?;
    signed.signin(&json!({"id": id}).to_string()).await?;
    let mut member_only = ctx.connect().await?;
    member_only
        .subscribe_presence(&ctx.unique_channel(ChannelKind::Presence), &member(&id))
        .await?;
    let rest = ctx.rest();
    let req = rest
        .request("POST", &format!("/users/{id}/terminate_connections"))
        .json(&json!({}));
    expect_status(&rest.send(&req).await?, 200, "terminate_connections")?;
    signed.expect_close().await?;
    expect_open(&ctx, &mut member_only).await?;
    Ok(())
}
