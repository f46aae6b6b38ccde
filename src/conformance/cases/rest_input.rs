//! Spec 8.1-8.3 and 2.3, what the HTTP API accepts: channel-name edge cases,
//! invalid bodies answered 400, event names passed through unchanged, the
//! size limit in bytes, and delivery in publish order.

use serde_json::{Value, json};

use super::{case, expect_status, publish};
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

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "rest-api/events/channel-name-empty",
            EVENTS,
            Must,
            "A publish to the empty channel name is refused with 400.",
            name_empty
        ),
        case!(
            "rest-api/events/channel-name-unicode",
            EVENTS,
            Must,
            "A publish to café-<r> is refused with 400.",
            name_unicode
        ),
        case!(
            "rest-api/events/channel-name-hash",
            EVENTS,
            Must,
            "A publish to foo#bar is refused with 400.",
            name_hash
        ),
        case!(
            "rest-api/events/channel-name-201",
            EVENTS,
            Should,
            "A publish to a 201-character channel name is refused with 400.",
            name_201
        ),
        case!(
            "rest-api/events/channel-name-200",
            EVENTS,
            Should,
            "A publish to a 200-character channel name is accepted and delivered.",
            name_200
        ),
        case!(
            "rest-api/events/channel-name-comma",
            EVENTS,
            Must,
            "A publish to a,b-<r> is accepted and delivered on that one channel.",
            name_comma
        ),
        case!(
            "rest-api/events/channel-name-s2u-empty-id",
            EVENTS,
            Must,
            "A publish to #server-to-user- with an empty id is refused with 400.",
            name_s2u_empty
        ),
        case!(
            "rest-api/events/invalid-json",
            EVENTS,
            Should,
            "A body that is not JSON is refused with 400.",
            invalid_json
        ),
        case!(
            "rest-api/events/missing-name",
            EVENTS,
            Should,
            "A publish without name is refused with 400.",
            missing_name
        ),
        case!(
            "rest-api/events/data-not-string",
            EVENTS,
            Should,
            "A publish whose data is an object, not a string, is refused with 400.",
            data_not_string
        ),
        case!(
            "rest-api/events/channel-and-channels",
            EVENTS,
            Should,
            "A publish with both channel and channels is refused with 400.",
            channel_and_channels
        ),
        case!(
            "rest-api/events/empty-channels",
            EVENTS,
            Should,
            "A publish with an empty channels array is refused with 400.",
            empty_channels
        ),
        case!(
            "rest-api/events/name-too-long",
            EVENTS,
            Should,
            "A publish whose event name has 201 characters is refused with 400.",
            name_too_long
        ),
        case!(
            "rest-api/events/bad-socket-id",
            EVENTS,
            Should,
            "A publish whose socket_id is not digits.digits is refused with 400.",
            bad_socket_id
        ),
        case!(
            "rest-api/events/event-name-laravel",
            EVENTS,
            Must,
            "A Laravel event name (App\\Events\\OrderShipped) arrives unchanged.",
            event_name_laravel
        ),
        case!(
            "rest-api/events/event-name-unicode",
            EVENTS,
            Must,
            "A unicode event name arrives unchanged.",
            event_name_unicode
        ),
        case!(
            "rest-api/events/too-large-multibyte",
            EVENTS,
            Must,
            "Data over the byte limit but under it in characters (\"é\" repeated) is refused with 413: the limit counts bytes.",
            too_large_multibyte
        ),
        case!(
            "rest-api/events/order",
            EVENTS,
            Must,
            "Events published one after another on a channel arrive in publish order.",
            order
        ),
        case!(
            "rest-api/batch/order",
            BATCH,
            Should,
            "A batch's events on one channel arrive in batch order.",
            batch_order
        ),
    ]
}

async fn post_events(ctx: &Ctx, body: &[u8]) -> Result<crate::client::RestResponse, Failure> {
    let rest = ctx.rest();
    let req = rest.request("POST", "/events").with_body(body);
    Ok(rest.send(&req).await?)
}

async fn refused_body(ctx: &Ctx, body: Value, what: &str) -> Outcome {
    let resp = ctx
        .rest()
        .send(&ctx.rest().request("POST", "/events").json(&body))
        .await?;
    expect_status(&resp, 400, what)
}

async fn refused_channel(ctx: &Ctx, channel: &str) -> Outcome {
    let body = json!({"name": "ev", "channels": [channel], "data": "{}"});
    refused_body(ctx, body, &format!("channel name {channel:?}")).await
}

/// A publish to `channel` is accepted and delivered to a subscriber.
async fn delivered_on(ctx: &Ctx, channel: &str) -> Outcome {
    let mut c = ctx.connect().await?;
    c.subscribe(channel).await?;
    publish(ctx, channel, "ev", "{}").await?;
    c.expect_event(channel, "ev").await?;
    Ok(())
}

fn suffixed(ctx: &Ctx, prefix: &str) -> String {
    format!("{prefix}{}", ctx.random_suffix())
}

async fn name_empty(ctx: Ctx) -> Outcome {
    refused_channel(&ctx, "").await
}

async fn name_unicode(ctx: Ctx) -> Outcome {
    refused_channel(&ctx, &suffixed(&ctx, "café-")).await
}

async fn name_hash(ctx: Ctx) -> Outcome {
    refused_channel(&ctx, &suffixed(&ctx, "foo#bar-")).await
}

async fn name_201(ctx: Ctx) -> Outcome {
    refused_channel(&ctx, &format!("{:y<201}", suffixed(&ctx, "pc-"))).await
}

async fn name_200(ctx: Ctx) -> Outcome {
    delivered_on(&ctx, &format!("{:x<200}", suffixed(&ctx, "pc-"))).await
}

async fn name_comma(ctx: Ctx) -> Outcome {
    delivered_on(&ctx, &suffixed(&ctx, "a,b-")).await
}

async fn name_s2u_empty(ctx: Ctx) -> Outcome {
    refused_channel(&ctx, "#server-to-user-").await
}

async fn invalid_json(ctx: Ctx) -> Outcome {
    let resp = post_events(&ctx, b"{\"name\": \"ev\", ").await?;
    expect_status(&resp, 400, "a body that is not JSON")
}

fn channel(ctx: &Ctx) -> String {
    ctx.unique_channel(ChannelKind::Public)
}

async fn missing_name(ctx: Ctx) -> Outcome {
    let body = json!({"channels": [channel(&ctx)], "data": "{}"});
    refused_body(&ctx, body, "no name").await
}

async fn data_not_string(ctx: Ctx) -> Outcome {
    let body = json!({"name": "ev", "channels": [channel(&ctx)], "data": {"a": 1}});
    refused_body(&ctx, body, "object data").await
}

async fn channel_and_channels(ctx: Ctx) -> Outcome {
    let body =
        json!({"name": "ev", "channel": channel(&ctx), "channels": [channel(&ctx)], "data": "{}"});
    refused_body(&ctx, body, "both channel and channels").await
}

async fn empty_channels(ctx: Ctx) -> Outcome {
    let body = json!({"name": "ev", "channels": [], "data": "{}"});
    refused_body(&ctx, body, "an empty channels array").await
}

async fn name_too_long(ctx: Ctx) -> Outcome {
    let body = json!({"name": "e".repeat(201), "channels": [channel(&ctx)], "data": "{}"});
    refused_body(&ctx, body, "a 201-character event name").await
}

async fn bad_socket_id(ctx: Ctx) -> Outcome {
    let body = json!({"name": "ev", "channels": [channel(&ctx)], "data": "{}", "socket_id": "x:y"});
    refused_body(&ctx, body, "socket_id x:y").await
}

/// An event named `name` arrives with exactly that name.
async fn name_unchanged(ctx: &Ctx, name: &str) -> Outcome {
    let channel = channel(ctx);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    publish(ctx, &channel, name, "{}").await?;
    let e = c
        .expect_frame(&format!("event {name:?} on {channel}"), |e| {
            e.channel() == Some(channel.as_str())
                && e.event() != "pusher_internal:subscription_count"
        })
        .await?;
    if e.event() == name {
        Ok(())
    } else {
        Err(Failure::violation(
            format!("event name {name:?} unchanged"),
            e.encode(),
        ))
    }
}

async fn event_name_laravel(ctx: Ctx) -> Outcome {
    name_unchanged(&ctx, "App\\Events\\OrderShipped").await
}

async fn event_name_unicode(ctx: Ctx) -> Outcome {
    name_unchanged(&ctx, "événement-✓-注文").await
}

async fn too_large_multibyte(ctx: Ctx) -> Outcome {
    let body = json!({"name": "ev", "channels": [channel(&ctx)], "data": "é".repeat(5200)});
    let resp = ctx
        .rest()
        .send(&ctx.rest().request("POST", "/events").json(&body))
        .await?;
    expect_status(&resp, 413, "10400 bytes of data in 5200 characters")
}

/// `names` in order on `channel`, with nothing else on it in between.
async fn in_order(
    c: &mut crate::client::ProtocolClient,
    channel: &str,
    names: &[String],
) -> Outcome {
    let mut got = Vec::new();
    while got.len() < names.len() {
        let e = c
            .expect_frame(
                &format!("{} events on {channel} in order", names.len()),
                |e| {
                    e.channel() == Some(channel)
                        && e.event() != "pusher_internal:subscription_count"
                },
            )
            .await?;
        got.push(e.event().to_owned());
    }
    if got == names {
        Ok(())
    } else {
        Err(Failure::violation(format!("{names:?}"), format!("{got:?}")))
    }
}

async fn order(ctx: Ctx) -> Outcome {
    let channel = channel(&ctx);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    let names: Vec<String> = (0..10).map(|i| format!("ev-{i}")).collect();
    for name in &names {
        publish(&ctx, &channel, name, "{}").await?;
    }
    in_order(&mut c, &channel, &names).await
}

async fn batch_order(ctx: Ctx) -> Outcome {
    let channel = channel(&ctx);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    let names: Vec<String> = (0..10).map(|i| format!("b-{i}")).collect();
    let batch: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "channel": channel, "data": "{}"}))
        .collect();
    let rest = ctx.rest();
    let req = rest
        .request("POST", "/batch_events")
        .json(&json!({ "batch": batch }));
    expect_status(&rest.send(&req).await?, 200, "a batch of 10")?;
    in_order(&mut c, &channel, &names).await
}
