//! The closed-world family (issue 13): what MISP acts on that a guard
//! reading only the keys it knows would let cross, each case with the
//! verdict of the closed-world spec (the rule that refuses it, and
//! the key or the event it names) and, beside it where they differ,
//! misp-guard's (read off its `mispguard.py`).
//!
//! Every refusal carries at least one **harmless twin**: the exact request
//! or answer MISP 2.5's own sync sends on that endpoint (the documents of
//! `tests/fixtures/closed_world/`, read off MISP's source:
//! `ServerSyncTool.php`, `Server.php`, `Event::fetchEvent` and
//! `JSONConverterTool` for events, the controllers for the rest), which
//! must pass — a guard that breaks MISP's sync is as useless as one that
//! leaks. Most refusals are that twin with one thing changed.
//!
//! Flows (the parity config, `tests/parity.rs`):
//! - pushes: bravo_2 → bravo_1 (rules without a required taxonomy), and
//!   delta_1 → alpha_1 where the required `tlp` taxonomy matters;
//! - pulls and filters: alpha_2 pulls from alpha_1 (alpha_1's rules);
//! - analyst data pushes: alpha_1 → alpha_2, as misp-guard's scenarios.
//!
//! Run through `misp-warden eval` by `tests/closed_world.rs`, and through
//! the live daemon by `tests/e2e_bypass.rs` (the closed-world corpus).
//!
//! This file holds the family's uuids, reason words, documents and
//! builders, and [`closed_world_groups`]; the classes are in the modules
//! below, each reachable here as `closed_world::NAME`.

use super::*;

mod endpoints;
mod event_rows;
mod filters_and_sightings;
mod unsent_keys;
mod views;

pub use endpoints::endpoints_and_answers;
pub use event_rows::{event_targets, reference_copies, required_taxonomy};
pub use filters_and_sightings::{filters, sightings_pulls};
pub use unsent_keys::event_keys;
pub use views::{cluster_extras, correlations};

/// Events (uuids made up; documentation only).
pub const EV_PUSH: &str = "e1e1e1e1-0000-4000-8000-000000000001";
pub const EV_PULL: &str = "e2e2e2e2-0000-4000-8000-000000000002";
/// An event the guard let through before (`--seen-event`) in the twins.
pub const EV_SEEN: &str = "e3e3e3e3-0000-4000-8000-000000000003";
/// An event the guard never let through.
pub const EV_UNSEEN: &str = "e4e4e4e4-0000-4000-8000-000000000004";
pub const EV_OTHER: &str = "e5e5e5e5-0000-4000-8000-000000000005";
/// Every event uuid of the family: the live corpus gives each run its own
/// copies, so that what one run makes the daemon remember cannot help
/// another.
pub const EVENT_UUIDS: [&str; 5] = [EV_PUSH, EV_PULL, EV_SEEN, EV_UNSEEN, EV_OTHER];

pub const ORG_A: &str = "a0a0a0a0-0000-4000-8000-00000000000a";
pub const ORG_B: &str = "b0b0b0b0-0000-4000-8000-00000000000b";
pub const ORG_C: &str = "c0c0c0c0-0000-4000-8000-00000000000c";
/// Attributes of the pushed event, of the pulled event, and one in neither.
pub const A1: &str = "a1000000-0000-4000-8000-000000000001";
pub const PA1: &str = "a2000000-0000-4000-8000-000000000001";
pub const PO1: &str = "0b200000-0000-4000-8000-000000000001";
pub const ABSENT: &str = "a9000000-0000-4000-8000-000000000009";
pub const ABSENT_OBJECT: &str = "0b900000-0000-4000-8000-000000000009";
/// The galaxy cluster viewed.
pub const CL1: &str = "c1000000-0000-4000-8000-000000000001";
/// Blocked by every instance of the parity config.
pub const SG_BLOCKED: &str = "5a0c7e3e-1d2b-4c8e-9f10-2b3c4d5e6f70";

// What a refusal's reason must contain: the rule id, as the reason ends
// with `(rule <config path>)` whose last part it is.
pub const UNKNOWN_KEY: &str = "unknown_key)";
pub const UNJUDGED_EVENT: &str = "unjudged_event)";
pub const MALFORMED: &str = "malformed_body)";
pub const ENDPOINT: &str = "(rule endpoint)";
pub const MINIMAL: &str = "minimal_published)";
pub const BLOCKED_TAGS: &str = "blocked_tags)";
pub const REQUIRED: &str = "required_taxonomies)";
pub const DISTRIBUTION: &str = "blocked_distribution_levels)";
pub const SHARING_GROUP: &str = "blocked_sharing_groups_uuids)";
pub const TYPES: &str = "blocked_attribute_types)";
pub const CATEGORIES: &str = "blocked_attribute_categories)";
pub const OBJECT_TYPES: &str = "blocked_object_types)";

/// A block whose reason contains every one of `words` (a rule id of the
/// constants above first).
pub fn refuse(words: &[&'static str]) -> Expect {
    Expect::Block(words.to_vec())
}

/// misp-guard's answer to a request outside its endpoint list.
pub fn mg_endpoint() -> Expect {
    block("endpoint not allowed")
}

/// MISP 2.5's own requests and answers.
pub const PUSHED_EVENT: &str = "closed_world/pushed_event.json";
pub const PULLED_EVENT: &str = "closed_world/pulled_event.json";
pub const INDEX_MINIMAL: &str = "closed_world/events_index_minimal.json";
pub const INDEX_FULL: &str = "closed_world/events_index_full.json";
pub const CLUSTERS_MINIMAL: &str = "closed_world/clusters_search_minimal.json";
pub const CLUSTERS_FULL: &str = "closed_world/clusters_search_full.json";
pub const SIGHTINGS_ANSWER: &str = "closed_world/sightings_answer.json";
pub const SIGHTINGS_PUSH: &str = "closed_world/sightings_push.json";
pub const PROPOSALS_INDEX: &str = "closed_world/shadow_attributes_index.json";
pub const PROPOSALS_PUSH: &str = "closed_world/proposals_push.json";
pub const CLUSTER_VIEW: &str = "closed_world/cluster_view.json";
pub const ANALYST_INDEX: &str = "closed_world/analyst_index_relationship.json";
pub const ANALYST_PUSH_RELATIONSHIP: &str = "closed_world/analyst_push_relationship.json";
pub const ANALYST_PUSH_NOTE: &str = "closed_world/analyst_push_note.json";
pub const FILTER_EVENT_IDS: &str = "closed_world/filter_event_ids.json";
pub const PUSH_ANSWER: &str = "closed_world/push_answer.json";

pub fn file(f: &'static str) -> Payload {
    Payload::File(f)
}

/// A MISP document with some values changed (JSON pointers).
pub fn edited(f: &'static str, edits: &[Edit]) -> Payload {
    apply_edits(&Payload::File(f), edits).unwrap_or_else(|e| panic!("{f}: {e}"))
}

pub fn json_payload(v: Value) -> Payload {
    Payload::Bytes(serde_json::to_vec(&v).expect("serialise"))
}

/// Bytes as written (duplicate keys, which `serde_json::Value` cannot hold).
pub fn raw(text: &str) -> Payload {
    Payload::Bytes(text.as_bytes().to_vec())
}

/// `GET /events/view/{uuid}` with the parameters MISP's own pull sends
/// (SRV:553-566), `extra` appended.
pub fn view_path(uuid: &str, extra: &str) -> String {
    format!(
        "/events/view/{uuid}/deleted[]:0/deleted[]:1/excludeGalaxy:1/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0/excludeLocalTags:1{extra}"
    )
}

pub const INDEX: &str = "/events/index";
pub const CLUSTER_SEARCH: &str = "/galaxy_clusters/restSearch";
pub const SIGHTINGS_SEARCH: &str = "/sightings/restSearch/event";

/// A tag as MISP pushes it (every column of `tags`, plus the link's).
pub fn tag_row(name: &str) -> Value {
    let colour = match name {
        "tlp:clear" => "#FFFFFF",
        "tlp:amber" => "#FFC000",
        "tlp:red" => "#CC0033",
        _ => "#339900",
    };
    json!({"id": "3", "name": name, "colour": colour, "exportable": true, "org_id": "0",
           "user_id": "0", "hide_tag": false, "numerical_value": null, "is_galaxy": false,
           "is_custom_galaxy": false, "local_only": false, "local": 0, "relationship_type": null})
}

/// A `RelatedEvent` element (EM:730-772): another event's row, its owners.
pub fn related_event(uuid: &str, distribution: &str) -> Value {
    let org = json!({"id": "5", "name": "ORG-B", "uuid": ORG_B});
    json!({"Event": {"id": "91", "date": "2024-09-20", "threat_level_id": "2",
        "info": "closed world: a related event", "published": true, "uuid": uuid,
        "analysis": "2", "timestamp": "1727600000", "distribution": distribution,
        "org_id": "5", "orgc_id": "5", "Org": org, "Orgc": org}})
}

/// A sharing group as analyst data carries it (ADM:279-303: no members).
fn sharing_group_of_analyst_data(uuid: &str) -> Value {
    json!({"id": "9", "name": "Closed group", "uuid": uuid, "releasability": "", "description": "",
           "org_id": "5", "active": true, "roaming": false, "local": true})
}

/// A sharing group's own columns (`SG_BARE`, as relations carry it).
fn sharing_group_bare(uuid: &str) -> Value {
    json!({"id": "9", "name": "Closed group", "releasability": "", "description": "", "uuid": uuid,
           "organisation_uuid": ORG_B, "org_id": "5", "sync_user_id": "0", "active": true,
           "created": "2024-01-01 00:00:00", "modified": "2024-01-01 00:00:00", "local": true,
           "roaming": false})
}

/// The `related_object` of a relationship whose target is an attribute:
/// the attribute's columns, its event's and object's rows (REL:70-159).
fn attribute_target(kind: &str) -> Value {
    let doc: Value = serde_json::from_slice(&payload_bytes(&file(CLUSTER_VIEW))).unwrap();
    let mut target = doc["GalaxyCluster"]["Relationship"][0]["related_object"].clone();
    target["Attribute"]["type"] = json!(kind);
    target
}

/// The guard remembers no event unless a scenario (or twin) says it
/// does: a refusal here is often "an event it has not let through".
fn cold(mut list: Vec<Scenario>) -> Vec<Scenario> {
    for s in &mut list {
        s.seen.get_or_insert_with(Vec::new);
    }
    list
}

fn push_cw(name: &'static str, path: impl Into<String>, body: Payload) -> Scenario {
    Scenario::new(name, "POST", path, BRAVO_2, TO_BRAVO_1).request(body)
}

fn push_tax(name: &'static str, path: impl Into<String>, body: Payload) -> Scenario {
    Scenario::new(name, "POST", path, DELTA_1, TO_ALPHA_1).request(body)
}

fn pull_cw(name: &'static str, path: impl Into<String>, response: Payload) -> Scenario {
    Scenario::new(name, "GET", path, ALPHA_2, TO_ALPHA_1).response(response)
}

fn post_cw(name: &'static str, path: &str, body: Payload) -> Scenario {
    Scenario::new(name, "POST", path, ALPHA_2, TO_ALPHA_1).request(body)
}

fn ed_path(uuid: &str) -> String {
    format!("/events/edit/{uuid}/metadata:1")
}

/// Every class, in the order of the issue: (group, scenarios).
pub fn closed_world_groups() -> Vec<(&'static str, Vec<Scenario>)> {
    vec![
        ("1 filters switched off", filters()),
        ("2 sightings pulls", sightings_pulls()),
        ("3 correlations in views", correlations()),
        ("4 galaxy cluster extras", cluster_extras()),
        ("5 reference copies", reference_copies()),
        ("6 required taxonomy", required_taxonomy()),
        (
            "7 event targets and analyst data of events",
            event_targets(),
        ),
        ("event keys MISP's sync never sends", event_keys()),
        (
            "endpoints, proposals, sightings, push answers",
            endpoints_and_answers(),
        ),
    ]
}
