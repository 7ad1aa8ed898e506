//! Table-driven tests of the engine: each rule at each level, each with an
//! allowed twin that differs only in the offending value.

use super::*;
use crate::config::Config;
use serde_json::{Value, json};
use std::net::IpAddr;

const SG_BLOCKED: &str = "b9e656ba-b9c0-4506-83ed-7b54b43a57cb";
const SG_OTHER: &str = "e5d5a2a7-d659-4022-8b59-6afa4b658fd5";
const ORG_MEMBER: &str = "87c33ffe-f83c-4eb1-be09-51f767f6fd5a";
const ORG_OUTSIDER: &str = "8b9661a3-8544-4f8d-94be-cd7ebe87e922";
const EVENT_UUID: &str = "5f1c0e2a-9b7d-4c3e-8a61-2d4f6b8c0e11";
/// An event every instance has let through to every other before: rows of
/// it (a relationship's target, the parent of a related attribute) are
/// judged by that memory, since they show no tags.
const SEEN_EVENT: &str = "8d4e3b5a-2f1c-4b6d-9e87-5a4b3c2d1e0f";
const VIEW: &str =
    "/events/view/5f1c0e2a-9b7d-4c3e-8a61-2d4f6b8c0e11/deleted[]:0/deleted[]:1/excludeGalaxy:1";

fn rules(extra: Value) -> Value {
    let mut r = json!({
        "taxonomies_rules": {"required_taxonomies": [], "allowed_tags": {}, "blocked_tags": ["tlp:red"]},
        "blocked_distribution_levels": ["0"],
        "blocked_sharing_groups_uuids": [SG_BLOCKED],
        "blocked_attribute_types": ["passport-number", "email"],
        "blocked_attribute_categories": ["Person"],
        "blocked_object_types": ["person"]
    });
    for (k, v) in extra.as_object().unwrap() {
        r[k] = v.clone();
    }
    r
}

fn instance(ip: &str, host: &str, comp: &str, extra: Value) -> Value {
    let mut v = rules(extra);
    v["ip"] = json!(ip);
    v["host"] = json!(host);
    v["port"] = json!(443);
    v["compartment_id"] = json!(comp);
    v["affiliation"] = json!("");
    v
}

fn config() -> Config {
    let v = json!({
        "allowlist": {"urls": ["http://lists.example:443/torlist/?exit"], "domains": ["updates.example"]},
        "compartments_rules": {"can_reach": {
            "c1": ["c1", "c2", "c4"], "c2": ["c1", "c2"], "c3": ["c3"], "c4": ["c1", "c4"]
        }},
        "instances": {
            "inside": instance("192.0.2.10", "misp-inside.example", "c1", json!({})),
            "partner": instance("198.51.100.20", "misp-partner.example", "c2", json!({"allow_sync_auth_key_refresh": true})),
            "isolated": instance("203.0.113.30", "misp-isolated.example", "c3", json!({})),
            "strict": instance("203.0.113.40", "misp-strict.example", "c4", json!({
                "taxonomies_rules": {
                    "required_taxonomies": ["tlp"],
                    "allowed_tags": {"tlp": ["tlp:clear", "TLP:green"]},
                    "blocked_tags": ["tlp:red", "tlp:rainbow"]
                }
            })),
        }
    });
    Config::from_json(&v.to_string()).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// One exchange as these tests describe it: the fields a test cares about,
/// turned by [`evaluate`] into the connection and request head the daemon
/// would see (TLS with the destination name as SNI and `Host`, the body's
/// `Content-Type`) and judged by the daemon's judge, [`super::evaluate`].
#[derive(Clone, Copy)]
struct Case<'a> {
    source: SourceSpec<'a>,
    destination: Destination<'a>,
    method: &'a str,
    target: &'a str,
    request_body: &'a [u8],
    request_content_type: Option<&'a str>,
    response: Option<(&'a [u8], ResponseContext<'a>)>,
}

/// The response fields these tests set; `status: None` is a 200.
#[derive(Clone, Copy, Default)]
struct ResponseContext<'a> {
    user_org_uuid: Option<&'a str>,
    status: Option<u16>,
}

fn evaluate(cfg: &Config, case: &Case) -> Result<(), Block> {
    let memory = EventVerdicts::default();
    for owner in &cfg.instances {
        for recipient in &cfg.instances {
            let flow = Flow {
                owner: &owner.id,
                recipient: &recipient.id,
            };
            memory.remember(flow, SEEN_EVENT, true);
        }
    }
    evaluate_with(cfg, case, &memory)
}

fn evaluate_with(cfg: &Config, case: &Case, memory: &EventVerdicts) -> Result<(), Block> {
    let mut request = http::Request::builder()
        .method(case.method)
        .uri(case.target)
        .body(())
        .expect("a request line")
        .into_parts()
        .0;
    if let Some(name) = case.destination.name {
        request.headers.insert("host", name.parse().unwrap());
    }
    if let Some(ct) = case.request_content_type {
        request.headers.insert("content-type", ct.parse().unwrap());
    }
    let response = case.response.map(|(_, ctx)| {
        let mut parts = http::Response::builder()
            .status(ctx.status.unwrap_or(200))
            .body(())
            .unwrap()
            .into_parts()
            .0;
        if let Some(org) = ctx.user_org_uuid {
            parts.headers.insert("x-userorguuid", org.parse().unwrap());
        }
        parts
    });
    let connection = Connection {
        source: case.source,
        destination_ip: case.destination.ip,
        port: case.destination.port,
        tls: true,
        sni: case.destination.name,
    };
    super::evaluate(
        cfg,
        &super::Case {
            connection,
            request: &request,
            framing: Framing::default(),
            request_body: case.request_body,
            response: response.as_ref().zip(case.response.map(|(b, _)| b)),
        },
        memory,
    )
}

/// One exchange from `from` to the host `to` on port 443, its body declared
/// JSON and no response; callers change what they need with `..exchange(…)`.
fn exchange<'a>(
    from: &str,
    to: &'a str,
    method: &'a str,
    target: &'a str,
    body: &'a [u8],
) -> Case<'a> {
    Case {
        source: SourceSpec::Ip(ip(from)),
        destination: Destination {
            ip: None,
            name: Some(to),
            port: 443,
        },
        method,
        target,
        request_body: body,
        request_content_type: Some("application/json"),
        response: None,
    }
}

/// A push of raw bytes from the inside instance to the partner.
fn push_raw(cfg: &Config, path: &str, body: &[u8]) -> Result<(), Block> {
    evaluate(
        cfg,
        &exchange("192.0.2.10", "misp-partner.example", "POST", path, body),
    )
}

/// A push of `body` from `from` to `to`.
fn push(cfg: &Config, from: &str, to: &str, path: &str, body: &Value) -> Result<(), Block> {
    let body = body.to_string();
    evaluate(cfg, &exchange(from, to, "POST", path, body.as_bytes()))
}

/// A push from the inside instance to the partner by a guard that has let
/// the events `seen` through that way before.
fn push_seen(cfg: &Config, path: &str, body: &Value, seen: &[&str]) -> Result<(), Block> {
    let memory = EventVerdicts::default();
    for uuid in seen {
        memory.remember(
            Flow {
                owner: "inside",
                recipient: "partner",
            },
            uuid,
            true,
        );
    }
    let body = body.to_string();
    evaluate_with(
        cfg,
        &exchange(
            "192.0.2.10",
            "misp-partner.example",
            "POST",
            path,
            body.as_bytes(),
        ),
        &memory,
    )
}

/// A pull: `from` GETs `path` at `to`, which answers `body`.
fn pull(
    cfg: &Config,
    from: &str,
    to: &str,
    path: &str,
    body: &Value,
    user_org: Option<&str>,
) -> Result<(), Block> {
    let body = body.to_string();
    evaluate(
        cfg,
        &Case {
            response: Some((
                body.as_bytes(),
                ResponseContext {
                    user_org_uuid: user_org,
                    status: None,
                },
            )),
            ..exchange(from, to, "GET", path, b"")
        },
    )
}

fn attribute(kind: &str, category: &str) -> Value {
    json!({"uuid": "0d1e2f30-4152-6374-8596-a7b8c9d0e1f2", "type": kind, "category": category,
           "value": "SECRET-VALUE-DO-NOT-LOG", "distribution": "5", "to_ids": true})
}

/// An attribute as MISP shows it as a relationship's target: with the row
/// of its event (one every instance has seen) and of its object (none).
fn related_attribute(kind: &str, category: &str) -> Value {
    let mut a = attribute(kind, category);
    a["Event"] = json!({"uuid": SEEN_EVENT, "distribution": "1", "info": "x"});
    a["Object"] = json!({"id": null, "name": null, "distribution": null});
    a
}

fn event() -> Value {
    json!({"Event": {
        "uuid": EVENT_UUID, "info": "test", "distribution": "3", "sharing_group_id": "0",
        "Tag": [{"name": "tlp:green"}],
        "Attribute": [attribute("ip-src", "Network activity")],
        "Object": [{"name": "domain-ip", "distribution": "5", "Attribute": [attribute("domain", "Network activity")]}],
        "EventReport": [{"name": "r", "distribution": "5"}]
    }})
}

fn sharing_group(uuid: &str, orgs: &[&str], all_orgs: bool) -> Value {
    json!({"uuid": uuid, "name": "sg",
           "SharingGroupOrg": orgs.iter().map(|o| json!({"Organisation": {"uuid": o}})).collect::<Vec<_>>(),
           "SharingGroupServer": [{"all_orgs": all_orgs, "server_id": "0"}]})
}

type Mutation = fn(&mut Value);

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

#[test]
fn x_user_org_uuid_limits_pulled_sharing_groups() {
    let cfg = config();
    let places: [Mutation; 3] = [
        |e| e["Event"]["SharingGroup"] = sharing_group(SG_OTHER, &[ORG_MEMBER], false),
        |e| {
            e["Event"]["Attribute"][0]["distribution"] = json!(4);
            e["Event"]["Attribute"][0]["SharingGroup"] =
                sharing_group(SG_OTHER, &[ORG_MEMBER], false)
        },
        |e| {
            e["Event"]["Object"][0]["distribution"] = json!("4");
            e["Event"]["Object"][0]["SharingGroup"] = sharing_group(SG_OTHER, &[ORG_MEMBER], false)
        },
    ];
    for place in places {
        let mut e = event();
        place(&mut e);
        let b = pull(
            &cfg,
            "198.51.100.20",
            "misp-inside.example",
            VIEW,
            &e,
            Some(ORG_OUTSIDER),
        )
        .unwrap_err();
        assert_eq!(b.rule, Rule::UserOrgNotInSharingGroup);
        assert_eq!(
            b.message,
            format!(
                "user with organisation uuid: {ORG_OUTSIDER} (X-UserOrgUUID) not in sharing group"
            )
        );
        pull(
            &cfg,
            "198.51.100.20",
            "misp-inside.example",
            VIEW,
            &e,
            Some(&ORG_MEMBER.to_uppercase()),
        )
        .expect("member");
        pull(&cfg, "198.51.100.20", "misp-inside.example", VIEW, &e, None)
            .expect("no header, no check");
    }
    // A sharing-group server with all_orgs lets every organisation in; a
    // missing SharingGroupServer list is an empty one.
    let mut e = event();
    e["Event"]["SharingGroup"] = sharing_group(SG_OTHER, &[], true);
    pull(
        &cfg,
        "198.51.100.20",
        "misp-inside.example",
        VIEW,
        &e,
        Some(ORG_OUTSIDER),
    )
    .expect("all_orgs");
    e["Event"]["SharingGroup"]["SharingGroupServer"] = json!([{"all_orgs": "1"}]);
    pull(
        &cfg,
        "198.51.100.20",
        "misp-inside.example",
        VIEW,
        &e,
        Some(ORG_OUTSIDER),
    )
    .expect("all_orgs as \"1\"");
    e["Event"]["SharingGroup"]
        .as_object_mut()
        .unwrap()
        .remove("SharingGroupServer");
    pull(
        &cfg,
        "198.51.100.20",
        "misp-inside.example",
        VIEW,
        &e,
        Some(ORG_OUTSIDER),
    )
    .expect_err("no server list");
}

#[test]
fn malformed_bodies_are_blocked() {
    let cfg = config();
    let raw = |body: &[u8]| push_raw(&cfg, "/events/add/metadata:1", body);
    let good = event().to_string();
    raw(good.as_bytes()).expect("the base event passes");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("not JSON", b"message".to_vec()),
        ("truncated", good.as_bytes()[..good.len() - 3].to_vec()),
        ("trailing garbage", format!("{good} x").into_bytes()),
        ("UTF-8 BOM", [b"\xEF\xBB\xBF".as_slice(), good.as_bytes()].concat()),
        ("no Event key", br#"{"event":{"distribution":"1"}}"#.to_vec()),
        ("Event in an array", format!("[{good}]").into_bytes()),
        ("duplicate Tag key", br#"{"Event":{"distribution":"1","Tag":[],"Tag":[{"name":"tlp:red"}]}}"#.to_vec()),
        ("duplicate distribution", br#"{"Event":{"distribution":"1","distribution":"0"}}"#.to_vec()),
        ("duplicate Event", br#"{"Event":{"distribution":"1"},"Event":{"distribution":"0"}}"#.to_vec()),
        ("duplicate attribute type", br#"{"Event":{"distribution":"1","Attribute":[{"type":"ip-src","category":"Other","type":"email"}]}}"#.to_vec()),
        ("missing distribution", br#"{"Event":{"info":"x"}}"#.to_vec()),
        ("distribution 0.0", br#"{"Event":{"distribution":0.0}}"#.to_vec()),
        ("distribution \"00\"", br#"{"Event":{"distribution":"00"}}"#.to_vec()),
        ("distribution \" 0\"", br#"{"Event":{"distribution":" 0"}}"#.to_vec()),
        ("distribution 6", br#"{"Event":{"distribution":6}}"#.to_vec()),
        ("distribution -1", br#"{"Event":{"distribution":-1}}"#.to_vec()),
        ("distribution huge", br#"{"Event":{"distribution":1e400}}"#.to_vec()),
        ("distribution null", br#"{"Event":{"distribution":null}}"#.to_vec()),
        ("attribute without type", br#"{"Event":{"distribution":"1","Attribute":[{"category":"Other"}]}}"#.to_vec()),
        ("object without distribution", br#"{"Event":{"distribution":"1","Object":[{"name":"x","Attribute":[]}]}}"#.to_vec()),
        ("Attribute as an object", br#"{"Event":{"distribution":"1","Attribute":{"0":{"type":"a","category":"b"}}}}"#.to_vec()),
        ("Tag as a string", br#"{"Event":{"distribution":"1","Tag":"tlp:red"}}"#.to_vec()),
        ("tag without name", br#"{"Event":{"distribution":"1","Tag":[{"id":"1"}]}}"#.to_vec()),
        ("tag name not a string", br#"{"Event":{"distribution":"1","Tag":[{"name":7}]}}"#.to_vec()),
        ("sharing group without uuid", br#"{"Event":{"distribution":"4","SharingGroup":{"name":"x"}}}"#.to_vec()),
        ("sharing group as a non-empty array", br#"{"Event":{"distribution":"4","SharingGroup":[{"uuid":"b9e656ba-b9c0-4506-83ed-7b54b43a57cb"}]}}"#.to_vec()),
        ("lone surrogate", br#"{"Event":{"distribution":"1","Tag":[{"name":"tlp:\ud800red"}]}}"#.to_vec()),
        ("deep nesting", format!(
            "{{\"Event\":{{\"distribution\":\"1\",\"Note\":[{}{{\"distribution\":\"1\"}}{}]}}}}",
            "{\"distribution\":\"1\",\"Note\":[".repeat(200),
            "]}".repeat(200)
        ).into_bytes()),
        ("relationship to an unknown type", br#"{"Event":{"distribution":"1","Relationship":[{"distribution":"1","related_object_type":"Organisation","related_object":{"Organisation":{"name":"x"}}}]}}"#.to_vec()),
    ];
    for (name, body) in cases {
        let b = raw(&body).expect_err(name);
        assert!(
            matches!(
                b.rule,
                Rule::MalformedBody | Rule::UninspectableRelation | Rule::UnknownKey
            ),
            "{name}: {b}"
        );
    }
    // Shapes PHP produces for empty values are understood, not refused.
    raw(br#"{"Event":{"distribution":"1","SharingGroup":[],"Tag":null,"Attribute":null,"Object":[],"Galaxy":[]}}"#)
        .expect("PHP empties");
}

/// The long lists are judged while they are read (model/event.rs): the
/// verdict must not depend on where they stand among the event's keys, and
/// nothing after the first refused element may go unparsed.
#[test]
fn list_verdicts_do_not_depend_on_key_order() {
    let cfg = config();
    let raw = |body: &str| push_raw(&cfg, "/events/add/metadata:1", body.as_bytes());
    let bad_attribute = r#"{"type":"email","category":"Other","distribution":"5"}"#;
    let bad_object = r#"{"name":"person","distribution":"5"}"#;
    // Lists first, then the event's own fields: the event's tag still wins,
    // then attributes before objects, as misp-guard orders them.
    let lists_first = format!(
        r#"{{"Event":{{"Object":[{bad_object}],"Attribute":[{bad_attribute}],"Tag":[{{"name":"tlp:red"}}],"distribution":"1"}}}}"#
    );
    assert_eq!(raw(&lists_first).unwrap_err().rule, Rule::BlockedTag);
    let no_tag = lists_first.replace("tlp:red", "tlp:green");
    assert_eq!(raw(&no_tag).unwrap_err().rule, Rule::BlockedAttributeType);
    let no_attribute = no_tag.replace("email", "ip-src");
    assert_eq!(
        raw(&no_attribute).unwrap_err().rule,
        Rule::BlockedObjectType
    );
    // A refused element does not end the reading: a malformed one after it
    // makes the whole body malformed, exactly as when nothing was refused.
    let late_malformed = format!(
        r#"{{"Event":{{"distribution":"1","Attribute":[{bad_attribute},{{"category":"Other"}}]}}}}"#
    );
    assert_eq!(raw(&late_malformed).unwrap_err().rule, Rule::MalformedBody);
    // A second list under the same key is a duplicate, whichever list is
    // refused.
    let twice = format!(
        r#"{{"Event":{{"distribution":"1","Attribute":[],"Attribute":[{bad_attribute}]}}}}"#
    );
    let b = raw(&twice).unwrap_err();
    assert_eq!(b.rule, Rule::MalformedBody, "{b}");
    assert!(b.message.contains("duplicate field `Attribute`"), "{b}");
    // The outer fields of a wrapped push are ignored by MISP, so a refused
    // element there is no reason (its shape is still checked).
    let outer = format!(
        r#"{{"Attribute":[{bad_attribute}],"Event":{{"distribution":"1","Attribute":[]}}}}"#
    );
    raw(&outer).expect("outer lists of a wrapped push are not the event");
}

#[test]
fn parse_error_messages_never_quote_body_values() {
    let cfg = config();
    let body = br#"{"Event":{"distribution":"SECRET-VALUE-DO-NOT-LOG"}}"#;
    let b = evaluate(
        &cfg,
        &exchange(
            "192.0.2.10",
            "misp-partner.example",
            "POST",
            "/events/add",
            body,
        ),
    )
    .unwrap_err();
    assert!(!b.to_string().contains("SECRET"), "{b}");
    let body =
        br#"{"Event":{"distribution":"1","Attribute":[{"category":"x","type":["SECRET-VALUE"]}]}}"#;
    let b = push(
        &cfg,
        "192.0.2.10",
        "misp-partner.example",
        "/events/add",
        &serde_json::from_slice(body).unwrap(),
    )
    .unwrap_err();
    assert!(!b.to_string().contains("SECRET"), "{b}");
}

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
fn pulled_lists_are_checked_element_by_element() {
    let cfg = config();
    let u = "4c2d2f0e-7a1b-4e8c-9d3f-1a2b3c4d5e6f";
    let pl = |path: &str, body: Value| {
        pull(
            &cfg,
            "198.51.100.20",
            "misp-inside.example",
            path,
            &body,
            None,
        )
    };
    let analyst = format!("/analyst_data/index/Note/uuid[]:{u}/uuid[]:{u}.json");
    // misp-guard stops after the first element; we do not.
    pl(
        &analyst,
        json!([{"Note": {"distribution": "1"}}, {"Note": {"distribution": "0"}}]),
    )
    .expect_err("second note");
    pl(
        &analyst,
        json!([{"Note": {"distribution": "1"}}, {"Opinion": {"distribution": "2"}}]),
    )
    .expect("notes");
    let sa =
        "/shadow_attributes/index/all:1/timestamp:0/limit:1000/page:1/deleted[]:0/deleted[]:1.json";
    pl(sa, json!([{"ShadowAttribute": attribute("ip-src", "Other")}, {"ShadowAttribute": attribute("email", "Other")}])).expect_err("proposal");
    pl(sa, json!([])).expect("no proposals");
    let view = format!("/galaxy_clusters/view/{u}");
    pl(&view, json!({"GalaxyCluster": {"distribution": 0}})).expect_err("cluster");
    pl(&view, json!({"GalaxyCluster": {"distribution": 3}})).expect("cluster");
    pl(
        VIEW,
        json!({"name": "Not Found", "message": "Invalid event", "url": "/events/view/x"}),
    )
    .expect_err("no Event");
}

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
    // The wrapper's own fields are ignored by MISP, so by us.
    raw(&format!(r#"{{"Tag":[{{"name":"tlp:red"}}],"Event":{ok}}}"#))
        .expect("outer fields ignored");
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

#[test]
fn json_escapes_are_read_as_the_receiver_reads_them() {
    let cfg = config();
    let raw = |body: &str| push_raw(&cfg, "/events/add", body.as_bytes());
    for body in [
        r#"{"Event":{"distribution":"1","Tag":[{"name":"tlp:\u0072ed"}]}}"#,
        r#"{"Event":{"distribution":"1","Tag":[{"name":"TLP:\u0052ED"}]}}"#,
        r#"{"Event":{"distribution":"\u0030"}}"#,
        r#"{"Event":{"distribution":"1","Attribute":[{"type":"pass\u0070ort-number","category":"Other"}]}}"#,
        r#"{"Event":{"distribution":"1","Object":[{"name":"PERSO\u004e","distribution":"1"}]}}"#,
        r#"{"\u0045vent":{"distribution":"0"}}"#,
    ] {
        assert!(raw(body).is_err(), "{body}");
    }
}

/// JSON escapes in the body's text (`\u0072`, not Rust's `\u{72}`, which
/// never reaches the engine as an escape): a tag value and the keys around
/// it are read as MISP's `json_decode` reads them, so the refusal is the
/// blocked tag the escapes spell — a guard that skipped an escaped key it
/// does not know would let it through, one that refused it unread would
/// name another rule. Each with an allowed twin, pushed and pulled.
#[test]
fn json_unicode_escapes_in_tags_and_keys_are_judged_as_decoded() {
    let cfg = config();
    let plain = event().to_string();
    let tag = r#""Tag":[{"name":"tlp:green"}]"#;
    assert!(plain.contains(tag), "{plain}");
    let red = r#""Tag":[{"name":"tlp:red"}]"#;
    // (what, replacements in the plain event's text for the blocked body,
    // then for its allowed twin)
    type Edits<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, Edits, Edits); 4] = [
        (
            "escaped tag value",
            &[(tag, r#""Tag":[{"name":"tlp:\u0072ed"}]"#)],
            &[(tag, r#""Tag":[{"name":"tlp:\u0067reen"}]"#)],
        ),
        (
            "escaped key Tag",
            &[(tag, r#""T\u0061g":[{"name":"tlp:red"}]"#)],
            &[(tag, r#""T\u0061g":[{"name":"tlp:green"}]"#)],
        ),
        (
            "escaped key name, escaped value",
            &[(tag, r#""Tag":[{"n\u0061me":"tlp:\u0072ed"}]"#)],
            &[(tag, r#""Tag":[{"n\u0061me":"tlp:green"}]"#)],
        ),
        (
            "escaped key Event",
            &[(r#"{"Event":"#, r#"{"\u0045vent":"#), (tag, red)],
            &[(r#"{"Event":"#, r#"{"\u0045vent":"#)],
        ),
    ];
    let edit = |edits: Edits| {
        edits.iter().fold(plain.clone(), |text, (from, to)| {
            assert!(text.contains(from), "{from} not in {text}");
            text.replacen(from, to, 1)
        })
    };
    let pull_raw = |body: &str| {
        evaluate(
            &cfg,
            &Case {
                response: Some((
                    body.as_bytes(),
                    ResponseContext {
                        user_org_uuid: None,
                        status: None,
                    },
                )),
                ..exchange("198.51.100.20", "misp-inside.example", "GET", VIEW, b"")
            },
        )
    };
    for (what, blocked, allowed) in cases {
        let (bad, good) = (edit(blocked), edit(allowed));
        assert!(
            bad.contains("\\u00") && good.contains("\\u00"),
            "{what}: no escape sent"
        );
        for (how, result) in [
            (
                "push",
                push_raw(&cfg, "/events/add/metadata:1", bad.as_bytes()),
            ),
            ("pull", pull_raw(&bad)),
        ] {
            let b = result.expect_err(&format!("{what} ({how}) allowed"));
            assert_eq!(b.rule, Rule::BlockedTag, "{what} ({how}): {b}");
            assert!(
                b.message.contains("event has blocked tag: tlp:red"),
                "{what} ({how}): {:?}",
                b.message
            );
            assert_eq!(b.owner.as_deref(), Some("instances.inside"), "{what}");
        }
        push_raw(&cfg, "/events/add/metadata:1", good.as_bytes())
            .unwrap_or_else(|b| panic!("{what} twin (push) blocked: {b}"));
        pull_raw(&good).unwrap_or_else(|b| panic!("{what} twin (pull) blocked: {b}"));
    }
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

#[test]
fn all_orgs_is_read_where_misp_reads_it() {
    let cfg = config();
    let mut e = event();
    e["Event"]["SharingGroup"] = sharing_group(SG_OTHER, &[], true);
    let pl = |e: &Value| {
        pull(
            &cfg,
            "198.51.100.20",
            "misp-inside.example",
            VIEW,
            e,
            Some(ORG_OUTSIDER),
        )
    };
    pl(&e).expect("all_orgs");
    // A nested Server wins over the outer flag.
    e["Event"]["SharingGroup"]["SharingGroupServer"][0]["Server"] = json!({"all_orgs": false});
    pl(&e).expect_err("inner all_orgs false");
    e["Event"]["SharingGroup"]["SharingGroupServer"][0]["all_orgs"] = json!(false);
    e["Event"]["SharingGroup"]["SharingGroupServer"][0]["Server"] = json!({"all_orgs": "1"});
    pl(&e).expect("inner all_orgs true");
}

#[test]
fn push_bodies_must_be_declared_json() {
    let cfg = config();
    let body = event().to_string();
    let with = |ct: Option<&str>| {
        evaluate(
            &cfg,
            &Case {
                request_content_type: ct,
                ..exchange(
                    "192.0.2.10",
                    "misp-partner.example",
                    "POST",
                    "/events/add",
                    body.as_bytes(),
                )
            },
        )
    };
    with(Some("application/json")).expect("json");
    with(Some("Application/JSON; charset=UTF-8")).expect("json with charset");
    for ct in [
        None,
        Some("application/xml"),
        Some("text/xml"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
        Some(""),
    ] {
        let b = with(ct).unwrap_err();
        assert_eq!(b.rule, Rule::MalformedBody, "{ct:?}: {b}");
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

#[test]
fn fuzzing_findings_stay_fixed() {
    let cfg = config();
    // A pulled body with a `response` member beside the event.
    let clean = event();
    let mut bad = event();
    bad["Event"]["Tag"][0]["name"] = json!("tlp:red");
    let body = json!({"Event": clean["Event"], "response": bad});
    let b = pull(
        &cfg,
        "198.51.100.20",
        "misp-inside.example",
        VIEW,
        &body,
        None,
    )
    .unwrap_err();
    assert_eq!(b.rule, Rule::MalformedBody, "{b}");
    // Look-alike tag names MySQL's collation would take for the blocked one.
    for name in [
        "ｔｌｐ:ｒｅｄ",
        "tlp:red\u{a0}",
        "tlp:r\u{200b}ed",
        "tlp:réd",
    ] {
        let mut e = event();
        e["Event"]["Tag"][0]["name"] = json!(name);
        let b = push(
            &cfg,
            "192.0.2.10",
            "misp-partner.example",
            "/events/add",
            &e,
        )
        .unwrap_err();
        assert_eq!(b.rule, Rule::BlockedTag, "{name:?}: {b}");
    }
    // An embedded galaxy cluster without a distribution still has its
    // sharing group checked against X-UserOrgUUID.
    let mut e = event();
    e["Event"]["Galaxy"] = json!([{"GalaxyCluster": [{"SharingGroup": sharing_group(SG_OTHER, &[ORG_MEMBER], false)}]}]);
    pull(
        &cfg,
        "198.51.100.20",
        "misp-inside.example",
        VIEW,
        &e,
        Some(ORG_OUTSIDER),
    )
    .expect_err("cluster SG");
    pull(
        &cfg,
        "198.51.100.20",
        "misp-inside.example",
        VIEW,
        &e,
        Some(ORG_MEMBER),
    )
    .expect("member");
    // Invalid UTF-8 in a field no rule reads.
    let mut raw = event().to_string().into_bytes();
    let at = raw.windows(4).position(|w| w == b"test").unwrap();
    raw[at] = 0xFF;
    let b = evaluate(
        &cfg,
        &exchange(
            "192.0.2.10",
            "misp-partner.example",
            "POST",
            "/events/add",
            &raw,
        ),
    )
    .unwrap_err();
    assert!(b.message.contains("not UTF-8"), "{b}");
}

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

#[test]
fn response_statuses_without_content() {
    let cfg = config();
    let pull_status = |body: &str, status: Option<u16>| {
        evaluate(
            &cfg,
            &Case {
                request_content_type: None,
                response: Some((
                    body.as_bytes(),
                    ResponseContext {
                        user_org_uuid: None,
                        status,
                    },
                )),
                ..exchange("198.51.100.20", "misp-inside.example", "GET", VIEW, b"")
            },
        )
    };
    pull_status("", Some(304)).expect("304 carries nothing");
    pull_status("", Some(204)).expect("204 carries nothing");
    pull_status("", Some(200)).expect_err("an empty 200 is not an event");
    pull_status("", None).expect_err("unknown status is 200");
    // A 304 that does carry a body is judged like any other.
    pull_status(r#"{"Event":{"distribution":"0"}}"#, Some(304)).expect_err("body on a 304");
    // MISP's own JSON error carries no data: it passes (misp-guard refuses
    // it, and MISP then logs a refusal instead of "not found"). Anything
    // else in an error is judged as the endpoint's body.
    pull_status(
        r#"{"name":"Not Found","message":"x","url":"/events/view"}"#,
        Some(404),
    )
    .expect("MISP's error");
    pull_status(r#"{"Event":{"distribution":"0"}}"#, Some(404)).expect_err("an event in a 404");
    pull_status(
        r#"{"name":"Not Found","message":"x","url":"/events/view"}"#,
        Some(200),
    )
    .expect_err("no Event in a 200");
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
