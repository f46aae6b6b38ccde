//! Spec 5.3 and 10.2-10.3, what a sign-in grants: the server-to-user channel
//! only to that user, one identity per connection, nothing after a refusal.

use serde_json::json;

use super::{Path, case, expect_none, expect_refused, expect_status, publish};
use crate::client::ProtocolClient;
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::signing::{Secret, signin_auth};

const SIGNIN: SpecRef = SpecRef {
    doc: Doc::AuthSignatures,
    slug: "signin",
    section: "5.3 User authentication (sign-in)",
};
const EVENTS: SpecRef = SpecRef {
    doc: Doc::RestApi,
    slug: "events",
    section: "8.2 POST /apps/<app_id>/events",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "auth-signatures/signin/s2u-other-user",
            SIGNIN,
            Must,
            "#server-to-user-B is refused for a socket signed in as A, and B's user events do not reach it.",
            s2u_other_user,
            security
        ),
        case!(
            "auth-signatures/signin/s2u-unsigned",
            SIGNIN,
            Must,
            "#server-to-user-<id> is refused for a socket that never signed in.",
            s2u_unsigned,
            security
        ),
        case!(
            "auth-signatures/signin/resignin-other-user",
            SIGNIN,
            Must,
            "A connection signed in as A cannot sign in again as B; it stays A.",
            resignin_other_user,
            security
        ),
        case!(
            "auth-signatures/signin/failed-grants-nothing",
            SIGNIN,
            Must,
            "After a refused sign-in as X the connection cannot subscribe #server-to-user-X.",
            failed_grants_nothing,
            security
        ),
        case!(
            "rest-api/events/send-to-user-only",
            EVENTS,
            Must,
            "An event to #server-to-user-A reaches A's sockets and no socket of another user or of nobody.",
            send_to_user_only,
            security
        ),
    ]
}

fn enabled(ctx: &Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.user_authentication,
        "n/a: user authentication disabled",
    )
}

fn user(ctx: &Ctx, prefix: &str) -> String {
    format!("{prefix}{}", ctx.random_suffix())
}

async fn s2u_other_user(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (a, b) = (user(&ctx, "a"), user(&ctx, "b"));
    let mut c = ctx.connect().await?;
    c.signin(&json!({ "id": a }).to_string()).await?;
    let theirs = format!("#server-to-user-{b}");
    c.send_subscribe(&theirs, Some(""), None).await?;
    let refused = expect_refused(&ctx, &mut c, &theirs).await;
    no_user_event(&ctx, &mut c, &theirs, refused).await
}

/// Publishes a user event to `channel` and judges, by sentinel, that it does
/// not reach `c`, whatever the subscription's answer was: a leak is the
/// finding; an acknowledged subscription without a leak is still a failure
/// of the refusal rule, and the message says that nothing leaked (spec 10.3).
async fn no_user_event(
    ctx: &Ctx,
    c: &mut ProtocolClient,
    channel: &str,
    refused: Outcome,
) -> Outcome {
    publish(ctx, channel, "for-them", "{}").await?;
    let what = format!("the user's event on {channel}");
    expect_none(ctx, c, Path::Connection, &what, |e| {
        e.channel() == Some(channel)
    })
    .await?;
    refused.map_err(|f| match f {
        Failure::Violation { expected, actual } => Failure::violation(
            expected,
            format!("{actual}; the user's event did not reach this socket (no leak)"),
        ),
        other => other,
    })
}

async fn s2u_unsigned(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let channel = format!("#server-to-user-{}", user(&ctx, "u"));
    let mut c = ctx.connect().await?;
    c.send_subscribe(&channel, Some(""), None).await?;
    let refused = expect_refused(&ctx, &mut c, &channel).await;
    no_user_event(&ctx, &mut c, &channel, refused).await
}

async fn resignin_other_user(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (a, b) = (user(&ctx, "a"), user(&ctx, "b"));
    let mut c = ctx.connect().await?;
    c.signin(&json!({ "id": a }).to_string()).await?;
    c.send_signin(&json!({ "id": b }).to_string()).await?;
    c.expect_frame("pusher:error for the second sign-in", |e| {
        e.event() == "pusher:error"
    })
    .await?;
    let theirs = format!("#server-to-user-{b}");
    c.send_subscribe(&theirs, Some(""), None).await?;
    expect_refused(&ctx, &mut c, &theirs).await?;
    c.subscribe(&format!("#server-to-user-{a}")).await?;
    Ok(())
}

async fn failed_grants_nothing(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let x = user(&ctx, "x");
    let user_data = json!({ "id": x }).to_string();
    let mut c = ctx.connect().await?;
    let key = &ctx.target().credentials.key;
    let forged = signin_auth(key, &Secret::new("forged"), c.socket_id(), &user_data);
    c.send_signin_raw(&forged, &user_data).await?;
    c.expect_frame("pusher:error for the forged sign-in", |e| {
        e.event() == "pusher:error" || e.event() == "pusher:signin_success"
    })
    .await?;
    let channel = format!("#server-to-user-{x}");
    c.send_subscribe(&channel, Some(""), None).await?;
    expect_refused(&ctx, &mut c, &channel).await
}

async fn send_to_user_only(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let (a, b) = (user(&ctx, "a"), user(&ctx, "b"));
    let theirs = format!("#server-to-user-{a}");
    let mut target = ctx.connect().await?;
    target.signin(&json!({ "id": a }).to_string()).await?;
    target.subscribe(&theirs).await?;
    let mut other = ctx.connect().await?;
    other.signin(&json!({ "id": b }).to_string()).await?;
    other.subscribe(&format!("#server-to-user-{b}")).await?;
    let mut anonymous = ctx.connect().await?;
    // Both try to listen in on A's channel first; each must be refused.
    for c in [&mut other, &mut anonymous] {
        c.send_subscribe(&theirs, Some(""), None).await?;
        expect_refused(&ctx, c, &theirs).await?;
    }
    let resp = ctx
        .rest()
        .publish(&[&theirs], "for-a", "{}", json!({}))
        .await?;
    expect_status(&resp, 200, "a send-to-user publish")?;
    target.expect_event(&theirs, "for-a").await?;
    for c in [&mut other, &mut anonymous] {
        let what = format!("A's user event on {theirs}");
        expect_none(&ctx, c, Path::Connection, &what, |e| e.event() == "for-a").await?;
    }
    Ok(())
}
