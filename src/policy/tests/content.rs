//! The content rules: each rule at each level blocks a push and a pull, and
//! its allowed twin passes; whose rules apply; what a refusal names;
//! required taxonomies.

use super::*;

/// (name, mutation making it blocked, mutation for the allowed twin, rule, message part)
fn content_cases() -> Vec<(&'static str, Mutation, Mutation, Rule, &'static str)> {
    vec![
        (
            "event tag",
            |e| e["Event"]["Tag"][0]["name"] = json!("tlp:red"),
            |e| e["Event"]["Tag"][0]["name"] = json!("tlp:amber"),
            Rule::BlockedTag,
            "event has blocked tag: tlp:red",
        ),
        (
            "event tag, other case",
            |e| e["Event"]["Tag"][0]["name"] = json!("TLP:Red"),
            |e| e["Event"]["Tag"][0]["name"] = json!("TLP:Redx"),
            Rule::BlockedTag,
            "event has blocked tag: TLP:Red",
        ),
        (
            "attribute tag",
            |e| e["Event"]["Attribute"][0]["Tag"] = json!([{"name": "tlp:red"}]),
            |e| e["Event"]["Attribute"][0]["Tag"] = json!([{"name": "tlp:green"}]),
            Rule::BlockedTag,
            "attribute with a blocked tag: tlp:red",
        ),
        (
            "object attribute tag",
            |e| e["Event"]["Object"][0]["Attribute"][0]["Tag"] = json!([{"name": "tlp:red"}]),
            |e| e["Event"]["Object"][0]["Attribute"][0]["Tag"] = json!([{"name": "tlp:white"}]),
            Rule::BlockedTag,
            "attribute with a blocked tag",
        ),
        (
            "event distribution string",
            |e| e["Event"]["distribution"] = json!("0"),
            |e| e["Event"]["distribution"] = json!("1"),
            Rule::BlockedDistribution,
            "event has blocked distribution level: 0",
        ),
        (
            "event distribution number",
            |e| e["Event"]["distribution"] = json!(0),
            |e| e["Event"]["distribution"] = json!(1),
            Rule::BlockedDistribution,
            "event has blocked distribution level: 0",
        ),
        (
            "attribute distribution",
            |e| e["Event"]["Attribute"][0]["distribution"] = json!(0),
            |e| e["Event"]["Attribute"][0]["distribution"] = json!(2),
            Rule::BlockedDistribution,
            "attribute with a blocked distribution level: 0",
        ),
        (
            "object distribution",
            |e| e["Event"]["Object"][0]["distribution"] = json!("0"),
            |e| e["Event"]["Object"][0]["distribution"] = json!("3"),
            Rule::BlockedDistribution,
            "object with a blocked distribution level: 0",
        ),
        (
            "object attribute distribution",
            |e| e["Event"]["Object"][0]["Attribute"][0]["distribution"] = json!("0"),
            |e| e["Event"]["Object"][0]["Attribute"][0]["distribution"] = json!("5"),
            Rule::BlockedDistribution,
            "attribute with a blocked distribution level: 0",
        ),
        (
            "event report distribution",
            |e| e["Event"]["EventReport"][0]["distribution"] = json!("0"),
            |e| e["Event"]["EventReport"][0]["distribution"] = json!("1"),
            Rule::BlockedDistribution,
            "event report has blocked distribution level: 0",
        ),
        (
            "event report tag (beyond misp-guard)",
            |e| e["Event"]["EventReport"][0]["Tag"] = json!([{"name": "tlp:red"}]),
            |e| e["Event"]["EventReport"][0]["Tag"] = json!([{"name": "tlp:green"}]),
            Rule::BlockedTag,
            "event report has blocked tag",
        ),
        (
            "event sharing group",
            |e| {
                e["Event"]["distribution"] = json!("4");
                e["Event"]["SharingGroup"] = sharing_group(&SG_BLOCKED.to_uppercase(), &[], false)
            },
            |e| {
                e["Event"]["distribution"] = json!("4");
                e["Event"]["SharingGroup"] = sharing_group(SG_OTHER, &[], false)
            },
            Rule::BlockedSharingGroup,
            "event has blocked sharing group uuid: b9e656ba",
        ),
        (
            "attribute sharing group",
            |e| e["Event"]["Attribute"][0]["SharingGroup"] = sharing_group(SG_BLOCKED, &[], false),
            |e| e["Event"]["Attribute"][0]["SharingGroup"] = sharing_group(SG_OTHER, &[], false),
            Rule::BlockedSharingGroup,
            "attribute with a blocked sharing group uuid",
        ),
        (
            "object sharing group",
            |e| e["Event"]["Object"][0]["SharingGroup"] = sharing_group(SG_BLOCKED, &[], false),
            |e| e["Event"]["Object"][0]["SharingGroup"] = sharing_group(SG_OTHER, &[], false),
            Rule::BlockedSharingGroup,
            "object with a blocked sharing group uuid",
        ),
        (
            "object attribute sharing group",
            |e| {
                e["Event"]["Object"][0]["Attribute"][0]["SharingGroup"] =
                    sharing_group(SG_BLOCKED, &[], false)
            },
            |e| {
                e["Event"]["Object"][0]["Attribute"][0]["SharingGroup"] =
                    sharing_group(SG_OTHER, &[], false)
            },
            Rule::BlockedSharingGroup,
            "attribute with a blocked sharing group uuid",
        ),
        (
            "sharing group not named",
            |e| e["Event"]["Attribute"][0]["distribution"] = json!("4"),
            |e| e["Event"]["Attribute"][0]["distribution"] = json!("3"),
            Rule::SharingGroupUnknown,
            "does not say which one",
        ),
        (
            "attribute type",
            |e| e["Event"]["Attribute"][0]["type"] = json!("passport-number"),
            |e| e["Event"]["Attribute"][0]["type"] = json!("passport-country"),
            Rule::BlockedAttributeType,
            "attribute with a blocked type: passport-number",
        ),
        (
            "attribute type, other case",
            |e| e["Event"]["Attribute"][0]["type"] = json!("EMAIL"),
            |e| e["Event"]["Attribute"][0]["type"] = json!("email-src"),
            Rule::BlockedAttributeType,
            "attribute with a blocked type: EMAIL",
        ),
        (
            "type reported before category",
            |e| {
                e["Event"]["Attribute"][0]["type"] = json!("passport-number");
                e["Event"]["Attribute"][0]["category"] = json!("Person")
            },
            |e| e["Event"]["Attribute"][0]["category"] = json!("Other"),
            Rule::BlockedAttributeType,
            "blocked type",
        ),
        (
            "attribute category",
            |e| e["Event"]["Attribute"][0]["category"] = json!("person"),
            |e| e["Event"]["Attribute"][0]["category"] = json!("Persona"),
            Rule::BlockedAttributeCategory,
            "attribute with a blocked category: person",
        ),
        (
            "object attribute type",
            |e| e["Event"]["Object"][0]["Attribute"][0]["type"] = json!("email"),
            |e| e["Event"]["Object"][0]["Attribute"][0]["type"] = json!("email-dst"),
            Rule::BlockedAttributeType,
            "blocked type: email",
        ),
        (
            "object type",
            |e| e["Event"]["Object"][0]["name"] = json!("Person"),
            |e| e["Event"]["Object"][0]["name"] = json!("person-ish"),
            Rule::BlockedObjectType,
            "object with a blocked type: Person",
        ),
        (
            "shadow attribute in an object attribute",
            |e| {
                e["Event"]["Object"][0]["Attribute"][0]["ShadowAttribute"] =
                    json!([attribute("passport-number", "Other")])
            },
            |e| {
                e["Event"]["Object"][0]["Attribute"][0]["ShadowAttribute"] =
                    json!([attribute("text", "Other")])
            },
            Rule::BlockedAttributeType,
            "blocked type",
        ),
        (
            "shadow attribute of the event (beyond misp-guard)",
            |e| e["Event"]["ShadowAttribute"] = json!([attribute("ip-dst", "Person")]),
            |e| e["Event"]["ShadowAttribute"] = json!([attribute("ip-dst", "Network activity")]),
            Rule::BlockedAttributeCategory,
            "blocked category",
        ),
        (
            "event note",
            |e| e["Event"]["Note"] = json!([{"uuid": "x", "note": "n", "distribution": "0"}]),
            |e| e["Event"]["Note"] = json!([{"uuid": "x", "note": "n", "distribution": "1"}]),
            Rule::BlockedDistribution,
            "analyst data has blocked distribution level: 0",
        ),
        (
            "attribute opinion",
            |e| e["Event"]["Attribute"][0]["Opinion"] = json!([{"opinion": 50, "distribution": 0}]),
            |e| e["Event"]["Attribute"][0]["Opinion"] = json!([{"opinion": 50, "distribution": 3}]),
            Rule::BlockedDistribution,
            "analyst data",
        ),
        (
            "object relationship",
            |e| e["Event"]["Object"][0]["Relationship"] = json!([{"distribution": "0", "related_object_type": "Event", "related_object": {"Event": {"uuid": SEEN_EVENT, "distribution": "3"}}}]),
            |e| e["Event"]["Object"][0]["Relationship"] = json!([{"distribution": "1", "related_object_type": "Event", "related_object": {"Event": {"uuid": SEEN_EVENT, "distribution": "3"}}}]),
            Rule::BlockedDistribution,
            "analyst data",
        ),
        (
            "note nested in a note",
            |e| {
                e["Event"]["Note"] = json!([{"distribution": "1", "Note": [{"distribution": "0"}]}])
            },
            |e| {
                e["Event"]["Note"] = json!([{"distribution": "1", "Note": [{"distribution": "2"}]}])
            },
            Rule::BlockedDistribution,
            "analyst data",
        ),
        (
            "relationship to a blocked attribute",
            |e| e["Event"]["Relationship"] = json!([{"distribution": "1", "related_object_type": "Attribute", "related_object": {"Attribute": related_attribute("email", "Other")}}]),
            |e| e["Event"]["Relationship"] = json!([{"distribution": "1", "related_object_type": "Attribute", "related_object": {"Attribute": related_attribute("ip-dst", "Other")}}]),
            Rule::BlockedAttributeType,
            "blocked type: email",
        ),
        (
            "galaxy cluster in the event (beyond misp-guard)",
            |e| {
                e["Event"]["Galaxy"] =
                    json!([{"GalaxyCluster": [{"tag_name": "tlp:red", "distribution": "3"}]}])
            },
            |e| e["Event"]["Galaxy"] = json!([{"GalaxyCluster": [{"tag_name": "misp-galaxy:x=\"y\"", "distribution": "3"}]}]),
            Rule::BlockedTag,
            "galaxy cluster has blocked tag",
        ),
        (
            "galaxy cluster relation (beyond misp-guard)",
            |e| {
                e["Event"]["Galaxy"] =
                    json!([{"GalaxyCluster": [{"GalaxyClusterRelation": [{"distribution": "0"}]}]}])
            },
            |e| {
                e["Event"]["Galaxy"] =
                    json!([{"GalaxyCluster": [{"GalaxyClusterRelation": [{"distribution": "1"}]}]}])
            },
            Rule::BlockedDistribution,
            "relation",
        ),
    ]
}

#[test]
fn every_content_rule_blocks_push_and_pull_and_its_twin_passes() {
    let cfg = config();
    for (name, blocked, allowed, rule, message) in content_cases() {
        let mut bad = event();
        blocked(&mut bad);
        let mut good = event();
        allowed(&mut good);
        // Push: the source's (inside) rules.
        let b = push(
            &cfg,
            "192.0.2.10",
            "misp-partner.example",
            "/events/add/metadata:1",
            &bad,
        )
        .expect_err(name);
        assert_eq!(b.rule, rule, "{name}: {b}");
        assert!(
            b.message.contains(message),
            "{name}: {:?} lacks {message:?}",
            b.message
        );
        assert!(
            !b.to_string().contains("SECRET-VALUE"),
            "{name}: value leaked"
        );
        assert_eq!(b.owner.as_deref(), Some("instances.inside"), "{name}");
        push(
            &cfg,
            "192.0.2.10",
            "misp-partner.example",
            "/events/add/metadata:1",
            &good,
        )
        .unwrap_or_else(|b| panic!("{name} twin blocked: {b}"));
        // Pull: the destination's (inside) rules, whoever asks.
        let b = pull(
            &cfg,
            "198.51.100.20",
            "misp-inside.example",
            VIEW,
            &bad,
            None,
        )
        .expect_err(name);
        assert_eq!(b.rule, rule, "pull {name}: {b}");
        pull(
            &cfg,
            "198.51.100.20",
            "misp-inside.example",
            VIEW,
            &good,
            None,
        )
        .unwrap_or_else(|b| panic!("pull {name} twin blocked: {b}"));
    }
}

#[test]
fn push_uses_the_source_rules_and_pull_the_destination_rules() {
    let cfg = config();
    let mut bad = event();
    bad["Event"]["Tag"][0]["name"] = json!("tlp:rainbow");
    // tlp:rainbow is blocked only by `strict`.
    push(
        &cfg,
        "203.0.113.40",
        "misp-inside.example",
        "/events/add",
        &bad,
    )
    .expect_err("strict pushes");
    push(
        &cfg,
        "192.0.2.10",
        "misp-strict.example",
        "/events/add",
        &bad,
    )
    .expect("inside pushes to strict");
    pull(&cfg, "192.0.2.10", "misp-strict.example", VIEW, &bad, None)
        .expect_err("pull of strict's data");
}

#[test]
fn blocked_event_reports_name_the_event_and_the_rule_path() {
    let cfg = config();
    let mut bad = event();
    bad["Event"]["Tag"][0]["name"] = json!("tlp:red");
    let b = push(
        &cfg,
        "192.0.2.10",
        "misp-partner.example",
        "/events/add",
        &bad,
    )
    .unwrap_err();
    assert_eq!(b.event_uuid.as_deref(), Some(EVENT_UUID));
    assert_eq!(
        b.rule_path(),
        "instances.inside.taxonomies_rules.blocked_tags"
    );
    assert_eq!(
        b.to_string(),
        format!(
            "event has blocked tag: tlp:red (rule instances.inside.taxonomies_rules.blocked_tags) [event {EVENT_UUID}]"
        )
    );
}

#[test]
fn required_taxonomies() {
    let cfg = config();
    let from_strict = |e: &Value| {
        push(
            &cfg,
            "203.0.113.40",
            "misp-inside.example",
            "/events/add",
            e,
        )
    };
    let with_tags = |tags: Value| {
        let mut e = event();
        e["Event"]["Tag"] = tags;
        e
    };
    let mut no_key = event();
    no_key["Event"].as_object_mut().unwrap().remove("Tag");
    let b = from_strict(&no_key).unwrap_err();
    assert_eq!(b.message, "event is missing required taxonomies");
    let b = from_strict(&with_tags(json!([]))).unwrap_err();
    assert_eq!(b.message, "event is missing required taxonomy: tlp");
    let b = from_strict(&with_tags(json!([{"name": "tlp:amber"}]))).unwrap_err();
    assert_eq!(b.rule, Rule::RequiredTaxonomy);
    let b = from_strict(&with_tags(
        json!([{"name": "tlp:rainbow"}, {"name": "tlp:clear"}]),
    ))
    .unwrap_err();
    assert_eq!(b.message, "event has blocked tag: tlp:rainbow");
    from_strict(&with_tags(json!([{"name": "TLP:CLEAR"}]))).expect("allowed, any case");
    from_strict(&with_tags(
        json!([{"name": "tlp:green"}, {"name": "type:osint"}]),
    ))
    .expect("allowed");
    // A tag that merely starts with the namespace is not of it.
    from_strict(&with_tags(json!([{"name": "tlpx:clear"}]))).expect_err("not the tlp namespace");
    // Attributes inherit the event's classification...
    let mut e = with_tags(json!([{"name": "tlp:clear"}]));
    from_strict(&e).expect("untagged attributes pass");
    // ...but one tagged with a disallowed tag of the namespace does not.
    e["Event"]["Object"][0]["Attribute"][0]["Tag"] = json!([{"name": "tlp:amber"}]);
    let b = from_strict(&e).unwrap_err();
    assert_eq!(b.rule, Rule::RequiredTaxonomy, "{b}");
    e["Event"]["Object"][0]["Attribute"][0]["Tag"] = json!([{"name": "tlp:green"}]);
    from_strict(&e).expect("allowed attribute tag");
}
