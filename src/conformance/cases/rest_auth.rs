//! Spec 5.5, "REST request signing": signatures, body_md5, timestamp window, replay.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::{case, expect_status};
use crate::client::{RestClient, RestRequest};
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};

const SECTION: SpecRef = SpecRef {
    doc: Doc::RestApi,
    slug: "auth",
    section: "5.5 REST request signing",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "rest-api/auth/valid",
            SECTION,
            Must,
            "A correctly signed request is answered 200.",
            valid
        ),
        case!(
            "rest-api/auth/bad-signature",
            SECTION,
            Must,
            "A request with a wrong signature is refused with 401.",
            bad_signature,
            security
        ),
        case!(
            "rest-api/auth/wrong-secret",
            SECTION,
            Must,
            "A request signed with another secret is refused with 401.",
            wrong_secret,
            security
        ),
        case!(
            "rest-api/auth/body-md5",
            SECTION,
            Must,
            "A body altered after signing (body_md5 mismatch) is refused with 401.",
            body_md5,
            security
        ),
        case!(
            "rest-api/auth/missing-body-md5",
            SECTION,
            Must,
            "A POST with a body but no body_md5 is refused with 401.",
            missing_body_md5,
            security
        ),
        case!(
            "rest-api/auth/timestamp-window",
            SECTION,
            Must,
            "Timestamps 599 s in the past or future are accepted.",
            timestamp_window
        ),
        case!(
            "rest-api/auth/stale-timestamp",
            SECTION,
            Must,
            "A timestamp 601 s in the past is refused with 401.",
            stale_timestamp,
            security
        ),
        case!(
            "rest-api/auth/future-timestamp",
            SECTION,
            Must,
            "A timestamp 601 s in the future is refused with 401.",
            future_timestamp,
            security
        ),
        case!(
            "rest-api/auth/boundary-600",
            SECTION,
            Should,
            "A timestamp exactly 600 s old is refused (the signature gem rejects >= 600).",
            boundary_600,
            security
        ),
        case!(
            "rest-api/auth/replay",
            SECTION,
            Must,
            "A captured signed request replayed after the timestamp window is refused with 401.",
            replay,
            slow,
            security
        ),
        case!(
            "rest-api/auth/version",
            SECTION,
            Should,
            "auth_version=2.0 is refused with 401.",
            version,
            security
        ),
        case!(
            "rest-api/auth/param-case",
            SECTION,
            Should,
            "An upper-case query key, signed lower-cased, is accepted.",
            param_case
        ),
        case!(
            "rest-api/auth/unknown-key",
            SECTION,
            Must,
            "A request with an unknown auth_key is refused with 401.",
            unknown_key,
            security
        ),
        case!(
            "rest-api/auth/other-app-key",
            SECTION,
            Must,
            "A request for this app signed with another app's key and secret is refused.",
            other_app_key,
            security
        ),
        case!(
            "rest-api/auth/get-empty-body-md5",
            SECTION,
            Must,
            "A GET carrying body_md5 of the empty body (as SDKs send) is accepted.",
            get_empty_body_md5
        ),
    ]
}

fn event_body(ctx: &Ctx) -> serde_json::Value {
    json!({"name": "ev", "channels": [format!("pc-{}", ctx.random_suffix())], "data": "{}"})
}

fn event(ctx: &Ctx, rest: &RestClient) -> RestRequest {
    rest.request("POST", "/events").json(&event_body(ctx))
}

async fn status_of(ctx: &Ctx, req: RestRequest, status: u16, what: &str) -> Outcome {
    let resp = ctx.rest().send(&req).await?;
    expect_status(&resp, status, what)
}

async fn valid(ctx: Ctx) -> Outcome {
    let rest = ctx.rest();
    let resp = rest.send(&event(&ctx, &rest)).await?;
    expect_status(&resp, 200, "a valid signed publish")?;
    if resp.json().is_some_and(|j| j.is_object()) {
        Ok(())
    } else {
        Err(Failure::violation("a JSON object body", resp.describe()))
    }
}

async fn bad_signature(ctx: Ctx) -> Outcome {
    status_of(
        &ctx,
        event(&ctx, &ctx.rest()).with_broken_signature(),
        401,
        "a broken signature",
    )
    .await
}

async fn wrong_secret(ctx: Ctx) -> Outcome {
    status_of(
        &ctx,
        event(&ctx, &ctx.rest()).with_secret("not-the-secret"),
        401,
        "a wrong secret",
    )
    .await
}

async fn body_md5(ctx: Ctx) -> Outcome {
    let tampered = json!({"name": "evil", "channels": ["x"], "data": "{}"}).to_string();
    status_of(
        &ctx,
        event(&ctx, &ctx.rest()).with_sent_body(tampered.as_bytes()),
        401,
        "a tampered body",
    )
    .await
}

async fn missing_body_md5(ctx: Ctx) -> Outcome {
    let body = event_body(&ctx).to_string();
    let req = ctx
        .rest()
        .request("POST", "/events")
        .with_sent_body(body.as_bytes());
    status_of(&ctx, req, 401, "a body without body_md5").await
}

async fn timestamp_window(ctx: Ctx) -> Outcome {
    for offset in [-599, 599] {
        align_to_second().await;
        // Whole-second timestamps: a second boundary between signing and the
        // server's check turns 599 into 600, so up to three tries are allowed.
        let mut accepted = false;
        for _ in 0..2 {
            let req = event(&ctx, &ctx.rest()).with_timestamp_offset(offset);
            accepted |= ctx.rest().send(&req).await?.status == 200;
        }
        if !accepted {
            status_of(
                &ctx,
                event(&ctx, &ctx.rest()).with_timestamp_offset(offset),
                200,
                "a timestamp within 600 s",
            )
            .await?;
        }
    }
    Ok(())
}

async fn stale_timestamp(ctx: Ctx) -> Outcome {
    status_of(
        &ctx,
        event(&ctx, &ctx.rest()).with_timestamp_offset(-601),
        401,
        "a timestamp 601 s old",
    )
    .await
}

/// Waits for the start of the next wall-clock second. Aligning to the clock
/// is the point, not a synchronisation: with whole-second timestamps the
/// server's view of a +-599/601 s offset depends on where in the second the
/// request is signed, and a request signed late in a second under load
/// crosses into the next one.
async fn align_to_second() {
    let into_second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .subsec_nanos();
    tokio::time::sleep(Duration::from_nanos(u64::from(1_000_000_000 - into_second))).await;
}

/// A future timestamp is seen 1 s nearer when signing and checking straddle a
/// second boundary, so the request is signed at the start of a wall-clock
/// second (then it has a whole second to arrive), with one retry.
async fn refused_twice(ctx: &Ctx, offset: i64, what: &str) -> Outcome {
    align_to_second().await;
    let first = ctx
        .rest()
        .send(&event(ctx, &ctx.rest()).with_timestamp_offset(offset))
        .await?;
    if first.status == 401 {
        return Ok(());
    }
    status_of(
        ctx,
        event(ctx, &ctx.rest()).with_timestamp_offset(offset),
        401,
        what,
    )
    .await
}

async fn future_timestamp(ctx: Ctx) -> Outcome {
    refused_twice(&ctx, 601, "a timestamp 601 s ahead").await
}

async fn boundary_600(ctx: Ctx) -> Outcome {
    align_to_second().await;
    status_of(
        &ctx,
        event(&ctx, &ctx.rest()).with_timestamp_offset(-600),
        401,
        "a timestamp exactly 600 s old",
    )
    .await
}

async fn replay(ctx: Ctx) -> Outcome {
    let (slow, setup) = ctx.slow()?;
    let rest = slow.rest();
    let captured = event(&slow, &rest).prepare(&slow.target().rest_base);
    expect_status(
        &rest.send_prepared(&captured).await?,
        200,
        "the original request",
    )?;
    // The requirement is about the passage of time itself: no event exists to
    // wait for, the window has to elapse.
    tokio::time::sleep(setup.timestamp_window + Duration::from_millis(1100)).await;
    expect_status(
        &rest.send_prepared(&captured).await?,
        401,
        "the same request replayed after the window",
    )
}

async fn version(ctx: Ctx) -> Outcome {
    status_of(
        &ctx,
        event(&ctx, &ctx.rest()).with_auth_version("2.0"),
        401,
        "auth_version=2.0",
    )
    .await
}

async fn param_case(ctx: Ctx) -> Outcome {
    let req = ctx
        .rest()
        .request("GET", "/channels")
        .query("FILTER_BY_PREFIX", "pc-");
    status_of(&ctx, req, 200, "an upper-case query key signed lower-cased").await
}

async fn unknown_key(ctx: Ctx) -> Outcome {
    status_of(
        &ctx,
        event(&ctx, &ctx.rest()).with_key("no-such-key"),
        401,
        "an unknown auth_key",
    )
    .await
}

async fn other_app_key(ctx: Ctx) -> Outcome {
    let other = ctx.app("other")?.clone();
    let req = event(&ctx, &ctx.rest())
        .with_key(&other.key)
        .with_secret(&other.secret);
    let resp = ctx.rest().send(&req).await?;
    if matches!(resp.status, 401 | 403 | 404) {
        Ok(())
    } else {
        Err(Failure::violation(
            "401 for another app's key",
            resp.describe(),
        ))
    }
}

async fn get_empty_body_md5(ctx: Ctx) -> Outcome {
    status_of(
        &ctx,
        ctx.rest().request("GET", "/channels").with_empty_body_md5(),
        200,
        "GET with body_md5 of the empty body",
    )
    .await
}
