//! App credentials: what every signature of spec 5 is made with.

use super::Secret;

/// App credentials: id for REST paths, key for URLs and auth, secret for signing.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// App id (REST path `/apps/{id}`).
    pub app_id: String,
    /// App key (WebSocket path and `auth` prefix).
    pub key: String,
    /// App secret.
    pub secret: Secret,
}

impl Credentials {
    /// Builds credentials from plain strings.
    pub fn new(app_id: &str, key: &str, secret: &str) -> Credentials {
        Credentials {
            app_id: app_id.into(),
            key: key.into(),
            secret: Secret::new(secret),
        }
    }
}
