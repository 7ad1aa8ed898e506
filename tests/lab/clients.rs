//! The clients of a lab: curl, raw bytes over TCP or TLS, PyMISP, and any
//! other program run in a namespace.

use super::*;

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

impl Lab {
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
}
