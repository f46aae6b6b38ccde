//! Signed HTTP publishes (spec 5.5, 8.2) and the timing of their fan-out.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

use crate::client::Tally;

/// The app whose HTTP API is called.
#[derive(Debug)]
pub(crate) struct Credentials {
    pub(crate) app_id: String,
    pub(crate) key: String,
    pub(crate) secret: String,
}

/// The query string of a signed request: the auth parameters sorted by key,
/// then `auth_signature` over `METHOD\nPATH\nPARAMS` (spec 5.5).
fn signed_query(
    credentials: &Credentials,
    method: &str,
    path: &str,
    body: &[u8],
    timestamp: u64,
) -> String {
    let body_md5 = hex::encode(Md5::digest(body));
    let params = format!(
        "auth_key={}&auth_timestamp={timestamp}&auth_version=1.0&body_md5={body_md5}",
        credentials.key
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(credentials.secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(format!("{method}\n{path}\n{params}").as_bytes());
    format!(
        "{params}&auth_signature={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Timing of one publish, measured from just before the request was sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    pub(crate) index: usize,
    pub(crate) delivered: usize,
    pub(crate) response: Duration,
    pub(crate) to_first: Duration,
    pub(crate) to_last: Duration,
}

impl Sample {
    pub(crate) fn deliveries_per_sec(&self) -> f64 {
        self.delivered as f64 / self.to_last.as_secs_f64()
    }
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        write!(
            f,
            "publish {:>3}: {} delivered; HTTP response {:.2} ms, first {:.2} ms, last {:.2} ms, {:.0} deliveries/s",
            self.index,
            self.delivered,
            ms(self.response),
            ms(self.to_first),
            ms(self.to_last),
            self.deliveries_per_sec()
        )
    }
}

/// Publishes numbered events to the fan-out channel over one keep-alive HTTP connection.
#[derive(Debug)]
pub(crate) struct Publisher {
    http: reqwest::Client,
    base: String,
    path: String,
    credentials: Credentials,
    channel: &'static str,
    padding: String,
}

impl Publisher {
    pub(crate) fn new(
        base: String,
        credentials: Credentials,
        channel: &'static str,
        payload_bytes: usize,
    ) -> Result<Publisher, String> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let path = format!("/apps/{}/events", credentials.app_id);
        // `data` is `<index>:<padding>`; six bytes are left for the index.
        let padding = "x".repeat(payload_bytes.saturating_sub(6).max(1));
        Ok(Publisher {
            http,
            base,
            path,
            credentials,
            channel,
            padding,
        })
    }

    /// Publishes event `index` and waits until `expected` subscribers have it.
    pub(crate) async fn publish(
        &self,
        tally: &Arc<Tally>,
        index: usize,
        expected: usize,
        timeout: Duration,
    ) -> Result<Sample, String> {
        let data = format!("{index}:{}", self.padding);
        let body = serde_json::json!({ "name": crate::client::EVENT, "channel": self.channel, "data": data }).to_string();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();
        let query = signed_query(
            &self.credentials,
            "POST",
            &self.path,
            body.as_bytes(),
            timestamp,
        );
        let url = format!("{}{}?{query}", self.base, self.path);
        let request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body);
        let start = tally.now();
        let response = request
            .send()
            .await
            .map_err(|e| format!("publish {index}: {e}"))?;
        let responded = tally.now();
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(format!("publish {index}: HTTP {status}: {text}"));
        }
        let arrivals = tally.arrivals(index);
        if !arrivals.wait_for(expected, timeout).await {
            return Err(format!(
                "publish {index}: {} of {expected} subscribers had it after {timeout:?}",
                arrivals.count()
            ));
        }
        Ok(Sample {
            index,
            delivered: arrivals.count(),
            response: responded - start,
            to_first: arrivals.first() - start,
            to_last: arrivals.last() - start,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_documented_rest_example() {
        // Spec 5.6 V4.
        let credentials = Credentials {
            app_id: "3".into(),
            key: "278d425bdf160c739803".into(),
            secret: "7ad3773142a6692b25b8".into(),
        };
        let body = br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
        let query = signed_query(&credentials, "POST", "/apps/3/events", body, 1353088179);
        assert_eq!(
            query,
            "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f\
             &auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
        );
    }
}
