//! Properties of the harness's signing code and codec (STYLE 2.8 item 7).

use proptest::prelude::*;
use pushcheck::signing::{
    RestSignature, Secret, body_md5, channel_auth, channel_string_to_sign, hmac_hex,
    rest_string_to_sign,
};
use pushcheck::wire::{Envelope, double_encode};
use serde_json::json;

fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::btree_map("[a-z_]{1,8}", "[ -~]{0,12}", 0..6).prop_map(|m| {
        m.into_iter()
            .filter(|(k, _)| k != "auth_signature")
            .collect()
    })
}

fn verify(secret: &Secret, method: &str, path: &str, s: &RestSignature) -> bool {
    let sig = s.get("auth_signature").unwrap_or_default();
    hmac_hex(secret, &rest_string_to_sign(method, path, &s.params)) == sig
}

fn flip_byte(s: &str, at: usize) -> String {
    let mut bytes = s.as_bytes().to_vec();
    let i = at % bytes.len();
    bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #[test]
    fn an_unchanged_request_always_verifies(
        secret in "[a-z0-9]{1,20}", path in "/[a-z0-9/]{0,20}", extra in params(),
        body in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)), ts in 0u64..2_000_000_000,
    ) {
        let secret = Secret::new(secret);
        let s = RestSignature::sign("key", &secret, "POST", &path, &extra, body.as_deref(), ts);
        prop_assert!(verify(&secret, "POST", &path, &s));
    }

    #[test]
    fn the_string_to_sign_ignores_parameter_order_and_key_case(mut extra in params(), seed in any::<u64>()) {
        let before = rest_string_to_sign("GET", "/p", &extra);
        let n = extra.len().max(1);
        extra.rotate_left((seed as usize) % n);
        let upper: Vec<(String, String)> = extra.iter().map(|(k, v)| (k.to_uppercase(), v.clone())).collect();
        prop_assert_eq!(&before, &rest_string_to_sign("GET", "/p", &extra));
        prop_assert_eq!(&before, &rest_string_to_sign("GET", "/p", &upper));
    }

    #[test]
    fn changing_one_byte_of_any_part_breaks_the_signature(
        secret in "[a-z0-9]{1,20}", path in "/[a-z0-9]{1,20}", value in "[a-z0-9]{1,10}", at in any::<usize>(),
        which in 0usize..4,
    ) {
        let good = Secret::new(secret.clone());
        let extra = vec![("x".to_string(), value.clone())];
        let s = RestSignature::sign("key", &good, "POST", &path, &extra, Some(value.as_bytes()), 1);
        let (method, path2, secret2, mut params) = ("POST".to_string(), path, secret, s.params);
        let (method, path2, secret2) = match which {
            0 => (flip_byte(&method, at), path2, secret2),
            1 => (method, flip_byte(&path2, at), secret2),
            2 => { params[0].1 = flip_byte(&params[0].1, at); (method, path2, secret2) }
            _ => (method, path2, flip_byte(&secret2, at)),
        };
        let changed = RestSignature { params };
        prop_assert!(!verify(&Secret::new(secret2), &method, &path2, &changed));
    }

    #[test]
    fn body_md5_changes_exactly_when_the_body_does(a in proptest::collection::vec(any::<u8>(), 0..64), b in proptest::collection::vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(a == b, body_md5(&a) == body_md5(&b));
    }

    #[test]
    fn channel_auth_covers_socket_channel_and_data(
        socket in "[0-9]{1,5}\\.[0-9]{1,5}", channel in "presence-[a-z]{1,10}", data in "[ -~]{1,30}", at in any::<usize>(),
    ) {
        let secret = Secret::new("s");
        let auth = channel_auth("k", &secret, &socket, &channel, Some(&data));
        let expected = format!("k:{}", hmac_hex(&secret, &channel_string_to_sign(&socket, &channel, Some(&data))));
        prop_assert_eq!(&auth, &expected);
        prop_assert_ne!(&auth, &channel_auth("k", &secret, &flip_byte(&socket, at), &channel, Some(&data)));
        prop_assert_ne!(&auth, &channel_auth("k", &secret, &socket, &flip_byte(&channel, at), Some(&data)));
        prop_assert_ne!(&auth, &channel_auth("k", &secret, &socket, &channel, Some(&flip_byte(&data, at))));
    }

    #[test]
    fn envelopes_round_trip_including_string_data(event in "[a-z:_-]{1,20}", channel in proptest::option::of("[a-z-]{1,20}"), n in any::<i64>(), s in ".{0,20}") {
        let data = double_encode(&json!({"n": n, "s": s}));
        let e = Envelope::new(&event, channel.as_deref(), data);
        let back = Envelope::decode(&e.encode()).expect("round trip");
        prop_assert_eq!(back.data_decoded(), Some(json!({"n": n, "s": s})));
        prop_assert_eq!(back, e);
    }
}
