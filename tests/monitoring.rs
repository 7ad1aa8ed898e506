//! What ships in `monitoring/`: the Prometheus alerting rules pass
//! `promtool check rules` and their own unit tests (`promtool test rules`),
//! the Grafana dashboard is well-formed, and every series the dashboard and
//! the rules name — with every label value they match exactly — is one a
//! live daemon in the namespace lab exports, once it has seen the kinds of
//! traffic they watch. A renamed metric or label cannot leave a dashboard
//! panel silently empty. Needs root and the lab's tools, and promtool
//! (Debian's `prometheus`); skips otherwise.

mod lab;

use lab::misp::{PUSH, assert_refused, config, event, push};
use lab::{Lab, METRICS};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const PARTNER: &str = "https://misp.partner.example";
const UUID: &str = "5f1c3a2e-1111-4222-8333-444455556666";

fn monitoring(file: &str) -> std::path::PathBuf {
    Path::new(MANIFEST).join("monitoring").join(file)
}

fn have(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| d.join(tool).is_file())
}

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(monitoring(""))
        .stdin(Stdio::null())
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn promtool_accepts_the_alert_rules_and_their_tests_pass() {
    if !have("promtool") {
        return lab::skip("promtool is not installed (Debian package prometheus)");
    }
    let checked = promtool(&["check", "rules", "alerts.yml"]);
    assert!(checked.contains("SUCCESS: 9 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "alerts.test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// Every `misp_warden_*` series named in `text`, with the label values it
/// selects exactly (`label="value"`; regex matchers and the scrape's own
/// `instance`/`job` aside).
fn series_named(text: &str) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut out: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut rest = text;
    while let Some(at) = rest.find("misp_warden_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..end].to_string();
        let labels = out.entry(name).or_default();
        let after = &tail[end..];
        if let Some(selector) = after.strip_prefix('{') {
            let selector = &selector[..selector.find('}').unwrap_or(0)];
            for matcher in selector.split(',') {
                // `label="value"`, in JSON as `label=\"value\"`.
                let matcher = matcher.replace("\\\"", "\"");
                if let Some((k, v)) = matcher.split_once("=\"") {
                    let (k, v) = (k.trim(), v.trim_end_matches('"'));
                    if !k.ends_with('!') && !k.ends_with('~') && k != "instance" && k != "job" {
                        labels.insert((k.to_string(), v.to_string()));
                    }
                }
            }
        }
        rest = &tail[end..];
    }
    out
}

/// The samples of a scrape: series name → every `label="value"` seen.
fn samples(scrape: &str) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut out: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for line in scrape.lines().filter(|l| !l.starts_with('#')) {
        let end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels = out.entry(line[..end].to_string()).or_default();
        if let Some(selector) = line[end..].strip_prefix('{') {
            let selector = &selector[..selector.find('}').unwrap_or(0)];
            for pair in selector.split("\",") {
                if let Some((k, v)) = pair.split_once("=\"") {
                    labels.insert((k.to_string(), v.trim_end_matches('"').to_string()));
                }
            }
        }
    }
    out
}

/// The dashboard: valid JSON, one data source variable, every panel placed,
/// with a unique id and queries; returns every query.
fn dashboard_queries() -> Vec<String> {
    let text = std::fs::read_to_string(monitoring("grafana-dashboard.json")).unwrap();
    let d: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert_eq!(d["uid"], "misp-warden");
    let vars = d["templating"]["list"].as_array().unwrap();
    assert!(
        vars.iter()
            .any(|v| v["type"] == "datasource" && v["query"] == "prometheus")
    );
    let mut ids = BTreeSet::new();
    let mut queries = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        assert!(ids.insert(p["id"].as_u64().unwrap()), "duplicate id: {p}");
        assert!(p["gridPos"]["w"].as_u64().unwrap() > 0, "{p}");
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{p}");
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "a panel without a query: {p}");
        for t in targets {
            queries.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    queries
}

#[test]
fn every_series_the_dashboard_and_the_alerts_name_is_exported_by_a_live_daemon() {
    let queries = dashboard_queries();
    let rules = std::fs::read_to_string(monitoring("alerts.yml")).unwrap();
    let mut wanted = series_named(&queries.join("\n"));
    for (name, labels) in series_named(&rules) {
        wanted.entry(name).or_default().extend(labels);
    }
    assert!(wanted.len() >= 15, "{wanted:?}");

    let Some(mut lab) = Lab::new("monitor") else {
        return;
    };
    lab.start_remote(&["203.0.113.20:443"], Some("partner"));
    lab.start_remote(&["203.0.113.21:443"], Some("rogue"));
    let mut c = config();
    c["warden"] = json!({"metrics_listen": METRICS, "max_connections_per_source": 1});
    lab.start_warden(&c);

    // What the panels and alerts watch, each once: an allowed and a blocked
    // push, an upstream that fails, a client that distrusts the CA, a
    // connection over the per-source limit, a refused reload.
    let url = format!("{PARTNER}{PUSH}");
    assert_eq!(
        push(&lab, &url, &event(UUID, "tlp:green", "fine"), &[]).status,
        200
    );
    assert_refused(
        &push(&lab, &url, &event(UUID, "tlp:red", "no"), &[]),
        "blocked_tags",
    );
    let rogue = lab.curl(&["https://misp.rogue.example/servers/getVersion"]);
    assert_eq!(rogue.status, 502, "{rogue:?}");
    let ca = lab.dir().join("remote-ca.pem");
    assert_eq!(
        lab.curl_with_ca(&ca, &[&format!("{PARTNER}/servers/getVersion")])
            .status,
        0
    );
    let mut holder = lab
        .ns_cmd("in", "python3")
        .args([
            "-c",
            "import socket,sys; s=socket.create_connection(('203.0.113.20',443)); print('held',flush=True); sys.stdin.read()",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    lab.wait_for_metric("misp_warden_active_connections", "1", |v| v == 1.0);
    assert_eq!(
        lab.curl(&[&format!("{PARTNER}/servers/getVersion")]).status,
        0
    );
    drop(holder.stdin.take()); // EOF: the holder exits
    let _ = holder.wait();
    lab.wait_for_metric(
        r#"misp_warden_connections_refused_total{cause="per_source"}"#,
        "counted",
        |v| v >= 1.0,
    );
    std::fs::write(lab.config_path(), "{\"allowlist\": ").unwrap();
    lab.signal_warden("HUP");
    lab.wait_for_metric(
        r#"misp_warden_config_reloads_total{result="refused"}"#,
        "counted",
        |v| v >= 1.0,
    );
    lab.wait_for_metric(
        r#"misp_warden_tls_handshake_failures_total{cause="handshake"}"#,
        "counted",
        |v| v >= 1.0,
    );

    let (status, scrape) = lab.scrape("/metrics");
    assert_eq!(status, 200);
    let exported = samples(&scrape);
    let mut missing = Vec::new();
    for (name, labels) in &wanted {
        match exported.get(name) {
            None => missing.push(name.clone()),
            Some(seen) => {
                for (k, v) in labels {
                    if !seen.contains(&(k.clone(), v.clone())) {
                        missing.push(format!("{name}{{{k}=\"{v}\"}}"));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named by monitoring/ but not exported: {missing:?}\nscrape:\n{scrape}"
    );
    assert!(lab.stop_warden().success());
}
