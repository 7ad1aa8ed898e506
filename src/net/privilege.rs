//! Giving up privileges for good, once listeners are bound and the CA key
//! is read.
//!
//! The order matters. The bounding set can only be emptied while
//! `CAP_SETPCAP` is held, so it goes first; then the groups and ids change
//! (real, effective and saved, so nothing can switch back); then any
//! capability that survived (a start as a non-root user with ambient
//! capabilities) is cleared; last, `no_new_privs` stops an `execve` of a
//! set-uid binary from regaining anything. Each step is checked: a process
//! that believes it dropped privileges and did not is worse than one that
//! refuses to start.

use caps::CapSet;
use nix::unistd::{Gid, Group, Uid, User, setgroups, setresgid, setresuid};

/// The account the daemon ended up running as.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: String,
    pub uid: u32,
    pub group: String,
    pub gid: u32,
}

/// Why the account could not be found or the privileges not dropped:
/// which step, and which right was missing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PrivilegeError(String);

impl From<String> for PrivilegeError {
    fn from(s: String) -> Self {
        PrivilegeError(s)
    }
}

impl From<&str> for PrivilegeError {
    fn from(s: &str) -> Self {
        PrivilegeError(s.to_string())
    }
}

/// Resolves the configured account. The default `misp-warden` account
/// falls back to `nobody`/`nogroup` when the package did not create it; a
/// name set in the config must exist.
pub fn resolve(user: &str, group: &str) -> Result<(User, Group), PrivilegeError> {
    let lookup_user =
        |name: &str| User::from_name(name).map_err(|e| format!("cannot look up user {name}: {e}"));
    let lookup_group = |name: &str| {
        Group::from_name(name).map_err(|e| format!("cannot look up group {name}: {e}"))
    };
    let u = match lookup_user(user)? {
        Some(u) => u,
        None if user == "misp-warden" => lookup_user("nobody")?
            .ok_or("neither user misp-warden nor nobody exists (warden.user)")?,
        None => return Err(format!("warden.user: no such user {user}").into()),
    };
    let g = match lookup_group(group)? {
        Some(g) => g,
        None if group == "misp-warden" => lookup_group("nogroup")?
            .or(lookup_group("nobody")?)
            .ok_or("neither group misp-warden nor nogroup exists (warden.group)")?,
        None => return Err(format!("warden.group: no such group {group}").into()),
    };
    if u.uid.is_root() || g.gid.as_raw() == 0 {
        return Err("warden.user and warden.group must not be root".into());
    }
    Ok((u, g))
}

/// Drops to `user`/`group` with no capabilities and `no_new_privs`. Must be
/// called while the process has a single thread.
pub fn drop_privileges(user: &User, group: &Group) -> Result<Account, PrivilegeError> {
    let missing = |step: &str, right: &str, e: &dyn std::fmt::Display| {
        format!("cannot {step}: {e} (needs {right}; run as root or grant it)")
    };
    // 1. The bounding set, while CAP_SETPCAP is still ours.
    for cap in caps::read(None, CapSet::Bounding).map_err(|e| e.to_string())? {
        caps::drop(None, CapSet::Bounding, cap)
            .map_err(|e| missing("empty the capability bounding set", "CAP_SETPCAP", &e))?;
    }
    // 2. Groups, then ids: real, effective and saved alike.
    let already = Uid::current() == user.uid && Uid::effective() == user.uid;
    if !already {
        setgroups(&[group.gid])
            .map_err(|e| missing("set supplementary groups", "CAP_SETGID", &e))?;
        setresgid(group.gid, group.gid, group.gid)
            .map_err(|e| missing(&format!("switch to group {}", group.name), "CAP_SETGID", &e))?;
        setresuid(user.uid, user.uid, user.uid)
            .map_err(|e| missing(&format!("switch to user {}", user.name), "CAP_SETUID", &e))?;
    }
    // 3. Whatever capability survived (ambient capabilities of a non-root
    //    start): clear every set.
    for set in [
        CapSet::Ambient,
        CapSet::Effective,
        CapSet::Inheritable,
        CapSet::Permitted,
    ] {
        caps::clear(None, set).map_err(|e| format!("cannot clear {set:?} capabilities: {e}"))?;
    }
    // 4. No execve can give any of it back.
    nix::sys::prctl::set_no_new_privs().map_err(|e| format!("cannot set no_new_privs: {e}"))?;

    // Check, do not trust.
    if Uid::current().is_root() || Uid::effective().is_root() || Gid::effective().as_raw() == 0 {
        return Err("still root after dropping privileges".into());
    }
    for set in [CapSet::Effective, CapSet::Permitted, CapSet::Bounding] {
        let left = caps::read(None, set).map_err(|e| e.to_string())?;
        if !left.is_empty() {
            return Err(format!("{set:?} capabilities remain: {left:?}").into());
        }
    }
    Ok(Account {
        user: user.name.clone(),
        uid: user.uid.as_raw(),
        group: group.name.clone(),
        gid: group.gid.as_raw(),
    })
}
