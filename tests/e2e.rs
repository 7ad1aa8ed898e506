//! misp-warden end to end: the real binary on the gateway of a namespace lab
//! (see `tests/lab/mod.rs`), behind nftables TPROXY, between a client in the
//! "internal MISP" namespace (curl, PyMISP, raw sockets) and a TLS "remote
//! MISP" that records everything it receives.
//!
//! Each test builds its own lab and proves two things: what the client got
//! (200 and the original bytes, or a 403 MISP-style JSON naming the rule),
//! and what the remote got (the exact bytes allowed — never a byte of what
//! was blocked). Needs root; without it each test says it skipped.
//!
//! This file holds the lab's config and events and the inspection tests
//! (pushes, pulls, encodings, large bodies, monitor mode); connections,
//! TLS and the daemon as a process have files of their own in `tests/e2e/`.

mod lab;

#[path = "e2e/connections.rs"]
mod connections;
#[path = "e2e/daemon.rs"]
mod daemon;
#[path = "e2e/tls.rs"]
mod tls;

use lab::misp::{brotli, gzip, zstd};
use lab::{Curl, Lab};
use serde_json::{Value, json};

const PARTNER: &str = "https://misp.partner.example";
const PUSH: &str = "/events/add/metadata:1";
const BLOCKED_SG: &str = "0b9a1e7c-3a44-4c5e-9d3f-6a2b8f1c0d4e";
/// A value that must never reach the remote or the log.
const SECRET: &str = "P4SSP0RT-SECRET-9f3e";

fn rules(blocked_tags: &[&str]) -> Value {
    json!({
        "taxonomies_rules": {"required_taxonomies": [], "allowed_tags": {}, "blocked_tags": blocked_tags},
        "blocked_distribution_levels": ["0"],
        "blocked_sharing_groups_uuids": [BLOCKED_SG],
        "blocked_attribute_types": ["passport-number"],
        "blocked_attribute_categories": ["Person"],
        "blocked_object_types": ["person"]
    })
}

fn instance(ip: &str, host: &str, port: u16, compartment: &str, blocked_tags: &[&str]) -> Value {
    let mut v = json!({"ip": ip, "host": host, "port": port, "compartment_id": compartment, "affiliation": "lab"});
    for (k, r) in rules(blocked_tags).as_object().unwrap() {
        v[k] = r.clone();
    }
    v
}

/// The lab's config: the internal MISP and the remote instances of
/// `scripts/lab.sh`, every compartment reaching every other.
fn config() -> Value {
    json!({
        "allowlist": {"urls": [], "domains": []},
        "compartments_rules": {"can_reach": {"internal": ["internal", "partners"], "partners": ["internal"]}},
        "instances": {
            "misp_internal": instance("192.0.2.10", "misp.internal.example", 443, "internal", &["tlp:red", "pap:red"]),
            "misp_internal_v6": instance("2001:db8:1::10", "misp6.internal.example", 443, "internal", &["tlp:red", "pap:red"]),
            "misp_partner": instance("203.0.113.20", "misp.partner.example", 443, "partners", &["tlp:red"]),
            "misp_partner_v6": instance("2001:db8:2::20", "misp6.partner.example", 443, "partners", &["tlp:red"]),
            "misp_partner_plain": instance("203.0.113.20", "plain.partner.example", 80, "partners", &["tlp:red"]),
            "misp_rogue": instance("203.0.113.21", "misp.rogue.example", 443, "partners", &["tlp:red"])
        }
    })
}

const EVENT_UUID: &str = "5f1c3a2e-1111-4222-8333-444455556666";

/// An event MISP would push, with one clean attribute; `change` adds what
/// makes it blocked (or not).
fn event(change: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut e = json!({"Event": {
        "uuid": EVENT_UUID, "info": "lab event", "distribution": "1", "sharing_group_id": "0",
        "published": true, "Tag": [{"name": "tlp:green"}],
        "Attribute": [{"uuid": "5f1c3a2e-2222-4222-8333-444455556666", "type": "domain",
                       "category": "Network activity", "value": "login-portal.example", "distribution": "5"}],
        "Object": []
    }});
    change(&mut e["Event"]);
    serde_json::to_vec(&e).unwrap()
}

/// The same event blocked by each rule family, with the rule id the
/// block must name.
fn blocked_events() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "blocked_tags",
            event(|e| e["Tag"] = json!([{"name": "TLP:RED"}])),
        ),
        (
            "blocked_distribution_levels",
            event(|e| e["distribution"] = json!(0)),
        ),
        (
            "blocked_sharing_groups_uuids",
            event(|e| {
                e["distribution"] = json!("4");
                e["SharingGroup"] = json!({"uuid": BLOCKED_SG, "name": "closed"});
            }),
        ),
        (
            "blocked_attribute_types",
            event(|e| {
                e["Attribute"].as_array_mut().unwrap().push(json!({
                    "uuid": "5f1c3a2e-3333-4222-8333-444455556666", "type": "passport-number",
                    "category": "Other", "value": SECRET, "distribution": "5"}))
            }),
        ),
        (
            "blocked_attribute_categories",
            event(|e| e["Attribute"][0]["category"] = json!("Person")),
        ),
        (
            "blocked_object_types",
            event(|e| {
                e["Object"] = json!([{"name": "person", "uuid": "5f1c3a2e-4444-4222-8333-444455556666",
                    "distribution": "5", "Attribute": [{"type": "text", "category": "Other", "value": SECRET}]}])
            }),
        ),
        (
            "blocked_tags",
            event(|e| e["Attribute"][0]["Tag"] = json!([{"name": "pap:red"}])),
        ),
    ]
}

/// A lab with a remote MISP on misp.partner.example (IPv4 and IPv6) and
/// the daemon running `config`.
fn lab_with(test: &str, config: &Value) -> Option<Lab> {
    let mut lab = Lab::new(test)?;
    lab.start_remote(
        &["203.0.113.20:443", "[2001:db8:2::20]:443"],
        Some("partner"),
    );
    lab.start_warden(config);
    Some(lab)
}

fn write(lab: &Lab, name: &str, bytes: &[u8]) -> String {
    let path = lab.dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

fn push(lab: &Lab, url: &str, body_file: &str, extra: &[&str]) -> Curl {
    let data = format!("@{body_file}");
    let mut args = vec![
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-H",
        "Accept: application/json",
        "-H",
        "Authorization: lab-sync-key",
        "--data-binary",
        &data,
    ];
    args.extend_from_slice(extra);
    args.push(url);
    lab.curl(&args)
}

/// A 403 with MISP's JSON error shape, naming `rule`.
fn assert_blocked(c: &Curl, rule: &str) {
    lab::misp::assert_refused(c, rule);
    assert!(
        !c.text().contains(SECRET),
        "a blocked value leaked into the answer: {}",
        c.text()
    );
}

fn assert_no_secret_anywhere(lab: &Lab) {
    assert!(
        !lab.warden_log().contains(SECRET),
        "a blocked value appears in the log"
    );
    for r in lab.records(0) {
        assert!(
            !String::from_utf8_lossy(&r.body).contains(SECRET),
            "a blocked value reached the remote: {} {}",
            r.method,
            r.path
        );
    }
}

#[test]
fn pushes_allowed_arrive_byte_identical_and_every_rule_family_blocks() {
    let Some(lab) = lab_with("push", &config()) else {
        return;
    };
    let allowed = event(|_| {});
    let file = write(&lab, "allowed.json", &allowed);
    let c = push(&lab, &format!("{PARTNER}{PUSH}"), &file, &[]);
    assert_eq!(c.status, 200, "{}{}", c.text(), c.stderr);
    let file_chunked = file;

    for (i, (rule, body)) in blocked_events().iter().enumerate() {
        let file = write(&lab, &format!("blocked-{i}.json"), body);
        let c = push(&lab, &format!("{PARTNER}{PUSH}"), &file, &[]);
        assert_blocked(&c, rule);
        // Chunked framing changes nothing.
        let c = push(
            &lab,
            &format!("{PARTNER}{PUSH}"),
            &file,
            &["-H", "Transfer-Encoding: chunked"],
        );
        assert_blocked(&c, rule);
    }
    let c = push(
        &lab,
        &format!("{PARTNER}{PUSH}"),
        &file_chunked,
        &["-H", "Transfer-Encoding: chunked"],
    );
    assert_eq!(c.status, 200, "{}{}", c.text(), c.stderr);
    // HEAD, as MISP asks whether an event exists: the remote's 404 comes back.
    let c = lab.curl(&["-I", &format!("{PARTNER}/events/view/{EVENT_UUID}")]);
    assert_eq!(c.status, 404, "{}{}", c.text(), c.stderr);

    let records = lab.records(0);
    let pushes: Vec<_> = records.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(
        pushes.len(),
        2,
        "only the allowed pushes may arrive: {:?}",
        records.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    for r in pushes {
        assert_eq!(r.path, PUSH);
        assert_eq!(
            r.body, allowed,
            "the allowed push must arrive byte for byte"
        );
    }
    assert_eq!(records.last().unwrap().method, "HEAD");
    assert_no_secret_anywhere(&lab);
    let log = lab.warden_log();
    assert!(
        log.contains("rule=\"blocked_object_types\"") && log.contains(EVENT_UUID),
        "the log names rule and event:\n{log}"
    );
}

#[test]
fn pulls_blocked_never_reach_the_client() {
    let Some(lab) = lab_with("pull", &config()) else {
        return;
    };
    let clean = event(|_| {});
    let red = event(|e| {
        e["Tag"] = json!([{"name": "tlp:red"}]);
        e["info"] = json!(SECRET);
    });
    let path_clean = format!("/events/view/{EVENT_UUID}/deleted[]:0/deleted[]:1/excludeGalaxy:1");
    let red_uuid = "6a1c3a2e-1111-4222-8333-444455556666";
    let path_red = format!("/events/view/{red_uuid}/deleted[]:0/deleted[]:1/excludeGalaxy:1");
    let b64 = |b: &[u8]| lab::base64(b);
    // The same two events again, gzip-encoded as curl's Accept-Encoding
    // invites, at paths of their own.
    let gz_uuid = "7b1c3a2e-1111-4222-8333-444455556666";
    let red_gz_uuid = "8c1c3a2e-1111-4222-8333-444455556666";
    let path_gz = format!("/events/view/{gz_uuid}");
    let path_red_gz = format!("/events/view/{red_gz_uuid}");
    let clean_gz = gzip(&clean);
    let json_gz = json!({"Content-Type": "application/json", "Content-Encoding": "gzip"});
    lab.set_routes(0, &json!([
        {"method": "GET", "path": path_clean, "status": 200, "headers": {"Content-Type": "application/json"}, "body_b64": b64(&clean)},
        {"method": "GET", "path": path_red, "status": 200, "headers": {"Content-Type": "application/json"}, "body_b64": b64(&red)},
        {"method": "GET", "path": path_gz, "status": 200, "headers": json_gz, "body_b64": b64(&clean_gz)},
        {"method": "GET", "path": path_red_gz, "status": 200, "headers": json_gz, "body_b64": b64(&gzip(&red))},
    ]));
    for version in ["--http1.1", "--http2"] {
        let c = lab.curl(&[version, "-g", &format!("{PARTNER}{path_clean}")]);
        assert_eq!(c.status, 200, "{}", c.stderr);
        assert_eq!(c.body, clean, "an allowed pull arrives byte for byte");
        let c = lab.curl(&[version, "-g", &format!("{PARTNER}{path_red}")]);
        assert_blocked(&c, "misp_partner.taxonomies_rules.blocked_tags");
        assert!(!c.text().contains(SECRET));
        // Without --compressed curl hands over the bytes as they came.
        let c = lab.curl(&[version, &format!("{PARTNER}{path_gz}")]);
        assert_eq!(c.status, 200, "{}", c.stderr);
        assert_eq!(
            c.body, clean_gz,
            "an encoded pull arrives still encoded, byte for byte"
        );
        let c = lab.curl(&[version, &format!("{PARTNER}{path_red_gz}")]);
        assert_blocked(&c, "misp_partner.taxonomies_rules.blocked_tags");
    }
    assert!(!lab.warden_log().contains(SECRET));
}

#[test]
fn encoded_pushes_are_inspected_decoded_and_forwarded_encoded() {
    let Some(lab) = lab_with("enc", &config()) else {
        return;
    };
    let allowed = event(|_| {});
    let blocked = &blocked_events()[3].1; // passport number
    let url = format!("{PARTNER}{PUSH}");
    let mut sent = Vec::new();
    for (coding, f) in [
        ("gzip", gzip as fn(&[u8]) -> Vec<u8>),
        ("br", brotli),
        ("zstd", zstd),
    ] {
        let body = f(&allowed);
        let file = write(&lab, &format!("ok.{coding}"), &body);
        let c = push(
            &lab,
            &url,
            &file,
            &["-H", &format!("Content-Encoding: {coding}")],
        );
        assert_eq!(c.status, 200, "{coding}: {}{}", c.text(), c.stderr);
        sent.push(body);
        let file = write(&lab, &format!("bad.{coding}"), &f(blocked));
        let c = push(
            &lab,
            &url,
            &file,
            &["-H", &format!("Content-Encoding: {coding}")],
        );
        assert_blocked(&c, "blocked_attribute_types");
    }
    // Stacked: gzip first, then br.
    let file = write(&lab, "bad.gz.br", &brotli(&gzip(blocked)));
    let c = push(&lab, &url, &file, &["-H", "Content-Encoding: gzip, br"]);
    assert_blocked(&c, "blocked_attribute_types");
    // An encoding nobody decodes here: refused, whatever it hides.
    let file = write(&lab, "ok.compress", &allowed);
    let c = push(&lab, &url, &file, &["-H", "Content-Encoding: compress"]);
    assert_blocked(&c, "content_encoding");

    let records = lab.records(0);
    let got: Vec<&Vec<u8>> = records.iter().map(|r| &r.body).collect();
    assert_eq!(
        got,
        sent.iter().collect::<Vec<_>>(),
        "exactly the allowed, still-encoded bodies arrive"
    );
    assert_no_secret_anywhere(&lab);
}

/// Bodies large enough to be judged while they arrive (pushed and pulled,
/// plain and gzip, the refused element last), and to be decoded into
/// mapped memory (over 4 MiB of compressed input): judged the same as small
/// ones, nothing of a refused one goes on, and an allowed one arrives byte
/// for byte.
#[test]
fn large_bodies_are_judged_as_they_arrive_and_forwarded_byte_for_byte() {
    let Some(lab) = lab_with("large", &config()) else {
        return;
    };
    // 4,000 attributes of ~10 KB of pseudo-random hex: ~40 MB of JSON that
    // gzip brings down only to ~20 MB.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut hex = || {
        (0..10_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b"0123456789abcdef"[(state % 16) as usize])
            })
            .collect::<String>()
    };
    let attributes: Vec<Value> = (0..4_000)
        .map(|_| json!({"type": "comment", "category": "Other", "value": hex(), "distribution": "5"}))
        .collect();
    let allowed = event(|e| e["Attribute"] = json!(attributes));
    let mut last = attributes;
    last.push(json!({"type": "passport-number", "category": "Person", "value": SECRET, "distribution": "5"}));
    let blocked = event(|e| e["Attribute"] = json!(last));
    assert!(allowed.len() > 32 << 20, "{} bytes", allowed.len());
    let url = format!("{PARTNER}{PUSH}");

    let c = push(&lab, &url, &write(&lab, "big.json", &allowed), &[]);
    assert_eq!(c.status, 200, "{}{}", c.text(), c.stderr);
    let c = push(&lab, &url, &write(&lab, "big-bad.json", &blocked), &[]);
    assert_blocked(&c, "blocked_attribute_types");
    let blocked_gz = gzip(&blocked);
    assert!(blocked_gz.len() > 4 << 20, "{} bytes", blocked_gz.len());
    let gz = ["-H", "Content-Encoding: gzip"];
    let c = push(&lab, &url, &write(&lab, "big-bad.gz", &blocked_gz), &gz);
    assert_blocked(&c, "blocked_attribute_types");
    let allowed_gz = gzip(&allowed);
    let c = push(&lab, &url, &write(&lab, "big.gz", &allowed_gz), &gz);
    assert_eq!(c.status, 200, "{}{}", c.text(), c.stderr);

    let records = lab.records(0);
    let got: Vec<&Vec<u8>> = records.iter().map(|r| &r.body).collect();
    assert_eq!(got.len(), 2, "only the two allowed bodies arrive");
    assert!(got[0] == &allowed && got[1] == &allowed_gz, "byte for byte");

    // The same events pulled: the allowed one arrives whole, the refused
    // one's bytes never reach the client — over HTTP/1.1 and HTTP/2.
    let red_uuid = "6a1c3a2e-1111-4222-8333-444455556666";
    let red_gz_uuid = "8c1c3a2e-1111-4222-8333-444455556666";
    let json_type = json!({"Content-Type": "application/json"});
    let json_gz = json!({"Content-Type": "application/json", "Content-Encoding": "gzip"});
    let b64 = |b: &[u8]| lab::base64(b);
    lab.set_routes(0, &json!([
        {"method": "GET", "path": format!("/events/view/{EVENT_UUID}"), "status": 200, "headers": json_type, "body_b64": b64(&allowed)},
        {"method": "GET", "path": format!("/events/view/{red_uuid}"), "status": 200, "headers": json_type, "body_b64": b64(&blocked)},
        {"method": "GET", "path": format!("/events/view/{red_gz_uuid}"), "status": 200, "headers": json_gz, "body_b64": b64(&blocked_gz)},
    ]));
    for version in ["--http1.1", "--http2"] {
        let c = lab.curl(&[version, &format!("{PARTNER}/events/view/{EVENT_UUID}")]);
        assert_eq!(c.status, 200, "{}", c.stderr);
        assert!(
            c.body == allowed,
            "an allowed large pull arrives byte for byte"
        );
        for uuid in [red_uuid, red_gz_uuid] {
            let path = format!("/events/view/{uuid}");
            let c = lab.curl(&[version, &format!("{PARTNER}{path}")]);
            assert_blocked(&c, "blocked_attribute_types");
            assert!(
                c.body.len() < 4096,
                "{} bytes reached the client",
                c.body.len()
            );
        }
    }
    assert_no_secret_anywhere(&lab);
}

#[test]
fn monitor_mode_forwards_what_it_would_block_and_says_so() {
    let mut c = config();
    c["warden"] = json!({"mode": "monitor"});
    let Some(lab) = lab_with("monitor", &c) else {
        return;
    };
    assert!(
        lab.warden_log().contains("mode monitor"),
        "the start-up line names the mode"
    );
    let blocked = blocked_events()[0].1.clone();
    let file = write(&lab, "blocked.json", &blocked);
    let r = push(&lab, &format!("{PARTNER}{PUSH}"), &file, &[]);
    assert_eq!(r.status, 200, "{}{}", r.text(), r.stderr);
    let records = lab.records(0);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].body, blocked);
    let log = lab.warden_log();
    assert!(
        log.lines()
            .any(|l| l.contains("verdict=\"would_block\"") && l.contains("rule=\"blocked_tags\"")),
        "{log}"
    );
}
