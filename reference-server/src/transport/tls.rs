//! TLS on the listener (rustls): `wss://` and `https://` on the same port as
//! the plain protocol would use (spec 1.1), from PEM files.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsSettings;

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file is unreadable or holds no PEM certificate.
    #[error("cannot read TLS certificates from {path}")]
    Certificate {
        /// The file.
        path: String,
        /// What went wrong.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// The key file is unreadable or holds no PEM private key.
    #[error("cannot read a TLS private key from {path}")]
    Key {
        /// The file.
        path: String,
        /// What went wrong.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// rustls refused the pair (the key does not match, an unsupported key).
    #[error("the TLS certificate and key cannot be used together")]
    Config(#[source] rustls::Error),
}

impl TlsSettings {
    /// Loads the certificate and key once, to refuse bad files before the
    /// server announces itself.
    pub fn check(&self) -> Result<(), TlsError> {
        acceptor(self).map(drop)
    }
}

/// An acceptor for the certificate chain and key of `settings`.
pub(crate) fn acceptor(settings: &TlsSettings) -> Result<TlsAcceptor, TlsError> {
    let path = |p: &std::path::Path| p.display().to_string();
    let certs = CertificateDer::pem_file_iter(&settings.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::Certificate {
            path: path(&settings.cert),
            source,
        })?;
    let key = PrivateKeyDer::from_pem_file(&settings.key).map_err(|source| TlsError::Key {
        path: path(&settings.key),
        source,
    })?;
    // aws-lc-rs is the provider the tree already builds (see Cargo.toml).
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(TlsError::Config)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
