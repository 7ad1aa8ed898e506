//! misp-guard 1.3's feed unit tests.

use super::*;

/// misp-guard 1.3's feed unit tests (feeds `feed_1`, `feed_2` of the parity
/// config mirror its `feed_1`, `feed_2`). misp-guard rewrites a manifest to
/// drop blocked entries and answers 200; misp-warden forwards the manifest
/// unchanged (also an allow) and refuses a blocked event when it is fetched.
pub fn feed_scenarios() -> Vec<Scenario> {
    const FEED_1: &str = "feed1.mirror.example:443";
    const FEED_2: &str = "feed2.mirror.example:443";
    const DIR_1: &str = "/doc/misp/feed-osint";
    const E1: &str = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c01";
    const E3: &str = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c03";
    let manifest = json!({
        E1: {"info": "OSINT one", "Tag": [{"name": "type:OSINT"}, {"name": "tlp:white"}], "timestamp": 1},
        "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c02": {"info": "OSINT two", "Tag": [{"name": "tlp:red"}], "timestamp": 2},
        E3: {"info": "OSINT three", "Tag": [{"name": "tlp:clear"}], "timestamp": 3}
    });
    let feed_event = |uuid: &str, second_type: &str| {
        json!({"Event": {"uuid": uuid, "info": "OSINT", "Tag": [{"name": "tlp:white"}],
        "Attribute": [
            {"type": "domain", "category": "Network activity", "value": "bad.example"},
            {"type": second_type, "category": "Payload delivery", "value": "x"}
        ]}})
    };
    let bytes = |v: Value| Payload::Bytes(v.to_string().into_bytes());
    let path = |file: &str| format!("{DIR_1}/{file}");
    vec![
        Scenario::new(
            "feed_manifest_blocked_events_are_removed",
            "GET",
            path("manifest.json"),
            ALPHA_1,
            FEED_1,
        )
        .response(bytes(manifest.clone())),
        Scenario::new(
            "feed_manifest_non_blocked_events_are_untouched",
            "GET",
            "/feeds/misp/manifest.json",
            ALPHA_1,
            FEED_2,
        )
        .response(bytes(manifest.clone())),
        Scenario::new(
            "feed_manifest_required_taxonomies",
            "GET",
            "/feeds/misp/manifest.json",
            ALPHA_1,
            FEED_2,
        )
        .response(bytes(
            json!({E1: {"info": "no tlp", "Tag": [{"name": "type:OSINT"}]}}),
        )),
        Scenario::new(
            "feed_event_non_blocked",
            "GET",
            path(&format!("{E1}.json")),
            ALPHA_1,
            FEED_1,
        )
        .response(bytes(feed_event(E1, "url"))),
        Scenario::new(
            "feed_event_blocked_attribute_type",
            "GET",
            path(&format!("{E3}.json")),
            ALPHA_1,
            FEED_1,
        )
        .response(bytes(feed_event(E3, "email")))
        .expect(block("attribute with a blocked type: email"))
        .twin(twin("the same event with a url attribute").response(bytes(feed_event(E3, "url")))),
        Scenario::new(
            "feed_event_signature_passthrough",
            "GET",
            path(&format!("{E1}.asc")),
            ALPHA_1,
            FEED_1,
        )
        .response(Payload::Bytes(
            b"-----BEGIN PGP SIGNATURE-----\n\nc2ln\n-----END PGP SIGNATURE-----\n".to_vec(),
        )),
        Scenario::new(
            "feed_signature_of_non_event_is_blocked",
            "GET",
            path("manifest.asc"),
            ALPHA_1,
            FEED_1,
        )
        .expect(block("rejecting non allowed feed request"))
        .twin(
            twin("an event's signature")
                .path("/doc/misp/feed-osint/5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c01.asc"),
        ),
        Scenario::new(
            "feed_cache_is_blocked_if_not_enabled",
            "GET",
            path("hashes.csv"),
            ALPHA_1,
            FEED_1,
        )
        .expect(block("set `allow_caching: true` to allow it")),
        Scenario::new(
            "feed_cache_is_allowed_if_enabled",
            "GET",
            "/feeds/misp/hashes.csv",
            ALPHA_1,
            FEED_2,
        )
        .response(Payload::Bytes(
            b"5a1b,5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c01\n".to_vec(),
        )),
        Scenario::new(
            "feed_cache_wrong_method_is_blocked",
            "POST",
            "/feeds/misp/hashes.csv",
            ALPHA_1,
            FEED_2,
        )
        .expect(block("rejecting non allowed feed request")),
        Scenario::new(
            "feed_non_allowed_endpoint_is_blocked",
            "GET",
            path("hashes.txt"),
            ALPHA_1,
            FEED_1,
        )
        .expect(block("endpoint not allowed")),
        Scenario::new(
            "feed_request_from_unknown_src_host_is_blocked",
            "GET",
            path("manifest.json"),
            UNKNOWN_CLIENT,
            FEED_1,
        )
        .expect(block(
            "source host 192.0.2.200 does not exist in instances hosts mapping",
        ))
        .twin(
            twin("from a known instance")
                .from(ALPHA_1)
                .response(bytes(manifest)),
        ),
        Scenario::new(
            "feed_request_to_non_feed_path_is_blocked",
            "GET",
            "/doc/misp/other-feed/manifest.json",
            ALPHA_1,
            FEED_1,
        )
        .expect(block(
            "destination host feed1.mirror.example does not exist in instances hosts mapping",
        )),
        Scenario::new(
            "feed_invalid_manifest_is_blocked",
            "GET",
            path("manifest.json"),
            ALPHA_1,
            FEED_1,
        )
        .response(Payload::Bytes(b"<html>not a manifest</html>".to_vec()))
        .expect(block("invalid JSON body")),
        Scenario::new(
            "feed_host_connection_other_port_is_blocked (server_connect)",
            "GET",
            path("manifest.json"),
            ALPHA_1,
            "feed1.mirror.example:4444",
        )
        .expect(block("does not exist in instances hosts mapping")),
    ]
}
