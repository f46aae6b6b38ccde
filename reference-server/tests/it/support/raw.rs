//! A WebSocket speaking RFC 6455 by hand, for what tungstenite will not do:
//! stay silent (tungstenite answers control pings by itself, which would
//! count as proof of life, spec 3.1), and send frames that break RFC 6455.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::WAIT;

/// A frame as read: opcode and payload.
#[derive(Debug)]
pub(crate) struct RawFrame {
    /// 0x1 text, 0x8 close, 0x9 ping, 0xA pong.
    pub(crate) opcode: u8,
    /// Unmasked payload.
    pub(crate) payload: Vec<u8>,
}

/// An upgraded connection that only reads.
#[derive(Debug)]
pub(crate) struct RawSocket {
    stream: BufReader<TcpStream>,
}

impl RawSocket {
    /// Performs the upgrade on `path` and checks the 101.
    pub(crate) async fn connect(addr: SocketAddr, path: &str) -> RawSocket {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("write upgrade");
        let mut stream = BufReader::new(stream);
        let mut status = String::new();
        stream.read_line(&mut status).await.expect("status line");
        assert!(
            status.starts_with("HTTP/1.1 101"),
            "upgrade refused: {status}"
        );
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).await.expect("header line");
            if line == "\r\n" {
                return RawSocket { stream };
            }
        }
    }

    /// Writes raw bytes after the upgrade; errors are returned, not panics,
    /// since a server may close while the client is still writing.
    pub(crate) async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.get_mut().write_all(bytes).await
    }

    /// Reads frames until the server's close frame; returns its code.
    pub(crate) async fn expect_close_code(&mut self) -> u16 {
        loop {
            let frame = self.read_frame().await;
            if frame.opcode == 0x8 {
                assert!(frame.payload.len() >= 2, "close frame without a code");
                return u16::from_be_bytes([frame.payload[0], frame.payload[1]]);
            }
        }
    }

    /// Reads until the server ends the connection; panics on a reset.
    pub(crate) async fn expect_clean_end(&mut self) {
        let mut sink = Vec::new();
        let end = tokio::time::timeout(WAIT, self.stream.read_to_end(&mut sink))
            .await
            .expect("the server ends the connection within the deadline");
        assert!(end.is_ok(), "connection reset instead of closed: {end:?}");
    }

    /// The next frame; panics after [`WAIT`].
    pub(crate) async fn read_frame(&mut self) -> RawFrame {
        tokio::time::timeout(WAIT, self.read_frame_unguarded())
            .await
            .expect("a frame within the deadline")
    }

    async fn read_frame_unguarded(&mut self) -> RawFrame {
        let mut head = [0u8; 2];
        self.stream
            .read_exact(&mut head)
            .await
            .expect("frame header");
        assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
        let len = match head[1] & 0x7f {
            126 => u64::from(self.stream.read_u16().await.expect("16-bit length")),
            127 => self.stream.read_u64().await.expect("64-bit length"),
            n => u64::from(n),
        };
        let mut payload = vec![0u8; usize::try_from(len).expect("small frame")];
        self.stream.read_exact(&mut payload).await.expect("payload");
        RawFrame {
            opcode: head[0] & 0x0f,
            payload,
        }
    }
}

/// A client frame: `first` is the FIN/RSV/opcode byte; masked with a fixed
/// key unless `masked` is false.
pub(crate) fn client_frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut out = vec![first];
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | u8::try_from(n).expect("small")),
        n @ 126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend(u16::try_from(n).expect("16-bit").to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend(u64::try_from(n).expect("64-bit").to_be_bytes());
        }
    }
    if masked {
        out.extend(key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend(payload);
    }
    out
}
