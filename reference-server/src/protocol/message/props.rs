//! Properties of the server's frame codec (spec 2.1, 2.2): what it encodes
//! parses back, and double-encoded client `data` reads like object `data`.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{Inbound, SubscribeData, channel_event, string_data};

fn json_value() -> impl Strategy<Value = Value> {
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

proptest! {
    #[test]
    fn an_encoded_frame_parses_back_with_its_string_data(
        event in "[a-z:_-]{1,30}", channel in proptest::option::of("[A-Za-z0-9_=@,.;-]{1,40}"),
        value in json_value(),
    ) {
        let text = value.to_string();
        let frame = match &channel {
            Some(c) => channel_event(c, &event, &text),
            None => string_data(&event, None, &text),
        };
        let inbound = Inbound::parse(frame.as_str()).expect("the server's own frames parse");
        prop_assert_eq!(inbound.event.as_ref(), event.as_str());
        prop_assert_eq!(inbound.channel.as_deref(), channel.as_deref());
        let data = inbound.data.expect("data present").get();
        let inner: String = serde_json::from_str(data).expect("data is a JSON string");
        prop_assert_eq!(&inner, &text);
        let back: Value = serde_json::from_str(&inner).expect("the string holds JSON");
        prop_assert_eq!(back, value);
    }

    #[test]
    fn double_encoded_subscribe_data_reads_like_an_object(
        channel in "[A-Za-z0-9_=@,.;-]{1,40}", auth in proptest::option::of("[ -~]{0,80}"),
        channel_data in proptest::option::of(".{0,40}"),
    ) {
        let mut data = json!({"channel": channel});
        if let Some(a) = &auth { data["auth"] = json!(a); }
        if let Some(d) = &channel_data { data["channel_data"] = json!(d); }
        let object = json!({"event": "pusher:subscribe", "data": data}).to_string();
        let string = json!({"event": "pusher:subscribe", "data": data.to_string()}).to_string();
        for text in [&object, &string] {
            let parsed: SubscribeData = Inbound::parse(text)
                .expect("valid envelope")
                .data_as()
                .expect("valid data");
            prop_assert_eq!(&parsed.channel, &channel);
            prop_assert_eq!(&parsed.auth, &auth);
            prop_assert_eq!(&parsed.channel_data, &channel_data);
        }
    }
}
