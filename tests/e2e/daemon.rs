//! The daemon as a process: no capabilities, a listener it may not bind,
//! reloads on SIGHUP, and SIGTERM with an exchange in flight.

use super::*;

#[test]
fn runs_unprivileged_with_no_capabilities() {
    let Some(lab) = lab_with("privs", &config()) else {
        return;
    };
    let status = std::fs::read_to_string(format!("/proc/{}/status", lab.warden_pid())).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("{name} missing"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
    };
    assert!(
        field("Uid").iter().all(|u| *u != "0"),
        "uid: {:?}",
        field("Uid")
    );
    assert!(
        field("Gid").iter().all(|g| *g != "0"),
        "gid: {:?}",
        field("Gid")
    );
    for set in ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"] {
        assert_eq!(field(set), vec!["0000000000000000"], "{set}");
    }
    assert_eq!(field("NoNewPrivs"), vec!["1"]);
    // And it still works.
    let c = lab.curl(&[&format!("{PARTNER}/servers/getVersion")]);
    assert_eq!(c.status, 200, "{}", c.stderr);
}

#[test]
fn without_the_right_to_bind_it_exits_with_one_line_naming_it() {
    if !lab::is_root() {
        lab::skip("needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let mut c = config();
    c["warden"] = json!({"listen": ["127.0.0.1:18888"], "ca_cert": dir.path().join("ca.pem"), "ca_key": dir.path().join("ca.key")});
    std::fs::write(&path, c.to_string()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_misp-warden"))
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(
        lines[0].contains("IP_TRANSPARENT") && lines[0].contains("CAP_NET_ADMIN"),
        "{stderr}"
    );
}

#[test]
fn sighup_reloads_valid_configs_only_and_sigterm_exits_zero() {
    let Some(mut lab) = lab_with("reload", &config()) else {
        return;
    };
    let amber = write(
        &lab,
        "amber.json",
        &event(|e| e["Tag"] = json!([{"name": "tlp:amber"}])),
    );
    let url = format!("{PARTNER}{PUSH}");
    assert_eq!(push(&lab, &url, &amber, &[]).status, 200);

    // A valid change: tlp:amber is now blocked, on the next request.
    let written: Value =
        serde_json::from_slice(&std::fs::read(lab.config_path()).unwrap()).unwrap();
    let mut stricter = written.clone();
    stricter["instances"]["misp_internal"]["taxonomies_rules"]["blocked_tags"] =
        json!(["tlp:red", "tlp:amber"]);
    std::fs::write(lab.config_path(), stricter.to_string()).unwrap();
    lab.signal_warden("HUP");
    wait_for_log(&lab, "reloaded");
    assert_blocked(&push(&lab, &url, &amber, &[]), "blocked_tags");

    // Invalid files keep the stricter policy in force.
    let mut no_allowlist = stricter.clone();
    no_allowlist.as_object_mut().unwrap().remove("allowlist");
    for (i, broken) in [
        b"{ not json".to_vec(),
        no_allowlist.to_string().into_bytes(),
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(lab.config_path(), broken).unwrap();
        lab.signal_warden("HUP");
        wait_for_count(&lab, "reload refused", i + 1);
        assert_blocked(&push(&lab, &url, &amber, &[]), "blocked_tags");
    }
    assert_eq!(lab.records(0).len(), 1);
    let status = lab.stop_warden();
    assert!(status.success(), "SIGTERM must exit 0: {status}");
}

fn wait_for_log(lab: &Lab, needle: &str) {
    wait_for_count(lab, needle, 1)
}

fn wait_for_count(lab: &Lab, needle: &str, n: usize) {
    if !eventually(|| lab.warden_log().matches(needle).count() >= n) {
        panic!("no {needle:?} (x{n}) in the log:\n{}", lab.warden_log());
    }
}

/// Whether `cond` comes true within 5 s (checked every 50 ms).
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    cond()
}

#[test]
fn sigterm_lets_an_exchange_in_flight_finish_and_takes_no_new_one() {
    let Some(mut lab) = lab_with("drain", &config()) else {
        return;
    };
    let clean = event(|_| {});
    let path = format!("/events/view/{EVENT_UUID}");
    lab.set_routes(
        0,
        &json!([{"method": "GET", "path": path, "status": 200, "delay_ms": 2000,
        "headers": {"Content-Type": "application/json"}, "body_b64": lab::base64(&clean)}]),
    );
    let body_file = lab.dir().join("slow.body");
    let ca = lab.dir().join("warden-ca.pem");
    let url = format!("{PARTNER}{path}");
    lab.spawn(
        "in",
        "curl",
        &[
            "-sS",
            "--max-time",
            "20",
            "--cacert",
            ca.to_str().unwrap(),
            "-o",
            body_file.to_str().unwrap(),
            "-w",
            "%{http_code}",
            &url,
        ],
        "slow.log",
    );
    // Once the remote has the request, the exchange is in flight.
    eventually(|| !lab.records(0).is_empty());
    assert_eq!(lab.records(0).len(), 1, "the slow pull reached the remote");
    lab.signal_warden("TERM");
    wait_for_log(&lab, "stopping");
    let late = lab.curl(&[&format!("{PARTNER}/servers/getVersion")]);
    assert_eq!(
        late.status,
        0,
        "no new connection is taken after SIGTERM: {}",
        late.text()
    );
    let status = lab.stop_warden();
    assert!(status.success(), "exit 0 after draining: {status}");
    // curl writes its status when it has the whole answer.
    let read = || std::fs::read_to_string(lab.dir().join("slow.log")).unwrap_or_default();
    eventually(|| !read().trim().is_empty());
    let out = read();
    assert_eq!(out.trim(), "200", "the exchange in flight finished: {out}");
    assert_eq!(std::fs::read(&body_file).unwrap(), clean);
}
