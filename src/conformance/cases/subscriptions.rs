//! Spec 4, "Subscriptions and channels": kinds, names, subscribe, failure, unsubscribe.

use serde_json::{Value, json};

use super::{
    Path, case, expect_forgery_refused, expect_no_event, expect_no_leak, expect_none, expect_open,
    expect_refused, member, publish,
};
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::wire::ChannelKind;

const SECTION: SpecRef = SpecRef {
    doc: Doc::Protocol,
    slug: "subscriptions",
    section: "4. Subscriptions and channels",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "protocol/subscriptions/public",
            SECTION,
            Must,
            "A public subscribe with auth \"\" succeeds with data \"{}\".",
            public
        ),
        case!(
            "protocol/subscriptions/public-without-auth",
            SECTION,
            Must,
            "A public subscribe without an auth field succeeds.",
            public_without_auth
        ),
        case!(
            "protocol/subscriptions/private-valid",
            SECTION,
            Must,
            "A correctly signed private subscription succeeds.",
            private_valid
        ),
        case!(
            "protocol/subscriptions/private-missing-auth",
            SECTION,
            Must,
            "A private subscribe without auth is refused and gets no events.",
            private_missing_auth,
            security
        ),
        case!(
            "protocol/subscriptions/private-wrong-key",
            SECTION,
            Should,
            "An auth whose key part is not the app key is refused.",
            private_wrong_key,
            security
        ),
        case!(
            "protocol/subscriptions/private-other-socket",
            SECTION,
            Must,
            "A signature made for another socket id is refused.",
            private_other_socket,
            security
        ),
        case!(
            "protocol/subscriptions/private-other-channel",
            SECTION,
            Must,
            "A signature made for another channel is refused.",
            private_other_channel,
            security
        ),
        case!(
            "protocol/subscriptions/presence-altered-data",
            SECTION,
            Must,
            "Presence channel_data changed after signing is refused.",
            presence_altered_data,
            security
        ),
        case!(
            "protocol/subscriptions/error-not-fatal",
            SECTION,
            Must,
            "After a refused subscription the connection still works.",
            error_not_fatal
        ),
        case!(
            "protocol/subscriptions/no-leak-after-failure",
            SECTION,
            Must,
            "A refused subscriber receives no events and does not occupy the channel.",
            no_leak_after_failure,
            security
        ),
        case!(
            "protocol/subscriptions/duplicate",
            SECTION,
            Should,
            "A second subscribe to the same channel gets pusher:error and events still arrive once.",
            duplicate
        ),
        case!(
            "protocol/subscriptions/unsubscribe",
            SECTION,
            Must,
            "After pusher:unsubscribe no further events arrive.",
            unsubscribe,
            security
        ),
        case!(
            "protocol/subscriptions/unsubscribe-unknown",
            SECTION,
            Should,
            "Unsubscribing a channel never subscribed does not break the connection.",
            unsubscribe_unknown
        ),
        case!(
            "protocol/subscriptions/name-charset",
            SECTION,
            Must,
            "Names with every allowed punctuation work; names with space, / or * are refused.",
            name_charset
        ),
        case!(
            "protocol/subscriptions/name-length",
            SECTION,
            Should,
            "Names of 164 and 200 characters are accepted, 201 refused.",
            name_length
        ),
        case!(
            "protocol/subscriptions/cache-variants-need-auth",
            SECTION,
            Must,
            "Cache variants of private, presence and encrypted channels refuse wrong signatures; presence-cache gives a roster.",
            cache_variants_need_auth,
            security
        ),
        case!(
            "protocol/subscriptions/prefix-anchored",
            SECTION,
            Must,
            "Kinds are decided by anchored prefixes: my-private-x is public, my-cache-x is not cached.",
            prefix_anchored,
            security
        ),
        case!(
            "protocol/subscriptions/hash-reserved",
            SECTION,
            Should,
            "#foo and #server-to-user-<someone else> are refused.",
            hash_reserved,
            security
        ),
    ]
}

async fn public(ctx: Ctx) -> Outcome {
    let mut c = ctx.connect().await?;
    let ok = c
        .subscribe(&ctx.unique_channel(ChannelKind::Public))
        .await?;
    if ok.data() == Some(&json!("{}")) {
        Ok(())
    } else {
        Err(Failure::violation(
            "subscription_succeeded with data \"{}\"",
            ok.encode(),
        ))
    }
}

async fn public_without_auth(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Public);
    let mut c = ctx.connect().await?;
    c.send_subscribe(&channel, None, None).await?;
    c.expect_subscribed(&channel).await?;
    Ok(())
}

async fn private_valid(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Private);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    publish(&ctx, &channel, "ev", "{}").await?;
    c.expect_event(&channel, "ev").await?;
    Ok(())
}

async fn private_missing_auth(ctx: Ctx) -> Outcome {
    expect_forgery_refused(&ctx, &ctx.unique_channel(ChannelKind::Private), None, None).await
}

async fn private_wrong_key(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Private);
    let mut c = ctx.connect().await?;
    let auth = c.auth_for(&channel, None);
    let sig = auth.split_once(':').map_or("", |(_, s)| s);
    c.send_subscribe(&channel, Some(&format!("wrongkey:{sig}")), None)
        .await?;
    expect_refused(&ctx, &mut c, &channel).await?;
    Ok(())
}

async fn private_other_socket(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Private);
    let c = &ctx.target().credentials;
    let auth = crate::signing::channel_auth(&c.key, &c.secret, "1234.1234", &channel, None);
    expect_forgery_refused(&ctx, &channel, Some(&auth), None).await
}

async fn private_other_channel(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Private);
    let mut c = ctx.connect().await?;
    let auth = c.auth_for(&ctx.unique_channel(ChannelKind::Private), None);
    c.send_subscribe(&channel, Some(&auth), None).await?;
    expect_refused(&ctx, &mut c, &channel).await?;
    Ok(())
}

async fn presence_altered_data(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut c = ctx.connect().await?;
    let signed = member("alice");
    let auth = c.auth_for(&channel, Some(&signed));
    c.send_subscribe(&channel, Some(&auth), Some(&format!(" {signed}")))
        .await?;
    expect_refused(&ctx, &mut c, &channel).await?;
    Ok(())
}

async fn error_not_fatal(ctx: Ctx) -> Outcome {
    let mut c = ctx.connect().await?;
    c.send_subscribe(&ctx.unique_channel(ChannelKind::Private), Some("x:y"), None)
        .await?;
    c.expect_error().await?;
    c.subscribe(&ctx.unique_channel(ChannelKind::Private))
        .await?;
    Ok(())
}

async fn no_leak_after_failure(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Private);
    let mut c = ctx.connect().await?;
    c.send_subscribe(
        &channel,
        Some(&format!(
            "{}:{}",
            ctx.target().credentials.key,
            "0".repeat(64)
        )),
        None,
    )
    .await?;
    c.expect_error().await?;
    let info = ctx
        .rest()
        .send(&ctx.rest().request("GET", &format!("/channels/{channel}")))
        .await?;
    if info.json().and_then(|j| j.get("occupied").cloned()) != Some(Value::Bool(false)) {
        return Err(Failure::violation(
            "{\"occupied\":false} for a channel with only a refused subscriber",
            info.describe(),
        ));
    }
    expect_no_leak(&ctx, &mut c, &channel).await
}

async fn duplicate(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Public);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    c.send_subscribe(&channel, Some(""), None).await?;
    c.expect_error().await?;
    publish(&ctx, &channel, "once", "{}").await?;
    c.expect_event(&channel, "once").await?;
    expect_no_event(&ctx, &mut c, &channel, "once").await
}

async fn unsubscribe(ctx: Ctx) -> Outcome {
    let channel = ctx.unique_channel(ChannelKind::Public);
    let mut c = ctx.connect().await?;
    c.subscribe(&channel).await?;
    c.unsubscribe(&channel).await?;
    // The connection sentinel's subscribe is read after the unsubscribe.
    expect_open(&ctx, &mut c).await?;
    publish(&ctx, &channel, "after", "{}").await?;
    let what = format!("events on {channel} after pusher:unsubscribe");
    expect_none(&ctx, &mut c, Path::Connection, &what, |e| {
        e.channel() == Some(channel.as_str())
    })
    .await
    .map(drop)
}

async fn unsubscribe_unknown(ctx: Ctx) -> Outcome {
    let mut c = ctx.connect().await?;
    c.unsubscribe(&ctx.unique_channel(ChannelKind::Public))
        .await?;
    expect_open(&ctx, &mut c).await?;
    Ok(())
}

async fn name_charset(ctx: Ctx) -> Outcome {
    let mut c = ctx.connect().await?;
    c.subscribe(&format!(
        "{}-_=@,.;",
        ctx.unique_channel(ChannelKind::Public)
    ))
    .await?;
    for bad in [" b", "/b", "*b"] {
        let channel = format!("{}{bad}", ctx.unique_channel(ChannelKind::Public));
        c.send_subscribe(&channel, Some(""), None).await?;
        expect_refused(&ctx, &mut c, &channel).await?;
    }
    Ok(())
}

async fn name_length(ctx: Ctx) -> Outcome {
    let mut c = ctx.connect().await?;
    let base = ctx.unique_channel(ChannelKind::Public);
    for len in [164, 200] {
        c.subscribe(&format!("{base:x<len$}")).await?;
    }
    let long = format!("{base:y<201}");
    c.send_subscribe(&long, Some(""), None).await?;
    expect_refused(&ctx, &mut c, &long).await?;
    Ok(())
}

async fn cache_variants_need_auth(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.cache_channels,
        "n/a: the profile disables cache channels",
    )?;
    let forged = format!("{}:{}", ctx.target().credentials.key, "ab".repeat(32));
    for kind in [
        ChannelKind::PrivateCache,
        ChannelKind::PresenceCache,
        ChannelKind::EncryptedCache,
    ] {
        let channel = ctx.unique_channel(kind);
        let data = kind.is_presence().then(|| member("mallory"));
        expect_forgery_refused(&ctx, &channel, Some(&forged), data.as_deref()).await?;
    }
    let channel = ctx.unique_channel(ChannelKind::PresenceCache);
    let mut c = ctx.connect().await?;
    let ok = c.subscribe_presence(&channel, &member("alice")).await?;
    match ok
        .data_decoded()
        .and_then(|d| d.pointer("/presence/count").cloned())
    {
        Some(n) if n == json!(1) => Ok(()),
        _ => Err(Failure::violation(
            "a presence roster with count 1",
            ok.encode(),
        )),
    }
}

async fn prefix_anchored(ctx: Ctx) -> Outcome {
    let mut c = ctx.connect().await?;
    let private_like = format!("my-private-{}", ctx.random_suffix());
    c.send_subscribe(&private_like, Some(""), None).await?;
    c.expect_subscribed(&private_like).await?;
    let cache_like = format!("my-cache-{}", ctx.random_suffix());
    publish(&ctx, &cache_like, "before", "{}").await?;
    c.subscribe(&cache_like).await?;
    let what = "cache replay or cache_miss on my-cache-";
    expect_none(&ctx, &mut c, Path::Channel(&cache_like), what, |e| {
        e.channel() == Some(cache_like.as_str())
            && (e.event() == "before" || e.event() == "pusher:cache_miss")
    })
    .await?;
    Ok(())
}

async fn hash_reserved(ctx: Ctx) -> Outcome {
    let mut c = ctx.connect().await?;
    for channel in [
        format!("#foo-{}", ctx.random_suffix()),
        format!("#server-to-user-{}", ctx.random_suffix()),
    ] {
        c.send_subscribe(&channel, Some(""), None).await?;
        expect_refused(&ctx, &mut c, &channel).await?;
    }
    Ok(())
}
