//! Running a scenario through `misp-warden eval`: payloads as files, the
//! command, its run and the check of its verdict.

use super::*;

/// The bytes of a payload.
/// A payload as a file: the fixture itself, or the bytes written to `tmp`
/// (named by their hash, so a payload used twice is written once).
pub fn payload_file(p: &Payload, tmp: &std::path::Path) -> std::path::PathBuf {
    match p {
        Payload::Fixture(_) | Payload::File(_) => p.path().expect("a file"),
        Payload::Bytes(b) => {
            let hash = b.iter().fold(0xcbf29ce484222325u64, |h, &c| {
                (h ^ u64::from(c)).wrapping_mul(0x100000001b3)
            });
            let path = tmp.join(format!("payload-{hash:016x}"));
            if !path.exists() {
                std::fs::write(&path, b).expect("write a payload");
            }
            path
        }
    }
}

/// `misp-warden eval` on the parity config for `s`; the response (and its
/// headers) only when `with_response`.
pub fn eval_command(
    s: &Scenario,
    tmp: &std::path::Path,
    with_response: bool,
) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_misp-warden"));
    cmd.arg("eval")
        .arg("--config")
        .arg(fixture_dir().join("config.json"))
        .args([
            "--from", s.from, "--to", s.to, "--method", s.method, "--path", &s.path,
        ]);
    if let Some(b) = &s.body {
        cmd.arg("--body").arg(payload_file(b, tmp));
    }
    for uuid in seen_events(s) {
        cmd.args(["--seen-event", &uuid]);
    }
    if with_response {
        if let Some(r) = &s.response {
            cmd.arg("--response").arg(payload_file(r, tmp));
        }
        for h in &s.response_headers {
            cmd.args(["--response-header", h]);
        }
        if let (Some(_), Some(status)) = (&s.response, s.response_status) {
            cmd.args(["--response-status", &status.to_string()]);
        }
    }
    cmd
}

pub fn payload_bytes(p: &Payload) -> Vec<u8> {
    match (p, p.path()) {
        (Payload::Bytes(b), _) => b.clone(),
        (_, Some(path)) => {
            std::fs::read(&path).unwrap_or_else(|e| panic!("read fixture {}: {e}", path.display()))
        }
        (_, None) => unreachable!("only bytes have no file"),
    }
}

/// What one `misp-warden eval` run gave.
pub struct EvalRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `misp-warden eval` on scenario `s` (its response judged too).
pub fn run_eval(s: &Scenario, tmp: &Path) -> EvalRun {
    let out = eval_command(s, tmp, true)
        .output()
        .expect("run misp-warden");
    EvalRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Checks one run against its expectation. `Ok(Some(note))` when the
/// reason matched only through a known wording gap.
pub fn check_eval(expect: &Expect, r: &EvalRun) -> Result<Option<String>, String> {
    if r.stderr.contains("panicked") || r.stderr.contains("RUST_BACKTRACE") {
        return Err(format!("the binary panicked: {}", r.stderr.trim()));
    }
    let stdout = r.stdout.trim_end();
    match expect {
        Expect::Allow => {
            if r.code == Some(0) && stdout == "allow" {
                Ok(None)
            } else {
                Err(format!(
                    "expected allow (exit 0), got exit {:?}: {stdout} {}",
                    r.code,
                    r.stderr.trim()
                ))
            }
        }
        Expect::Block(wanted) => {
            let Some(reason) = stdout.strip_prefix("block: ").filter(|_| r.code == Some(3)) else {
                return Err(format!(
                    "expected block (exit 3), got exit {:?}: {stdout} {}",
                    r.code,
                    r.stderr.trim()
                ));
            };
            reason_matches(wanted, reason)
        }
    }
}
