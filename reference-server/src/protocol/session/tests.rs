//! Session unit tests with explicit instants: no sockets, no sleeps.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::protocol::message::DecodeError;

const SOCKET: &str = "123.456";

fn app() -> AppConfig {
    AppConfig::new("app-id", "app-key", "app-secret")
}

fn session_with(app: AppConfig, now: Instant) -> Session {
    let timers = Timers {
        activity_timeout: Duration::from_secs(120),
        pong_timeout: Duration::from_secs(30),
    };
    Session::new(
        SOCKET.into(),
        Arc::new(app),
        crate::faults::Handle::default(),
        timers,
        now,
    )
}

fn sign(text: &str) -> String {
    format!(
        "app-key:{}",
        auth::sign(
            &crate::config::AppSecret::new("app-secret".into()),
            &[text.as_bytes()]
        )
    )
}

/// The frames a list of actions sends, parsed.
fn sent(actions: &[Action]) -> Vec<Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(frame) => {
                Some(serde_json::from_str(frame.as_str()).expect("frames are JSON"))
            }
            _ => None,
        })
        .collect()
}

fn subscribe(session: &mut Session, data: &Value, now: Instant) -> Vec<Action> {
    session.on_text(
        &json!({"event": "pusher:subscribe", "data": data}).to_string(),
        now,
    )
}

fn is_join(actions: &[Action]) -> bool {
    matches!(actions, [Action::Join(_)])
}

/// A predicate on a refusal's reason.
type Is<T> = fn(&T) -> bool;

/// The first refusal among the actions.
fn refusal(actions: &[Action]) -> Option<&Refusal> {
    actions.iter().find_map(|a| match a {
        Action::Refuse(refusal) => Some(refusal),
        _ => None,
    })
}

fn subscribe_refusal(actions: &[Action]) -> Option<&SubscribeRefusal> {
    match refusal(actions) {
        Some(Refusal::Subscribe(refusal)) => Some(refusal),
        _ => None,
    }
}

#[test]
fn ping_is_answered_with_pong() {
    let now = Instant::now();
    let mut s = session_with(app(), now);
    let frames = sent(&s.on_text(r#"{"event":"pusher:ping","data":{}}"#, now));
    assert_eq!(frames, vec![json!({"event": "pusher:pong", "data": "{}"})]);
}

#[test]
fn silent_client_is_pinged_then_closed_4201() {
    let t0 = Instant::now();
    let mut s = session_with(app(), t0);
    assert!(s.on_tick(t0 + Duration::from_secs(119)).is_empty());
    assert!(matches!(
        s.on_tick(t0 + Duration::from_secs(120)).as_slice(),
        [Action::Ping]
    ));
    assert_eq!(s.next_deadline(), t0 + Duration::from_secs(150));
    assert!(s.on_tick(t0 + Duration::from_secs(149)).is_empty());
    assert!(matches!(
        s.on_tick(t0 + Duration::from_secs(150)).as_slice(),
        [Action::Close(CloseCode::PongTimeout)]
    ));
}

#[test]
fn any_inbound_frame_resets_the_activity_timer() {
    let t0 = Instant::now();
    let mut s = session_with(app(), t0);
    assert!(matches!(
        s.on_tick(t0 + Duration::from_secs(120)).as_slice(),
        [Action::Ping]
    ));
    s.on_text(
        r#"{"event":"pusher:pong","data":{}}"#,
        t0 + Duration::from_secs(121),
    );
    assert!(s.on_tick(t0 + Duration::from_secs(151)).is_empty());
    assert_eq!(s.next_deadline(), t0 + Duration::from_secs(241));
}

#[test]
fn public_subscribe_needs_no_auth_and_duplicates_are_refused() {
    let now = Instant::now();
    let mut s = session_with(app(), now);
    assert!(is_join(&subscribe(
        &mut s,
        &json!({"channel": "news", "auth": ""}),
        now
    )));
    let again = subscribe(&mut s, &json!({"channel": "news"}), now);
    assert!(matches!(
        subscribe_refusal(&again),
        Some(SubscribeRefusal::Duplicate { channel }) if channel == "news"
    ));
    assert_eq!(refusal(&again).and_then(Refusal::code), None);
}

#[test]
fn private_subscribe_checks_the_signature() {
    let now = Instant::now();
    let mut s = session_with(app(), now);
    let good = sign(&format!("{SOCKET}:private-a"));
    let other_channel = sign(&format!("{SOCKET}:private-b"));
    let other_socket = sign("1.1:private-a");
    let missing: Is<AuthError> = |e| matches!(e, AuthError::Missing { .. });
    let forged: Is<AuthError> = |e| matches!(e, AuthError::BadSignature { .. });
    let wrong_key: Is<AuthError> = |e| matches!(e, AuthError::WrongKey { .. });
    let cases: [(Option<&str>, Is<AuthError>); 5] = [
        (None, missing),
        (Some(""), missing),
        (Some(other_channel.as_str()), forged),
        (Some(other_socket.as_str()), forged),
        (Some("app-key"), wrong_key),
    ];
    for (auth, expected) in cases {
        let actions = subscribe(&mut s, &json!({"channel": "private-a", "auth": auth}), now);
        assert!(
            matches!(subscribe_refusal(&actions), Some(SubscribeRefusal::Auth(e)) if expected(e)),
            "{auth:?}: {actions:?}"
        );
    }
    assert!(is_join(&subscribe(
        &mut s,
        &json!({"channel": "private-a", "auth": good}),
        now
    )));
}

#[test]
fn presence_member_comes_from_signed_channel_data() {
    let now = Instant::now();
    let mut s = session_with(app(), now);
    let data = r#"{"user_id":10,"user_info":{"name":"A"}}"#;
    let auth = sign(&format!("{SOCKET}:presence-a:{data}"));
    let altered = r#"{"user_id":10, "user_info":{"name":"A"}}"#;
    let refused = subscribe(
        &mut s,
        &json!({"channel": "presence-a", "auth": auth, "channel_data": altered}),
        now,
    );
    assert!(matches!(
        subscribe_refusal(&refused),
        Some(SubscribeRefusal::Auth(AuthError::BadSignature { .. }))
    ));
    let actions = subscribe(
        &mut s,
        &json!({"channel": "presence-a", "auth": auth, "channel_data": data}),
        now,
    );
    let [Action::Join(join)] = actions.as_slice() else {
        panic!("expected a join, got {actions:?}")
    };
    let member = join.member.as_ref().expect("presence member");
    assert_eq!(member.user_id.as_ref(), "10");
    assert_eq!(
        member.user_info.as_deref().map(RawValue::get),
        Some(r#"{"name":"A"}"#)
    );
}

#[test]
fn presence_limits_on_user_id_and_user_info() {
    let now = Instant::now();
    let mut s = session_with(app(), now);
    let long_id = json!({"user_id": "u".repeat(129)}).to_string();
    let big_info = json!({"user_id": "u", "user_info": {"x": "y".repeat(1100)}}).to_string();
    let not_object = json!({"user_id": "u", "user_info": "x"}).to_string();
    let cases: [(String, Is<MemberRefusal>); 5] = [
        (long_id, |e| {
            matches!(e, MemberRefusal::UserIdTooLong { limit: 128 })
        }),
        (big_info, |e| {
            matches!(e, MemberRefusal::UserInfoTooLarge { limit: 1024 })
        }),
        (not_object, |e| {
            matches!(e, MemberRefusal::UserInfoNotObject)
        }),
        ("[]".to_owned(), |e| matches!(e, MemberRefusal::NotJson(_))),
        ("{\"user_id\":\"\"}".to_owned(), |e| {
            matches!(e, MemberRefusal::BadUserId)
        }),
    ];
    for (data, expected) in cases {
        let auth = sign(&format!("{SOCKET}:presence-a:{data}"));
        let actions = subscribe(
            &mut s,
            &json!({"channel": "presence-a", "auth": auth, "channel_data": data}),
            now,
        );
        assert!(
            matches!(subscribe_refusal(&actions), Some(SubscribeRefusal::Member(e)) if expected(e)),
            "{data}: {actions:?}"
        );
    }
}

fn signin(s: &mut Session, user_data: &str, now: Instant) -> Vec<Action> {
    let auth = sign(&format!("{SOCKET}::user::{user_data}"));
    s.on_text(
        &json!({"event": "pusher:signin", "data": {"auth": auth, "user_data": user_data}})
            .to_string(),
        now,
    )
}

#[test]
fn signin_echoes_user_data_and_enables_own_server_to_user_channel() {
    let now = Instant::now();
    let mut s = session_with(app(), now);
    assert!(matches!(
        subscribe_refusal(&subscribe(
            &mut s,
            &json!({"channel": "#server-to-user-u1"}),
            now
        )),
        Some(SubscribeRefusal::NotSignedInAs { .. })
    ));
    let actions = signin(&mut s, r#"{"id":"u1"}"#, now);
    assert_eq!(
        sent(&actions)[0],
        json!({"event": "pusher:signin_success", "data": {"user_data": r#"{"id":"u1"}"#}})
    );
    assert!(matches!(actions.last(), Some(Action::SignedIn(_))));
    assert!(is_join(&subscribe(
        &mut s,
        &json!({"channel": "#server-to-user-u1"}),
        now
    )));
    assert!(matches!(
        subscribe_refusal(&subscribe(
            &mut s,
            &json!({"channel": "#server-to-user-u2"}),
            now
        )),
        Some(SubscribeRefusal::NotSignedInAs { .. })
    ));
    let other = signin(&mut s, r#"{"id":"u2"}"#, now);
    assert!(matches!(
        refusal(&other),
        Some(Refusal::Signin(SigninRefusal::OtherUser { current })) if current == "u1"
    ));
    assert_eq!(refusal(&other).and_then(Refusal::code), Some(4009));
}

#[test]
fn bad_signins_get_4009() {
    let now = Instant::now();
    let mut s = session_with(app(), now);
    for user_data in [r#"{"id":""}"#, r#"{"name":"x"}"#, r#"{"id":5}"#] {
        let actions = signin(&mut s, user_data, now);
        assert!(
            matches!(
                refusal(&actions),
                Some(Refusal::Signin(SigninRefusal::BadId))
            ),
            "{user_data}"
        );
        assert_eq!(refusal(&actions).and_then(Refusal::code), Some(4009));
    }
    assert!(matches!(
        refusal(&signin(&mut s, "nope", now)),
        Some(Refusal::Signin(SigninRefusal::BadUserData(_)))
    ));
    let forged = json!({"event": "pusher:signin", "data": {"auth": "app-key:00", "user_data": "{\"id\":\"u\"}"}});
    assert!(matches!(
        refusal(&s.on_text(&forged.to_string(), now)),
        Some(Refusal::Signin(SigninRefusal::Auth(
            AuthError::BadSignature { .. }
        )))
    ));
    assert!(s.user_id().is_none());
}

#[test]
fn watchlist_over_the_limit_is_truncated_with_4302() {
    let now = Instant::now();
    let mut s = session_with(app(), now);
    let ids: Vec<String> = (0..101).map(|i| format!("w{i}")).collect();
    let actions = signin(
        &mut s,
        &json!({"id": "u1", "watchlist": ids}).to_string(),
        now,
    );
    let truncated = refusal(&actions).expect("a 4302 warning");
    assert!(matches!(
        truncated,
        Refusal::WatchlistTruncated { limit: 100 }
    ));
    assert_eq!(truncated.code(), Some(4302));
    let Some(Action::SignedIn(signed_in)) = actions.last() else {
        panic!("expected sign-in")
    };
    assert_eq!(signed_in.watchlist.len(), 100);
}

fn trigger(s: &mut Session, channel: &str, event: &str, now: Instant) -> Vec<Action> {
    s.on_text(
        &json!({"event": event, "channel": channel, "data": {"n": 1}, "user_id": "spoof"})
            .to_string(),
        now,
    )
}

#[test]
fn client_events_need_a_private_or_presence_subscription() {
    let now = Instant::now();
    let mut s = session_with(app(), now);
    subscribe(&mut s, &json!({"channel": "public"}), now);
    subscribe(
        &mut s,
        &json!({"channel": "private-encrypted-a", "auth": sign(&format!("{SOCKET}:private-encrypted-a"))}),
        now,
    );
    for channel in ["public", "cache-a", "private-encrypted-a"] {
        assert!(
            matches!(
                refusal(&trigger(&mut s, channel, "client-x", now)),
                Some(Refusal::ClientEvent(
                    ClientEventRefusal::WrongChannelKind { .. }
                ))
            ),
            "{channel}"
        );
    }
    assert!(matches!(
        refusal(&trigger(&mut s, "private-not-joined", "client-x", now)),
        Some(Refusal::ClientEvent(
            ClientEventRefusal::NotSubscribed { .. }
        ))
    ));
    subscribe(
        &mut s,
        &json!({"channel": "private-a", "auth": sign(&format!("{SOCKET}:private-a"))}),
        now,
    );
    assert!(matches!(
        refusal(&trigger(&mut s, "private-a", "not-client", now)),
        Some(Refusal::UnsupportedEvent { name }) if name == "not-client"
    ));
    let actions = trigger(&mut s, "private-a", "client-x", now);
    let [Action::ClientEvent(event)] = actions.as_slice() else {
        panic!("expected relay, got {actions:?}")
    };
    assert_eq!(
        event.frame.as_str(),
        r#"{"event":"client-x","channel":"private-a","data":{"n":1}}"#
    );
}

#[test]
fn presence_client_events_carry_the_server_user_id() {
    let now = Instant::now();
    let mut s = session_with(app(), now);
    let data = r#"{"user_id":"u1"}"#;
    let auth = sign(&format!("{SOCKET}:presence-a:{data}"));
    subscribe(
        &mut s,
        &json!({"channel": "presence-a", "auth": auth, "channel_data": data}),
        now,
    );
    let actions = trigger(&mut s, "presence-a", "client-x", now);
    let [Action::ClientEvent(event)] = actions.as_slice() else {
        panic!("expected relay")
    };
    let frame: Value = serde_json::from_str(event.frame.as_str()).expect("JSON");
    assert_eq!(frame["user_id"], "u1");
}

#[test]
fn client_events_are_limited_to_ten_per_second() {
    let t0 = Instant::now();
    let mut s = session_with(app(), t0);
    subscribe(
        &mut s,
        &json!({"channel": "private-a", "auth": sign(&format!("{SOCKET}:private-a"))}),
        t0,
    );
    let relayed = (0..30)
        .filter(|_| {
            matches!(
                trigger(&mut s, "private-a", "client-x", t0).as_slice(),
                [Action::ClientEvent(_)]
            )
        })
        .count();
    assert_eq!(relayed, 10);
    let limited = trigger(&mut s, "private-a", "client-x", t0);
    assert!(matches!(
        refusal(&limited),
        Some(Refusal::ClientEvent(ClientEventRefusal::RateLimited))
    ));
    assert_eq!(refusal(&limited).and_then(Refusal::code), Some(4301));
    let later = t0 + Duration::from_millis(500);
    let relayed = (0..30)
        .filter(|_| {
            matches!(
                trigger(&mut s, "private-a", "client-x", later).as_slice(),
                [Action::ClientEvent(_)]
            )
        })
        .count();
    assert_eq!(relayed, 5);
}

#[test]
fn disabled_client_events_are_refused() {
    let now = Instant::now();
    let mut s = session_with(
        AppConfig {
            client_events: false,
            ..app()
        },
        now,
    );
    subscribe(
        &mut s,
        &json!({"channel": "private-a", "auth": sign(&format!("{SOCKET}:private-a"))}),
        now,
    );
    assert!(matches!(
        refusal(&trigger(&mut s, "private-a", "client-x", now)),
        Some(Refusal::ClientEvent(ClientEventRefusal::Disabled))
    ));
}

#[test]
fn malformed_frames_get_an_error_and_the_session_goes_on() {
    let now = Instant::now();
    let mut s = session_with(app(), now);
    let envelope: Is<DecodeError> = |e| matches!(e, DecodeError::Envelope(_));
    let missing: Is<DecodeError> = |e| matches!(e, DecodeError::MissingData { .. });
    let bad_data: Is<DecodeError> = |e| matches!(e, DecodeError::Data { .. });
    let cases: [(&str, Is<DecodeError>); 7] = [
        ("", envelope),
        ("nope", envelope),
        ("[]", envelope),
        ("{}", envelope),
        (r#"{"event":5}"#, envelope),
        (r#"{"event":"pusher:subscribe"}"#, missing),
        (r#"{"event":"pusher:subscribe","data":"{"}"#, bad_data),
    ];
    for (text, expected) in cases {
        let actions = s.on_text(text, now);
        assert!(
            matches!(refusal(&actions), Some(Refusal::Decode(e)) if expected(e)),
            "{text}: {actions:?}"
        );
    }
    assert!(matches!(
        refusal(&s.on_text(r#"{"event":"pusher:bogus"}"#, now)),
        Some(Refusal::UnsupportedEvent { .. })
    ));
    assert_eq!(
        sent(&s.on_text(r#"{"event":"pusher:ping"}"#, now))[0]["event"],
        "pusher:pong"
    );
}

#[test]
fn unsubscribe_of_an_unknown_channel_is_an_error() {
    let now = Instant::now();
    let mut s = session_with(app(), now);
    let text = r#"{"event":"pusher:unsubscribe","data":{"channel":"x"}}"#;
    assert!(matches!(
        refusal(&s.on_text(text, now)),
        Some(Refusal::NotSubscribed { channel }) if channel == "x"
    ));
    subscribe(&mut s, &json!({"channel": "x"}), now);
    assert!(matches!(
        s.on_text(text, now).as_slice(),
        [Action::Leave { .. }]
    ));
    assert_eq!(s.channels().count(), 0);
}

/// Frames a fuzzing client might send: valid-looking protocol events with
/// arbitrary fields, and garbage.
fn arb_frame() -> impl Strategy<Value = String> {
    let channel = prop_oneof![
        Just("a".to_owned()),
        Just("private-a".to_owned()),
        Just("presence-a".to_owned()),
        Just("#server-to-user-u".to_owned()),
        "[a-z#-]{0,12}",
    ];
    let event = prop_oneof![
        Just("pusher:subscribe"),
        Just("pusher:unsubscribe"),
        Just("pusher:signin"),
        Just("pusher:ping"),
        Just("client-x"),
        Just("other"),
    ];
    prop_oneof![
        (event, channel, ".{0,40}").prop_map(|(event, channel, junk)| {
            json!({"event": event, "channel": channel, "data": {"channel": channel, "auth": junk, "channel_data": junk, "user_data": junk}})
                .to_string()
        }),
        ".{0,60}",
    ]
}

proptest! {
    #[test]
    fn no_frame_sequence_panics_or_grows_without_bound(frames in proptest::collection::vec(arb_frame(), 0..200)) {
        let t0 = Instant::now();
        let mut s = session_with(app(), t0);
        for (i, frame) in frames.iter().enumerate() {
            let now = t0 + Duration::from_millis(i as u64 * 10);
            let actions = s.on_text(frame, now);
            prop_assert!(actions.len() <= 3);
            s.on_tick(now);
        }
        // Every subscription took one distinct, successful subscribe frame.
        prop_assert!(s.channels().count() <= frames.len());
        prop_assert!(s.subscriptions.values().all(|sub| sub.user_id.is_none()));
    }
}
