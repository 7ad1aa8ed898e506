//! The container image, built once per test process: `image/container/build.sh`
//! (its progress straight to the terminal), then `podman load`. Shared by
//! tests/container.rs and tests/compose.rs.

use super::skip;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
/// The image's budget, archive and unpacked alike.
const MAX_SIZE: u64 = 20_000_000;

fn on_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| d.join(tool).is_file())
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn show(out: &Output) -> String {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    format!("{}\n{}{}", out.status, text(&out.stdout), text(&out.stderr))
}

/// Builds the image with `image/container/build.sh` and loads its archive
/// with `podman load`; returns the name podman gave it. None (after saying
/// why) when this machine cannot run containers.
pub fn build_and_load() -> Option<String> {
    if !super::is_root() {
        skip("the container test needs root");
        return None;
    }
    let missing: Vec<_> = ["buildah", "podman", "runc", "apt-get", "dpkg-deb"]
        .into_iter()
        .filter(|t| !on_path(t))
        .collect();
    if !missing.is_empty() {
        skip(&format!("the container test needs {}", missing.join(", ")));
        return None;
    }
    let archive = format!("{MANIFEST}/target/misp-warden-image.tar");
    let start = Instant::now();
    // The first build takes minutes: its progress (build.sh's timed steps,
    // cargo's crates) goes straight to the terminal, past the test harness.
    let status = Command::new("timeout")
        .args([
            "1500",
            "bash",
            &format!("{MANIFEST}/image/container/build.sh"),
            "--output",
            &archive,
        ])
        .stdin(Stdio::null())
        .status()
        .expect("run build.sh");
    assert!(
        status.success(),
        "build.sh failed ({status}); its output is above"
    );
    let size = std::fs::metadata(&archive).expect("the archive").len();
    eprintln!(
        "image built in {:.1?}: {archive}, {size} bytes",
        start.elapsed()
    );
    assert!(
        size < MAX_SIZE,
        "the archive should stay under {MAX_SIZE} bytes"
    );
    let out = run(Command::new("timeout").args(["300", "podman", "load", "--input", &archive]));
    assert!(out.status.success(), "podman load failed: {}", show(&out));
    // "Loaded image: localhost/misp-warden:latest" (podman 3: "Loaded image(s): a,b").
    let stdout = String::from_utf8_lossy(&out.stdout);
    let name = stdout
        .lines()
        .find_map(|l| l.split_once("Loaded image").map(|(_, r)| r))
        .and_then(|r| r.split_once(": "))
        .map(|(_, n)| n.split(',').next().unwrap().trim().to_string())
        .unwrap_or_else(|| panic!("podman load named no image: {}", show(&out)));
    // From scratch: one layer, ours.
    let format = "{{.Size}} {{len .RootFS.Layers}}";
    let out = run(Command::new("podman").args(["image", "inspect", "--format", format, &name]));
    assert!(out.status.success(), "{}", show(&out));
    let inspect = String::from_utf8_lossy(&out.stdout);
    let (size, layers) = inspect.trim().split_once(' ').expect("size and layers");
    eprintln!("image {name}: {size} bytes, {layers} layer(s)");
    assert_eq!(layers, "1");
    assert!(size.parse::<u64>().unwrap() < MAX_SIZE);
    Some(name)
}
