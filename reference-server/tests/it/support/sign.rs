//! Signing written from the spec, independent of the server's code (spec 5.2, 5.3, 5.5, 9.1).

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

/// Lowercase hex HMAC-SHA256 of `text` keyed with `secret`.
pub(crate) fn hmac_hex(secret: &str, text: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(text);
    hex::encode(mac.finalize().into_bytes())
}

/// `auth` for a private or presence subscription: `key:hex(socket_id:channel[:channel_data])`.
pub(crate) fn channel_auth(
    key: &str,
    secret: &str,
    socket_id: &str,
    channel: &str,
    channel_data: Option<&str>,
) -> String {
    let text = match channel_data {
        Some(data) => format!("{socket_id}:{channel}:{data}"),
        None => format!("{socket_id}:{channel}"),
    };
    format!("{key}:{}", hmac_hex(secret, text.as_bytes()))
}

/// `auth` for `pusher:signin`: `key:hex(socket_id::user::user_data)`.
pub(crate) fn signin_auth(key: &str, secret: &str, socket_id: &str, user_data: &str) -> String {
    let text = format!("{socket_id}::user::{user_data}");
    format!("{key}:{}", hmac_hex(secret, text.as_bytes()))
}

/// Lowercase hex MD5 of a body.
pub(crate) fn md5_hex(body: &[u8]) -> String {
    hex::encode(Md5::digest(body))
}

/// The REST string to sign: method, path, and the parameters other than
/// `auth_signature`, keys lowercased, sorted, values unescaped.
pub(crate) fn rest_string(method: &str, path: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, &str)> = params
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .filter(|(k, _)| k != "auth_signature")
        .collect();
    pairs.sort();
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{method}\n{path}\n{}", query.join("&"))
}

#[test]
fn test_signing_matches_the_official_vectors_v1_v2_v4() {
    let (key, secret) = ("278d425bdf160c739803", "7ad3773142a6692b25b8");
    assert_eq!(
        channel_auth(key, secret, "1234.1234", "private-foobar", None),
        format!("{key}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4")
    );
    assert_eq!(
        signin_auth(key, secret, "1234.1234", r#"{"id":"12345"}"#),
        format!("{key}:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba")
    );
    let body = br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
    let params: Vec<(String, String)> = [
        ("auth_version", "1.0"),
        ("body_md5", md5_hex(body).as_str()),
        ("auth_timestamp", "1353088179"),
        ("auth_key", key),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let text = rest_string("POST", "/apps/3/events", &params);
    assert_eq!(
        hmac_hex(secret, text.as_bytes()),
        "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
    );
}
