//! Properties of the server's channel-auth and sign-in verifier (spec 5.2,
//! 5.3), signed here with the server's own [`sign`]: nothing is shared with
//! the harness (DESIGN.md, "Dependency direction").

use proptest::prelude::*;

use super::{AuthError, channel_string, sign, signin_string, verify};
use crate::config::AppSecret;

/// Replaces the byte at `at % len` with a different printable ASCII byte.
///
/// Inputs are printable ASCII, so the result stays valid UTF-8 and differs
/// from the input in exactly one position.
fn change_byte(s: &str, at: usize, step: u8) -> String {
    let mut bytes = s.as_bytes().to_vec();
    let i = at % bytes.len();
    let offset = bytes[i] - b' ';
    bytes[i] = b' ' + (offset + 1 + step % 94) % 95;
    String::from_utf8(bytes).expect("printable ASCII in, printable ASCII out")
}

fn auth_value(key: &str, secret: &str, text: &str) -> String {
    let sig = sign(&AppSecret::new(secret.to_owned()), &[text.as_bytes()]);
    format!("{key}:{sig}")
}

/// One presence or private authorization and which of its parts to change.
#[derive(Debug, Clone)]
struct Signed {
    key: String,
    secret: String,
    socket_id: String,
    channel: String,
    channel_data: Option<String>,
}

fn signed() -> impl Strategy<Value = Signed> {
    (
        "[a-z0-9]{1,20}",
        "[ -~]{1,40}",
        "[0-9]{1,10}\\.[0-9]{1,10}",
        "(private-|presence-|private-encrypted-|presence-cache-)[A-Za-z0-9_=@,.;-]{1,40}",
        proptest::option::of("\\{\"user_id\":\"[ -!#-\\[\\]-~]{1,20}\"\\}"),
    )
        .prop_map(|(key, secret, socket_id, channel, channel_data)| Signed {
            key,
            secret,
            socket_id,
            channel,
            channel_data,
        })
}

impl Signed {
    fn text(&self) -> String {
        channel_string(&self.socket_id, &self.channel, self.channel_data.as_deref())
    }

    fn auth(&self) -> String {
        auth_value(&self.key, &self.secret, &self.text())
    }

    fn check(&self, auth: &str, text: &str) -> Result<(), AuthError> {
        verify(&self.key, &AppSecret::new(self.secret.clone()), auth, text)
    }
}

proptest! {
    #[test]
    fn a_valid_channel_authorization_always_verifies(s in signed()) {
        prop_assert_eq!(s.check(&s.auth(), &s.text()), Ok(()));
    }

    #[test]
    fn changing_one_byte_of_socket_channel_or_data_fails(
        s in signed(), which in 0usize..3, at in any::<usize>(), step in any::<u8>(),
    ) {
        let mut seen = s.clone();
        match which {
            0 => seen.socket_id = change_byte(&s.socket_id, at, step),
            1 => seen.channel = change_byte(&s.channel, at, step),
            _ => match &s.channel_data {
                Some(d) => seen.channel_data = Some(change_byte(d, at, step)),
                None => seen.channel_data = Some(String::new()),
            },
        }
        // The client signed `s`; the server builds its string from what it saw.
        let refused = s.check(&s.auth(), &seen.text());
        prop_assert!(
            matches!(refused, Err(AuthError::BadSignature { .. })),
            "{:?}", refused
        );
    }

    #[test]
    fn changing_one_byte_of_key_or_secret_fails(
        s in signed(), at in any::<usize>(), step in any::<u8>(),
    ) {
        let text = s.text();
        let wrong_key = auth_value(&change_byte(&s.key, at, step), &s.secret, &text);
        prop_assert!(s.check(&wrong_key, &text).is_err());
        let wrong_secret = auth_value(&s.key, &change_byte(&s.secret, at, step), &text);
        let refused = s.check(&wrong_secret, &text);
        prop_assert!(matches!(refused, Err(AuthError::BadSignature { .. })), "{:?}", refused);
    }

    #[test]
    fn changing_one_hex_digit_of_the_signature_fails(
        s in signed(), at in 0usize..64, digit in 1u8..16,
    ) {
        let auth = s.auth();
        let (key, sig) = auth.split_once(':').expect("key:sig");
        let mut sig = sig.as_bytes().to_vec();
        let old = u8::from_str_radix(&(sig[at] as char).to_string(), 16).expect("hex");
        sig[at] = char::from_digit(u32::from((old + digit) % 16), 16).expect("hex digit") as u8;
        let forged = format!("{key}:{}", String::from_utf8(sig).expect("ascii"));
        prop_assert!(s.check(&forged, &s.text()).is_err());
    }

    #[test]
    fn sign_in_verifies_and_any_changed_byte_of_socket_or_user_data_fails(
        key in "[a-z0-9]{1,20}", secret in "[ -~]{1,40}",
        socket_id in "[0-9]{1,10}\\.[0-9]{1,10}",
        id in "[A-Za-z0-9_=@,.;-]{1,30}", which in 0usize..2, at in any::<usize>(), step in any::<u8>(),
    ) {
        let user_data = format!("{{\"id\":\"{id}\"}}");
        let auth = auth_value(&key, &secret, &signin_string(&socket_id, &user_data));
        let app_secret = AppSecret::new(secret.clone());
        prop_assert_eq!(
            verify(&key, &app_secret, &auth, &signin_string(&socket_id, &user_data)),
            Ok(())
        );
        let (socket_seen, data_seen) = match which {
            0 => (change_byte(&socket_id, at, step), user_data.clone()),
            _ => (socket_id.clone(), change_byte(&user_data, at, step)),
        };
        prop_assert!(verify(&key, &app_secret, &auth, &signin_string(&socket_seen, &data_seen)).is_err());
        let other_secret = AppSecret::new(change_byte(&secret, at, step));
        prop_assert!(verify(&key, &other_secret, &auth, &signin_string(&socket_id, &user_data)).is_err());
    }
}
