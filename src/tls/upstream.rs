//! The upstream leg: a verified TLS client toward the real destination.
//!
//! Trust is the system store plus `warden.upstream_ca`, plus the instance's
//! own `tls.ca_file` for connections to that instance. An instance may
//! present a client certificate of ours (`tls.client_cert`/`client_key`):
//! MISP's own client certificate cannot cross an interception. Turning
//! verification off is possible per instance only, and loud.

use super::TlsError;
use crate::config::{Config, Instance};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::collections::HashMap;
use std::sync::Arc;

/// Client configurations, built once per config load.
pub struct UpstreamTls {
    /// For allowlisted domains and feeds: system roots + `upstream_ca`.
    default: Arc<ClientConfig>,
    /// Per instance id, where it differs from the default.
    instances: HashMap<String, Arc<ClientConfig>>,
}

impl UpstreamTls {
    /// Reads every trust anchor and client key the config names.
    pub fn build(config: &Config) -> Result<UpstreamTls, TlsError> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(path) = &config.warden.upstream_ca {
            add_all(&mut roots, path).map_err(|e| e.under("warden.upstream_ca"))?;
        }
        let default = Arc::new(finish(
            builder()?.with_root_certificates(roots.clone()),
            None,
        )?);
        let mut instances = HashMap::new();
        for instance in &config.instances {
            if let Some(custom) = instance_config(instance, &roots)? {
                instances.insert(instance.id.clone(), Arc::new(custom));
            }
        }
        Ok(UpstreamTls { default, instances })
    }

    /// The configuration for a connection to `instance` (or to a
    /// destination that is no instance).
    pub fn for_instance(&self, instance: Option<&Instance>) -> Arc<ClientConfig> {
        instance
            .and_then(|i| self.instances.get(&i.id))
            .unwrap_or(&self.default)
            .clone()
    }
}

fn instance_config(
    instance: &Instance,
    roots: &RootCertStore,
) -> Result<Option<ClientConfig>, TlsError> {
    let tls = &instance.tls;
    let key_path = format!("instances.{}.tls", instance.id);
    let client_auth = match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => Some((super::read_certs(cert)?, super::read_key(key)?)),
        (None, None) => None,
        _ => {
            return Err(
                TlsError::Crypto("client_cert and client_key go together".into()).under(key_path),
            );
        }
    };
    let verifying = if !tls.verify {
        builder()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(super::provider())))
    } else if tls.ca_file.is_none() && client_auth.is_none() {
        return Ok(None);
    } else {
        let mut roots = roots.clone();
        if let Some(ca) = &tls.ca_file {
            add_all(&mut roots, ca).map_err(|e| e.under(format!("{key_path}.ca_file")))?;
        }
        builder()?.with_root_certificates(roots)
    };
    finish(verifying, client_auth)
        .map(Some)
        .map_err(|e| e.under(format!("{key_path}.client_key")))
}

fn builder() -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, TlsError> {
    ClientConfig::builder_with_provider(super::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Crypto(e.to_string()))
}

type ClientAuth = (
    Vec<CertificateDer<'static>>,
    rustls_pki_types::PrivateKeyDer<'static>,
);

/// The rest of a client configuration once its verifier is chosen: our
/// client certificate, if any, and ALPN.
fn finish(
    verifying: rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>,
    client_auth: Option<ClientAuth>,
) -> Result<ClientConfig, TlsError> {
    let mut config = match client_auth {
        Some((certs, key)) => verifying
            .with_client_auth_cert(certs, key)
            .map_err(|e| TlsError::Crypto(e.to_string()))?,
        None => verifying.with_no_client_auth(),
    };
    // The upstream leg speaks HTTP/1.1: every MISP serves it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn add_all(roots: &mut RootCertStore, path: &std::path::Path) -> Result<(), TlsError> {
    for cert in super::read_certs(path)? {
        roots
            .add(cert)
            .map_err(|e| TlsError::file(path, format!("not a usable CA certificate: {e}")))?;
    }
    Ok(())
}

/// `tls.verify: false`: accepts any certificate, still checks the
/// handshake signatures (so the peer holds the key of what it showed).
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
