//! Table-driven tests of the engine: each rule at each level, each with an
//! allowed twin that differs only in the offending value.
//!
//! This file holds the shared fixtures (the configuration, the exchange a
//! test describes and its judge, the base event); the tests are grouped by
//! theme in the modules below.

use super::*;
use crate::config::Config;
use serde_json::{Value, json};
use std::net::IpAddr;

mod arriving;
mod content;
mod endpoints;
mod feeds;
mod parsing;
mod pulls;
mod routing;
mod shapes;

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
    let case = super::Case {
        connection,
        request: &request,
        framing: Framing::default(),
        request_body: case.request_body,
        response: response.as_ref().zip(case.response.map(|(b, _)| b)),
    };
    // Every exchange of these tests is also judged as its bodies arrive,
    // in chunks of several sizes, and by the reader the judge had before
    // (serde_json): each from the memory this one starts from, each with
    // the same verdict.
    let before = memory.copy();
    let verdict = super::evaluate(cfg, &case, memory);
    for cut in [usize::MAX, 7, 1] {
        if cut == 1
            && case
                .request_body
                .len()
                .max(case.response.map_or(0, |r| r.1.len()))
                > 1 << 16
        {
            continue;
        }
        let arriving = evaluate_arriving(cfg, &case, &before.copy(), cut);
        assert_eq!(
            arriving, verdict,
            "the bodies arriving in chunks of {cut} bytes"
        );
    }
    let reference = read::with_serde_json(|| super::evaluate(cfg, &case, &before.copy()));
    assert_eq!(reference, verdict, "read with serde_json");
    verdict
}

/// [`super::evaluate`] with each body arriving in chunks of `cut` bytes
/// (and an empty chunk between two).
fn evaluate_arriving(
    cfg: &Config,
    case: &super::Case,
    memory: &EventVerdicts,
    cut: usize,
) -> Result<(), Block> {
    let arrival = |body: &[u8]| {
        let pieces = body
            .chunks(cut.min(body.len().max(1)))
            .flat_map(|c| [bytes::Bytes::copy_from_slice(c), bytes::Bytes::new()]);
        crate::json::Arrival::from_chunks(pieces)
    };
    let admitted = judge_head(cfg, &case.connection, case.request, case.framing)?;
    let kind = admitted.kind;
    let facts = judge_request_body_arriving(
        cfg,
        &kind,
        &case.request.headers,
        &arrival(case.request_body),
        memory,
    )?;
    if let Some((response, body)) = case.response {
        judge_response_arriving(cfg, &kind, &facts, response, &arrival(body), memory)?;
    }
    Ok(())
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
