//! Verdict parity, live: every misp-guard scenario of `tests/parity.rs`
//! (and every twin) replayed through the running daemon in the namespace
//! lab (`tests/lab/mod.rs`), each expecting **misp-guard's verdict from the
//! scenario table** (`tests/parity_scenarios/`), as `tests/parity.rs` does
//! for `eval` — never what `eval` says, so a policy bug shared by `eval`
//! and the daemon fails here too. (`eval`'s verdict is shown beside a
//! failure, to tell a daemon bug from a policy bug.)
//!
//! For every run:
//!
//! - **misp-guard allows** → the client gets the remote's answer unchanged
//!   (status and bytes), and the remote received exactly that request,
//!   body byte for byte;
//! - **misp-guard blocks** → the client gets a 403 with MISP's JSON error
//!   shape (`{"name": "Forbidden", "message", "url"}`) whose message says
//!   what misp-guard's reason says (its text, or ours for it where the
//!   wording is known to differ: `WORDING_GAPS`; an unknown source too:
//!   CONTRACT.md wants every block answered so). Nothing blocked crosses.
//!   Where the block falls is read from the table as well: misp-guard
//!   judges the request first and the response after it, so a blocked run
//!   whose very request (method, path, client, destination, body) is
//!   allowed in another run of the table is refused on its response — the
//!   request went out once and not a byte of the response body reaches the
//!   client; any other blocked run is refused on its request — the remote
//!   receives no request at all (so no pushed body).
//!
//! # The lab mapping
//!
//! The parity config's addresses are both client IPs and destinations. In
//! the lab a client sits in `NAME-in` and a destination in `NAME-out`, so
//! the runs are grouped by their client, and each group gets its own copy of
//! the parity config (same rules, compartments, feeds, allowlist, host
//! names), put in force with SIGHUP before the group runs:
//!
//! | instance  | parity IP     | as the client (`in0`) | as a destination (`out0`)          |
//! |-----------|---------------|-----------------------|------------------------------------|
//! | alpha_1   | 192.0.2.11    | 192.0.2.11            | 203.0.113.111 / 2001:db8:2::111    |
//! | alpha_2   | 192.0.2.12    | 192.0.2.12            | 203.0.113.112 / 2001:db8:2::112    |
//! | bravo_1   | 198.51.100.21 | 192.0.2.21            | 203.0.113.121 / 2001:db8:2::121    |
//! | bravo_2   | 198.51.100.22 | 192.0.2.22            | 203.0.113.122 / 2001:db8:2::122    |
//! | charlie_1 | 203.0.113.31  | 192.0.2.31            | 203.0.113.131 / 2001:db8:2::131    |
//! | delta_1   | 2001:db8::41  | 2001:db8:1::41        | 203.0.113.141 / 2001:db8:2::141    |
//!
//! In a group, the client instance's `ip` is its `in0` address and every
//! other instance's is its `out0` address of the client's family (delta_1,
//! the IPv6 instance, pulls and pushes over IPv6; the others over IPv4).
//! Names that are no instance get `out0` addresses too:
//! downloads.mirror.example .150, lists.zone-x.test .151,
//! nowhere.zone-a.example .152, feed1.mirror.example .161,
//! feed2.mirror.example .162 (203.0.113.x). The unknown clients keep their
//! parity addresses (they appear in the reason): 192.0.2.200 on `in0`, and
//! 203.0.113.90 as a /32 on `in0` with a host route back to it on the
//! gateway. Port 4444 (the `dst_port_not_allowed` scenarios) gets a TPROXY
//! rule of its own on the gateway, next to the lab's 80/443.
//!
//! Four pulls have alpha_1 pull from itself, which no lab can place on both
//! sides: their group adds `alpha_1_client`, a copy of alpha_1 (same
//! compartment and rules) with host `alpha1-client.lab.example` at alpha_1's
//! `in0` address, and alpha_1 is the destination. A pull is judged by the
//! destination's rules, so the verdicts and reasons are alpha_1's.
//!
//! The remote MISP listens on every `out0` address above with a certificate
//! for every host name and address, signed by the lab's `remote-ca` (the
//! daemon's `upstream_ca`). For each run it serves the scenario's response
//! fixture (and response headers, e.g. `X-UserOrgUUID`) with 200 for the
//! exact method and path; a scenario without a response gets `204 No
//! Content`, which the daemon does not judge.
//!
//! Needs root; without it the test says it skipped.

mod lab;
mod parity_scenarios;

use lab::Lab;
use parity_scenarios::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Where one parity instance sits in the lab.
struct Place {
    id: &'static str,
    /// Its address on `in0`, when it is the client.
    inside: &'static str,
    /// Its addresses on `out0`, when it is a destination.
    out4: &'static str,
    out6: &'static str,
}

const PLACES: [Place; 6] = [
    Place {
        id: "alpha_1",
        inside: "192.0.2.11",
        out4: "203.0.113.111",
        out6: "2001:db8:2::111",
    },
    Place {
        id: "alpha_2",
        inside: "192.0.2.12",
        out4: "203.0.113.112",
        out6: "2001:db8:2::112",
    },
    Place {
        id: "bravo_1",
        inside: "192.0.2.21",
        out4: "203.0.113.121",
        out6: "2001:db8:2::121",
    },
    Place {
        id: "bravo_2",
        inside: "192.0.2.22",
        out4: "203.0.113.122",
        out6: "2001:db8:2::122",
    },
    Place {
        id: "charlie_1",
        inside: "192.0.2.31",
        out4: "203.0.113.131",
        out6: "2001:db8:2::131",
    },
    Place {
        id: "delta_1",
        inside: "2001:db8:1::41",
        out4: "203.0.113.141",
        out6: "2001:db8:2::141",
    },
];

/// Destination names that are no instance: (name, IPv4, IPv6) on `out0`.
const OTHER_HOSTS: [(&str, &str, &str); 5] = [
    (
        "downloads.mirror.example",
        "203.0.113.150",
        "2001:db8:2::150",
    ),
    ("lists.zone-x.test", "203.0.113.151", "2001:db8:2::151"),
    ("nowhere.zone-a.example", "203.0.113.152", "2001:db8:2::152"),
    ("feed1.mirror.example", "203.0.113.161", "2001:db8:2::161"),
    ("feed2.mirror.example", "203.0.113.162", "2001:db8:2::162"),
];

/// Clients in no instance: on `in0`, as they are in the scenarios.
const UNKNOWN_CLIENTS: [&str; 2] = ["192.0.2.200", "203.0.113.90"];
/// Of those, the ones outside `in0`'s /24: a /32 plus a route on the gateway.
const UNKNOWN_CLIENTS_ELSEWHERE: [&str; 1] = ["203.0.113.90"];

/// The stand-in client of the pulls where alpha_1 pulls from itself.
const SELF_CLIENT_HOST: &str = "alpha1-client.lab.example";

fn place(id: &str) -> &'static Place {
    PLACES
        .iter()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("no lab place for instance {id}"))
}

fn is_v6(addr: &str) -> bool {
    addr.contains(':')
}

/// Who the client of a run is, which decides the config in force.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Client {
    /// A parity instance, at its `in0` address.
    Instance(String),
    /// alpha_1 pulling from itself: `<id>_client` at the `in0` address.
    OwnDestination(String),
    /// An address of no instance.
    Unknown(String),
}

impl Client {
    fn v6(&self) -> bool {
        match self {
            Client::Instance(id) | Client::OwnDestination(id) => is_v6(place(id).inside),
            Client::Unknown(ip) => is_v6(ip),
        }
    }

    /// The address curl binds to.
    fn address(&self) -> &str {
        match self {
            Client::Instance(id) | Client::OwnDestination(id) => place(id).inside,
            Client::Unknown(ip) => ip,
        }
    }

    fn label(&self) -> String {
        match self {
            Client::Instance(id) => id.clone(),
            Client::OwnDestination(id) => format!("{id} (pulling from itself)"),
            Client::Unknown(ip) => format!("unknown {ip}"),
        }
    }
}

/// The parity config, and its instances by IP and by host.
struct Parity {
    config: Value,
    by_ip: BTreeMap<String, String>,
    by_host: BTreeMap<String, String>,
}

impl Parity {
    fn load() -> Parity {
        let path = fixture_dir().join("config.json");
        let config: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read the parity config"))
                .expect("the parity config is JSON");
        let mut by_ip = BTreeMap::new();
        let mut by_host = BTreeMap::new();
        for (id, inst) in config["instances"].as_object().expect("instances") {
            by_ip.insert(inst["ip"].as_str().unwrap().to_string(), id.clone());
            by_host.insert(inst["host"].as_str().unwrap().to_string(), id.clone());
        }
        Parity {
            config,
            by_ip,
            by_host,
        }
    }

    fn client(&self, s: &Scenario) -> Client {
        let (host, _) = host_port(s.to);
        match self.by_ip.get(s.from) {
            Some(id) if self.by_host.get(host) == Some(id) => Client::OwnDestination(id.clone()),
            Some(id) => Client::Instance(id.clone()),
            None => {
                assert!(
                    UNKNOWN_CLIENTS.contains(&s.from),
                    "client {} has no lab address",
                    s.from
                );
                Client::Unknown(s.from.to_string())
            }
        }
    }

    /// The lab address of a destination name, for a client of that family.
    fn destination(&self, host: &str, v6: bool) -> &'static str {
        if let Some(id) = self.by_host.get(host) {
            let p = place(id);
            return if v6 { p.out6 } else { p.out4 };
        }
        let (_, v4addr, v6addr) = OTHER_HOSTS
            .iter()
            .find(|(name, ..)| *name == host)
            .unwrap_or_else(|| panic!("destination {host} has no lab address"));
        if v6 { v6addr } else { v4addr }
    }

    /// The parity config with the addresses of `client`'s group.
    fn config_for(&self, client: &Client) -> Value {
        let mut config = self.config.clone();
        let v6 = client.v6();
        let instances = config["instances"].as_object_mut().unwrap();
        for (id, inst) in instances.iter_mut() {
            let p = place(id);
            inst["ip"] = match client {
                Client::Instance(c) if c == id => json!(p.inside),
                _ if v6 => json!(p.out6),
                _ => json!(p.out4),
            };
        }
        if let Client::OwnDestination(id) = client {
            let mut stand_in = instances[id].clone();
            stand_in["ip"] = json!(place(id).inside);
            stand_in["host"] = json!(SELF_CLIENT_HOST);
            instances.insert(format!("{id}_client"), stand_in);
        }
        config
    }
}

fn host_port(to: &str) -> (&str, u16) {
    let (host, port) = to
        .rsplit_once(':')
        .expect("scenario destinations are HOST:PORT");
    (host, port.parse().expect("a port"))
}

// ---------------------------------------------------------------------------
// What is expected: the table, not eval

/// What `misp-warden eval` says of a scenario, in a line; shown beside a
/// failure only, never expected.
fn eval_says(s: &Scenario, tmp: &Path) -> String {
    let out = eval_command(s, tmp, true)
        .output()
        .expect("run misp-warden eval");
    format!(
        "{} (exit {:?})",
        String::from_utf8_lossy(&out.stdout).trim(),
        out.status.code()
    )
}

/// A request as the remote would receive it: method, path, client,
/// destination, body.
type RequestKey = (String, String, String, String, Vec<u8>);

fn request_key(s: &Scenario) -> RequestKey {
    (
        s.method.to_string(),
        s.path.clone(),
        s.from.to_string(),
        s.to.to_string(),
        s.body.as_ref().map(payload_bytes).unwrap_or_default(),
    )
}

fn show_expect(e: &Expect) -> String {
    match e {
        Expect::Allow => "allow".to_string(),
        Expect::Block(reasons) => format!("block: {}", reasons.join(" … ")),
    }
}

// ---------------------------------------------------------------------------
// The lab

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
fn outside_addresses() -> Vec<&'static str> {
    PLACES
        .iter()
        .flat_map(|p| [p.out4, p.out6])
        .chain(OTHER_HOSTS.iter().flat_map(|(_, a, b)| [*a, *b]))
        .collect()
}

/// The addresses, routes and TPROXY rule the mapping needs, on top of
/// `scripts/lab.sh`'s topology.
fn extend_lab(lab: &Lab) {
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
fn guard(lab: &Lab) {
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
fn remote_certificate(lab: &Lab, parity: &Parity) {
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
fn reload(lab: &Lab, config: &Value, n: usize) {
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

// ---------------------------------------------------------------------------
// One run

struct Run {
    label: String,
    scenario: Scenario,
    client: Client,
}

/// What one live run gave, for the report.
#[derive(Default)]
struct Outcome {
    blocked: bool,
}

/// The UUIDs in a text (the guard's messages name events by UUID).
fn uuids(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(35))
        .filter(|&i| {
            b[i..i + 36].iter().enumerate().all(|(j, c)| match j {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
        })
        .map(|i| &text[i..i + 36])
        .collect()
}

/// A distinctive piece of a response body: all of a short one, else the
/// first 32 bytes from its middle on that are in none of `avoid` (what the
/// guard may legitimately repeat: misp-guard's reason, the event UUIDs it
/// names, and the path).
fn needle<'a>(body: &'a [u8], avoid: &[&[u8]]) -> &'a [u8] {
    if body.len() <= 48 {
        return body;
    }
    let mid = body.len() / 2 - 16;
    (mid..body.len() - 32)
        .chain(0..mid)
        .map(|i| &body[i..i + 32])
        .find(|w| !avoid.iter().any(|a| contains(a, w)))
        .unwrap_or(&body[mid..mid + 32])
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s.into_owned()
    }
}

/// Replays one run live and compares it with misp-guard's verdict from the
/// table. `allowed_requests`: every request some run of the table expects
/// allowed. `Err` describes the disagreement, with eval's verdict and the
/// daemon's log lines of the run.
fn replay(
    lab: &Lab,
    parity: &Parity,
    run: &Run,
    allowed_requests: &HashSet<RequestKey>,
    tmp: &Path,
) -> Result<Outcome, String> {
    let s = &run.scenario;
    let expected = &s.expect;
    let (host, port) = host_port(s.to);
    let dest = parity.destination(host, run.client.v6());

    // What the remote answers this exchange with.
    let (status, served) = match &s.response {
        Some(p) => (200u16, payload_bytes(p)),
        None => (204, Vec::new()),
    };
    let headers: serde_json::Map<String, Value> = s
        .response_headers
        .iter()
        .map(|h| {
            let (k, v) = h.split_once(':').expect("Name: value");
            (k.trim().to_string(), json!(v.trim()))
        })
        .collect();
    let resolve = if is_v6(dest) {
        format!("{host}:{port}:[{dest}]")
    } else {
        format!("{host}:{port}:{dest}")
    };
    // The events this scenario's proposals, sightings or analyst data belong
    // to: a guard that has been running let each through before (the table
    // gives misp-guard's verdicts, which know no memory). Synced first, the
    // way MISP would have: pushed, or pulled through the same path.
    let seen = parity_scenarios::seen_events(s);
    let warm_event = |uuid: &str| {
        serde_json::to_vec(&json!({"Event": {"uuid": uuid, "info": "synced before",
            "distribution": "1", "published": true, "Tag": [{"name": "tlp:clear"}],
            "Attribute": [], "Object": []}}))
        .unwrap()
    };
    let view = |uuid: &str| format!("/events/view/{uuid}/deleted[]:0/deleted[]:1/excludeGalaxy:1");
    let mut routes = vec![json!({"method": s.method, "path": s.path, "status": status,
                 "headers": headers, "body_b64": lab::base64(&served)})];
    for uuid in &seen {
        routes.push(json!({"method": "GET", "path": view(uuid), "status": 200,
            "body_b64": lab::base64(&warm_event(uuid))}));
    }
    lab.set_routes(0, &Value::Array(routes));
    for uuid in &seen {
        let base = format!("https://{host}:{port}");
        let common = [
            "--http1.1",
            "--globoff",
            "--path-as-is",
            "--interface",
            run.client.address(),
            "--resolve",
            &resolve,
        ];
        let warm = if s.response.is_some() {
            lab.curl(&[&common[..], &[&format!("{base}{}", view(uuid))]].concat())
        } else {
            let file = tmp.join(format!("warm-{uuid}.json"));
            std::fs::write(&file, warm_event(uuid)).unwrap();
            let data = format!("@{}", file.display());
            let url = format!("{base}/events/add");
            lab.curl(
                &[
                    &common[..],
                    &[
                        "-H",
                        "Content-Type: application/json",
                        "--data-binary",
                        &data,
                        &url,
                    ],
                ]
                .concat(),
            )
        };
        if warm.status != 200 {
            return Err(format!(
                "warming the guard with event {uuid} failed: {} {}",
                warm.status,
                warm.text()
            ));
        }
    }

    let records_before = lab.records(0).len();
    let log_before = lab.warden_log().len();
    let url = format!("https://{host}:{port}{}", s.path);
    let body_file = s.body.as_ref().map(|b| payload_file(b, tmp));
    let data = body_file
        .as_ref()
        .map(|f| format!("@{}", f.to_str().unwrap()));
    let mut args: Vec<&str> = vec![
        "--http1.1",
        "--globoff",
        "--path-as-is",
        "--interface",
        run.client.address(),
        "--resolve",
        &resolve,
        "-H",
        "Expect:",
    ];
    match s.method {
        "HEAD" => args.push("--head"),
        "GET" => {}
        m => args.extend(["-X", m]),
    }
    if let Some(d) = &data {
        args.extend(["-H", "Content-Type: application/json", "--data-binary", d]);
    }
    args.push(&url);
    let c = lab.curl(&args);

    let records = lab.records(0);
    let new = &records[records_before.min(records.len())..];
    let log = lab.warden_log();
    let log_lines = log
        .get(log_before..)
        .unwrap_or_default()
        .trim_end()
        .to_string();
    let sent = s.body.as_ref().map(payload_bytes);
    let disagree = |what: String| {
        Err(format!(
            "{what}\n    misp-guard: {}\n    eval: {}\n    live: status {} (curl exit {}) {}{}\n    daemon log:\n      {}",
            show_expect(expected),
            eval_says(s, tmp),
            c.status,
            c.exit,
            show(&c.body),
            c.stderr.trim(),
            log_lines.replace('\n', "\n      ")
        ))
    };

    match expected {
        Expect::Allow => {
            if c.status != status {
                return disagree(format!(
                    "misp-guard allows, the daemon answered {}",
                    c.status
                ));
            }
            if s.method != "HEAD" && c.body != served {
                return disagree("the client did not get the remote's answer unchanged".into());
            }
            match new {
                [r] if r.method == s.method
                    && r.path == s.path
                    && r.body == sent.clone().unwrap_or_default() => {}
                _ => {
                    return disagree(format!(
                        "the remote should have received exactly this request, got {:?}",
                        new.iter()
                            .map(|r| format!("{} {} ({} bytes)", r.method, r.path, r.body.len()))
                            .collect::<Vec<_>>()
                    ));
                }
            }
            Ok(Outcome::default())
        }
        Expect::Block(wanted) => {
            let outcome = Outcome { blocked: true };
            if c.status != 403 {
                return disagree(format!(
                    "misp-guard blocks, the daemon answered {}",
                    c.status
                ));
            }
            let answer: Value = match serde_json::from_slice(&c.body) {
                Ok(v) => v,
                Err(e) => return disagree(format!("the 403 is not JSON: {e}")),
            };
            let message = answer["message"].as_str().unwrap_or_default();
            let shape = answer.as_object().is_some_and(|o| {
                o.len() == 3
                    && o.keys()
                        .all(|k| ["name", "message", "url"].contains(&k.as_str()))
            });
            if !shape || answer["name"] != "Forbidden" || !answer["url"].is_string() {
                return disagree(format!("the 403 is not MISP's error shape: {answer}"));
            }
            match reason_matches(wanted, message) {
                Ok(None) => {}
                Ok(Some(note)) => eprintln!("[{}] known wording gap: {note}", run.label),
                Err(e) => {
                    return disagree(format!(
                        "the 403's message does not say misp-guard's reason: {e}"
                    ));
                }
            }
            // The guard's own three fields are all the client got; the
            // response can only have leaked into the message.
            let mut own: Vec<&[u8]> = wanted.iter().map(|w| w.as_bytes()).collect();
            own.push(s.path.as_bytes());
            own.extend(uuids(message).into_iter().map(str::as_bytes));
            let needle = needle(&served, &own);
            if !served.is_empty() && contains(message.as_bytes(), needle) {
                return disagree("the blocked response body reached the client".into());
            }
            // Nothing blocked crosses.
            if let Some(sent) = &sent
                && new.iter().any(|r| &r.body == sent)
            {
                return disagree("the blocked body reached the remote".into());
            }
            // misp-guard judges the request before the response: a request
            // the table allows elsewhere passes, and this run is refused on
            // its response.
            let request_blocked =
                s.response.is_none() || !allowed_requests.contains(&request_key(s));
            if request_blocked && !new.is_empty() {
                return disagree(format!(
                    "blocked on the request, yet the remote received {} request(s)",
                    new.len()
                ));
            }
            let forwarded_once = matches!(new, [r] if r.method == s.method && r.path == s.path);
            if !request_blocked && !forwarded_once {
                return disagree(format!(
                    "blocked on the response: the request should have gone out once, the remote got {}",
                    new.len()
                ));
            }
            Ok(outcome)
        }
    }
}

#[test]
fn misp_guard_scenarios_through_the_live_daemon_give_misp_guards_verdicts() {
    let started = Instant::now();
    let Some(mut lab) = Lab::new("parity") else {
        return;
    };
    let parity = Parity::load();
    extend_lab(&lab);
    remote_certificate(&lab, &parity);
    let listen: Vec<String> = outside_addresses()
        .iter()
        .map(|a| {
            if is_v6(a) {
                format!("[{a}]:443")
            } else {
                format!("{a}:443")
            }
        })
        .collect();
    let listen: Vec<&str> = listen.iter().map(String::as_str).collect();
    lab.start_remote(&listen, Some("parity"));
    let tmp = tempfile::tempdir().expect("temporary directory");

    // Every scenario and twin, labelled as tests/parity.rs labels them.
    let mut scenarios = 0;
    let mut runs: Vec<Run> = Vec::new();
    for (group, list) in all_groups() {
        scenarios += list.len();
        for (i, s) in list.iter().enumerate() {
            let label = format!("{group} #{} {}", i + 1, s.name);
            let mut main = s.clone();
            main.twins.clear();
            runs.push(Run {
                label: label.clone(),
                client: parity.client(&main),
                scenario: main,
            });
            for t in &s.twins {
                let twin = twin_scenario(s, t).unwrap_or_else(|e| panic!("[{label}] twin: {e}"));
                runs.push(Run {
                    label: format!("{label} / twin: {}", t.what),
                    client: parity.client(&twin),
                    scenario: twin,
                });
            }
        }
    }
    // Requests misp-guard lets through: those of every run it allows.
    let allowed_requests: HashSet<RequestKey> = runs
        .iter()
        .filter(|r| matches!(r.scenario.expect, Expect::Allow))
        .map(|r| request_key(&r.scenario))
        .collect();
    // One config per client, in order of first appearance.
    let mut clients: Vec<Client> = Vec::new();
    for r in &runs {
        if !clients.contains(&r.client) {
            clients.push(r.client.clone());
        }
    }
    let setup = started.elapsed();

    let mut failures = Vec::new();
    let (mut allowed, mut blocked) = (0, 0);
    for (n, client) in clients.iter().enumerate() {
        let config = parity.config_for(client);
        if n == 0 {
            lab.start_warden(&config);
        } else {
            reload(&lab, &config, n);
        }
        // Instances differ between clients: render the ruleset again, as an
        // operator does after changing them.
        guard(&lab);
        let group: Vec<&Run> = runs.iter().filter(|r| &r.client == client).collect();
        eprintln!("client {}: {} runs", client.label(), group.len());
        for run in group {
            match replay(&lab, &parity, run, &allowed_requests, tmp.path()) {
                Ok(o) if o.blocked => blocked += 1,
                Ok(_) => allowed += 1,
                Err(e) => failures.push(format!("[{}] ({}) {e}", run.label, client.label())),
            }
        }
    }
    eprintln!(
        "live parity: {scenarios} scenarios, {} runs ({allowed} allowed, {blocked} blocked), {} configs, {} disagreements; setup {:.1?}, total {:.1?}",
        runs.len(),
        clients.len(),
        failures.len(),
        setup,
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} runs: the live daemon does not give misp-guard's verdict:\n{}",
        failures.len(),
        runs.len(),
        failures.join("\n")
    );
}
