//! The load publishers' HTTP client: signed `POST`s on kept-alive plain-TCP
//! connections, one request at a time per connection (issue 14).
//!
//! At capacity every publish is one HTTP request, and through reqwest the
//! generator's sending thread spent about 50 µs of CPU on each: the URL
//! parsed again (with IDNA), a pool and a dispatch task per connection, a
//! channel hop each way. Here a publish takes an idle connection of its own
//! core's pool (or opens one), writes the request in one `write`, reads the
//! response into the connection's buffer and parses it with `httparse`, all
//! in the publishing task. What is sent is the [`Prepared`] request the
//! `RestClient` path signs, byte for byte the same query and body.
//!
//! Only `http://` bases take this path; `https://` stays on reqwest. A
//! response is read whole (`Content-Length`, chunked, or up to the close)
//! before its connection goes back to the pool, so a later request never
//! reads an earlier answer; a connection the server closed while idle is
//! noticed before it is reused, so a request is never sent twice.

use std::io::Write as _;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::Prepared;

/// The most a response head or body may take; a larger one is an error.
const MAX_RESPONSE: usize = 1 << 20;
/// Idle connections kept per pool; more are closed when they come back.
const MAX_IDLE: usize = 256;

/// Why a request got no complete answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Http1Error {
    /// Connecting, writing or reading failed.
    #[error("http i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The response is not HTTP/1.x.
    #[error("malformed http response: {0}")]
    Parse(#[from] httparse::Error),
    /// The connection closed before the response was complete.
    #[error("the connection closed before the response was complete")]
    Closed,
    /// The response is larger than [`MAX_RESPONSE`].
    #[error("http response over {MAX_RESPONSE} bytes")]
    TooLarge,
    /// No complete answer within the timeout.
    #[error("no http response within {0:?}")]
    Timeout(Duration),
    /// The prepared URL is not on this pool's base.
    #[error("url {0:?} is not under this client's base")]
    Foreign(String),
}

/// One kept-alive connection and its buffer.
#[derive(Debug)]
struct Connection {
    tcp: TcpStream,
    /// Request bytes, then response bytes; kept for the next request.
    buf: Vec<u8>,
}

/// How a response's body ends.
enum Framing {
    Length(usize),
    Chunked,
    /// Up to the close (no length given): the connection is not reused.
    Close,
}

/// A pool of plain-TCP connections to one `http://` base.
#[derive(Debug)]
pub(crate) struct Http1 {
    /// The base requests are prepared on (`http://host:port[/prefix]`).
    base: String,
    /// `http://host:port`, as it starts every prepared URL.
    origin: String,
    /// `host:port` (the `Host` header and what is dialled).
    authority: String,
    timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl Http1 {
    /// A pool for `base` (`http://host[:port][/prefix]`); `None` for any
    /// other scheme.
    pub(crate) fn for_base(base: &str, timeout: Duration) -> Option<Http1> {
        let rest = base.strip_prefix("http://")?;
        let authority = rest.split('/').next().filter(|a| !a.is_empty())?;
        Some(Http1 {
            base: base.to_owned(),
            origin: format!("http://{authority}"),
            authority: authority.to_owned(),
            timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The base to prepare this pool's requests on.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Sends `p` and returns the response's status once the response has
    /// been read whole.
    pub(crate) async fn send(&self, p: &Prepared) -> Result<u16, Http1Error> {
        let target = p
            .url
            .strip_prefix(&self.origin)
            .filter(|t| t.starts_with('/'))
            .ok_or_else(|| Http1Error::Foreign(p.url.clone()))?;
        let mut conn = match self.reusable() {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        let exchange = exchange(
            &mut conn,
            &self.authority,
            &p.method,
            target,
            p.body.as_deref(),
        );
        let (status, reuse) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| Http1Error::Timeout(self.timeout))??;
        if reuse {
            let mut idle = self.idle.lock();
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        Ok(status)
    }

    /// An idle connection the server has not closed, if there is one.
    fn reusable(&self) -> Option<Connection> {
        loop {
            let conn = self.idle.lock().pop()?;
            // Idle means nothing is owed: anything readable now is the
            // server closing (or misbehaving), so the connection goes.
            let mut probe = [0u8; 1];
            match conn.tcp.try_read(&mut probe) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Some(conn),
                _ => continue,
            }
        }
    }

    async fn connect(&self) -> Result<Connection, Http1Error> {
        let dial = async {
            if has_port(&self.authority) {
                TcpStream::connect(self.authority.as_str()).await
            } else {
                let host = self.authority.trim_start_matches('[').trim_end_matches(']');
                TcpStream::connect((host, 80)).await
            }
        };
        let tcp = tokio::time::timeout(self.timeout, dial)
            .await
            .map_err(|_| Http1Error::Timeout(self.timeout))??;
        tcp.set_nodelay(true)?;
        Ok(Connection {
            tcp,
            buf: Vec::with_capacity(1024),
        })
    }
}

/// Whether `authority` names a port (`host:port`, `[v6]:port`).
fn has_port(authority: &str) -> bool {
    match authority.rsplit_once(':') {
        Some((host, port)) => {
            !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!host.contains(':') || host.ends_with(']'))
        }
        None => false,
    }
}

/// Writes one request and reads its whole response: the status, and
/// whether the connection may carry another request.
async fn exchange(
    conn: &mut Connection,
    host: &str,
    method: &str,
    target: &str,
    body: Option<&[u8]>,
) -> Result<(u16, bool), Http1Error> {
    let buf = &mut conn.buf;
    buf.clear();
    let body = body.unwrap_or_default();
    buf.extend_from_slice(method.as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(target.as_bytes());
    buf.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    buf.extend_from_slice(host.as_bytes());
    if !body.is_empty() {
        buf.extend_from_slice(b"\r\ncontent-type: application/json");
    }
    // Writing into a Vec cannot fail.
    let _ = write!(buf, "\r\ncontent-length: {}\r\n\r\n", body.len());
    buf.extend_from_slice(body);
    conn.tcp.write_all(buf).await?;
    buf.clear();
    let (status, framing, keep, head) = loop {
        if read_more(&mut conn.tcp, buf).await? == 0 {
            return Err(Http1Error::Closed);
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(buf)? {
            httparse::Status::Complete(head) => {
                let status = response.code.unwrap_or_default();
                if (100..200).contains(&status) {
                    // An interim answer (100 Continue): the real one follows.
                    buf.drain(..head);
                    continue;
                }
                let (framing, keep) = framing(&response, status);
                break (status, framing, keep, head);
            }
            httparse::Status::Partial if buf.len() >= MAX_RESPONSE => {
                return Err(Http1Error::TooLarge);
            }
            httparse::Status::Partial => {}
        }
    };
    let whole = match framing {
        Framing::Length(n) => {
            let end = head.checked_add(n).ok_or(Http1Error::TooLarge)?;
            if end > MAX_RESPONSE {
                return Err(Http1Error::TooLarge);
            }
            while buf.len() < end {
                if read_more(&mut conn.tcp, buf).await? == 0 {
                    return Err(Http1Error::Closed);
                }
            }
            buf.len() == end
        }
        Framing::Chunked => {
            loop {
                match chunked_end(&buf[head..])? {
                    Some(len) => break head + len == buf.len(),
                    None if buf.len() >= MAX_RESPONSE => return Err(Http1Error::TooLarge),
                    None => {
                        // Scanned again from its start: answers are short.
                        if read_more(&mut conn.tcp, buf).await? == 0 {
                            return Err(Http1Error::Closed);
                        }
                    }
                }
            }
        }
        Framing::Close => {
            while read_more(&mut conn.tcp, buf).await? > 0 {
                if buf.len() >= MAX_RESPONSE {
                    return Err(Http1Error::TooLarge);
                }
            }
            false
        }
    };
    // Bytes past the response were never asked for: do not reuse.
    Ok((status, keep && whole))
}

/// How the body of `response` (status `status`) ends, and whether the
/// server keeps the connection open.
fn framing(response: &httparse::Response<'_, '_>, status: u16) -> (Framing, bool) {
    let mut length = None;
    let mut chunked = false;
    let mut keep = response.version == Some(1);
    for h in response.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or_default().trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep = true;
                }
            }
        }
    }
    if status == 204 || status == 304 {
        return (Framing::Length(0), keep);
    }
    match (chunked, length) {
        (true, _) => (Framing::Chunked, keep),
        (false, Some(n)) => (Framing::Length(n), keep),
        (false, None) => (Framing::Close, false),
    }
}

/// Where a chunked body that starts `body` ends (after its last chunk and
/// trailers), or `None` while more is needed.
fn chunked_end(body: &[u8]) -> Result<Option<usize>, Http1Error> {
    let mut at = 0;
    loop {
        let (size_len, size) = match httparse::parse_chunk_size(&body[at..])
            .map_err(|_| Http1Error::Parse(httparse::Error::Token))?
        {
            httparse::Status::Complete(parsed) => parsed,
            httparse::Status::Partial => return Ok(None),
        };
        at += size_len;
        if size == 0 {
            // Trailers, each a line, end at an empty line.
            loop {
                let Some(eol) = body[at..].windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                at += eol + 2;
                if eol == 0 {
                    return Ok(Some(at));
                }
            }
        }
        let size = usize::try_from(size).map_err(|_| Http1Error::TooLarge)?;
        let data_end = at.checked_add(size).ok_or(Http1Error::TooLarge)?;
        if body.len() < data_end + 2 {
            return Ok(None);
        }
        if &body[data_end..data_end + 2] != b"\r\n" {
            return Err(Http1Error::Parse(httparse::Error::Token));
        }
        at = data_end + 2;
    }
}

/// Reads what the socket has into the spare room of `buf`.
async fn read_more(tcp: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    if buf.capacity() - buf.len() < 512 {
        buf.reserve(buf.capacity().max(1024));
    }
    tcp.read_buf(buf).await
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    /// A server that answers each request on each accepted connection with
    /// the next canned answer, and reports every request head it read. An
    /// answer ending in NUL is written, then its connection is closed.
    async fn canned(answers: Vec<&'static str>) -> (String, mpsc::UnboundedReceiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut answers = answers.into_iter();
            let mut accepted = 0;
            while let Ok((mut tcp, _)) = listener.accept().await {
                accepted += 1;
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let n = match tcp.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if buf.len() < end + 4 + length {
                        continue;
                    }
                    buf.drain(..end + 4 + length);
                    let _ = tx.send(format!(
                        "conn {accepted}: {}",
                        head.lines().next().unwrap_or("")
                    ));
                    let Some(answer) = answers.next() else { return };
                    let (answer, close) = match answer.strip_suffix('\0') {
                        Some(answer) => (answer, true),
                        None => (answer, false),
                    };
                    if tcp.write_all(answer.as_bytes()).await.is_err() || close {
                        break;
                    }
                }
            }
        });
        (base, rx)
    }

    fn post(base: &str, path: &str) -> Prepared {
        Prepared {
            method: "POST".into(),
            url: format!("{base}{path}"),
            body: Some(b"{}".to_vec()),
        }
    }

    fn seen(rx: &mut mpsc::UnboundedReceiver<String>) -> Vec<String> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
    const CHUNKED: &str =
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";

    /// Whole answers (by length or chunked) keep the connection; a close
    /// asked for, a body up to the close, or bytes past the answer do not.
    #[tokio::test]
    async fn connections_are_reused_only_after_a_whole_answer() {
        let refused = "HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        let extra = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}HTTP/1.1";
        let to_close = "HTTP/1.0 200 OK\r\n\r\n{}";
        let (base, mut rx) = canned(vec![OK, CHUNKED, refused, extra, OK, to_close]).await;
        // Served one after another, the first accepted connection ends
        // before the second is read: the canned order holds.
        let http = Http1::for_base(&base, Duration::from_secs(5)).expect("http base");
        let mut statuses = Vec::new();
        for i in 0..4 {
            statuses.push(
                http.send(&post(&base, &format!("/apps/1/events?n={i}")))
                    .await
                    .ok(),
            );
        }
        assert_eq!(statuses, [Some(200), Some(200), Some(401), Some(200)]);
        assert_eq!(
            seen(&mut rx),
            [
                "conn 1: POST /apps/1/events?n=0 HTTP/1.1",
                "conn 1: POST /apps/1/events?n=1 HTTP/1.1",
                "conn 1: POST /apps/1/events?n=2 HTTP/1.1",
                "conn 2: POST /apps/1/events?n=3 HTTP/1.1",
            ]
        );
    }

    /// A connection the server closed while it was idle is not used again:
    /// the next request goes out once, on a new one.
    #[tokio::test]
    async fn a_connection_closed_while_idle_is_not_reused() {
        let (base, mut rx) =
            canned(vec!["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}\0", OK]).await;
        let http = Http1::for_base(&base, Duration::from_secs(5)).expect("http base");
        assert_eq!(http.send(&post(&base, "/a")).await.ok(), Some(200));
        // The server's close must have reached this side before the probe.
        let mut idle = http.idle.lock().pop().expect("kept alive");
        let mut probe = [0u8; 1];
        assert_eq!(
            idle.tcp.read(&mut probe).await.ok(),
            Some(0),
            "closed by the server"
        );
        http.idle.lock().push(idle);
        assert_eq!(http.send(&post(&base, "/b")).await.ok(), Some(200));
        assert_eq!(
            seen(&mut rx),
            ["conn 1: POST /a HTTP/1.1", "conn 2: POST /b HTTP/1.1"]
        );
    }

    /// No answer, a broken one, a truncated one: errors, never a status.
    #[tokio::test]
    async fn broken_answers_are_errors() {
        for answer in [
            "HTTP/1.1 2x0 OK\r\n\r\n\0",
            "HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n{}\0",
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}xx\0",
        ] {
            let (base, _rx) = canned(vec![answer]).await;
            let http = Http1::for_base(&base, Duration::from_secs(5)).expect("http base");
            assert!(http.send(&post(&base, "/a")).await.is_err(), "{answer:?}");
        }
        let (base, _rx) = canned(vec![]).await;
        let http = Http1::for_base(&base, Duration::from_secs(5)).expect("http base");
        assert!(matches!(
            http.send(&post(&base, "/a")).await,
            Err(Http1Error::Closed)
        ));
        assert!(matches!(
            http.send(&post("http://elsewhere:1", "/a")).await,
            Err(Http1Error::Foreign(_))
        ));
    }

    #[test]
    fn chunked_bodies_end_after_the_last_chunk_and_trailers() {
        assert_eq!(chunked_end(b"2\r\n{}\r\n0\r\n\r\n").ok(), Some(Some(12)));
        assert_eq!(
            chunked_end(b"2\r\n{}\r\n0\r\nx-t: 1\r\n\r\n").ok(),
            Some(Some(20))
        );
        assert_eq!(chunked_end(b"2\r\n{}\r\n0\r\n").ok(), Some(None));
        assert_eq!(chunked_end(b"2\r\n{").ok(), Some(None));
        assert!(chunked_end(b"2\r\n{}xx0\r\n\r\n").is_err());
        assert!(chunked_end(b"zz\r\n").is_err());
    }

    #[test]
    fn authorities_with_and_without_ports() {
        assert!(has_port("127.0.0.1:6001"));
        assert!(has_port("[::1]:6001"));
        assert!(!has_port("example.com"));
        assert!(!has_port("[::1]"));
        assert!(Http1::for_base("https://h:1", Duration::from_secs(1)).is_none());
        let h = Http1::for_base("http://h:1/prefix", Duration::from_secs(1)).expect("http");
        assert_eq!(
            (h.origin.as_str(), h.authority.as_str()),
            ("http://h:1", "h:1")
        );
    }
}
