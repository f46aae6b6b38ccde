//! One webhook request: its body and signature (9.1), and its delivery with
//! exponential back-off until the retry window closes (9.1, 9.3).

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use reqwest::header::CONTENT_TYPE;
use serde::Serialize;
use sha2::Sha256;
use tokio::time::Instant;

use super::{AppHooks, Counters, WebhookEvent, WebhookSettings};

/// A signed request for one target, ready to send (and resend unchanged).
#[derive(Clone, Debug)]
pub(super) struct Request {
    url: String,
    key: String,
    body: Bytes,
    signature: String,
}

/// The 9.1 body; field order is the documented one.
#[derive(Serialize)]
struct Body<'a> {
    time_ms: u64,
    events: Vec<&'a WebhookEvent>,
}

/// Lowercase hex HMAC-SHA256 of the raw body bytes with the app secret (9.1).
pub(super) fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac accepts keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Milliseconds since the Unix epoch; 0 if the clock is before it.
pub(super) fn unix_time_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One request per target that wants at least one of `events`, carrying only
/// the events it wants, in order.
pub(super) fn requests_for(app: &AppHooks, events: &[WebhookEvent], time_ms: u64) -> Vec<Request> {
    let mut requests = Vec::new();
    for target in &app.targets {
        let wanted: Vec<&WebhookEvent> = events.iter().filter(|e| target.wants(e.kind())).collect();
        if wanted.is_empty() {
            continue;
        }
        let body = match serde_json::to_vec(&Body {
            time_ms,
            events: wanted,
        }) {
            Ok(body) => body,
            Err(err) => {
                tracing::error!(app_id = %app.app_id, error = %err, "webhook body not serialisable");
                continue;
            }
        };
        requests.push(Request {
            url: target.url.clone(),
            key: app.key.clone(),
            signature: sign(
                if app.faults.webhook_wrong_secret() {
                    "wrong"
                } else {
                    &app.secret
                },
                &body,
            ),
            body: Bytes::from(body),
        });
    }
    requests
}

/// Builds the one shared client. `None` (logged) if the TLS backend cannot
/// start; every request is then given up rather than panicking.
pub(super) fn client(settings: &WebhookSettings) -> Option<reqwest::Client> {
    let built = reqwest::Client::builder()
        .timeout(Duration::from_millis(settings.request_timeout_ms))
        // A redirected POST may silently become a GET; treat 3xx as a failure.
        .redirect(reqwest::redirect::Policy::none())
        .build();
    match built {
        Ok(client) => Some(client),
        Err(err) => {
            tracing::error!(error = %chain(&err), "webhook http client failed to start");
            None
        }
    }
}

/// When attempts may start (9.1): `initial`, doubling, none later than
/// `window` after the first.
#[derive(Clone, Copy, Debug)]
pub(super) struct RetryPolicy {
    initial: Duration,
    window: Duration,
}

impl RetryPolicy {
    pub(super) fn new(settings: &WebhookSettings) -> Self {
        RetryPolicy {
            initial: Duration::from_millis(settings.retry_initial_ms),
            window: Duration::from_millis(settings.retry_window_ms),
        }
    }
}

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    #[error("no http client (it failed to start)")]
    NoClient,
    #[error("receiver answered {0}")]
    Status(reqwest::StatusCode),
    #[error("request failed")]
    Transport(#[source] reqwest::Error),
}

impl AttemptError {
    /// Retrying cannot help: no client, or a request that cannot be built
    /// (malformed URL, a key that is not a valid header value).
    fn is_permanent(&self) -> bool {
        match self {
            AttemptError::NoClient => true,
            AttemptError::Status(_) => false,
            AttemptError::Transport(err) => err.is_builder(),
        }
    }
}

/// Sends `request` until a 2xx answer, a permanent error, or the retry window
/// closes, counting each outcome.
pub(super) async fn deliver(
    client: Option<reqwest::Client>,
    request: Request,
    policy: RetryPolicy,
    counters: Arc<Counters>,
) {
    let first = Instant::now();
    let mut delay = policy.initial;
    loop {
        let Err(err) = attempt(client.as_ref(), &request).await else {
            Counters::add(&counters.delivered_requests, 1);
            return;
        };
        Counters::add(&counters.failed_attempts, 1);
        let next = Instant::now() + delay;
        if err.is_permanent() || next.duration_since(first) > policy.window {
            Counters::add(&counters.given_up, 1);
            tracing::warn!(url = %request.url, error = %chain(&err), "webhook given up");
            return;
        }
        tracing::debug!(url = %request.url, error = %chain(&err), ?delay, "webhook retry");
        tokio::time::sleep_until(next).await;
        // Capped by the window so the sum above cannot overflow.
        delay = delay
            .saturating_mul(2)
            .min(policy.window.max(policy.initial));
    }
}

async fn attempt(client: Option<&reqwest::Client>, request: &Request) -> Result<(), AttemptError> {
    let client = client.ok_or(AttemptError::NoClient)?;
    let response = client
        .post(&request.url)
        // Exactly this value: pusher-http-node rejects a charset parameter (9.1).
        .header(CONTENT_TYPE, "application/json")
        .header("X-Pusher-Key", request.key.as_str())
        .header("X-Pusher-Signature", request.signature.as_str())
        .body(request.body.clone())
        .send()
        .await
        .map_err(AttemptError::Transport)?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(AttemptError::Status(status))
    }
}

/// An error and all its sources, for one log field.
fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_vector_v16() {
        let body = r#"{"time_ms":1403175510755,"events":[{"channel":"test_channel","name":"channel_vacated"}]}"#;
        assert_eq!(
            sign("tofu", body.as_bytes()),
            "c17257e92037cd7de407ebc1ed174ceb7b2e518db127f44411b9ffc4f5b28cc5"
        );
    }

    #[test]
    fn signature_matches_vector_d5() {
        let body = r#"{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"test_channel"}]}"#;
        assert_eq!(
            sign("7ad3773142a6692b25b8", body.as_bytes()),
            "709fdb84c03664445f7698120b0edf0acc1ab1c8c6e93a0368c61841d6b998aa"
        );
    }

    #[test]
    fn body_lists_time_then_only_the_wanted_events() {
        let app = AppHooks {
            app_id: "1".into(),
            key: "k".into(),
            secret: "s".into(),
            targets: vec![super::super::WebhookTarget {
                url: "http://127.0.0.1:1/".into(),
                events: Some(vec![super::super::WebhookKind::CacheMiss]),
            }],
            faults: Default::default(),
        };
        let events = [
            WebhookEvent::ChannelOccupied {
                channel: "a".into(),
            },
            WebhookEvent::CacheMiss {
                channel: "cache-a".into(),
            },
        ];
        let requests = requests_for(&app, &events, 7);
        assert_eq!(requests.len(), 1);
        let expected = r#"{"time_ms":7,"events":[{"name":"cache_miss","channel":"cache-a"}]}"#;
        assert_eq!(requests[0].body, expected.as_bytes());
        assert_eq!(requests[0].signature, sign("s", expected.as_bytes()));
    }
}
