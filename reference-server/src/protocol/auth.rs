//! Channel authorization and sign-in signatures (spec 5.2, 5.3), checked in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::AppSecret;

/// Lowercase hex HMAC-SHA256 of `parts` concatenated, keyed with `secret`.
pub fn sign(secret: &AppSecret, parts: &[&[u8]]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose()).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Compares a received hex signature with the expected one in constant time.
///
/// Only lowercase hex matches (spec 5: signatures are lowercase hex).
pub fn signature_matches(expected_hex: &str, received: &str) -> bool {
    expected_hex.len() == received.len()
        && bool::from(expected_hex.as_bytes().ct_eq(received.as_bytes()))
}

/// Why an `auth` value was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `auth` on a channel that needs one.
    #[error("auth info required to subscribe to {channel}")]
    Missing {
        /// The channel.
        channel: String,
    },
    /// The part before `:` is not this app's key (or there is no `:`).
    #[error("invalid key in subscription auth data: '{key}'")]
    WrongKey {
        /// What was sent as the key.
        key: String,
    },
    /// The HMAC does not match the string this server built.
    #[error("invalid signature: expected HMAC SHA256 hex digest of {signed}, but got {received}")]
    BadSignature {
        /// The string to sign as the server built it.
        signed: String,
        /// The signature received.
        received: String,
    },
}

/// Checks an `auth` value `<key>:<hex>` against `string_to_sign` (spec 5.2, 5.3).
pub fn verify(
    app_key: &str,
    secret: &AppSecret,
    auth: &str,
    string_to_sign: &str,
) -> Result<(), AuthError> {
    let Some((key, received)) = auth.split_once(':') else {
        return Err(AuthError::WrongKey {
            key: auth.to_owned(),
        });
    };
    if key != app_key {
        return Err(AuthError::WrongKey {
            key: key.to_owned(),
        });
    }
    let expected = sign(secret, &[string_to_sign.as_bytes()]);
    if signature_matches(&expected, received) {
        Ok(())
    } else {
        Err(AuthError::BadSignature {
            signed: string_to_sign.to_owned(),
            received: received.to_owned(),
        })
    }
}

/// The string a channel authorization signs: `socket_id:channel[:channel_data]`.
pub fn channel_string(socket_id: &str, channel: &str, channel_data: Option<&str>) -> String {
    match channel_data {
        Some(data) => format!("{socket_id}:{channel}:{data}"),
        None => format!("{socket_id}:{channel}"),
    }
}

/// The string a sign-in signs: `socket_id::user::user_data`.
pub fn signin_string(socket_id: &str, user_data: &str) -> String {
    format!("{socket_id}::user::{user_data}")
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_secret() -> AppSecret {
        AppSecret::new("7ad3773142a6692b25b8".into())
    }

    fn hex_of(secret: &str, text: &str) -> String {
        sign(&AppSecret::new(secret.into()), &[text.as_bytes()])
    }

    const KEY: &str = "278d425bdf160c739803";

    #[test]
    fn official_channel_vectors_v1_v3_and_derived_d6_d7() {
        let cases = [
            (
                "1234.1234:private-foobar",
                "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
            ),
            (
                r#"1234.1234:presence-foobar:{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#,
                "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80",
            ),
            (
                r#"1234.1234:presence-foobar:{"user_id":"10","user_info":{"name":"Mr. Channels"}}"#,
                "4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800",
            ),
            (
                "1234.1234:private-encrypted-foobar",
                "e6a18892d037c5d5e76a2265df4f086ffc38631605530dfd214aa5bff495f533",
            ),
        ];
        for (text, hex) in cases {
            assert_eq!(sign(&doc_secret(), &[text.as_bytes()]), hex, "{text}");
            assert_eq!(
                verify(KEY, &doc_secret(), &format!("{KEY}:{hex}"), text),
                Ok(())
            );
        }
    }

    #[test]
    fn misprinted_v3_signature_is_for_mr_pusher() {
        let text = r#"1234.1234:presence-foobar:{"user_id":10,"user_info":{"name":"Mr. Pusher"}}"#;
        assert_eq!(
            sign(&doc_secret(), &[text.as_bytes()]),
            "afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c"
        );
    }

    #[test]
    fn signin_vectors_v2_v7_to_v10_and_d8() {
        let cases = [
            (
                "7ad3773142a6692b25b8",
                r#"1234.1234::user::{"id":"12345"}"#,
                "4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba",
            ),
            (
                "tofu",
                r#"123.456::user::{"id":"45678"}"#,
                "f4b1fdeea7c93e32648c7230e32b172057c5623cace6cfce791c6e7035e0babd",
            ),
            (
                "tofu",
                r#"123.456::user::{"id":"55555","user_name":"test"}"#,
                "b8a9f173455903792ae2b788add0c4c78ad7372b3ae7fb5769479276a1993743",
            ),
            (
                "1",
                r#"123.456::user::{"id":"45678"}"#,
                "79bddf29fe8e2153dd5d8d569b3f45e5aeb26ae2eb4758879d844791b466cfa2",
            ),
            (
                "2",
                r#"123.456::user::{"id":"45678"}"#,
                "a542498ffa6faf6de7c17a8106b923c042319bd73acfd1d274df32e269b55d1f",
            ),
            (
                "tofu",
                r#"1.1::user::{"id":"ą§¶™€łü€ß£"}"#,
                "620494cee53d6c568b49598313194088afda37218f0d059af03c0c898ed61ff4",
            ),
            (
                "7ad3773142a6692b25b8",
                r#"1234.1234::user::{"id":"12345","user_info":{"name":"Mr. Channels"},"watchlist":["a","b"]}"#,
                "242307339fe90b73e812565d2e2554ace1e1873f7501755b6d2822129720217d",
            ),
        ];
        for (secret, text, hex) in cases {
            assert_eq!(hex_of(secret, text), hex, "{text}");
        }
        assert_eq!(
            signin_string("1234.1234", r#"{"id":"12345"}"#),
            r#"1234.1234::user::{"id":"12345"}"#
        );
    }

    #[test]
    fn sdk_vectors_v11_to_v13_with_channel_data() {
        assert_eq!(
            hex_of(
                "tofu",
                &channel_string("123.456", "private-encrypted-bla", Some("\"foo\""))
            ),
            "962c48b78bf93d98ff4c92ee7dff04865821455b7b401e9d60a9e0a90af2c105"
        );
        assert_eq!(
            hex_of("tofu", &channel_string("123.456", "bla", Some("\"foo\""))),
            "013ad3da0d88e0df6ae0a8184bef50b9c3933f2344499e6e3d1ad67fad799e20"
        );
        assert_eq!(
            hex_of(
                "bar",
                &channel_string("345.23", "private-encrypted-channel", None)
            ),
            "fff0503dfe4929f5162efe4d1dacbce524b0d8e7e1331117a8651c0e74d369e3"
        );
    }

    #[test]
    fn malformed_auth_strings_are_refused() {
        let text = "1234.1234:private-foobar";
        let good = "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4";
        let bad = [
            String::new(),
            good.to_owned(),
            format!("{KEY}:"),
            format!("{KEY}:{}", &good[..63]),
            format!("{KEY}:{}", good.to_uppercase()),
            format!("{KEY}:{}z", &good[..63]),
            format!("wrong:{good}"),
            format!("{KEY}:{good} "),
        ];
        for auth in bad {
            assert!(verify(KEY, &doc_secret(), &auth, text).is_err(), "{auth:?}");
        }
    }
}
