//! Spec 5.5, what a REST signature binds: the method, the path, every query
//! parameter and (through `body_md5`) the body; and every `auth_*`
//! parameter is required.

use serde_json::json;

use super::{case, expect_status};
use crate::client::RestRequest;
use crate::conformance::{Case, Ctx, Doc, Outcome, SpecRef};

const SECTION: SpecRef = SpecRef {
    doc: Doc::RestApi,
    slug: "auth",
    section: "5.5 REST request signing",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "rest-api/auth/appended-param",
            SECTION,
            Must,
            "A query parameter appended after signing is refused with 401.",
            appended_param,
            security
        ),
        case!(
            "rest-api/auth/changed-param",
            SECTION,
            Must,
            "A signed query parameter changed after signing is refused with 401.",
            changed_param,
            security
        ),
        case!(
            "rest-api/auth/body-swapped",
            SECTION,
            Must,
            "Another body sent with its own correct body_md5 under the original signature is refused with 401.",
            body_swapped,
            security
        ),
        case!(
            "rest-api/auth/method-bound",
            SECTION,
            Must,
            "A request signed for GET and sent as POST is refused with 401.",
            method_bound,
            security
        ),
        case!(
            "rest-api/auth/path-bound",
            SECTION,
            Must,
            "A request signed for one path and sent to another is refused with 401.",
            path_bound,
            security
        ),
        case!(
            "rest-api/auth/missing-auth-key",
            SECTION,
            Must,
            "A request without auth_key is refused with 401.",
            missing_key,
            security
        ),
        case!(
            "rest-api/auth/missing-auth-timestamp",
            SECTION,
            Must,
            "A request without auth_timestamp is refused with 401.",
            missing_timestamp,
            security
        ),
        case!(
            "rest-api/auth/missing-auth-version",
            SECTION,
            Should,
            "A request without auth_version is refused with 401.",
            missing_version
        ),
        case!(
            "rest-api/auth/missing-auth-signature",
            SECTION,
            Must,
            "A request without auth_signature is refused with 401.",
            missing_signature,
            security
        ),
    ]
}

fn publish(ctx: &Ctx) -> RestRequest {
    let body =
        json!({"name": "ev", "channels": [format!("pc-{}", ctx.random_suffix())], "data": "{}"});
    ctx.rest().request("POST", "/events").json(&body)
}

fn channels(ctx: &Ctx) -> RestRequest {
    ctx.rest()
        .request("GET", "/channels")
        .query("filter_by_prefix", "pc-")
}

async fn unauthorized(ctx: &Ctx, req: RestRequest, what: &str) -> Outcome {
    let resp = ctx.rest().send(&req).await?;
    expect_status(&resp, 401, what)
}

async fn appended_param(ctx: Ctx) -> Outcome {
    let req = ctx
        .rest()
        .request("GET", "/channels")
        .with_unsigned_query("filter_by_prefix", "presence-");
    unauthorized(&ctx, req, "filter_by_prefix appended after signing").await
}

async fn changed_param(ctx: Ctx) -> Outcome {
    let req = channels(&ctx).with_changed_param("filter_by_prefix", "presence-");
    unauthorized(&ctx, req, "filter_by_prefix changed after signing").await
}

async fn body_swapped(ctx: Ctx) -> Outcome {
    let other = json!({"name": "evil", "channels": ["pc-evil"], "data": "{}"}).to_string();
    let req = publish(&ctx).with_swapped_body(other.as_bytes());
    unauthorized(&ctx, req, "a swapped body with a matching body_md5").await
}

async fn method_bound(ctx: Ctx) -> Outcome {
    let req = ctx
        .rest()
        .request("GET", "/batch_events")
        .json(&json!({"batch": []}))
        .sent_as("POST");
    unauthorized(&ctx, req, "a GET signature on a POST").await
}

async fn path_bound(ctx: Ctx) -> Outcome {
    let req = channels(&ctx).sent_to(&format!("/channels/pc-{}", ctx.random_suffix()));
    unauthorized(
        &ctx,
        req,
        "a signature for /channels sent to /channels/<name>",
    )
    .await
}

async fn missing_key(ctx: Ctx) -> Outcome {
    unauthorized(
        &ctx,
        channels(&ctx).without_param("auth_key"),
        "no auth_key",
    )
    .await
}

async fn missing_timestamp(ctx: Ctx) -> Outcome {
    let req = channels(&ctx).without_param("auth_timestamp");
    unauthorized(&ctx, req, "no auth_timestamp").await
}

async fn missing_version(ctx: Ctx) -> Outcome {
    let req = channels(&ctx).without_param("auth_version");
    unauthorized(&ctx, req, "no auth_version").await
}

async fn missing_signature(ctx: Ctx) -> Outcome {
    let req = channels(&ctx).without_param("auth_signature");
    unauthorized(&ctx, req, "no auth_signature").await
}
