//! `check`: what it accepts and summarises, and each refusal naming its key
//! (a bad port, a missing file, invalid JSON, a duplicate, unknown or
//! dangling key).

use super::*;

/// `check` on a config that must be refused: exit 1, one line that names
/// the key path and says what is wrong.
fn check_refuses(config: &Path, wanted: &[&str]) {
    let out = check(config);
    assert_eq!(
        out.code,
        Some(1),
        "check must exit 1; stdout {} stderr {}",
        out.stdout,
        out.stderr
    );
    let line = out.one_error_line();
    for w in wanted {
        assert!(line.contains(w), "{line:?} does not contain {w:?}");
    }
    assert!(!out.stdout.contains("config OK"), "stdout: {}", out.stdout);
}

#[test]
fn check_accepts_the_parity_config_and_summarises_it() {
    // A copy where the daemon's account can read it (the checkout may sit
    // in a directory only root can enter; check refuses that, as run does).
    let dir = readable_dir();
    let path = write(
        dir.path(),
        "config.json",
        &std::fs::read(config_path()).unwrap(),
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = check(&path);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert!(
        out.stdout.contains("6 instance(s)"),
        "summary: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("4 compartment(s)"),
        "summary: {}",
        out.stdout
    );
    for id in [
        "alpha_1",
        "alpha_2",
        "bravo_1",
        "bravo_2",
        "charlie_1",
        "delta_1",
    ] {
        assert!(
            out.stdout.contains(id),
            "summary does not list {id}: {}",
            out.stdout
        );
    }
}

#[test]
fn check_names_the_key_of_a_bad_port() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config_value();
    c["instances"]["bravo_1"]["port"] = json!("443a");
    let path = write_json(dir.path(), "config.json", &c);
    check_refuses(
        &path,
        &[
            "instances.bravo_1.port",
            r#"expected an integer 1..65535, got "443a""#,
        ],
    );

    c["instances"]["bravo_1"]["port"] = json!(0);
    let path = write_json(dir.path(), "config.json", &c);
    check_refuses(
        &path,
        &[
            "instances.bravo_1.port",
            "expected an integer 1..65535, got 0",
        ],
    );
}

#[test]
fn check_of_a_missing_file_says_missing_and_names_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-config.json");
    check_refuses(&missing, &["no-such-config.json: missing"]);
    let line = check(&missing).stderr;
    assert_eq!(line.matches("no-such-config.json").count(), 1, "{line}");
    assert!(!line.contains("invalid"), "{line}");
}

#[test]
fn an_unknown_key_says_what_was_probably_meant() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config_value();
    c["instances"]["charlie_1"]["blocked_object_type"] = json!(["person"]);
    let path = write_json(dir.path(), "config.json", &c);
    check_refuses(
        &path,
        &[
            "instances.charlie_1.blocked_object_type",
            r#"did you mean "blocked_object_types"?"#,
        ],
    );
    let mut c = config_value();
    c["warden"] = json!({"metrics-listen": "127.0.0.1:9102"});
    let path = write_json(dir.path(), "config.json", &c);
    check_refuses(
        &path,
        &["warden.metrics-listen", r#"did you mean "metrics_listen"?"#],
    );
    // Nothing close: no guess.
    let mut c = config_value();
    c["instances"]["charlie_1"]["colour"] = json!("blue");
    let path = write_json(dir.path(), "config.json", &c);
    let out = check(&path);
    assert_eq!(out.code, Some(1));
    assert!(!out.stderr.contains("did you mean"), "{}", out.stderr);
}

#[test]
fn check_refuses_invalid_json() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read(config_path()).unwrap();
    let path = write(dir.path(), "truncated.json", &text[..text.len() / 2]);
    check_refuses(&path, &["not valid JSON"]);
    let path = write(dir.path(), "empty.json", b"");
    check_refuses(&path, &["not valid JSON"]);
    let path = write(
        dir.path(),
        "trailing-comma.json",
        br#"{"allowlist": {"urls": [], "domains": [],}}"#,
    );
    check_refuses(&path, &["not valid JSON"]);
}

#[test]
fn check_refuses_a_duplicate_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(std::fs::read(config_path()).unwrap()).unwrap();
    // A second "allowlist", earlier in the file, that would open everything.
    let dup = text.replacen(
        '{',
        r#"{"allowlist": {"urls": [], "domains": ["evil.example"]},"#,
        1,
    );
    let path = write(dir.path(), "dup.json", dup.as_bytes());
    check_refuses(&path, &["duplicate key", "allowlist"]);

    // And inside an instance.
    let dup = text.replacen(
        r#""blocked_distribution_levels": ["0"],"#,
        r#""blocked_distribution_levels": ["0"], "blocked_distribution_levels": [],"#,
        1,
    );
    assert_ne!(dup, text, "the fixture changed shape");
    let path = write(dir.path(), "dup2.json", dup.as_bytes());
    check_refuses(&path, &["duplicate key", "blocked_distribution_levels"]);
}

#[test]
fn check_refuses_an_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    // A misspelt rule must not silently do nothing.
    let mut c = config_value();
    c["instances"]["charlie_1"]["blocked_attribute_type"] = json!(["email"]);
    let path = write_json(dir.path(), "config.json", &c);
    check_refuses(
        &path,
        &["instances.charlie_1.blocked_attribute_type", "unknown key"],
    );

    let mut c = config_value();
    c["instances"]["delta_1"]["taxonomies_rules"]["blocked_tag"] = json!(["tlp:red"]);
    let path = write_json(dir.path(), "config.json", &c);
    check_refuses(
        &path,
        &[
            "instances.delta_1.taxonomies_rules.blocked_tag",
            "unknown key",
        ],
    );
}

#[test]
fn check_refuses_a_dangling_compartment() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config_value();
    c["instances"]["alpha_2"]["compartment_id"] = json!("zone_z");
    let path = write_json(dir.path(), "config.json", &c);
    check_refuses(
        &path,
        &["instances.alpha_2.compartment_id", "zone_z", "not defined"],
    );

    let mut c = config_value();
    c["compartments_rules"]["can_reach"]["zone_c"] = json!(["zone_a", "zone_c", "zone_q"]);
    let path = write_json(dir.path(), "config.json", &c);
    check_refuses(
        &path,
        &[
            "compartments_rules.can_reach.zone_c",
            "zone_q",
            "not defined",
        ],
    );
}
