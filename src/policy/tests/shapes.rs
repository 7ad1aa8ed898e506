//! Shapes MISP reads beyond the canonical ones: bare and wrapped events,
//! wrapped elements, values MISP trims, tags given by id, galaxy clusters
//! judged by the tag MISP rebuilds.

use super::*;

#[test]
fn pushed_events_are_read_as_misp_reads_them() {
    let cfg = config();
    let raw = |body: &str| push_raw(&cfg, "/events/add", body.as_bytes());
    let ok = r#"{"distribution":"1","Tag":[{"name":"tlp:green"}]}"#;
    let bad = r#"{"distribution":"1","Tag":[{"name":"tlp:red"}]}"#;
    // MISP's events/add takes the bare event (as PyMISP sends it) too.
    raw(ok).expect("bare event");
    raw(bad).expect_err("bare blocked event");
    raw(&format!(r#"{{"Event":{ok}}}"#)).expect("wrapped event");
    raw(&format!(r#"{{"Event":{bad}}}"#)).expect_err("wrapped blocked event");
    // MISP ignores the wrapper's own fields, and its sync never sends
    // them: refused by name, not judged as if they were the event.
    let b = raw(&format!(
        r#"{{"Tag":[{{"name":"tlp:green"}}],"Event":{ok}}}"#
    ))
    .unwrap_err();
    assert_eq!(b.rule, Rule::UnknownKey, "{b}");
    // `"Event": null` is not set for PHP: the whole body is the event.
    raw(r#"{"Event":null,"distribution":"1","Tag":[{"name":"tlp:red"}]}"#).expect_err("null Event");
    raw(r#"{"Event":null,"distribution":"1"}"#).expect("null Event, clean body");
    // MISP would swap the body for `response` or `request` first.
    for key in ["response", "request"] {
        let b = raw(&format!(r#"{{"Event":{ok},"{key}":{{"Event":{bad}}}}}"#)).unwrap_err();
        assert_eq!(b.rule, Rule::MalformedBody, "{key}: {b}");
        raw(&format!(r#"{{"Event":{ok},"{key}":null}}"#)).expect("null is unset");
    }
    // Arrays where MISP has objects (serde would read them by position).
    for body in [
        r#"{"Event":[null,"1"]}"#,
        r#"[null,"1"]"#,
        r#"{"distribution":"1","Attribute":[["ip-src","Other"]]}"#,
        r#"{"distribution":"1","Tag":[["tlp:green"]]}"#,
        r#"{"distribution":"1","Object":[["person","1"]]}"#,
    ] {
        let b = raw(body).unwrap_err();
        assert_eq!(b.rule, Rule::MalformedBody, "{body}: {b}");
    }
    // An event the rules judge must say its distribution.
    assert!(raw(r#"{"Event":{"info":"x"},"distribution":"1"}"#).is_err());
}

#[test]
fn wrapped_elements_must_be_what_their_key_says() {
    let cfg = config();
    let u = "4c2d2f0e-7a1b-4e8c-9d3f-1a2b3c4d5e6f";
    let p = |path: &str, body: Value| push(&cfg, "192.0.2.10", "misp-partner.example", path, &body);
    let proposals = format!("/events/pushProposals/{u}");
    // MISP's pushProposals iterates the list as it is: no wrapper.
    p(
        &proposals,
        json!([{"ShadowAttribute": attribute("ip-src", "Other")}]),
    )
    .expect_err("wrapped");
    p(
        &proposals,
        json!([{"Attribute": attribute("ip-src", "Other")}]),
    )
    .expect_err("wrong key");
    p(
        &proposals,
        json!([{"ShadowAttribute": attribute("ip-src", "Other"), "x": 1}]),
    )
    .expect_err("two keys");
    p(&proposals, json!([["ip-src", "Other"]])).expect_err("array");
    let rel = |kind: &str, related: Value| json!({"Relationship": {"distribution": "1", "related_object_type": kind, "related_object": related}});
    p(
        "/analyst_data/pushAnalystData",
        rel("Attribute", json!({"Object": attribute("ip-src", "Other")})),
    )
    .expect_err("an Attribute relation wrapping something else");
    p(
        "/analyst_data/pushAnalystData",
        rel(
            "Attribute",
            json!({"Attribute": related_attribute("ip-src", "Other")}),
        ),
    )
    .expect("attribute relation");
}

/// Shapes MISP's own capture code reads that a guard looking only at the
/// canonical keys would miss (found by reading MISP 2.5's Event, MispObject,
/// EventReport, GalaxyCluster and SharingGroup models).
#[test]
fn shapes_misp_reads_beyond_the_canonical_keys() {
    let cfg = config();
    let p = |e: &Value| push(&cfg, "192.0.2.10", "misp-partner.example", "/events/add", e);
    let person = crate::misp::object_templates::template_uuid("person").unwrap();
    let domain_ip = crate::misp::object_templates::template_uuid("domain-ip").unwrap();
    type Case = (
        &'static str,
        Box<dyn Fn(&mut Value)>,
        Box<dyn Fn(&mut Value)>,
    );
    let cases: Vec<Case> = vec![
        (
            "tag with a trailing space (MySQL ignores it on lookup)",
            Box::new(|e| e["Event"]["Tag"][0]["name"] = json!("tlp:red ")),
            Box::new(|e| e["Event"]["Tag"][0]["name"] = json!("tlp:green ")),
        ),
        (
            "tag with a leading tab",
            Box::new(|e| e["Event"]["Attribute"][0]["Tag"] = json!([{"name": "\ttlp:red"}])),
            Box::new(|e| e["Event"]["Attribute"][0]["Tag"] = json!([{"name": "\ttlp:green"}])),
        ),
        (
            "type and category are trimmed by MISP",
            Box::new(|e| e["Event"]["Attribute"][0]["type"] = json!(" passport-number ")),
            Box::new(|e| e["Event"]["Attribute"][0]["type"] = json!(" ip-dst ")),
        ),
        (
            "category with a trailing space",
            Box::new(|e| e["Event"]["Attribute"][0]["category"] = json!("Person ")),
            Box::new(|e| e["Event"]["Attribute"][0]["category"] = json!("Other ")),
        ),
        (
            "attribute tags by local id",
            Box::new(|e| e["Event"]["Attribute"][0]["tag_ids"] = json!([3])),
            Box::new(|e| e["Event"]["Attribute"][0]["comment"] = json!("c")),
        ),
        (
            "object wrapped as {\"Object\": …} (MISP reads the inner one)",
            Box::new(|e| {
                e["Event"]["Object"][0]["Object"] =
                    json!({"name": "person", "distribution": "1", "Attribute": []})
            }),
            Box::new(|e| e["Event"]["Object"][0]["comment"] = json!("c")),
        ),
        (
            "object with the person template under another name",
            Box::new(move |e| {
                e["Event"]["Object"][0]["name"] = json!("contact");
                e["Event"]["Object"][0]["template_uuid"] = json!(person.to_uppercase());
            }),
            Box::new(move |e| {
                e["Event"]["Object"][0]["name"] = json!("contact");
                e["Event"]["Object"][0]["template_uuid"] = json!(domain_ip);
            }),
        ),
        (
            "event report wrapped as {\"EventReport\": …}",
            Box::new(|e| {
                e["Event"]["EventReport"][0]["EventReport"] = json!({"distribution": "0"})
            }),
            Box::new(|e| e["Event"]["EventReport"][0]["name"] = json!("r2")),
        ),
        (
            "attribute with an Attribute key",
            Box::new(|e| e["Event"]["Attribute"][0]["Attribute"] = json!({"type": "email"})),
            Box::new(|e| e["Event"]["Attribute"][0]["comment"] = json!("c")),
        ),
        (
            "Tag given as one object instead of a list",
            Box::new(|e| e["Event"]["Tag"] = json!({"name": "tlp:red"})),
            Box::new(|e| e["Event"]["Tag"] = json!([{"name": "tlp:green"}])),
        ),
        (
            "list given as an object with keys",
            Box::new(|e| e["Event"]["Tag"] = json!({"k": {"name": "tlp:green"}})),
            Box::new(|e| e["Event"]["Tag"] = json!([{"name": "tlp:green"}])),
        ),
        (
            "EventTag (MISP's internal list; its sync sends Tag)",
            Box::new(|e| {
                e["Event"]["EventTag"] = json!([{"id": "1", "Tag": {"name": "tlp:green"}}])
            }),
            Box::new(|e| e["Event"]["Tag"] = json!([{"id": "1", "name": "tlp:green"}])),
        ),
        (
            "EventTag by tag id only",
            Box::new(|e| e["Event"]["EventTag"] = json!([{"tag_id": "3"}])),
            Box::new(|e| e["Event"]["info"] = json!("x")),
        ),
    ];
    for (name, blocked, allowed) in cases {
        let mut bad = event();
        blocked(&mut bad);
        let mut good = event();
        allowed(&mut good);
        assert!(p(&bad).is_err(), "{name}: must be blocked");
        p(&good).unwrap_or_else(|b| panic!("{name}: twin blocked: {b}"));
    }
}

#[test]
fn galaxy_clusters_are_judged_by_the_tag_misp_rebuilds() {
    let uuid = "2d7b2f4e-1c0a-4b8e-9f3d-5a6b7c8d9e0f";
    let mut v = json!({
        "allowlist": {"urls": [], "domains": []},
        "compartments_rules": {"can_reach": {"c": ["c"]}},
        "instances": {
            "a": instance("192.0.2.10", "a.example", "c", json!({})),
            "b": instance("198.51.100.20", "b.example", "c", json!({})),
        }
    });
    v["instances"]["a"]["taxonomies_rules"]["blocked_tags"] = json!([
        "tlp:red",
        format!("misp-galaxy:threat-actor=\"{uuid}\""),
        "misp-galaxy:threat-actor=\"Blocked Actor\""
    ]);
    let cfg = Config::from_json(&v.to_string()).unwrap();
    let p = |body: Value| {
        push(
            &cfg,
            "192.0.2.10",
            "b.example",
            "/galaxies/pushCluster",
            &body,
        )
    };
    let cluster = |uuid: &str, value: &str, tag_name: &str| {
        json!([{"GalaxyCluster": {"uuid": uuid, "type": "threat-actor", "value": value,
            "tag_name": tag_name, "distribution": "3"}}])
    };
    let other = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a";
    p(cluster(uuid, "x", "misp-galaxy:threat-actor=\"harmless\""))
        .expect_err("rebuilt from the uuid");
    p(cluster(other, "Blocked Actor", "misp-galaxy:x=\"y\"")).expect_err("rebuilt from the value");
    p(cluster(other, "x", "misp-galaxy:threat-actor=\"harmless\"")).expect("other cluster");
    let rel = |rel: Value| {
        json!([{"GalaxyCluster": {"uuid": other, "type": "t", "distribution": "3",
            "GalaxyClusterRelation": [rel]}}])
    };
    p(rel(
        json!({"distribution": "3", "GalaxyClusterRelationTag": [{"name": "TLP:RED"}]}),
    ))
    .expect_err("relation tags MISP reads first");
    p(rel(
        json!({"distribution": "3", "GalaxyClusterRelationTag": [{"name": "tlp:green"}]}),
    ))
    .expect("relation tag allowed");
    p(rel(json!({"GalaxyClusterRelation": {"distribution": "0"}}))).expect_err("wrapped relation");
}
