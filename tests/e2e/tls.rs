//! TLS: an untrusted upstream certificate, per-instance trust and client
//! certificates, leaves minted per name, and PyMISP trusting only the
//! warden's CA.

use super::*;

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
