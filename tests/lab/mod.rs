//! The network-namespace lab for end-to-end tests (`mod lab;` in a test crate).
//!
//! A [`Lab`] is three namespaces built by `scripts/lab.sh`: `NAME-in` (the
//! internal MISP, where clients run), `NAME-gw` (the gateway, where the daemon
//! runs behind an nftables TPROXY ruleset) and `NAME-out` (the remote MISPs,
//! `scripts/lab/remote_misp.py`). Addresses and host names are those of
//! `scripts/lab.sh`: misp.partner.example = 203.0.113.20, misp6.partner.example =
//! 2001:db8:2::20, misp.rogue.example = 203.0.113.21, unknown.example = 203.0.113.30;
//! the internal MISP is 192.0.2.10 / 2001:db8:1::10.
//!
//! Every lab has a unique name and its own temporary directory (certificates,
//! records, logs); dropping it kills the processes it started, by PID, and
//! deletes its namespaces, also when the test panics. Tests skip (return early)
//! when [`Lab::new`] returns `None`: not root, or a tool is missing — a
//! failure instead under `MISP_WARDEN_REQUIRE_ALL=1` ([`skip`]).
//!
//! This file builds and tears down the lab; the rest of [`Lab`]'s methods
//! are by what they drive: `remote` (the fake remote MISPs), `warden` (the
//! daemon), `clients` (curl, raw sockets, PyMISP); `misp` and `image` start
//! a real MISP and the container image.
#![allow(dead_code)]

mod clients;
pub mod image;
pub mod misp;
mod remote;
pub mod skip;
mod warden;

// Each test crate uses some of these.
#[allow(unused_imports)]
pub use clients::Curl;
use remote::Remote;
#[allow(unused_imports)]
pub use remote::{Received, Record};
pub use skip::skip;

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const WARDEN: &str = env!("CARGO_BIN_EXE_misp-warden");
/// What the lab needs on PATH besides root.
const TOOLS: [&str; 6] = ["ip", "nft", "openssl", "curl", "python3", "timeout"];
/// How long a process may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a process may take to exit after SIGTERM before it gets SIGKILL.
const TERM_TIMEOUT: Duration = Duration::from_secs(10);
/// Where tests put `warden.metrics_listen` (inside the daemon's namespace).
pub const METRICS: &str = "127.0.0.1:9102";
/// Makes lab names and file names unique within one test process.
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A process the lab started and must stop.
struct Proc {
    what: String,
    child: Child,
}

/// What the gateway does with the traffic: the ruleset `misp-warden nft` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// No ruleset: a plain router.
    None,
    /// The gateway ruleset with TPROXY, and the policy routing it needs.
    Tproxy,
    /// The gateway ruleset with NAT redirect (`--nat`).
    Nat,
    /// `--mode container-host` in the gateway (the inside is a container bridge).
    ContainerHost,
    /// `--mode same-host` in `NAME-in`: the daemon runs beside the client.
    SameHost,
}

pub struct Lab {
    /// Prefix of the three namespace names.
    name: String,
    guard: Guard,
    remotes: Vec<Remote>,
    warden: Option<Child>,
    /// Everything else started in the namespaces (remotes, `spawn`).
    children: Vec<Proc>,
    /// Dropped last, after the namespaces are gone.
    dir: TempDir,
}

impl Lab {
    /// A lab whose gateway TPROXYs to :8888 what `misp-warden nft` selects
    /// for the config (loaded by `start_warden` or `guard`).
    pub fn new(test: &str) -> Option<Lab> {
        Lab::create(test, Guard::Tproxy)
    }

    /// A lab whose gateway only routes: clients reach the remotes directly.
    pub fn new_direct(test: &str) -> Option<Lab> {
        Lab::create(test, Guard::None)
    }

    /// A lab whose gateway NAT-redirects to its own :8888 (`misp-warden nft
    /// --nat`, no TPROXY): the daemon must find the original destination in
    /// conntrack.
    pub fn new_redirect(test: &str) -> Option<Lab> {
        Lab::create(test, Guard::Nat)
    }

    /// A lab whose gateway loads `misp-warden nft --mode container-host`.
    pub fn new_container_host(test: &str) -> Option<Lab> {
        Lab::create(test, Guard::ContainerHost)
    }

    /// A lab where the daemon runs in `NAME-in` beside its clients, behind
    /// `misp-warden nft --mode same-host`; the gateway only routes.
    pub fn new_same_host(test: &str) -> Option<Lab> {
        Lab::create(test, Guard::SameHost)
    }

    /// The namespace the daemon runs in: "in" for same-host, else "gw".
    pub fn warden_ns(&self) -> &'static str {
        if self.guard == Guard::SameHost {
            "in"
        } else {
            "gw"
        }
    }

    fn create(test: &str, guard: Guard) -> Option<Lab> {
        if let Err(why) = prerequisites() {
            skip(&format!("needs root and ip/nft/openssl/curl ({why})"));
            return None;
        }
        let short: String = test
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
            .to_ascii_lowercase();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("mw-{short}-{}-{n}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}."))
            .tempdir()
            .expect("temporary directory");
        // The daemon reads its config again after dropping to `nobody`.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let lab = Lab {
            name,
            guard,
            remotes: Vec::new(),
            warden: None,
            children: Vec::new(),
            dir,
        };
        let mut up = lab.script();
        up.args(["up", &lab.name]).arg(lab.dir());
        let out = up.output().expect("run scripts/lab.sh");
        // On failure `lab` is dropped here, which runs `lab.sh down`.
        assert!(
            out.status.success(),
            "lab.sh up {} failed: {}",
            lab.name,
            show(&out)
        );
        Some(lab)
    }

    /// The namespaces are `{name}-in`, `{name}-gw`, `{name}-out`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full name of namespace `which` ("in", "gw" or "out").
    pub fn ns(&self, which: &str) -> String {
        assert!(
            matches!(which, "in" | "gw" | "out"),
            "no namespace {which:?}"
        );
        format!("{}-{which}", self.name)
    }

    /// The lab's directory: certificates (`remote-ca.pem`, `partner.pem`/`.key`,
    /// `rogue-ca.pem`, `rogue.pem`/`.key`), config, records and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `ip netns exec NAME-{ns} program`, without proxy or CA variables that
    /// would send traffic elsewhere or change what is trusted.
    pub fn ns_cmd(&self, ns: &str, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(ns), program]);
        for var in [
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "no_proxy",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "NO_PROXY",
            "CURL_CA_BUNDLE",
            "REQUESTS_CA_BUNDLE",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// `timeout 60 bash scripts/lab.sh`.
    fn script(&self) -> Command {
        let mut cmd = Command::new("timeout");
        cmd.args(["60", "bash", &format!("{MANIFEST}/scripts/lab.sh")]);
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Polls (≤ 10 s) until `ready(contents of log)`; panics with the log when
    /// `exited` reports the process gone, or on timeout.
    fn wait_for(
        &mut self,
        what: &str,
        log: &Path,
        ready: impl Fn(&str) -> bool,
        exited: impl Fn(&mut Lab) -> Option<ExitStatus>,
    ) {
        let start = Instant::now();
        loop {
            let text = read_lossy(log);
            if ready(&text) {
                return;
            }
            if let Some(status) = exited(self) {
                panic!("{what} exited ({status}) before it was ready; its log:\n{text}");
            }
            if start.elapsed() > READY_TIMEOUT {
                panic!("{what} not ready after {READY_TIMEOUT:?}; its log:\n{text}");
            }
            sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Our own processes only, by PID: the daemon, then the rest.
        if let Some(mut w) = self.warden.take() {
            terminate(&mut w, "misp-warden");
        }
        for p in &mut self.children {
            terminate(&mut p.child, &p.what);
        }
        match self.script().args(["down", &self.name]).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!("lab.sh down {} failed: {}", self.name, show(&out)),
            Err(e) => eprintln!("lab.sh down {}: {e}", self.name),
        }
    }
}

/// SIGTERM, wait up to 10 s, then SIGKILL; reaps the child.
fn terminate(child: &mut Child, what: &str) -> ExitStatus {
    if let Ok(Some(status)) = child.try_wait() {
        return status;
    }
    // Not reaped yet, so the PID is still this child's.
    send_signal(child.id(), "TERM");
    let start = Instant::now();
    while start.elapsed() < TERM_TIMEOUT {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        sleep(Duration::from_millis(20));
    }
    eprintln!(
        "{what} (pid {}) ignored SIGTERM for {TERM_TIMEOUT:?}: SIGKILL",
        child.id()
    );
    let _ = child.kill();
    child.wait().expect("wait for a killed child")
}

/// `kill -s SIGNAL PID` (kill is a shell builtin here, no /bin/kill).
fn send_signal(pid: u32, signal: &str) {
    let _ = Command::new("sh")
        .args(["-c", "kill -s \"$0\" \"$1\"", signal, &pid.to_string()])
        .status();
}

/// The value of the series whose line starts with `series` (name and
/// labels exactly as encoded), 0 when absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap_or(f64::NAN))
}

/// Root, and every tool on PATH.
/// Whether this test process runs as root (the owner of `/proc/self`).
pub fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn prerequisites() -> Result<(), String> {
    if !is_root() {
        return Err("not running as root".into());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = TOOLS
        .into_iter()
        .filter(|t| !std::env::split_paths(&path).any(|d| d.join(t).is_file()))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("missing: {}", missing.join(", ")))
    }
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("lab paths are UTF-8").to_string()
}

fn read_lossy(p: &Path) -> String {
    String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).into_owned()
}

fn show(out: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Standard base64 with padding (what Python's b64encode writes).
pub fn base64_decode(s: &str) -> Vec<u8> {
    fn value(c: u8) -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", c as char),
        }
    }
    let digits: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | value(c) << (18 - 6 * i));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// Standard base64 with padding, for `set_routes` bodies.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
