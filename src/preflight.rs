//! What `run` needs beyond a well-formed config, checked before the daemon
//! binds or writes anything — and by `check`, which calls the same
//! function, so `check` refuses every config `run` would refuse for its
//! content (CONTRACT.md):
//!
//! - the account (`warden.user`, `group`) exists and is not root;
//! - the interception CA is both files or neither (then it will be created,
//!   in a directory made 0700), readable and usable, its key not open to
//!   other accounts;
//! - every file the config names exists, is what it says (certificates,
//!   keys), and can be read by the account — the daemon reads them again,
//!   as that account, at every reload — private keys not open to other
//!   accounts; the config file itself too, and not writable by everyone.
//!
//! Listener collisions are refused by the config loader itself
//! (`warden.listen`, `metrics_listen`, `proxy_listen`). What depends on
//! the moment and the rights it is started with — a port taken by another
//! process, `CAP_NET_ADMIN` — only `run` can find out.

use crate::config::Config;
use crate::net::privilege;
use nix::unistd::{Group, User};
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What stops `run` (and so `check`): one line naming the key and what to
/// do (about the config file itself, the caller names the file).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PreflightError(String);

impl From<String> for PreflightError {
    fn from(s: String) -> Self {
        PreflightError(s)
    }
}

impl From<crate::net::privilege::PrivilegeError> for PreflightError {
    fn from(e: crate::net::privilege::PrivilegeError) -> Self {
        PreflightError(e.to_string())
    }
}

impl From<crate::tls::TlsError> for PreflightError {
    fn from(e: crate::tls::TlsError) -> Self {
        PreflightError(e.to_string())
    }
}

/// What the checks found, for `check`'s summary and for `run`.
pub struct Ready {
    pub user: User,
    pub group: Group,
    /// The CA files exist; else they are created at the first start.
    pub ca_present: bool,
    ca_cert: PathBuf,
}

impl fmt::Display for Ready {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        writeln!(
            f,
            "  runs as {} (uid {}), group {} (gid {})",
            self.user.name, self.user.uid, self.group.name, self.group.gid
        )?;
        if self.ca_present {
            writeln!(f, "  interception CA {}", self.ca_cert.display())
        } else {
            writeln!(
                f,
                "  interception CA {}: created at the first start (directory mode 0700)",
                self.ca_cert.display()
            )
        }
    }
}

/// Every check, in the order a person would fix them. The error is one
/// line that names the key (or, about the config file itself, nothing:
/// the caller names the file) and what to do.
pub fn check(config_path: &Path, config: &Config) -> Result<Ready, PreflightError> {
    let w = &config.warden;
    let (user, group) = privilege::resolve(&w.user, &w.group)?;
    let reader = Reader::new(&user, &group);

    // The config file: read again at every reload, as the account.
    let meta = std::fs::metadata(config_path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.mode() & 0o002 != 0 {
        return Err(format!(
            "writable by every account (mode {:04o}): anyone could change the policy; chmod o-w it",
            meta.mode() & 0o7777
        )
        .into());
    }
    reader.can_read(config_path).map_err(|why| {
        format!(
            "cannot be read by {}, the account that reads it again at every reload: {why}",
            user.name
        )
    })?;

    let ca_present = check_ca(&w.ca_cert, &w.ca_key)?;

    // The files the config names, each by its key.
    let mut files: Vec<(String, &Path, bool)> = Vec::new();
    if let Some(p) = &w.upstream_ca {
        files.push(("warden.upstream_ca".into(), p, false));
    }
    for i in &config.instances {
        let t = &i.tls;
        for (key, path, secret) in [
            ("ca_file", &t.ca_file, false),
            ("client_cert", &t.client_cert, false),
            ("client_key", &t.client_key, true),
            ("server_cert", &t.server_cert, false),
            ("server_key", &t.server_key, true),
        ] {
            if let Some(p) = path {
                files.push((format!("instances.{}.tls.{key}", i.id), p, secret));
            }
        }
    }
    for (key, path, secret) in files {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("{key}: {}: missing (no such file)", path.display())
            }
            _ => format!("{key}: {}: {e}", path.display()),
        })?;
        if !meta.is_file() {
            return Err(format!("{key}: {}: not a file", path.display()).into());
        }
        if secret {
            private(&key, path, &meta)?;
        }
        reader.can_read(path).map_err(|why| {
            format!(
                "{key}: {} cannot be read by {}, the account that reads it again at every reload: {why}",
                path.display(),
                user.name
            )
        })?;
        if secret {
            crate::tls::read_key(path).map(drop)
        } else {
            crate::tls::read_certs(path).map(drop)
        }
        .map_err(|e| format!("{key}: {e}"))?;
    }
    // And what is in them: certificates that parse, keys that match.
    crate::proxy::InForce::new(config.clone())?;

    Ok(Ready {
        user,
        group,
        ca_present,
        ca_cert: w.ca_cert.clone(),
    })
}

/// The CA: both files (readable and usable, the key private) or neither
/// (created at start, where a directory can be made).
fn check_ca(cert: &Path, key: &Path) -> Result<bool, PreflightError> {
    match (cert.exists(), key.exists()) {
        (true, true) => {
            let meta = std::fs::metadata(key)
                .map_err(|e| format!("warden.ca_key: {}: {e}", key.display()))?;
            private("warden.ca_key", key, &meta)?;
            // Loads it exactly as the daemon will; nothing is written when
            // both files exist.
            crate::tls::leaf::LeafMinter::load_or_create(cert, key)?;
            Ok(true)
        }
        (false, false) => {
            for (name, p) in [("warden.ca_cert", cert), ("warden.ca_key", key)] {
                let existing = p.ancestors().skip(1).find(|a| a.exists());
                if let Some(a) = existing.filter(|a| !a.is_dir()) {
                    return Err(format!(
                        "{name}: {} cannot be created: {} is not a directory",
                        p.display(),
                        a.display()
                    )
                    .into());
                }
            }
            Ok(false)
        }
        (cert_there, _) => {
            let (there, missing, name) = if cert_there {
                (cert, key, "warden.ca_key")
            } else {
                (key, cert, "warden.ca_cert")
            };
            Err(format!(
                "{name}: {} is missing but {} exists (restore it, or remove both to have a new CA made)",
                missing.display(),
                there.display()
            ).into())
        }
    }
}

/// A private key open to other accounts (or writable by its group) is
/// refused: whoever reads it can impersonate what it stands for.
fn private(key: &str, path: &Path, meta: &std::fs::Metadata) -> Result<(), PreflightError> {
    let mode = meta.mode() & 0o7777;
    if mode & 0o027 != 0 {
        return Err(format!(
            "{key}: {} is a private key open to other accounts (mode {mode:04o}); chmod 600 it (640 for a group that must read it)",
            path.display()
        ).into());
    }
    Ok(())
}

/// Whether an account can read a file, from the permission bits of the
/// file and of every directory above it (ACLs aside): its uid, its group,
/// and — when this process already runs as it — its supplementary groups.
struct Reader {
    uid: u32,
    groups: Vec<u32>,
}

impl Reader {
    fn new(user: &User, group: &Group) -> Reader {
        let mut groups = vec![group.gid.as_raw()];
        if nix::unistd::Uid::effective() == user.uid {
            groups.extend(
                nix::unistd::getgroups()
                    .unwrap_or_default()
                    .iter()
                    .map(|g| g.as_raw()),
            );
        }
        Reader {
            uid: user.uid.as_raw(),
            groups,
        }
    }

    /// The permission bits (rwx) this account has on `meta`.
    fn bits(&self, meta: &std::fs::Metadata) -> u32 {
        let mode = meta.mode();
        if meta.uid() == self.uid {
            mode >> 6 & 7
        } else if self.groups.contains(&meta.gid()) {
            mode >> 3 & 7
        } else {
            mode & 7
        }
    }

    fn can_read(&self, path: &Path) -> Result<(), PreflightError> {
        let real = std::fs::canonicalize(path).map_err(|e| format!("{e}"))?;
        for dir in real.ancestors().skip(1) {
            let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            if self.bits(&meta) & 1 == 0 {
                return Err(format!(
                    "directory {} (owner uid {}, mode {:04o}) cannot be entered",
                    dir.display(),
                    meta.uid(),
                    meta.mode() & 0o7777
                )
                .into());
            }
        }
        let meta = std::fs::metadata(&real).map_err(|e| format!("{e}"))?;
        if self.bits(&meta) & 4 == 0 {
            return Err(format!(
                "owner uid {}, gid {}, mode {:04o}",
                meta.uid(),
                meta.gid(),
                meta.mode() & 0o7777
            )
            .into());
        }
        Ok(())
    }
}
