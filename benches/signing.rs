//! Signing and verifying (spec 5): the harness signer and the server verifier.
//!
//! The server's REST verifier is private to its `rest` module; its cost is
//! the string-to-sign plus the same HMAC and constant-time compare measured
//! here through `protocol::auth::verify`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pushcheck::signing::{RestSignature, Secret, channel_auth, signin_auth};
use reference_server::AppSecret;
use reference_server::protocol::auth;

const KEY: &str = "278d425bdf160c739803";
const SECRET: &str = "7ad3773142a6692b25b8";
const PRESENCE_DATA: &str = r#"{"user_id":"10","user_info":{"name":"Mr. Channels"}}"#;

fn harness(c: &mut Criterion) {
    let secret = Secret::new(SECRET);
    let mut g = c.benchmark_group("harness-sign");
    g.bench_function("channel-private", |b| {
        b.iter(|| channel_auth(KEY, &secret, black_box("1234.1234"), "private-foobar", None))
    });
    g.bench_function("channel-presence", |b| {
        b.iter(|| {
            channel_auth(
                KEY,
                &secret,
                black_box("1234.1234"),
                "presence-foobar",
                Some(PRESENCE_DATA),
            )
        })
    });
    g.bench_function("signin", |b| {
        b.iter(|| signin_auth(KEY, &secret, black_box("1234.1234"), r#"{"id":"12345"}"#))
    });
    let body = br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
    g.bench_function("rest-post-with-body", |b| {
        b.iter(|| {
            RestSignature::sign(
                KEY,
                &secret,
                "POST",
                "/apps/3/events",
                &[],
                Some(black_box(body)),
                1_353_088_179,
            )
        })
    });
    g.finish();
}

fn server(c: &mut Criterion) {
    let secret = AppSecret::new(SECRET.to_owned());
    let text = auth::channel_string("1234.1234", "presence-foobar", Some(PRESENCE_DATA));
    let good = format!("{KEY}:{}", auth::sign(&secret, &[text.as_bytes()]));
    let bad = format!("{KEY}:{}", "0".repeat(64));
    let mut g = c.benchmark_group("server-verify");
    g.bench_function("channel-presence-valid", |b| {
        b.iter(|| auth::verify(KEY, &secret, black_box(&good), &text))
    });
    g.bench_function("channel-presence-forged", |b| {
        b.iter(|| auth::verify(KEY, &secret, black_box(&bad), &text))
    });
    g.bench_function("string-and-verify", |b| {
        b.iter(|| {
            let text = auth::channel_string(black_box("1234.1234"), "private-foobar", None);
            auth::verify(KEY, &secret, &good, &text)
        })
    });
    g.finish();
}

criterion_group!(benches, harness, server);
criterion_main!(benches);
