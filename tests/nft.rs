//! `misp-warden nft`: the rulesets it renders are accepted by `nft -c` for
//! every topology and address family, the shipped `nftables/*.nft` are what
//! it renders for the shipped config, and bad input gets one line and exit 2.
//!
//! The `nft -c` checks run inside a network namespace the test creates and
//! deletes (nothing is loaded; `-c` only checks). They need root and nft and
//! skip without them. The rulesets' behaviour on the wire is proven by the
//! end-to-end tests, which load what this command renders.

#[path = "lab/skip.rs"]
mod skip;

use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_misp-warden");
const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const MODES: [&str; 3] = ["gateway", "container-host", "same-host"];

fn example_config() -> Value {
    let text = std::fs::read(Path::new(MANIFEST).join("config/misp-warden.json")).unwrap();
    serde_json::from_slice(&text).unwrap()
}

/// The example config with only the instances `keep` selects, its CA and
/// account pointing at things that exist here.
fn variant(keep: impl Fn(&str) -> bool) -> Value {
    let mut c = example_config();
    let instances = c["instances"].as_object_mut().unwrap();
    instances.retain(|_, i| keep(i["ip"].as_str().unwrap()));
    c["warden"]["user"] = json!("nobody");
    c["warden"]["group"] = json!("nogroup");
    c
}

fn write(dir: &Path, name: &str, config: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
    path
}

fn nft(config: &Path, mode: &str, nat: bool) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["nft", "--config"])
        .arg(config)
        .args(["--mode", mode]);
    if nat {
        cmd.arg("--nat");
    }
    let out = cmd.output().expect("run misp-warden nft");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{out:?}"
    );
    out
}

/// A network namespace of the test's own, deleted on drop.
struct Netns(String);

impl Netns {
    fn new() -> Option<Netns> {
        let root = Command::new("id").arg("-u").output().ok()?.stdout == b"0\n";
        let have_nft = Command::new("nft").arg("--version").output().is_ok();
        if !root || !have_nft {
            skip::skip("needs root and nft");
            return None;
        }
        let name = format!("mw-nftchk-{}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name}");
        Some(Netns(name))
    }

    /// `nft -c -f -` on `ruleset` inside the namespace.
    fn check(&self, ruleset: &[u8]) -> Output {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.0, "nft", "-c", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run nft");
        child.stdin.take().unwrap().write_all(ruleset).unwrap();
        child.wait_with_output().unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn nft_check_accepts_every_topology_for_ipv4_ipv6_and_dual_stack_configs() {
    let Some(ns) = Netns::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut dual = variant(|_| true);
    // Feeds, URLs and domains add their ports to the sync ports.
    dual["allowlist"] =
        json!({"urls": ["https://updates.example:8443/misp.json"], "domains": ["a.example"]});
    let configs = [
        ("ipv4", variant(|ip| !ip.contains(':'))),
        ("ipv6", variant(|ip| ip.contains(':'))),
        ("dual", dual),
    ];
    let mut checked = 0;
    for (family, config) in &configs {
        let path = write(dir.path(), &format!("{family}.json"), config);
        for mode in MODES {
            for nat in [false, true] {
                let out = nft(&path, mode, nat);
                assert_eq!(out.status.code(), Some(0), "{family} {mode} {out:?}");
                let ruleset = String::from_utf8(out.stdout).unwrap();
                // Rules for exactly the families the config has instances of.
                let rules: String = ruleset
                    .lines()
                    .filter(|l| !l.trim_start().starts_with('#'))
                    .collect();
                let v4 = rules.contains("_v4");
                let v6 = rules.contains("_v6");
                assert_eq!(
                    (v4, v6),
                    (*family != "ipv6", *family != "ipv4"),
                    "{family} {mode}:\n{ruleset}"
                );
                let check = ns.check(ruleset.as_bytes());
                assert!(
                    check.status.success(),
                    "nft -c refused the {family} {mode} ruleset (nat {nat}): {}\n{ruleset}",
                    String::from_utf8_lossy(&check.stderr)
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 18);
    // The URL's port and the domains' 443 are sync ports.
    let out = nft(&dir.path().join("dual.json"), "gateway", false);
    assert!(String::from_utf8_lossy(&out.stdout).contains("define sync_ports = { 443, 8443 }"));
}

/// The lines that name this machine's account for the daemon, which differ
/// from host to host.
fn portable(ruleset: &str) -> String {
    ruleset
        .lines()
        .filter(|l| !l.starts_with("define daemon_uid") && !l.starts_with("# The daemon's account"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_shipped_rulesets_are_what_nft_renders_for_the_shipped_config() {
    let config = Path::new(MANIFEST).join("config/misp-warden.json");
    for mode in MODES {
        let out = nft(&config, mode, false);
        if mode == "same-host" && out.status.code() == Some(2) {
            // No misp-warden and no nobody account on this machine.
            skip::skip(&format!(
                "same-host: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{mode}: {out:?}");
        let shipped =
            std::fs::read_to_string(Path::new(MANIFEST).join(format!("nftables/{mode}.nft")))
                .unwrap();
        assert_eq!(
            portable(&shipped),
            portable(&String::from_utf8_lossy(&out.stdout)),
            "nftables/{mode}.nft is stale: run scripts/render-nftables.sh"
        );
    }
}

fn assert_one_line_exit_2(out: &Output, mentions: &str) {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "nothing on stdout: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].contains(mentions), "{stderr}");
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.json", &variant(|_| true));
    assert_one_line_exit_2(
        &nft(&good, "bridge", false),
        "--mode \"bridge\": expected gateway, container-host or same-host",
    );
    // Nothing to intercept, or a listener on a sync port (its own traffic
    // would be caught again): the config itself is refused.
    let none = write(dir.path(), "none.json", &variant(|_| false));
    assert_one_line_exit_2(
        &nft(&none, "gateway", false),
        "instances: expected at least one instance",
    );
    let mut on_sync_port = variant(|_| true);
    on_sync_port["warden"]["listen"] = json!(["0.0.0.0:443", "[::]:8888"]);
    let on_sync_port = write(dir.path(), "port.json", &on_sync_port);
    assert_one_line_exit_2(&nft(&on_sync_port, "gateway", false), "warden.listen[0]");
    let mut v4_listener = variant(|_| true);
    v4_listener["warden"]["listen"] = json!(["0.0.0.0:8888"]);
    let v4_listener = write(dir.path(), "v4.json", &v4_listener);
    assert_one_line_exit_2(
        &nft(&v4_listener, "gateway", false),
        "warden.listen: instance misp_internal_v6 is IPv6 (2001:db8:1::10) but no IPv6 listener is configured",
    );
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, b"{\"allowlist\": ").unwrap();
    assert_one_line_exit_2(&nft(&broken, "gateway", false), "invalid config");
}
