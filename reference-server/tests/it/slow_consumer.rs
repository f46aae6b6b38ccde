//! Robustness: a client that never reads is closed with 4100 once its bounded
//! outbound queue overflows, and publishing never waits for it (DESIGN, spec 1.5).

use serde_json::json;
use tokio::net::TcpSocket;
use tokio_tungstenite::{MaybeTlsStream, client_async};

use crate::support::{Client, config, start_server};

#[tokio::test]
async fn a_client_that_never_reads_is_closed_with_4100() {
    let mut config = config();
    // Room for one 10-event batch: a healthy reader drains between requests.
    config.transport.outbound_queue = 16;
    let server = start_server(config).await;
    // A tiny receive buffer keeps the kernel from absorbing megabytes first.
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small buffer");
    let stream = socket.connect(server.addr()).await.expect("connect");
    let url = server.ws_url("/app/app-key?protocol=7");
    let (ws, _) = client_async(url, MaybeTlsStream::Plain(stream))
        .await
        .expect("upgrade");
    let mut slow = Client::from_stream(ws).await;
    slow.subscribe("firehose").await;
    let mut fast = server.connect().await;
    fast.subscribe("firehose").await;

    let rest = server.rest();
    let data = "x".repeat(10 * 1024);
    let batch: Vec<_> = (0..10)
        .map(|_| json!({"name": "e", "channel": "firehose", "data": data}))
        .collect();
    let published = 40 * batch.len();
    for _ in 0..40 {
        rest.post("/batch_events", &json!({"batch": batch}))
            .await
            .ok();
        // The healthy subscriber keeps up, so it is never the one closed.
        for _ in 0..batch.len() {
            fast.expect_next("e").await;
        }
    }
    let mut received = 0;
    let code = loop {
        match slow.recv_message().await {
            tokio_tungstenite::tungstenite::Message::Close(frame) => {
                break frame.map(|f| u16::from(f.code));
            }
            _ => received += 1,
        }
    };
    assert_eq!(code, Some(4100), "slow consumer closed with over capacity");
    assert!(
        received < published,
        "the queue is bounded: got {received} of {published}"
    );
    fast.expect_quiet().await;
}
