//! The container image end to end: `image/container/build.sh` builds it,
//! `podman load` reads the archive, and `podman run` starts it in the
//! gateway namespace of a direct lab (no ruleset loaded by the harness), so
//! the container's entrypoint loads the ruleset itself before the daemon
//! binds and drops privileges. Then the core cases go through it: an
//! allowed push arrives byte for byte, a blocked push and a blocked pull get
//! a 403 naming the rule and nothing of them passes.
//!
//! Needs root, buildah, podman and runc (the lab's tools too); skips otherwise.

mod lab;

use lab::{Curl, Lab};
use serde_json::{Value, json};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const PARTNER: &str = "https://misp.partner.example";
const PUSH: &str = "/events/add/metadata:1";
const EVENT_UUID: &str = "5f1c3a2e-1111-4222-8333-444455556666";
/// A value that must never reach the remote or the client.
const SECRET: &str = "CONTAINER-SECRET-41c7";

fn instance(ip: &str, host: &str, compartment: &str) -> Value {
    json!({"ip": ip, "host": host, "port": 443, "compartment_id": compartment, "affiliation": "lab",
           "taxonomies_rules": {"required_taxonomies": [], "allowed_tags": {}, "blocked_tags": ["tlp:red"]},
           "blocked_distribution_levels": ["0"], "blocked_sharing_groups_uuids": [],
           "blocked_attribute_types": [], "blocked_attribute_categories": [], "blocked_object_types": []})
}

fn config() -> Value {
    json!({
        "allowlist": {"urls": [], "domains": []},
        "compartments_rules": {"can_reach": {"internal": ["partners"], "partners": ["internal"]}},
        "instances": {
            "misp_internal": instance("192.0.2.10", "misp.internal.example", "internal"),
            "misp_partner": instance("203.0.113.20", "misp.partner.example", "partners")
        }
    })
}

fn event(tag: &str, info: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"Event": {
        "uuid": EVENT_UUID, "info": info, "distribution": "1", "published": true,
        "Tag": [{"name": tag}],
        "Attribute": [{"uuid": "5f1c3a2e-2222-4222-8333-444455556666", "type": "domain",
                       "category": "Network activity", "value": "login-portal.example", "distribution": "5"}]
    }}))
    .unwrap()
}

fn push(lab: &Lab, file: &str, body: &[u8]) -> Curl {
    let path = lab.dir().join(file);
    std::fs::write(&path, body).unwrap();
    let data = format!("@{}", path.display());
    let url = format!("{PARTNER}{PUSH}");
    lab.curl(&[
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &data,
        &url,
    ])
}

/// A 403 with MISP's JSON error shape whose message names `rule`.
fn assert_blocked(c: &Curl, rule: &str) {
    assert_eq!(c.status, 403, "expected a block: {}{}", c.text(), c.stderr);
    let body = c.json();
    assert_eq!(body["name"], "Forbidden", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(rule), "should name {rule}: {message}");
    assert!(!c.text().contains(SECRET), "{message}");
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

/// Removes the container by its (unique) name, whatever happened to it.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = run(Command::new("timeout").args([
            "60", "podman", "rm", "--force", "--ignore", "--time", "5", &self.0,
        ]));
    }
}

fn has_ruleset(lab: &Lab) -> bool {
    let mut cmd = lab.ns_cmd("gw", "nft");
    cmd.args(["list", "table", "inet", "misp_warden"]);
    run(&mut cmd).status.success()
}

/// The `Name: value` lines of /proc/PID/status.
fn status_field(status: &str, name: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in:\n{status}"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_image_guards_sync_from_the_gateway_namespace_unprivileged() {
    let Some(mut lab) = Lab::new_direct("container") else {
        return;
    };
    let Some(image) = lab::image::build_and_load() else {
        return;
    };
    let start = Instant::now();
    let remote = lab.start_remote(&["203.0.113.20:443"], Some("partner"));
    let red_uuid = "6a1c3a2e-1111-4222-8333-444455556666";
    let pull_clean = format!("/events/view/{EVENT_UUID}");
    let pull_red = format!("/events/view/{red_uuid}");
    let (clean, red) = (event("tlp:green", "clean"), event("tlp:red", SECRET));
    let json_type = json!({"Content-Type": "application/json"});
    lab.set_routes(remote, &json!([
        {"method": "GET", "path": pull_clean, "status": 200, "headers": json_type, "body_b64": lab::base64(&clean)},
        {"method": "GET", "path": pull_red, "status": 200, "headers": json_type, "body_b64": lab::base64(&red)},
    ]));
    assert!(!has_ruleset(&lab), "a direct lab starts without a ruleset");

    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("misp-warden-test-{}-{nanos}", std::process::id());
    // Declared after the lab, so dropped (and removed) before it.
    let _container = Container(name.clone());
    let netns = format!("/run/netns/{}", lab.ns("gw"));
    let dir = lab.dir().to_str().unwrap().to_string();
    lab.start_warden_as(&config(), |_, config| {
        let mut cmd = Command::new("podman");
        cmd.args(["run", "--rm", "--name", &name, "--pull", "never"])
            .args(["--runtime", "runc", "--network", &format!("ns:{netns}")])
            .args(["--cap-add", "NET_ADMIN"])
            .args([
                "--ulimit",
                "nofile=16384:16384",
                "--ulimit",
                "nproc=4096:4096",
            ])
            .args(["--volume", &format!("{dir}:{dir}")])
            .args(["--env", &format!("MISP_WARDEN_CONFIG={}", config.display())])
            .args(["--env", "MISP_WARDEN_MODE=gateway"])
            .arg(&image);
        cmd
    });
    eprintln!("container ready {:.1?} after the lab", start.elapsed());
    assert!(has_ruleset(&lab), "the container loaded the ruleset");

    // The daemon, seen from the host: PID 1 of the container, in the
    // gateway's network namespace, unprivileged.
    let out = run(Command::new("podman").args(["inspect", "--format", "{{.State.Pid}}", &name]));
    assert!(out.status.success(), "{}", show(&out));
    let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let proc = Path::new("/proc").join(&pid);
    let comm = std::fs::read_to_string(proc.join("comm")).unwrap();
    assert_eq!(comm.trim(), "misp-warden");
    let ns_link = std::fs::read_link(proc.join("ns/net")).unwrap();
    let gw_inode = std::fs::metadata(&netns).unwrap().ino();
    assert_eq!(ns_link.to_str().unwrap(), format!("net:[{gw_inode}]"));
    let status = std::fs::read_to_string(proc.join("status")).unwrap();
    assert_eq!(status_field(&status, "Uid"), "65534 65534 65534 65534");
    assert_eq!(status_field(&status, "Gid"), "65534 65534 65534 65534");
    for caps in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(status_field(&status, caps), "0000000000000000", "{caps}");
    }
    assert_eq!(status_field(&status, "NoNewPrivs"), "1");
    let log = lab.warden_log();
    assert!(
        log.contains("running as nobody (65534:65534) with no capabilities"),
        "{log}"
    );

    // An allowed push arrives byte for byte; a blocked one does not arrive.
    let c = push(&lab, "allowed.json", &clean);
    assert_eq!(c.status, 200, "{}{}", c.text(), c.stderr);
    assert_blocked(
        &push(&lab, "blocked.json", &red),
        "misp_internal.taxonomies_rules.blocked_tags",
    );
    // An allowed pull comes back byte for byte; a blocked one never reaches the client.
    let c = lab.curl(&[&format!("{PARTNER}{pull_clean}")]);
    assert_eq!(c.status, 200, "{}", c.stderr);
    assert_eq!(c.body, clean);
    let c = lab.curl(&[&format!("{PARTNER}{pull_red}")]);
    assert_blocked(&c, "misp_partner.taxonomies_rules.blocked_tags");

    let records = lab.records(remote);
    let pushes: Vec<_> = records.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(pushes.len(), 1, "only the allowed push arrives");
    assert_eq!((pushes[0].path.as_str(), &pushes[0].body), (PUSH, &clean));
    assert_eq!(records.len(), 3, "one push, two pulls");
    for r in &records {
        assert!(!String::from_utf8_lossy(&r.body).contains(SECRET));
    }
    assert!(!lab.warden_log().contains(SECRET));

    // SIGTERM to podman reaches the daemon, which drains and exits 0; --rm
    // removes the container. The ruleset stays: nothing passes unguarded.
    assert!(lab.stop_warden().success(), "{}", lab.warden_log());
    let out = run(Command::new("podman").args(["container", "exists", &name]));
    assert_eq!(out.status.code(), Some(1), "the container is gone");
    assert!(has_ruleset(&lab));
    let c = lab.curl(&["--connect-timeout", "2", &format!("{PARTNER}{pull_clean}")]);
    assert_eq!(c.status, 0, "{c:?}");
    assert_eq!(lab.records(remote).len(), 3);
    eprintln!(
        "container test took {:.1?} after the build",
        start.elapsed()
    );
}
