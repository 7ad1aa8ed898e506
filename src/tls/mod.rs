//! TLS on both legs of an intercepted connection.
//!
//! - [`ca`]: the local interception CA MISP trusts.
//! - [`leaf`]: a certificate per name the client asked for, minted from
//!   that CA, and the server-side rustls configuration that presents it.
//! - [`upstream`]: the client-side configuration toward the real
//!   destination, which is verified — the guard never trusts blindly what
//!   MISP could not have checked itself.

pub mod ca;
pub mod leaf;
pub mod upstream;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;

/// The crypto provider both legs use (ring, the one rcgen signs with).
pub fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in a PEM file; the error names the file.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in the file", path.display()));
    }
    Ok(certs)
}

/// The private key in a PEM file; the error names the file.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| format!("{}: not a PEM private key: {e}", path.display()))
}
