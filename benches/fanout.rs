//! The reference server's fan-out path: one published event to N subscribers' outboxes.
//!
//! Measures `AppState::publish` (encode once, append a shared frame to every
//! subscriber's outbox) plus taking it out again, as a connection task
//! without a direct wire would. `fanout_sockets` measures the path with
//! real loopback sockets.

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
            let conn = hub.new_conn(64 * 1024);
            let join = Join {
                channel: "bench".into(),
                kind: ChannelKind::of("bench"),
                member: None,
            };
            app.join(&conn, join, Instant::now()).expect("public join");
            queues.push(conn);
        }
        for conn in &queues {
            conn.take(usize::MAX);
        }
        group.throughput(Throughput::Elements(subscribers as u64));
        group.bench_with_input(
            BenchmarkId::new("publish_and_drain", subscribers),
            &subscribers,
            |b, _| {
                b.iter(|| {
                    app.publish("bench", "event", black_box(&data), None, Instant::now());
                    for conn in &queues {
                        black_box(conn.take(usize::MAX));
                    }
                });
            },
        );
    }
    group.finish();
}

/// Subscribers on real loopback sockets: a signed HTTP publish (spec 5.5,
/// 8.2), the server writing the event to every socket, and this thread
/// reading each socket until the whole frame is there. One event at a time,
/// so nothing batches: the per-delivery write and read are the floor here.
fn fanout_sockets(c: &mut Criterion) {
    use std::io::Read;

    use futures_util::StreamExt;
    use pushcheck::client::RestClient;
    use pushcheck::signing::Credentials;
    use tokio_tungstenite::tungstenite::Message;

    // One worker for the server, this thread for the readers: two cores.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (_server, addr) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = reference_server::Server::start(Config::default(), listener)
            .await
            .expect("server");
        (server, addr)
    });
    let rest = RestClient::new(
        &format!("http://{addr}"),
        Credentials::new("app-id", "app-key", "app-secret"),
        std::time::Duration::from_secs(10),
    );
    let data = "x".repeat(100);
    let mut group = c.benchmark_group("fanout_sockets");
    group.sample_size(20);
    let subscribers = 1_000usize;
    let mut sockets: Vec<std::net::TcpStream> = runtime.block_on(async {
        let mut sockets = Vec::with_capacity(subscribers);
        for _ in 0..subscribers {
            let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let url = format!("ws://{addr}/app/app-key?protocol=7");
            let (mut ws, _) = tokio_tungstenite::client_async(url, tcp)
                .await
                .expect("handshake");
            ws.next().await.expect("established").expect("frame");
            let subscribe = r#"{"event":"pusher:subscribe","data":{"channel":"bench"}}"#;
            futures_util::SinkExt::send(&mut ws, Message::text(subscribe))
                .await
                .expect("subscribe");
            ws.next().await.expect("succeeded").expect("frame");
            let tcp = ws.into_inner().into_std().expect("std socket");
            tcp.set_nonblocking(true).expect("non-blocking");
            sockets.push(tcp);
        }
        sockets
    });
    let frame_len =
        reference_server::protocol::message::channel_event("bench", "event", &data).len() + 4;
    let mut buf = vec![0u8; 64 * 1024];
    group.throughput(Throughput::Elements(subscribers as u64));
    group.bench_function(BenchmarkId::new("publish_to_last_read", subscribers), |b| {
        b.iter(|| {
            let answer = runtime
                .block_on(rest.publish(&["bench"], "event", &data, serde_json::json!({})))
                .expect("publish");
            assert_eq!(answer.status, 200);
            for socket in &mut sockets {
                let mut got = 0;
                while got < frame_len {
                    match socket.read(&mut buf) {
                        Ok(0) => panic!("server closed a subscriber"),
                        Ok(n) => got += n,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::hint::spin_loop()
                        }
                        Err(e) => panic!("read: {e}"),
                    }
                }
                assert_eq!(got, frame_len, "one frame per publish");
            }
        });
    });
    group.finish();
}

criterion_group!(benches, fanout, fanout_sockets);
criterion_main!(benches);
