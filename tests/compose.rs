//! The misp-docker sidecar (`image/misp-docker/docker-compose.misp-warden.yml`),
//! run as a misp-docker user runs it: podman-compose with misp-docker's
//! compose file first — here a stand-in `misp-core` built from Debian's
//! packages (curl, ca-certificates; debootstrap, cached in target/) whose
//! start refreshes the CA store as misp-core's does — then the shipped file
//! unchanged, then a test file that only names the containers and gives the
//! daemon the lab remote's CA.
//!
//! misp-core runs in the `in` namespace of a direct lab (192.0.2.10, the
//! gateway only routes); the sidecar joins its network namespace, loads the
//! same-host ruleset there and guards. From inside misp-core, trusting only
//! its system store: an allowed push gets 200 and arrives byte for byte; a
//! blocked one gets 403 and never arrives.
//!
//! Needs root, the lab's tools, buildah, podman, runc, debootstrap and
//! podman-compose (scripts/test.sh installs it from PyPI into .venv);
//! skips otherwise.

mod lab;

use lab::Lab;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const PUSH: &str = "/events/add/metadata:1";
const STANDIN: &str = "localhost/misp-warden-standin-core:latest";
const SECRET: &str = "COMPOSE-SECRET-7d21";
/// Podman's default limits (nofile 1048576) are above this machine's hard
/// limits; runc refuses to start a container with them.
const LIMITS: [&str; 4] = [
    "--ulimit",
    "nofile=16384:16384",
    "--ulimit",
    "nproc=4096:4096",
];
const COMPOSE_LIMITS: &str = "    ulimits:\n      nofile: {soft: 16384, hard: 16384}\n      nproc: {soft: 4096, hard: 4096}\n";

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

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

/// podman-compose: the repo's .venv (scripts/test.sh installs it from
/// PyPI), else one on PATH.
fn podman_compose() -> Option<PathBuf> {
    let venv = Path::new(MANIFEST).join(".venv/bin/podman-compose");
    if venv.is_file() {
        return Some(venv);
    }
    have("podman-compose").then(|| PathBuf::from("podman-compose"))
}

/// The stand-in misp-core image: a Debian root with curl and
/// ca-certificates (debootstrap once, the tarball cached in target/),
/// imported into podman.
fn standin_image() {
    let cache = Path::new(MANIFEST).join("target/compose-test/standin-core.tar");
    if !cache.exists() {
        std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
        let root = cache.with_extension("root");
        let _ = std::fs::remove_dir_all(&root);
        eprintln!("debootstrap the stand-in misp-core (once; cached)");
        let status = Command::new("timeout")
            .args(["900", "debootstrap", "--variant=minbase"])
            .arg("--include=curl,ca-certificates")
            .args(["bookworm"])
            .arg(&root)
            .arg("http://deb.debian.org/debian")
            .stdin(Stdio::null())
            .status()
            .expect("run debootstrap");
        assert!(status.success(), "debootstrap: {status}");
        let partial = cache.with_extension("partial");
        let out = run(Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&partial)
            .arg("."));
        assert!(out.status.success(), "{}", show(&out));
        std::fs::rename(&partial, &cache).unwrap();
        std::fs::remove_dir_all(&root).unwrap();
    }
    let out = run(Command::new("podman")
        .args(["import", "--quiet", "--change", "CMD [\"/bin/sh\"]"])
        .arg(&cache)
        .arg(STANDIN));
    assert!(out.status.success(), "podman import: {}", show(&out));
}

/// The compose project: `down` and the containers removed by name, whatever
/// happened (dropped before the lab, whose namespace they live in).
struct Project {
    compose: PathBuf,
    dir: PathBuf,
    name: String,
    files: Vec<&'static str>,
    containers: [String; 2],
}

impl Project {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("timeout");
        cmd.arg("300").arg(&self.compose).args(["-p", &self.name]);
        for f in &self.files {
            cmd.args(["-f", f]);
        }
        cmd.args(args).current_dir(&self.dir);
        cmd
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = run(&mut self.cmd(&["down", "-t", "5"]));
        for c in &self.containers {
            let _ = run(Command::new("timeout").args([
                "60", "podman", "rm", "--force", "--ignore", "--time", "5", c,
            ]));
        }
    }
}

fn instance(ip: &str, host: &str, compartment: &str) -> Value {
    json!({"ip": ip, "host": host, "port": 443, "compartment_id": compartment, "affiliation": "lab",
           "taxonomies_rules": {"required_taxonomies": [], "allowed_tags": {}, "blocked_tags": ["tlp:red"]},
           "blocked_distribution_levels": ["0"], "blocked_sharing_groups_uuids": [],
           "blocked_attribute_types": [], "blocked_attribute_categories": [], "blocked_object_types": []})
}

fn event(tag: &str, value: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"Event": {
        "uuid": "5f1c3a2e-1111-4222-8333-444455556666", "info": "compose", "distribution": "1",
        "Tag": [{"name": tag}],
        "Attribute": [{"uuid": "5f1c3a2e-2222-4222-8333-444455556666", "type": "text",
                       "category": "Other", "value": value, "distribution": "5"}]
    }}))
    .unwrap()
}

/// A push from inside misp-core, trusting its system store only (where
/// update-ca-certificates put the interception CA): status and body.
fn push_from_core(core: &str, body: &[u8]) -> (u16, String) {
    let mut child = Command::new("timeout")
        .args(["60", "podman", "exec", "-i", core, "sh", "-c"])
        .arg(
            "curl -sS --max-time 20 --resolve misp.partner.example:443:203.0.113.20 \
             -H 'Content-Type: application/json' --data-binary @- -o /tmp/answer -w '%{http_code}' \
             https://misp.partner.example/events/add/metadata:1; echo; cat /tmp/answer",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podman exec");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (status, answer) = text.split_once('\n').unwrap_or((&text, ""));
    (
        status.trim().parse().unwrap_or(0),
        format!("{answer}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

#[test]
fn the_misp_docker_sidecar_guards_misp_core_pushes() {
    let Some(mut lab) = Lab::new_direct("compose") else {
        return;
    };
    let missing: Vec<_> = ["buildah", "podman", "runc", "debootstrap"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if !missing.is_empty() {
        return lab::skip(&format!("the compose test needs {}", missing.join(", ")));
    }
    let Some(compose) = podman_compose() else {
        return lab::skip("podman-compose is missing (scripts/test.sh installs it into .venv)");
    };
    let Some(image) = lab::image::build_and_load() else {
        return;
    };
    standin_image();
    let remote = lab.start_remote(&["203.0.113.20:443"], Some("partner"));

    // The misp-docker directory, as its README has it.
    let dir = lab.dir().join("misp-docker");
    let state = dir.join("misp-warden/state");
    std::fs::create_dir_all(&state).unwrap();
    let shipped = Path::new(MANIFEST).join("image/misp-docker/docker-compose.misp-warden.yml");
    std::fs::copy(&shipped, dir.join("docker-compose.misp-warden.yml")).unwrap();
    let config = json!({
        "allowlist": {"urls": [], "domains": []},
        "compartments_rules": {"can_reach": {"internal": ["partners"], "partners": ["internal"]}},
        "instances": {
            "misp_internal": instance("192.0.2.10", "misp.internal.example", "internal"),
            "misp_partner": instance("203.0.113.20", "misp.partner.example", "partners")
        },
        "warden": {"upstream_ca": "/etc/misp-warden/upstream-ca.pem"}
    });
    let config_path = dir.join("misp-warden/config.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for d in [&dir, &dir.join("misp-warden")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&config_path, std::fs::Permissions::from_mode(0o644)).unwrap();

    let name = format!("mw{}", lab.name().replace('-', ""));
    let (core, warden) = (format!("{name}-core"), format!("{name}-warden"));
    let netns = format!("/run/netns/{}", lab.ns("in"));
    std::fs::write(
        dir.join("docker-compose.yml"),
        format!(
            "# misp-docker's compose file, reduced to a stand-in misp-core.\n\
             services:\n  misp-core:\n    image: {STANDIN}\n    container_name: {core}\n    \
             network_mode: \"ns:{netns}\"\n    \
             command: [\"sh\", \"-c\", \"update-ca-certificates && echo ready && trap 'exit 0' TERM && while :; do sleep 1; done\"]\n\
             {COMPOSE_LIMITS}"
        ),
    )
    .unwrap();
    let remote_ca = lab.dir().join("remote-ca.pem");
    std::fs::write(
        dir.join("docker-compose.test.yml"),
        format!(
            "services:\n  misp-warden:\n    image: {image}\n    container_name: {warden}\n    \
             volumes:\n      - \"{}:/etc/misp-warden/upstream-ca.pem:ro\"\n{COMPOSE_LIMITS}",
            remote_ca.display()
        ),
    )
    .unwrap();

    // The CA first (misp-core trusts it from its first start), and check,
    // as image/misp-docker/README.md says.
    let out = run(Command::new("timeout")
        .args(["60", "podman", "run", "--rm", "--pull", "never"])
        .args(LIMITS)
        .arg("-v")
        .arg(format!("{}:/var/lib/misp-warden", state.display()))
        .args([&image, "ca", "init", "--dir", "/var/lib/misp-warden"]));
    assert!(out.status.success(), "ca init: {}", show(&out));
    let out = run(Command::new("timeout")
        .args(["60", "podman", "run", "--rm", "--pull", "never"])
        .args(LIMITS)
        .arg("-v")
        .arg(format!("{}:/c.json:ro", config_path.display()))
        .arg("-v")
        .arg(format!(
            "{}:/etc/misp-warden/upstream-ca.pem:ro",
            remote_ca.display()
        ))
        .args([&image, "check", "--config", "/c.json"]));
    assert!(out.status.success(), "check: {}", show(&out));

    let project = Project {
        compose,
        dir: dir.clone(),
        name: name.clone(),
        files: vec![
            "docker-compose.yml",
            "docker-compose.misp-warden.yml",
            "docker-compose.test.yml",
        ],
        containers: [warden.clone(), core.clone()],
    };
    let start = Instant::now();
    let out = run(&mut project.cmd(&["up", "-d"]));
    assert!(out.status.success(), "podman-compose up: {}", show(&out));
    let logs = |c: &str| {
        let out = run(Command::new("podman").args(["logs", c]));
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    loop {
        let log = logs(&warden);
        if log.contains("misp-warden ready") && logs(&core).contains("ready") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the sidecar is not ready:\n{log}\nmisp-core:\n{}",
            logs(&core)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("compose up, sidecar ready in {:.1?}", start.elapsed());
    // The ruleset is in misp-core's namespace (the lab's `in`).
    let out = run(lab
        .ns_cmd("in", "nft")
        .args(["list", "table", "inet", "misp_warden"]));
    assert!(out.status.success(), "{}", show(&out));

    let allowed = event("tlp:green", "nothing secret");
    let (status, answer) = push_from_core(&core, &allowed);
    assert_eq!(status, 200, "{answer}\n{}", logs(&warden));
    let (status, answer) = push_from_core(&core, &event("tlp:red", SECRET));
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("blocked_tags"), "{answer}");
    assert!(!answer.contains(SECRET));

    let records = lab.records(remote);
    assert_eq!(records.len(), 1, "only the allowed push arrives");
    assert_eq!(
        (records[0].path.as_str(), &records[0].body),
        (PUSH, &allowed)
    );
    let log = logs(&warden);
    assert!(log.contains("verdict=\"block\""), "{log}");
    assert!(!log.contains(SECRET), "{log}");
    drop(project);
}
