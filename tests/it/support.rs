//! Shared setup: the bundled servers and a webhook sink on 127.0.0.1:0.

use std::sync::Arc;
use std::time::Duration;

use pushcheck::bundled::{self, Bundled};
use pushcheck::client::WebhookSink;
use pushcheck::conformance::{CaseResult, Env, RunOptions, registry, run, select};
use reference_server::Config;
use serde_json::Value;

/// Runs the selected cases against the bundled servers, both configured by
/// `configure` (slow cases run on the short-timeout server).
pub(crate) async fn run_catalogue(
    prefixes: &[String],
    configure: impl Fn(&mut Config),
) -> (Vec<CaseResult>, Bundled, Arc<WebhookSink>) {
    run_catalogue_settled(prefixes, configure, None).await
}

/// [`run_catalogue`] with the target profile's `settle` set (both servers).
pub(crate) async fn run_catalogue_settled(
    prefixes: &[String],
    configure: impl Fn(&mut Config),
    settle: Option<Duration>,
) -> (Vec<CaseResult>, Bundled, Arc<WebhookSink>) {
    let sink = Arc::new(
        WebhookSink::start("127.0.0.1:0".parse().expect("valid addr"))
            .await
            .expect("sink binds"),
    );
    let mut main = bundled::main_config(sink.local_addr());
    configure(&mut main);
    let mut short = bundled::short_config(sink.local_addr());
    configure(&mut short);
    let b = bundled::start_with(main, short, sink.local_addr())
        .await
        .expect("bundled servers start");
    let mut target = b.target.clone();
    target.profile.settle = settle;
    if let Some(slow) = target.slow.as_mut() {
        slow.target.profile.settle = settle;
    }
    let env = Arc::new(Env {
        target,
        sink: Some(sink.clone()),
        slow: true,
        timeout: Duration::from_secs(2),
    });
    let cases = registry();
    let picked = select(&cases, prefixes, &[]);
    let results = run(&picked, env, &RunOptions::default(), &|_, _, _| {}).await;
    (results, b, sink)
}

/// Validates `value` against the subset of JSON Schema our committed schemas
/// use (`type`, also as a list, `const`, `enum`, `required`, `properties`,
/// `additionalProperties` as `false` or a schema for map values, `items`,
/// `oneOf`, `minimum`, local `$ref`,
/// and `pattern` for the anchored `[a-z0-9-]` id pattern only). Hand-written:
/// the `jsonschema` crate's dependency tree costs minutes to build on a
/// 2-core machine. Returns the first problem with its JSON pointer.
pub(crate) fn validate_schema(
    schema: &Value,
    root: &Value,
    value: &Value,
    at: &str,
) -> Result<(), String> {
    let fail = |what: String| Err(format!("{at}: {what}"));
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = root
            .pointer(r.trim_start_matches('#'))
            .ok_or_else(|| format!("{at}: unresolved $ref {r}"))?;
        return validate_schema(target, root, value, at);
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let ok = options
            .iter()
            .filter(|s| validate_schema(s, root, value, at).is_ok())
            .count();
        if ok != 1 {
            return fail(format!(
                "matches {ok} of the oneOf schemas, not exactly one"
            ));
        }
    }
    if let Some(c) = schema.get("const").filter(|c| *c != value) {
        return fail(format!("{value} is not {c}"));
    }
    if let Some(e) = schema
        .get("enum")
        .and_then(Value::as_array)
        .filter(|e| !e.contains(value))
    {
        return fail(format!("{value} is not one of {e:?}"));
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut type_ok = types.is_empty();
    for t in types {
        type_ok |= match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            other => return fail(format!("validator does not know type {other}")),
        };
    }
    if !type_ok {
        return fail(format!("{value} is not of type {}", schema["type"]));
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) && n < min
    {
        return fail(format!("{n} is below {min}"));
    }
    if let (Some(p), Some(s)) = (
        schema.get("pattern").and_then(Value::as_str),
        value.as_str(),
    ) {
        let segment = |t: &str| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        let parts: Vec<&str> = s.split('/').collect();
        if parts.len() != 3 || !parts.iter().all(|t| segment(t)) {
            return fail(format!("{s:?} does not match {p}"));
        }
    }
    if let Some(required) = schema
        .get("required")
        .and_then(Value::as_array)
        .filter(|_| value.is_object())
    {
        for key in required.iter().filter_map(Value::as_str) {
            if value.get(key).is_none() {
                return fail(format!("missing required {key}"));
            }
        }
    }
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object(),
    ) {
        for (key, v) in obj {
            match props.get(key) {
                Some(s) => validate_schema(s, root, v, &format!("{at}/{key}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return fail(format!("unexpected property {key}"));
                }
                None => {}
            }
        }
    }
    if let (Some(values), Some(obj)) = (
        schema.get("additionalProperties").filter(|a| a.is_object()),
        value.as_object(),
    ) {
        let props = schema.get("properties").and_then(Value::as_object);
        for (key, v) in obj
            .iter()
            .filter(|(k, _)| !props.is_some_and(|p| p.contains_key(*k)))
        {
            validate_schema(values, root, v, &format!("{at}/{key}"))?;
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            validate_schema(items, root, v, &format!("{at}/{i}"))?;
        }
    }
    Ok(())
}
