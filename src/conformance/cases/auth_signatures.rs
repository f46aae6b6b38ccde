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
            bad_signature,
            security
        ),
        case!(
            "auth-signatures/signin/other-socket",
            SIGNIN,
            Must,
            "A sign-in signed correctly but for another socket id is refused.",
            other_socket,
            security
        ),
        case!(
            "auth-signatures/signin/tampered-user-data",
            SIGNIN,
            Must,
            "A sign-in whose user_data differs from what was signed is refused.",
            tampered_user_data,
            security
        ),
        case!(
            "auth-signatures/signin/missing-id",
            SIGNIN,
            Must,
            "A sign-in whose user_data has no id is refused.",
            missing_id,
            security
        ),
        // Spec 5.3 constrains the app's signer, not the server: a Should.
        case!(
            "auth-signatures/signin/empty-id",
            SIGNIN,
            Should,
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
    expect_signin_refused(ctx, &mut c).await
}

/// A `pusher:error` answers the sign-in, and (by sentinel) no
/// `signin_success` follows.
async fn expect_signin_refused(ctx: &Ctx, c: &mut crate::client::ProtocolClient) -> Outcome {
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
    expect_none(ctx, c, Path::Connection, "pusher:signin_success", |e| {
        e.event() == "pusher:signin_success"
    })
    .await?;
    Ok(())
}

async fn bad_signature(ctx: Ctx) -> Outcome {
    let key = ctx.target().credentials.key.clone();
    refused_signin_with(&ctx, r#"{"id":"x"}"#, move |socket, data| {
        signin_auth(&key, &Secret::new("forged"), socket, data)
    })
    .await
}

/// A sign-in whose auth is `make(socket_id, sent user_data)`; it must be refused.
async fn refused_signin_with(
    ctx: &Ctx,
    user_data: &str,
    make: impl Fn(&str, &str) -> String,
) -> Outcome {
    enabled(ctx)?;
    let mut c = ctx.connect().await?;
    let auth = make(c.socket_id(), user_data);
    c.send_signin_raw(&auth, user_data).await?;
    expect_signin_refused(ctx, &mut c).await
}

async fn other_socket(ctx: Ctx) -> Outcome {
    let creds = ctx.target().credentials.clone();
    refused_signin_with(&ctx, r#"{"id":"x"}"#, move |socket, data| {
        let other = format!("{socket}1");
        signin_auth(&creds.key, &creds.secret, &other, data)
    })
    .await
}

async fn tampered_user_data(ctx: Ctx) -> Outcome {
    let creds = ctx.target().credentials.clone();
    refused_signin_with(&ctx, r#"{"id":"mallory"}"#, move |socket, _| {
        signin_auth(&creds.key, &creds.secret, socket, r#"{"id":"alice"}"#)
    })
    .await
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
