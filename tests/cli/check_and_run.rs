//! check = run: every config `run` refuses for its content, `check` refuses
//! with the same line; what `check` accepts, `run` takes as far as binding.
//! Neither writes anything for a refused config (no CA). And `run`'s
//! refusals before anything is bound (the daemon itself is proven in
//! tests/e2e.rs).

use super::*;

/// `run` on `config` with its only listener on a port another socket
/// holds: past every check, binding fails. Returns the error line.
fn run_until_bind(config: &Path) -> String {
    let out = warden([
        OsStr::new("run"),
        OsStr::new("--config"),
        config.as_os_str(),
    ]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    out.one_error_line().to_string()
}

/// The accounts a test may name: the fallback account must exist.
fn have_nobody() -> bool {
    std::fs::read_to_string("/etc/passwd")
        .is_ok_and(|p| p.lines().any(|l| l.starts_with("nobody:")))
}

#[test]
fn check_and_run_agree_on_every_config() {
    if !have_nobody() {
        panic!("this test needs the account nobody (/etc/passwd)");
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = format!("127.0.0.1:{}", taken.local_addr().unwrap().port());
    let dir = readable_dir();
    let d = dir.path();
    let ca_dir = d.join("state");
    let base = |warden: Value| {
        let mut c = config_value();
        let mut w = json!({"listen": [listen], "ca_cert": ca_dir.join("ca.pem"),
            "ca_key": ca_dir.join("ca.key"), "user": "nobody", "group": "nogroup"});
        for (k, v) in warden.as_object().unwrap() {
            w[k] = v.clone();
        }
        c["warden"] = w;
        c
    };
    // Files the cases name: a certificate world-readable, a private key
    // readable by nogroup, a key open to everyone, one only root can read.
    let out = Command::new(BIN)
        .args(["ca", "init", "--dir"])
        .arg(d.join("pki"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    std::fs::set_permissions(d.join("pki"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let pem = d.join("pki/ca.pem");
    let key = d.join("pki/ca.key"); // 0600 root: nobody cannot read it
    let open_key = write(d, "open.key", &std::fs::read(&key).unwrap());
    std::fs::set_permissions(&open_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let group_key = write(d, "group.key", &std::fs::read(&key).unwrap());
    std::fs::set_permissions(&group_key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let nogroup = Command::new("chgrp")
        .arg("nogroup")
        .arg(&group_key)
        .status();
    let root = lab_root();

    let mut cases: Vec<(&str, Value, Option<&str>)> = vec![
        ("defaults", base(json!({})), None),
        (
            "root",
            base(json!({"user": "root"})),
            Some("must not be root"),
        ),
        (
            "root group",
            base(json!({"group": "root"})),
            Some("must not be root"),
        ),
        (
            "no such user",
            base(json!({"user": "no-such-user-mw"})),
            Some("warden.user: no such user no-such-user-mw"),
        ),
        (
            "no such group",
            base(json!({"group": "no-such-group-mw"})),
            Some("warden.group: no such group no-such-group-mw"),
        ),
        (
            "upstream_ca missing",
            base(json!({"upstream_ca": d.join("absent.pem")})),
            Some("warden.upstream_ca: "),
        ),
        (
            "upstream_ca present",
            base(json!({"upstream_ca": pem})),
            None,
        ),
        (
            "upstream_ca not PEM",
            base(json!({"upstream_ca": d.join("config-0.json")})),
            Some("warden.upstream_ca"),
        ),
        (
            "one CA file",
            base(json!({"ca_cert": pem, "ca_key": d.join("absent.key")})),
            Some("warden.ca_key: "),
        ),
        (
            "CA key open to all",
            base(json!({"ca_cert": pem, "ca_key": open_key})),
            Some("open to other accounts"),
        ),
        (
            "CA in a file's place",
            base(
                json!({"ca_cert": d.join("config-0.json/ca.pem"), "ca_key": d.join("config-0.json/ca.key")}),
            ),
            Some("not a directory"),
        ),
        (
            "listener collision",
            base(json!({"metrics_listen": listen})),
            Some("warden.metrics_listen"),
        ),
        (
            "dual-stack metrics over a v4 listener",
            base(json!({"listen": ["0.0.0.0:18443"], "metrics_listen": "[::]:18443"})),
            Some("collides with warden.listen[0]"),
        ),
    ];
    if root {
        cases.push((
            "client key nobody cannot read",
            {
                let mut c = base(json!({}));
                c["instances"]["alpha_1"]["tls"] = json!({"client_cert": pem, "client_key": key});
                c
            },
            Some("instances.alpha_1.tls.client_key"),
        ));
    }
    if root && nogroup.is_ok_and(|s| s.success()) {
        cases.push((
            "client key readable by the group",
            {
                let mut c = base(json!({}));
                c["instances"]["alpha_1"]["tls"] =
                    json!({"client_cert": pem, "client_key": group_key});
                c
            },
            None,
        ));
    }
    for (n, (what, config, refused)) in cases.iter().enumerate() {
        let path = write_json(d, &format!("config-{n}.json"), config);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let checked = check(&path);
        let ran = run_until_bind(&path);
        match refused {
            Some(reason) => {
                assert_eq!(
                    checked.code,
                    Some(1),
                    "{what}: check accepted it: {}",
                    checked.stdout
                );
                let line = checked.one_error_line();
                assert!(line.contains(reason), "{what}: {line}");
                assert_eq!(ran, line, "{what}: run and check disagree");
            }
            None => {
                assert_eq!(checked.code, Some(0), "{what}: {}", checked.stderr);
                assert!(
                    ran.contains("cannot bind listener") || ran.contains("IP_TRANSPARENT"),
                    "{what}: run refused what check accepted: {ran}"
                );
            }
        }
        assert!(!ca_dir.exists(), "{what}: a CA was written");
    }

    // The config file itself: readable by the account, not writable by all.
    let path = write_json(d, "private.json", &base(json!({})));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    if root {
        let line = check(&path).one_error_line().to_string();
        assert!(line.contains("cannot be read by nobody"), "{line}");
        assert_eq!(run_until_bind(&path), line);
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let line = check(&path).one_error_line().to_string();
    assert!(line.contains("writable by every account"), "{line}");
    assert_eq!(run_until_bind(&path), line);
    assert!(!ca_dir.exists());
}

fn lab_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[test]
fn run_with_an_invalid_config_exits_1_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = config_value();
    v["instances"]["alpha_1"]["port"] = json!("443a");
    let path = write_json(dir.path(), "bad.json", &v);
    let out = warden([OsStr::new("run"), OsStr::new("--config"), path.as_os_str()]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let line = out.one_error_line();
    assert!(line.contains("instances.alpha_1.port"), "{line}");
}

#[test]
fn run_with_a_listener_it_cannot_bind_exits_1_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = config_value();
    // A port another socket already listens on (without root the
    // IP_TRANSPARENT step fails first; either way one line names the address).
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    v["warden"] = json!({"listen": [format!("127.0.0.1:{port}")],
        "ca_cert": dir.path().join("ca.pem"), "ca_key": dir.path().join("ca.key")});
    let path = write_json(dir.path(), "busy.json", &v);
    let out = warden([OsStr::new("run"), OsStr::new("--config"), path.as_os_str()]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let line = out.one_error_line();
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(
        !dir.path().join("ca.key").exists(),
        "nothing is created before the listeners are bound"
    );
}
