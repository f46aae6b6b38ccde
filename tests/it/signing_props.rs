//! Properties of the harness's signing code and codec (STYLE 2.8 item 7).

use proptest::prelude::*;
use pushcheck::signing::{
    RestSignature, Secret, body_md5, channel_auth, channel_string_to_sign, hmac_hex,
    rest_string_to_sign, signin_auth, signin_string_to_sign,
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

/// Replaces the byte at `at % len` with a different printable ASCII byte, so
/// a printable input changes in exactly one position.
fn change_byte(s: &str, at: usize, step: u8) -> String {
    let mut bytes = s.as_bytes().to_vec();
    let i = at % bytes.len();
    let offset = bytes[i] - b' ';
    bytes[i] = b' ' + (offset + 1 + step % 94) % 95;
    String::from_utf8(bytes).expect("printable ASCII in, printable ASCII out")
}

/// What a verifier holding `key` and `secret` accepts: the auth it would compute.
fn accepts(key: &str, secret: &str, auth: &str, string_to_sign: &str) -> bool {
    auth == format!("{key}:{}", hmac_hex(&Secret::new(secret), string_to_sign))
}

fn channel_name() -> impl Strategy<Value = String> {
    "(private-|presence-|private-cache-|presence-cache-|private-encrypted-|private-encrypted-cache-)[A-Za-z0-9_=@,.;-]{1,40}"
}

proptest! {
    #[test]
    fn a_channel_authorization_verifies_and_any_changed_byte_breaks_it(
        key in "[a-z0-9]{1,20}", secret in "[ -~]{1,40}", socket in "[0-9]{1,10}\\.[0-9]{1,10}",
        channel in channel_name(), data in proptest::option::of("[ -~]{1,40}"),
        which in 0usize..5, at in any::<usize>(), step in any::<u8>(),
    ) {
        let auth = channel_auth(&key, &Secret::new(secret.as_str()), &socket, &channel, data.as_deref());
        let signed = channel_string_to_sign(&socket, &channel, data.as_deref());
        prop_assert!(accepts(&key, &secret, &auth, &signed));
        let (mut k, mut s, mut so, mut c, mut d) = (key.clone(), secret.clone(), socket.clone(), channel.clone(), data);
        match which {
            0 => k = change_byte(&key, at, step),
            1 => s = change_byte(&secret, at, step),
            2 => so = change_byte(&socket, at, step),
            3 => c = change_byte(&channel, at, step),
            _ => d = Some(d.map_or_else(String::new, |d| change_byte(&d, at, step))),
        }
        let forged = channel_auth(&k, &Secret::new(s), &so, &c, d.as_deref());
        prop_assert!(!accepts(&key, &secret, &forged, &signed), "{} still verifies", forged);
    }

    #[test]
    fn a_sign_in_verifies_and_any_changed_byte_breaks_it(
        key in "[a-z0-9]{1,20}", secret in "[ -~]{1,40}", socket in "[0-9]{1,10}\\.[0-9]{1,10}",
        id in "[A-Za-z0-9_=@,.;-]{1,30}", which in 0usize..4, at in any::<usize>(), step in any::<u8>(),
    ) {
        let user_data = format!("{{\"id\":\"{id}\"}}");
        let auth = signin_auth(&key, &Secret::new(secret.as_str()), &socket, &user_data);
        let signed = signin_string_to_sign(&socket, &user_data);
        prop_assert!(accepts(&key, &secret, &auth, &signed));
        let (mut k, mut s, mut so, mut u) = (key.clone(), secret.clone(), socket.clone(), user_data.clone());
        match which {
            0 => k = change_byte(&key, at, step),
            1 => s = change_byte(&secret, at, step),
            2 => so = change_byte(&socket, at, step),
            _ => u = change_byte(&user_data, at, step),
        }
        let forged = signin_auth(&k, &Secret::new(s), &so, &u);
        prop_assert!(!accepts(&key, &secret, &forged, &signed), "{} still verifies", forged);
    }

    #[test]
    fn a_rest_request_signed_with_another_key_or_secret_does_not_verify(
        key in "[a-z0-9]{1,20}", secret in "[ -~]{1,30}", at in any::<usize>(), step in any::<u8>(),
        body in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        let good = Secret::new(secret.as_str());
        let s = RestSignature::sign(&key, &good, "POST", "/apps/3/events", &[], Some(&body), 1);
        let other_key = RestSignature::sign(&change_byte(&key, at, step), &good, "POST", "/apps/3/events", &[], Some(&body), 1);
        prop_assert_ne!(other_key.get("auth_key"), s.get("auth_key"));
        prop_assert_ne!(other_key.get("auth_signature"), s.get("auth_signature"));
        let other_secret = Secret::new(change_byte(&secret, at, step));
        prop_assert!(!verify(&other_secret, "POST", "/apps/3/events", &s));
        let md5 = body_md5(&body);
        prop_assert_eq!(s.get("body_md5"), Some(md5.as_str()));
    }

    #[test]
    fn keys_reach_the_string_to_sign_lowercased(extra in params()) {
        let upper: Vec<(String, String)> = extra.iter().map(|(k, v)| (k.to_uppercase(), v.clone())).collect();
        let signed = rest_string_to_sign("get", "/p", &upper);
        let expected: Vec<String> = extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
        prop_assert_eq!(signed, format!("GET\n/p\n{}", expected.join("&")));
    }

    #[test]
    fn any_json_data_round_trips_double_encoded(event in "[a-z:_-]{1,20}", value in json_value()) {
        let e = Envelope::new(&event, Some("private-x"), double_encode(&value));
        let text = e.encode();
        let back = Envelope::decode(&text).expect("round trip");
        prop_assert!(back.data().is_some_and(serde_json::Value::is_string));
        prop_assert_eq!(back.data_decoded(), Some(value.clone()));
        prop_assert_eq!(&back, &e);
        let plain = Envelope::new(&event, None, value.clone());
        let plain_back = Envelope::decode(&plain.encode()).expect("round trip");
        prop_assert_eq!(plain_back.data(), Some(&value));
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
