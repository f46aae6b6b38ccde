//! Channel authorization and user sign-in strings (spec 5.2, 5.3, 5.4).

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{Secret, SignError, hmac_hex};

/// `<socket_id>:<channel>[:<channel_data>]` (spec 5.2).
pub fn channel_string_to_sign(
    socket_id: &str,
    channel: &str,
    channel_data: Option<&str>,
) -> String {
    match channel_data {
        Some(data) => format!("{socket_id}:{channel}:{data}"),
        None => format!("{socket_id}:{channel}"),
    }
}

/// The `auth` value `<key>:<hex>` of a `pusher:subscribe` (spec 5.2).
///
/// `channel_data` must be the exact JSON text sent in the subscribe frame.
///
/// ```
/// use pushcheck::signing::{channel_auth, Secret};
/// let auth = channel_auth("278d425bdf160c739803", &Secret::new("7ad3773142a6692b25b8"),
///     "1234.1234", "private-foobar", None);
/// assert_eq!(auth, "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4");
/// ```
pub fn channel_auth(
    key: &str,
    secret: &Secret,
    socket_id: &str,
    channel: &str,
    channel_data: Option<&str>,
) -> String {
    let sig = hmac_hex(
        secret,
        &channel_string_to_sign(socket_id, channel, channel_data),
    );
    format!("{key}:{sig}")
}

/// `<socket_id>::user::<user_data>` (spec 5.3).
pub fn signin_string_to_sign(socket_id: &str, user_data: &str) -> String {
    format!("{socket_id}::user::{user_data}")
}

/// The `auth` value `<key>:<hex>` of a `pusher:signin` (spec 5.3).
///
/// ```
/// use pushcheck::signing::{signin_auth, Secret};
/// let auth = signin_auth("k", &Secret::new("7ad3773142a6692b25b8"), "1234.1234", r#"{"id":"12345"}"#);
/// assert_eq!(auth, "k:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba");
/// ```
pub fn signin_auth(key: &str, secret: &Secret, socket_id: &str, user_data: &str) -> String {
    format!(
        "{key}:{}",
        hmac_hex(secret, &signin_string_to_sign(socket_id, user_data))
    )
}

/// Per-channel key of an encrypted channel: SHA-256(channel || master key) (spec 5.4).
pub fn shared_secret(channel: &str, master_key: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(channel.as_bytes());
    hasher.update(master_key);
    hasher.finalize().into()
}

/// [`shared_secret`] from a base64 master key, base64-encoded as an auth endpoint returns it.
pub fn shared_secret_base64(channel: &str, master_key_b64: &str) -> Result<String, SignError> {
    let engine = base64::engine::general_purpose::STANDARD;
    let master = engine
        .decode(master_key_b64)
        .map_err(SignError::MasterKeyBase64)?;
    if master.len() != 32 {
        return Err(SignError::MasterKeyLength(master.len()));
    }
    Ok(engine.encode(shared_secret(channel, &master)))
}
