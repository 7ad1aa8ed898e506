//! The misp-guard scenarios replayed by `tests/parity.rs` (with `misp-warden
//! eval`) and `tests/e2e_parity.rs` (through the live daemon in the
//! namespace lab): `mod parity_scenarios;` in a test crate.
//!
//! A scenario is one exchange — source, destination, method, path, request
//! body or response fixture, response headers — with misp-guard's verdict,
//! and the allowed *twins* of a blocked one (the same exchange with only the
//! offending value changed). Addresses, host names and instance ids are
//! those of `tests/fixtures/parity/config.json` (table in `tests/parity.rs`).
//!
//! This file holds the addresses, paths and uuids the scenarios share and
//! [`all_groups`]; the model ([`Scenario`], [`Twin`], [`Expect`]) is in
//! `model.rs`, the fixtures' twins in `twins.rs`, running `eval` in
//! `eval.rs`, and each of misp-guard's groups in a file of its own. Every
//! public item is reachable here, as `parity_scenarios::NAME`.
#![allow(dead_code)]

pub mod closed_world;
mod eval;
mod feeds;
mod model;
mod pulls;
mod pushes;
mod twins;
mod unit_tests;

pub use eval::*;
pub use feeds::feed_scenarios;
pub use model::*;
pub use pulls::pull_scenarios;
pub use pushes::push_scenarios;
pub use twins::*;
pub use unit_tests::unit_scenarios;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};

// Client IPs (`--from`) and destinations (`--to`).
pub const ALPHA_1: &str = "192.0.2.11";
pub const ALPHA_2: &str = "192.0.2.12";
pub const BRAVO_2: &str = "198.51.100.22";
pub const CHARLIE_1: &str = "203.0.113.31";
pub const DELTA_1: &str = "2001:db8::41";
pub const TO_ALPHA_1: &str = "alpha1.zone-a.example:443";
pub const TO_ALPHA_2: &str = "alpha2.zone-a.example:443";
pub const TO_BRAVO_1: &str = "bravo1.zone-b.example:443";
pub const TO_DELTA_1: &str = "delta1.zone-d.example:443";

pub const UNKNOWN_CLIENT: &str = "192.0.2.200";
pub const ALLOWED_DOMAIN: &str = "downloads.mirror.example:443";
pub const ALLOWED_URL_HOST: &str = "lists.zone-x.test:443";
pub const ALLOWED_URL_TARGET: &str = "/exits/?plain";

pub const SG_OTHER: &str = "7c1e2f30-4a5b-4c6d-8e7f-901a2b3c4d5e";
/// The organisation listed in the sharing groups of the X-UserOrgUUID fixtures.
pub const ORG_MEMBER: &str = "3f2e1d0c-b9a8-4765-8432-10fedcba9876";
/// An organisation in none of them.
pub const ORG_OUTSIDER: &str = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a";

pub const EVENT_UUID: &str = "6e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
pub const CLUSTER_UUID: &str = "4b3a2918-0706-4f5e-8d4c-3b2a19080706";
pub const SIGHTING_EVENT_UUID: &str = "1c2d3e4f-5a6b-4c7d-9e8f-0a1b2c3d4e5f";

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity")
}

pub fn ev_path() -> String {
    format!(
        "/events/view/{EVENT_UUID}/deleted[]:0/deleted[]:1/excludeGalaxy:1/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0/excludeLocalTags:1"
    )
}

pub const SA_PATH: &str =
    "/shadow_attributes/index/all:1/timestamp:0/limit:1000/page:1/deleted[]:0/deleted[]:1.json";
pub const AD_PATH: &str = "/events/add/metadata:1";

pub fn ed_path() -> String {
    format!("/events/edit/{EVENT_UUID}/metadata:1")
}

/// The `Event.uuid` of a pushed fixture, when it has one.
fn fixture_event_uuid(fixture: &str) -> Option<String> {
    let text = std::fs::read(fixture_dir().join(fixture)).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let event = v.get("Event").unwrap_or(&v);
    event["uuid"].as_str().map(str::to_ascii_lowercase)
}

/// The events a guard that has been running would remember letting
/// through for this scenario: the event in the path of a pushed proposal
/// or sighting, and the events pulled proposals and sightings belong to.
/// (Cold, the guard refuses those until it has seen their event: a
/// deliberate difference from misp-guard, listed in docs/migration.md.)
pub fn seen_events(s: &Scenario) -> Vec<String> {
    // A scenario that says what the guard remembers (the closed-world
    // family: a refusal because the guard has not seen an event, its twin
    // because it has) is taken at its word.
    if let Some(seen) = &s.seen {
        return seen.iter().map(|u| u.to_string()).collect();
    }
    let mut seen = Vec::new();
    for prefix in ["/events/pushProposals/", "/sightings/bulkSaveSightings/"] {
        if let Some(uuid) = s.path.strip_prefix(prefix) {
            seen.push(uuid.to_string());
        }
    }
    for p in [&s.body, &s.response].into_iter().flatten() {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&payload_bytes(p)) {
            collect_event_uuids(&v, false, &mut seen);
        }
    }
    seen
}

/// Every event a body shows without its tags or belongs to: proposals' and
/// sightings' `event_uuid`, analyst data on an event, and the event rows
/// under a relationship's `related_object`.
fn collect_event_uuids(v: &serde_json::Value, in_related: bool, out: &mut Vec<String>) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            if m.get("object_type").and_then(Value::as_str) == Some("Event")
                && let Some(u) = m.get("object_uuid").and_then(Value::as_str)
            {
                out.push(u.to_string());
            }
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("event_uuid", Value::String(u)) => out.push(u.clone()),
                    ("Event", Value::Object(e)) if in_related => {
                        if let Some(u) = e.get("uuid").and_then(Value::as_str) {
                            out.push(u.to_string());
                        }
                        collect_event_uuids(v, in_related, out);
                    }
                    ("related_object", _) => collect_event_uuids(v, true, out),
                    _ => collect_event_uuids(v, in_related, out),
                }
            }
        }
        Value::Array(a) => a
            .iter()
            .for_each(|v| collect_event_uuids(v, in_related, out)),
        _ => {}
    }
}

pub fn analyst_path(kind: &str, uuid: &str) -> String {
    format!("/analyst_data/index/{kind}/uuid[]:{uuid}.json")
}

/// A string for a scenario built at run time (a path with a UUID in it).
pub fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// Every scenario of the four groups, in the order `tests/parity.rs` runs
/// them: (group, scenarios).
pub fn all_groups() -> Vec<(&'static str, Vec<Scenario>)> {
    vec![
        ("pull", pull_scenarios()),
        ("push", push_scenarios()),
        ("unit", unit_scenarios()),
        ("feed", feed_scenarios()),
    ]
}
