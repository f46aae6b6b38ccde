//! Webhook signatures: `X-Pusher-Signature` = hex HMAC-SHA256 of the raw body (spec 9.1).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Secret, hmac_bytes};

/// Why a webhook signature did not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The header is not lowercase hex of 32 bytes.
    #[error("signature header {0:?} is not 64 lowercase hex digits")]
    Malformed(String),
    /// Well-formed but not the HMAC of the body.
    #[error("signature {given} does not match the body (expected {expected})")]
    Mismatch {
        /// The header value.
        given: String,
        /// What the harness computed.
        expected: String,
    },
}

/// The expected `X-Pusher-Signature` of `body`.
pub fn webhook_signature(secret: &Secret, body: &[u8]) -> String {
    hex::encode(hmac_bytes(secret, body))
}

/// Checks a webhook signature in constant time (spec 9.1).
///
/// ```
/// use pushcheck::signing::{verify_webhook, Secret};
/// let body = br#"{"time_ms":1403175510755,"events":[{"channel":"test_channel","name":"channel_vacated"}]}"#;
/// let sig = "c17257e92037cd7de407ebc1ed174ceb7b2e518db127f44411b9ffc4f5b28cc5";
/// assert!(verify_webhook(&Secret::new("tofu"), body, sig).is_ok());
/// ```
pub fn verify_webhook(secret: &Secret, body: &[u8], signature: &str) -> Result<(), VerifyError> {
    let lower = signature.len() == 64
        && signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let bytes = hex::decode(signature).ok().filter(|_| lower);
    let bytes = bytes.ok_or_else(|| VerifyError::Malformed(signature.to_owned()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.verify_slice(&bytes).map_err(|_| VerifyError::Mismatch {
        given: signature.to_owned(),
        expected: webhook_signature(secret, body),
    })
}
