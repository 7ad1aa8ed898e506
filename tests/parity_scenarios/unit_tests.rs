//! misp-guard's unit tests (feeds aside).

use super::*;

pub fn unit_scenarios() -> Vec<Scenario> {
    let ev = ev_path();
    let not_minimal = |name, path| {
        Scenario::new(name, "POST", path, BRAVO_2, TO_ALPHA_1)
            .body("events_index_not_minimal.json")
            .expect(Expect::Block(vec![match path {
                "/events/index" => "{'minimal': 1, 'published': 1} is required for /events/index requests",
                _ => "{'minimal': 1, 'published': 1} is required for /galaxy_clusters/restSearch requests",
            }]))
            .with_fixture_twins()
    };
    let outsider = || format!("X-UserOrgUUID: {ORG_OUTSIDER}");
    let member = || format!("X-UserOrgUUID: {ORG_MEMBER}");
    let not_in_sg = "user with organisation uuid: 9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a (X-UserOrgUUID) not in sharing group";
    let user_org = |name, fixture| {
        Scenario::new(name, "GET", ev.clone(), BRAVO_2, TO_ALPHA_1)
            .response_fixture(fixture)
            .response_header(outsider())
            .expect(block(not_in_sg))
            .twin(twin("X-UserOrgUUID of a member").response_header(member()))
            .twin(twin("without X-UserOrgUUID").no_response_headers())
    };
    vec![
        not_minimal("reject_non_minimal_events_index", "/events/index"),
        not_minimal("reject_non_minimal_galaxy_clusters_rest_search", "/galaxy_clusters/restSearch"),
        Scenario::new("non_allowed_endpoint_is_blocked", "GET", "/users", BRAVO_2, TO_ALPHA_1)
            .expect(block("endpoint not allowed"))
            .twin(twin("a sync endpoint, /users/view/me.json").path("/users/view/me.json")),
        Scenario::new(
            "sync_auth_key_refresh_is_allowed_if_enabled",
            "POST",
            "/users/resetauthkey/me",
            BRAVO_2,
            TO_ALPHA_1,
        ),
        Scenario::new(
            "sync_auth_key_refresh_is_blocked_if_not_enabled",
            "POST",
            "/users/resetauthkey/me",
            BRAVO_2,
            TO_ALPHA_2,
        )
        .expect(Expect::Block(vec![
            "endpoint not allowed",
            "/users/resetauthkey/me is not enabled for instance alpha_2, set `allow_sync_auth_key_refresh: true` to allow it",
        ]))
        .twin(twin("to alpha_1, which allows it").to(TO_ALPHA_1)),
        Scenario::new(
            "sync_auth_key_refresh_other_user_is_blocked",
            "POST",
            "/users/resetauthkey/1",
            BRAVO_2,
            TO_ALPHA_1,
        )
        .expect(block("endpoint not allowed")),
        Scenario::new(
            "allowed_domain_from_unknown_src_is_blocked",
            "GET",
            "/torlist/?exit",
            UNKNOWN_CLIENT,
            ALLOWED_DOMAIN,
        )
        .expect(block("source host 192.0.2.200 does not exist in instances hosts mapping"))
        .twin(twin("from bravo_2").from(BRAVO_2)),
        Scenario::new("allowed_domain_from_known_src_is_allowed", "GET", "/test.txt", BRAVO_2, ALLOWED_DOMAIN)
            .response(Payload::Bytes(b"plain file contents\n".to_vec())),
        Scenario::new(
            "allowed_url_from_unknown_src_is_blocked",
            "GET",
            ALLOWED_URL_TARGET,
            UNKNOWN_CLIENT,
            ALLOWED_URL_HOST,
        )
        .expect(block("source host 192.0.2.200 does not exist in instances hosts mapping"))
        .twin(twin("from bravo_2").from(BRAVO_2)),
        Scenario::new("allowed_url_from_known_src_is_allowed", "GET", ALLOWED_URL_TARGET, BRAVO_2, ALLOWED_URL_HOST)
            .response(Payload::Bytes(b"192.0.2.1\n".to_vec())),
        Scenario::new(
            "pull_event_head_passthrough",
            "HEAD",
            format!("/events/view/{EVENT_UUID}"),
            BRAVO_2,
            TO_ALPHA_1,
        )
        .response(Payload::Bytes(Vec::new())),
        Scenario::new("pull_event_empty_response_invalid_json", "GET", ev.clone(), BRAVO_2, TO_ALPHA_1)
            .response_fixture("not_json.txt")
            .expect(block("invalid JSON body"))
            .twin(twin("an event").response(Payload::Fixture("event_allowed.json"))),
        Scenario::new("pull_unknown_src_host", "GET", ev.clone(), "203.0.113.90", TO_ALPHA_1)
            .expect(block("source host 203.0.113.90 does not exist in instances hosts mapping"))
            .twin(twin("from alpha_2").from(ALPHA_2)),
        Scenario::new("pull_unknown_dst_host", "GET", ev.clone(), ALPHA_1, "nowhere.zone-a.example:443")
            .expect(block(
                "destination host nowhere.zone-a.example does not exist in instances hosts mapping",
            ))
            .twin(twin("to alpha_2").to(TO_ALPHA_2)),
        Scenario::new(
            "dst_port_not_allowed",
            "GET",
            "/users/view/me.json",
            BRAVO_2,
            "alpha1.zone-a.example:4444",
        )
        .expect(block("destination port is not allowed"))
        .twin(twin("port 443").to(TO_ALPHA_1)),
        user_org(
            "pull_XUserOrgUUID_mismatch (event)",
            "event_userorg_sharing_group.json",
        )
        // The event's sharing group lists no SharingGroupServer at all.
        .twin(
            twin("a server of the group with all_orgs")
                .edit(set("/Event/SharingGroup/SharingGroupServer", json!([{"all_orgs": true}]))),
        ),
        user_org(
            "pull_XUserOrgUUID_mismatch (attribute)",
            "event_attribute_userorg_sharing_group.json",
        )
        .twin(
            twin("a server of the group with all_orgs \"1\"").edit(set(
                "/Event/Attribute/0/SharingGroup/SharingGroupServer",
                json!([{"all_orgs": "1"}]),
            )),
        ),
        // The object's attribute carries tlp:red: once the object passes the
        // membership check, the attribute's tag blocks.
        Scenario::new("pull_XUserOrgUUID_mismatch (object)", "GET", ev.clone(), BRAVO_2, TO_ALPHA_1)
            .response_fixture("event_object_userorg_sharing_group.json")
            .response_header(outsider())
            .expect(block(not_in_sg))
            .twin(
                twin("X-UserOrgUUID of a member")
                    .response_header(member())
                    .expect(block("attribute with a blocked tag: tlp:red")),
            )
            .twin(
                twin("X-UserOrgUUID of a member, attribute tag tlp:green")
                    .response_header(member())
                    .edit(set("/Event/Object/0/Attribute/0/Tag/0/name", json!("tlp:green"))),
            ),
        // §3 of the facts: a pulled body that is JSON but no event
        // (misp-guard says "request body" for responses too; we say which).
        Scenario::new("pull_event_without_event_property (extra)", "GET", ev.clone(), BRAVO_2, TO_ALPHA_1)
            .response(Payload::Bytes(br#"{"response": []}"#.to_vec()))
            .expect(block("no `Event` property in response body")),
        // An allowlisted URL's host is no instance: any other target on it is
        // an unknown destination for misp-guard.
        Scenario::new("allowed_url_other_target_is_blocked (extra)", "GET", "/exits/?all", BRAVO_2, ALLOWED_URL_HOST)
            .expect(block(
                "destination host lists.zone-x.test does not exist in instances hosts mapping",
            ))
            .twin(twin("the listed target").path(ALLOWED_URL_TARGET)),
    ]
}
