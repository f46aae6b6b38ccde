//! The reference server's fan-out path: one published event to N subscribers' queues.
//!
//! Measures `AppState::publish` (encode once, `try_send` a shared frame to
//! every subscriber) plus draining each queue, as the connection tasks would.

use std::hint::black_box;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use reference_server::Config;
use reference_server::hub::Hub;
use reference_server::protocol::channel::ChannelKind;
use reference_server::protocol::session::Join;
use reference_server::webhooks::Webhooks;

fn fanout(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let config = Config::default();
    let webhooks = Webhooks::start(config.webhooks.clone());
    let data = "x".repeat(100);
    let mut group = c.benchmark_group("fanout");
    for subscribers in [100usize, 1_000, 10_000] {
        let hub = Hub::new(&config, &webhooks);
        let app = hub.app_by_key("app-key").expect("default app").clone();
        let mut queues = Vec::with_capacity(subscribers);
        for _ in 0..subscribers {
            let (conn, rx) = hub.new_conn(64 * 1024);
            let join = Join {
                channel: "bench".into(),
                kind: ChannelKind::of("bench"),
                member: None,
            };
            app.join(&conn, join, Instant::now()).expect("public join");
            queues.push((conn, rx));
        }
        for (_, rx) in &mut queues {
            while rx.try_recv().is_ok() {}
        }
        group.throughput(Throughput::Elements(subscribers as u64));
        group.bench_with_input(
            BenchmarkId::new("publish_and_drain", subscribers),
            &subscribers,
            |b, _| {
                b.iter(|| {
                    app.publish("bench", "event", black_box(&data), None, Instant::now());
                    for (_, rx) in &mut queues {
                        black_box(rx.try_recv().ok());
                    }
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
