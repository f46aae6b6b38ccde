//! Spec 5.3-5.4, "User authentication (sign-in)" and "Encrypted channels".

use serde_json::json;

use super::{Path, case, expect_none, publish};
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::signing::{Secret, signin_auth};
use crate::wire::ChannelKind;

const SIGNIN: SpecRef = SpecRef {
    doc: Doc::AuthSignatures,
    slug: "signin",
    section: "5.3 User authentication (sign-in)",
};
const ENCRYPTED: SpecRef = SpecRef {
    doc: Doc::AuthSignatures,
    slug: "encrypted",
    section: "5.4 Encrypted channels",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "auth-signatures/signin/valid",
            SIGNIN,
            Must,
            "A correctly signed pusher:signin gets pusher:signin_success echoing user_data.",
            valid
        ),
        case!(
            "auth-signatures/signin/bad-signature",
            SIGNIN,
            Must,
            "A sign-in with a wrong signature gets pusher:error and no signin_success.",
            bad_signature
        ),
        case!(
            "auth-signatures/signin/missing-id",
            SIGNIN,
            Must,
            "A sign-in whose user_data has no id is refused.",
            missing_id
        ),
        case!(
            "auth-signatures/signin/empty-id",
            SIGNIN,
            Must,
            "A sign-in whose user_data has an empty id is refused.",
            empty_id
        ),
        case!(
            "auth-signatures/signin/then-s2u",
            SIGNIN,
            Must,
            "After sign-in, #server-to-user-<id> can be subscribed.",
            then_s2u
        ),
        case!(
            "auth-signatures/encrypted/relay",
            ENCRYPTED,
            Must,
            "Events on private-encrypted- channels are relayed byte-identical.",
            relay
        ),
    ]
}

fn enabled(ctx: &Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.user_authentication,
        "n/a: user authentication disabled",
    )
}

async fn valid(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let mut c = ctx.connect().await?;
    let user_data = r#"{"id":"12345"}"#;
    let ok = c.signin(user_data).await?;
    let echoed = ok.data_decoded().and_then(|d| d.get("user_data").cloned());
    if echoed == Some(json!(user_data)) {
        Ok(())
    } else {
        Err(Failure::violation(
            "signin_success echoing user_data",
            ok.encode(),
        ))
    }
}

async fn refused_signin(ctx: &Ctx, auth: Option<String>, user_data: &str) -> Outcome {
    enabled(ctx)?;
    let mut c = ctx.connect().await?;
    let creds = &ctx.target().credentials;
    let auth =
        auth.unwrap_or_else(|| signin_auth(&creds.key, &creds.secret, c.socket_id(), user_data));
    c.send_signin_raw(&auth, user_data).await?;
    let e = c
        .expect_frame("pusher:error for the sign-in", |e| {
            e.event() == "pusher:error" || e.event() == "pusher:signin_success"
        })
        .await?;
    if e.event() == "pusher:signin_success" {
        return Err(Failure::violation(
            "pusher:error for the sign-in",
            e.encode(),
        ));
    }
    expect_none(
        ctx,
        &mut c,
        Path::Connection,
        "pusher:signin_success",
        |e| e.event() == "pusher:signin_success",
    )
    .await?;
    Ok(())
}

async fn bad_signature(ctx: Ctx) -> Outcome {
    let forged = signin_auth(
        &ctx.target().credentials.key,
        &Secret::new("forged"),
        "1.1",
        r#"{"id":"x"}"#,
    );
    refused_signin(&ctx, Some(forged), r#"{"id":"x"}"#).await
}

async fn missing_id(ctx: Ctx) -> Outcome {
    refused_signin(&ctx, None, r#"{"user_info":{}}"#).await
}

async fn empty_id(ctx: Ctx) -> Outcome {
    refused_signin(&ctx, None, r#"{"id":""}"#).await
}

async fn then_s2u(ctx: Ctx) -> Outcome {
    enabled(&ctx)?;
    let id = format!("u{}", ctx.random_suffix());
    let mut c = ctx.connect().await?;
    c.signin(&json!({"id": id}).to_string()).await?;
    c.subscribe(&format!("#server-to-user-{id}")).await?;
    Ok(())
}

async fn relay(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.encrypted_channels,
        "n/a: encrypted channels disabled",
    )?;
    let channel = ctx.unique_channel(ChannelKind::Encrypted);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    let data = r#"{"nonce":"WEFKSTBZNkRQQkhTQUhYVEhWM0EzWk1G","ciphertext":"tsYJa2JgGDOpVIYFe4aNVWAvZlpB7z7CjN9mpIdbATE0Yc4izN8aM8D6VigBxnIQ"}"#;
    publish(&ctx, &channel, "secret", data).await?;
    let e = c.expect_event(&channel, "secret").await?;
    if e.data() == Some(&json!(data)) {
        Ok(())
    } else {
        Err(Failure::violation(
            format!("data {data:?} byte-identical"),
            e.encode(),
        ))
    }
}
