//! Spec 4.1-4.2, channel kinds and names: classification anchored at the
//! start of the name for every prefix and combination, and the edge cases of
//! the name rules over WebSocket.

use serde_json::json;

use super::{Path, case, expect_forgery_refused, expect_none, expect_refused, member, publish};
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::wire::ChannelKind;

const KINDS: SpecRef = SpecRef {
    doc: Doc::Protocol,
    slug: "subscriptions",
    section: "4. Subscriptions and channels",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "protocol/subscriptions/anchored-infix-private",
            KINDS,
            Must,
            "x-private-<r> is public: it subscribes without auth.",
            infix_private,
            security
        ),
        case!(
            "protocol/subscriptions/anchored-infix-presence",
            KINDS,
            Must,
            "x-presence-<r> is public: it subscribes without auth and gets no roster.",
            infix_presence,
            security
        ),
        case!(
            "protocol/subscriptions/anchored-infix-encrypted",
            KINDS,
            Must,
            "x-private-encrypted-<r> is public.",
            infix_encrypted,
            security
        ),
        case!(
            "protocol/subscriptions/anchored-infix-private-cache",
            KINDS,
            Must,
            "x-private-cache-<r> is public and not cached.",
            infix_private_cache,
            security
        ),
        case!(
            "protocol/subscriptions/anchored-infix-presence-cache",
            KINDS,
            Must,
            "x-presence-cache-<r> is public and not cached.",
            infix_presence_cache,
            security
        ),
        case!(
            "protocol/subscriptions/anchored-cache-then-private",
            KINDS,
            Must,
            "cache-x-private-<r> is a public cache channel: no auth, and a cache_miss.",
            cache_then_private
        ),
        case!(
            "protocol/subscriptions/anchored-presence-then-private",
            KINDS,
            Must,
            "presence-x-private-<r> is a presence channel: a signed channel_data subscribes and gets a roster.",
            presence_then_private
        ),
        case!(
            "protocol/subscriptions/anchored-case-sensitive",
            KINDS,
            Must,
            "Private-<r> (capital P) is public: prefixes are case-sensitive.",
            case_sensitive
        ),
        case!(
            "protocol/subscriptions/anchored-privateer",
            KINDS,
            Must,
            "privateer-<r> is public: a prefix includes its dash.",
            privateer
        ),
        case!(
            "protocol/subscriptions/forged-every-private-like",
            KINDS,
            Must,
            "A forged auth is refused on every private-like kind, also with another kind's prefix inside the name.",
            forged_every_private_like,
            security
        ),
        case!(
            "protocol/subscriptions/name-empty",
            KINDS,
            Must,
            "An empty channel name is refused.",
            name_empty
        ),
        case!(
            "protocol/subscriptions/name-bare-private",
            KINDS,
            Must,
            "The bare name private- is private: refused without auth.",
            bare_private,
            security
        ),
        case!(
            "protocol/subscriptions/name-bare-presence",
            KINDS,
            Must,
            "The bare name presence- is presence: refused without auth.",
            bare_presence,
            security
        ),
        case!(
            "protocol/subscriptions/name-unicode",
            KINDS,
            Must,
            "A name with a non-ASCII letter (café) is refused.",
            name_unicode
        ),
        case!(
            "protocol/subscriptions/name-hash-inside",
            KINDS,
            Must,
            "A name with # inside (foo#bar) is refused.",
            name_hash_inside
        ),
        case!(
            "protocol/subscriptions/name-comma",
            KINDS,
            Must,
            "A name with a comma (a,b) is one valid channel.",
            name_comma
        ),
        case!(
            "protocol/subscriptions/name-length-private",
            KINDS,
            Should,
            "Private names of 164 and 200 characters are accepted, 201 refused.",
            length_private
        ),
        case!(
            "protocol/subscriptions/name-length-presence",
            KINDS,
            Should,
            "Presence names of 164 and 200 characters are accepted, 201 refused.",
            length_presence
        ),
        case!(
            "protocol/subscriptions/name-s2u-empty-id",
            KINDS,
            Must,
            "#server-to-user- with an empty id is refused.",
            s2u_empty_id,
            security
        ),
    ]
}

/// `name` subscribes as a public channel: no auth, data "{}", and a publish
/// on it arrives.
async fn public_by_name(ctx: &Ctx, name: &str) -> Outcome {
    let mut c = ctx.connect().await?;
    c.send_subscribe(name, Some(""), None).await?;
    let ok = c.expect_subscribed(name).await?;
    if ok.data() != Some(&json!("{}")) {
        return Err(Failure::violation(
            format!("{name} subscribed as a public channel with data \"{{}}\""),
            ok.encode(),
        ));
    }
    publish(ctx, name, "ev", "{}").await?;
    c.expect_event(name, "ev").await?;
    Ok(())
}

/// `name` is public and not cached: a subscriber gets neither an earlier
/// event nor cache_miss.
async fn public_uncached(ctx: &Ctx, name: &str) -> Outcome {
    publish(ctx, name, "before", "{}").await?;
    let mut c = ctx.connect().await?;
    c.send_subscribe(name, Some(""), None).await?;
    c.expect_subscribed(name).await?;
    let what = format!("cache replay or cache_miss on the public channel {name}");
    expect_none(ctx, &mut c, Path::Channel(name), &what, |e| {
        e.event() == "before" || e.event() == "pusher:cache_miss"
    })
    .await
    .map(drop)
}

fn named(ctx: &Ctx, template: &str) -> String {
    template.replace("<r>", &format!("pc-{}", ctx.random_suffix()))
}

async fn infix_private(ctx: Ctx) -> Outcome {
    public_by_name(&ctx, &named(&ctx, "x-private-<r>")).await
}

async fn infix_presence(ctx: Ctx) -> Outcome {
    public_by_name(&ctx, &named(&ctx, "x-presence-<r>")).await
}

async fn infix_encrypted(ctx: Ctx) -> Outcome {
    public_by_name(&ctx, &named(&ctx, "x-private-encrypted-<r>")).await
}

async fn infix_private_cache(ctx: Ctx) -> Outcome {
    public_uncached(&ctx, &named(&ctx, "x-private-cache-<r>")).await
}

async fn infix_presence_cache(ctx: Ctx) -> Outcome {
    public_uncached(&ctx, &named(&ctx, "x-presence-cache-<r>")).await
}

async fn cache_then_private(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.cache_channels,
        "n/a: cache channels disabled",
    )?;
    let name = named(&ctx, "cache-x-private-<r>");
    let mut c = ctx.connect().await?;
    c.send_subscribe(&name, Some(""), None).await?;
    c.expect_subscribed(&name).await?;
    c.expect_event(&name, "pusher:cache_miss").await?;
    Ok(())
}

async fn presence_then_private(ctx: Ctx) -> Outcome {
    let name = named(&ctx, "presence-x-private-<r>");
    let mut c = ctx.connect().await?;
    let ok = c.subscribe_presence(&name, &member("p")).await?;
    let count = ok
        .data_decoded()
        .and_then(|d| d.pointer("/presence/count").cloned());
    if count == Some(json!(1)) {
        Ok(())
    } else {
        Err(Failure::violation(
            format!("a presence roster with count 1 on {name}"),
            ok.encode(),
        ))
    }
}

async fn case_sensitive(ctx: Ctx) -> Outcome {
    public_by_name(&ctx, &named(&ctx, "Private-<r>")).await
}

async fn privateer(ctx: Ctx) -> Outcome {
    public_by_name(&ctx, &named(&ctx, "privateer-<r>")).await
}

async fn forged_every_private_like(ctx: Ctx) -> Outcome {
    let forged = format!("{}:{}", ctx.target().credentials.key, "cd".repeat(32));
    for template in [
        "private-<r>",
        "private-x-cache-<r>",
        "private-x-presence-<r>",
        "private-cache-x-presence-<r>",
        "private-encrypted-x-private-<r>",
        "presence-x-cache-<r>",
        "presence-cache-x-private-<r>",
    ] {
        let name = named(&ctx, template);
        let data = ChannelKind::of(&name).is_presence().then(|| member("m"));
        expect_forgery_refused(&ctx, &name, Some(&forged), data.as_deref()).await?;
    }
    Ok(())
}

/// A fresh connection's public-style subscribe to `name` is refused.
async fn refused_name(ctx: &Ctx, name: &str) -> Outcome {
    let mut c = ctx.connect().await?;
    c.send_subscribe(name, Some(""), None).await?;
    expect_refused(ctx, &mut c, name).await
}

async fn name_empty(ctx: Ctx) -> Outcome {
    refused_name(&ctx, "").await
}

async fn bare_private(ctx: Ctx) -> Outcome {
    expect_forgery_refused(&ctx, "private-", None, None).await
}

async fn bare_presence(ctx: Ctx) -> Outcome {
    expect_forgery_refused(&ctx, "presence-", None, Some(&member("m"))).await
}

async fn name_unicode(ctx: Ctx) -> Outcome {
    refused_name(&ctx, &named(&ctx, "café-<r>")).await
}

async fn name_hash_inside(ctx: Ctx) -> Outcome {
    refused_name(&ctx, &named(&ctx, "foo#bar-<r>")).await
}

async fn name_comma(ctx: Ctx) -> Outcome {
    public_by_name(&ctx, &named(&ctx, "a,b-<r>")).await
}

/// Names of `kind` of 164 and 200 characters subscribe; 201 is refused.
async fn lengths(ctx: &Ctx, kind: ChannelKind) -> Outcome {
    let mut c = ctx.connect().await?;
    let base = ctx.unique_channel(kind);
    for len in [164, 200] {
        c.subscribe(&format!("{base:x<len$}")).await?;
    }
    let long = format!("{base:y<201}");
    let data = kind.is_presence().then(|| member("m"));
    let auth = c.auth_for(&long, data.as_deref());
    c.send_subscribe(&long, Some(&auth), data.as_deref())
        .await?;
    expect_refused(ctx, &mut c, &long).await
}

async fn length_private(ctx: Ctx) -> Outcome {
    lengths(&ctx, ChannelKind::Private).await
}

async fn length_presence(ctx: Ctx) -> Outcome {
    lengths(&ctx, ChannelKind::Presence).await
}

async fn s2u_empty_id(ctx: Ctx) -> Outcome {
    refused_name(&ctx, "#server-to-user-").await
}
