//! Known-answer vectors of spec 5.6 (V1-V16, D1-D8), copied into the harness's
//! own tests. V15 (secretbox) is skipped: the harness does not implement
//! NaCl secretbox, it only relays and compares ciphertext bytes.

use super::*;

const KEY: &str = "278d425bdf160c739803";
fn doc_secret() -> Secret {
    Secret::new("7ad3773142a6692b25b8")
}
fn p(k: &str, v: &str) -> (String, String) {
    (k.into(), v.into())
}
fn auth_params(key: &str, md5: Option<&str>) -> Vec<(String, String)> {
    let mut v = vec![
        p("auth_key", key),
        p("auth_timestamp", "1353088179"),
        p("auth_version", "1.0"),
    ];
    if let Some(md5) = md5 {
        v.push(p("body_md5", md5));
    }
    v
}

#[test]
fn v1_private_channel() {
    let auth = channel_auth(KEY, &doc_secret(), "1234.1234", "private-foobar", None);
    assert_eq!(
        auth,
        format!("{KEY}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4")
    );
}

#[test]
fn v2_user_signin() {
    let s = hmac_hex(
        &doc_secret(),
        &signin_string_to_sign("1234.1234", r#"{"id":"12345"}"#),
    );
    assert_eq!(
        s,
        "4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
    );
}

#[test]
fn v3_presence_corrected_value() {
    let data = r#"{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#;
    let s = hmac_hex(
        &doc_secret(),
        &channel_string_to_sign("1234.1234", "presence-foobar", Some(data)),
    );
    assert_eq!(
        s,
        "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"
    );
    let pusher = r#"{"user_id":10,"user_info":{"name":"Mr. Pusher"}}"#;
    let printed = hmac_hex(
        &doc_secret(),
        &channel_string_to_sign("1234.1234", "presence-foobar", Some(pusher)),
    );
    assert_eq!(
        printed,
        "afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c"
    );
}

#[test]
fn v4_rest_trigger() {
    let body = br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
    assert_eq!(body_md5(body), "ec365a775a4cd0599faeb73354201b6f");
    let s = RestSignature::sign(
        KEY,
        &doc_secret(),
        "POST",
        "/apps/3/events",
        &[],
        Some(body),
        1353088179,
    );
    assert_eq!(
        s.get("auth_signature"),
        Some("da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c")
    );
}

#[test]
fn v5_sdk_request_with_body() {
    assert_eq!(
        body_md5(b"example body"),
        "165d5e6d7ca8f73b3853ce45addf42fc"
    );
    let s = RestSignature::sign(
        "f00d",
        &Secret::new("tofu"),
        "GET",
        "/event",
        &[],
        Some(b"example body"),
        1234567890,
    );
    assert_eq!(
        s.get("auth_signature"),
        Some("a650196dc427ebe837226f8565ca9232198c6d1b9455eaa72374a9dc0b620e7b")
    );
}

#[test]
fn v6_sdk_request_sorts_extra_params() {
    let extra = [p("foo", "bar"), p("baz", "123454321")];
    let s = RestSignature::sign(
        "f00d",
        &Secret::new("tofu"),
        "GET",
        "/event",
        &extra,
        None,
        1234567890,
    );
    assert_eq!(
        s.get("auth_signature"),
        Some("d8bdbd31911fb7400a14fbd36fd7de053494725b64400ae5856deafe304b34a9")
    );
}

#[test]
fn v7_to_v10_signin_vectors() {
    let tofu = Secret::new("tofu");
    let cases = [
        (
            &tofu,
            "123.456",
            r#"{"id":"45678"}"#,
            "f4b1fdeea7c93e32648c7230e32b172057c5623cace6cfce791c6e7035e0babd",
        ),
        (
            &tofu,
            "123.456",
            r#"{"id":"55555","user_name":"test"}"#,
            "b8a9f173455903792ae2b788add0c4c78ad7372b3ae7fb5769479276a1993743",
        ),
        (
            &Secret::new("1"),
            "123.456",
            r#"{"id":"45678"}"#,
            "79bddf29fe8e2153dd5d8d569b3f45e5aeb26ae2eb4758879d844791b466cfa2",
        ),
        (
            &Secret::new("2"),
            "123.456",
            r#"{"id":"45678"}"#,
            "a542498ffa6faf6de7c17a8106b923c042319bd73acfd1d274df32e269b55d1f",
        ),
        (
            &tofu,
            "1.1",
            r#"{"id":"ą§¶™€łü€ß£"}"#,
            "620494cee53d6c568b49598313194088afda37218f0d059af03c0c898ed61ff4",
        ),
    ];
    for (secret, socket, data, want) in cases {
        assert_eq!(
            signin_auth("any", secret, socket, data),
            format!("any:{want}")
        );
    }
}

#[test]
fn v11_v12_encrypted_and_plain_with_channel_data() {
    let tofu = Secret::new("tofu");
    let a = channel_auth(
        "f00d",
        &tofu,
        "123.456",
        "private-encrypted-bla",
        Some("\"foo\""),
    );
    assert_eq!(
        a,
        "f00d:962c48b78bf93d98ff4c92ee7dff04865821455b7b401e9d60a9e0a90af2c105"
    );
    let ss = shared_secret_base64(
        "private-encrypted-bla",
        "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=",
    )
    .expect("valid key");
    assert_eq!(ss, "nlr49ISQHz91yS3cy/yWmW8wFMNeTnNL5tNHnbPJcLQ=");
    let b = channel_auth("f00d", &tofu, "123.456", "bla", Some("\"foo\""));
    assert_eq!(
        b,
        "f00d:013ad3da0d88e0df6ae0a8184bef50b9c3933f2344499e6e3d1ad67fad799e20"
    );
}

#[test]
fn v13_encrypted_without_channel_data() {
    let a = channel_auth(
        "foo",
        &Secret::new("bar"),
        "345.23",
        "private-encrypted-channel",
        None,
    );
    assert_eq!(
        a,
        "foo:fff0503dfe4929f5162efe4d1dacbce524b0d8e7e1331117a8651c0e74d369e3"
    );
    let ss = shared_secret_base64(
        "private-encrypted-channel",
        "OHRXNUZRTG5pUTFzQlFGd3J3N3Q2VFZFc0paZDEweVk=",
    )
    .expect("valid key");
    assert_eq!(ss, "VmIsNZtCSteh8kazd2toc+ofhohBtUouQRSDtRvuyVI=");
}

#[test]
fn v14_shared_secret_with_raw_master_key() {
    let ss = shared_secret(
        "pvUPIk0YG6MnxCEMIUUVFrbDmQwbhICXUcy",
        b"OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
    );
    assert_eq!(
        hex::encode(ss),
        "709ef3090a24bfa98382cb5d025ca3622c82d31fa27f10b005c0dca27bae6516"
    );
}

#[test]
fn v16_and_d5_webhook_signatures() {
    let body = br#"{"time_ms":1403175510755,"events":[{"channel":"test_channel","name":"channel_vacated"}]}"#;
    assert_eq!(
        webhook_signature(&Secret::new("tofu"), body),
        "c17257e92037cd7de407ebc1ed174ceb7b2e518db127f44411b9ffc4f5b28cc5"
    );
    let d5 = br#"{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"test_channel"}]}"#;
    let sig = "709fdb84c03664445f7698120b0edf0acc1ab1c8c6e93a0368c61841d6b998aa";
    assert_eq!(webhook_signature(&doc_secret(), d5), sig);
    assert!(verify_webhook(&doc_secret(), d5, sig).is_ok());
    assert!(matches!(
        verify_webhook(&doc_secret(), b"x", sig),
        Err(VerifyError::Mismatch { .. })
    ));
    assert!(matches!(
        verify_webhook(&doc_secret(), d5, &sig.to_uppercase()),
        Err(VerifyError::Malformed(_))
    ));
}

#[test]
fn d1_d2_get_requests() {
    let mut d1 = auth_params(KEY, None);
    d1.extend([p("filter_by_prefix", "presence-"), p("info", "user_count")]);
    let s = hmac_hex(
        &doc_secret(),
        &rest_string_to_sign("GET", "/apps/3/channels", &d1),
    );
    assert_eq!(
        s,
        "16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291"
    );
    let d2 = auth_params(KEY, None);
    let s = hmac_hex(
        &doc_secret(),
        &rest_string_to_sign("GET", "/apps/3/channels/presence-foobar/users", &d2),
    );
    assert_eq!(
        s,
        "5567dd30e7f8575e66be615d2aac3f608a0c311c31ddab8513a278b022e9597e"
    );
}

#[test]
fn d3_d4_post_requests() {
    let body =
        br#"{"batch":[{"channel":"my-channel-1","name":"my-event-1","data":"{\"foo\":\"bar\"}"}]}"#;
    assert_eq!(body_md5(body), "4b066a290cff3ccdc5e87a8cb7c2d792");
    let s = RestSignature::sign(
        KEY,
        &doc_secret(),
        "POST",
        "/apps/3/batch_events",
        &[],
        Some(body),
        1353088179,
    );
    assert_eq!(
        s.get("auth_signature"),
        Some("58c18b7a11f3326bb557a150f93445a7756e382b35518e2982f821be61f63bb6")
    );
    let d4 = auth_params(KEY, Some("99914b932bd37a50b983c5e7c90ae93b"));
    let s = hmac_hex(
        &doc_secret(),
        &rest_string_to_sign("POST", "/apps/3/users/12345/terminate_connections", &d4),
    );
    assert_eq!(
        s,
        "01fa634edeb0cae84115307cad5c23f65a46cd286461b1c89637a3b5871a8f0e"
    );
}

#[test]
fn d6_d7_d8_channel_and_signin() {
    let d6 = r#"{"user_id":"10","user_info":{"name":"Mr. Channels"}}"#;
    let a = channel_auth(KEY, &doc_secret(), "1234.1234", "presence-foobar", Some(d6));
    assert_eq!(
        a,
        format!("{KEY}:4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800")
    );
    let a = channel_auth(
        KEY,
        &doc_secret(),
        "1234.1234",
        "private-encrypted-foobar",
        None,
    );
    assert_eq!(
        a,
        format!("{KEY}:e6a18892d037c5d5e76a2265df4f086ffc38631605530dfd214aa5bff495f533")
    );
    let d8 = r#"{"id":"12345","user_info":{"name":"Mr. Channels"},"watchlist":["a","b"]}"#;
    let a = signin_auth(KEY, &doc_secret(), "1234.1234", d8);
    assert_eq!(
        a,
        format!("{KEY}:242307339fe90b73e812565d2e2554ace1e1873f7501755b6d2822129720217d")
    );
}
