//! The command line as a person runs it: `check`, `eval`, `ca init` and
//! `--help`, through the real binary. Exit codes and the first line of what
//! is printed are part of the contract (CONTRACT.md, "Subcommands").
//!
//! No run may panic: every helper asserts stderr carries no panic message
//! and no backtrace hint.
//!
//! This file holds the helpers every group shares and the `ca init` and
//! `--help` tests; `check`, `eval`, and check = run with `run`'s refusals
//! are in `tests/cli/`.

#[path = "cli/check_and_run.rs"]
mod check_and_run;
#[path = "cli/check_config.rs"]
mod check_config;
#[path = "cli/eval.rs"]
mod eval;

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

/// `misp-warden check --config PATH`.
fn check(path: &Path) -> Out {
    warden([
        OsStr::new("check"),
        OsStr::new("--config"),
        path.as_os_str(),
    ])
}

/// A directory the unprivileged account (`nobody`) can read, like
/// /etc/misp-warden: the daemon reads the config again as that account.
fn readable_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
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
