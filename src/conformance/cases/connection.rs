//! Spec 1, "Connection": endpoint, `pusher:connection_established`, close codes.

use std::sync::Arc;

use serde_json::Value;

use super::{case, data_object};
use crate::client::{ExpectError, ProtocolClient};
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::target::Credentials;

const SECTION: SpecRef = SpecRef {
    doc: Doc::Protocol,
    slug: "connection",
    section: "1. Connection",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "protocol/connection/established-first",
            SECTION,
            Must,
            "The first frame is pusher:connection_established whose data is a string holding a JSON object.",
            established_first
        ),
        case!(
            "protocol/connection/socket-id-format",
            SECTION,
            Must,
            "socket_id matches ^\\d+\\.\\d+$ and 200 connections get 200 distinct ids.",
            socket_id_format
        ),
        case!(
            "protocol/connection/activity-timeout",
            SECTION,
            Must,
            "activity_timeout is a positive integer.",
            activity_timeout
        ),
        case!(
            "protocol/connection/unknown-key",
            SECTION,
            Must,
            "A connection with an unknown app key is closed with 4001.",
            unknown_key,
            security
        ),
        case!(
            "protocol/connection/disabled-app",
            SECTION,
            Must,
            "A connection to a disabled app is closed with 4003.",
            disabled_app,
            security
        ),
        case!(
            "protocol/connection/over-quota",
            SECTION,
            Must,
            "The connection over an app's quota is closed with 4004.",
            over_quota
        ),
        case!(
            "protocol/connection/bad-path",
            SECTION,
            Should,
            "An upgrade on a path other than /app/<key> is closed with 4005 (or refused with HTTP 404).",
            bad_path
        ),
        case!(
            "protocol/connection/unsupported-protocol",
            SECTION,
            Should,
            "protocol=2 and protocol=99 are closed with 4007; protocol=abc with 4006 or 4007.",
            unsupported_protocol
        ),
        case!(
            "protocol/connection/unknown-query-params",
            SECTION,
            Must,
            "Unknown query parameters (client, version, flash, foo) are ignored.",
            unknown_query_params
        ),
    ]
}

async fn established_first(ctx: Ctx) -> Outcome {
    let c = ctx.connect().await?;
    let e = c.established().expect("connect stores the handshake frame");
    if !e.data().is_some_and(Value::is_string) {
        return Err(Failure::violation(
            "connection_established data as a JSON string",
            e.encode(),
        ));
    }
    data_object(e, "connection_established").map(drop)
}

fn is_socket_id(s: &str) -> bool {
    let mut parts = s.split('.');
    let ok =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

async fn socket_id_format(ctx: Ctx) -> Outcome {
    let clients = futures_util::future::join_all((0..200).map(|_| ctx.connect())).await;
    let mut ids = std::collections::HashSet::new();
    for c in clients {
        let c = c?;
        if !is_socket_id(c.socket_id()) {
            return Err(Failure::violation(
                "a socket_id matching ^\\d+\\.\\d+$",
                c.socket_id(),
            ));
        }
        if !ids.insert(c.socket_id().to_owned()) {
            return Err(Failure::violation(
                "distinct socket ids",
                format!("{} twice", c.socket_id()),
            ));
        }
    }
    Ok(())
}

async fn activity_timeout(ctx: Ctx) -> Outcome {
    let c = ctx.connect().await?;
    let e = c.established().expect("connect stores the handshake frame");
    let data = data_object(e, "connection_established")?;
    match data.get("activity_timeout").and_then(Value::as_u64) {
        Some(n) if n > 0 => Ok(()),
        _ => Err(Failure::violation(
            "a positive integer activity_timeout",
            e.encode(),
        )),
    }
}

/// Opens `url` and expects a close with one of `codes` (or, if allowed, an HTTP status).
pub(super) async fn expect_closed_with(
    ctx: &Ctx,
    url: &str,
    codes: &[u16],
    http_ok: Option<u16>,
) -> Outcome {
    let creds = Arc::new(Credentials::new("", "", ""));
    let expected = format!("close with {codes:?}");
    match ProtocolClient::open_with_tls(url, creds, ctx.timeout(), &ctx.target().tls).await? {
        Err(status) if Some(status) == http_ok => Ok(()),
        Err(status) => Err(Failure::violation(
            expected,
            format!("HTTP {status} on upgrade"),
        )),
        Ok(mut c) => match c.expect_close().await {
            Ok((Some(code), _)) if codes.contains(&code) => Ok(()),
            Ok((code, reason)) => Err(Failure::violation(
                expected,
                format!("close {code:?} {reason:?}"),
            )),
            Err(ExpectError::Violation { actual, .. }) => Err(Failure::violation(expected, actual)),
            Err(e) => Err(e.into()),
        },
    }
}

async fn unknown_key(ctx: Ctx) -> Outcome {
    let url = ctx
        .target()
        .ws_url(&format!("nope-{}", ctx.random_suffix()), "");
    expect_closed_with(&ctx, &url, &[4001], None).await
}

async fn disabled_app(ctx: Ctx) -> Outcome {
    let url = ctx.target().ws_url(&ctx.app("disabled")?.key, "");
    expect_closed_with(&ctx, &url, &[4003], None).await
}

async fn over_quota(ctx: Ctx) -> Outcome {
    let app = ctx.app("limited")?;
    let quota = app.max_connections.ok_or(Failure::NotApplicable(
        "n/a: apps.limited has no max_connections",
    ))?;
    let _quota = super::limited_app_gate(&ctx).await;
    let creds = Arc::new(app.credentials());
    let mut held = Vec::new();
    for _ in 0..quota {
        held.push(ctx.connect_as(creds.clone()).await?);
    }
    expect_closed_with(&ctx, &ctx.target().ws_url(&app.key, ""), &[4004], None).await
}

async fn bad_path(ctx: Ctx) -> Outcome {
    let url = format!(
        "{}/foo/{}",
        ctx.target().ws_base,
        ctx.target().credentials.key
    );
    expect_closed_with(&ctx, &url, &[4005], Some(404)).await
}

async fn unsupported_protocol(ctx: Ctx) -> Outcome {
    let key = &ctx.target().credentials.key;
    for (version, codes) in [("2", &[4007][..]), ("99", &[4007]), ("abc", &[4006, 4007])] {
        let url = format!("{}/app/{key}?protocol={version}", ctx.target().ws_base);
        expect_closed_with(&ctx, &url, codes, None).await?;
    }
    Ok(())
}

async fn unknown_query_params(ctx: Ctx) -> Outcome {
    let creds = Arc::new(ctx.target().credentials.clone());
    let url = ctx
        .target()
        .ws_url(&creds.key, "client=js&version=8.4.0&flash=false&foo=bar");
    let tls = &ctx.target().tls;
    let mut c = ProtocolClient::connect_with_tls(&url, creds, ctx.timeout(), tls).await?;
    c.send_ping().await?;
    c.expect_next("pusher:pong").await?;
    Ok(())
}
