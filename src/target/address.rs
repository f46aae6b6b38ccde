//! The forms a target is written in: `ws://host:port`, `wss://host:port`,
//! `http(s)://host:port` (the REST base; the WebSocket base follows), and
//! the URL servers print, `ws://host:port/app/KEY`, whose key is taken too.

use super::TargetError;

/// A parsed target URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// `ws[s]://host[:port]`, no path, no trailing slash.
    pub ws_base: String,
    /// `http[s]://host[:port]`.
    pub rest_base: String,
    /// The app key of a `/app/KEY` URL.
    pub key: Option<String>,
}

impl Address {
    /// Parses one of the accepted forms (module docs).
    pub fn parse(text: &str) -> Result<Address, TargetError> {
        let bad = || TargetError::BadUrl(text.into());
        let (scheme, rest) = text.split_once("://").ok_or_else(bad)?;
        let tls = match scheme {
            "ws" | "http" => false,
            "wss" | "https" => true,
            _ => return Err(bad()),
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        let path = path.trim_end_matches('/');
        let key = match path.split_once('/') {
            None if path.is_empty() => None,
            Some(("app", key)) if !key.is_empty() && !key.contains('/') => Some(key.to_owned()),
            _ => return Err(bad()),
        };
        let host_ok = !authority.is_empty()
            && !authority.ends_with(':')
            && !authority.starts_with(':')
            && authority
                .rsplit_once(':')
                .is_none_or(|(_, port)| port.parse::<u16>().is_ok_and(|p| p > 0));
        if !host_ok {
            return Err(bad());
        }
        let (ws, http) = if tls {
            ("wss", "https")
        } else {
            ("ws", "http")
        };
        Ok(Address {
            ws_base: format!("{ws}://{authority}"),
            rest_base: format!("{http}://{authority}"),
            key,
        })
    }

    /// `ws[s]://host:port` from `PUSHER_HOST`, `PUSHER_PORT` and
    /// `PUSHER_SCHEME` values (`https` or `wss` mean TLS; the port defaults
    /// to 443 or 80).
    pub fn from_parts(
        host: &str,
        port: Option<&str>,
        scheme: Option<&str>,
    ) -> Result<Address, TargetError> {
        let tls = matches!(scheme, Some("https" | "wss"));
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| TargetError::BadPort(p.into()))?,
            None if tls => 443,
            None => 80,
        };
        let ws = if tls { "wss" } else { "ws" };
        Address::parse(&format!("{ws}://{host}:{port}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form_parses() {
        let a = Address::parse("ws://127.0.0.1:6001").expect("ws");
        assert_eq!(
            (a.ws_base.as_str(), a.rest_base.as_str(), a.key),
            ("ws://127.0.0.1:6001", "http://127.0.0.1:6001", None)
        );
        let a = Address::parse("https://api.example.com").expect("https");
        assert_eq!(a.ws_base, "wss://api.example.com");
        let a = Address::parse("ws://127.0.0.1:6001/app/app-key?protocol=7").expect("printed");
        assert_eq!(
            (a.ws_base.as_str(), a.key.as_deref()),
            ("ws://127.0.0.1:6001", Some("app-key"))
        );
        assert!(Address::parse("ws://h:1/").is_ok());
        for bad in [
            "127.0.0.1:6001",
            "ftp://h",
            "ws://",
            "ws://h:",
            "ws://h:port",
            "ws://h:1/other",
            "ws://h:1/app/",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_parts_pick_the_scheme_and_port() {
        let a = Address::from_parts("h", None, Some("https")).expect("valid");
        assert_eq!(a.ws_base, "wss://h:443");
        let a = Address::from_parts("h", Some("6001"), None).expect("valid");
        assert_eq!(a.ws_base, "ws://h:6001");
        assert!(matches!(
            Address::from_parts("h", Some("x"), None),
            Err(TargetError::BadPort(_))
        ));
    }
}
