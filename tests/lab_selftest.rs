//! Proves the namespace lab itself, with no daemon: routing, names, the
//! certificates, the fake remote MISP and PyMISP (direct lab), and that the
//! gateway ruleset `misp-warden nft` renders lets nothing past it but what a
//! transparent listener takes. Needs root; skips otherwise.

mod lab;

use lab::Lab;
use serde_json::{Value, json};

const EVENT_UUID: &str = "6b1d2f3e-8a4c-4e5f-9b7a-0c1d2e3f4a5b";

/// A small event PyMISP accepts (object attributes need an object_relation).
fn event() -> Value {
    json!({"Event": {
        "uuid": EVENT_UUID, "info": "lab self-test", "distribution": "1",
        "threat_level_id": "2", "analysis": "1", "published": true,
        "Tag": [{"name": "tlp:green"}],
        "Attribute": [{"type": "domain", "category": "Network activity",
                       "value": "login-portal.example", "to_ids": true}],
        "Object": [{"name": "email", "meta-category": "network", "Attribute": [
            {"type": "email-subject", "category": "Payload delivery",
             "object_relation": "subject", "value": "Your invoice"}]}]
    }})
}

/// The lab's MISPs as instances (no content rules: the ruleset only reads
/// addresses and ports): TLS on 443 and plain HTTP on 80, both families.
fn config() -> Value {
    let instance = |ip: &str, host: &str, port: u16| {
        json!({"ip": ip, "host": host, "port": port, "compartment_id": "lab", "affiliation": "lab",
               "taxonomies_rules": {"required_taxonomies": [], "allowed_tags": {}, "blocked_tags": []},
               "blocked_distribution_levels": [], "blocked_sharing_groups_uuids": [],
               "blocked_attribute_types": [], "blocked_attribute_categories": [], "blocked_object_types": []})
    };
    json!({
        "allowlist": {"urls": [], "domains": []},
        "compartments_rules": {"can_reach": {"lab": ["lab"]}},
        "instances": {
            "internal": instance("192.0.2.10", "misp.internal.example", 443),
            "internal6": instance("2001:db8:1::10", "misp6.internal.example", 443),
            "partner": instance("203.0.113.20", "misp.partner.example", 443),
            "partner_plain": instance("203.0.113.20", "plain.partner.example", 80),
            "partner6": instance("2001:db8:2::20", "misp6.partner.example", 443),
            "partner6_plain": instance("2001:db8:2::20", "plain6.partner.example", 80)
        }
    })
}

/// A TPROXY lab with the rendered gateway ruleset loaded and no daemon.
fn guarded_lab(test: &str) -> Option<Lab> {
    let lab = Lab::new(test)?;
    lab.write_config(&config());
    lab.guard();
    Some(lab)
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            s.push(if i <= c.len() {
                A[(n >> (18 - 6 * i)) as usize & 63] as char
            } else {
                '='
            });
        }
    }
    s
}

#[test]
fn direct_lab_reaches_the_remotes_by_name_over_v4_and_v6() {
    let Some(mut lab) = Lab::new_direct("direct") else {
        return;
    };
    let partner = lab.start_remote(
        &["203.0.113.20:443", "[2001:db8:2::20]:443"],
        Some("partner"),
    );
    let rogue = lab.start_remote(&["203.0.113.21:443"], Some("rogue"));
    let plain = lab.start_remote(&["203.0.113.30:80"], None);
    let remote_ca = lab.dir().join("remote-ca.pem");

    for host in ["misp.partner.example", "misp6.partner.example"] {
        let c = lab.curl_with_ca(&remote_ca, &[&format!("https://{host}/servers/getVersion")]);
        assert_eq!(c.status, 200, "{host}: {c:?}");
        assert_eq!(c.json()["version"], "2.5.21");
        assert_eq!(c.json()["perm_sync"], true);
    }
    let rec = lab.records(partner);
    assert_eq!(rec.len(), 2, "{rec:?}");
    for (r, peer, sni) in [
        (&rec[0], "192.0.2.10", "misp.partner.example"),
        (&rec[1], "2001:db8:1::10", "misp6.partner.example"),
    ] {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("GET", "/servers/getVersion")
        );
        assert_eq!(r.peer, peer, "routed, not NATed");
        assert_eq!(r.sni.as_deref(), Some(sni));
        assert_eq!(r.header("host"), Some(sni));
    }

    // The rogue server's certificate chains to a CA nobody trusts...
    let c = lab.curl_with_ca(
        &remote_ca,
        &["https://misp.rogue.example/servers/getVersion"],
    );
    assert_eq!(c.status, 0, "{c:?}");
    assert!(lab.records(rogue).is_empty());
    // ...but is otherwise a good certificate for its name.
    let rogue_ca = lab.dir().join("rogue-ca.pem");
    let c = lab.curl_with_ca(
        &rogue_ca,
        &["https://misp.rogue.example/servers/getVersion"],
    );
    assert_eq!(c.status, 200, "{c:?}");

    // Plain HTTP, a POST with a chunked body, and a canned route.
    lab.set_routes(
        plain,
        &json!([{"method": "GET", "path": "/teapot", "status": 418,
                 "headers": {"X-Lab": "yes"}, "body_b64": b64(b"{\"short\":\"stout\"}")}]),
    );
    let c = lab.curl_with_ca(&remote_ca, &["http://unknown.example/teapot"]);
    assert_eq!(
        (c.status, c.json()["short"].as_str()),
        (418, Some("stout")),
        "{c:?}"
    );
    let c = lab.curl_with_ca(
        &remote_ca,
        &[
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            "[1,2]",
            "http://unknown.example/x",
        ],
    );
    assert_eq!(
        (c.status, c.json()["url"].as_str()),
        (200, Some("/x")),
        "{c:?}"
    );
    let rec = lab.records(plain);
    assert_eq!(rec.len(), 2, "{rec:?}");
    assert_eq!(
        (rec[1].method.as_str(), rec[1].body.as_slice()),
        ("POST", &b"[1,2]"[..])
    );

    // Raw bytes: HEAD is a 404 with no body; keep-alive and Connection: close.
    let raw = lab.send_raw(
        "203.0.113.20:443",
        Some("misp.partner.example"),
        b"HEAD /events/view/x HTTP/1.1\r\nHost: misp.partner.example\r\n\r\n\
          GET /users/view/me.json HTTP/1.1\r\nHost: misp.partner.example\r\nConnection: close\r\n\r\n",
    );
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with("HTTP/1.1 404 "), "{raw}");
    assert!(raw.contains("\r\n\r\nHTTP/1.1 200 OK\r\n"), "{raw}");
    assert!(raw.contains("\"perm_sync\": true"), "{raw}");
}

#[test]
fn direct_lab_pymisp_adds_and_gets_an_event() {
    let Some(mut lab) = Lab::new_direct("pymisp") else {
        return;
    };
    let remote = lab.start_remote(
        &["203.0.113.20:443", "[2001:db8:2::20]:443"],
        Some("partner"),
    );
    let ca = lab
        .dir()
        .join("remote-ca.pem")
        .to_str()
        .unwrap()
        .to_string();
    let event_file = lab.dir().join("event.json");
    std::fs::write(&event_file, event().to_string()).unwrap();
    let event_file = event_file.to_str().unwrap().to_string();

    let url = "https://misp.partner.example";
    let out = lab.pymisp(&["--url", url, "--ca", &ca, "--event", &event_file, "add"]);
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(out["uuid"], EVENT_UUID, "{out}");
    assert_eq!(out["status"], 200, "{out}");
    let rec = lab.records(remote);
    let calls: Vec<(&str, &str)> = rec
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    // What PyMISP's constructor asks for, then the push.
    assert_eq!(
        calls,
        [
            ("GET", "/servers/getVersion"),
            ("GET", "/users/view/me"),
            ("GET", "/attributes/describeTypes.json"),
            ("POST", "/events/add"),
        ]
    );
    let add = &rec[3];
    assert_eq!(add.header("content-type"), Some("application/json"));
    assert_eq!(add.header("authorization").map(str::len), Some(40));
    // PyMISP posts the bare event object (no {"Event": ...} wrapper).
    let body = add.json();
    assert_eq!(body["uuid"], EVENT_UUID, "{body}");
    assert_eq!(body["Tag"][0]["name"], "tlp:green");
    assert_eq!(body["Object"][0]["Attribute"][0]["value"], "Your invoice");

    // Now behind a guard-like remote: everything but sync endpoints is a JSON
    // 403, and getVersion lacks pymisp_recommended_version (so PyMISP also
    // asks for getPyMISPVersion.json). PyMISP must still work.
    let forbidden = |path: &str| {
        let body = json!({"name": "Forbidden", "message": "blocked", "url": path});
        json!({"method": "GET", "path": path, "status": 403,
               "body_b64": b64(body.to_string().as_bytes())})
    };
    let version = json!({"version": "2.5.21", "perm_sync": true});
    let stored = event();
    let view = format!("/events/view/{EVENT_UUID}");
    lab.set_routes(
        remote,
        &json!([
            forbidden("/servers/getPyMISPVersion.json"),
            forbidden("/attributes/describeTypes.json"),
            {"method": "GET", "path": "/servers/getVersion", "status": 200,
             "body_b64": b64(version.to_string().as_bytes())},
            {"method": "GET", "path": view, "status": 200,
             "body_b64": b64(stored.to_string().as_bytes())},
        ]),
    );
    let url6 = "https://misp6.partner.example";
    let out = lab.pymisp(&["--url", url6, "--ca", &ca, "get", EVENT_UUID]);
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(out["uuid"], EVENT_UUID, "{out}");
    let statuses: Vec<(String, u64)> = out["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[1].as_str().unwrap().to_string(), r[2].as_u64().unwrap()))
        .collect();
    assert!(
        statuses.contains(&("/servers/getPyMISPVersion.json".into(), 403)),
        "{out}"
    );
    assert!(
        statuses.contains(&("/attributes/describeTypes.json".into(), 403)),
        "{out}"
    );
    assert_eq!(statuses.last(), Some(&(view.clone(), 200)), "{out}");

    // The wrong CA: PyMISP fails cleanly and says so.
    let rogue_ca = lab.dir().join("rogue-ca.pem");
    let out = lab.pymisp(&[
        "--url",
        url,
        "--ca",
        rogue_ca.to_str().unwrap(),
        "get",
        EVENT_UUID,
    ]);
    assert_eq!(out["ok"], false, "{out}");
    assert!(
        out["errors"]
            .as_str()
            .unwrap()
            .contains("CERTIFICATE_VERIFY_FAILED"),
        "{out}"
    );
}

#[test]
fn tproxy_lab_lets_nothing_past_the_gateway_without_a_listener() {
    let Some(mut lab) = guarded_lab("closed") else {
        return;
    };
    let tls = lab.start_remote(
        &["203.0.113.20:443", "[2001:db8:2::20]:443"],
        Some("partner"),
    );
    let plain = lab.start_remote(
        &[
            "203.0.113.20:80",
            "[2001:db8:2::20]:80",
            "203.0.113.20:8080",
            "[2001:db8:2::20]:8080",
        ],
        None,
    );
    let remote_ca = lab.dir().join("remote-ca.pem");
    for url in [
        "https://misp.partner.example/servers/getVersion",
        "https://misp6.partner.example/servers/getVersion",
        "https://203.0.113.20/servers/getVersion",
        "http://misp.partner.example/servers/getVersion",
        "http://misp6.partner.example/servers/getVersion",
        // No sync port: the forward chain refuses it.
        "http://misp.partner.example:8080/servers/getVersion",
        "http://misp6.partner.example:8080/servers/getVersion",
    ] {
        let c = lab.curl_with_ca(&remote_ca, &[url]);
        assert_eq!(c.status, 0, "{url} got through: {c:?}");
        assert_eq!(c.exit, 7, "{url}: refused at once, not timed out: {c:?}");
    }
    let ca = remote_ca.to_str().unwrap();
    let out = lab.pymisp(&[
        "--url",
        "https://misp.partner.example",
        "--ca",
        ca,
        "get",
        EVENT_UUID,
    ]);
    assert_eq!(out["ok"], false, "{out}");
    assert!(lab.records(tls).is_empty(), "{:?}", lab.records(tls));
    assert!(lab.records(plain).is_empty(), "{:?}", lab.records(plain));
}

/// A transparent listener on :8888 in the gateway that answers with the
/// client address and the original destination (what the daemon must see).
const TRANSPARENT_LISTENER: &str = r#"
import socket, sys, threading
def serve(family, level, option, addr):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.setsockopt(level, option, 1)  # IP_TRANSPARENT / IPV6_TRANSPARENT
    s.bind((addr, 8888))
    s.listen(16)
    def loop():
        while True:
            c, peer = s.accept()
            c.settimeout(5)
            req = b""
            while b"\r\n\r\n" not in req and len(req) < 65536:
                b = c.recv(4096)
                if not b:
                    break
                req += b
            local = c.getsockname()
            body = ("%s %s %d" % (peer[0], local[0], local[1])).encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            c.close()
    threading.Thread(target=loop, daemon=True).start()
serve(socket.AF_INET, socket.SOL_IP, 19, "0.0.0.0")
serve(socket.AF_INET6, socket.IPPROTO_IPV6, 75, "::")
open(sys.argv[1], "w").close()
threading.Event().wait()
"#;

#[test]
fn tproxy_lab_hands_web_ports_to_a_transparent_listener() {
    let Some(mut lab) = guarded_lab("tproxy") else {
        return;
    };
    let remote = lab.start_remote(&["203.0.113.20:80", "[2001:db8:2::20]:80"], None);
    let ready = lab.dir().join("listener.ready");
    let ready_arg = ready.to_str().unwrap().to_string();
    lab.spawn(
        "gw",
        "python3",
        &["-c", TRANSPARENT_LISTENER, &ready_arg],
        "listener.log",
    );
    let start = std::time::Instant::now();
    while !ready.exists() {
        assert!(start.elapsed().as_secs() < 10, "listener not ready");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let ca = lab.dir().join("remote-ca.pem");
    for (url, seen) in [
        (
            "http://misp.partner.example/x",
            "192.0.2.10 203.0.113.20 80",
        ),
        (
            "http://misp6.partner.example/x",
            "2001:db8:1::10 2001:db8:2::20 80",
        ),
        (
            "http://misp.partner.example:443/x",
            "192.0.2.10 203.0.113.20 443",
        ),
        ("http://unknown.example/x", "192.0.2.10 203.0.113.30 80"),
    ] {
        let c = lab.curl_with_ca(&ca, &[url]);
        assert_eq!((c.status, c.text().as_str()), (200, seen), "{url}: {c:?}");
    }
    // Other ports are still refused, and the remote saw nothing.
    let c = lab.curl_with_ca(&ca, &["http://misp.partner.example:8080/x"]);
    assert_eq!(c.status, 0, "{c:?}");
    assert!(lab.records(remote).is_empty(), "{:?}", lab.records(remote));
}
