//! RestClient: signed HTTP API requests (spec 5.5, 8), including tampered,
//! stale and replayed ones for the forgery cases.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::TlsTrust;
use super::journal::{Channel, Direction, Journal, Payload};
use crate::signing::Credentials;
use crate::signing::{RestSignature, Secret, body_md5};

/// Errors of the HTTP transport (not target misbehaviour).
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// The request could not be sent or the response not read.
    #[error("http request {method} {url} failed")]
    Http {
        /// Method.
        method: String,
        /// Full URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The URL could not be built.
    #[error("invalid url {0:?}")]
    Url(String),
}

/// A response: status and body text.
#[derive(Debug, Clone)]
pub struct RestResponse {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
}

impl RestResponse {
    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// `"HTTP 401: <body>"`, for violation messages.
    pub fn describe(&self) -> String {
        let body: String = self.body.chars().take(300).collect();
        format!("HTTP {} {body}", self.status)
    }
}

/// A fully built request that can be sent again unchanged (replay).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// `GET` or `POST`.
    pub method: String,
    /// Full URL including the signed query.
    pub url: String,
    /// Body bytes sent.
    pub body: Option<Vec<u8>>,
}

/// A request under construction; every `with_*` is a deliberate deviation.
#[derive(Debug, Clone)]
pub struct RestRequest {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    key: String,
    secret: Secret,
    timestamp_offset: i64,
    md5_of_empty_body: bool,
    sent_body: Option<Vec<u8>>,
    break_signature: bool,
    auth_version: Option<String>,
    after_signing: Vec<AfterSigning>,
}

/// A change made to a request after it was signed (the signature-binding cases).
#[derive(Debug, Clone)]
enum AfterSigning {
    /// A query parameter appended, unsigned.
    Append(String, String),
    /// A parameter left out (the rest re-signed without it).
    Remove(String),
    /// A signed parameter's value changed.
    Change(String, String),
    /// Another body sent, with its own correct `body_md5`.
    SwapBody(Vec<u8>),
    /// Sent with another method than signed.
    Method(String),
    /// Sent to another path than signed.
    Path(String),
}

impl RestRequest {
    /// Adds a query parameter (signed).
    pub fn query(mut self, key: &str, value: &str) -> RestRequest {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: &Value) -> RestRequest {
        self.body = Some(body.to_string().into_bytes());
        self
    }

    /// Sets raw body bytes (signed, like [`Self::json`]).
    pub fn with_body(mut self, body: &[u8]) -> RestRequest {
        self.body = Some(body.to_vec());
        self
    }

    /// Signs with another key.
    pub fn with_key(mut self, key: &str) -> RestRequest {
        self.key = key.into();
        self
    }

    /// Signs with another secret.
    pub fn with_secret(mut self, secret: &str) -> RestRequest {
        self.secret = Secret::new(secret);
        self
    }

    /// Shifts `auth_timestamp` by this many seconds from now.
    pub fn with_timestamp_offset(mut self, seconds: i64) -> RestRequest {
        self.timestamp_offset = seconds;
        self
    }

    /// Adds `body_md5` of the empty body on a bodiless request (as SDKs do on GET).
    pub fn with_empty_body_md5(mut self) -> RestRequest {
        self.md5_of_empty_body = true;
        self
    }

    /// Sends these bytes instead of the signed body.
    pub fn with_sent_body(mut self, body: &[u8]) -> RestRequest {
        self.sent_body = Some(body.to_vec());
        self
    }

    /// Flips one hex digit of the signature.
    pub fn with_broken_signature(mut self) -> RestRequest {
        self.break_signature = true;
        self
    }

    /// Replaces `auth_version` (the signature covers the new value).
    pub fn with_auth_version(mut self, version: &str) -> RestRequest {
        self.auth_version = Some(version.into());
        self
    }

    /// Appends a query parameter after signing (not covered by the signature).
    pub fn with_unsigned_query(mut self, key: &str, value: &str) -> RestRequest {
        self.after_signing
            .push(AfterSigning::Append(key.into(), value.into()));
        self
    }

    /// Leaves out a parameter (e.g. `auth_key`): the request is signed
    /// without it, so only its absence is wrong (`auth_signature` is simply
    /// not sent).
    pub fn without_param(mut self, key: &str) -> RestRequest {
        self.after_signing.push(AfterSigning::Remove(key.into()));
        self
    }

    /// Changes the value of a signed query parameter after signing.
    pub fn with_changed_param(mut self, key: &str, value: &str) -> RestRequest {
        self.after_signing
            .push(AfterSigning::Change(key.into(), value.into()));
        self
    }

    /// Sends `body` with its own correct `body_md5`, keeping the signature
    /// made for the original body.
    pub fn with_swapped_body(mut self, body: &[u8]) -> RestRequest {
        self.after_signing
            .push(AfterSigning::SwapBody(body.to_vec()));
        self
    }

    /// Sends with `method` a request signed for its own method.
    pub fn sent_as(mut self, method: &str) -> RestRequest {
        self.after_signing.push(AfterSigning::Method(method.into()));
        self
    }

    /// Sends to `/apps/{id}{suffix}` a request signed for its own path.
    pub fn sent_to(mut self, suffix: &str) -> RestRequest {
        let app = self.path.split('/').nth(2).unwrap_or("").to_owned();
        self.after_signing
            .push(AfterSigning::Path(format!("/apps/{app}{suffix}")));
        self
    }

    /// Signs and renders the request against `base`.
    pub fn prepare(&self, base: &str) -> Prepared {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        let ts = now.saturating_add_signed(self.timestamp_offset);
        let signed_body = match (&self.body, self.md5_of_empty_body) {
            (Some(b), _) => Some(b.as_slice()),
            (None, true) => Some(&b""[..]),
            (None, false) => None,
        };
        let mut sig = RestSignature::sign(
            &self.key,
            &self.secret,
            &self.method,
            &self.path,
            &self.query,
            signed_body,
            ts,
        );
        if let Some(version) = &self.auth_version {
            sig = resign_with_version(sig, version, &self.secret, &self.method, &self.path);
        }
        if self.break_signature {
            flip_signature(&mut sig);
        }
        let mut prepared = Prepared {
            method: self.method.clone(),
            url: String::new(),
            body: self.sent_body.clone().or_else(|| self.body.clone()),
        };
        let mut path = self.path.clone();
        for change in &self.after_signing {
            match change {
                AfterSigning::Append(k, v) => sig.params.push((k.clone(), v.clone())),
                AfterSigning::Remove(k) if k == "auth_signature" => {
                    sig.params.retain(|(key, _)| key != k);
                }
                AfterSigning::Remove(k) => {
                    sig.params
                        .retain(|(key, _)| key != k && key != "auth_signature");
                    let text =
                        crate::signing::rest_string_to_sign(&self.method, &self.path, &sig.params);
                    let s = crate::signing::hmac_hex(&self.secret, &text);
                    sig.params.push(("auth_signature".into(), s));
                }
                AfterSigning::Change(k, v) => {
                    for (key, value) in &mut sig.params {
                        if key == k {
                            value.clone_from(v);
                        }
                    }
                }
                AfterSigning::SwapBody(body) => {
                    for (k, v) in &mut sig.params {
                        if k == "body_md5" {
                            *v = body_md5(body);
                        }
                    }
                    prepared.body = Some(body.clone());
                }
                AfterSigning::Method(m) => prepared.method.clone_from(m),
                AfterSigning::Path(p) => path.clone_from(p),
            }
        }
        let mut url = format!("{base}{path}?");
        for (i, (k, v)) in sig.params.iter().enumerate() {
            if i > 0 {
                url.push('&');
            }
            // Writing into a String cannot fail.
            let _ = write!(url, "{}={}", encode(k), encode(v));
        }
        prepared.url = url;
        prepared
    }
}

fn resign_with_version(
    sig: RestSignature,
    version: &str,
    secret: &Secret,
    method: &str,
    path: &str,
) -> RestSignature {
    let mut params: Vec<(String, String)> = sig
        .params
        .into_iter()
        .filter(|(k, _)| k != "auth_signature")
        .collect();
    for (k, v) in &mut params {
        if k == "auth_version" {
            *v = version.into();
        }
    }
    let s = crate::signing::hmac_hex(
        secret,
        &crate::signing::rest_string_to_sign(method, path, &params),
    );
    params.push(("auth_signature".into(), s));
    RestSignature { params }
}

fn flip_signature(sig: &mut RestSignature) {
    for (k, v) in &mut sig.params {
        if k == "auth_signature" {
            let first = if v.starts_with('0') { "1" } else { "0" };
            *v = format!("{first}{}", &v[1..]);
        }
    }
}

/// Everything but RFC 3986's unreserved characters is percent-encoded.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a query component (RFC 3986 unreserved characters kept).
fn encode(s: &str) -> percent_encoding::PercentEncode<'_> {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE)
}

/// A signed HTTP API client for one app of a target.
#[derive(Debug, Clone)]
pub struct RestClient {
    http: reqwest::Client,
    base: String,
    credentials: Credentials,
    journal: Option<std::sync::Arc<Journal>>,
}

impl RestClient {
    /// A client for `base` (`http://host:port`) signing as `credentials`.
    pub fn new(base: &str, credentials: Credentials, timeout: Duration) -> RestClient {
        RestClient::with_tls(base, credentials, timeout, &TlsTrust::default())
    }

    /// [`Self::new`] trusting `tls` for an `https://` base.
    pub fn with_tls(
        base: &str,
        credentials: Credentials,
        timeout: Duration,
        tls: &TlsTrust,
    ) -> RestClient {
        // A failed build falls back to a client that trusts less, never
        // more: an https target then fails as a harness error, not a pass.
        let http = tls
            .apply(reqwest::Client::builder().timeout(timeout))
            .build()
            .unwrap_or_default();
        RestClient {
            http,
            base: base.into(),
            credentials,
            journal: None,
        }
    }

    /// Records every request and response into `journal`.
    pub fn with_journal(mut self, journal: std::sync::Arc<Journal>) -> RestClient {
        self.journal = Some(journal);
        self
    }

    fn note(&self, direction: Direction, text: String) {
        if let Some(j) = &self.journal {
            j.record(Channel::Http, direction, Payload::Http(text));
        }
    }

    /// The app these requests sign for.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Starts a request on `/apps/{id}{suffix}`.
    pub fn request(&self, method: &str, suffix: &str) -> RestRequest {
        RestRequest {
            method: method.into(),
            path: format!("/apps/{}{suffix}", self.credentials.app_id),
            query: Vec::new(),
            body: None,
            key: self.credentials.key.clone(),
            secret: self.credentials.secret.clone(),
            timestamp_offset: 0,
            md5_of_empty_body: false,
            sent_body: None,
            break_signature: false,
            auth_version: None,
            after_signing: Vec::new(),
        }
    }

    /// Signs and sends.
    pub async fn send(&self, request: &RestRequest) -> Result<RestResponse, RestError> {
        self.send_prepared(&request.prepare(&self.base)).await
    }

    /// Sends a prepared request as is (for replays).
    pub async fn send_prepared(&self, p: &Prepared) -> Result<RestResponse, RestError> {
        let err = |source| RestError::Http {
            method: p.method.clone(),
            url: p.url.clone(),
            source,
        };
        let method = reqwest::Method::from_bytes(p.method.as_bytes())
            .map_err(|_| RestError::Url(p.method.clone()))?;
        let body_text = p.body.as_deref().map(String::from_utf8_lossy);
        let sent = format!("{} {} {}", p.method, p.url, body_text.unwrap_or_default());
        self.note(Direction::Sent, sent.trim_end().to_owned());
        let mut req = self.http.request(method, &p.url);
        if let Some(body) = &p.body {
            req = req
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let resp = req.send().await.map_err(err)?;
        let status = resp.status().as_u16();
        let body = resp.text().await.map_err(err)?;
        self.note(Direction::Received, format!("HTTP {status} {body}"));
        Ok(RestResponse { status, body })
    }

    /// Publishes one event: `POST /events` with `{name, channel(s), data}` plus `extra` fields.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), pushcheck::client::RestError> {
    /// use std::time::Duration;
    ///
    /// use pushcheck::client::{RestClient, TlsTrust};
    /// use pushcheck::target::Credentials;
    ///
    /// let tls = TlsTrust::with_ca_file("ca.pem").expect("a PEM CA");
    /// let creds = Credentials::new("app-id", "app-key", "app-secret");
    /// let rest = RestClient::with_tls("https://127.0.0.1:6002", creds, Duration::from_secs(2), &tls);
    /// let resp = rest
    ///     .publish(&["orders"], "created", r#"{"id":1}"#, serde_json::json!({"socket_id": "1.2"}))
    ///     .await?;
    /// assert_eq!(resp.status, 200);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn publish(
        &self,
        channels: &[&str],
        name: &str,
        data: &str,
        extra: Value,
    ) -> Result<RestResponse, RestError> {
        let mut body = serde_json::json!({"name": name, "channels": channels, "data": data});
        if let (Some(obj), Value::Object(more)) = (body.as_object_mut(), extra) {
            obj.extend(more);
        }
        self.send(&self.request("POST", "/events").json(&body))
            .await
    }

    /// The body MD5 helper re-exported for cases that build bodies by hand.
    pub fn md5(body: &[u8]) -> String {
        body_md5(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_urls_encode_values_and_sign_the_raw_ones() {
        let c = RestClient::new(
            "http://h",
            Credentials::new("3", "k", "s"),
            Duration::from_secs(1),
        );
        let p = c
            .request("GET", "/channels")
            .query("filter_by_prefix", "presence-a b")
            .prepare("http://h");
        assert!(
            p.url
                .starts_with("http://h/apps/3/channels?filter_by_prefix=presence-a%20b&auth_key=k")
        );
        assert!(p.url.contains("auth_signature="));
        let odd = c
            .request("GET", "/channels")
            .query("filter_by_prefix", "a-_.~/:&=é")
            .prepare("http://h");
        assert!(
            odd.url
                .contains("?filter_by_prefix=a-_.~%2F%3A%26%3D%C3%A9&")
        );
        let broken = c
            .request("GET", "/channels")
            .with_broken_signature()
            .prepare("http://h");
        assert_ne!(
            broken.url,
            c.request("GET", "/channels").prepare("http://h").url
        );
    }
}
