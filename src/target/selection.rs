//! Which targets a subcommand runs against: `--target` (any number, each
//! `[NAME=]URL`), else `PUSHER_HOST` / `PUSHER_PORT` / `PUSHER_SCHEME`, else
//! none (the caller starts the bundled server). Credentials come from
//! `--app-id`, `--key`, `--secret` or `PUSHER_APP_ID`, `PUSHER_APP_KEY`,
//! `PUSHER_APP_SECRET`, then the key of a `/app/KEY` URL, then the open
//! servers' defaults `app-id` / `app-key` / `app-secret`.

use super::{Address, Credentials, Profile, Target, TargetError, TargetList};
use crate::client::TlsTrust;

/// Where the targets are, as plain data (the command layer fills it from
/// flags and the environment).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `[NAME=]URL` per target.
    pub urls: Vec<String>,
    /// REST base URL (default derived from the target).
    pub rest_url: Option<String>,
    /// PEM file of a CA to trust for `wss://` and `https://`.
    pub ca_cert: Option<String>,
    /// App id.
    pub app_id: Option<String>,
    /// App key.
    pub key: Option<String>,
    /// App secret.
    pub secret: Option<String>,
    /// Host, when no URL is given.
    pub host: Option<String>,
    /// Port, with `host`.
    pub port: Option<String>,
    /// `ws`, `wss`, `http` or `https`, with `host`.
    pub scheme: Option<String>,
    /// A `--target-config` list of further targets.
    pub target_config: Option<String>,
    /// Capability profile of the targets given by URL.
    pub profile: Profile,
}

/// Splits `name=URL`; a `=` inside the URL (a query) is not a name.
fn split_name(text: &str) -> (&str, &str) {
    match (text.find('='), text.find("://")) {
        (Some(eq), Some(scheme)) if eq < scheme => (&text[..eq], &text[eq + 1..]),
        _ => ("target", text),
    }
}

impl Selection {
    /// The credentials for a URL whose path named `url_key` (if any).
    fn credentials(&self, url_key: Option<&str>) -> Credentials {
        let key = self.key.as_deref().or(url_key).unwrap_or("app-key");
        Credentials::new(
            self.app_id.as_deref().unwrap_or("app-id"),
            key,
            self.secret.as_deref().unwrap_or("app-secret"),
        )
    }

    fn urls(&self) -> Result<Vec<(String, String)>, TargetError> {
        let mut urls: Vec<(String, String)> = self
            .urls
            .iter()
            .map(|t| {
                let (name, url) = split_name(t);
                (name.to_owned(), url.to_owned())
            })
            .collect();
        if let (true, Some(host)) = (urls.is_empty(), &self.host) {
            let a = Address::from_parts(host, self.port.as_deref(), self.scheme.as_deref())?;
            urls.push(("target".into(), a.ws_base));
        }
        Ok(urls)
    }

    /// Every target selected; empty when none is (the bundled server then).
    pub fn targets(&self) -> Result<Vec<Target>, TargetError> {
        let tls = match &self.ca_cert {
            Some(path) => TlsTrust::with_ca_file(path)?,
            None => TlsTrust::default(),
        };
        let mut list = Vec::new();
        for (name, url) in self.urls()? {
            let key = Address::parse(&url)?.key;
            let creds = self.credentials(key.as_deref());
            let mut t = Target::new(
                &name,
                &url,
                self.rest_url.as_deref(),
                creds,
                self.profile.clone(),
            )?;
            t.tls = tls.clone();
            list.push(t);
        }
        if let Some(path) = &self.target_config {
            list.extend(TargetList::load(path)?);
        }
        Ok(list)
    }

    /// The one target of a single-target subcommand, or `None` for the bundled server.
    pub fn one(&self, command: &'static str) -> Result<Option<Target>, TargetError> {
        let mut list = self.targets()?;
        match list.len() {
            0 => Ok(None),
            1 => Ok(list.pop()),
            given => Err(TargetError::OneTarget { command, given }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printed_url_supplies_the_key_and_a_differing_flag_is_refused() {
        let mut s = Selection {
            urls: vec!["ws://127.0.0.1:9/app/k1".into()],
            ..Selection::default()
        };
        let t = s.one("load").expect("valid").expect("a target");
        assert_eq!(
            (t.ws_base.as_str(), t.credentials.key.as_str()),
            ("ws://127.0.0.1:9", "k1")
        );
        s.key = Some("k2".into());
        assert!(matches!(
            s.one("load"),
            Err(TargetError::KeyMismatch { .. })
        ));
        s.key = Some("k1".into());
        assert!(s.one("load").is_ok());
    }

    #[test]
    fn names_split_before_the_scheme_only_and_host_parts_build_a_target() {
        assert_eq!(split_name("a=ws://h:1"), ("a", "ws://h:1"));
        assert_eq!(
            split_name("ws://h:1/app/k?x=y"),
            ("target", "ws://h:1/app/k?x=y")
        );
        let s = Selection {
            host: Some("h".into()),
            port: Some("6001".into()),
            ..Selection::default()
        };
        let t = s.one("load").expect("valid").expect("a target");
        assert_eq!(t.ws_base, "ws://h:6001");
        let two = Selection {
            urls: vec!["ws://a:1".into(), "ws://b:1".into()],
            ..Selection::default()
        };
        assert!(matches!(
            two.one("load"),
            Err(TargetError::OneTarget { given: 2, .. })
        ));
    }
}
