//! Spec 5.2, "Channel authorization strings": the forgery and replay family.
//! Every forged authorization must be refused, and the forger must receive
//! nothing on the channel (spec 4.5, the security property).

use std::sync::Arc;

use super::{case, expect_forgery_refused, expect_refused, member};
use crate::conformance::{Case, Ctx, Doc, Failure, HarnessError, Outcome, SpecRef};
use crate::signing::{Secret, channel_auth};
use crate::wire::ChannelKind;

const SECTION: SpecRef = SpecRef {
    doc: Doc::AuthSignatures,
    slug: "forgery",
    section: "5.2 Channel authorization strings",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "auth-signatures/forgery/presence-missing-auth",
            SECTION,
            Must,
            "A presence subscribe without auth is refused.",
            presence_missing_auth,
            security
        ),
        case!(
            "auth-signatures/forgery/wrong-secret",
            SECTION,
            Must,
            "A private auth signed with another secret is refused.",
            wrong_secret,
            security
        ),
        case!(
            "auth-signatures/forgery/presence-wrong-secret",
            SECTION,
            Must,
            "A presence auth signed with another secret is refused.",
            presence_wrong_secret,
            security
        ),
        case!(
            "auth-signatures/forgery/replay-other-connection",
            SECTION,
            Must,
            "An auth captured on one connection is refused on another.",
            replay_other_connection,
            security
        ),
        case!(
            "auth-signatures/forgery/replay-after-reconnect",
            SECTION,
            Must,
            "An auth captured before a reconnect is refused after it.",
            replay_after_reconnect,
            security
        ),
        case!(
            "auth-signatures/forgery/presence-user-id-changed",
            SECTION,
            Must,
            "Presence channel_data with another user_id than signed is refused.",
            presence_user_id_changed,
            security
        ),
        case!(
            "auth-signatures/forgery/presence-whitespace-changed",
            SECTION,
            Must,
            "Presence channel_data with whitespace added after signing is refused.",
            presence_whitespace_changed,
            security
        ),
        case!(
            "auth-signatures/forgery/presence-key-order-changed",
            SECTION,
            Must,
            "Presence channel_data with keys reordered after signing is refused.",
            presence_key_order_changed,
            security
        ),
        case!(
            "auth-signatures/forgery/malformed-no-colon",
            SECTION,
            Must,
            "An auth without a colon is refused.",
            malformed_no_colon,
            security
        ),
        case!(
            "auth-signatures/forgery/malformed-truncated",
            SECTION,
            Must,
            "An auth with a truncated signature is refused.",
            malformed_truncated,
            security
        ),
        case!(
            "auth-signatures/forgery/malformed-non-hex",
            SECTION,
            Must,
            "An auth whose signature is not hex is refused.",
            malformed_non_hex,
            security
        ),
        case!(
            "auth-signatures/forgery/malformed-uppercase-hex",
            SECTION,
            Should,
            "An auth with the signature in upper-case hex is refused (signatures are lowercase hex).",
            malformed_uppercase_hex,
            security
        ),
        case!(
            "auth-signatures/forgery/malformed-empty",
            SECTION,
            Must,
            "An empty auth on a private channel is refused.",
            malformed_empty,
            security
        ),
        case!(
            "auth-signatures/forgery/encrypted-forged",
            SECTION,
            Must,
            "A private-encrypted- subscribe with a forged auth is refused.",
            encrypted_forged,
            security
        ),
        case!(
            "auth-signatures/forgery/private-cache-forged",
            SECTION,
            Must,
            "A private-cache- subscribe with a forged auth is refused.",
            private_cache_forged,
            security
        ),
        case!(
            "auth-signatures/forgery/presence-cache-forged",
            SECTION,
            Must,
            "A presence-cache- subscribe with a forged auth is refused.",
            presence_cache_forged,
            security
        ),
        case!(
            "auth-signatures/forgery/encrypted-cache-forged",
            SECTION,
            Must,
            "A private-encrypted-cache- subscribe with a forged auth is refused.",
            encrypted_cache_forged,
            security
        ),
        case!(
            "auth-signatures/forgery/other-app-secret",
            SECTION,
            Must,
            "An auth signed by another app on the same server is refused.",
            other_app_secret,
            security
        ),
    ]
}

/// Connects, builds an auth with `make(socket_id)` and expects refusal.
async fn refused_with(
    ctx: &Ctx,
    kind: ChannelKind,
    data: Option<&str>,
    make: impl Fn(&str, &str) -> String,
) -> Outcome {
    let channel = ctx.unique_channel(kind);
    let mut c = ctx.connect().await?;
    let auth = make(c.socket_id(), &channel);
    c.send_subscribe(&channel, Some(&auth), data).await?;
    expect_refused(ctx, &mut c, &channel).await?;
    super::expect_no_leak(ctx, &mut c, &channel).await
}

fn signed_by(ctx: &Ctx, secret: &str, data: Option<&str>) -> impl Fn(&str, &str) -> String {
    let key = ctx.target().credentials.key.clone();
    let (secret, data) = (Secret::new(secret), data.map(str::to_owned));
    move |socket, channel| channel_auth(&key, &secret, socket, channel, data.as_deref())
}

fn good(ctx: &Ctx, data: Option<&str>) -> impl Fn(&str, &str) -> String {
    let c = ctx.target().credentials.clone();
    let data = data.map(str::to_owned);
    move |socket, channel| channel_auth(&c.key, &c.secret, socket, channel, data.as_deref())
}

async fn presence_missing_auth(ctx: Ctx) -> Outcome {
    expect_forgery_refused(
        &ctx,
        &ctx.unique_channel(ChannelKind::Presence),
        None,
        Some(&member("m")),
    )
    .await
}

async fn wrong_secret(ctx: Ctx) -> Outcome {
    refused_with(
        &ctx,
        ChannelKind::Private,
        None,
        signed_by(&ctx, "not-the-secret", None),
    )
    .await
}

async fn presence_wrong_secret(ctx: Ctx) -> Outcome {
    let data = member("m");
    refused_with(
        &ctx,
        ChannelKind::Presence,
        Some(&data),
        signed_by(&ctx, "not-the-secret", Some(&data)),
    )
    .await
}

async fn replay_other_connection(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Private);
    let mut victim = ctx.connect().await?;
    victim.subscribe(&channel).await?;
    let captured = victim.auth_for(&channel, None);
    expect_forgery_refused(&ctx, &channel, Some(&captured), None).await
}

async fn replay_after_reconnect(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Private);
    let mut first = ctx.connect().await?;
    first.subscribe(&channel).await?;
    let captured = first.auth_for(&channel, None);
    first.close().await;
    expect_forgery_refused(&ctx, &channel, Some(&captured), None).await
}

async fn presence_user_id_changed(ctx: Ctx) -> Outcome {
    let sent = member("mallory");
    refused_with(
        &ctx,
        ChannelKind::Presence,
        Some(&sent),
        good(&ctx, Some(&member("alice"))),
    )
    .await
}

async fn presence_whitespace_changed(ctx: Ctx) -> Outcome {
    let signed = member("alice");
    let sent = signed.replacen(':', ": ", 1);
    refused_with(
        &ctx,
        ChannelKind::Presence,
        Some(&sent),
        good(&ctx, Some(&signed)),
    )
    .await
}

async fn presence_key_order_changed(ctx: Ctx) -> Outcome {
    let signed = r#"{"user_id":"alice","user_info":{"name":"alice"}}"#;
    let sent = r#"{"user_info":{"name":"alice"},"user_id":"alice"}"#;
    refused_with(
        &ctx,
        ChannelKind::Presence,
        Some(sent),
        good(&ctx, Some(signed)),
    )
    .await
}

async fn malformed(ctx: &Ctx, mangle: fn(&str) -> String) -> Outcome {
    let g = good(ctx, None);
    refused_with(ctx, ChannelKind::Private, None, move |s, c| {
        mangle(&g(s, c))
    })
    .await
}

async fn malformed_no_colon(ctx: Ctx) -> Outcome {
    malformed(&ctx, |a| a.replacen(':', "", 1)).await
}

async fn malformed_truncated(ctx: Ctx) -> Outcome {
    malformed(&ctx, |a| a[..a.len() - 2].to_owned()).await
}

async fn malformed_non_hex(ctx: Ctx) -> Outcome {
    malformed(&ctx, |a| format!("{}zz", &a[..a.len() - 2])).await
}

async fn malformed_uppercase_hex(ctx: Ctx) -> Outcome {
    malformed(&ctx, |a| {
        let (key, sig) = a.split_once(':').unwrap_or((a, ""));
        format!("{key}:{}", sig.to_uppercase())
    })
    .await
}

async fn malformed_empty(ctx: Ctx) -> Outcome {
    malformed(&ctx, |_| String::new()).await
}

async fn kind_forged(ctx: &Ctx, kind: ChannelKind, feature: bool) -> Outcome {
    ctx.require(feature, "n/a: the profile disables this channel kind")?;
    let data = kind.is_presence().then(|| member("m"));
    control_accepted(ctx, kind, data.as_deref()).await?;
    refused_with(
        ctx,
        kind,
        data.as_deref(),
        signed_by(ctx, "forged-secret", data.as_deref()),
    )
    .await
}

/// A refusal of a forged auth proves something only if the same kind of
/// channel, correctly signed, is accepted: a target that refuses every
/// subscription of a kind makes the forgery case inconclusive (an error),
/// not a pass.
async fn control_accepted(ctx: &Ctx, kind: ChannelKind, data: Option<&str>) -> Outcome {
    let channel = ctx.unique_channel(kind);
    let mut c = ctx.connect().await?;
    let auth = good(ctx, data)(c.socket_id(), &channel);
    c.send_subscribe(&channel, Some(&auth), data).await?;
    c.expect_subscribed(&channel)
        .await
        .map(drop)
        .map_err(|e| match Failure::from(e) {
            Failure::Violation { expected, actual } => Failure::Harness(HarnessError::Setup {
                step: "correctly signed control subscription",
                expected,
                actual,
            }),
            other => other,
        })
}

async fn encrypted_forged(ctx: Ctx) -> Outcome {
    kind_forged(
        &ctx,
        ChannelKind::Encrypted,
        ctx.target().profile.features.encrypted_channels,
    )
    .await
}

async fn private_cache_forged(ctx: Ctx) -> Outcome {
    kind_forged(
        &ctx,
        ChannelKind::PrivateCache,
        ctx.target().profile.features.cache_channels,
    )
    .await
}

async fn presence_cache_forged(ctx: Ctx) -> Outcome {
    kind_forged(
        &ctx,
        ChannelKind::PresenceCache,
        ctx.target().profile.features.cache_channels,
    )
    .await
}

async fn encrypted_cache_forged(ctx: Ctx) -> Outcome {
    let f = &ctx.target().profile.features;
    kind_forged(
        &ctx,
        ChannelKind::EncryptedCache,
        f.cache_channels && f.encrypted_channels,
    )
    .await
}

async fn other_app_secret(ctx: Ctx) -> Outcome {
    let other = ctx.app("other")?.credentials();
    let key = ctx.target().credentials.key.clone();
    let other = Arc::new(other);
    refused_with(&ctx, ChannelKind::Private, None, move |s, c| {
        let sig = channel_auth(&other.key, &other.secret, s, c, None);
        format!("{key}:{}", sig.split_once(':').map_or("", |(_, h)| h))
    })
    .await
}
