//! Connections that stop half way through a request are closed, and they
//! cannot lock new clients out (issue 9 item 4).
//!
//! See: issue 9 item 4. 2,000 connections that sent a partial header, a
//! partial body or half an upgrade were still open after 45 s, and with a
//! 600-descriptor limit 700 idle sockets locked new clients out.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{ChildServer, WAIT, config, start_server};

/// Sends `request` and reads until the server closes; returns what it sent.
async fn sent_then_closed(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut reply = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut reply))
        .await
        .unwrap_or_else(|_| panic!("still open after {WAIT:?}: {request:?}"))
        .expect("read until closed");
    String::from_utf8_lossy(&reply).into_owned()
}

#[tokio::test]
async fn partial_headers_bodies_upgrades_and_idle_keep_alives_are_closed() {
    let mut config = config();
    config.transport.header_timeout_ms = 300;
    config.transport.body_timeout_ms = 300;
    let server = start_server(config).await;
    let addr = server.addr();
    let partial_header = "GET /apps/app-id/channels HTTP/1.1\r\nHost: a\r\n";
    assert_eq!(sent_then_closed(addr, partial_header).await, "");
    let half_upgrade = "GET /app/app-key?protocol=7 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    assert_eq!(sent_then_closed(addr, half_upgrade).await, "");
    let partial_body = "POST /apps/app-id/events?auth_key=app-key HTTP/1.1\r\nHost: a\r\n\
                        Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":";
    let reply = sent_then_closed(addr, partial_body).await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    // A complete request, answered; then the keep-alive connection idles.
    let idle = "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n";
    let reply = sent_then_closed(addr, idle).await;
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
}

#[tokio::test]
async fn idle_sockets_beyond_the_descriptor_limit_do_not_lock_new_clients_out() {
    // 100 descriptors for the whole server; 150 sockets that never send a
    // byte; then a client with a real request must still be answered.
    let server = ChildServer::start(
        Some(100),
        "[transport]\nheader_timeout_ms = 200\nmax_pending_connections = 20\n",
    );
    let mut idle = Vec::new();
    for _ in 0..150 {
        idle.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    let reply = sent_then_closed(
        server.addr,
        "GET /nowhere HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
    drop(idle);
}
