//! Envelope encode/decode (spec 2.1, 2.2): the harness codec and the server's frames.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pushcheck::wire::{Envelope, double_encode};
use reference_server::protocol::message::{Inbound, SubscribeData, channel_event};
use serde_json::json;

const EVENT: &str = r#"{"event":"my-event","channel":"private-foobar","data":"{\"seq\":123,\"sent_us\":456789,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}"}"#;
const SUBSCRIBE: &str = r#"{"event":"pusher:subscribe","data":{"channel":"presence-foobar","auth":"278d425bdf160c739803:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80","channel_data":"{\"user_id\":10,\"user_info\":{\"name\":\"Mr. Channels\"}}"}}"#;

fn harness(c: &mut Criterion) {
    let mut g = c.benchmark_group("harness-codec");
    g.bench_function("decode-event", |b| {
        b.iter(|| Envelope::decode(black_box(EVENT)))
    });
    g.bench_function("decode-event-and-data", |b| {
        b.iter(|| Envelope::decode(black_box(EVENT)).map(|e| e.data_decoded()))
    });
    let e = Envelope::new(
        "client-x",
        Some("private-foobar"),
        double_encode(&json!({"seq": 123, "sent_us": 456_789})),
    );
    g.bench_function("encode-event", |b| b.iter(|| black_box(&e).encode()));
    g.finish();
}

fn server(c: &mut Criterion) {
    let mut g = c.benchmark_group("server-codec");
    let data = r#"{"seq":123,"sent_us":456789}"#;
    g.bench_function("encode-channel-event", |b| {
        b.iter(|| channel_event("private-foobar", "my-event", black_box(data)))
    });
    g.bench_function("parse-envelope", |b| {
        b.iter(|| Inbound::parse(black_box(EVENT)).map(|i| i.event.len()))
    });
    g.bench_function("parse-subscribe", |b| {
        b.iter(|| {
            Inbound::parse(black_box(SUBSCRIBE))
                .and_then(|i| i.data_as::<SubscribeData>())
                .map(|d| d.channel.len())
        })
    });
    g.finish();
}

criterion_group!(benches, harness, server);
criterion_main!(benches);
