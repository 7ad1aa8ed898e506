//! The README's first command, `scripts/demo.sh`, as a new operator runs it
//! (root, no sudo): the allowed event arrives byte for byte, the blocked one
//! is answered 403 with MISP's JSON error naming the rule and never
//! arrives, the log names the rule — and the script exits 0 with its lab
//! gone. The script's own release build is the one step left out: it runs
//! this test's binary (`MISP_WARDEN_BIN`). Needs root; skips otherwise.

#[path = "lab/skip.rs"]
mod skip;

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_misp-warden");

fn netns() -> String {
    let out = Command::new("ip").args(["netns", "list"]).output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

#[test]
fn the_demo_shows_the_guard_at_work_and_cleans_up() {
    if std::fs::metadata("/proc/self").map_or(true, |m| m.uid() != 0) {
        return skip::skip("the demo needs root (network namespaces)");
    }
    let child = Command::new("scripts/demo.sh")
        .current_dir(MANIFEST)
        .env("MISP_WARDEN_BIN", BIN)
        .env_remove("SUDO_USER")
        .env_remove("SUDO_UID")
        .env_remove("SUDO_GID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scripts/demo.sh starts");
    // The lab's namespaces are named after the script's PID.
    let lab = format!("mwdemo{}", child.id());
    let out = child.wait_with_output().expect("scripts/demo.sh ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = format!(
        "status {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(out.status.success(), "the demo failed: {shown}");

    let allowed = stdout
        .find("HTTP 200")
        .expect("the allowed push answered 200");
    let refused = stdout
        .find("HTTP 403")
        .expect("the blocked push answered 403");
    assert!(allowed < refused, "allowed first, then blocked: {shown}");
    assert!(
        stdout.contains(r#""name": "Forbidden""#)
            && stdout.contains("(rule instances.misp_internal.blocked_object_types)"),
        "MISP's JSON error naming the rule: {shown}"
    );
    assert!(
        stdout.contains("<- demo/event-allowed.json, byte for byte"),
        "the allowed event arrived unchanged: {shown}"
    );
    assert!(
        !stdout.contains("LEAKED") && stdout.matches("  POST /").count() == 1,
        "the remote received the allowed event only: {shown}"
    );
    assert!(
        stdout.contains(r#"verdict="block" rule="blocked_object_types""#),
        "the log line names the rule: {shown}"
    );
    assert!(
        !stdout.contains("demo-sync-key") && !stderr.contains("demo-sync-key"),
        "the auth key is in no line: {shown}"
    );
    assert!(
        !netns().lines().any(|l| l.starts_with(&lab)),
        "the demo left its namespaces ({lab}): {}",
        netns()
    );
}
