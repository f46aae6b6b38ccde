//! WebSocket-level errors close with the RFC 6455 7.4.1 code, not a dropped
//! TCP connection (which clients report as 1006).
//!
//! See: issue 9 item 6.

use crate::support::raw::client_frame;
use crate::support::{RawSocket, TestServer, config, start_server};

/// A raw connection to a fresh server, past `connection_established`.
async fn connected() -> (TestServer, RawSocket) {
    let server = start_server(config()).await;
    let mut socket = RawSocket::connect(server.addr(), "/app/app-key?protocol=7").await;
    let hello = socket.read_frame().await;
    assert_eq!(hello.opcode, 0x1, "connection_established");
    (server, socket)
}

/// Sends `bytes` after the handshake; returns the code of the server's close frame.
async fn close_code_after(bytes: &[u8]) -> u16 {
    let (_server, mut socket) = connected().await;
    socket.send_raw(bytes).await.expect("write");
    socket.expect_close_code().await
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_or_close_reason_closes_1007() {
    assert_eq!(
        close_code_after(&client_frame(0x81, &[0xff, 0xfe], true)).await,
        1007
    );
    let reason = [0x03, 0xe8, 0xc3, 0x28];
    assert_eq!(
        close_code_after(&client_frame(0x88, &reason, true)).await,
        1007
    );
}

#[tokio::test]
async fn framing_violations_close_1002() {
    let ping = br#"{"event":"pusher:ping","data":{}}"#;
    let cases: [(&str, Vec<u8>); 7] = [
        ("unmasked text frame", client_frame(0x81, ping, false)),
        (
            "reserved bit set",
            client_frame(0x80 | 0x40 | 0x1, ping, true),
        ),
        ("unknown data opcode", client_frame(0x83, b"x", true)),
        ("unknown control opcode", client_frame(0x8b, b"x", true)),
        (
            "control frame over 125 bytes",
            client_frame(0x89, &[b'p'; 126], true),
        ),
        ("fragmented control frame", client_frame(0x09, b"p", true)),
        (
            "continuation without a message",
            client_frame(0x80, b"x", true),
        ),
    ];
    for (what, bytes) in cases {
        assert_eq!(close_code_after(&bytes).await, 1002, "{what}");
    }
}

#[tokio::test]
async fn an_oversize_message_closes_1009_and_the_close_survives_the_rest_of_it() {
    let (_server, mut socket) = connected().await;
    // A 1 MiB text frame, far over the 32 KB limit: the server refuses it
    // from its header while the client is still sending the payload.
    let frame = client_frame(0x81, &vec![b'x'; 1024 * 1024], true);
    // A reset (unread input when the server closes) destroys the close frame
    // for a client still writing, which then reports 1006: every write must
    // succeed, the close frame arrive, and the connection end with a FIN.
    for chunk in frame.chunks(64 * 1024) {
        socket
            .send_raw(chunk)
            .await
            .expect("the server drains instead of resetting the connection");
    }
    assert_eq!(socket.expect_close_code().await, 1009);
    socket.expect_clean_end().await;
}
