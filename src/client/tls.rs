//! TlsTrust: which certificate authorities the harness accepts for `wss://`
//! and `https://` targets (the platform's roots, plus a CA given with
//! `--ca-cert` for servers behind a private or self-signed CA).

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_tungstenite::Connector;

/// Errors loading a CA certificate.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The PEM file could not be read.
    #[error("cannot read ca certificate {path}")]
    Read {
        /// The path given.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The PEM text holds a broken certificate block.
    #[error("invalid pem in ca certificate {origin}")]
    Pem {
        /// The path, or what the bytes were.
        origin: String,
        /// What is wrong.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// The PEM text holds no certificate at all.
    #[error("no certificate in ca certificate {origin}")]
    Empty {
        /// The path, or what the bytes were.
        origin: String,
    },
    /// A certificate is not a usable trust anchor.
    #[error("ca certificate {origin} is not a usable trust anchor")]
    Anchor {
        /// The path, or what the bytes were.
        origin: String,
        /// Why rustls refused it.
        #[source]
        source: rustls::Error,
    },
    /// reqwest refused a certificate.
    #[error("ca certificate {origin} is refused by the http client")]
    Http {
        /// The path, or what the bytes were.
        origin: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
}

/// The CA given on top of the native roots.
#[derive(Debug)]
struct Extra {
    origin: String,
    rest: Vec<reqwest::Certificate>,
}

/// Shared by every clone: the WebSocket client configuration is built once
/// per target, not once per connection (reading the native store takes tens
/// of milliseconds, which 200 concurrent connects would spend on a runtime
/// thread each).
#[derive(Debug, Default)]
struct Inner {
    extra: Option<Extra>,
    ws: OnceLock<Option<Arc<rustls::ClientConfig>>>,
}

/// Certificate authorities trusted for a target. The default trusts the
/// platform's native roots only. Clones share one client configuration, so
/// keep one value per target rather than a fresh default per connection.
///
/// ```
/// use pushcheck::client::TlsTrust;
///
/// assert!(TlsTrust::default().ca_origin().is_none());
/// assert!(TlsTrust::with_ca_pem(b"not pem", "inline").is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct TlsTrust {
    inner: Arc<Inner>,
}

/// Native roots plus `extra`, with an explicit provider rather than rustls'
/// process-wide default: no global state, and no panic if a second crypto
/// backend ever joins the tree.
fn client_config(
    extra: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable native entries are the platform's business: a machine
    // without a usable store still trusts the CA it was given.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    for cert in extra {
        roots.add(cert)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

impl TlsTrust {
    /// Native roots plus every certificate in the PEM file at `path`.
    pub fn with_ca_file(path: &str) -> Result<TlsTrust, TlsError> {
        let pem = std::fs::read(Path::new(path)).map_err(|source| TlsError::Read {
            path: path.into(),
            source,
        })?;
        TlsTrust::with_ca_pem(&pem, path)
    }

    /// Native roots plus every certificate in `pem`; `origin` names it in errors.
    pub fn with_ca_pem(pem: &[u8], origin: &str) -> Result<TlsTrust, TlsError> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| TlsError::Pem {
                origin: origin.into(),
                source,
            })?;
        if certs.is_empty() {
            return Err(TlsError::Empty {
                origin: origin.into(),
            });
        }
        let rest = certs
            .iter()
            .map(|c| reqwest::Certificate::from_der(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| TlsError::Http {
                origin: origin.into(),
                source,
            })?;
        // Built now, so a CA rustls refuses is a usage error up front.
        let ws = client_config(certs).map_err(|source| TlsError::Anchor {
            origin: origin.into(),
            source,
        })?;
        Ok(TlsTrust {
            inner: Arc::new(Inner {
                extra: Some(Extra {
                    origin: origin.into(),
                    rest,
                }),
                ws: OnceLock::from(Some(Arc::new(ws))),
            }),
        })
    }

    /// Where the extra CA came from (`None`: native roots only).
    pub fn ca_origin(&self) -> Option<&str> {
        self.inner.extra.as_ref().map(|e| e.origin.as_str())
    }

    /// The connector for `url`: `None` for `ws://` (no TLS), and for `wss://`
    /// only if the native-roots configuration cannot be built, which leaves
    /// tokio-tungstenite to try its own.
    pub(crate) fn ws_connector(&self, url: &str) -> Option<Connector> {
        let tls = url.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("wss:"));
        if !tls {
            return None;
        }
        self.inner
            .ws
            .get_or_init(|| client_config(Vec::new()).ok().map(Arc::new))
            .as_ref()
            .map(|c| Connector::Rustls(Arc::clone(c)))
    }

    /// Adds the extra CA to a reqwest builder (merged with the platform's roots).
    pub(crate) fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        match &self.inner.extra {
            Some(e) => builder.tls_certs_merge(e.rest.iter().cloned()),
            None => builder,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_without_a_certificate_is_refused_with_its_origin() {
        let err = TlsTrust::with_ca_pem(b"hello\n", "ca.pem").expect_err("no certificate");
        assert_eq!(err.to_string(), "no certificate in ca certificate ca.pem");
        let broken = b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            TlsTrust::with_ca_pem(broken, "ca.pem"),
            Err(TlsError::Pem { .. })
        ));
        assert!(matches!(
            TlsTrust::with_ca_file("/nonexistent/ca.pem"),
            Err(TlsError::Read { .. })
        ));
    }
}
