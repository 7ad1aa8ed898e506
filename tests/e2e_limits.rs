//! Resource limits, end to end in the namespace lab: slow clients are cut
//! off, the memory for bodies is a budget (503 when spent), connections are
//! bounded in all and per source, and a decompression bomb is refused
//! without the daemon's memory following it. Each limit is set small in
//! the test's config so that it is reached quickly. Each test waits for
//! the state it needs (a connection counted, a body held) by polling the
//! daemon's metrics, never by guessing a sleep. Needs root; skips
//! otherwise.

mod lab;

use lab::misp::{PUSH, SlowPush, assert_refused, config, event, push};
use lab::{Lab, METRICS};
use serde_json::{Value, json};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const PARTNER: &str = "https://misp.partner.example";
const UUID: &str = "5f1c3a2e-1111-4222-8333-444455556666";

const ACTIVE: &str = "misp_warden_active_connections";
const BUDGET_USED: &str = "misp_warden_body_budget_used_bytes";

/// The config with `warden` (and the metrics listener the tests poll).
fn config_with(mut warden: Value) -> Value {
    warden["metrics_listen"] = json!(METRICS);
    let mut c = config();
    c["warden"] = warden;
    c
}

fn lab_with(test: &str, warden: Value) -> Option<Lab> {
    let mut lab = Lab::new(test)?;
    lab.start_remote(&["203.0.113.20:443"], Some("partner"));
    lab.start_warden(&config_with(warden));
    Some(lab)
}

/// Waits until the daemon counts exactly `n` open client connections.
fn wait_for_connections(lab: &Lab, n: usize) {
    lab.wait_for_metric(ACTIVE, &format!("{n}"), |v| v == n as f64);
}

/// A Python program in the internal MISP, killed when dropped.
struct Client(Child);

impl Client {
    fn start(lab: &Lab, script: &str, args: &[&str]) -> Client {
        Client(
            lab.ns_cmd("in", "python3")
                .args(["-c", script])
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .expect("start python3"),
        )
    }

    /// The exit status, waiting at most `limit`.
    fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn output(&mut self) -> String {
        let mut out = String::new();
        if let Some(stdout) = self.0.stdout.as_mut() {
            let _ = std::io::Read::read_to_string(stdout, &mut out);
        }
        out
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// TLS to the partner; sends `argv[2]` (with \r\n for \n), then waits for
/// the daemon: prints who ended the connection — `closed` (the daemon),
/// `waited` (this client gave up after 20 s), `error` — and the first line
/// of what was answered.
const SLOW_CLIENT: &str = r#"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
s = ctx.wrap_socket(socket.create_connection(("203.0.113.20", 443)), server_hostname="misp.partner.example")
s.sendall(sys.argv[2].replace("\n", "\r\n").encode())
got, end = b"", "error"
s.settimeout(20)
try:
    while True:
        b = s.recv(65536)
        if not b:
            end = "closed"
            break
        got += b
except socket.timeout:
    end = "waited"
except Exception:
    pass
print(end, got.split(b"\r\n")[0].decode(errors="replace"))
"#;

#[test]
fn slow_heads_and_slow_bodies_are_cut_off_while_others_pass() {
    let Some(lab) = lab_with(
        "slow",
        json!({"header_timeout_seconds": 2, "body_timeout_seconds": 2}),
    ) else {
        return;
    };
    let ca = lab.dir().join("warden-ca.pem");
    let ca = ca.to_str().unwrap();
    // Slowloris: half a head, then nothing.
    let mut head = Client::start(
        &lab,
        SLOW_CLIENT,
        &[
            ca,
            &format!("POST {PUSH} HTTP/1.1\nHost: misp.partner.example\nX-Slow: "),
        ],
    );
    // A whole head, a tenth of the body it announces, then nothing.
    let mut body = Client::start(
        &lab,
        SLOW_CLIENT,
        &[
            ca,
            &format!(
                "POST {PUSH} HTTP/1.1\nHost: misp.partner.example\nContent-Type: application/json\nContent-Length: 1000\n\n{{\"Event\":"
            ),
        ],
    );
    // Both held open by the daemon; meanwhile normal sync goes on.
    wait_for_connections(&lab, 2);
    let c = push(
        &lab,
        &format!("{PARTNER}{PUSH}"),
        &event(UUID, "tlp:green", "ok"),
        &[],
    );
    assert_eq!(c.status, 200, "{c:?}");

    assert!(
        head.wait(Duration::from_secs(15)).is_some(),
        "slow head not cut off"
    );
    // Closed by the daemon, with no answer at all: a head never completed.
    let out = head.output();
    assert_eq!(out.trim(), "closed", "the slow head: {out}");
    assert!(
        body.wait(Duration::from_secs(15)).is_some(),
        "slow body not cut off"
    );
    let out = body.output();
    assert!(out.contains("403"), "a slow body gets a 403: {out}");
    wait_for_connections(&lab, 0);
    let log = lab.warden_log();
    assert!(log.contains("warden.body_timeout_seconds"), "{log}");
    assert_eq!(lab.records(0).len(), 1, "only the normal push arrived");
}

#[test]
fn a_spent_body_budget_answers_503_until_memory_is_free_again() {
    // Room for one 1 MiB body at a time.
    let mib = 1024 * 1024;
    let Some(lab) = lab_with(
        "budget",
        json!({"max_body_bytes": mib, "body_budget_bytes": mib}),
    ) else {
        return;
    };
    let big = event(UUID, "tlp:green", &"a".repeat(900 * 1024));
    // 900 KiB at 300 KiB/s: its declared length is held for three seconds.
    let slow = SlowPush::start(&lab, &format!("{PARTNER}{PUSH}"), &big, "300K");
    lab.wait_for_metric(BUDGET_USED, "the slow push's length", |v| {
        v >= big.len() as f64
    });
    let small = event(UUID, "tlp:green", &"b".repeat(200 * 1024));
    let busy = push(&lab, &format!("{PARTNER}{PUSH}"), &small, &[]);
    assert_eq!(busy.status, 503, "{busy:?}");
    let answer = busy.json();
    assert_eq!(answer["name"], "Service Unavailable", "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("body_budget_bytes")
    );

    let status = slow.finish();
    assert_eq!(status, 200, "{}", lab.warden_log());
    // Memory given back: the same small push now passes.
    lab.wait_for_metric(BUDGET_USED, "0", |v| v == 0.0);
    let again = push(&lab, &format!("{PARTNER}{PUSH}"), &small, &[]);
    assert_eq!(again.status, 200, "{again:?}");
    assert!(lab.warden_log().contains("rule=\"busy\""));
    assert_eq!(lab.records(0).len(), 2);
}

/// Opens `argv[1]` TCP connections to the partner's address and holds them
/// until killed.
const HOLDER: &str = r#"
import socket, sys, time
held = [socket.create_connection(("203.0.113.20", 443)) for _ in range(int(sys.argv[1]))]
print("held", flush=True)
time.sleep(60)
"#;

fn hold(lab: &Lab, n: usize) -> Client {
    let mut holder = Client::start(lab, HOLDER, &[&n.to_string()]);
    let mut line = String::new();
    let stdout = holder.0.stdout.as_mut().unwrap();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    assert_eq!(line.trim(), "held");
    holder
}

#[test]
fn connections_are_bounded_per_source_and_in_all() {
    let Some(mut lab) = lab_with("conns", json!({"max_connections_per_source": 3})) else {
        return;
    };
    let url = format!("{PARTNER}/servers/getVersion");
    {
        let _three = hold(&lab, 3);
        wait_for_connections(&lab, 3);
        // The fourth from the same address is closed at once.
        let c = lab.curl(&[&url]);
        assert_eq!(c.status, 0, "{c:?}");
    }
    wait_for_connections(&lab, 0);
    let c = lab.curl(&[&url]);
    assert_ne!(c.status, 0, "free again: {c:?}");
    assert!(lab.warden_log().contains("max_connections_per_source"));

    // In all: past max_connections a client waits (in the backlog) until
    // a connection closes.
    assert!(lab.stop_warden().success());
    lab.start_warden(&config_with(json!({"max_connections": 2})));
    {
        let _two = hold(&lab, 2);
        // Both slots are theirs, whichever listener (IPv4, IPv6) the next
        // client would come to.
        lab.wait_for_metric(ACTIVE, "2", |v| v == 2.0);
        let c = lab.curl(&["--max-time", "2", &url]);
        assert_eq!(c.status, 0, "waits while two are open: {c:?}");
    }
    let c = lab.curl(&[&url]);
    assert_ne!(c.status, 0, "{c:?}");
}

/// Writes a gzip body of `argv[2]` GiB of zeros to `argv[1]`: one member of
/// 1 GiB, repeated (gzip allows concatenated members).
const BOMB: &str = r#"
import sys, zlib
c = zlib.compressobj(9, zlib.DEFLATED, 31)
chunk = bytes(1 << 20)
member = b"".join(c.compress(chunk) for _ in range(1024)) + c.flush()
with open(sys.argv[1], "wb") as f:
    for _ in range(int(sys.argv[2])):
        f.write(member)
"#;

/// The daemon's peak resident memory, in KiB.
fn peak_rss_kib(lab: &Lab) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", lab.warden_pid())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn a_ten_gigabyte_gzip_bomb_is_refused_within_the_memory_budget() {
    let mib = 1024 * 1024;
    let Some(lab) = lab_with(
        "bomb",
        json!({"max_body_bytes": 32 * mib, "body_budget_bytes": 64 * mib}),
    ) else {
        return;
    };
    let bomb = lab.dir().join("bomb.gz");
    let out = std::process::Command::new("python3")
        .args(["-c", BOMB])
        .arg(&bomb)
        .arg("10")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let size = std::fs::metadata(&bomb).unwrap().len();
    assert!(size < 16 * mib, "10 GiB of zeros compress to {size} bytes");
    let before = peak_rss_kib(&lab);
    let data = format!("@{}", bomb.display());
    let c = lab.curl(&[
        "-H",
        "Content-Type: application/json",
        "-H",
        "Content-Encoding: gzip",
        "--data-binary",
        &data,
        &format!("{PARTNER}{PUSH}"),
    ]);
    assert_refused(&c, "max_body_bytes");
    let after = peak_rss_kib(&lab);
    eprintln!("peak RSS before {before} KiB, after the bomb {after} KiB");
    // The body (≤ 16 MiB) plus what the decoder may produce (32 MiB), plus
    // slack for buffers: far from 10 GiB, inside the 64 MiB budget.
    assert!(
        after < before + 64 * 1024 + 16 * 1024,
        "peak RSS grew from {before} to {after} KiB"
    );
    assert!(lab.records(0).is_empty());
}
