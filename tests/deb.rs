//! The Debian package, as a gateway operator gets it: `scripts/build-deb.sh`
//! builds it, lintian finds nothing (what it would say is overridden, with
//! the reason, in `packaging/debian/lintian-overrides`), and it installs
//! into a throwaway Debian root (debootstrap, cached in target/) where
//! `misp-warden check` accepts the example config — as root and as the
//! service account, as the unit runs it — `systemd-analyze verify` accepts
//! the unit, the account and its 0700 state directory exist, the config is
//! a conffile readable by the account only, and the service is neither
//! enabled nor started. Remove and purge leave nothing of it behind.
//!
//! Needs root, network access to the Debian archive (the first time), and
//! debootstrap, lintian, dpkg-deb, dpkg-shlibdeps, unshare; skips otherwise.

#[path = "lab/skip.rs"]
mod skip;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const MIRROR: &str = "http://deb.debian.org/debian";

fn have(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| d.join(tool).is_file())
}

fn show(out: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The host's Debian release, for a root the package's libraries fit.
fn codename() -> Option<String> {
    let release = std::fs::read_to_string("/etc/os-release").ok()?;
    let field = |k: &str| {
        release
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(|v| v.trim_matches('"').to_string())
    };
    (field("ID")? == "debian").then(|| field("VERSION_CODENAME"))?
}

/// A minimal Debian root with systemd, nftables and iproute2, made once
/// with debootstrap and kept as a tarball in target/; each call unpacks a
/// fresh copy into `dir`.
fn throwaway_root(suite: &str, dir: &Path) -> PathBuf {
    let cache = Path::new(MANIFEST).join(format!("target/deb-test/{suite}-minbase.tar"));
    if !cache.exists() {
        std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
        let build = dir.join("bootstrap");
        let start = Instant::now();
        eprintln!("debootstrap {suite} (once; cached in {})", cache.display());
        let status = Command::new("timeout")
            .args(["900", "debootstrap", "--variant=minbase"])
            .arg("--include=systemd,nftables,iproute2")
            .arg(suite)
            .arg(&build)
            .arg(MIRROR)
            .stdin(Stdio::null())
            .status()
            .expect("run debootstrap");
        assert!(status.success(), "debootstrap failed: {status}");
        let partial = cache.with_extension("tar.partial");
        let out = Command::new("tar")
            .arg("-C")
            .arg(&build)
            .arg("-cf")
            .arg(&partial)
            .arg(".")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
        std::fs::rename(&partial, &cache).unwrap();
        std::fs::remove_dir_all(&build).unwrap();
        eprintln!("root made in {:.0?}", start.elapsed());
    }
    let root = dir.join("root");
    std::fs::create_dir(&root).unwrap();
    let out = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-xf")
        .arg(&cache)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    root
}

/// Runs `script` with sh inside `root`, in a mount namespace of its own
/// (with /proc), so nothing it mounts outlives it.
fn in_root(root: &Path, script: &str) -> Output {
    Command::new("timeout")
        .args(["300", "unshare", "--mount", "--fork", "sh", "-c"])
        .arg("mount -t proc proc \"$0/proc\" && exec chroot \"$0\" sh -c \"$1\"")
        .arg(root)
        .arg(script)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .expect("unshare and chroot")
}

fn ok(root: &Path, script: &str) -> String {
    let out = in_root(root, script);
    assert!(out.status.success(), "{script}: {}", show(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_package_is_lintian_clean_and_installs_checks_and_verifies_in_a_throwaway_root() {
    let root_user = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root_user {
        return skip::skip("the package test needs root (chroot)");
    }
    let missing: Vec<_> = [
        "debootstrap",
        "lintian",
        "dpkg-deb",
        "dpkg-shlibdeps",
        "unshare",
        "chroot",
        "cargo",
    ]
    .into_iter()
    .filter(|t| !have(t))
    .collect();
    if !missing.is_empty() {
        return skip::skip(&format!(
            "the package test needs {} (scripts/setup.sh)",
            missing.join(", ")
        ));
    }
    let Some(suite) = codename() else {
        return skip::skip(
            "the package test installs into a Debian root of the host's release; this host is not Debian",
        );
    };

    // The documented command. Its progress (cargo's release build, the
    // first time minutes) goes straight to the terminal.
    let out_dir = Path::new(MANIFEST).join("target/debian");
    let start = Instant::now();
    let out = Command::new("timeout")
        .args(["1800", "bash", &format!("{MANIFEST}/scripts/build-deb.sh")])
        .arg("--output")
        .arg(&out_dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("run build-deb.sh");
    assert!(out.status.success(), "build-deb.sh: {}", show(&out));
    let deb = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string());
    let size = std::fs::metadata(&deb).expect("the .deb").len();
    eprintln!(
        "{} built in {:.0?}, {size} bytes",
        deb.display(),
        start.elapsed()
    );
    assert!(
        deb.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("misp-warden_0.")
    );
    assert!(size < 10_000_000, "{size} bytes");

    // lintian: nothing left but what the overrides explain.
    let lint = Command::new("lintian")
        .args(["--tag-display-limit", "0"])
        .arg(&deb)
        .output()
        .expect("run lintian");
    let said: Vec<String> = String::from_utf8_lossy(&lint.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&lint.stderr).lines())
        .filter(|l| !l.contains("running with root privileges"))
        .map(str::to_string)
        .collect();
    assert!(
        lint.status.success() && said.is_empty(),
        "lintian: {}",
        said.join("\n")
    );

    let dir = tempfile::Builder::new()
        .prefix("misp-warden-deb-test.")
        .tempdir_in(Path::new(MANIFEST).join("target"))
        .unwrap();
    let root = throwaway_root(&suite, dir.path());
    std::fs::copy(&deb, root.join("tmp/misp-warden.deb")).unwrap();

    let installed = ok(&root, "dpkg -i /tmp/misp-warden.deb");
    assert!(installed.contains("Setting up misp-warden"), "{installed}");
    let facts = ok(
        &root,
        "id -un misp-warden; stat -c '%a %U:%G' /var/lib/misp-warden /etc/misp-warden/config.json; \
         dpkg-query -W -f='${Conffiles}\\n' misp-warden",
    );
    assert!(facts.starts_with("misp-warden\n"), "the account: {facts}");
    assert!(
        facts.contains("700 misp-warden:misp-warden"),
        "state directory: {facts}"
    );
    assert!(
        facts.contains("640 root:misp-warden"),
        "config readable by the account only: {facts}"
    );
    assert!(
        facts.contains("/etc/misp-warden/config.json "),
        "the config is a conffile: {facts}"
    );

    // check, as root and as the unit's ExecStartPre runs it (the account).
    let checked = ok(
        &root,
        "misp-warden check --config /etc/misp-warden/config.json",
    );
    assert!(checked.starts_with("config OK"), "{checked}");
    assert!(checked.contains("runs as misp-warden"), "{checked}");
    let as_account = ok(
        &root,
        "setpriv --reuid=misp-warden --regid=misp-warden --init-groups \
         misp-warden check --config /etc/misp-warden/config.json",
    );
    assert!(as_account.starts_with("config OK"), "{as_account}");
    ok(
        &root,
        "systemd-analyze verify /lib/systemd/system/misp-warden.service",
    );
    // Installed, not enabled, not started: the config is an example.
    let enabled = in_root(&root, "systemctl is-enabled misp-warden.service");
    assert_eq!(
        String::from_utf8_lossy(&enabled.stdout).trim(),
        "disabled",
        "{}",
        show(&enabled)
    );
    assert!(
        !root.join("var/lib/misp-warden/ca.pem").exists(),
        "nothing was started"
    );

    ok(&root, "dpkg -r misp-warden && dpkg -P misp-warden");
    for gone in [
        "usr/bin/misp-warden",
        "var/lib/misp-warden",
        "etc/misp-warden/config.json",
    ] {
        assert!(!root.join(gone).exists(), "{gone} left after purge");
    }
    // (Exit 1: no override left at all.)
    let overrides = in_root(&root, "dpkg-statoverride --list");
    let overrides = String::from_utf8_lossy(&overrides.stdout);
    assert!(!overrides.contains("misp-warden"), "{overrides}");
}
