//! Bodies of the endpoints besides events: galaxy clusters, proposals,
//! analyst data and their relationships, sightings, index filters.

use super::*;

#[test]
fn other_endpoint_bodies() {
    let cfg = config();
    let p = |path: &str, body: Value| push(&cfg, "192.0.2.10", "misp-partner.example", path, &body);
    let u = "4c2d2f0e-7a1b-4e8c-9d3f-1a2b3c4d5e6f";
    // Galaxy clusters: an array of wrapped clusters.
    p(
        "/galaxies/pushCluster",
        json!([{"GalaxyCluster": {"distribution": "3"}}, {"GalaxyCluster": {"distribution": "0"}}]),
    )
    .expect_err("second cluster");
    p(
        "/galaxies/pushCluster",
        json!([{"GalaxyCluster": {"distribution": "3"}}]),
    )
    .expect("cluster");
    p(
        "/galaxies/pushCluster",
        json!([{"GalaxyCluster": {"tag_name": "x"}}]),
    )
    .expect_err("no distribution");
    // Proposals, bare (MISP's pushProposals reads no wrapper), for an
    // event this guard let through before.
    let seen = |path: &str, body: Value| push_seen(&cfg, path, &body, &[u]);
    let proposals = format!("/events/pushProposals/{u}");
    seen(
        &proposals,
        json!([attribute("ip-src", "Other"), attribute("email", "Other")]),
    )
    .expect_err("proposal type");
    seen(
        &proposals,
        json!([{"ShadowAttribute": attribute("ip-src", "Person")}]),
    )
    .expect_err("wrapped proposal");
    seen(&proposals, json!([attribute("ip-src", "Other")])).expect("proposal");
    let b = p(&proposals, json!([attribute("ip-src", "Other")])).unwrap_err();
    assert_eq!(b.rule, Rule::UnjudgedEvent, "{b}");
    let mut other = attribute("ip-src", "Other");
    other["event_uuid"] = json!("6a2d1f3b-0c8e-4d4f-9b72-3e5a7c9d1f22");
    seen(&proposals, json!([other])).expect_err("a proposal for another event");
    // Analyst data.
    p(
        "/analyst_data/pushAnalystData",
        json!({"Note": {"distribution": "0"}}),
    )
    .expect_err("note");
    p(
        "/analyst_data/pushAnalystData",
        json!({"Opinion": {"distribution": "2"}}),
    )
    .expect("opinion");
    p(
        "/analyst_data/pushAnalystData",
        json!({"Relationship": {"distribution": "1", "related_object_type": "Object",
        "related_object": {"Object": {"name": "x", "distribution": "0"}}}}),
    )
    .expect_err("related object");
    p(
        "/analyst_data/pushAnalystData",
        json!({"Relationship": {"distribution": "1", "related_object_type": "Note",
        "related_object": {"distribution": "0"}}}),
    )
    .expect_err("related bare note");
    p(
        "/analyst_data/pushAnalystData",
        json!({"Relationship": {"distribution": "1", "related_object_type": "Opinion",
        "related_object": {"Opinion": {"distribution": "0"}}}}),
    )
    .expect_err("related wrapped opinion");
    p(
        "/analyst_data/pushAnalystData",
        json!({"Relationship": {"distribution": "1", "related_object_type": "GalaxyCluster",
        "related_object": {"GalaxyCluster": {"distribution": "0"}}}}),
    )
    .expect_err("related cluster");
    p(
        "/analyst_data/pushAnalystData",
        json!({"Relationship": {"distribution": "1", "related_object_type": "Event",
        "related_object": null}}),
    )
    .expect("nothing related");
    p(
        "/analyst_data/pushAnalystData",
        json!({"Comment": {"distribution": "1"}}),
    )
    .expect_err("unknown kind");
    // Sightings carry nothing the rules read: they go where their event
    // went.
    let sightings = format!("/sightings/bulkSaveSightings/{u}");
    seen(&sightings, json!([{"uuid": u, "type": "0"}])).expect("sightings");
    let b = p(&sightings, json!([{"uuid": u, "type": "0"}])).unwrap_err();
    assert_eq!(b.rule, Rule::UnjudgedEvent, "{b}");
    // Index filters.
    for (body, ok) in [
        (json!({"minimal": 1, "published": 1}), true),
        (json!({"minimal": true, "published": 1.0}), true),
        (json!({"minimal": 0, "published": 1}), false),
        (json!({"minimal": "1", "published": "1"}), true),
        (json!({"minimal": "0", "published": 1}), false),
        (json!({"minimal": "yes", "published": 1}), false),
        (json!({"published": 1}), false),
        (json!([1]), false),
    ] {
        for path in ["/events/index", "/galaxy_clusters/restSearch"] {
            assert_eq!(p(path, body.clone()).is_ok(), ok, "{path} {body}");
        }
    }
}

#[test]
fn analyst_data_envelopes_mean_one_thing() {
    let cfg = config();
    let p = |body: Value| {
        push(
            &cfg,
            "192.0.2.10",
            "misp-partner.example",
            "/analyst_data/pushAnalystData",
            &body,
        )
    };
    p(json!({"Note": {"distribution": "1"}})).expect("one note");
    p(json!({"Note": {"distribution": "1"}, "note_type_name": "Note"}))
        .expect_err("note_type_name at the top");
    p(json!({"Note": {"distribution": "1"}, "Opinion": {"distribution": "1"}}))
        .expect_err("two members");
    p(json!({"note_type_name": "Note", "distribution": "1", "x": {"distribution": "4"}}))
        .expect_err("bare record");
}

#[test]
fn chains_of_relationships_are_bounded() {
    let cfg = config();
    let chain = |n: usize| {
        let mut v = json!({"distribution": "3"});
        for _ in 0..n {
            v = json!({"distribution": "3", "related_object_type": "Relationship", "related_object": v});
        }
        json!({"Relationship": v})
    };
    let p = |body: Value| {
        push(
            &cfg,
            "192.0.2.10",
            "misp-partner.example",
            "/analyst_data/pushAnalystData",
            &body,
        )
    };
    p(chain(10)).expect("a short chain");
    assert_eq!(p(chain(40)).unwrap_err().rule, Rule::MalformedBody);
    // Deep enough to overflow the stack if the walk were unbounded. Built as
    // text: serde_json's own recursion limit stops Value at 128 levels.
    let body = format!(
        "{{\"Relationship\":{}{{\"distribution\":\"3\"}}{}}}",
        "{\"distribution\":\"3\",\"related_object_type\":\"Relationship\",\"related_object\":"
            .repeat(20_000),
        "}".repeat(20_000)
    );
    let b = evaluate(
        &cfg,
        &exchange(
            "192.0.2.10",
            "misp-partner.example",
            "POST",
            "/analyst_data/pushAnalystData",
            body.as_bytes(),
        ),
    )
    .unwrap_err();
    assert_eq!(b.rule, Rule::MalformedBody);
}
