//! A signed HTTP API client (spec 5.5, 8) whose every part can be tampered with.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::WAIT;
use super::sign::{hmac_hex, md5_hex, rest_string};

/// A status and body.
#[derive(Debug)]
pub(crate) struct Reply {
    /// HTTP status.
    pub(crate) status: u16,
    /// Body text.
    pub(crate) body: String,
}

impl Reply {
    /// The body as JSON; panics with the body when it is not.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// Asserts 200 and returns the JSON body.
    pub(crate) fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "body: {}", self.body);
        self.json()
    }
}

/// The HTTP API of one app.
#[derive(Clone, Debug)]
pub(crate) struct Rest {
    http: reqwest::Client,
    addr: SocketAddr,
    app_id: String,
    key: String,
    secret: String,
}

/// One request; built signed, then freely altered before [`Call::send`].
#[derive(Debug)]
pub(crate) struct Call {
    /// `GET` or `POST`.
    pub(crate) method: &'static str,
    /// The path signed and requested.
    pub(crate) path: String,
    /// Query parameters other than the `auth_*` ones and `body_md5`.
    pub(crate) params: Vec<(String, String)>,
    /// The body signed (through `body_md5`).
    pub(crate) body: Vec<u8>,
    /// The body actually sent; `None` sends `body`.
    pub(crate) sent_body: Option<Vec<u8>>,
    /// `auth_key`.
    pub(crate) key: String,
    /// The secret signed with.
    pub(crate) secret: String,
    /// `auth_timestamp`.
    pub(crate) timestamp: u64,
    /// `body_md5`: `None` means the MD5 of `body` when it is non-empty, else absent.
    pub(crate) body_md5: Option<String>,
    rest: Rest,
}

/// Seconds since the epoch, as signers put in `auth_timestamp`.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

impl Rest {
    /// A client for the app `app_id` with these credentials.
    pub(crate) fn new(addr: SocketAddr, app_id: &str, key: &str, secret: &str) -> Rest {
        Rest {
            // Plain HTTP on loopback: no proxy, and no root store to load
            // (loading it costs ~40 ms per client).
            http: reqwest::Client::builder()
                .no_proxy()
                .tls_certs_only([])
                .build()
                .expect("HTTP client"),
            addr,
            app_id: app_id.to_owned(),
            key: key.to_owned(),
            secret: secret.to_owned(),
        }
    }

    /// The same server with other credentials.
    pub(crate) fn as_app(&self, app_id: &str, key: &str, secret: &str) -> Rest {
        Rest {
            app_id: app_id.to_owned(),
            key: key.to_owned(),
            secret: secret.to_owned(),
            ..self.clone()
        }
    }

    /// A signed call on `/apps/{id}{suffix}`.
    pub(crate) fn call(&self, method: &'static str, suffix: &str) -> Call {
        Call {
            method,
            path: format!("/apps/{}{suffix}", self.app_id),
            params: Vec::new(),
            body: Vec::new(),
            sent_body: None,
            key: self.key.clone(),
            secret: self.secret.clone(),
            timestamp: unix_now(),
            body_md5: None,
            rest: self.clone(),
        }
    }

    /// `POST /apps/{id}{suffix}` with a JSON body.
    pub(crate) async fn post(&self, suffix: &str, body: &Value) -> Reply {
        self.call("POST", suffix).body(body).send().await
    }

    /// `GET /apps/{id}{suffix}?params`.
    pub(crate) async fn get(&self, suffix: &str, params: &[(&str, &str)]) -> Reply {
        let mut call = self.call("GET", suffix);
        call.params = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        call.send().await
    }

    /// Publishes one event to one channel and asserts 200.
    pub(crate) async fn publish(&self, channel: &str, name: &str, data: &str) {
        let body = serde_json::json!({"name": name, "channel": channel, "data": data});
        self.post("/events", &body).await.ok();
    }
}

impl Call {
    /// Sets the JSON body.
    pub(crate) fn body(mut self, body: &Value) -> Call {
        self.body = body.to_string().into_bytes();
        self
    }

    /// The query parameters as signed, `auth_signature` last.
    pub(crate) fn signed_params(&self) -> Vec<(String, String)> {
        let mut params = self.params.clone();
        params.push(("auth_key".into(), self.key.clone()));
        params.push(("auth_timestamp".into(), self.timestamp.to_string()));
        params.push(("auth_version".into(), "1.0".into()));
        match &self.body_md5 {
            Some(md5) => params.push(("body_md5".into(), md5.clone())),
            None if !self.body.is_empty() => params.push(("body_md5".into(), md5_hex(&self.body))),
            None => {}
        }
        let text = rest_string(self.method, &self.path, &params);
        params.push((
            "auth_signature".into(),
            hmac_hex(&self.secret, text.as_bytes()),
        ));
        params
    }

    /// Sends the request with a query built from `params` as given.
    pub(crate) async fn send_with(self, params: &[(String, String)]) -> Reply {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let url = format!("http://{}{}?{query}", self.rest.addr, self.path);
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).expect("valid method");
        let body = self.sent_body.unwrap_or(self.body);
        let mut request = self.rest.http.request(method, url);
        if !body.is_empty() {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = tokio::time::timeout(WAIT, request.send())
            .await
            .expect("reply within the deadline")
            .expect("HTTP request succeeds");
        let status = response.status().as_u16();
        let body = response.text().await.expect("body");
        Reply { status, body }
    }

    /// Signs and sends.
    pub(crate) async fn send(self) -> Reply {
        let params = self.signed_params();
        self.send_with(&params).await
    }
}
