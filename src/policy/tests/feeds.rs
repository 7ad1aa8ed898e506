//! Feeds: manifests, event files, signatures and caches, as misp-guard 1.3
//! mediates them and as MISP's feed import reads them.

use super::*;

/// misp-guard 1.3's feed cases, by verdict (misp-guard rewrites manifests;
/// we pass them unchanged and refuse blocked events when they are fetched).
#[test]
fn feeds_as_misp_guard_1_3_mediates_them() {
    let mut feed_1 = rules(json!({}));
    feed_1["type"] = json!("misp");
    feed_1["url"] = json!("https://feed1.example/doc/misp/feed-osint");
    feed_1["allow_caching"] = json!(false);
    let mut feed_2 = rules(json!({
        "taxonomies_rules": {"required_taxonomies": ["tlp"], "allowed_tags": {"tlp": ["tlp:clear", "tlp:white"]}, "blocked_tags": []},
        "blocked_distribution_levels": [], "blocked_sharing_groups_uuids": [],
        "blocked_attribute_types": [], "blocked_attribute_categories": [], "blocked_object_types": []
    }));
    feed_2["type"] = json!("misp");
    feed_2["url"] = json!("https://feed2.example/feeds/misp/");
    feed_2["allow_caching"] = json!(true);
    let v = json!({
        "allowlist": {"urls": [], "domains": []},
        "compartments_rules": {"can_reach": {"c": ["c"]}},
        "instances": {"inside": instance("192.0.2.10", "misp-inside.example", "c", json!({}))},
        "feeds": {"feed_1": feed_1, "feed_2": feed_2}
    });
    let cfg = Config::from_json(&v.to_string()).unwrap();
    let get =
        |from: &str, host: &str, port: u16, method: &str, path: &str, response: Option<&str>| {
            evaluate(
                &cfg,
                &Case {
                    source: SourceSpec::Ip(ip(from)),
                    destination: Destination {
                        ip: None,
                        name: Some(host),
                        port,
                    },
                    method,
                    target: path,
                    request_body: b"",
                    request_content_type: None,
                    response: response.map(|r| (r.as_bytes(), ResponseContext::default())),
                },
            )
        };
    let f1 = |path: &str, response: Option<&str>| {
        get("192.0.2.10", "feed1.example", 443, "GET", path, response)
    };
    let f2 = |path: &str, response: Option<&str>| {
        get("192.0.2.10", "feed2.example", 443, "GET", path, response)
    };
    let u1 = "1cc7bcb1-a0f0-4c2e-8c1c-b3e0b9f0a001";
    let manifest = json!({
        u1: {"info": "a", "Tag": [{"name": "tlp:white"}], "timestamp": 1},
        "1cc7bcb1-a0f0-4c2e-8c1c-b3e0b9f0a002": {"info": "b", "Tag": [{"name": "tlp:red"}]}
    })
    .to_string();
    let event = |kind: &str| {
        json!({"Event": {"uuid": u1, "info": "x", "Tag": [{"name": "tlp:white"}],
            "Attribute": [{"type": "domain", "category": "Network activity", "value": "a.example"},
                          {"type": kind, "category": "Payload delivery", "value": "b"}]}})
        .to_string()
    };
    f1("/doc/misp/feed-osint/manifest.json", Some(&manifest)).expect("manifest passes unchanged");
    f2("/feeds/misp/manifest.json", Some("{}")).expect("empty manifest");
    f1(
        "/doc/misp/feed-osint/manifest.json",
        Some("<html>not a manifest</html>"),
    )
    .expect_err("not JSON");
    f1("/doc/misp/feed-osint/manifest.json", Some("[]")).expect_err("not an object");
    f1(
        &format!("/doc/misp/feed-osint/{u1}.json"),
        Some(&event("url")),
    )
    .expect("feed event without distributions");
    let b = f1(
        &format!("/doc/misp/feed-osint/{u1}.json"),
        Some(&event("email")),
    )
    .unwrap_err();
    assert_eq!(b.message, "attribute with a blocked type: email");
    assert_eq!(b.rule_path(), "feeds.feed_1.blocked_attribute_types");
    f1(
        &format!("/doc/misp/feed-osint/{u1}.asc"),
        Some("-----BEGIN PGP SIGNATURE-----"),
    )
    .expect("signature");
    f1("/doc/misp/feed-osint/manifest.asc", None).expect_err("only events have signatures");
    let b = f1("/doc/misp/feed-osint/hashes.csv", None).unwrap_err();
    assert!(b.message.contains("set `allow_caching: true`"), "{b}");
    f2("/feeds/misp/hashes.csv", Some("a,b\n")).expect("cache allowed");
    get(
        "192.0.2.10",
        "feed2.example",
        443,
        "POST",
        "/feeds/misp/hashes.csv",
        None,
    )
    .expect_err("POST");
    f1("/doc/misp/feed-osint/hashes.txt", None).expect_err("other file");
    f1(&format!("/doc/misp/feed-osint/{u1}.json?x=1"), None).expect_err("query");
    f1(&format!("/doc/misp/feed-osint/sub/{u1}.json"), None).expect_err("subdirectory");
    let b = get(
        "192.0.2.99",
        "feed1.example",
        443,
        "GET",
        "/doc/misp/feed-osint/manifest.json",
        None,
    )
    .unwrap_err();
    assert_eq!(b.rule, Rule::UnknownSource);
    let b = f1("/doc/misp/other-feed/manifest.json", None).unwrap_err();
    assert!(
        b.message
            .starts_with("destination host feed1.example does not exist"),
        "{b}"
    );
    get(
        "192.0.2.10",
        "feed1.example",
        4444,
        "GET",
        "/doc/misp/feed-osint/manifest.json",
        None,
    )
    .expect_err("port");
    // Required taxonomies of feed_2 apply to its events.
    let tagged = |tag: &str| {
        json!({"Event": {"info": "x", "Tag": [{"name": tag}], "Attribute": []}}).to_string()
    };
    f2(
        &format!("/feeds/misp/{u1}.json"),
        Some(&tagged("tlp:clear")),
    )
    .expect("allowed tlp");
    f2(
        &format!("/feeds/misp/{u1}.json"),
        Some(&tagged("type:OSINT")),
    )
    .expect_err("no tlp");
}

/// MISP's feed import reads `response`, then `[0]` (a `"0"` key), before
/// `Event`: a feed event file is exactly `{"Event": {...}}`.
#[test]
fn feed_event_files_are_exactly_one_event() {
    let mut feed = rules(json!({}));
    feed["type"] = json!("misp");
    feed["url"] = json!("https://feed1.example/doc/misp/feed-osint");
    let v = json!({
        "allowlist": {"urls": [], "domains": []},
        "compartments_rules": {"can_reach": {"c": ["c"]}},
        "instances": {"inside": instance("192.0.2.10", "misp-inside.example", "c", json!({}))},
        "feeds": {"feed_1": feed}
    });
    let cfg = Config::from_json(&v.to_string()).unwrap();
    let fetch = |body: &str| {
        evaluate(
            &cfg,
            &Case {
                request_content_type: None,
                response: Some((body.as_bytes(), ResponseContext::default())),
                ..exchange(
                    "192.0.2.10",
                    "feed1.example",
                    "GET",
                    "/doc/misp/feed-osint/385283a1-b5e0-4e10-a532-dce11c365a56.json",
                    b"",
                )
            },
        )
    };
    let clean = r#"{"info":"x","Tag":[{"name":"tlp:clear"}]}"#;
    let red = r#"{"info":"x","Tag":[{"name":"tlp:red"}]}"#;
    fetch(&format!(r#"{{"Event":{clean}}}"#)).expect("one event");
    fetch(&format!(r#"{{"Event":{red}}}"#)).expect_err("blocked tag");
    for extra in ["0", "\\u0030", "response", "request", "other"] {
        let body = format!(r#"{{"Event":{clean},"{extra}":{{"Event":{red}}}}}"#);
        let b = fetch(&body).unwrap_err();
        assert_eq!(b.rule, Rule::UnknownKey, "{extra}: {b}");
    }
}
