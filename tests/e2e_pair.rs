//! The active/passive pair (docs/deployment.md, "Active/passive pair"), for real: two
//! gateway namespaces running misp-warden and Debian's keepalived behind
//! one inside and one outside virtual address, MISP routing through the
//! inside one (`scripts/pair.sh`), driven by `scripts/lab/pair.py`.
//!
//! Each failover test faults the active box while MISP pushes allowed and
//! blocked events in a loop, and checks what the remote received: no
//! blocked byte (every byte searched, raw and decoded), no connection that
//! did not come from a box (an unguarded pass-through would show MISP's own
//! address), every allowed push that arrived judged by the box it came
//! through (its audit line) — bar those in flight on the faulted box at
//! the fault that never got an answer — and the other box serving
//! afterwards. The time from the fault to the first allowed push through
//! the other box is printed, never asserted: `scripts/failover.sh`
//! measures it over many runs.
//!
//! Needs root, keepalived, the lab's tools and the repository's `.venv`
//! (scripts/test.sh makes it); skips otherwise, a failure under
//! `MISP_WARDEN_REQUIRE_ALL=1`. The pair tests run one at a time.

#[path = "lab/skip.rs"]
mod skip;

use serde_json::Value;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const WARDEN: &str = env!("CARGO_BIN_EXE_misp-warden");
const TOOLS: [&str; 6] = ["ip", "nft", "curl", "openssl", "keepalived", "timeout"];
/// One pair at a time: two would share the two cores with each other's
/// daemons, keepalived and push loops.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn python() -> String {
    format!("{MANIFEST}/.venv/bin/python")
}

fn prerequisites() -> Result<(), String> {
    if !fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        return Err("not running as root".into());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = TOOLS
        .into_iter()
        .filter(|t| !std::env::split_paths(&path).any(|d| d.join(t).is_file()))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing: {} (scripts/setup.sh)",
            missing.join(", ")
        ));
    }
    if !Path::new(&python()).exists() {
        return Err(".venv is missing (scripts/test.sh makes it)".into());
    }
    Ok(())
}

/// Removes the lab even when the driver died without doing it.
struct Down(String);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .args([&format!("{MANIFEST}/scripts/pair.sh"), "down", &self.0])
            .stdin(Stdio::null())
            .output();
    }
}

/// Runs `pair.py run SCENARIO` on a pair of its own; what it saw, or None
/// when the pair cannot run here.
fn scenario(name: &str) -> Option<Value> {
    if let Err(why) = prerequisites() {
        skip::skip(&format!(
            "the pair needs root, keepalived and the lab's tools ({why})"
        ));
        return None;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let lab = format!(
        "mwp{}{}",
        std::process::id() % 100_000,
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let dir = tempfile::Builder::new()
        .prefix(&format!("{lab}."))
        .tempdir()
        .expect("temporary directory");
    let _down = Down(lab.clone());
    let out = Command::new("timeout")
        .args(["600", &python()])
        .arg(format!("{MANIFEST}/scripts/lab/pair.py"))
        .args(["run", name, "--name", &lab, "--dir"])
        .arg(dir.path().join("lab"))
        .env("MISP_WARDEN", WARDEN)
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/lab/pair.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pair.py run {name}: {}\n{stdout}\n{stderr}",
        out.status
    );
    let facts: Value = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("pair.py printed no JSON:\n{stdout}\n{stderr}"));
    eprintln!("{name}: {facts}");
    Some(facts)
}

fn list(facts: &Value, key: &str) -> usize {
    match &facts[key] {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        other => panic!("{key} is {other}"),
    }
}

/// Nothing blocked crossed and nothing passed unguarded.
fn assert_safe(facts: &Value) {
    for key in [
        // a blocked push answered 200
        "blocked_passed",
        // a marker of a blocked event in any byte the remote received
        "markers_found",
        // a connection at the remote from anything but a box
        "unguarded_connections",
        // a push at the remote that MISP did not send as allowed
        "unknown_records",
        // an allowed push that arrived without its box's audit line
        "unjudged",
        // a 200 for a push the remote never received
        "ok_without_record",
    ] {
        assert_eq!(list(facts, key), 0, "{key}: {}\n{facts:#}", facts[key]);
    }
    assert!(
        facts["bytes_searched"].as_u64().unwrap() > 0,
        "the remote received nothing: {facts:#}"
    );
}

/// Allowed pushes went through `serving` in that order, blocked ones were
/// refused by the box serving after the fault, and `end` holds both
/// virtual addresses at the end.
fn assert_served(facts: &Value, serving: &[&str], end: &str) {
    assert_eq!(facts["serving"], serde_json::json!(serving), "{facts:#}");
    assert_eq!(facts["active_end"], end, "{facts:#}");
    assert!(
        facts["blocks_logged"][end].as_u64().unwrap() > 0,
        "box {end} refused nothing: {facts:#}"
    );
    assert!(
        facts["blocked_answers"]["403"].as_u64().unwrap() > 0,
        "{facts:#}"
    );
    let unlogged = list(facts, "unlogged_in_flight");
    if unlogged > 0 {
        eprintln!("{unlogged} allowed push(es) were in flight on the faulted box at the fault");
    }
}

fn failover(fault: &str, what: &str) {
    let Some(facts) = scenario(fault) else {
        return;
    };
    assert_safe(&facts);
    assert_served(&facts, &["a", "b"], "b");
    // Each box became master once: no flapping.
    assert_eq!(facts["masters"], serde_json::json!({"a": 1, "b": 1}));
    eprintln!(
        "{what}: the first allowed push through box b ended {} s after the fault ({} of {} allowed pushes failed meanwhile)",
        facts["failovers"][0], facts["allowed_failed"], facts["allowed"]
    );
}

#[test]
fn failover_when_the_active_daemon_is_killed() {
    failover("kill", "daemon SIGKILL");
}

#[test]
fn failover_when_the_active_daemon_is_stopped() {
    failover("term", "daemon SIGTERM");
}

#[test]
fn failover_when_the_active_box_loses_its_interfaces() {
    failover("links", "interfaces down");
}

#[test]
fn failover_when_the_active_box_is_gone() {
    failover("remove", "box removed");
}

/// Box a comes back healthy with the higher priority while b serves:
/// nopreempt keeps b active. Then b fails, and a takes over again.
#[test]
fn failback_without_flapping() {
    let Some(facts) = scenario("failback") else {
        return;
    };
    assert_safe(&facts);
    assert_served(&facts, &["a", "b", "a"], "a");
    assert_eq!(
        facts["active_while_a_back"],
        serde_json::json!(["b"]),
        "{facts:#}"
    );
    assert_eq!(facts["masters"], serde_json::json!({"a": 2, "b": 1}));
    eprintln!(
        "failover {} s, failback {} s",
        facts["failovers"][0], facts["failovers"][1]
    );
}

/// The passive box is removed and built again while the active one serves:
/// not one allowed push fails. Reached directly, the rebuilt box refuses
/// everything while its daemon is not running (the ruleset alone), and
/// judges once it is.
#[test]
fn the_passive_box_restarts_while_the_active_one_serves() {
    let Some(facts) = scenario("passive-restart") else {
        return;
    };
    assert_safe(&facts);
    assert_eq!(facts["serving"], serde_json::json!(["a"]), "{facts:#}");
    assert_eq!(facts["active_end"], "a");
    assert_eq!(facts["masters"], serde_json::json!({"a": 1, "b": 0}));
    assert_eq!(facts["loop_allowed_failed"], 0, "{facts:#}");
    assert!(facts["loop_allowed"].as_u64().unwrap() >= 10, "{facts:#}");
    for probe in facts["probe_without_daemon"].as_array().unwrap() {
        assert!(probe["status"].is_null(), "{facts:#}");
    }
    let with: Vec<(&str, u64)> = facts["probe_with_daemon"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap(),
                p["status"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert!(with.contains(&("allowed", 200)), "{facts:#}");
    assert!(with.contains(&("blocked", 403)), "{facts:#}");
    // The allowed probe arrived through b, and only it.
    assert_eq!(
        facts["probe_arrived_from"],
        serde_json::json!(["203.0.113.3"])
    );
}

/// `{{ $labels.job }}` and `{{ $value }}` of an annotation in alerts.yml
/// filled in, as promtool renders it: the quoted YAML string.
fn annotation(rules: &str, alert: &str, key: &str, job: &str, value: &str) -> String {
    let at = rules
        .find(&format!("- alert: {alert}"))
        .unwrap_or_else(|| panic!("no alert {alert}"));
    let line = rules[at..]
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("{alert} has no {key}"));
    line.replace("{{ $labels.job }}", job)
        .replace("{{ $value }}", value)
}

/// Box b's config changes: its `config_info` hash differs from a's (and is
/// its file's); then b restarts with another CA: its `ca_info` differs.
/// The drift alerts, fed what the two boxes exported, fire on both.
#[test]
fn drift_between_the_boxes_shows_in_the_metrics() {
    let Some(facts) = scenario("drift") else {
        return;
    };
    let shown = |phase: &str, b: &str, what: &str| -> String {
        let v = facts[phase][b][what].as_array().unwrap();
        assert_eq!(v.len(), 1, "{phase} {b} {what}: {facts:#}");
        v[0].as_str().unwrap().to_string()
    };
    let file = |b: &str| facts["config_files"][b].as_str().unwrap().to_string();
    // The same config file and CA on both boxes, as the metrics show.
    assert_eq!(file("a"), file("b"));
    assert_eq!(shown("same", "a", "config"), file("a"));
    assert_eq!(shown("same", "b", "config"), file("a"));
    assert_eq!(shown("same", "a", "ca"), facts["ca_pem"].as_str().unwrap());
    assert_eq!(shown("same", "b", "ca"), facts["ca_pem"].as_str().unwrap());
    // b's config changed: reloaded, its hash is the new file's.
    assert_eq!(shown("config_changed", "a", "config"), file("a"));
    assert_eq!(
        shown("config_changed", "b", "config"),
        facts["config_file_b"].as_str().unwrap()
    );
    assert_ne!(file("a"), facts["config_file_b"].as_str().unwrap());
    assert_eq!(
        shown("config_changed", "a", "ca"),
        shown("config_changed", "b", "ca")
    );
    // b restarted with a CA of its own.
    assert_eq!(
        shown("ca_changed", "b", "ca"),
        facts["ca_pem_b"].as_str().unwrap()
    );
    assert_ne!(
        shown("ca_changed", "a", "ca"),
        shown("ca_changed", "b", "ca")
    );

    let have_promtool = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join("promtool").is_file());
    if !have_promtool {
        return skip::skip("promtool is not installed (Debian package prometheus)");
    }
    let rules_path = format!("{MANIFEST}/monitoring/alerts.yml");
    let rules = fs::read_to_string(&rules_path).unwrap();
    let series = |metric: &str, phase: &str, what: &str| -> String {
        ["a", "b"]
            .iter()
            .map(|b| {
                format!(
                    "      - series: '{metric}{{job=\"misp-warden\", instance=\"{b}:9102\", sha256=\"{}\"}}'\n        values: '1x15'\n",
                    shown(phase, b, what)
                )
            })
            .collect()
    };
    let firing = |alert: &str| -> String {
        format!(
            "        exp_alerts:\n          - exp_labels: {{severity: critical, job: misp-warden}}\n            exp_annotations:\n              summary: {}\n              description: {}\n",
            annotation(&rules, alert, "summary", "misp-warden", "2"),
            annotation(&rules, alert, "description", "misp-warden", "2")
        )
    };
    let test = format!(
        "rule_files:\n  - {rules_path}\nevaluation_interval: 1m\ntests:\n\
         # what the boxes exported before anything changed: quiet\n\
         \x20 - interval: 1m\n    input_series:\n{}{}    alert_rule_test:\n\
         \x20     - eval_time: 10m\n        alertname: MispWardenPairConfigDrift\n        exp_alerts: []\n\
         \x20     - eval_time: 10m\n        alertname: MispWardenPairCaDrift\n        exp_alerts: []\n\
         # after b's config changed\n\
         \x20 - interval: 1m\n    input_series:\n{}{}    alert_rule_test:\n\
         \x20     - eval_time: 10m\n        alertname: MispWardenPairConfigDrift\n{}\
         \x20     - eval_time: 10m\n        alertname: MispWardenPairCaDrift\n        exp_alerts: []\n\
         # after b restarted with another CA\n\
         \x20 - interval: 1m\n    input_series:\n{}    alert_rule_test:\n\
         \x20     - eval_time: 10m\n        alertname: MispWardenPairCaDrift\n{}",
        series("misp_warden_config_info", "same", "config"),
        series("misp_warden_ca_info", "same", "ca"),
        series("misp_warden_config_info", "config_changed", "config"),
        series("misp_warden_ca_info", "config_changed", "ca"),
        firing("MispWardenPairConfigDrift"),
        series("misp_warden_ca_info", "ca_changed", "ca"),
        firing("MispWardenPairCaDrift"),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.test.yml");
    fs::write(&file, &test).unwrap();
    let out = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool test rules on the live values:\n{test}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The deployment guide's pair section shows the keepalived configuration
/// the pair lab runs (`scripts/lab/keepalived.conf`), byte for byte.
#[test]
fn the_deployment_guide_shows_the_keepalived_config_the_lab_runs() {
    let guide = fs::read_to_string(format!("{MANIFEST}/docs/deployment.md")).unwrap();
    let conf = fs::read_to_string(format!("{MANIFEST}/scripts/lab/keepalived.conf")).unwrap();
    let section = guide
        .split("## Active/passive pair")
        .nth(1)
        .expect("docs/deployment.md has an \"Active/passive pair\" section");
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let block = section
        .split("```text\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a ```text block in the pair section");
    assert_eq!(
        format!("{block}\n"),
        conf,
        "docs/deployment.md's keepalived config differs from scripts/lab/keepalived.conf"
    );
}
