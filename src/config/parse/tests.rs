use super::super::*;
use super::parse_url;
use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "allowlist": {"urls": ["https://lists.example/feed/?x=1"], "domains": ["updates.example"]},
        "compartments_rules": {"can_reach": {"inside": ["inside", "outside"], "outside": ["inside"]}},
        "instances": {
            "misp_a": {
                "ip": "192.0.2.10", "host": "misp-a.example", "port": 443,
                "compartment_id": "inside", "affiliation": "",
                "taxonomies_rules": {"required_taxonomies": ["tlp"], "allowed_tags": {"tlp": ["TLP:Clear"]}, "blocked_tags": ["TLP:Red"]},
                "blocked_distribution_levels": ["0", 1],
                "blocked_sharing_groups_uuids": ["B9E656BA-b9c0-4506-83ed-7b54b43a57cb"],
                "blocked_attribute_types": ["Passport-Number"],
                "blocked_attribute_categories": ["Person"],
                "blocked_object_types": ["person"]
            },
            "misp_b": {
                "ip": "2001:db8::20", "host": "misp-b.example", "port": 8443,
                "compartment_id": "outside", "affiliation": "partner",
                "taxonomies_rules": {"required_taxonomies": [], "allowed_tags": {}, "blocked_tags": []},
                "blocked_distribution_levels": [],
                "blocked_sharing_groups_uuids": [],
                "blocked_attribute_types": [],
                "blocked_attribute_categories": [],
                "blocked_object_types": [],
                "allow_sync_auth_key_refresh": true,
                "tls": {"verify": false, "ca_file": "/etc/ssl/b.pem"}
            }
        }
    })
}

fn load(v: &Value) -> Result<Config, ConfigError> {
    Config::from_json(&v.to_string())
}

fn err(v: &Value) -> String {
    load(v).expect_err("config must be refused").to_string()
}

#[test]
fn a_misp_guard_config_is_accepted_and_normalised() {
    let c = load(&base()).unwrap();
    assert_eq!(c.instances.len(), 2);
    let a = c.instance("misp_a").unwrap();
    assert_eq!(a.host, "misp-a.example");
    assert!(a.rules.blocked_tags.contains("tlp:red"));
    assert_eq!(a.rules.allowed_tags["tlp"], vec!["tlp:clear"]);
    assert_eq!(
        a.rules.blocked_distribution_levels,
        [true, true, false, false, false, false]
    );
    assert!(
        a.rules
            .blocked_sharing_groups_uuids
            .contains("b9e656ba-b9c0-4506-83ed-7b54b43a57cb")
    );
    assert!(a.rules.blocked_attribute_types.contains("passport-number"));
    assert!(a.tls.verify);
    let b = c.instance("misp_b").unwrap();
    assert!(b.allow_sync_auth_key_refresh);
    assert!(!b.tls.verify);
    assert_eq!(b.ip, "2001:db8::20".parse::<IpAddr>().unwrap());
    assert_eq!(c.allowlist.urls[0].target, "/feed/?x=1");
    assert_eq!(c.allowlist.urls[0].port, 443);
    assert_eq!(c.warden.listen.len(), 2);
    assert_eq!(c.warden.max_body_bytes, 256 * 1024 * 1024);
    assert!(c.notices.iter().any(|n| n.contains("tls.verify is false")));
}

#[test]
fn warden_section_overrides_defaults() {
    let mut v = base();
    v["warden"] = json!({
        "listen": ["192.0.2.1:9999"], "ca_cert": "/tmp/x.pem", "ca_key": "/tmp/x.key",
        "upstream_ca": "/tmp/up.pem", "user": "nobody", "group": "nogroup",
        "max_body_bytes": 1024, "mode": "monitor", "metrics_listen": "127.0.0.1:9100"
    });
    let c = load(&v).unwrap();
    assert_eq!(c.warden.listen, vec!["192.0.2.1:9999".parse().unwrap()]);
    assert_eq!(c.warden.mode, Mode::Monitor);
    assert_eq!(c.warden.max_body_bytes, 1024);
    assert_eq!(c.warden.user, "nobody");
    assert_eq!(
        c.warden.metrics_listen,
        Some("127.0.0.1:9100".parse().unwrap())
    );
}

#[test]
fn errors_name_the_key_path_and_what_was_expected() {
    type Mutation = fn(&mut Value);
    let cases: Vec<(Mutation, &str)> = vec![
        (
            |v| v["instances"]["misp_a"]["port"] = json!("443a"),
            r#"instances.misp_a.port: expected an integer 1..65535, got "443a""#,
        ),
        (
            |v| v["instances"]["misp_a"]["port"] = json!(0),
            "instances.misp_a.port: expected an integer 1..65535, got 0",
        ),
        (
            |v| v["instances"]["misp_a"]["ip"] = json!("192.0.2.300"),
            r#"instances.misp_a.ip: expected an IPv4 or IPv6 address, got "192.0.2.300""#,
        ),
        (
            |v| v["instances"]["misp_a"]["blocked_distribution_levels"] = json!(["0", "6"]),
            r#"instances.misp_a.blocked_distribution_levels[1]: expected a distribution level "0".."5", got "6""#,
        ),
        (
            |v| v["instances"]["misp_a"]["blocked_sharing_groups_uuids"] = json!(["not-a-uuid"]),
            r#"instances.misp_a.blocked_sharing_groups_uuids[0]: expected a sharing group UUID, got "not-a-uuid""#,
        ),
        (
            |v| v["instances"]["misp_a"]["compartment_id"] = json!("nowhere"),
            r#"instances.misp_a.compartment_id: compartment "nowhere" is not defined"#,
        ),
        (
            |v| v["compartments_rules"]["can_reach"]["inside"] = json!(["inside", "mars"]),
            r#"compartments_rules.can_reach.inside[1]: compartment "mars" is not defined"#,
        ),
        (
            |v| {
                v["instances"]["misp_b"]["ip"] = json!("192.0.2.10");
                v["instances"]["misp_b"]["port"] = json!(443);
            },
            "192.0.2.10:443 is also instance",
        ),
        (
            |v| v["instances"]["misp_b"]["host"] = json!("MISP-A.example"),
            r#"instances.misp_b.host: "misp-a.example" is also the host of instance misp_a"#,
        ),
        (
            |v| {
                v["instances"]["misp_a"]["taxonomies_rules"]
                    .as_object_mut()
                    .unwrap()
                    .remove("blocked_tags");
            },
            "instances.misp_a.taxonomies_rules.blocked_tags: missing (this key is required)",
        ),
        (
            |v| v["instances"]["misp_a"]["blocked_tag"] = json!(["tlp:red"]),
            "instances.misp_a.blocked_tag: unknown key",
        ),
        (
            |v| {
                v.as_object_mut().unwrap().remove("allowlist");
            },
            "allowlist: missing (this key is required)",
        ),
        (
            |v| v["allowlist"]["urls"] = json!(["ftp://x.example/"]),
            "allowlist.urls[0]: expected an http:// or https:// URL",
        ),
        (
            |v| v["warden"] = json!({"mode": "permissive"}),
            r#"warden.mode: expected "enforce" or "monitor", got "permissive""#,
        ),
        (
            |v| v["warden"] = json!({"listen": ["8888"]}),
            "warden.listen[0]: expected IP:PORT",
        ),
        (
            |v| v["instances"]["misp_b"]["tls"] = json!({"client_cert": "/a.pem"}),
            "instances.misp_b.tls.client_key: required when client_cert is set",
        ),
        (
            |v| v["instances"]["misp_a"]["taxonomies_rules"]["blocked_tags"] = json!(["ok", 3]),
            "instances.misp_a.taxonomies_rules.blocked_tags[1]: expected a string, got 3",
        ),
        (
            |v| v["instances"] = json!({}),
            "instances: expected at least one instance",
        ),
        (
            |v| v["instances"] = json!([]),
            "instances: expected an object, got an array",
        ),
    ];
    for (mutate, want) in cases {
        let mut v = base();
        mutate(&mut v);
        let got = err(&v);
        assert!(got.contains(want), "want {want:?}\n got {got:?}");
        assert!(!got.contains('\n'), "one line: {got:?}");
    }
}

#[test]
fn duplicate_keys_and_bad_json_are_refused() {
    let dup = base()
        .to_string()
        .replacen(r#""port":443"#, r#""port":443,"port":8443"#, 1);
    assert!(dup.contains(r#""port":443,"port":8443"#));
    let got = Config::from_json(&dup).unwrap_err().to_string();
    assert!(got.contains("duplicate key \"port\""), "{got}");
    let got = Config::from_json("{").unwrap_err().to_string();
    assert!(got.starts_with("not valid JSON"), "{got}");
    let got = Config::from_json("[]").unwrap_err().to_string();
    assert!(got.contains("expected an object"), "{got}");
}

#[test]
fn the_legacy_host_mapping_is_read_with_a_notice() {
    let mut v = base();
    v["instances_host_mapping"] = json!({"misp-a.example": "misp_a"});
    let c = load(&v).unwrap();
    assert!(
        c.notices
            .iter()
            .any(|n| n.starts_with("instances_host_mapping"))
    );
}

fn feed(url: &str) -> Value {
    json!({
        "type": "misp", "url": url, "allow_caching": true,
        "taxonomies_rules": {"required_taxonomies": ["tlp"], "allowed_tags": {"tlp": ["tlp:clear"]}, "blocked_tags": []},
        "blocked_distribution_levels": [], "blocked_sharing_groups_uuids": [],
        "blocked_attribute_types": ["email"], "blocked_attribute_categories": [], "blocked_object_types": []
    })
}

#[test]
fn feeds_of_misp_guard_1_3_are_read() {
    let mut v = base();
    v["feeds"] = json!({"osint": feed("https://Feeds.example/misp/osint/")});
    let c = load(&v).unwrap();
    let f = &c.feeds[0];
    assert_eq!(
        (f.id.as_str(), f.host.as_str(), f.port, f.path.as_str()),
        ("osint", "feeds.example", 443, "/misp/osint")
    );
    assert!(f.allow_caching);
    assert!(f.rules.blocked_attribute_types.contains("email"));
    assert!(c.feed_at("FEEDS.example", 443).is_some());

    let mut bad = feed("https://feeds.example/x");
    bad["type"] = json!("csv");
    v["feeds"] = json!({"osint": bad});
    assert!(
        err(&v).contains("feeds.osint.type: expected \"misp\""),
        "{}",
        err(&v)
    );
    v["feeds"] = json!({"osint": feed("ftp://feeds.example/x")});
    assert!(err(&v).starts_with("feeds.osint.url: expected an http:// or https:// URL"));
    let mut bad = feed("https://feeds.example/x");
    bad.as_object_mut().unwrap().remove("blocked_object_types");
    v["feeds"] = json!({"osint": bad});
    assert_eq!(
        err(&v),
        "feeds.osint.blocked_object_types: missing (this key is required)"
    );
}

#[test]
fn instances_sharing_an_ip_are_allowed_on_different_ports_with_a_notice() {
    let mut v = base();
    v["instances"]["misp_b"]["ip"] = json!("192.0.2.10");
    let c = load(&v).unwrap();
    assert!(
        c.notices
            .iter()
            .any(|n| n.contains("share the IP 192.0.2.10"))
    );
}

#[test]
fn ipv4_mapped_addresses_are_the_ipv4_address() {
    let mut v = base();
    v["instances"]["misp_a"]["ip"] = json!("::ffff:192.0.2.10");
    let c = load(&v).unwrap();
    assert_eq!(
        c.instance("misp_a").unwrap().ip,
        "192.0.2.10".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn allowlist_urls_are_split_into_host_port_and_target() {
    for (text, host, port, target) in [
        ("https://a.example", "a.example", 443, "/"),
        ("http://a.example", "a.example", 80, "/"),
        (
            "http://A.example:443/torlist/?exit",
            "a.example",
            443,
            "/torlist/?exit",
        ),
        ("https://a.example?x", "a.example", 443, "/?x"),
        ("https://[2001:db8::1]:8443/p", "2001:db8::1", 8443, "/p"),
        ("https://[2001:db8::5]/x", "2001:db8::5", 443, "/x"),
        ("http://[2001:db8::5]", "2001:db8::5", 80, "/"),
        ("https://a.example/p#frag", "a.example", 443, "/p"),
    ] {
        let u = parse_url(text).unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            (host, port, target),
            "{text}"
        );
    }
    for bad in [
        "a.example/x",
        "https://",
        "https://u@a.example/",
        "https://a.example:0/",
        "https://a.example:x/",
        "https://a b/",
        "https://[2001:db8::5/",
        "https://[2001:db8::5]x/",
        "https://2001:db8::5/",
    ] {
        assert!(parse_url(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_shipped_example_config_is_valid() {
    let text = include_str!("../../../config/misp-warden.json");
    let c = Config::from_json(text).unwrap();
    assert!(!c.instances.is_empty());
}

#[test]
fn a_listener_on_an_instance_sync_port_is_refused() {
    let mut v = base();
    v["warden"] = json!({"listen": ["0.0.0.0:8888", "[::]:8443"]});
    let e = err(&v);
    assert!(
        e.contains("warden.listen[1]") && e.contains("misp_b"),
        "{e}"
    );
}

#[test]
fn listeners_that_cannot_all_be_bound_are_refused() {
    for (warden, key) in [
        (
            json!({"listen": ["0.0.0.0:8888", "0.0.0.0:8888"]}),
            "warden.listen[1]",
        ),
        (
            json!({"listen": ["0.0.0.0:8888", "192.0.2.1:8888"]}),
            "warden.listen[1]",
        ),
        (
            json!({"metrics_listen": "127.0.0.1:8888"}),
            "warden.metrics_listen",
        ),
        (
            json!({"listen": ["0.0.0.0:8888"], "proxy_listen": "[::]:8888"}),
            "warden.proxy_listen",
        ),
        (
            json!({"metrics_listen": "127.0.0.1:9102", "proxy_listen": "0.0.0.0:9102"}),
            "warden.proxy_listen",
        ),
    ] {
        let mut v = base();
        v["warden"] = warden;
        let e = err(&v);
        assert!(e.starts_with(key) && e.contains("collides"), "{e}");
    }
    // Apart: the transparent IPv6 listener is IPv6-only; other ports.
    for warden in [
        json!({"listen": ["0.0.0.0:8888", "[::]:8888"]}),
        json!({"metrics_listen": "127.0.0.1:9102", "proxy_listen": "127.0.0.1:3128"}),
        json!({"metrics_listen": "127.0.0.1:9102", "proxy_listen": "192.0.2.1:9102"}),
    ] {
        let mut v = base();
        v["warden"] = warden.clone();
        assert!(load(&v).is_ok(), "{warden}");
    }
}

#[test]
fn an_unknown_key_names_the_one_probably_meant() {
    let mut v = base();
    v["instances"]["misp_a"]["blocked_object_type"] = json!(["person"]);
    assert!(err(&v).ends_with(r#"unknown key (did you mean "blocked_object_types"?)"#));
    let mut v = base();
    v["warden"] = json!({"max_body_byte": 1});
    assert!(err(&v).contains(r#"did you mean "max_body_bytes"?"#));
    let mut v = base();
    v["warden"] = json!({"colour": 1});
    assert!(err(&v).ends_with("warden.colour: unknown key"));
}

#[test]
fn plaintext_allowlist_urls_get_a_notice() {
    let mut v = base();
    v["allowlist"]["urls"] = json!(["https://a.example/x", "http://b.example/y"]);
    let c = load(&v).unwrap();
    let notices: Vec<_> = c.notices.iter().filter(|n| n.contains("http://")).collect();
    assert_eq!(notices.len(), 1, "{:?}", c.notices);
    assert!(
        notices[0].starts_with("allowlist.urls[1]"),
        "{}",
        notices[0]
    );
}

#[test]
fn limits_have_defaults_and_name_their_key_when_wrong() {
    let c = load(&base()).unwrap();
    assert_eq!(c.warden.limits, crate::config::Limits::default());
    let mut v = base();
    v["warden"] =
        json!({"max_connections": 10, "header_timeout_seconds": 5, "max_decompression_ratio": 50});
    let l = load(&v).unwrap().warden.limits;
    assert_eq!(
        (
            l.max_connections,
            l.header_timeout.as_secs(),
            l.max_decompression_ratio
        ),
        (10, 5, 50)
    );
    v["warden"] = json!({"max_connections_per_source": 0});
    let e = err(&v);
    assert!(
        e.starts_with("warden.max_connections_per_source: expected a positive integer"),
        "{e}"
    );
    // A budget that cannot hold one body of the size limit.
    v["warden"] = json!({"max_body_bytes": 1000, "body_budget_bytes": 999});
    let e = err(&v);
    assert!(
        e.starts_with("warden.body_budget_bytes: 999 bytes cannot hold"),
        "{e}"
    );
    v["warden"] = json!({"max_body_bytes": 2147483648_u64});
    assert!(
        err(&v).starts_with("warden.body_budget_bytes:"),
        "the default budget is 1 GiB"
    );
}

/// A reload keeps the guard's memory of event verdicts unless some
/// instance's rules changed (see `Proxy::replace`).
#[test]
fn rules_compare_by_instance() {
    let a = Config::from_json(&base().to_string()).unwrap();
    let mut v = base();
    v["warden"] = json!({"log_format": "json"});
    v["allowlist"]["domains"] = json!([]);
    let b = Config::from_json(&v.to_string()).unwrap();
    assert!(
        a.same_rules(&b),
        "settings and the allowlist give no verdict on events"
    );
    v["instances"]["misp_b"]["taxonomies_rules"]["blocked_tags"] = json!(["tlp:amber"]);
    let c = Config::from_json(&v.to_string()).unwrap();
    assert!(!a.same_rules(&c));
}
