//! The local interception CA: MISP trusts it (through the system store) so
//! the guard can terminate MISP's TLS and read what would leave.
//!
//! The CA key is the appliance's most sensitive secret after MISP's own
//! keys: it is written with mode 0600 from the first byte (never chmod-ed
//! after the fact) and an existing CA is never overwritten without `--force`.

use super::TlsError;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A freshly generated CA, PEM-encoded.
pub struct NewCa {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Generates an ECDSA P-256 CA valid for ten years, limited to signing
/// leaf certificates (path length 0).
pub fn generate(common_name: &str) -> Result<NewCa, rcgen::Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "misp-warden");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = std::time::SystemTime::now();
    params.not_before = (now - std::time::Duration::from_secs(3600)).into();
    params.not_after = (now + std::time::Duration::from_secs(10 * 365 * 24 * 3600)).into();
    let cert = params.self_signed(&key)?;
    Ok(NewCa {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Where `ca init --dir DIR` writes.
pub fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("ca.pem"), dir.join("ca.key"))
}

/// Creates `DIR/ca.pem` (0644) and `DIR/ca.key` (0600). Refuses to replace
/// existing files unless `force`.
pub fn init(dir: &Path, force: bool) -> Result<(PathBuf, PathBuf), TlsError> {
    let (cert_path, key_path) = paths(dir);
    if !force {
        for p in [&cert_path, &key_path] {
            if p.exists() {
                return Err(TlsError::Exists(p.clone()));
            }
        }
    }
    create(&cert_path, &key_path, force)?;
    Ok((cert_path, key_path))
}

fn write_file(path: &Path, data: &[u8], mode: u32, replace: bool) -> Result<(), TlsError> {
    if replace {
        // Remove first so the new file is created with `mode`, whatever the
        // old one had.
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(TlsError::io("replace", path, e)),
        }
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| TlsError::io("create", path, e))?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .map_err(|e| TlsError::io("write", path, e))
}

/// Creates a new CA at `cert_path` (0644) and `key_path` (0600), with
/// their directories (0700: whoever can list it sees where the key is);
/// files already there are an error unless `replace`.
pub fn create(cert_path: &Path, key_path: &Path, replace: bool) -> Result<(), TlsError> {
    use std::os::unix::fs::DirBuilderExt;
    for p in [cert_path, key_path] {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| TlsError::io("create", dir, e))?;
        }
    }
    let ca = generate("misp-warden interception CA")
        .map_err(|e| TlsError::Crypto(format!("cannot generate the CA: {e}")))?;
    write_file(key_path, ca.key_pem.as_bytes(), 0o600, replace)?;
    write_file(cert_path, ca.cert_pem.as_bytes(), 0o644, replace)
}
