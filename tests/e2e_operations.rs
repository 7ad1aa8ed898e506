//! Running the appliance, end to end in the namespace lab: the metrics
//! endpoint, the JSON audit log, reload on a change of the config file, and
//! a SIGTERM during a large upload. Needs root; skips otherwise.

mod lab;

use lab::Lab;
use lab::misp::{PUSH, SlowPush, assert_refused, config, event, push};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WARDEN: &str = env!("CARGO_BIN_EXE_misp-warden");
const PARTNER: &str = "https://misp.partner.example";
const UUID: &str = "5f1c3a2e-1111-4222-8333-444455556666";
/// A value that must reach no log line.
const SECRET: &str = "PASSPORT-7Q-SECRET-31337";
/// An auth key that must reach no log line.
const AUTH_KEY: &str = "AUTHKEY-SECRET-0123456789abcdef0123456789";
use lab::METRICS;

fn lab_with(test: &str, config: &Value) -> Option<Lab> {
    let mut lab = Lab::new(test)?;
    lab.start_remote(&["203.0.113.20:443"], Some("partner"));
    lab.start_warden(config);
    Some(lab)
}

fn scrape(lab: &Lab, path: &str) -> (u16, String) {
    lab.scrape(path)
}

fn value(metrics: &str, series: &str) -> f64 {
    lab::metric(metrics, series)
}

/// Polls (≤ 10 s) until the daemon's log contains `needle` `n` times.
fn wait_for_log(lab: &Lab, needle: &str, n: usize) {
    let start = Instant::now();
    while lab.warden_log().matches(needle).count() < n {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{needle:?} not logged {n} time(s):\n{}",
            lab.warden_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sha256(path: &std::path::Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn metrics_move_with_allowed_and_blocked_requests() {
    let mut c = config();
    c["warden"] = json!({"metrics_listen": METRICS});
    let Some(mut lab) = lab_with("metrics", &c) else {
        return;
    };
    lab.start_remote(&["203.0.113.21:443"], Some("rogue"));
    assert_eq!(scrape(&lab, "/healthz").0, 200);
    assert_eq!(scrape(&lab, "/readyz").0, 200);
    assert_eq!(scrape(&lab, "/nothing").0, 404);
    let (status, before) = scrape(&lab, "/metrics");
    assert_eq!(status, 200);
    let allow = r#"misp_warden_requests_total{direction="push",endpoint="events/add",verdict="allow",rule="-"}"#;
    let block = r#"misp_warden_requests_total{direction="push",endpoint="events/add",verdict="block",rule="blocked_tags"}"#;
    assert_eq!(value(&before, allow), 0.0, "{before}");
    let config_info = format!(
        r#"misp_warden_config_info{{sha256="{}"}}"#,
        sha256(&lab.config_path())
    );
    assert_eq!(value(&before, &config_info), 1.0, "{before}");

    let url = format!("{PARTNER}{PUSH}");
    let allowed = event(UUID, "tlp:green", "nothing secret");
    assert_eq!(push(&lab, &url, &allowed, &[]).status, 200);
    assert_refused(
        &push(&lab, &url, &event(UUID, "tlp:red", SECRET), &[]),
        "blocked_tags",
    );
    // An upstream whose certificate nobody trusts: 502.
    let rogue = lab.curl(&["https://misp.rogue.example/servers/getVersion"]);
    assert_eq!(rogue.status, 502, "{rogue:?}");
    // A client that does not trust the interception CA aborts the handshake.
    let ca = lab.dir().join("remote-ca.pem");
    let untrusting = lab.curl_with_ca(&ca, &[&format!("{PARTNER}/servers/getVersion")]);
    assert_eq!(untrusting.status, 0);

    let (_, after) = scrape(&lab, "/metrics");
    assert_eq!(value(&after, allow), 1.0, "{after}");
    assert_eq!(value(&after, block), 1.0, "{after}");
    assert!(
        value(
            &after,
            r#"misp_warden_inspected_bytes_total{part="request"}"#
        ) >= (allowed.len() * 2) as f64,
        "{after}"
    );
    assert!(value(&after, "misp_warden_inspection_seconds_count") >= 2.0);
    assert_eq!(
        value(
            &after,
            r#"misp_warden_upstream_errors_total{cause="failed"}"#
        ),
        1.0,
        "{after}"
    );
    wait_for_log(&lab, "TLS handshake failed", 1);
    let (_, after) = scrape(&lab, "/metrics");
    assert_eq!(
        value(
            &after,
            r#"misp_warden_tls_handshake_failures_total{cause="handshake"}"#
        ),
        1.0,
        "{after}"
    );
    // One name minted once (the first connection to the partner), then
    // reused; the rogue's name minted once.
    let hits = value(
        &after,
        r#"misp_warden_certificate_cache_total{result="hit"}"#,
    );
    let misses = value(
        &after,
        r#"misp_warden_certificate_cache_total{result="miss"}"#,
    );
    assert_eq!(misses, 2.0, "{after}");
    assert!(hits >= 2.0, "{after}");
    assert!(after.contains("misp_warden_active_connections "), "{after}");
    assert!(value(&after, "misp_warden_config_loaded_timestamp_seconds") > 1.7e9);
    // The scrape names rules and endpoints, never what was refused.
    assert!(!after.contains(SECRET));

    // A clean stop: exit 0 (the drain, /readyz 503 during it:
    // sigterm_during_a_large_upload_…).
    assert!(lab.stop_warden().success(), "{}", lab.warden_log());
}

#[test]
fn the_json_audit_log_has_a_record_per_decision_and_no_secret_even_at_trace() {
    let mut c = config();
    c["warden"] = json!({"log_format": "json"});
    let Some(mut lab) = Lab::new("jsonlog") else {
        return;
    };
    lab.start_remote(&["203.0.113.20:443"], Some("partner"));
    lab.start_warden_as(&c, |lab, path| {
        let mut cmd = lab.ns_cmd("gw", WARDEN);
        cmd.env("RUST_LOG", "trace")
            .args(["run", "--config"])
            .arg(path);
        cmd
    });
    let url = format!("{PARTNER}{PUSH}");
    let auth = format!("Authorization: {AUTH_KEY}");
    let cookie = format!("Cookie: CAKEPHP={AUTH_KEY}");
    let headers = ["-H", &auth, "-H", &cookie];
    let allowed = push(&lab, &url, &event(UUID, "tlp:green", "fine"), &headers);
    assert_eq!(allowed.status, 200);
    let blocked = push(&lab, &url, &event(UUID, "tlp:red", SECRET), &headers);
    assert_refused(&blocked, "blocked_tags");
    // The pushes over HTTP/2 too (h2's own logging is the risk there).
    let h2 = [&headers[..], &["--http2"]].concat();
    assert_refused(
        &push(&lab, &url, &event(UUID, "tlp:red", SECRET), &h2),
        "blocked_tags",
    );
    lab.stop_warden();

    let log = lab.warden_log();
    let mut decisions = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let record: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(
            record["timestamp"].is_string() && record["level"].is_string(),
            "{line}"
        );
        if record.get("verdict").is_some() {
            decisions.push(record);
        }
    }
    assert_eq!(decisions.len(), 3, "{log}");
    for d in &decisions {
        for field in [
            "conn",
            "src",
            "dst",
            "method",
            "path",
            "verdict",
            "rule",
            "event",
            "bytes_in",
            "bytes_out",
            "ms",
        ] {
            assert!(d.get(field).is_some(), "{field} missing in {d}");
        }
        assert_eq!(d["src"], "misp_internal");
        assert_eq!(d["dst"], "misp_partner");
        assert_eq!(d["path"], PUSH);
    }
    assert_eq!(decisions[0]["verdict"], "allow");
    assert_eq!(decisions[1]["verdict"], "block");
    assert_eq!(decisions[1]["rule"], "blocked_tags");
    assert_eq!(decisions[1]["event"], UUID);
    for secret in [SECRET, AUTH_KEY] {
        assert!(
            !log.contains(secret),
            "{secret} leaked into the log:\n{log}"
        );
    }
    // misp-warden's own lines do go down to debug: trace was in force.
    assert!(
        log.contains("\"level\":\"DEBUG\"") || log.contains("\"level\":\"TRACE\""),
        "{log}"
    );
}

/// A client in the internal MISP that keeps one TLS connection open and
/// POSTs the file named on each stdin line over it, printing
/// `<status> <local port>` per request.
const KEEPALIVE_CLIENT: &str = r#"
import http.client, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
conn = http.client.HTTPSConnection("misp.partner.example", 443, context=ctx, timeout=20)
for line in sys.stdin:
    body = open(line.strip(), "rb").read()
    conn.request("POST", "/events/add/metadata:1", body, {"Content-Type": "application/json"})
    r = conn.getresponse(); r.read()
    print(r.status, conn.sock.getsockname()[1], flush=True)
"#;

struct KeepAlive {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl KeepAlive {
    fn start(lab: &Lab) -> KeepAlive {
        let ca = lab.dir().join("warden-ca.pem");
        let mut child = lab
            .ns_cmd("in", "python3")
            .args(["-c", KEEPALIVE_CLIENT])
            .arg(&ca)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the keep-alive client");
        let out = BufReader::new(child.stdout.take().unwrap());
        KeepAlive { child, out }
    }

    /// Pushes `body`; returns the status and the client's local port.
    fn push(&mut self, lab: &Lab, body: &[u8]) -> (u16, String) {
        let file = lab.dir().join("keepalive.json");
        std::fs::write(&file, body).unwrap();
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{}", file.display()).unwrap();
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        let mut parts = line.split_whitespace();
        let status = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, parts.next().unwrap_or_default().to_string())
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_changed_config_file_reloads_safely_on_an_open_connection() {
    let mut c = config();
    c["warden"] = json!({"metrics_listen": METRICS});
    let Some(lab) = lab_with("watch", &c) else {
        return;
    };
    let amber = event(UUID, "tlp:amber", "amber");
    let red = event(UUID, "tlp:red", SECRET);
    let mut client = KeepAlive::start(&lab);
    let (status, port) = client.push(&lab, &amber);
    assert_eq!(status, 200);
    assert_eq!(client.push(&lab, &red).0, 403);

    // Rewrites the config file (keeping the lab's warden section) — no
    // signal: the daemon notices the file.
    let written: Value =
        serde_json::from_slice(&std::fs::read(lab.config_path()).unwrap()).unwrap();
    let rewrite = |text: String| std::fs::write(lab.config_path(), text).unwrap();

    // A valid change takes effect on the next request, same connection.
    let mut stricter = written.clone();
    stricter["instances"]["misp_internal"]["taxonomies_rules"]["blocked_tags"] =
        json!(["tlp:red", "tlp:amber"]);
    rewrite(serde_json::to_string_pretty(&stricter).unwrap());
    wait_for_log(&lab, "reloaded", 1);
    assert_eq!(client.push(&lab, &amber), (403, port.clone()));

    // Invalid files keep the stricter policy in force, each logged and
    // counted: bad JSON; valid JSON without `allowlist` (misp-guard fails
    // open on this one); a compartment that does not exist.
    let mut no_allowlist = stricter.clone();
    no_allowlist.as_object_mut().unwrap().remove("allowlist");
    let mut dangling = stricter.clone();
    dangling["instances"]["misp_partner"]["compartment_id"] = json!("nowhere");
    let invalid = [
        "{\"allowlist\": ".to_string(),
        serde_json::to_string(&no_allowlist).unwrap(),
        serde_json::to_string(&dangling).unwrap(),
    ];
    for (n, text) in invalid.into_iter().enumerate() {
        rewrite(text);
        wait_for_log(&lab, "reload refused", n + 1);
        assert_eq!(client.push(&lab, &red), (403, port.clone()), "case {n}");
        assert_eq!(client.push(&lab, &amber), (403, port.clone()), "case {n}");
    }
    let log = lab.warden_log();
    assert!(
        log.contains("allowlist"),
        "the refusal names the key:\n{log}"
    );
    assert!(log.contains("nowhere"), "{log}");

    // A start-only setting is named at the reload that changes it, and at
    // the next one too: it still waits for a restart.
    let mut capped = stricter.clone();
    capped["warden"]["max_connections"] = json!(1000);
    rewrite(serde_json::to_string_pretty(&capped).unwrap());
    wait_for_log(&lab, "reloaded", 2);
    capped["instances"]["misp_internal"]["taxonomies_rules"]["blocked_tags"] =
        json!(["tlp:red", "tlp:amber", "tlp:clear"]);
    rewrite(serde_json::to_string_pretty(&capped).unwrap());
    wait_for_log(&lab, "reloaded", 3);
    let log = lab.warden_log();
    assert_eq!(
        log.matches("warden.max_connections changed: read at start only")
            .count(),
        2,
        "{log}"
    );
    assert_eq!(client.push(&lab, &amber), (403, port.clone()));

    let (_, metrics) = scrape(&lab, "/metrics");
    assert_eq!(
        value(
            &metrics,
            r#"misp_warden_config_reloads_total{result="refused"}"#
        ),
        3.0,
        "{metrics}"
    );
    assert_eq!(
        value(
            &metrics,
            r#"misp_warden_config_reloads_total{result="applied"}"#
        ),
        3.0
    );
    // Only the first amber push ever reached the partner.
    let records = lab.records(0);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].body, amber);
}

#[test]
fn sigterm_during_a_large_upload_lets_it_complete_then_exits_zero() {
    let mut c = config();
    c["warden"] = json!({"metrics_listen": METRICS});
    let Some(mut lab) = lab_with("bigterm", &c) else {
        return;
    };
    // 16 MB of allowed event, sent at 4 MB/s: about four seconds in flight.
    let filler = "x".repeat(16 * 1024 * 1024);
    let big = event(UUID, "tlp:green", &filler);
    let upload = SlowPush::start(&lab, &format!("{PARTNER}{PUSH}"), &big, "4M");
    // In flight: its head read, its declared length held for the body.
    lab.wait_for_metric(
        "misp_warden_body_budget_used_bytes",
        "the upload's length",
        |v| v >= big.len() as f64,
    );
    assert_eq!(scrape(&lab, "/readyz").0, 200);
    lab.signal_warden("TERM");
    // Not ready any more from the signal on, while the upload drains.
    let start = Instant::now();
    while scrape(&lab, "/readyz").0 != 503 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "/readyz still answers 200 after SIGTERM:\n{}",
            lab.warden_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_for_log(&lab, "stopping", 1);
    // No new connection is taken while it drains.
    let late = lab.curl(&[
        "--connect-timeout",
        "2",
        &format!("{PARTNER}/servers/getVersion"),
    ]);
    assert_eq!(late.status, 0, "{late:?}");

    assert_eq!(upload.finish(), 200, "the upload completes");
    // It exits by itself once drained, with status 0 (what systemd sees).
    let exit = lab.wait_for_exit();
    assert_eq!(exit.code(), Some(0), "{}", lab.warden_log());
    let records = lab.records(0);
    assert_eq!(records.len(), 1);
    assert!(records[0].body == big, "the upload arrived whole");
    let log = lab.warden_log();
    let stopping = log.find("stopping").unwrap();
    let allowed = log.find("verdict=\"allow\"").unwrap();
    assert!(
        allowed > stopping,
        "the upload finished during the drain:\n{log}"
    );
}

#[test]
fn a_push_refused_on_its_head_alone_still_reads_a_403_while_sending_its_body() {
    let Some(lab) = lab_with("early", &config()) else {
        return;
    };
    // 4 MB the client is still sending when the path alone refuses it.
    let big = event(UUID, "tlp:green", &"y".repeat(4 * 1024 * 1024));
    for version in ["--http1.1", "--http2"] {
        let url = format!("{PARTNER}/events/no-such-endpoint");
        let c = push(&lab, &url, &big, &[version]);
        assert_refused(&c, "endpoint");
    }
    assert!(lab.records(0).is_empty());
}

#[test]
fn upstream_connections_are_reused_across_clients_streamed_answers_included() {
    let Some(lab) = lab_with("pool", &config()) else {
        return;
    };
    // Three clients one after another: a pull-free call whose answer is
    // streamed (getVersion), a push (its answer streamed too), a HEAD.
    let version = lab.curl(&[&format!("{PARTNER}/servers/getVersion")]);
    assert_eq!(version.status, 200, "{version:?}");
    assert!(
        version.json()["version"].is_string(),
        "the streamed answer arrived whole"
    );
    let c = push(
        &lab,
        &format!("{PARTNER}{PUSH}"),
        &event(UUID, "tlp:green", "x"),
        &[],
    );
    assert_eq!(c.status, 200, "{c:?}");
    assert_eq!(
        c.json()["Event"]["uuid"],
        UUID,
        "the streamed answer arrived whole"
    );
    let head = lab.curl(&["-I", &format!("{PARTNER}/events/view/{UUID}")]);
    assert_eq!(head.status, 404);
    let ports: Vec<u64> = lab.records(0).iter().map(|r| r.peer_port).collect();
    assert_eq!(ports.len(), 3);
    assert!(
        ports.iter().all(|p| *p == ports[0]),
        "one upstream connection for all three: {ports:?}"
    );
}
