//! Two ways in besides the transparent outbound path, end to end in the
//! namespace lab:
//!
//! - the explicit proxy (`warden.proxy_listen`): MISP configured with a
//!   proxy, as for misp-guard, driven by `curl -x` and by PyMISP with
//!   `proxies=`; the CONNECT target is judged before anything goes out;
//! - inbound sync: a remote instance pulling from the internal MISP through
//!   the gateway meets the same rules — the internal instance's — and is
//!   shown the internal instance's own certificate (`tls.server_cert`), so
//!   it needs no trust in the interception CA.
//!
//! Needs root; skips otherwise.

mod lab;

use lab::Lab;
use lab::misp::{PUSH, assert_refused, config, event, push, pushed_tags};
use serde_json::json;

const PROXY: &str = "http://192.0.2.1:3128";
const UUID: &str = "5f1c3a2e-1111-4222-8333-444455556666";

#[test]
fn the_connect_proxy_applies_the_same_rules_to_curl_and_pymisp() {
    let Some(mut lab) = Lab::new("connect") else {
        return;
    };
    let partner = lab.start_remote(&["203.0.113.20:443"], Some("partner"));
    let elsewhere = lab.start_remote(&["203.0.113.30:443", "203.0.113.20:8443"], Some("partner"));
    let mut c = config();
    c["warden"] = json!({"proxy_listen": "192.0.2.1:3128"});
    lab.start_warden(&c);
    assert!(lab.warden_log().contains("CONNECT proxy on 192.0.2.1:3128"));
    let via = ["--noproxy", "", "-x", PROXY];

    // Pushes through the proxy: allowed arrives, blocked is refused.
    let url = format!("https://misp.partner.example{PUSH}");
    let allowed = event(UUID, "tlp:green", "fine");
    let c = push(&lab, &url, &allowed, &via);
    assert_eq!(c.status, 200, "{c:?}");
    assert_refused(
        &push(&lab, &url, &event(UUID, "tlp:red", "red"), &via),
        "blocked_tags",
    );
    // By address, as a server configured by IP would be reached.
    let c = push(&lab, &format!("https://203.0.113.20{PUSH}"), &allowed, &via);
    assert_eq!(c.status, 200, "{c:?}");

    // CONNECT targets that are no instance endpoint: refused before any
    // byte leaves (curl reports the proxy's 403 to its CONNECT).
    for target in [
        "https://unknown.example/servers/getVersion",
        "https://misp.partner.example:8443/servers/getVersion",
    ] {
        let c = lab.curl(&[&via[..], &["-v", target]].concat());
        assert_eq!(c.status, 0, "{target}: {c:?}");
        assert!(c.stderr.contains("403"), "{target}: {}", c.stderr);
    }
    let log = lab.warden_log();
    assert!(
        log.contains("method=\"CONNECT\"") || log.contains("method=CONNECT"),
        "{log}"
    );
    assert!(log.contains("unknown_destination"), "{log}");
    assert!(
        lab.records(elsewhere).is_empty(),
        "nothing reached the others"
    );

    // PyMISP, with proxies= and trusting only the interception CA.
    let file = lab.dir().join("pymisp.json");
    let ca = lab.dir().join("warden-ca.pem");
    let (file_s, ca_s) = (file.to_str().unwrap(), ca.to_str().unwrap());
    let pymisp = |body: &[u8], action: &[&str]| {
        std::fs::write(&file, body).unwrap();
        let base = [
            "--url",
            "https://misp.partner.example",
            "--ca",
            ca_s,
            "--proxy",
            PROXY,
        ];
        lab.pymisp(&[&base[..], action].concat())
    };
    let clean = event("6b1d2f3e-8a4c-4e5f-9b7a-0c1d2e3f4a5b", "tlp:green", "fine");
    let out = pymisp(&clean, &["--event", file_s, "--raw", "add"]);
    assert_eq!(out["ok"], true, "{out}");
    let red = event("7c1d2f3e-8a4c-4e5f-9b7a-0c1d2e3f4a5b", "tlp:red", "red");
    let out = pymisp(&red, &["--event", file_s, "--raw", "add"]);
    assert_eq!(out["status"], 403, "{out}");
    assert_eq!(
        pushed_tags(&lab, partner),
        ["tlp:green"; 3],
        "only the allowed events arrived"
    );
}

#[test]
fn an_inbound_pull_meets_the_internal_instances_rules_and_certificate() {
    let Some(mut lab) = Lab::new("inbound") else {
        return;
    };
    // The internal MISP, serving two events.
    let internal = lab.start_remote_in("in", &["192.0.2.10:443"], Some("internal"), &[]);
    let clean = event(UUID, "tlp:green", "shareable");
    let red_uuid = "6a1c3a2e-1111-4222-8333-444455556666";
    let red = event(red_uuid, "tlp:red", "ours only");
    let route = |uuid: &str, body: &[u8]| {
        json!({"method": "GET", "path": format!("/events/view/{uuid}"), "status": 200,
               "headers": {"Content-Type": "application/json"}, "body_b64": lab::base64(body)})
    };
    lab.set_routes(
        internal,
        &json!([route(UUID, &clean), route(red_uuid, &red)]),
    );
    let mut c = config();
    let dir = lab.dir().to_path_buf();
    c["instances"]["misp_internal"]["tls"] = json!({
        "server_cert": dir.join("internal.pem"), "server_key": dir.join("internal.key")
    });
    lab.start_warden(&c);

    // The partner (203.0.113.20) pulls, trusting only the CA that issued
    // the internal MISP's own certificate.
    let ca = dir.join("remote-ca.pem");
    let pull = |uuid: &str| {
        lab.curl_from(
            "out",
            &ca,
            &[
                "--interface",
                "203.0.113.20",
                "--resolve",
                "misp.internal.example:443:192.0.2.10",
                &format!("https://misp.internal.example/events/view/{uuid}"),
            ],
        )
    };
    let c = pull(UUID);
    assert_eq!(c.status, 200, "{c:?}");
    assert_eq!(c.body, clean, "an allowed pull arrives byte for byte");
    let c = pull(red_uuid);
    assert_refused(&c, "misp_internal.taxonomies_rules.blocked_tags");
    let log = lab.warden_log();
    assert!(log.contains("src=misp_partner dst=misp_internal"), "{log}");

    // A host outside that is no instance gets nothing.
    let c = lab.curl_from(
        "out",
        &ca,
        &[
            "--interface",
            "203.0.113.30",
            "--resolve",
            "misp.internal.example:443:192.0.2.10",
            &format!("https://misp.internal.example/events/view/{UUID}"),
        ],
    );
    assert_refused(&c, "unknown_source");
    let pulls = lab.records(internal);
    assert_eq!(
        pulls.len(),
        2,
        "only the partner's pulls were forwarded: {pulls:?}"
    );
}
