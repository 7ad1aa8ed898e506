//! The command line as a person runs it: `check`, `eval`, `ca init` and
//! `--help`, through the real binary. Exit codes and the first line of what
//! is printed are part of the contract (CONTRACT.md, "Subcommands").
//!
//! No run may panic: every helper asserts stderr carries no panic message
//! and no backtrace hint.

use serde_json::{Value, json};
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_misp-warden");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/parity")
        .join(name)
}

fn config_path() -> PathBuf {
    fixture("config.json")
}

fn config_value() -> Value {
    serde_json::from_slice(&std::fs::read(config_path()).expect("read config"))
        .expect("config is JSON")
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    /// The one line of stderr, asserting there is exactly one.
    fn one_error_line(&self) -> &str {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one line on stderr, got:\n{}",
            self.stderr
        );
        lines[0]
    }
}

fn warden<I, S>(args: I) -> Out
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = Command::new(BIN)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .expect("run misp-warden");
    let out = Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !out.stderr.contains("panicked") && !out.stderr.contains("RUST_BACKTRACE"),
        "misp-warden panicked:\n{}",
        out.stderr
    );
    out
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write temporary file");
    p
}

fn write_json(dir: &Path, name: &str, v: &Value) -> PathBuf {
    write(dir, name, &serde_json::to_vec_pretty(v).expect("serialise"))
}

// ---------------------------------------------------------------------------
// check

fn check(path: &Path) -> Out {
    warden([
        OsStr::new("check"),
        OsStr::new("--config"),
        path.as_os_str(),
    ])
}

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

// ---------------------------------------------------------------------------
// eval

/// `eval` of a push from bravo_2 to bravo_1 at /events/add, plus `extra`.
fn eval_push(config: &Path, extra: &[&str]) -> Out {
    let mut args: Vec<String> = vec![
        "eval".into(),
        "--config".into(),
        config.display().to_string(),
        "--from".into(),
        "198.51.100.22".into(),
        "--to".into(),
        "bravo1.zone-b.example:443".into(),
        "--method".into(),
        "POST".into(),
        "--path".into(),
        "/events/add/metadata:1".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    warden(args)
}

fn assert_block(out: &Out, reason: &str) {
    assert_eq!(
        out.code,
        Some(3),
        "expected block (exit 3): stdout {} stderr {}",
        out.stdout,
        out.stderr
    );
    let line = out.stdout.trim_end();
    assert!(line.starts_with("block: "), "stdout: {line:?}");
    assert!(
        line.contains(reason),
        "{line:?} does not contain {reason:?}"
    );
    assert_eq!(line.lines().count(), 1, "stdout: {line:?}");
}

fn assert_allow(out: &Out) {
    assert_eq!(
        out.code,
        Some(0),
        "expected allow (exit 0): stdout {} stderr {}",
        out.stdout,
        out.stderr
    );
    assert_eq!(out.stdout.trim_end(), "allow");
}

fn assert_usage_error(out: &Out, mentions: &str) {
    assert_eq!(
        out.code,
        Some(2),
        "expected exit 2: stdout {} stderr {}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.trim().is_empty(),
        "no verdict may be printed: {}",
        out.stdout
    );
    assert!(
        out.stderr.contains(mentions),
        "stderr does not mention {mentions:?}: {}",
        out.stderr
    );
}

#[test]
fn eval_blocks_a_body_that_is_not_json() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in [
        ("text.txt", &b"this is not an event"[..]),
        ("half.json", &br#"{"Event": {"distribution": "1""#[..]),
        ("binary.bin", &[0xff, 0xfe, 0x00, 0x01][..]),
    ] {
        let path = write(dir.path(), name, body);
        let out = eval_push(&config_path(), &["--body", path.to_str().unwrap()]);
        assert_block(&out, "invalid JSON body");
    }
}

#[test]
fn eval_with_a_missing_body_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-body.json");
    let out = eval_push(&config_path(), &["--body", missing.to_str().unwrap()]);
    assert_usage_error(&out, "no-such-body.json");
    out.one_error_line();
}

#[test]
fn eval_with_a_bad_config_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config_value();
    c["instances"]["bravo_1"]["port"] = json!("443a");
    let bad = write_json(dir.path(), "config.json", &c);
    let body = fixture("event_allowed.json");
    let out = eval_push(&bad, &["--body", body.to_str().unwrap()]);
    assert_usage_error(&out, "instances.bravo_1.port");
    out.one_error_line();

    let out = eval_push(
        &dir.path().join("absent.json"),
        &["--body", body.to_str().unwrap()],
    );
    assert_usage_error(&out, "absent.json");
    out.one_error_line();
}

#[test]
fn eval_without_a_required_flag_is_a_usage_error() {
    let config = config_path();
    let config = config.to_str().unwrap();
    let full = [
        ("--config", config),
        ("--from", "198.51.100.22"),
        ("--to", "bravo1.zone-b.example:443"),
        ("--method", "GET"),
        ("--path", "/servers/getVersion"),
    ];
    // The complete command is allowed; each flag left out is a usage error.
    let args = |skip: Option<usize>| {
        let mut v = vec!["eval".to_string()];
        for (i, (k, val)) in full.iter().enumerate() {
            if Some(i) != skip {
                v.push(k.to_string());
                v.push(val.to_string());
            }
        }
        v
    };
    assert_allow(&warden(args(None)));
    for (i, (flag, _)) in full.iter().enumerate() {
        let out = warden(args(Some(i)));
        assert_usage_error(&out, flag);
    }
}

#[test]
fn eval_with_a_malformed_header_is_a_usage_error() {
    let out = eval_push(&config_path(), &["--header", "no colon here"]);
    assert_usage_error(&out, "--header");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn eval_reads_a_gzip_request_body_as_the_receiver_would() {
    let dir = tempfile::tempdir().unwrap();
    let blocked = write(
        dir.path(),
        "blocked.json.gz",
        &gzip(&std::fs::read(fixture("event_tag_blocked.json")).unwrap()),
    );
    let allowed = write(
        dir.path(),
        "allowed.json.gz",
        &gzip(&std::fs::read(fixture("event_allowed.json")).unwrap()),
    );
    let gz = ["--header", "Content-Encoding: gzip"];

    let out = eval_push(
        &config_path(),
        &[&gz[..], &["--body", blocked.to_str().unwrap()]].concat(),
    );
    assert_block(&out, "event has blocked tag: tlp:red");

    let out = eval_push(
        &config_path(),
        &[&gz[..], &["--body", allowed.to_str().unwrap()]].concat(),
    );
    assert_allow(&out);

    // The header name is case-insensitive, like HTTP's.
    let out = eval_push(
        &config_path(),
        &[
            "--header",
            "content-encoding: GZIP",
            "--body",
            blocked.to_str().unwrap(),
        ],
    );
    assert_block(&out, "event has blocked tag: tlp:red");

    // Without the header the compressed bytes are no JSON: refused too.
    let out = eval_push(&config_path(), &["--body", allowed.to_str().unwrap()]);
    assert_block(&out, "invalid JSON body");

    // A header that claims gzip on a plain body: refused.
    let out = eval_push(
        &config_path(),
        &[
            &gz[..],
            &["--body", fixture("event_allowed.json").to_str().unwrap()],
        ]
        .concat(),
    );
    assert_block(&out, "Content-Encoding");
}

#[test]
fn eval_reads_a_gzip_response_body() {
    let dir = tempfile::tempdir().unwrap();
    let blocked = write(
        dir.path(),
        "blocked.json.gz",
        &gzip(&std::fs::read(fixture("event_attribute_tag_blocked.json")).unwrap()),
    );
    let out = warden([
        "eval",
        "--config",
        config_path().to_str().unwrap(),
        "--from",
        "192.0.2.12",
        "--to",
        "alpha1.zone-a.example:443",
        "--method",
        "GET",
        "--path",
        "/events/view/6e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        "--response",
        blocked.to_str().unwrap(),
        "--response-header",
        "Content-Encoding: gzip",
    ]);
    assert_block(&out, "attribute with a blocked tag: tlp:red");
}

#[test]
fn eval_blocks_an_unknown_content_encoding() {
    let body = fixture("event_allowed.json");
    for encoding in ["compress", "x-custom", "gzip;q=1"] {
        let header = format!("Content-Encoding: {encoding}");
        let out = eval_push(
            &config_path(),
            &["--header", &header, "--body", body.to_str().unwrap()],
        );
        assert_eq!(
            out.code,
            Some(3),
            "{encoding}: stdout {} stderr {}",
            out.stdout,
            out.stderr
        );
        assert!(
            out.stdout.starts_with("block: "),
            "{encoding}: {}",
            out.stdout
        );
    }
    let out = eval_push(
        &config_path(),
        &[
            "--header",
            "Content-Encoding: compress",
            "--body",
            body.to_str().unwrap(),
        ],
    );
    assert_block(&out, "unsupported content encoding compress");
}

// ---------------------------------------------------------------------------
// ca init

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

#[test]
fn ca_init_creates_a_ca_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let (pem, key) = (ca_dir.join("ca.pem"), ca_dir.join("ca.key"));
    let init = |force: bool| {
        let mut args = vec!["ca", "init", "--dir", ca_dir.to_str().unwrap()];
        if force {
            args.push("--force");
        }
        warden(args)
    };

    let out = init(false);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    let pem1 = std::fs::read_to_string(&pem).expect("ca.pem written");
    let key1 = std::fs::read_to_string(&key).expect("ca.key written");
    assert!(pem1.contains("-----BEGIN CERTIFICATE-----"), "{pem1}");
    assert!(
        key1.contains("PRIVATE KEY-----"),
        "ca.key is not a PEM private key"
    );
    assert_eq!(mode(&key), 0o600, "ca.key must be mode 0600");
    assert_eq!(mode(&ca_dir), 0o700, "the CA's directory is created 0700");

    // Again, without --force: refused, nothing touched.
    let out = init(false);
    assert_ne!(out.code, Some(0), "a second init without --force must fail");
    assert!(
        out.stderr.contains("--force"),
        "the refusal should say how to replace: {}",
        out.stderr
    );
    out.one_error_line();
    assert_eq!(
        std::fs::read_to_string(&pem).unwrap(),
        pem1,
        "ca.pem changed"
    );
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        key1,
        "ca.key changed"
    );
    assert_eq!(mode(&key), 0o600);

    // Only one of the two present is refused as well.
    std::fs::remove_file(&pem).unwrap();
    let out = init(false);
    assert_ne!(
        out.code,
        Some(0),
        "an existing ca.key must not be overwritten without --force"
    );
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        key1,
        "ca.key changed"
    );

    // With --force: a new CA, the key still 0600 (even if it was widened).
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = init(true);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    let pem2 = std::fs::read_to_string(&pem).unwrap();
    let key2 = std::fs::read_to_string(&key).unwrap();
    assert!(pem2.contains("-----BEGIN CERTIFICATE-----"));
    assert_ne!(key2, key1, "--force must replace the key");
    assert_eq!(mode(&key), 0o600, "ca.key must be mode 0600 after --force");
}

// ---------------------------------------------------------------------------
// --help

fn help(args: &[&str]) -> String {
    let out = warden(args.iter().copied().chain(["--help"]));
    assert_eq!(out.code, Some(0), "{args:?} --help: {}", out.stderr);
    out.stdout
}

#[test]
fn help_mentions_every_subcommand_and_flag() {
    let top = help(&[]);
    for sub in ["check", "eval", "ca"] {
        assert!(
            top.contains(sub),
            "misp-warden --help does not mention {sub}:\n{top}"
        );
    }
    let cases: &[(&[&str], &[&str])] = &[
        (&["check"], &["--config"]),
        (
            &["eval"],
            &[
                "--config",
                "--from",
                "--to",
                "--method",
                "--path",
                "--body",
                "--header",
                "--response",
                "--response-header",
            ],
        ),
        (&["ca"], &["init"]),
        (&["ca", "init"], &["--dir", "--force"]),
    ];
    for (args, flags) in cases {
        let text = help(args);
        for flag in *flags {
            assert!(
                text.contains(flag),
                "misp-warden {} --help does not mention {flag}:\n{text}",
                args.join(" ")
            );
        }
    }
}

#[test]
fn an_unknown_subcommand_or_flag_is_refused_without_panic() {
    let out = warden(["frobnicate"]);
    assert_ne!(out.code, Some(0));
    let out = warden([
        "check",
        "--config",
        config_path().to_str().unwrap(),
        "--bogus",
    ]);
    assert_ne!(out.code, Some(0));
    let out = warden(Vec::<&str>::new());
    assert_ne!(out.code, Some(0));
}

#[test]
fn eval_reads_the_content_type_and_defaults_it_to_json() {
    let body = fixture("event_allowed.json");
    let body = body.to_str().unwrap();
    assert_allow(&eval_push(&config_path(), &["--body", body]));
    assert_allow(&eval_push(
        &config_path(),
        &[
            "--body",
            body,
            "--header",
            "Content-Type: application/json; charset=utf-8",
        ],
    ));
    for ct in ["application/xml", "application/x-www-form-urlencoded"] {
        let header = format!("Content-Type: {ct}");
        let out = eval_push(&config_path(), &["--body", body, "--header", &header]);
        assert_block(&out, "only application/json is inspected");
    }
}

#[test]
fn eval_passes_a_feeds_non_200_answer_as_misp_guard_does() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty", b"");
    let run = |status: Option<&str>| {
        let mut args = vec![
            "eval",
            "--config",
            config_path().to_str().unwrap().to_owned().leak(),
            "--from",
            "192.0.2.11",
            "--to",
            "feed1.mirror.example:443",
            "--method",
            "GET",
            "--path",
            "/doc/misp/feed-osint/manifest.json",
            "--response",
            empty.to_str().unwrap().to_owned().leak(),
        ];
        if let Some(s) = status {
            args.extend(["--response-status", s.to_owned().leak()]);
        }
        warden(args)
    };
    assert_allow(&run(Some("304")));
    assert_block(&run(None), "empty message body");
    assert_usage_error(&run(Some("99")), "response-status");
}

// ---------------------------------------------------------------------------
// check = run: every config `run` refuses for its content, `check` refuses
// with the same line; what `check` accepts, `run` takes as far as binding.
// Neither writes anything for a refused config (no CA).

/// A directory the unprivileged account (`nobody`) can read, like
/// /etc/misp-warden: the daemon reads the config again as that account.
fn readable_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

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

// ---------------------------------------------------------------------------
// run: refusals before anything is bound (the daemon itself is proven in
// tests/e2e.rs)

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
