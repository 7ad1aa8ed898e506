//! The lab: the addresses, routes and TPROXY rules the mapping needs on
//! top of the lab's topology (port 4444 included), the remote's
//! certificate for every parity host, and reloads of the parity config.

use super::*;
use mapping::{OTHER_HOSTS, PLACES, UNKNOWN_CLIENTS, UNKNOWN_CLIENTS_ELSEWHERE};

/// Runs a command on the host; panics with its output when it fails.
fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `out0` address the remote listens on.
pub fn outside_addresses() -> Vec<&'static str> {
    PLACES
        .iter()
        .flat_map(|p| [p.out4, p.out6])
        .chain(OTHER_HOSTS.iter().flat_map(|(_, a, b)| [*a, *b]))
        .collect()
}

/// The addresses, routes and TPROXY rule the mapping needs, on top of
/// `scripts/lab.sh`'s topology.
pub fn extend_lab(lab: &Lab) {
    let (ns_in, ns_gw, ns_out) = (lab.ns("in"), lab.ns("gw"), lab.ns("out"));
    for p in &PLACES {
        if is_v6(p.inside) {
            let a = format!("{}/64", p.inside);
            sh(&[
                "ip", "-n", &ns_in, "-6", "addr", "add", &a, "dev", "in0", "nodad",
            ]);
        } else {
            let a = format!("{}/24", p.inside);
            sh(&["ip", "-n", &ns_in, "addr", "add", &a, "dev", "in0"]);
        }
    }
    for ip in UNKNOWN_CLIENTS {
        let elsewhere = UNKNOWN_CLIENTS_ELSEWHERE.contains(&ip);
        let a = format!("{ip}/{}", if elsewhere { 32 } else { 24 });
        sh(&["ip", "-n", &ns_in, "addr", "add", &a, "dev", "in0"]);
        if elsewhere {
            // The gateway would send the answers out of gw-out otherwise.
            let r = format!("{ip}/32");
            sh(&[
                "ip",
                "-n",
                &ns_gw,
                "route",
                "add",
                &r,
                "via",
                "192.0.2.10",
                "dev",
                "gw-in",
            ]);
        }
    }
    for a in outside_addresses() {
        if is_v6(a) {
            let a = format!("{a}/64");
            sh(&[
                "ip", "-n", &ns_out, "-6", "addr", "add", &a, "dev", "out0", "nodad",
            ]);
        } else {
            let a = format!("{a}/24");
            sh(&["ip", "-n", &ns_out, "addr", "add", &a, "dev", "out0"]);
        }
    }
}

/// Loads the gateway ruleset `misp-warden nft` renders for the config in
/// force, plus one rule of the test's own: port 4444 goes to the daemon as
/// well, so that it sees (and refuses) the scenarios' non-sync port itself.
/// The rendered ruleset alone resets such connections at the gateway, which
/// `tests/lab_selftest.rs` shows.
pub fn guard(lab: &Lab) {
    lab.guard();
    let ns_gw = lab.ns("gw");
    for (family, proto) in [("ipv4", "ip"), ("ipv6", "ip6")] {
        let rule = format!(
            "add rule inet misp_warden prerouting meta nfproto {family} tcp dport 4444 tproxy {proto} to :8888 meta mark set 1 accept"
        );
        sh(&["ip", "netns", "exec", &ns_gw, "nft", &rule]);
    }
}

/// `DIR/parity.pem` + `.key`: every parity host name and `out0` address,
/// signed by the lab's remote CA (which the daemon trusts upstream).
pub fn remote_certificate(lab: &Lab, parity: &Parity) {
    let dir = lab.dir();
    let mut san: Vec<String> = parity
        .by_host
        .keys()
        .map(String::as_str)
        .chain(OTHER_HOSTS.iter().map(|(h, ..)| *h))
        .map(|h| format!("DNS:{h}"))
        .collect();
    san.extend(outside_addresses().iter().map(|a| format!("IP:{a}")));
    let ext = dir.join("parity.ext");
    std::fs::write(
        &ext,
        format!(
            "subjectAltName={}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
            san.join(",")
        ),
    )
    .unwrap();
    let f = |name: &str| dir.join(name).to_str().unwrap().to_string();
    sh(&[
        "openssl",
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &f("parity.key"),
        "-out",
        &f("parity.csr"),
        "-subj",
        "/CN=alpha1.zone-a.example",
    ]);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let serial = format!("0x{nanos:016x}");
    sh(&[
        "openssl",
        "x509",
        "-req",
        "-in",
        &f("parity.csr"),
        "-CA",
        &f("remote-ca.pem"),
        "-CAkey",
        &f("remote-ca.key"),
        "-set_serial",
        &serial,
        "-days",
        "2",
        "-extfile",
        &f("parity.ext"),
        "-out",
        &f("parity.pem"),
    ]);
}

/// Puts `config` in force: the `warden` section `start_warden` wrote is
/// kept, the rest replaced; SIGHUP, then waits for the `n`-th `reloaded`.
pub fn reload(lab: &Lab, config: &Value, n: usize) {
    let written: Value =
        serde_json::from_slice(&std::fs::read(lab.config_path()).unwrap()).unwrap();
    let mut next = config.clone();
    next["warden"] = written["warden"].clone();
    std::fs::write(lab.config_path(), serde_json::to_vec_pretty(&next).unwrap()).unwrap();
    lab.signal_warden("HUP");
    for _ in 0..200 {
        let log = lab.warden_log();
        if log.matches("reloaded").count() >= n {
            return;
        }
        assert!(
            !log.contains("reload refused"),
            "the daemon refused a lab config:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("no reload #{n} within 5 s; the log:\n{}", lab.warden_log());
}
