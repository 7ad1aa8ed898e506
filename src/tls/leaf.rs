//! Leaf certificates for the client leg, minted on demand by the local CA.
//!
//! MISP dials a name (SNI) or an address; it gets a certificate for exactly
//! that, signed by the CA it trusts. Each leaf has its own ECDSA P-256 key
//! (a leaked leaf key exposes one name, not all) and a short validity, so a
//! copied leaf is of little use for long. Leaves live in a bounded cache as
//! ready rustls server configurations: the common case — the same few
//! instances over and over — costs a map lookup, and the TLS session cache
//! of each configuration gives resumption for free.

use super::TlsError;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How long a minted leaf is valid.
const LEAF_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);
/// A cached leaf is replaced once less than this is left.
const RENEW_BEFORE: Duration = Duration::from_secs(24 * 3600);
/// Leaves kept; the oldest goes first. Sync talks to a handful of names,
/// so this bounds only what a misbehaving client could make us hold.
const CACHE_ENTRIES: usize = 1024;

/// What a leaf is for: the SNI name, or the address dialled without SNI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LeafName {
    Dns(String),
    Ip(IpAddr),
}

impl std::fmt::Display for LeafName {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            LeafName::Dns(n) => f.write_str(n),
            LeafName::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// The local CA, ready to sign, and the leaves it has signed.
pub struct LeafMinter {
    issuer: Issuer<'static, KeyPair>,
    ca_der: CertificateDer<'static>,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<LeafName, (Arc<ServerConfig>, SystemTime)>,
    /// Insertion order, for eviction.
    order: VecDeque<LeafName>,
}

impl LeafMinter {
    /// Loads the CA, or creates it when both files are absent (first
    /// start). One file without the other is an error: a CA half-replaced
    /// by hand should not be silently regenerated.
    pub fn load_or_create(cert: &Path, key: &Path) -> Result<(Self, bool), TlsError> {
        let created = match (cert.exists(), key.exists()) {
            (true, true) => false,
            (false, false) => {
                super::ca::create(cert, key, false)?;
                true
            }
            (cert_there, _) => {
                let (there, missing) = if cert_there { (cert, key) } else { (key, cert) };
                return Err(TlsError::HalfCa {
                    there: there.to_path_buf(),
                    missing: missing.to_path_buf(),
                });
            }
        };
        let key_pem = std::fs::read_to_string(key).map_err(|e| TlsError::io("read", key, e))?;
        let key_pair = KeyPair::from_pem(&key_pem)
            .map_err(|e| TlsError::file(key, format!("not a usable private key: {e}")))?;
        let ca_der = super::read_certs(cert)?.remove(0);
        let issuer = Issuer::from_ca_cert_der(&ca_der, key_pair)
            .map_err(|e| TlsError::file(cert, format!("not a usable CA certificate: {e}")))?;
        Ok((
            LeafMinter {
                issuer,
                ca_der,
                cache: Mutex::new(Cache::default()),
            },
            created,
        ))
    }

    /// The server configuration presenting a leaf for `name`, and whether
    /// it came from the cache (for the metrics).
    pub fn server_config(&self, name: &LeafName) -> Result<(Arc<ServerConfig>, bool), TlsError> {
        let now = SystemTime::now();
        if let Some((config, expires)) = self.lock().entries.get(name)
            && *expires > now + RENEW_BEFORE
        {
            return Ok((config.clone(), true));
        }
        let config = Arc::new(self.mint(name, now)?);
        let mut cache = self.lock();
        if cache
            .entries
            .insert(name.clone(), (config.clone(), now + LEAF_VALIDITY))
            .is_none()
        {
            cache.order.push_back(name.clone());
        }
        while cache.entries.len() > CACHE_ENTRIES {
            match cache.order.pop_front() {
                Some(old) => {
                    cache.entries.remove(&old);
                }
                None => break,
            }
        }
        Ok((config, false))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic while holding the lock leaves a consistent map.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn mint(&self, name: &LeafName, now: SystemTime) -> Result<ServerConfig, TlsError> {
        let fail = |e: rcgen::Error| {
            TlsError::Crypto(format!("cannot mint a certificate for {name}: {e}"))
        };
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(fail)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name.to_string());
        params.distinguished_name = dn;
        params.subject_alt_names = vec![match name {
            LeafName::Dns(n) => SanType::DnsName(n.clone().try_into().map_err(fail)?),
            LeafName::Ip(ip) => SanType::IpAddress(*ip),
        }];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = (now - Duration::from_secs(3600)).into();
        params.not_after = (now + LEAF_VALIDITY).into();
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.issuer).map_err(fail)?;
        let chain = vec![cert.der().clone(), self.ca_der.clone()];
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        super::server_config(chain, key_der).map_err(|e| {
            TlsError::Crypto(format!("cannot use the certificate minted for {name}: {e}"))
        })
    }
}
