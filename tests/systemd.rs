//! The systemd unit (`image/misp-warden.service`): `systemd-analyze verify`
//! accepts it with everything it names installed where it says, and
//! `systemd-analyze security` rates its exposure low. (The VM image boots it
//! for real: `image/vm/boot-test.sh`.) Skips where systemd-analyze is absent.

#[path = "lab/skip.rs"]
mod skip;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_misp-warden");
/// `systemd-analyze security` scores 0 (locked down) to 10 (exposed). A
/// daemon that must hold CAP_NET_ADMIN while it binds and talks to the
/// network cannot reach 0; 2.0 leaves little room for a lost setting.
const MAX_EXPOSURE: f64 = 2.0;

fn systemd_analyze() -> bool {
    let found = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip::skip("systemd-analyze is not installed");
    }
    found
}

fn install(from: &Path, to: &Path) {
    fs::create_dir_all(to.parent().unwrap()).unwrap();
    fs::copy(from, to).unwrap_or_else(|e| panic!("{} -> {}: {e}", from.display(), to.display()));
    fs::set_permissions(to, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn the_unit_verifies_and_its_exposure_is_low() {
    if !systemd_analyze() {
        return;
    }
    let manifest = Path::new(MANIFEST);
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    // What the unit runs, where it says (as the VM image installs it).
    install(Path::new(BIN), &r.join("usr/bin/misp-warden"));
    for script in ["apply.sh", "routing.sh"] {
        install(
            &manifest.join("nftables").join(script),
            &r.join("usr/lib/misp-warden").join(script),
        );
    }
    install(Path::new("/bin/kill"), &r.join("bin/kill"));
    let unit = r.join("etc/systemd/system/misp-warden.service");
    fs::create_dir_all(unit.parent().unwrap()).unwrap();
    fs::copy(manifest.join("image/misp-warden.service"), &unit).unwrap();
    // The units it orders itself after come from this machine's systemd.
    fs::create_dir_all(r.join("usr/lib/systemd")).unwrap();
    let copied = Command::new("cp")
        .args(["-r", "/lib/systemd/system"])
        .arg(r.join("usr/lib/systemd"))
        .status()
        .unwrap();
    assert!(copied.success(), "copy /lib/systemd/system");

    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", r.display()))
        .arg(&unit)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );

    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(manifest.join("image/misp-warden.service"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&security.stdout);
    let line = out
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure level in: {out}"));
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the score in {line:?}"));
    eprintln!("systemd-analyze security: {}", line.trim());
    assert!(
        score <= MAX_EXPOSURE,
        "exposure {score} above {MAX_EXPOSURE}:\n{out}"
    );
}
