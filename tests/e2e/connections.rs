//! Connections: many requests on one connection (HTTP/1.1 and HTTP/2,
//! pipelined), IPv6, plaintext HTTP, `Expect: 100-continue`, refused
//! destinations, sources and garbage, the NAT redirect, and a connection
//! dialled to the listener itself.

use super::*;

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
