//! TLS on both legs of an intercepted connection.
//!
//! - [`ca`]: the local interception CA MISP trusts.
//! - [`leaf`]: a certificate per name the client asked for, minted from
//!   that CA, and the server-side rustls configuration that presents it.
//! - [`upstream`]: the client-side configuration toward the real
//!   destination, which is verified — the guard never trusts blindly what
//!   MISP could not have checked itself.
//! - an instance's own certificate (`tls.server_cert`/`server_key`), which
//!   the guard presents instead of a minted leaf when it terminates a
//!   connection *to* that instance (inbound sync): the remote then needs no
//!   trust in our CA.

pub mod ca;
pub mod leaf;
pub mod upstream;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};

/// Why TLS material (the CA, a certificate, a key, a configuration) could
/// not be had. Each names the file, or the config key, to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read, created or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file is there but is not what it must be.
    #[error("{}: {problem}", path.display())]
    File { path: PathBuf, problem: String },
    /// An existing CA, which is not replaced without `--force`.
    #[error("{} exists; use --force to replace the CA", .0.display())]
    Exists(PathBuf),
    /// One file of the CA without the other: a CA half-replaced by hand is
    /// not silently regenerated.
    #[error("{} exists but {} does not", there.display(), missing.display())]
    HalfCa { there: PathBuf, missing: PathBuf },
    /// Generating, minting or assembling certificates failed.
    #[error("{0}")]
    Crypto(String),
    /// A fault in what a config key names: the key, then the fault.
    #[error("{key}: {source}")]
    Setting { key: String, source: Box<TlsError> },
}

impl TlsError {
    fn io(action: &'static str, path: &Path, source: std::io::Error) -> TlsError {
        TlsError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    fn file(path: &Path, problem: impl std::fmt::Display) -> TlsError {
        TlsError::File {
            path: path.to_path_buf(),
            problem: problem.to_string(),
        }
    }

    /// This fault, under the config key that named its file.
    pub fn under(self, key: impl Into<String>) -> TlsError {
        TlsError::Setting {
            key: key.into(),
            source: Box::new(self),
        }
    }
}

/// The crypto provider both legs use (ring, the one rcgen signs with).
pub fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration presenting `chain` (leaf first) with `key`,
/// offering HTTP/2 and HTTP/1.1 as MISP's curl does.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, TlsError> {
    let crypto = |e: rustls::Error| TlsError::Crypto(e.to_string());
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(crypto)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(crypto)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// For each instance with `tls.server_cert`/`server_key`: the server
/// configuration presenting them. The error names the key.
pub fn instance_server_configs(
    config: &crate::config::Config,
) -> Result<std::collections::HashMap<String, std::sync::Arc<rustls::ServerConfig>>, TlsError> {
    let mut out = std::collections::HashMap::new();
    for i in &config.instances {
        if let (Some(cert), Some(key)) = (&i.tls.server_cert, &i.tls.server_key) {
            let server = server_config(read_certs(cert)?, read_key(key)?)
                .map_err(|e| e.under(format!("instances.{}.tls.server_cert", i.id)))?;
            out.insert(i.id.clone(), std::sync::Arc::new(server));
        }
    }
    Ok(out)
}

/// Every certificate in a PEM file; the error names the file.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = std::fs::read(path).map_err(|e| TlsError::io("read", path, e))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::file(path, format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::file(path, "no certificate in the file"));
    }
    Ok(certs)
}

/// The private key in a PEM file; the error names the file.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = std::fs::read(path).map_err(|e| TlsError::io("read", path, e))?;
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| TlsError::file(path, format!("not a PEM private key: {e}")))
}
