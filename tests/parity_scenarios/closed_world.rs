//! The closed-world family (issue 13): what MISP acts on that a guard
//! reading only the keys it knows would let cross, each case with the
//! verdict of the issue's closed-world spec (the rule that refuses it, and
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

use super::*;

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

// ---------------------------------------------------------------------------
// The classes of issue 13

/// 1. Filters switched off: `events/index` and `galaxy_clusters/restSearch`
///    read a `request` member instead of the body, case variants, `search`
///    prefixes, the last of duplicate keys; the full index answers.
pub fn filters() -> Vec<Scenario> {
    let misp_index = || {
        twin("MISP's own index request").body(json_payload(json!({"minimal": 1, "published": 1})))
    };
    let misp_index_rules = || {
        twin("MISP's index request with its pull rules").body(json_payload(json!({
            "tag": ["tlp:green", "!tlp:red"], "org": ["ORG-B"],
            "type_attribute": ["ip-src"], "type_object": ["domain-ip"],
            "minimal": 1, "published": 1})))
    };
    let index = |name, body: Value, expect| {
        post_cw(name, INDEX, json_payload(body))
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(misp_index())
            .twin(misp_index_rules())
    };
    let misp_clusters = || {
        twin("MISP's own cluster search (pull)").body(json_payload(
            json!({"published": 1, "minimal": 1, "custom": 1}),
        ))
    };
    let misp_clusters_push = || {
        twin("MISP's own cluster search (push)").body(json_payload(
            json!({"published": 1, "minimal": 1, "custom": 1, "uuid": [CL1]}),
        ))
    };
    let clusters = |name, body: Value, expect| {
        post_cw(name, CLUSTER_SEARCH, json_payload(body))
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(misp_clusters())
            .twin(misp_clusters_push())
            .twin(
                twin("MISP's cluster search for one event").body(json_payload(
                    json!({"published": 1, "minimal": 1, "custom": 1, "eventid": 88}),
                )),
            )
    };
    let index_answer = |name, response: Payload, expect| {
        Scenario::new(name, "POST", INDEX, ALPHA_2, TO_ALPHA_1)
            .request(json_payload(json!({"minimal": 1, "published": 1})))
            .response(response)
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's minimal index").response(file(INDEX_MINIMAL)))
            .twin(
                twin("304, nothing changed since the ETag")
                    .response(Payload::Bytes(Vec::new()))
                    .status(304),
            )
    };
    let clusters_answer = |name, response: Payload, expect| {
        Scenario::new(name, "POST", CLUSTER_SEARCH, ALPHA_2, TO_ALPHA_1)
            .request(json_payload(
                json!({"published": 1, "minimal": 1, "custom": 1}),
            ))
            .response(response)
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's minimal cluster list").response(file(CLUSTERS_MINIMAL)))
            .twin(twin("no clusters").response(json_payload(json!({"response": []}))))
    };
    cold(vec![
        index(
            "index: a `request` member replaces the body",
            json!({"minimal": 1, "published": 1, "request": {"minimal": 0, "published": [0, 1]}}),
            refuse(&[UNKNOWN_KEY, "request"]),
        ),
        index(
            "index: `Minimal` (MISP lower-cases the key, the last one wins)",
            json!({"minimal": 1, "published": 1, "Minimal": 0}),
            refuse(&[UNKNOWN_KEY, "Minimal"]),
        ),
        index(
            "index: `searchminimal` (MISP strips the prefix)",
            json!({"minimal": 1, "published": 1, "searchminimal": 0}),
            refuse(&[UNKNOWN_KEY, "searchminimal"]),
        ),
        post_cw(
            "index: `minimal` twice, the last one 1 (PHP keeps the last)",
            INDEX,
            raw(r#"{"minimal": 0, "published": 1, "minimal": 1}"#),
        )
        .expect(refuse(&[MALFORMED]))
        .misp_guard(Expect::Allow)
        .twin(misp_index()),
        post_cw(
            "index: `minimal` twice, the last one 0",
            INDEX,
            raw(r#"{"minimal": 1, "published": 1, "minimal": 0}"#),
        )
        .expect(refuse(&[MALFORMED]))
        .misp_guard(block(
            "{'minimal': 1, 'published': 1} is required for /events/index requests",
        ))
        .twin(misp_index()),
        post_cw(
            "index: no `minimal` at all (MISP answers the full index)",
            INDEX,
            json_payload(json!({"published": 1})),
        )
        .expect(refuse(&[MINIMAL]))
        .twin(misp_index())
        .twin(
            twin("minimal and published as MISP's own true")
                .body(json_payload(json!({"minimal": true, "published": true}))),
        )
        .twin(
            twin("minimal and published as the strings \"1\"")
                .body(json_payload(json!({"minimal": "1", "published": "1"})))
                .misp_guard(block(
                    "{'minimal': 1, 'published': 1} is required for /events/index requests",
                )),
        ),
        index(
            "index: a content oracle (`value`)",
            json!({"minimal": 1, "published": 1, "value": "198.51.100.7"}),
            refuse(&[UNKNOWN_KEY, "value"]),
        ),
        index(
            "index: `order` (passed raw into ORDER BY)",
            json!({"minimal": 1, "published": 1, "order": "Event.info ASC"}),
            refuse(&[UNKNOWN_KEY, "order"]),
        ),
        index_answer(
            "index answer: the full index (titles, tags, orgs)",
            file(INDEX_FULL),
            refuse(&[UNKNOWN_KEY]),
        ),
        index_answer(
            "index answer: a minimal row with a `Tag`",
            edited(
                INDEX_MINIMAL,
                &[set("/1/Tag", json!([{"name": "tlp:amber"}]))],
            ),
            refuse(&[UNKNOWN_KEY, "Tag"]),
        ),
        clusters(
            "cluster search: a `request` member replaces the body",
            json!({"published": 1, "minimal": 1, "custom": 1, "request": {"minimal": 0}}),
            refuse(&[UNKNOWN_KEY, "request"]),
        ),
        clusters(
            "cluster search: a filter MISP's sync never sends (`distribution`)",
            json!({"published": 1, "minimal": 1, "custom": 1, "distribution": "0"}),
            refuse(&[UNKNOWN_KEY, "distribution"]),
        ),
        post_cw(
            "cluster search: `minimal` twice, the last one 1",
            CLUSTER_SEARCH,
            raw(r#"{"published": 1, "minimal": 0, "custom": 1, "minimal": 1}"#),
        )
        .expect(refuse(&[MALFORMED]))
        .misp_guard(Expect::Allow)
        .twin(misp_clusters()),
        clusters_answer(
            "cluster search answer: full clusters",
            file(CLUSTERS_FULL),
            refuse(&[UNKNOWN_KEY]),
        ),
    ])
}

/// 2. Sightings pulls: `includeAttribute`/`includeEvent` add values, types
///    and titles; the answer carries attribute values of any event.
pub fn sightings_pulls() -> Vec<Scenario> {
    let misp = json!({"returnFormat": "json", "last": 0, "includeUuid": true, "uuid": [EV_PULL]});
    let request = |name, body: Value, expect| {
        post_cw(name, SIGHTINGS_SEARCH, json_payload(body))
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's own sightings pull").body(json_payload(misp.clone())))
            .twin(
                twin("MISP's own, with its sighting blocklist").body(json_payload(json!({
                    "returnFormat": "json", "last": 0, "includeUuid": true,
                    "uuid": [EV_PULL, EV_SEEN], "org_id": [format!("!{ORG_C}")]}))),
            )
    };
    let answer = |name, response: Payload, expect| {
        Scenario::new(name, "POST", SIGHTINGS_SEARCH, ALPHA_2, TO_ALPHA_1)
            .request(json_payload(misp.clone()))
            .response(response)
            .expect(expect)
            .misp_guard(Expect::Allow)
    };
    let mut with_attribute = misp.clone();
    with_attribute["includeAttribute"] = json!(true);
    let mut with_event = misp.clone();
    with_event["includeEvent"] = json!(true);
    cold(vec![
        request(
            "sightings pull: includeAttribute",
            with_attribute.clone(),
            refuse(&[UNKNOWN_KEY, "includeAttribute"]),
        ),
        request(
            "sightings pull: includeEvent",
            with_event,
            refuse(&[UNKNOWN_KEY, "includeEvent"]),
        ),
        request(
            "sightings pull: a `request` member replaces the body",
            json!({"request": with_attribute}),
            refuse(&[UNKNOWN_KEY, "request"]),
        ),
        answer(
            "sightings answer: of an event the guard never let through",
            file(SIGHTINGS_ANSWER),
            refuse(&[UNJUDGED_EVENT, EV_PULL]),
        )
        .twin(twin("the event was let through").seen(EV_PULL))
        .twin(twin("no sightings").response(json_payload(json!({"response": []})))),
        answer(
            "sightings answer: one of another event, never let through",
            edited(
                SIGHTINGS_ANSWER,
                &[set("/response/1/Sighting/event_uuid", json!(EV_UNSEEN))],
            ),
            refuse(&[UNJUDGED_EVENT, EV_UNSEEN]),
        )
        .seen(EV_PULL)
        .twin(twin("both of the event let through").response(file(SIGHTINGS_ANSWER))),
        answer(
            "sightings answer: with the attribute (includeAttribute's answer)",
            edited(
                SIGHTINGS_ANSWER,
                &[set(
                    "/response/0/Sighting/Attribute",
                    json!({"id": "5001", "value": "203.0.113.77", "uuid": PA1,
                           "type": "ip-src", "category": "Network activity", "to_ids": true}),
                )],
            ),
            refuse(&[UNKNOWN_KEY, "Attribute"]),
        )
        .seen(EV_PULL)
        .twin(twin("without it").response(file(SIGHTINGS_ANSWER))),
        answer(
            "sightings answer: with the event (includeEvent's answer)",
            edited(
                SIGHTINGS_ANSWER,
                &[set(
                    "/response/0/Sighting/Event",
                    json!({"id": "88", "uuid": EV_PULL, "orgc_id": "5", "org_id": "5",
                           "info": "closed world: an event as MISP 2.5 answers its own pull",
                           "Orgc": {"name": "ORG-B"}}),
                )],
            ),
            refuse(&[UNKNOWN_KEY, "Event"]),
        )
        .seen(EV_PULL)
        .twin(twin("without it").response(file(SIGHTINGS_ANSWER))),
    ])
}

/// 3. Correlations in views: parameters that add other events' data, and
///    answers that carry it.
pub fn correlations() -> Vec<Scenario> {
    let view = view_path(EV_PULL, "");
    let misp_pull = || twin("MISP's own pull").path(leak(&view_path(EV_PULL, "")));
    let param = |name, path: String, key| {
        pull_cw(name, path, file(PULLED_EVENT))
            .expect(refuse(&[UNKNOWN_KEY, key]))
            .misp_guard(Expect::Allow)
            .twin(misp_pull())
            .twin(
                twin("MISP's pull from an internal server (local tags)").path(leak(&format!(
                    "/events/view/{EV_PULL}/deleted[]:0/deleted[]:1/excludeGalaxy:1/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0"
                ))),
            )
            .twin(
                twin("MISP's old-way sightings pull").path(leak(&format!(
                    "/events/view/{EV_PULL}/deleted[]:0/deleted[]:1/excludeGalaxy:1/excludeLocalTags:1/includeAttachments:0/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0/noEventReports:1/noShadowAttributes:1"
                ))),
            )
    };
    let answer = |name, edits: &[Edit], expect| {
        pull_cw(name, view.clone(), edited(PULLED_EVENT, edits))
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's own answer").response(file(PULLED_EVENT)))
            .twin(
                twin("MISP's own answer, to a member of its sharing group (X-UserOrgUUID)")
                    .response(file(PULLED_EVENT))
                    .response_header(format!("X-UserOrgUUID: {ORG_A}")),
            )
    };
    cold(vec![
        param(
            "view: includeGranularCorrelations:1",
            view_path(EV_PULL, "/includeGranularCorrelations:1"),
            "includeGranularCorrelations",
        ),
        param(
            "view: includeEventCorrelations:1 (other events' rows)",
            view.replace("includeEventCorrelations:0", "includeEventCorrelations:1"),
            "includeEventCorrelations",
        ),
        param(
            "view: extended:1 (extension events merged in)",
            view_path(EV_PULL, "/extended:1"),
            "extended",
        ),
        param(
            "view: includeRelatedTags:1 (other events' tags)",
            view_path(EV_PULL, "/includeRelatedTags:1"),
            "includeRelatedTags",
        ),
        answer(
            "view answer: RelatedEvent of an event never let through",
            &[set(
                "/Event/RelatedEvent",
                json!([related_event(EV_UNSEEN, "1")]),
            )],
            refuse(&[UNJUDGED_EVENT, EV_UNSEEN]),
        )
        .twin(
            twin("RelatedEvent of an event let through")
                .response(edited(
                    PULLED_EVENT,
                    &[set(
                        "/Event/RelatedEvent",
                        json!([related_event(EV_SEEN, "1")]),
                    )],
                ))
                .seen(EV_SEEN),
        ),
        answer(
            "view answer: RelatedEvent in distribution 0",
            &[set(
                "/Event/RelatedEvent",
                json!([related_event(EV_SEEN, "0")]),
            )],
            refuse(&[DISTRIBUTION]),
        )
        .seen(EV_SEEN),
        answer(
            "view answer: event-level RelatedAttribute",
            &[set(
                "/Event/RelatedAttribute",
                json!([{"id": "7001", "value": "203.0.113.77", "org_id": "9",
                        "info": "closed world: another event", "event_id": "93"}]),
            )],
            refuse(&[UNKNOWN_KEY, "RelatedAttribute"]),
        ),
        answer(
            "view answer: RelatedAttribute on an attribute (granular correlations)",
            &[set(
                "/Event/Attribute/0/RelatedAttribute",
                json!([{"id": "7001", "value": "203.0.113.77", "org_id": "9",
                        "info": "closed world: another event", "event_id": "93"}]),
            )],
            refuse(&[UNKNOWN_KEY, "RelatedAttribute"]),
        ),
        answer(
            "view answer: Feed correlations",
            &[set(
                "/Event/Feed",
                json!({"3": {"id": "3", "name": "a feed", "url": "https://feed.example/x",
                              "provider": "X", "source_format": "misp", "lookup_visible": true}}),
            )],
            refuse(&[UNKNOWN_KEY, "Feed"]),
        ),
        answer(
            "view answer: extensionEvents",
            &[set(
                "/Event/extensionEvents",
                json!({"93": {"id": "93", "info": "closed world: an extension",
                              "orgc_id": "9", "Orgc": {"id": "9", "name": "ORG-X", "uuid": ORG_C}}}),
            )],
            refuse(&[UNKNOWN_KEY, "extensionEvents"]),
        ),
    ])
}

/// 4. Galaxy cluster extras: analyst data, other clusters' relations and
///    relationships pointing at the cluster, inside a cluster view.
pub fn cluster_extras() -> Vec<Scenario> {
    let path = format!("/galaxy_clusters/view/{CL1}");
    let view = |name, edits: &[Edit], expect| {
        pull_cw(name, path.clone(), edited(CLUSTER_VIEW, edits))
            .expect(expect)
            .misp_guard(Expect::Allow)
            // The relationships' event rows are EV_SEEN's.
            .seen(EV_SEEN)
            .twin(twin("MISP's own cluster view").response(file(CLUSTER_VIEW)))
    };
    let gc = "/GalaxyCluster";
    cold(vec![
        view(
            "cluster view: a Note in distribution 0",
            &[level(&format!("{gc}/Note/0/distribution"), 0)],
            refuse(&[DISTRIBUTION]),
        ),
        view(
            "cluster view: an Opinion in distribution 0",
            &[level(&format!("{gc}/Opinion/0/distribution"), 0)],
            refuse(&[DISTRIBUTION]),
        ),
        view(
            "cluster view: a Note in a blocked sharing group",
            &[
                level(&format!("{gc}/Note/0/distribution"), 4),
                set(&format!("{gc}/Note/0/sharing_group_id"), json!("9")),
                set(
                    &format!("{gc}/Note/0/SharingGroup"),
                    sharing_group_of_analyst_data(SG_BLOCKED),
                ),
            ],
            refuse(&[SHARING_GROUP, SG_BLOCKED]),
        ),
        view(
            "cluster view: a Relationship to a passport number",
            &[set(
                &format!("{gc}/Relationship/0/related_object"),
                attribute_target("passport-number"),
            )],
            refuse(&[TYPES, "passport-number"]),
        ),
        view(
            "cluster view: a TargetingClusterRelation tagged tlp:red",
            &[set(
                &format!("{gc}/TargetingClusterRelation/0/Tag/0/name"),
                json!("tlp:red"),
            )],
            refuse(&[BLOCKED_TAGS, "tlp:red"]),
        ),
        view(
            "cluster view: a TargetingClusterRelation in a blocked sharing group",
            &[
                level(&format!("{gc}/TargetingClusterRelation/0/distribution"), 4),
                set(
                    &format!("{gc}/TargetingClusterRelation/0/sharing_group_id"),
                    json!("9"),
                ),
                set(
                    &format!("{gc}/TargetingClusterRelation/0/SharingGroup"),
                    sharing_group_bare(SG_BLOCKED),
                ),
            ],
            refuse(&[SHARING_GROUP, SG_BLOCKED]),
        ),
        view(
            "cluster view: a RelationshipInbound in distribution 0",
            &[level(
                &format!("{gc}/RelationshipInbound/0/distribution"),
                0,
            )],
            refuse(&[DISTRIBUTION]),
        ),
        view(
            "cluster view: a RelationshipInbound from a passport number",
            &[
                set(
                    &format!("{gc}/RelationshipInbound/0/object_type"),
                    json!("Attribute"),
                ),
                set(
                    &format!("{gc}/RelationshipInbound/0/object_uuid"),
                    json!("a3000000-0000-4000-8000-000000000001"),
                ),
                set(
                    &format!("{gc}/RelationshipInbound/0/related_object"),
                    attribute_target("passport-number"),
                ),
            ],
            refuse(&[TYPES, "passport-number"]),
        ),
        // The relationships' event rows come without tags: the guard must
        // have let that event through.
        pull_cw(
            "cluster view: relationships with an event never let through",
            path.clone(),
            file(CLUSTER_VIEW),
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_SEEN]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_SEEN)),
    ])
}

/// 5. Copies: `Object[].ObjectReference[].Attribute`/`.Object` carry
///    columns of the element referenced, which may be one the sync
///    preparation removed from the event.
pub fn reference_copies() -> Vec<Scenario> {
    let view = view_path(EV_PULL, "");
    let copy = "/Event/Object/0/ObjectReference/0/Attribute";
    let answer = |name, edits: &[Edit], expect| {
        pull_cw(name, view.clone(), edited(PULLED_EVENT, edits))
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's own answer (a copy of an attribute of the event, a placeholder for one of another event)").response(file(PULLED_EVENT)))
    };
    let object_reference = |copy: Value| {
        json!({"id": "63", "uuid": "4e200000-0000-4000-8000-000000000003", "timestamp": "1727690000",
               "object_id": "41", "referenced_uuid": copy["uuid"], "referenced_id": "42",
               "referenced_type": "1", "relationship_type": "related-to", "comment": "",
               "deleted": false, "event_id": "88", "source_uuid": PO1, "Object": copy})
    };
    let with_object_reference = |copy: Value| {
        let doc: Value = serde_json::from_slice(&payload_bytes(&file(PULLED_EVENT))).unwrap();
        let mut refs = doc["Event"]["Object"][0]["ObjectReference"].clone();
        refs.as_array_mut().unwrap().push(object_reference(copy));
        set("/Event/Object/0/ObjectReference", refs)
    };
    cold(vec![
        answer(
            "reference copy: of an attribute the event does not contain",
            &[
                set(&format!("{copy}/uuid"), json!(ABSENT)),
                set(
                    "/Event/Object/0/ObjectReference/0/referenced_uuid",
                    json!(ABSENT),
                ),
            ],
            refuse(&[MALFORMED]),
        ),
        answer(
            "reference copy: of a passport number",
            &[set(&format!("{copy}/type"), json!("passport-number"))],
            refuse(&[TYPES, "passport-number"]),
        ),
        answer(
            "reference copy: in a blocked category",
            &[set(&format!("{copy}/category"), json!("Person"))],
            refuse(&[CATEGORIES, "Person"]),
        ),
        answer(
            "reference copy: in distribution 0",
            &[level(&format!("{copy}/distribution"), 0)],
            refuse(&[DISTRIBUTION]),
        ),
        answer(
            "reference copy: of an object the event does not contain",
            &[with_object_reference(json!({
                "distribution": "5", "sharing_group_id": "0", "uuid": ABSENT_OBJECT,
                "name": "domain-ip", "meta-category": "network"}))],
            refuse(&[MALFORMED]),
        )
        .twin(
            twin("a placeholder for an object of another event").response(edited(
                PULLED_EVENT,
                &[with_object_reference(json!({
                    "name": "", "meta-category": "Object from another event",
                    "category": "Object from another event", "type": "", "value": "",
                    "uuid": ABSENT_OBJECT}))],
            )),
        ),
        answer(
            "reference copy: of an object of a blocked type",
            &[with_object_reference(json!({
                "distribution": "5", "sharing_group_id": "0", "uuid": PO1,
                "name": "person", "meta-category": "misc"}))],
            refuse(&[OBJECT_TYPES, "person"]),
        ),
    ])
}

/// 6. Required taxonomy: the same at every level (`tlp:clear` beside
///    `tlp:amber` at event level), and on edit judged on what MISP stores
///    (`Tag`, never `EventTag`).
pub fn required_taxonomy() -> Vec<Scenario> {
    let clear_amber = json!([tag_row("tlp:clear"), tag_row("tlp:amber")]);
    cold(vec![
        push_tax(
            "required taxonomy: tlp:clear beside tlp:amber (push)",
            AD_PATH,
            edited(PUSHED_EVENT, &[set("/Event/Tag", clear_amber.clone())]),
        )
        .expect(refuse(&[REQUIRED]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own push (tlp:green)").body(file(PUSHED_EVENT)))
        .twin(twin("tlp:clear alone").edit(set("/Event/Tag", json!([tag_row("tlp:clear")])))),
        push_tax(
            "required taxonomy: on edit, EventTag tlp:clear, Tag tlp:amber",
            ed_path(EV_PUSH),
            edited(
                PUSHED_EVENT,
                &[
                    set("/Event/Tag", json!([tag_row("tlp:amber")])),
                    set(
                        "/Event/EventTag",
                        json!([{"id": "1", "event_id": "1204", "tag_id": "3", "local": 0,
                                "relationship_type": null, "Tag": tag_row("tlp:clear")}]),
                    ),
                ],
            ),
        )
        .expect(refuse(&[UNKNOWN_KEY, "EventTag"]))
        .misp_guard(block("event is missing required taxonomy: tlp"))
        .twin(twin("MISP's own edit push").body(file(PUSHED_EVENT))),
        Scenario::new(
            "required taxonomy: tlp:clear beside tlp:amber (pull)",
            "GET",
            view_path(EV_PULL, ""),
            ALPHA_1,
            TO_DELTA_1,
        )
        .response(edited(PULLED_EVENT, &[set("/Event/Tag", clear_amber)]))
        .expect(refuse(&[REQUIRED]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own answer (tlp:green)").response(file(PULLED_EVENT))),
    ])
}

/// 7. Relationship targets and analyst data of events: an event's row
///    without its tags, or data attached to an event, goes only where the
///    guard let that event go.
pub fn event_targets() -> Vec<Scenario> {
    let analyst_push = |name, from, to, body| {
        Scenario::new(name, "POST", "/analyst_data/pushAnalystData", from, to).request(file(body))
    };
    cold(vec![
        analyst_push(
            "relationship to an event never let through (push)",
            ALPHA_1,
            TO_ALPHA_2,
            ANALYST_PUSH_RELATIONSHIP,
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_SEEN]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_SEEN)),
        // The owner requires the tlp taxonomy: misp-guard checks the
        // target's (absent) tags and refuses; the guard asks whether it let
        // the event, tags and all, through.
        analyst_push(
            "relationship to an event never let through (push, required taxonomy)",
            DELTA_1,
            TO_ALPHA_1,
            ANALYST_PUSH_RELATIONSHIP,
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_SEEN]))
        .misp_guard(block("event is missing required taxonomies"))
        .twin(
            twin("the event was let through")
                .seen(EV_SEEN)
                .misp_guard(block("event is missing required taxonomies")),
        ),
        analyst_push(
            "note on an event never let through (push)",
            ALPHA_1,
            TO_ALPHA_2,
            ANALYST_PUSH_NOTE,
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_PUSH]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_PUSH)),
        pull_cw(
            "relationship to an event never let through (pull)",
            "/analyst_data/index/Relationship/uuid[]:d0300000-0000-4000-8000-000000000005.json",
            file(ANALYST_INDEX),
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_SEEN]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_SEEN)),
        pull_cw(
            "note on an event never let through (pull)",
            "/analyst_data/index/Note/uuid[]:d0100000-0000-4000-8000-000000000007.json",
            Payload::Bytes(analyst_note_on_event_index()),
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_PULL]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_PULL)),
    ])
}

/// `GET /analyst_data/index/Note/…` answered with a note on an event.
fn analyst_note_on_event_index() -> Vec<u8> {
    let doc: Value = serde_json::from_slice(&payload_bytes(&file(ANALYST_PUSH_NOTE))).unwrap();
    let mut note = doc["Note"].clone();
    note["id"] = json!("7");
    note["object_uuid"] = json!(EV_PULL);
    note["locked"] = json!(false);
    note["_canEdit"] = json!(false);
    serde_json::to_vec(&json!([{ "Note": note }])).unwrap()
}

// ---------------------------------------------------------------------------
// The other items of the spec

/// Keys MISP acts on that its own sync never sends, in pushed events.
pub fn event_keys() -> Vec<Scenario> {
    let add = |name, edits: &[Edit], key| {
        push_cw(name, AD_PATH, edited(PUSHED_EVENT, edits))
            .expect(refuse(&[UNKNOWN_KEY, key]))
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's own push").body(file(PUSHED_EVENT)))
    };
    let edit = |name, edits: &[Edit], key| {
        push_cw(name, ed_path(EV_PUSH), edited(PUSHED_EVENT, edits))
            .expect(refuse(&[UNKNOWN_KEY, key]))
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's own edit push").body(file(PUSHED_EVENT)))
    };
    let attribute_tag = json!([{"id": "9", "attribute_id": "4101", "tag_id": "3", "local": 0,
                                 "relationship_type": null, "Tag": tag_row("tlp:green")}]);
    cold(vec![
        add(
            "event: a top-level Sighting beside Event (stored by MISP)",
            &[set(
                "/Sighting",
                json!([{"id": "40", "attribute_id": "4101", "event_id": "1204", "org_id": "1",
                        "date_sighting": "1727772200", "uuid": "5e200000-0000-4000-8000-000000000002",
                        "source": "", "type": "0", "attribute_uuid": A1,
                        "Organisation": {"id": "1", "uuid": ORG_A, "name": "ORG-A"}}]),
            )],
            "Sighting",
        ),
        add(
            "event: AttributeTag (saved by local tag id on some paths)",
            &[set("/Event/Attribute/0/AttributeTag", attribute_tag)],
            "AttributeTag",
        ),
        add(
            "event: EventTag on add",
            &[set(
                "/Event/EventTag",
                json!([{"id": "1", "event_id": "1204", "tag_id": "3", "local": 0,
                        "relationship_type": null, "Tag": tag_row("tlp:green")}]),
            )],
            "EventTag",
        ),
        add(
            "event: an empty tag_ids list",
            &[set("/Event/Attribute/0/tag_ids", json!([]))],
            "tag_ids",
        ),
        add(
            "event: orgc as a name (MISP creates or matches the org by name)",
            &[set("/Event/orgc", json!("ORG-B"))],
            "orgc",
        ),
        add(
            "event: breakOnDuplicate",
            &[set("/Event/breakOnDuplicate", json!(true))],
            "breakOnDuplicate",
        ),
        add(
            "attribute: encrypt (MISP zips it as a malware sample)",
            &[set("/Event/Attribute/0/encrypt", json!(true))],
            "encrypt",
        ),
        add(
            "attribute: data_raw (written to disk raw)",
            &[set("/Event/Attribute/0/data_raw", json!("MZ"))],
            "data_raw",
        ),
        add(
            "attribute: base64 (copied to data)",
            &[set("/Event/Attribute/0/base64", json!("TVo="))],
            "base64",
        ),
        edit(
            "edit: a tag marked deleted (MISP detaches it)",
            &[set("/Event/Tag/0/deleted", json!(true))],
            "deleted",
        ),
        edit(
            "edit: fast_update",
            &[set("/Event/fast_update", json!(true))],
            "fast_update",
        ),
        edit(
            "edit: xml_version beside Event",
            &[set("/xml_version", json!("2.5.1"))],
            "xml_version",
        ),
        push_tax(
            "edit: the only tlp tag marked deleted (required taxonomy)",
            ed_path(EV_PUSH),
            edited(
                PUSHED_EVENT,
                &[set(
                    "/Event/Tag",
                    json!([{"name": "tlp:clear", "deleted": true}, tag_row("type:OSINT")]),
                )],
            ),
        )
        .expect(refuse(&[UNKNOWN_KEY, "deleted"]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own edit push").body(file(PUSHED_EVENT))),
        pull_cw(
            "pulled event: AttributeTag (MISP's answer never has one)",
            view_path(EV_PULL, ""),
            edited(
                PULLED_EVENT,
                &[set(
                    "/Event/Attribute/0/AttributeTag",
                    json!([{"id": "9", "attribute_id": "5001", "tag_id": "3", "local": false,
                            "relationship_type": null, "Tag": {"id": "3", "name": "tlp:green"}}]),
                )],
            ),
        )
        .expect(refuse(&[UNKNOWN_KEY, "AttributeTag"]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own answer").response(file(PULLED_EVENT))),
        push_cw(
            "add: a named parameter MISP's sync never sends",
            "/events/add/metadata:1/disable_background_processing:1",
            file(PUSHED_EVENT),
        )
        .expect(refuse(&[UNKNOWN_KEY, "disable_background_processing"]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own push").path(AD_PATH)),
        push_cw(
            "edit: fast_update as a named parameter",
            format!("{}/fast_update:1", ed_path(EV_PUSH)),
            file(PUSHED_EVENT),
        )
        .expect(refuse(&[UNKNOWN_KEY, "fast_update"]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own edit push").path(leak(&ed_path(EV_PUSH)))),
        push_cw(
            "edit: the body names another event than the path",
            ed_path(EV_PUSH),
            edited(PUSHED_EVENT, &[set("/Event/uuid", json!(EV_OTHER))]),
        )
        .expect(refuse(&[MALFORMED]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event of the path").body(file(PUSHED_EVENT)))
        .twin(
            twin("by MISP's numeric id (after a 404 with Location)")
                .path("/events/edit/1204/metadata:1")
                .body(file(PUSHED_EVENT))
                .misp_guard(mg_endpoint()),
        ),
    ])
}

/// The control endpoints and the data of events pushed or pulled apart
/// from them (proposals, sightings), and the answers to pushes.
pub fn endpoints_and_answers() -> Vec<Scenario> {
    let proposals = format!("/events/pushProposals/{EV_PUSH}");
    let bulk = format!("/sightings/bulkSaveSightings/{EV_PUSH}");
    let proposals_index =
        |name, response: Payload, expect| pull_cw(name, SA_PATH, response).expect(expect);
    let answer = |name, path: String, response: Payload, expect| {
        Scenario::new(name, "POST", path, BRAVO_2, TO_BRAVO_1)
            .request(file(PUSHED_EVENT))
            .response(response)
            .expect(expect)
            .misp_guard(Expect::Allow)
    };
    let cluster_in_answer = |distribution: &str| {
        let doc: Value = serde_json::from_slice(&payload_bytes(&file(CLUSTER_VIEW))).unwrap();
        let mut cluster = doc["GalaxyCluster"].clone();
        let galaxy = cluster["Galaxy"].take();
        cluster["distribution"] = json!(distribution);
        for k in ["Note", "Opinion", "Relationship", "RelationshipInbound"] {
            cluster.as_object_mut().unwrap().remove(k);
        }
        let mut g = galaxy;
        g["GalaxyCluster"] = json!([cluster]);
        set("/Event/Galaxy", json!([g]))
    };
    cold(vec![
        Scenario::new(
            "getAvailableSyncFilteringRules (every tag and org name)",
            "GET",
            "/servers/getAvailableSyncFilteringRules",
            ALPHA_2,
            TO_ALPHA_1,
        )
        .response(json_payload(
            json!({"organisations": ["ORG-A", "ORG-B", "ORG-C"],
                                      "tags": ["tlp:green", "tlp:red", "closed world: a tag"]}),
        ))
        .expect(refuse(&[ENDPOINT]))
        .misp_guard(Expect::Allow)
        .twin(
            twin("getVersion")
                .path("/servers/getVersion")
                .response(json_payload(json!({"version": "2.5.1", "perm_sync": true,
                    "perm_sighting": true, "perm_galaxy_editor": true, "perm_analyst_data": true,
                    "request_encoding": ["gzip", "br"], "filter_sightings": true}))),
        ),
        push_cw(
            "filterEventIdsForPush: a key beside uuid and timestamp",
            "/events/filterEventIdsForPush",
            edited(
                FILTER_EVENT_IDS,
                &[set("/0/Event/info", json!("closed world"))],
            ),
        )
        .expect(refuse(&[UNKNOWN_KEY, "info"]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own").body(file(FILTER_EVENT_IDS))),
        push_cw(
            "proposals pushed for an event never let through",
            proposals.clone(),
            file(PROPOSALS_PUSH),
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_PUSH]))
        .misp_guard(mg_endpoint())
        .twin(
            twin("the event was let through")
                .seen(EV_PUSH)
                .misp_guard(mg_endpoint()),
        ),
        push_cw(
            "proposals pushed under another event's path",
            proposals.clone(),
            edited(PROPOSALS_PUSH, &[set("/0/event_uuid", json!(EV_OTHER))]),
        )
        .seen(EV_PUSH)
        .expect(Expect::Block(Vec::new()))
        .misp_guard(mg_endpoint())
        .twin(
            twin("MISP's own")
                .body(file(PROPOSALS_PUSH))
                .misp_guard(mg_endpoint()),
        ),
        push_cw(
            "proposal of a passport number",
            proposals,
            edited(PROPOSALS_PUSH, &[set("/0/type", json!("passport-number"))]),
        )
        .seen(EV_PUSH)
        .expect(refuse(&[TYPES, "passport-number"]))
        .misp_guard(mg_endpoint())
        .twin(
            twin("MISP's own")
                .body(file(PROPOSALS_PUSH))
                .misp_guard(mg_endpoint()),
        ),
        push_cw(
            "sightings pushed for an event never let through",
            bulk.clone(),
            file(SIGHTINGS_PUSH),
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_PUSH]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_PUSH)),
        push_cw(
            "sightings pushed in a Sighting wrapper",
            bulk,
            Payload::Bytes({
                let rows: Value =
                    serde_json::from_slice(&payload_bytes(&file(SIGHTINGS_PUSH))).unwrap();
                serde_json::to_vec(&json!({ "Sighting": rows })).unwrap()
            }),
        )
        .seen(EV_PUSH)
        .expect(Expect::Block(Vec::new()))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own").body(file(SIGHTINGS_PUSH))),
        proposals_index(
            "proposals pulled for an event never let through",
            file(PROPOSALS_INDEX),
            refuse(&[UNJUDGED_EVENT, EV_PULL]),
        )
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_PULL)),
        proposals_index(
            "proposals pulled: one of an event never let through",
            edited(
                PROPOSALS_INDEX,
                &[set("/1/ShadowAttribute/event_uuid", json!(EV_UNSEEN))],
            ),
            refuse(&[UNJUDGED_EVENT, EV_UNSEEN]),
        )
        .seen(EV_PULL)
        .misp_guard(Expect::Allow)
        .twin(twin("both of the event let through").response(file(PROPOSALS_INDEX))),
        proposals_index(
            "proposals pulled: a passport number",
            edited(
                PROPOSALS_INDEX,
                &[set("/0/ShadowAttribute/type", json!("passport-number"))],
            ),
            refuse(&[TYPES, "passport-number"]),
        )
        .seen(EV_PULL)
        .twin(twin("MISP's own").response(file(PROPOSALS_INDEX))),
        pull_cw(
            "proposals index: searchall (a content oracle)",
            SA_PATH.replace("/page:1", "/page:1/searchall:203.0.113"),
            file(PROPOSALS_INDEX),
        )
        .seen(EV_PULL)
        .expect(refuse(&[UNKNOWN_KEY, "searchall"]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own").path(SA_PATH)),
        answer(
            "push answer: RelatedEvent of an event never let through back",
            AD_PATH.to_string(),
            file(PUSH_ANSWER),
            refuse(&[UNJUDGED_EVENT, EV_SEEN]),
        )
        .twin(twin("the related event was let through").seen(EV_SEEN))
        .twin(
            twin("MISP's answer when it refuses the event")
                .status(403)
                .response(json_payload(
                    json!({"saved": false, "name": "Could not add Event",
                    "message": "Could not add Event", "url": "/events/add",
                    "errors": {"Event": ["Event already exists"]}}),
                )),
        )
        .twin(
            twin("MISP's answer when the event exists")
                .status(404)
                .response(json_payload(json!({"name": "Event already exists",
                    "message": "Event already exists", "url": "/events/add/metadata:1"}))),
        ),
        answer(
            "push answer: RelatedEvent in distribution 0",
            AD_PATH.to_string(),
            edited(
                PUSH_ANSWER,
                &[set(
                    "/Event/RelatedEvent",
                    json!([related_event(EV_SEEN, "0")]),
                )],
            ),
            refuse(&[DISTRIBUTION]),
        )
        .seen(EV_SEEN)
        .twin(twin("MISP's own answer").response(file(PUSH_ANSWER))),
        answer(
            "push answer: another event than the one pushed (edit by id)",
            ed_path(EV_PUSH),
            edited(PUSH_ANSWER, &[set("/Event/uuid", json!(EV_OTHER))]),
            refuse(&[UNJUDGED_EVENT, EV_OTHER]),
        )
        .seen(EV_SEEN)
        .twin(twin("MISP's own answer").response(file(PUSH_ANSWER))),
        answer(
            "push answer: a galaxy cluster in distribution 0",
            AD_PATH.to_string(),
            edited(PUSH_ANSWER, &[cluster_in_answer("0")]),
            refuse(&[DISTRIBUTION]),
        )
        .seen(EV_SEEN)
        .twin(
            twin("the cluster in distribution 1")
                .response(edited(PUSH_ANSWER, &[cluster_in_answer("1")])),
        ),
    ])
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
