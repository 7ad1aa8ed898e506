//! Routing: sources, destinations, names against addresses, ports, the
//! allowlist, endpoints and the auth-key refresh option.

use super::*;

#[test]
fn routing() {
    let cfg = config();
    let go = |from: &str, dest: Destination, method: &str, path: &str| {
        evaluate(
            &cfg,
            &Case {
                source: SourceSpec::Ip(ip(from)),
                destination: dest,
                method,
                target: path,
                request_body: b"",
                request_content_type: Some("application/json"),
                response: None,
            },
        )
    };
    let name = |n| Destination {
        ip: None,
        name: Some(n),
        port: 443,
    };
    let v = "/servers/getVersion";
    go("192.0.2.10", name("misp-partner.example"), "GET", v).expect("sync");
    let b = go("192.0.2.99", name("misp-partner.example"), "GET", v).unwrap_err();
    assert_eq!(
        b.message,
        "source host 192.0.2.99 does not exist in instances hosts mapping"
    );
    let b = go("192.0.2.10", name("unknown.example"), "GET", v).unwrap_err();
    assert_eq!(
        b.message,
        "destination host unknown.example does not exist in instances hosts mapping"
    );
    let b = go("203.0.113.30", name("misp-inside.example"), "GET", v).unwrap_err();
    assert_eq!(b.rule, Rule::Compartment);
    assert!(b.message.starts_with("cannot reach compartment"));
    let b = go(
        "192.0.2.10",
        Destination {
            port: 4444,
            ..name("misp-partner.example")
        },
        "GET",
        v,
    )
    .unwrap_err();
    assert!(b.message.starts_with("destination port is not allowed"));
    // By address, with and without a name that agrees.
    let addr = |ip_s: &str, n: Option<&'static str>| Destination {
        ip: Some(ip(ip_s)),
        name: n,
        port: 443,
    };
    go("192.0.2.10", addr("198.51.100.20", None), "GET", v).expect("by address");
    go(
        "::ffff:192.0.2.10",
        addr("198.51.100.20", Some("MISP-Partner.example")),
        "GET",
        v,
    )
    .expect("mapped source, name in other case");
    go(
        "192.0.2.10",
        addr("198.51.100.20", Some("198.51.100.20")),
        "GET",
        v,
    )
    .expect("IP literal name");
    let b = go(
        "192.0.2.10",
        addr("198.51.100.20", Some("misp-strict.example")),
        "GET",
        v,
    )
    .unwrap_err();
    assert_eq!(b.rule, Rule::NameMismatch);
    let b = go(
        "192.0.2.10",
        addr("198.51.100.20", Some("updates.example")),
        "GET",
        v,
    )
    .unwrap_err();
    assert_eq!(
        b.rule,
        Rule::NameMismatch,
        "an allowlisted name cannot ride on an instance address"
    );
    let b = go(
        "192.0.2.10",
        addr("198.51.100.99", Some("misp-partner.example")),
        "GET",
        v,
    )
    .unwrap_err();
    assert_eq!(
        b.rule,
        Rule::NameMismatch,
        "an instance name cannot open another address"
    );
    let b = go("192.0.2.10", addr("198.51.100.99", None), "GET", v).unwrap_err();
    assert_eq!(b.rule, Rule::UnknownDestination);
    // The allowlist: from known sources only; URLs exactly.
    go(
        "192.0.2.10",
        name("updates.example"),
        "GET",
        "/anything?at=all",
    )
    .expect("domain");
    go(
        "192.0.2.10",
        addr("198.51.100.99", Some("Updates.Example")),
        "POST",
        "/x",
    )
    .expect("domain at any address");
    go("192.0.2.99", name("updates.example"), "GET", "/").expect_err("unknown source");
    go("192.0.2.10", name("lists.example"), "GET", "/torlist/?exit").expect("url");
    go(
        "192.0.2.10",
        name("lists.example"),
        "GET",
        "/torlist/?exit=1",
    )
    .expect_err("other query");
    go("192.0.2.10", name("lists.example"), "GET", "/torlist/").expect_err("other path");
    go(
        "192.0.2.10",
        Destination {
            port: 8443,
            ..name("lists.example")
        },
        "GET",
        "/torlist/?exit",
    )
    .expect_err("other port");
    go("192.0.2.99", name("lists.example"), "GET", "/torlist/?exit").expect_err("unknown source");
    // Endpoints and the auth-key refresh option.
    let b = go("192.0.2.10", name("misp-partner.example"), "GET", "/users").unwrap_err();
    assert_eq!(b.message, "endpoint not allowed");
    go(
        "192.0.2.10",
        name("misp-partner.example"),
        "POST",
        "/users/resetauthkey/me",
    )
    .expect("enabled at partner");
    let b = go(
        "198.51.100.20",
        name("misp-inside.example"),
        "POST",
        "/users/resetauthkey/me",
    )
    .unwrap_err();
    assert_eq!(b.rule, Rule::AuthKeyRefresh);
    assert!(b.message.contains("allow_sync_auth_key_refresh: true"));
    // GET endpoints take no body.
    let with_body = evaluate(
        &cfg,
        &Case {
            source: SourceSpec::Ip(ip("192.0.2.10")),
            destination: name("misp-partner.example"),
            method: "GET",
            target: v,
            request_body: b"{}",
            request_content_type: Some("application/json"),
            response: None,
        },
    );
    assert!(with_body.is_err());
}

#[test]
fn a_source_address_shared_by_two_instances_is_refused() {
    let mut b = instance("192.0.2.10", "b.example", "c", json!({}));
    b["port"] = json!(8443);
    let v = json!({
        "allowlist": {"urls": [], "domains": []},
        "compartments_rules": {"can_reach": {"c": ["c"]}},
        "instances": {"a": instance("192.0.2.10", "a.example", "c", json!({})), "b": b, "x": instance("192.0.2.11", "x.example", "c", json!({}))}
    });
    let cfg = Config::from_json(&v.to_string()).unwrap();
    let err = source_instance(&cfg, ip("192.0.2.10")).unwrap_err();
    assert!(err.message.contains("shared by instances"), "{err}");
    // As a destination the port tells them apart.
    let x = cfg.instance("x").unwrap();
    let r = route(
        &cfg,
        x,
        &Destination {
            ip: Some(ip("192.0.2.10")),
            name: None,
            port: 8443,
        },
    )
    .unwrap();
    assert!(matches!(r, Route::Sync { destination, .. } if destination.id == "b"));
}
