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
#![allow(dead_code)]

pub mod image;
pub mod misp;
pub mod skip;

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

/// One request as the remote MISP received it.
#[derive(Debug, Clone)]
pub struct Record {
    pub method: String,
    /// The request target exactly as sent.
    pub path: String,
    /// In order, as sent (names keep their case).
    pub headers: Vec<(String, String)>,
    /// The body as received (chunked encoding removed, nothing else).
    pub body: Vec<u8>,
    /// The client address the remote saw (the gateway's when the guard forwarded it).
    pub peer: String,
    /// Its port: the same port means the same (kept-alive) connection.
    pub peer_port: u64,
    /// The SNI the client sent, for TLS connections.
    pub sni: Option<String>,
    /// Why the remote could not parse the request (it answered 400 and
    /// recorded what it had read of it), or `None`.
    pub error: Option<String>,
}

/// One connection as the remote MISP received it: every byte, parsed or not.
#[derive(Debug, Clone)]
pub struct Received {
    /// Which connection, in the order they were opened (across listeners).
    pub id: u64,
    pub peer: String,
    pub peer_port: u64,
    /// The SNI the client sent, for TLS connections.
    pub sni: Option<String>,
    /// Everything read from the connection (after TLS), in order.
    pub bytes: Vec<u8>,
}

impl Record {
    /// The first header of that name, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (panics when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {}: body is not JSON ({e}): {}",
                self.method,
                self.path,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// What one curl run inside `NAME-in` gave.
#[derive(Debug, Clone)]
pub struct Curl {
    /// The HTTP status, 0 when curl failed (no connection, TLS error, timeout...).
    pub status: u16,
    pub body: Vec<u8>,
    pub stderr: String,
    /// curl's exit code (0 = success; 7 = could not connect; 35/60 = TLS).
    pub exit: i32,
}

impl Curl {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON (panics when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {self:?} {}", self.text()))
    }
}

/// A fake remote MISP started by [`Lab::start_remote`].
struct Remote {
    record: PathBuf,
    routes: PathBuf,
    log: PathBuf,
    /// Every byte received, per connection (`remote_misp.py --capture`).
    capture: PathBuf,
}

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

    /// Starts `remote_misp.py` in `NAME-out` listening on each `ADDR:PORT`
    /// (`[V6]:PORT`), with TLS and certificate `DIR/{cert}.pem` ("partner" or
    /// "rogue") or plain HTTP when `cert` is None. Returns its index.
    pub fn start_remote(&mut self, listen: &[&str], cert: Option<&str>) -> usize {
        self.start_remote_with(listen, cert, &[])
    }

    /// [`Lab::start_remote`] with more arguments for `remote_misp.py`, e.g.
    /// `["--client-ca", path]` for a remote that demands a client certificate.
    pub fn start_remote_with(
        &mut self,
        listen: &[&str],
        cert: Option<&str>,
        extra: &[&str],
    ) -> usize {
        self.start_remote_in("out", listen, cert, extra)
    }

    /// [`Lab::start_remote_with`] in namespace `ns`: "in" makes it the
    /// internal MISP (192.0.2.10), for inbound sync from outside.
    pub fn start_remote_in(
        &mut self,
        ns: &str,
        listen: &[&str],
        cert: Option<&str>,
        extra: &[&str],
    ) -> usize {
        let i = self.remotes.len();
        let file = |suffix: &str| self.dir().join(format!("remote-{i}{suffix}"));
        let remote = Remote {
            record: file(".jsonl"),
            routes: file("-routes.json"),
            log: file(".log"),
            capture: file("-capture"),
        };
        let ready = file(".ready");
        let script = format!("{MANIFEST}/scripts/lab/remote_misp.py");
        let mut args = vec!["-u".to_string(), script];
        for l in listen {
            args.extend(["--listen".to_string(), l.to_string()]);
        }
        if let Some(c) = cert {
            let pem = self.dir().join(format!("{c}.pem"));
            let key = self.dir().join(format!("{c}.key"));
            assert!(pem.exists(), "no certificate {c:?} in the lab");
            args.extend([
                "--cert".into(),
                path_str(&pem),
                "--key".into(),
                path_str(&key),
            ]);
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        for (flag, path) in [
            ("--record", &remote.record),
            ("--routes", &remote.routes),
            ("--ready", &ready),
            ("--capture", &remote.capture),
        ] {
            args.extend([flag.to_string(), path_str(path)]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let log = format!("remote-{i}.log");
        self.spawn(ns, "python3", &args, &log);
        let child = self.children.len() - 1;
        self.wait_for(
            &format!("remote {i} ({listen:?})"),
            &remote.log,
            |_| ready.exists(),
            |lab| lab.children[child].child.try_wait().ok().flatten(),
        );
        self.remotes.push(remote);
        i
    }

    /// Sets canned responses of remote `remote`: a JSON list of
    /// `{"method", "path", "status", "headers": {..}, "body_b64"}`, matched
    /// exactly on method and path, and on the request headers of an
    /// optional `"when_headers": {..}` (see `scripts/lab/remote_misp.py`).
    pub fn set_routes(&self, remote: usize, routes: &Value) {
        let path = &self.remote(remote).routes;
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, serde_json::to_vec(routes).unwrap()).expect("write routes");
        fs::rename(&tmp, path).expect("rename routes"); // read whole or not at all
    }

    /// Every request remote `remote` received so far, in order.
    pub fn records(&self, remote: usize) -> Vec<Record> {
        let text = fs::read_to_string(&self.remote(remote).record).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("record line is JSON");
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                Record {
                    method: s("method"),
                    path: s("path"),
                    headers: v["headers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|h| {
                            let hs = |i: usize| h[i].as_str().unwrap_or_default().to_string();
                            (hs(0), hs(1))
                        })
                        .collect(),
                    body: base64_decode(v["body_b64"].as_str().unwrap_or_default()),
                    peer: s("peer"),
                    peer_port: v["peer_port"].as_u64().unwrap_or(0),
                    sni: v["tls"]["sni"].as_str().map(str::to_string),
                    error: v["error"].as_str().map(str::to_string),
                }
            })
            .collect()
    }

    /// The file where remote `remote` records each request (one JSON line).
    pub fn record_file(&self, remote: usize) -> &Path {
        &self.remote(remote).record
    }

    /// The directory where remote `remote` keeps every byte it received,
    /// per connection: `NNNNNN.json` (peer, port, TLS) and `NNNNNN.bin`.
    pub fn capture_dir(&self, remote: usize) -> &Path {
        &self.remote(remote).capture
    }

    /// Every connection remote `remote` accepted so far (past the TLS
    /// handshake), with every byte read from it, parsed or not, in order.
    pub fn received(&self, remote: usize) -> Vec<Received> {
        let dir = self.capture_dir(remote);
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n.ends_with(".json"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|name| {
                let stem = name.trim_end_matches(".json");
                let meta: Value =
                    serde_json::from_slice(&fs::read(dir.join(name)).unwrap_or_default())
                        .unwrap_or(Value::Null);
                Received {
                    id: stem.parse().unwrap_or(0),
                    peer: meta["peer"].as_str().unwrap_or_default().to_string(),
                    peer_port: meta["peer_port"].as_u64().unwrap_or(0),
                    sni: meta["tls"]["sni"].as_str().map(str::to_string),
                    bytes: fs::read(dir.join(format!("{stem}.bin"))).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// The stderr of remote `remote`.
    pub fn remote_log(&self, remote: usize) -> String {
        read_lossy(&self.remote(remote).log)
    }

    /// Writes `config` (a full misp-warden config; see [`Lab::write_config`]),
    /// loads the gateway ruleset `misp-warden nft` renders for it
    /// ([`Lab::guard`]), then runs `misp-warden run` in `NAME-gw` and waits
    /// until its log says `misp-warden ready`. Panics with the log if it exits
    /// or is not ready in 10 s.
    pub fn start_warden(&mut self, config: &Value) {
        self.start_warden_as(config, |lab, path| {
            let mut cmd = lab.ns_cmd(lab.warden_ns(), WARDEN);
            cmd.args(["run", "--config"]).arg(path);
            cmd
        });
    }

    /// [`Lab::start_warden`] with the daemon started by `command(lab, config
    /// path)` instead (a container, say); its output goes to `DIR/warden.log`
    /// and stopping it is a SIGTERM to the process `command` starts.
    pub fn start_warden_as(
        &mut self,
        config: &Value,
        command: impl FnOnce(&Lab, &Path) -> Command,
    ) {
        assert!(self.warden.is_none(), "the warden is already running");
        let path = self.write_config(config);
        // `check` must accept every config the tests run (it refuses what
        // `run` would refuse: the same checks, tests/cli.rs).
        let checked = Command::new(WARDEN)
            .args(["check", "--config"])
            .arg(&path)
            .output()
            .expect("run misp-warden check");
        assert!(
            checked.status.success(),
            "check refused a config the test runs: {}",
            show(&checked)
        );
        self.guard();
        let log_path = self.dir().join("warden.log");
        let log = File::create(&log_path).expect("create warden.log");
        let child = command(self, &path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("spawn misp-warden");
        self.warden = Some(child);
        self.wait_for(
            "misp-warden",
            &log_path,
            |log| log.lines().any(|l| l.contains("misp-warden ready")),
            |lab| {
                lab.warden
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
            },
        );
    }

    /// Writes `config` to `DIR/config.json` with the lab's `warden` settings
    /// filled in (listeners :8888, `DIR/warden-ca.pem`/`.key`, `upstream_ca` =
    /// `DIR/remote-ca.pem`, user nobody/nogroup; the caller's other `warden`
    /// keys kept). Returns the path.
    pub fn write_config(&self, config: &Value) -> PathBuf {
        let mut config = config.clone();
        let root = config.as_object_mut().expect("config is a JSON object");
        let warden = root.entry("warden").or_insert_with(|| json!({}));
        let warden = warden.as_object_mut().expect("\"warden\" is a JSON object");
        let d = |f: &str| path_str(&self.dir().join(f));
        for (k, v) in [
            ("listen", json!(["0.0.0.0:8888", "[::]:8888"])),
            ("ca_cert", json!(d("warden-ca.pem"))),
            ("ca_key", json!(d("warden-ca.key"))),
            ("upstream_ca", json!(d("remote-ca.pem"))),
            ("user", json!("nobody")),
            ("group", json!("nogroup")),
        ] {
            warden.insert(k.to_string(), v);
        }
        let path = self.config_path();
        fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).expect("write config");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod config");
        path
    }

    /// Loads the ruleset `misp-warden nft` renders for `DIR/config.json`
    /// (`scripts/lab.sh guard`: `--mode gateway`, `--nat`, `container-host`
    /// or `same-host`, as the lab was made), replacing the previous one.
    /// Nothing for a direct lab.
    pub fn guard(&self) {
        let (mode, nat) = match self.guard {
            Guard::None => return,
            Guard::Tproxy => ("gateway", None),
            Guard::Nat => ("gateway", Some("--nat")),
            Guard::ContainerHost => ("container-host", None),
            Guard::SameHost => ("same-host", None),
        };
        let mut cmd = self.script();
        cmd.env("MISP_WARDEN", WARDEN)
            .args(["guard", &self.name])
            .arg(self.config_path())
            .arg(mode)
            .args(nat);
        let out = cmd.output().expect("run scripts/lab.sh guard");
        assert!(out.status.success(), "lab.sh guard failed: {}", show(&out));
    }

    /// `DIR/config.json`, the file `start_warden` wrote (rewrite it to test reloads).
    pub fn config_path(&self) -> PathBuf {
        self.dir().join("config.json")
    }

    pub fn warden_pid(&self) -> u32 {
        self.warden
            .as_ref()
            .expect("the warden is not running")
            .id()
    }

    /// Everything the daemon wrote to stderr and stdout so far.
    pub fn warden_log(&self) -> String {
        read_lossy(&self.dir().join("warden.log"))
    }

    /// GET `path` of the daemon's metrics listener ([`METRICS`], which the
    /// test's config must set as `warden.metrics_listen`), from inside the
    /// daemon's namespace: the status (0 when nothing answered) and body.
    pub fn scrape(&self, path: &str) -> (u16, String) {
        let out = self
            .ns_cmd(self.warden_ns(), "curl")
            .args(["-sS", "--max-time", "5", "-w", "\n%{http_code}"])
            .arg(format!("http://{METRICS}{path}"))
            .stdin(Stdio::null())
            .output()
            .expect("curl the metrics");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (status.trim().parse().unwrap_or(0), body.to_string())
    }

    /// Polls `/metrics` (≤ 10 s) until `series` (name and labels as
    /// encoded) satisfies `wanted`; returns its value. Panics with the last
    /// scrape otherwise. How a test waits for a state of the daemon — a
    /// connection counted, a body held — instead of guessing a sleep.
    pub fn wait_for_metric(&self, series: &str, what: &str, wanted: impl Fn(f64) -> bool) -> f64 {
        let start = Instant::now();
        loop {
            let (_, text) = self.scrape("/metrics");
            let v = metric(&text, series);
            if wanted(v) {
                return v;
            }
            assert!(
                start.elapsed() < READY_TIMEOUT,
                "{series} never became {what} (last {v}):\n{text}\n{}",
                self.warden_log()
            );
            sleep(Duration::from_millis(50));
        }
    }

    /// Sends `signal` ("HUP", "TERM", ...) to the daemon.
    pub fn signal_warden(&self, signal: &str) {
        send_signal(self.warden_pid(), signal);
    }

    /// SIGTERM to the daemon, then waits for it (SIGKILL after 10 s).
    pub fn stop_warden(&mut self) -> ExitStatus {
        let mut child = self.warden.take().expect("the warden is not running");
        let status = terminate(&mut child, "misp-warden");
        if !status.success() {
            eprintln!(
                "misp-warden exited with {status}; its log:\n{}",
                self.warden_log()
            );
        }
        status
    }

    /// Waits for the daemon to exit by itself (a SIGTERM already sent, the
    /// drain under way) — at most its 30 s drain and 10 s more — and
    /// returns how it exited. Panics with the log if it does not.
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        let mut child = self.warden.take().expect("the warden is not running");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(40) {
            if let Some(status) = child.try_wait().expect("wait for the warden") {
                return status;
            }
            sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("misp-warden did not exit by itself:\n{}", self.warden_log());
    }

    /// Runs `program` in namespace `ns` ("in", "gw", "out") in the background,
    /// stdout and stderr to `DIR/{log}`; the lab stops it when dropped. Returns its PID.
    pub fn spawn(&mut self, ns: &str, program: &str, args: &[&str], log: &str) -> u32 {
        let log = File::create(self.dir().join(log)).expect("create log");
        let child = self
            .ns_cmd(ns, program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {program} in {ns}: {e}"));
        let pid = child.id();
        self.children.push(Proc {
            what: format!("{program} in {ns}"),
            child,
        });
        pid
    }

    /// Runs `program` inside `NAME-in` (bounded by `timeout 30`).
    pub fn run_in(&self, program: &str, args: &[&str]) -> Output {
        self.ns_cmd("in", "timeout")
            .args(["30", program])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {program} in the lab: {e}"))
    }

    /// curl inside `NAME-in` trusting the daemon's CA (`DIR/warden-ca.pem`).
    /// One URL per call; `args` are added after the fixed options.
    pub fn curl(&self, args: &[&str]) -> Curl {
        self.curl_with_ca(&self.dir().join("warden-ca.pem"), args)
    }

    /// curl inside `NAME-in` trusting `ca` only (e.g. `DIR/remote-ca.pem` when
    /// talking to the remote directly).
    pub fn curl_with_ca(&self, ca: &Path, args: &[&str]) -> Curl {
        self.curl_from("in", ca, args)
    }

    /// curl inside namespace `ns` ("in" or "out") trusting `ca` only.
    pub fn curl_from(&self, ns: &str, ca: &Path, args: &[&str]) -> Curl {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let out_file = self.dir().join(format!("curl-{n}.body"));
        let (ca, out_path) = (path_str(ca), path_str(&out_file));
        let fixed = [
            "-sS",
            "--noproxy",
            "*",
            "--max-time",
            "20",
            "--connect-timeout",
            "10",
            "-w",
            "%{http_code}",
            "--cacert",
            &ca,
            "-o",
            &out_path,
        ];
        let out = self
            .ns_cmd(ns, "timeout")
            .args(["30", "curl"])
            .args([fixed.as_slice(), args].concat())
            .stdin(Stdio::null())
            .output()
            .expect("run curl");
        let body = fs::read(&out_file).unwrap_or_default();
        let _ = fs::remove_file(&out_file);
        let exit = out.status.code().unwrap_or(-1);
        let status = if exit == 0 {
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or(0)
        } else {
            0
        };
        Curl {
            status,
            body,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            exit,
        }
    }

    /// Sends exactly `bytes` from `NAME-in` to `addr` (`IP:PORT`, `[V6]:PORT` or
    /// `name:port`) and returns all that came back until the peer closed, 3 s
    /// of silence, or 20 s. `tls_sni`: None = plain TCP; Some(name) = TLS with
    /// that SNI (Some("") = TLS without SNI), ALPN http/1.1, certificate not
    /// verified. Send `Connection: close` to get the answer without the wait.
    pub fn send_raw(&self, addr: &str, tls_sni: Option<&str>, bytes: &[u8]) -> Vec<u8> {
        const SCRIPT: &str = r#"
import socket, ssl, sys, time
addr, mode = sys.argv[1], sys.argv[2]
host, _, port = addr.rpartition(":")
data = sys.stdin.buffer.read()
s = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
if mode.startswith("tls:"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    s = ctx.wrap_socket(s, server_hostname=mode[4:] or None)
s.sendall(data)
s.settimeout(3)
out, end = b"", time.monotonic() + 20
while time.monotonic() < end:
    try:
        b = s.recv(65536)
    except OSError:
        break
    if not b:
        break
    out += b
sys.stdout.buffer.write(out)
"#;
        let mode = match tls_sni {
            None => "plain".to_string(),
            Some(sni) => format!("tls:{sni}"),
        };
        let mut child = self
            .ns_cmd("in", "timeout")
            .args(["40", "python3", "-c", SCRIPT, addr, &mode])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn python3");
        // The script reads all of stdin before it writes anything: no deadlock.
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(bytes);
        drop(stdin);
        let out = child.wait_with_output().expect("python3 send_raw");
        if !out.stderr.is_empty() {
            eprintln!("send_raw {addr}: {}", String::from_utf8_lossy(&out.stderr));
        }
        out.stdout
    }

    /// Runs `scripts/lab/pymisp_client.py` with the repo's `.venv` inside
    /// `NAME-in` and returns the JSON line it printed.
    pub fn pymisp(&self, args: &[&str]) -> Value {
        let python = format!("{MANIFEST}/.venv/bin/python");
        assert!(
            Path::new(&python).exists(),
            "{python} is missing: run scripts/test.sh once (it creates .venv with pymisp)"
        );
        let script = format!("{MANIFEST}/scripts/lab/pymisp_client.py");
        let out = self
            .ns_cmd("in", "timeout")
            .args(["90", &python, &script])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run pymisp_client.py");
        let stdout = String::from_utf8_lossy(&out.stdout);
        stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("pymisp_client.py printed no JSON: {}", show(&out)))
    }

    fn remote(&self, i: usize) -> &Remote {
        self.remotes
            .get(i)
            .unwrap_or_else(|| panic!("no remote {i}"))
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
