//! Signatures and tokens of spec section 5: channel authorization, user
//! sign-in, REST request signing, webhook verification, encrypted-channel keys.
//!
//! All signatures are lowercase hex HMAC-SHA256 over UTF-8 bytes, keyed with
//! the app secret (spec 5). This is the harness's own implementation, pinned by
//! the known-answer vectors of spec 5.6 in this module's tests.

mod channel;
mod credentials;
mod rest;
mod webhook;

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use channel::{
    channel_auth, channel_string_to_sign, shared_secret, shared_secret_base64, signin_auth,
    signin_string_to_sign,
};
pub use credentials::Credentials;
pub use rest::{RestSignature, body_md5, rest_string_to_sign};
pub use webhook::{VerifyError, verify_webhook, webhook_signature};

/// An app secret. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    /// The secret bytes, for keying HMACs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Errors from signing inputs the harness was given.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// An encryption master key was not valid base64.
    #[error("encryption master key is not valid base64")]
    MasterKeyBase64(#[source] base64::DecodeError),
    /// An encryption master key did not decode to 32 bytes.
    #[error("encryption master key decodes to {0} bytes, expected 32")]
    MasterKeyLength(usize),
}

/// Lowercase hex HMAC-SHA256 of `message` keyed with `secret`.
///
/// ```
/// use pushcheck::signing::{hmac_hex, Secret};
/// let sig = hmac_hex(&Secret::new("7ad3773142a6692b25b8"), "1234.1234:private-foobar");
/// assert_eq!(sig, "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4");
/// ```
pub fn hmac_hex(secret: &Secret, message: &str) -> String {
    hex::encode(hmac_bytes(secret, message.as_bytes()))
}

fn hmac_bytes(secret: &Secret, message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod vectors;
