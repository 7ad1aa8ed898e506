//! misp-warden end to end: the real binary on the gateway of a namespace lab
//! (see `tests/lab/mod.rs`), behind nftables TPROXY, between a client in the
//! "internal MISP" namespace (curl, PyMISP, raw sockets) and a TLS "remote
//! MISP" that records everything it receives.
//!
//! Each test builds its own lab and proves two things: what the client got
//! (200 and the original bytes, or a 403 MISP-style JSON naming the rule),
//! and what the remote got (the exact bytes allowed — never a byte of what
//! was blocked). Needs root; without it each test says it skipped.

mod lab;

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

/// Bodies large enough to be held in mapped memory (over 32 MiB received;
/// over 4 MiB of compressed input decoded): judged the same, and an allowed
/// one arrives byte for byte.
#[test]
fn large_bodies_are_judged_whole_and_forwarded_byte_for_byte() {
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
    assert_no_secret_anywhere(&lab);
}

/// Runs curl in the lab with several transfers (each a list of arguments
/// ending with its URL) that must share one connection; returns each
/// transfer's status.
fn curl_multi(lab: &Lab, transfers: &[Vec<&str>]) -> Vec<u16> {
    let ca = lab.dir().join("warden-ca.pem");
    let ca = ca.to_str().unwrap();
    let mut all: Vec<&str> = vec!["-sS"];
    for (i, transfer) in transfers.iter().enumerate() {
        if i > 0 {
            all.push("--next");
        }
        all.extend_from_slice(&["--max-time", "20", "--cacert", ca, "-o", "/dev/null"]);
        all.extend_from_slice(&["-w", "%{http_code} %{num_connects}\\n"]);
        all.extend_from_slice(transfer);
    }
    let out = lab.run_in("curl", &all);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<(u16, u32)> = text
        .lines()
        .map(|l| {
            let mut it = l.split_whitespace();
            let mut num = || {
                it.next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("curl wrote {text}"))
            };
            (num() as u16, num())
        })
        .collect();
    // The first transfer connects; the others reuse its connection.
    let connects: u32 = lines.iter().map(|l| l.1).sum();
    assert_eq!(
        connects,
        1,
        "all transfers must share one connection: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines.into_iter().map(|l| l.0).collect()
}

#[test]
fn one_connection_many_requests_each_judged_http1_and_http2() {
    let Some(lab) = lab_with("keep", &config()) else {
        return;
    };
    let allowed = write(&lab, "allowed.json", &event(|_| {}));
    let blocked = write(&lab, "blocked.json", &blocked_events()[0].1);
    let url = format!("{PARTNER}{PUSH}");
    for version in ["--http1.1", "--http2"] {
        let a = format!("@{allowed}");
        let b = format!("@{blocked}");
        let one = |data| {
            vec![
                version,
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                data,
                url.as_str(),
            ]
        };
        let statuses = curl_multi(&lab, &[one(&a), one(&b), one(&a)]);
        assert_eq!(statuses, vec![200, 403, 200], "{version}");
    }
    let records = lab.records(0);
    assert_eq!(records.len(), 4, "two allowed pushes per protocol");
    assert!(
        records
            .iter()
            .all(|r| r.body == std::fs::read(&allowed).unwrap())
    );
    let log = lab.warden_log();
    assert!(
        log.lines()
            .any(|l| l.contains("verdict=\"block\"") && l.contains("conn=")),
        "{log}"
    );
}

#[test]
fn ipv6_end_to_end() {
    let Some(lab) = lab_with("v6", &config()) else {
        return;
    };
    let allowed = event(|_| {});
    let file = write(&lab, "allowed.json", &allowed);
    let url = format!("https://misp6.partner.example{PUSH}");
    let c = push(&lab, &url, &file, &["-6"]);
    assert_eq!(c.status, 200, "{}{}", c.text(), c.stderr);
    let file = write(&lab, "blocked.json", &blocked_events()[0].1);
    assert_blocked(&push(&lab, &url, &file, &["-6"]), "blocked_tags");
    let records = lab.records(0);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].body, allowed);
    assert!(
        records[0].peer.contains("2001:db8:2::1"),
        "the gateway forwarded over IPv6: {}",
        records[0].peer
    );
    assert!(lab.warden_log().contains("dst=misp_partner_v6"));
}

#[test]
fn unknown_destination_unknown_source_and_garbage_are_refused() {
    let Some(mut lab) = lab_with("refuse", &config()) else {
        return;
    };
    let unknown = lab.start_remote(&["203.0.113.30:443"], Some("partner"));
    // No instance at that address, no allowlist: 403 naming the rule.
    let c = lab.curl(&["https://unknown.example/servers/getVersion"]);
    assert_blocked(&c, "unknown_destination");
    // A known destination with a port that is no sync port of it.
    let c = lab.curl(&[
        "--resolve",
        "misp.partner.example:80:203.0.113.20",
        "https://misp.partner.example:80/servers/getVersion",
    ]);
    assert_eq!(c.status, 403, "{}{}", c.text(), c.stderr);
    // SNI naming the partner while the address is another instance.
    let c = lab.curl(&[
        "--resolve",
        "misp.partner.example:443:203.0.113.21",
        "https://misp.partner.example/servers/getVersion",
    ]);
    assert_blocked(&c, "name_mismatch");
    // Neither TLS nor HTTP: closed, nothing forwarded.
    let answer = lab.send_raw(
        "203.0.113.20:443",
        None,
        b"\x00\x01\x02 not a protocol\r\n\r\n",
    );
    assert!(answer.is_empty(), "garbage got an answer: {answer:?}");
    assert!(lab.warden_log().contains("neither TLS nor HTTP"));
    assert!(lab.records(0).is_empty(), "nothing reached the partner");
    assert!(
        lab.records(unknown).is_empty(),
        "nothing reached the unknown host"
    );

    // The same client, no longer an instance: every request refused.
    lab.stop_warden();
    let mut c = config();
    c["instances"]["misp_internal"]["ip"] = json!("192.0.2.99");
    std::fs::remove_file(lab.dir().join("warden.log")).ok();
    lab.start_warden(&c);
    let r = lab.curl(&[&format!("{PARTNER}/servers/getVersion")]);
    assert_blocked(&r, "unknown_source");
    assert!(
        lab.warden_log().contains("rule=\"unknown_source\""),
        "{}",
        lab.warden_log()
    );
    assert!(lab.records(0).is_empty());
}

#[test]
fn plaintext_http_instance_is_inspected_too() {
    let Some(mut lab) = Lab::new("plain") else {
        return;
    };
    let remote = lab.start_remote(&["203.0.113.20:80"], None);
    let elsewhere = lab.start_remote(&["203.0.113.30:80"], None);
    let elsewhere_tls = lab.start_remote(&["203.0.113.30:443"], Some("partner"));
    let mut c = config();
    c["allowlist"]["domains"] = json!(["updates.example"]);
    lab.start_warden(&c);
    // An allowlisted name is no licence for an address: over plaintext
    // nothing proves the name, so it is refused; over TLS the upstream
    // certificate must prove it (the host there has only the partner's).
    let r = lab.curl(&["-H", "Host: updates.example", "http://203.0.113.30/"]);
    assert_blocked(&r, "unknown_destination");
    let r = lab.curl(&[
        "--resolve",
        "updates.example:443:203.0.113.30",
        "https://updates.example/",
    ]);
    assert_eq!(r.status, 502, "{}{}", r.text(), r.stderr);
    assert!(lab.records(elsewhere).is_empty() && lab.records(elsewhere_tls).is_empty());

    let allowed = event(|_| {});
    let file = write(&lab, "allowed.json", &allowed);
    let url = format!("http://203.0.113.20{PUSH}");
    let c = push(&lab, &url, &file, &[]);
    assert_eq!(c.status, 200, "{}{}", c.text(), c.stderr);
    let file = write(&lab, "blocked.json", &blocked_events()[0].1);
    assert_blocked(&push(&lab, &url, &file, &[]), "blocked_tags");
    let records = lab.records(remote);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].body, allowed);
}

#[test]
fn untrusted_upstream_certificate_is_refused_with_502() {
    let Some(mut lab) = Lab::new("rogue") else {
        return;
    };
    let rogue = lab.start_remote(&["203.0.113.21:443"], Some("rogue"));
    lab.start_warden(&config());
    let file = write(&lab, "allowed.json", &event(|_| {}));
    let c = push(
        &lab,
        &format!("https://misp.rogue.example{PUSH}"),
        &file,
        &[],
    );
    assert_eq!(c.status, 502, "{}{}", c.text(), c.stderr);
    assert_eq!(c.json()["name"], "Bad Gateway");
    let log = lab.warden_log();
    assert!(
        log.lines()
            .any(|l| l.contains("verdict=\"error\"") && l.contains("status=502")),
        "{log}"
    );
    assert!(
        lab.records(rogue).is_empty(),
        "no request may cross an unverified TLS connection"
    );
}

#[test]
fn expect_100_continue_with_a_blocked_body_sends_nothing() {
    let Some(lab) = lab_with("expect", &config()) else {
        return;
    };
    let mut big = event(|e| e["Tag"] = json!([{"name": "tlp:red"}]));
    // Large enough that curl waits for 100 Continue.
    big.extend(std::iter::repeat_n(b' ', 2 * 1024 * 1024));
    let file = write(&lab, "big.json", &big);
    let c = push(
        &lab,
        &format!("{PARTNER}{PUSH}"),
        &file,
        &["-H", "Expect: 100-continue"],
    );
    assert_blocked(&c, "blocked_tags");
    // A head-level refusal is answered before the body is read at all.
    let file = write(&lab, "reset.json", &event(|_| {}));
    let c = push(
        &lab,
        &format!("{PARTNER}/users/resetauthkey/me"),
        &file,
        &["-H", "Expect: 100-continue"],
    );
    assert_blocked(&c, "allow_sync_auth_key_refresh");
    assert!(lab.records(0).is_empty());
}

#[test]
fn runs_unprivileged_with_no_capabilities() {
    let Some(lab) = lab_with("privs", &config()) else {
        return;
    };
    let status = std::fs::read_to_string(format!("/proc/{}/status", lab.warden_pid())).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("{name} missing"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
    };
    assert!(
        field("Uid").iter().all(|u| *u != "0"),
        "uid: {:?}",
        field("Uid")
    );
    assert!(
        field("Gid").iter().all(|g| *g != "0"),
        "gid: {:?}",
        field("Gid")
    );
    for set in ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"] {
        assert_eq!(field(set), vec!["0000000000000000"], "{set}");
    }
    assert_eq!(field("NoNewPrivs"), vec!["1"]);
    // And it still works.
    let c = lab.curl(&[&format!("{PARTNER}/servers/getVersion")]);
    assert_eq!(c.status, 200, "{}", c.stderr);
}

#[test]
fn without_the_right_to_bind_it_exits_with_one_line_naming_it() {
    if !lab::is_root() {
        lab::skip("needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let mut c = config();
    c["warden"] = json!({"listen": ["127.0.0.1:18888"], "ca_cert": dir.path().join("ca.pem"), "ca_key": dir.path().join("ca.key")});
    std::fs::write(&path, c.to_string()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_misp-warden"))
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(
        lines[0].contains("IP_TRANSPARENT") && lines[0].contains("CAP_NET_ADMIN"),
        "{stderr}"
    );
}

#[test]
fn sighup_reloads_valid_configs_only_and_sigterm_exits_zero() {
    let Some(mut lab) = lab_with("reload", &config()) else {
        return;
    };
    let amber = write(
        &lab,
        "amber.json",
        &event(|e| e["Tag"] = json!([{"name": "tlp:amber"}])),
    );
    let url = format!("{PARTNER}{PUSH}");
    assert_eq!(push(&lab, &url, &amber, &[]).status, 200);

    // A valid change: tlp:amber is now blocked, on the next request.
    let written: Value =
        serde_json::from_slice(&std::fs::read(lab.config_path()).unwrap()).unwrap();
    let mut stricter = written.clone();
    stricter["instances"]["misp_internal"]["taxonomies_rules"]["blocked_tags"] =
        json!(["tlp:red", "tlp:amber"]);
    std::fs::write(lab.config_path(), stricter.to_string()).unwrap();
    lab.signal_warden("HUP");
    wait_for_log(&lab, "reloaded");
    assert_blocked(&push(&lab, &url, &amber, &[]), "blocked_tags");

    // Invalid files keep the stricter policy in force.
    let mut no_allowlist = stricter.clone();
    no_allowlist.as_object_mut().unwrap().remove("allowlist");
    for (i, broken) in [
        b"{ not json".to_vec(),
        no_allowlist.to_string().into_bytes(),
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(lab.config_path(), broken).unwrap();
        lab.signal_warden("HUP");
        wait_for_count(&lab, "reload refused", i + 1);
        assert_blocked(&push(&lab, &url, &amber, &[]), "blocked_tags");
    }
    assert_eq!(lab.records(0).len(), 1);
    let status = lab.stop_warden();
    assert!(status.success(), "SIGTERM must exit 0: {status}");
}

fn wait_for_log(lab: &Lab, needle: &str) {
    wait_for_count(lab, needle, 1)
}

fn wait_for_count(lab: &Lab, needle: &str, n: usize) {
    if !eventually(|| lab.warden_log().matches(needle).count() >= n) {
        panic!("no {needle:?} (x{n}) in the log:\n{}", lab.warden_log());
    }
}

/// Whether `cond` comes true within 5 s (checked every 50 ms).
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    cond()
}

#[test]
fn pymisp_through_the_gateway_trusting_only_the_warden_ca() {
    let Some(lab) = lab_with("pymisp", &config()) else {
        return;
    };
    let ca = lab.dir().join("warden-ca.pem");
    let ca = ca.to_str().unwrap();
    let allowed = write(&lab, "allowed.json", &event(|_| {}));
    let blocked = write(&lab, "blocked.json", &blocked_events()[3].1);
    let r = lab.pymisp(&["--url", PARTNER, "--ca", ca, "--event", &allowed, "add"]);
    assert_eq!(r["ok"], true, "{r}");
    let r = lab.pymisp(&["--url", PARTNER, "--ca", ca, "--event", &blocked, "add"]);
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["status"], 403, "{r}");
    let b64 = lab::base64(&event(|_| {}));
    lab.set_routes(
        0,
        &json!([{"method": "GET", "path": format!("/events/view/{EVENT_UUID}"), "status": 200,
        "headers": {"Content-Type": "application/json"}, "body_b64": b64}]),
    );
    let r = lab.pymisp(&["--url", PARTNER, "--ca", ca, "get", EVENT_UUID]);
    assert_eq!(r["ok"], true, "{r}");
    let pushed: Vec<_> = lab
        .records(0)
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(pushed.len(), 1, "only the allowed event arrived");
    assert!(!String::from_utf8_lossy(&pushed[0].body).contains(SECRET));
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

#[test]
fn per_instance_trust_client_certificate_and_verify_off() {
    let Some(mut lab) = Lab::new("trust") else {
        return;
    };
    let dir = lab.dir().to_path_buf();
    let client_ca = dir.join("remote-ca.pem");
    // The rogue host's CA is trusted for that instance only; the partner
    // (IPv6 address) demands a client certificate.
    let rogue = lab.start_remote(&["203.0.113.21:443"], Some("rogue"));
    let partner = lab.start_remote_with(
        &["[2001:db8:2::20]:443"],
        Some("partner"),
        &["--client-ca", client_ca.to_str().unwrap()],
    );
    let file = write(&lab, "allowed.json", &event(|_| {}));
    let rogue_url = format!("https://misp.rogue.example{PUSH}");
    let partner_url = format!("https://misp6.partner.example{PUSH}");

    let mut c = config();
    c["instances"]["misp_rogue"]["tls"] = json!({"ca_file": dir.join("rogue-ca.pem")});
    c["instances"]["misp_partner_v6"]["tls"] = json!({
        "client_cert": dir.join("warden-client.pem"), "client_key": dir.join("warden-client.key")
    });
    lab.start_warden(&c);
    assert_eq!(
        push(&lab, &rogue_url, &file, &[]).status,
        200,
        "ca_file trusted for its instance"
    );
    assert_eq!(
        push(&lab, &partner_url, &file, &["-6"]).status,
        200,
        "client certificate presented"
    );
    lab.stop_warden();

    // Without them: the rogue is untrusted and the partner refuses us.
    let mut c = config();
    c["instances"]["misp_rogue"]["tls"] = json!({"verify": false});
    std::fs::remove_file(dir.join("warden.log")).ok();
    lab.start_warden(&c);
    assert!(
        lab.warden_log().contains("misp_rogue.tls.verify is false"),
        "a warning at start: {}",
        lab.warden_log()
    );
    assert_eq!(
        push(&lab, &rogue_url, &file, &[]).status,
        200,
        "verify: false for that instance"
    );
    let r = push(&lab, &partner_url, &file, &["-6"]);
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(lab.records(rogue).len(), 2);
    assert_eq!(lab.records(partner).len(), 1);
}

#[test]
fn nat_redirect_recovers_the_original_destination_v4_and_v6() {
    let Some(mut lab) = Lab::new_redirect("redirect") else {
        return;
    };
    lab.start_remote(
        &["203.0.113.20:443", "[2001:db8:2::20]:443"],
        Some("partner"),
    );
    lab.start_warden(&config());
    let allowed = event(|_| {});
    let file = write(&lab, "allowed.json", &allowed);
    let blocked = write(&lab, "blocked.json", &blocked_events()[0].1);
    for (url, v) in [
        (format!("{PARTNER}{PUSH}"), "-4"),
        (format!("https://misp6.partner.example{PUSH}"), "-6"),
    ] {
        let c = push(&lab, &url, &file, &[v]);
        assert_eq!(c.status, 200, "{v}: {}{}", c.text(), c.stderr);
        assert_blocked(&push(&lab, &url, &blocked, &[v]), "blocked_tags");
    }
    let records = lab.records(0);
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.body == allowed));
    let log = lab.warden_log();
    assert!(
        log.contains("dst=misp_partner ") && log.contains("dst=misp_partner_v6"),
        "{log}"
    );
}

#[test]
fn a_connection_dialled_to_the_listener_itself_is_refused() {
    let Some(lab) = lab_with("selfdial", &config()) else {
        return;
    };
    // Port 8888 is not redirected: this reaches the listener as itself.
    let answer = lab.send_raw("192.0.2.1:8888", None, b"GET /servers/getVersion HTTP/1.1\r\nHost: misp.partner.example\r\nConnection: close\r\n\r\n");
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    assert!(
        lab.warden_log().contains("dialled the listener itself"),
        "{}",
        lab.warden_log()
    );
    assert!(lab.records(0).is_empty());
}

#[test]
fn sigterm_lets_an_exchange_in_flight_finish_and_takes_no_new_one() {
    let Some(mut lab) = lab_with("drain", &config()) else {
        return;
    };
    let clean = event(|_| {});
    let path = format!("/events/view/{EVENT_UUID}");
    lab.set_routes(
        0,
        &json!([{"method": "GET", "path": path, "status": 200, "delay_ms": 2000,
        "headers": {"Content-Type": "application/json"}, "body_b64": lab::base64(&clean)}]),
    );
    let body_file = lab.dir().join("slow.body");
    let ca = lab.dir().join("warden-ca.pem");
    let url = format!("{PARTNER}{path}");
    lab.spawn(
        "in",
        "curl",
        &[
            "-sS",
            "--max-time",
            "20",
            "--cacert",
            ca.to_str().unwrap(),
            "-o",
            body_file.to_str().unwrap(),
            "-w",
            "%{http_code}",
            &url,
        ],
        "slow.log",
    );
    // Once the remote has the request, the exchange is in flight.
    eventually(|| !lab.records(0).is_empty());
    assert_eq!(lab.records(0).len(), 1, "the slow pull reached the remote");
    lab.signal_warden("TERM");
    wait_for_log(&lab, "stopping");
    let late = lab.curl(&[&format!("{PARTNER}/servers/getVersion")]);
    assert_eq!(
        late.status,
        0,
        "no new connection is taken after SIGTERM: {}",
        late.text()
    );
    let status = lab.stop_warden();
    assert!(status.success(), "exit 0 after draining: {status}");
    // curl writes its status when it has the whole answer.
    let read = || std::fs::read_to_string(lab.dir().join("slow.log")).unwrap_or_default();
    eventually(|| !read().trim().is_empty());
    let out = read();
    assert_eq!(out.trim(), "200", "the exchange in flight finished: {out}");
    assert_eq!(std::fs::read(&body_file).unwrap(), clean);
}

/// The leaf the daemon presents for `sni` (none: by address), as
/// `openssl x509 -text` prints it.
fn leaf_text(lab: &Lab, connect: &str, sni: Option<&str>) -> String {
    let servername = sni
        .map(|s| format!("-servername {s}"))
        .unwrap_or_else(|| "-noservername".into());
    let script = format!(
        "openssl s_client -connect {connect} {servername} </dev/null 2>/dev/null | openssl x509 -noout -text"
    );
    let out = lab.run_in("sh", &["-c", &script]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn leaves_are_minted_per_name_with_their_own_key_and_a_short_life() {
    let Some(lab) = lab_with("leaves", &config()) else {
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    let key_mode = std::fs::metadata(lab.dir().join("warden-ca.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        key_mode & 0o777,
        0o600,
        "the CA key generated on first start is 0600"
    );

    let a = leaf_text(&lab, "203.0.113.20:443", Some("misp.partner.example"));
    let b = leaf_text(&lab, "[2001:db8:2::20]:443", Some("misp6.partner.example"));
    let ip = leaf_text(&lab, "203.0.113.20:443", None);
    assert!(a.contains("DNS:misp.partner.example"), "{a}");
    assert!(b.contains("DNS:misp6.partner.example"), "{b}");
    assert!(
        ip.contains("IP Address:203.0.113.20"),
        "without SNI, a leaf for the address: {ip}"
    );
    for leaf in [&a, &b, &ip] {
        assert!(
            leaf.contains("Issuer: CN = misp-warden interception CA"),
            "{leaf}"
        );
        assert!(
            leaf.contains("prime256v1") || leaf.contains("P-256"),
            "ECDSA P-256: {leaf}"
        );
        assert!(
            leaf.contains("CA:FALSE") || !leaf.contains("CA:TRUE"),
            "{leaf}"
        );
    }
    let key = |t: &str| {
        t.split("pub:")
            .nth(1)
            .map(|k| k.split("ASN1 OID").next().unwrap().to_string())
    };
    assert_ne!(key(&a), key(&b), "each name has a key of its own");
    // Not After − Not Before: 7 days and the hour of clock-skew slack.
    let dates = lab.run_in(
        "sh",
        &["-c", "openssl s_client -connect 203.0.113.20:443 -servername misp.partner.example </dev/null 2>/dev/null | openssl x509 -noout -startdate -enddate -dateopt iso_8601"],
    );
    let dates = String::from_utf8_lossy(&dates.stdout).to_string();
    let when = |prefix: &str| {
        let v = dates
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{dates}"));
        let out = std::process::Command::new("date")
            .args(["-d", v, "+%s"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<i64>()
            .unwrap()
    };
    let life = when("notAfter=") - when("notBefore=");
    assert_eq!(life, 7 * 24 * 3600 + 3600, "{dates}");
}

#[test]
fn pipelined_requests_are_each_judged() {
    let Some(lab) = lab_with("pipeline", &config()) else {
        return;
    };
    let allowed = event(|_| {});
    let blocked = &blocked_events()[0].1;
    let request = |body: &[u8], close: bool| {
        let mut r = format!(
            "POST {PUSH} HTTP/1.1\r\nHost: misp.partner.example\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    };
    // Three requests in one write: allowed, blocked, allowed.
    let mut bytes = request(&allowed, false);
    bytes.extend(request(blocked, false));
    bytes.extend(request(&allowed, true));
    let answer = String::from_utf8_lossy(&lab.send_raw(
        "203.0.113.20:443",
        Some("misp.partner.example"),
        &bytes,
    ))
    .to_string();
    // Status lines, wherever they start (a body need not end in a newline).
    let statuses: Vec<&str> = answer
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &answer[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["200", "403", "200"], "{answer}");
    let records = lab.records(0);
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.body == allowed));
}
