//! The load generator's receive path for one delivered event, without the
//! socket read: the borrowed frame parse, the payload decode, the per-source
//! sequence ledger, the fan-out tracker and the histogram record, as a
//! subscriber does them for every frame (issue 14: parse only what the
//! ledger and histograms need, no allocation or lock per frame).
//!
//! `cargo bench --bench receive`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pushcheck::load::conn::Frame;
use pushcheck::metrics::{FanoutTracker, Metric, Payload, PayloadKind, Recorders, SeqSet};
use reference_server::protocol::message::channel_event;

/// Frames per cycle; each carries the next sequence number.
const FRAMES: usize = 4096;

fn receive(c: &mut Criterion) {
    // What a subscriber of `fanout.toml` receives: the reference server's own
    // encoding of a publish carrying a 200-byte payload.
    let frames: Vec<String> = (0..FRAMES as u64)
        .map(|s| {
            let data = Payload {
                h: 0,
                p: 7,
                s,
                t: 1_000 + s,
                k: PayloadKind::Publish,
                x: None,
                n: None,
                c: None,
                o: None,
            }
            .encode(200);
            channel_event("broadcast-0", "load", &data).to_string()
        })
        .collect();
    let tracker = FanoutTracker::new([(7, FRAMES)]);
    let recorders = Recorders::new(1);
    let worker = recorders.worker(0);
    let mut seen = SeqSet::default();
    let mut next = 0usize;
    let mut g = c.benchmark_group("generator-receive");
    g.throughput(Throughput::Elements(1));
    g.bench_function("delivery", |b| {
        b.iter(|| {
            if next == FRAMES {
                next = 0;
                seen = SeqSet::default();
                for s in 0..FRAMES as u64 {
                    tracker.expect(7, s, 1);
                }
            }
            let text = &frames[next];
            next += 1;
            let frame = Frame::parse(black_box(text)).expect("a channel event");
            let data = frame.data_text().expect("string data");
            let p = Payload::decode(&data).expect("a load payload");
            let outcome = seen.insert(p.s);
            let last = tracker.arrived(p.p, p.s);
            worker.with(|h, t| {
                h.record(Metric::Deliver, 1_000);
                if last {
                    h.record(Metric::Fanout, 1_000);
                }
                t.delivered += 1;
            });
            black_box((frame.channel.is_some(), outcome))
        })
    });
    g.finish();
}

criterion_group!(benches, receive);
criterion_main!(benches);
