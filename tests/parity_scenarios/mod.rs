//! The misp-guard scenarios replayed by `tests/parity.rs` (with `misp-warden
//! eval`) and `tests/e2e_parity.rs` (through the live daemon in the
//! namespace lab): `mod parity_scenarios;` in a test crate.
//!
//! A scenario is one exchange — source, destination, method, path, request
//! body or response fixture, response headers — with misp-guard's verdict,
//! and the allowed *twins* of a blocked one (the same exchange with only the
//! offending value changed). Addresses, host names and instance ids are
//! those of `tests/fixtures/parity/config.json` (table in `tests/parity.rs`).
#![allow(dead_code)]

pub mod closed_world;

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
/// deliberate difference from misp-guard, listed in the README.)
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

// ---------------------------------------------------------------------------
// Scenario model

#[derive(Clone, Debug)]
pub enum Payload {
    /// A file of `tests/fixtures/parity`.
    Fixture(&'static str),
    /// A file of `tests/fixtures`, by its path there
    /// (`closed_world/pushed_event.json`).
    File(&'static str),
    Bytes(Vec<u8>),
}

/// `tests/fixtures`.
pub fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

impl Payload {
    /// The file behind a payload that is one.
    pub fn path(&self) -> Option<PathBuf> {
        match self {
            Payload::Fixture(f) => Some(fixture_dir().join(f)),
            Payload::File(f) => Some(fixtures_root().join(f)),
            Payload::Bytes(_) => None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub enum Expect {
    #[default]
    Allow,
    /// Exit 3; the reason contains every one of these.
    Block(Vec<&'static str>),
}

pub fn block(reason: &'static str) -> Expect {
    Expect::Block(vec![reason])
}

/// misp-guard's reason text → ours, where only the wording differs. The
/// verdict (block) is the same in each case.
pub const WORDING_GAPS: &[(&str, &str)] = &[(
    "destination host lists.zone-x.test does not exist in instances hosts mapping",
    "lists.zone-x.test:443: only the exact URLs of allowlist.urls may be fetched on this host",
)];

/// Whether our `reason` for a block says what misp-guard's does: it
/// contains every text of `wanted`, or ours for it in [`WORDING_GAPS`].
/// `Ok(Some(note))` when it does only through a wording gap.
pub fn reason_matches(wanted: &[&str], reason: &str) -> Result<Option<String>, String> {
    let mut notes = Vec::new();
    for want in wanted {
        if reason.contains(want) {
            continue;
        }
        let gap = WORDING_GAPS
            .iter()
            .find(|(mg, ours)| want.contains(mg) && reason.contains(&*want.replace(mg, ours)));
        match gap {
            Some((mg, ours)) => notes.push(format!("misp-guard says {mg:?}, we say {ours:?}")),
            None => return Err(format!("reason {reason:?} does not contain {want:?}")),
        }
    }
    Ok((!notes.is_empty()).then(|| notes.join("; ")))
}

/// A change to a JSON payload, by JSON pointer.
#[derive(Clone, Debug)]
pub enum Edit {
    /// Sets (or adds) the value at the pointer.
    Set(String, Value),
    /// Sets a distribution level, keeping the JSON type the fixture used
    /// (`"0"` stays a string, `0` a number).
    Level(String, u8),
}

pub fn set(ptr: &str, v: Value) -> Edit {
    Edit::Set(ptr.to_string(), v)
}

pub fn level(ptr: &str, l: u8) -> Edit {
    Edit::Level(ptr.to_string(), l)
}

/// The same exchange with something changed.
#[derive(Clone, Debug, Default)]
pub struct Twin {
    pub what: &'static str,
    pub edits: Vec<Edit>,
    pub from: Option<&'static str>,
    pub to: Option<&'static str>,
    pub path: Option<&'static str>,
    pub response: Option<Payload>,
    pub response_headers: Option<Vec<String>>,
    /// Another request body (the edits then apply to it).
    pub body: Option<Payload>,
    /// Events the guard remembers letting through, besides the scenario's.
    pub seen: Vec<&'static str>,
    pub response_status: Option<u16>,
    pub expect: Expect,
    /// misp-guard's verdict on the twin, where it differs from `expect`.
    pub misp_guard: Option<Expect>,
}

pub fn twin(what: &'static str) -> Twin {
    Twin {
        what,
        ..Twin::default()
    }
}

impl Twin {
    pub fn edit(mut self, e: Edit) -> Self {
        self.edits.push(e);
        self
    }
    pub fn from(mut self, from: &'static str) -> Self {
        self.from = Some(from);
        self
    }
    pub fn to(mut self, to: &'static str) -> Self {
        self.to = Some(to);
        self
    }
    pub fn path(mut self, path: &'static str) -> Self {
        self.path = Some(path);
        self
    }
    pub fn response(mut self, p: Payload) -> Self {
        self.response = Some(p);
        self
    }
    pub fn response_header(mut self, h: String) -> Self {
        self.response_headers = Some(vec![h]);
        self
    }
    pub fn no_response_headers(mut self) -> Self {
        self.response_headers = Some(Vec::new());
        self
    }
    pub fn body(mut self, p: Payload) -> Self {
        self.body = Some(p);
        self
    }
    pub fn seen(mut self, uuid: &'static str) -> Self {
        self.seen.push(uuid);
        self
    }
    pub fn status(mut self, status: u16) -> Self {
        self.response_status = Some(status);
        self
    }
    pub fn expect(mut self, e: Expect) -> Self {
        self.expect = e;
        self
    }
    pub fn misp_guard(mut self, e: Expect) -> Self {
        self.misp_guard = Some(e);
        self
    }
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub method: &'static str,
    pub path: String,
    pub from: &'static str,
    pub to: &'static str,
    pub body: Option<Payload>,
    pub response: Option<Payload>,
    pub response_headers: Vec<String>,
    /// The response's HTTP status (`eval --response-status`; default 200).
    pub response_status: Option<u16>,
    /// The events the guard remembers letting through for this flow
    /// (`eval --seen-event`), when the scenario says; `None`: those its
    /// data belongs to ([`seen_events`]), a guard that has been running.
    pub seen: Option<Vec<&'static str>>,
    pub expect: Expect,
    /// misp-guard's verdict, where it differs from `expect` (the
    /// closed-world family; misp-guard's own scenarios expect its verdict).
    pub misp_guard: Option<Expect>,
    pub twins: Vec<Twin>,
}

impl Scenario {
    pub fn new(
        name: &'static str,
        method: &'static str,
        path: impl Into<String>,
        from: &'static str,
        to: &'static str,
    ) -> Self {
        Scenario {
            name,
            method,
            path: path.into(),
            from,
            to,
            body: None,
            response: None,
            response_headers: Vec::new(),
            response_status: None,
            seen: None,
            expect: Expect::Allow,
            misp_guard: None,
            twins: Vec::new(),
        }
    }
    /// The request body.
    pub fn request(mut self, p: Payload) -> Self {
        self.body = Some(p);
        self
    }
    /// The guard remembers letting exactly these events through (none
    /// until `seen` adds one).
    pub fn remembering(mut self, uuids: &[&'static str]) -> Self {
        self.seen = Some(uuids.to_vec());
        self
    }
    pub fn seen(mut self, uuid: &'static str) -> Self {
        self.seen.get_or_insert_with(Vec::new).push(uuid);
        self
    }
    pub fn status(mut self, status: u16) -> Self {
        self.response_status = Some(status);
        self
    }
    pub fn misp_guard(mut self, e: Expect) -> Self {
        self.misp_guard = Some(e);
        self
    }
    pub fn body(mut self, fixture: &'static str) -> Self {
        self.body = Some(Payload::Fixture(fixture));
        self
    }
    pub fn response(mut self, p: Payload) -> Self {
        self.response = Some(p);
        self
    }
    pub fn response_fixture(self, fixture: &'static str) -> Self {
        self.response(Payload::Fixture(fixture))
    }
    pub fn response_header(mut self, h: String) -> Self {
        self.response_headers.push(h);
        self
    }
    pub fn expect(mut self, e: Expect) -> Self {
        self.expect = e;
        self
    }
    pub fn twin(mut self, t: Twin) -> Self {
        self.twins.push(t);
        self
    }
    /// Adds the standard twins of the fixture this scenario sends.
    pub fn with_fixture_twins(mut self) -> Self {
        if matches!(self.expect, Expect::Block(_)) {
            let fixture = match (&self.body, &self.response) {
                (Some(Payload::Fixture(f)), _) | (None, Some(Payload::Fixture(f))) => Some(*f),
                _ => None,
            };
            if let Some(f) = fixture {
                self.twins.extend(fixture_twins(f));
            }
        }
        self
    }
}

/// A pull scenario: `fixture` is the response body of a GET (or the given
/// method), judged with the destination's rules.
pub fn pull(
    name: &'static str,
    path: impl Into<String>,
    to: &'static str,
    from: &'static str,
    fixture: &'static str,
    expect: Expect,
) -> Scenario {
    Scenario::new(name, "GET", path, from, to)
        .response_fixture(fixture)
        .expect(expect)
        .with_fixture_twins()
}

/// A push scenario: `fixture` is the request body of a POST, judged with the
/// source's rules. Default: bravo_2 → bravo_1 (instance_2_2 → instance_2_1).
pub fn push(
    name: &'static str,
    path: impl Into<String>,
    fixture: &'static str,
    expect: Expect,
) -> Scenario {
    push_between(name, path, TO_BRAVO_1, BRAVO_2, fixture, expect)
}

pub fn push_between(
    name: &'static str,
    path: impl Into<String>,
    to: &'static str,
    from: &'static str,
    fixture: &'static str,
    expect: Expect,
) -> Scenario {
    // MISP edits the event the body names, and its push puts that
    // event's UUID in the path; the guard refuses a path naming another.
    let mut path = path.into();
    if path == ed_path()
        && let Some(uuid) = fixture_event_uuid(fixture)
    {
        path = path.replace(EVENT_UUID, &uuid);
    }
    Scenario::new(name, "POST", path, from, to)
        .body(fixture)
        .expect(expect)
        .with_fixture_twins()
}

/// The allowed twin(s) of each blocked fixture: only the offending value
/// differs. The rules are those of every instance but delta_1 for all
/// fixtures, and delta_1's for the `event_taxonomy_*` ones.
pub fn fixture_twins(fixture: &str) -> Vec<Twin> {
    let sg_other = || json!(SG_OTHER);
    match fixture {
        "event_tag_blocked.json" => {
            vec![twin("event tag tlp:green").edit(set("/Event/Tag/0/name", json!("tlp:green")))]
        }
        "event_attribute_tag_blocked.json" => {
            vec![
                twin("attribute tag tlp:green")
                    .edit(set("/Event/Attribute/0/Tag/0/name", json!("tlp:green"))),
            ]
        }
        "event_object_attribute_tag_blocked.json" => {
            vec![twin("object attribute tag tlp:green").edit(set(
                "/Event/Object/0/Attribute/0/Tag/0/name",
                json!("tlp:green"),
            ))]
        }
        "event_distribution_blocked.json" => {
            vec![twin("event distribution 1").edit(level("/Event/distribution", 1))]
        }
        "event_attribute_distribution_blocked.json" => {
            vec![twin("attribute distribution 1").edit(level("/Event/Attribute/0/distribution", 1))]
        }
        "event_object_distribution_blocked.json" => vec![
            // The object's attribute also carries tlp:red: the object's
            // distribution is checked first, the tag next.
            twin("object distribution 1")
                .edit(level("/Event/Object/0/distribution", 1))
                .expect(block("attribute with a blocked tag: tlp:red")),
            twin("object distribution 1, attribute tag tlp:green")
                .edit(level("/Event/Object/0/distribution", 1))
                .edit(set(
                    "/Event/Object/0/Attribute/0/Tag/0/name",
                    json!("tlp:green"),
                )),
        ],
        "event_object_attribute_distribution_blocked.json" => vec![
            twin("object attribute distribution 1")
                .edit(level("/Event/Object/0/Attribute/0/distribution", 1)),
        ],
        "event_sharing_group_blocked.json" => {
            vec![twin("other sharing group").edit(set("/Event/SharingGroup/uuid", sg_other()))]
        }
        "event_attribute_sharing_group_blocked.json" => {
            vec![
                twin("other sharing group")
                    .edit(set("/Event/Attribute/0/SharingGroup/uuid", sg_other())),
            ]
        }
        "event_object_sharing_group_blocked.json" => {
            vec![
                twin("other sharing group")
                    .edit(set("/Event/Object/0/SharingGroup/uuid", sg_other())),
            ]
        }
        "event_object_attribute_sharing_group_blocked.json" => {
            vec![twin("other sharing group").edit(set(
                "/Event/Object/0/Attribute/0/SharingGroup/uuid",
                sg_other(),
            ))]
        }
        "event_attribute_type_blocked.json" => vec![
            // passport-number / Person: the type is reported first, then the category.
            twin("type text")
                .edit(set("/Event/Attribute/0/type", json!("text")))
                .expect(block("attribute with a blocked category: Person")),
            twin("type text, category Other")
                .edit(set("/Event/Attribute/0/type", json!("text")))
                .edit(set("/Event/Attribute/0/category", json!("Other"))),
        ],
        "event_object_attribute_type_blocked.json" => {
            vec![
                twin("third attribute type text")
                    .edit(set("/Event/Object/0/Attribute/2/type", json!("text"))),
            ]
        }
        "event_attribute_category_blocked.json" => {
            vec![twin("category Other").edit(set("/Event/Attribute/0/category", json!("Other")))]
        }
        "event_object_attribute_category_blocked.json" => vec![
            twin("categories Person_v2")
                .edit(set(
                    "/Event/Object/0/Attribute/0/category",
                    json!("Person_v2"),
                ))
                .edit(set(
                    "/Event/Object/0/Attribute/1/category",
                    json!("Person_v2"),
                ))
                .edit(set(
                    "/Event/Object/0/Attribute/2/category",
                    json!("Person_v2"),
                )),
        ],
        "event_object_type_blocked.json" => {
            vec![twin("object person_v2").edit(set("/Event/Object/0/name", json!("person_v2")))]
        }
        "event_object_shadow_attribute_type_blocked.json" => {
            let sa = "/Event/Object/0/Attribute/0/ShadowAttribute/0";
            vec![
                twin("proposal type text")
                    .edit(set(&format!("{sa}/type"), json!("text")))
                    .expect(block("attribute with a blocked category: Person")),
                twin("proposal type text, category Other")
                    .edit(set(&format!("{sa}/type"), json!("text")))
                    .edit(set(&format!("{sa}/category"), json!("Other"))),
            ]
        }
        "event_taxonomy_missing.json" => vec![
            twin("event tag tlp:clear").edit(set("/Event/Tag", json!([{"name": "tlp:clear"}]))),
        ],
        "event_taxonomy_not_allowed.json" => {
            vec![twin("event tag tlp:green").edit(set("/Event/Tag/0/name", json!("tlp:green")))]
        }
        "event_taxonomy_blocked.json" => {
            vec![twin("event tag tlp:white").edit(set("/Event/Tag/0/name", json!("tlp:white")))]
        }
        "event_report_distribution_blocked.json" => {
            vec![twin("report distribution 1").edit(level("/Event/EventReport/0/distribution", 1))]
        }
        "event_note_blocked.json" => {
            vec![twin("note distribution 1").edit(level("/Event/Note/0/distribution", 1))]
        }
        "event_opinion_blocked.json" => {
            vec![twin("opinion distribution 1").edit(level("/Event/Opinion/0/distribution", 1))]
        }
        "event_relationship_blocked.json" => {
            vec![
                twin("relationship distribution 1")
                    .edit(level("/Event/Relationship/0/distribution", 1)),
            ]
        }
        "event_attribute_note_blocked.json" => {
            vec![
                twin("note distribution 1")
                    .edit(level("/Event/Attribute/0/Note/0/distribution", 1)),
            ]
        }
        "event_attribute_opinion_blocked.json" => {
            vec![
                twin("opinion distribution 1")
                    .edit(level("/Event/Attribute/0/Opinion/0/distribution", 1)),
            ]
        }
        "event_attribute_relationship_blocked.json" => vec![
            twin("relationship distribution 1")
                .edit(level("/Event/Attribute/0/Relationship/0/distribution", 1)),
        ],
        "event_object_note_blocked.json" => {
            vec![twin("note distribution 1").edit(level("/Event/Object/0/Note/0/distribution", 1))]
        }
        "event_object_opinion_blocked.json" => {
            vec![
                twin("opinion distribution 1")
                    .edit(level("/Event/Object/0/Opinion/0/distribution", 1)),
            ]
        }
        "event_object_relationship_blocked.json" => {
            vec![
                twin("relationship distribution 1")
                    .edit(level("/Event/Object/0/Relationship/0/distribution", 1)),
            ]
        }
        "shadow_attributes_tag_blocked.json" => {
            vec![
                twin("tag tlp:green")
                    .edit(set("/0/ShadowAttribute/Tag/0/name", json!("tlp:green"))),
            ]
        }
        "shadow_attributes_distribution_blocked.json" => {
            vec![
                twin("second proposal distribution 1")
                    .edit(level("/1/ShadowAttribute/distribution", 1)),
            ]
        }
        "shadow_attributes_sharing_group_blocked.json" => {
            vec![
                twin("other sharing group")
                    .edit(set("/0/ShadowAttribute/SharingGroup/uuid", sg_other())),
            ]
        }
        "shadow_attributes_type_blocked.json" => vec![
            twin("type text")
                .edit(set("/0/ShadowAttribute/type", json!("text")))
                .expect(block("attribute with a blocked category: Person")),
            twin("type text, category Other")
                .edit(set("/0/ShadowAttribute/type", json!("text")))
                .edit(set("/0/ShadowAttribute/category", json!("Other"))),
        ],
        "shadow_attributes_category_blocked.json" => vec![
            // Category Person and tag tlp:red: the category is reported first.
            twin("category Other")
                .edit(set("/0/ShadowAttribute/category", json!("Other")))
                .expect(block("attribute with a blocked tag: tlp:red")),
            twin("category Other, tag tlp:green")
                .edit(set("/0/ShadowAttribute/category", json!("Other")))
                .edit(set("/0/ShadowAttribute/Tag/0/name", json!("tlp:green"))),
        ],
        "galaxy_cluster_blocked.json" => {
            vec![twin("distribution 3").edit(level("/GalaxyCluster/distribution", 3))]
        }
        "galaxy_clusters_blocked.json" => {
            vec![twin("distribution 3").edit(level("/0/GalaxyCluster/distribution", 3))]
        }
        "analyst_notes_blocked.json" => {
            vec![twin("distribution 1").edit(level("/0/Note/distribution", 1))]
        }
        "analyst_opinions_blocked.json" => {
            vec![twin("distribution 1").edit(level("/0/Opinion/distribution", 1))]
        }
        "analyst_relationships_blocked.json" => {
            vec![twin("distribution 1").edit(level("/0/Relationship/distribution", 1))]
        }
        "analyst_note_blocked.json" => {
            vec![twin("distribution 1").edit(level("/Note/distribution", 1))]
        }
        "analyst_opinion_blocked.json" => {
            vec![twin("distribution 1").edit(level("/Opinion/distribution", 1))]
        }
        "analyst_relationship_blocked.json" => {
            vec![twin("distribution 1").edit(level("/Relationship/distribution", 1))]
        }
        "analyst_relationship_related_event_blocked.json" => vec![
            twin("related event distribution 3")
                .edit(level("/Relationship/related_object/Event/distribution", 3)),
        ],
        "analyst_relationship_related_attribute_blocked.json" => {
            vec![twin("related attribute distribution 5").edit(level(
                "/Relationship/related_object/Attribute/distribution",
                5,
            ))]
        }
        "analyst_relationship_related_object_blocked.json" => vec![
            twin("related object distribution 1")
                .edit(level("/Relationship/related_object/Object/distribution", 1)),
        ],
        "events_index_not_minimal.json" => vec![twin("minimal 1").edit(set("/minimal", json!(1)))],
        _ => Vec::new(),
    }
}

pub fn apply_edits(payload: &Payload, edits: &[Edit]) -> Result<Payload, String> {
    let bytes = match payload.path() {
        Some(path) => std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?,
        None => payload_bytes(payload),
    };
    let mut doc: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("payload is not JSON: {e}"))?;
    for edit in edits {
        let (ptr, new) = match edit {
            Edit::Set(ptr, v) => (ptr, v.clone()),
            Edit::Level(ptr, l) => {
                let old = doc
                    .pointer(ptr)
                    .ok_or_else(|| format!("no value at {ptr}"))?;
                let new = match old {
                    Value::String(_) => json!(l.to_string()),
                    Value::Number(_) => json!(l),
                    other => return Err(format!("{ptr} is not a distribution level: {other}")),
                };
                (ptr, new)
            }
        };
        let (parent, key) = ptr
            .rsplit_once('/')
            .ok_or_else(|| format!("bad pointer {ptr}"))?;
        match doc.pointer_mut(parent) {
            Some(Value::Object(m)) => {
                m.insert(key.to_string(), new);
            }
            Some(Value::Array(a)) => {
                let slot = key
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get_mut(i))
                    .ok_or_else(|| format!("no element {ptr}"))?;
                *slot = new;
            }
            _ => return Err(format!("no object or array at {parent}")),
        }
    }
    Ok(Payload::Bytes(serde_json::to_vec(&doc).expect("serialise")))
}

/// Builds the scenario a twin describes.
pub fn twin_scenario(s: &Scenario, t: &Twin) -> Result<Scenario, String> {
    let mut out = s.clone();
    out.twins.clear();
    out.expect = t.expect.clone();
    out.misp_guard = t.misp_guard.clone();
    if !t.seen.is_empty() {
        out.seen
            .get_or_insert_with(Vec::new)
            .extend(t.seen.iter().copied());
    }
    if let Some(status) = t.response_status {
        out.response_status = Some(status);
    }
    if let Some(b) = &t.body {
        out.body = Some(b.clone());
    }
    if let Some(f) = t.from {
        out.from = f;
    }
    if let Some(to) = t.to {
        out.to = to;
    }
    if let Some(path) = t.path {
        out.path = path.to_string();
    }
    if let Some(r) = &t.response {
        out.response = Some(r.clone());
    }
    if let Some(h) = &t.response_headers {
        out.response_headers = h.clone();
    }
    if !t.edits.is_empty() {
        if let Some(b) = &out.body {
            out.body = Some(apply_edits(b, &t.edits)?);
        } else if let Some(r) = &out.response {
            out.response = Some(apply_edits(r, &t.edits)?);
        } else {
            return Err("edits given but the scenario has no payload".into());
        }
    }
    Ok(out)
}

/// The bytes of a payload.
/// A payload as a file: the fixture itself, or the bytes written to `tmp`
/// (named by their hash, so a payload used twice is written once).
pub fn payload_file(p: &Payload, tmp: &std::path::Path) -> std::path::PathBuf {
    match p {
        Payload::Fixture(_) | Payload::File(_) => p.path().expect("a file"),
        Payload::Bytes(b) => {
            let hash = b.iter().fold(0xcbf29ce484222325u64, |h, &c| {
                (h ^ u64::from(c)).wrapping_mul(0x100000001b3)
            });
            let path = tmp.join(format!("payload-{hash:016x}"));
            if !path.exists() {
                std::fs::write(&path, b).expect("write a payload");
            }
            path
        }
    }
}

/// `misp-warden eval` on the parity config for `s`; the response (and its
/// headers) only when `with_response`.
pub fn eval_command(
    s: &Scenario,
    tmp: &std::path::Path,
    with_response: bool,
) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_misp-warden"));
    cmd.arg("eval")
        .arg("--config")
        .arg(fixture_dir().join("config.json"))
        .args([
            "--from", s.from, "--to", s.to, "--method", s.method, "--path", &s.path,
        ]);
    if let Some(b) = &s.body {
        cmd.arg("--body").arg(payload_file(b, tmp));
    }
    for uuid in seen_events(s) {
        cmd.args(["--seen-event", &uuid]);
    }
    if with_response {
        if let Some(r) = &s.response {
            cmd.arg("--response").arg(payload_file(r, tmp));
        }
        for h in &s.response_headers {
            cmd.args(["--response-header", h]);
        }
        if let (Some(_), Some(status)) = (&s.response, s.response_status) {
            cmd.args(["--response-status", &status.to_string()]);
        }
    }
    cmd
}

pub fn payload_bytes(p: &Payload) -> Vec<u8> {
    match (p, p.path()) {
        (Payload::Bytes(b), _) => b.clone(),
        (_, Some(path)) => {
            std::fs::read(&path).unwrap_or_else(|e| panic!("read fixture {}: {e}", path.display()))
        }
        (_, None) => unreachable!("only bytes have no file"),
    }
}

/// What one `misp-warden eval` run gave.
pub struct EvalRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `misp-warden eval` on scenario `s` (its response judged too).
pub fn run_eval(s: &Scenario, tmp: &Path) -> EvalRun {
    let out = eval_command(s, tmp, true)
        .output()
        .expect("run misp-warden");
    EvalRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Checks one run against its expectation. `Ok(Some(note))` when the
/// reason matched only through a known wording gap.
pub fn check_eval(expect: &Expect, r: &EvalRun) -> Result<Option<String>, String> {
    if r.stderr.contains("panicked") || r.stderr.contains("RUST_BACKTRACE") {
        return Err(format!("the binary panicked: {}", r.stderr.trim()));
    }
    let stdout = r.stdout.trim_end();
    match expect {
        Expect::Allow => {
            if r.code == Some(0) && stdout == "allow" {
                Ok(None)
            } else {
                Err(format!(
                    "expected allow (exit 0), got exit {:?}: {stdout} {}",
                    r.code,
                    r.stderr.trim()
                ))
            }
        }
        Expect::Block(wanted) => {
            let Some(reason) = stdout.strip_prefix("block: ").filter(|_| r.code == Some(3)) else {
                return Err(format!(
                    "expected block (exit 3), got exit {:?}: {stdout} {}",
                    r.code,
                    r.stderr.trim()
                ));
            };
            reason_matches(wanted, reason)
        }
    }
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

// ---------------------------------------------------------------------------
// misp-guard's pull scenarios (39)

pub fn pull_scenarios() -> Vec<Scenario> {
    let ev = ev_path();
    // Rows 1-23 and 39: alpha_2 pulls from alpha_1 (alpha_1's rules).
    let a = |name, fixture, expect| pull(name, ev.clone(), TO_ALPHA_1, ALPHA_2, fixture, expect);
    let sa = |name, fixture, expect| pull(name, SA_PATH, TO_ALPHA_1, ALPHA_2, fixture, expect);
    // Rows 25-33: alpha_1 pulls from delta_1 (delta_1's rules: tlp required).
    let d = |name, fixture, expect| pull(name, ev.clone(), TO_DELTA_1, ALPHA_1, fixture, expect);
    let sg = "event has blocked sharing group uuid: 5a0c7e3e-1d2b-4c8e-9f10-2b3c4d5e6f70";
    let attr_sg =
        "attribute with a blocked sharing group uuid: 5a0c7e3e-1d2b-4c8e-9f10-2b3c4d5e6f70";
    let obj_sg = "object with a blocked sharing group uuid: 5a0c7e3e-1d2b-4c8e-9f10-2b3c4d5e6f70";
    let cluster_view = format!("/galaxy_clusters/view/{CLUSTER_UUID}");
    let analyst_dist = "analyst data has blocked distribution level: 0";
    vec![
        a(
            "pull_event_blocked_event_tags",
            "event_tag_blocked.json",
            block("event has blocked tag: tlp:red"),
        ),
        a(
            "pull_event_blocked_event_attribute_tags",
            "event_attribute_tag_blocked.json",
            block("attribute with a blocked tag: tlp:red"),
        ),
        a(
            "pull_event_blocked_object_attribute_tags",
            "event_object_attribute_tag_blocked.json",
            block("attribute with a blocked tag: tlp:red"),
        ),
        a(
            "pull_event_blocked_event_distribution",
            "event_distribution_blocked.json",
            block("event has blocked distribution level: 0"),
        ),
        a(
            "pull_event_blocked_attribute_distribution",
            "event_attribute_distribution_blocked.json",
            block("attribute with a blocked distribution level: 0"),
        ),
        a(
            "pull_event_blocked_object_distribution",
            "event_object_distribution_blocked.json",
            block("object with a blocked distribution level: 0"),
        ),
        a(
            "pull_event_blocked_object_attribute_distribution",
            "event_object_attribute_distribution_blocked.json",
            block("attribute with a blocked distribution level: 0"),
        ),
        a(
            "pull_event_blocked_event_sharing_group",
            "event_sharing_group_blocked.json",
            block(sg),
        ),
        a(
            "pull_event_blocked_attribute_sharing_group",
            "event_attribute_sharing_group_blocked.json",
            block(attr_sg),
        ),
        a(
            "pull_event_blocked_object_sharing_group",
            "event_object_sharing_group_blocked.json",
            block(obj_sg),
        ),
        a(
            "pull_event_blocked_object_attribute_sharing_group",
            "event_object_attribute_sharing_group_blocked.json",
            block(attr_sg),
        ),
        a(
            "pull_event_blocked_attribute_type",
            "event_attribute_type_blocked.json",
            block("attribute with a blocked type: passport-number"),
        ),
        a(
            "pull_event_blocked_object_attribute_type",
            "event_object_attribute_type_blocked.json",
            block("attribute with a blocked type: passport-number"),
        ),
        a(
            "pull_event_blocked_attribute_category",
            "event_attribute_category_blocked.json",
            block("attribute with a blocked category: Person"),
        ),
        a(
            "pull_event_blocked_object_attribute_category",
            "event_object_attribute_category_blocked.json",
            block("attribute with a blocked category: Person"),
        ),
        a(
            "pull_event_blocked_object_type",
            "event_object_type_blocked.json",
            block("object with a blocked type: person"),
        ),
        sa(
            "pull_shadow_attributes_blocked_tag",
            "shadow_attributes_tag_blocked.json",
            block("attribute with a blocked tag: tlp:red"),
        ),
        sa(
            "pull_shadow_attributes_blocked_distribution",
            "shadow_attributes_distribution_blocked.json",
            block("attribute with a blocked distribution level: 0"),
        ),
        sa(
            "pull_shadow_attributes_blocked_sharing_group",
            "shadow_attributes_sharing_group_blocked.json",
            block(attr_sg),
        ),
        sa(
            "pull_shadow_attributes_blocked_type",
            "shadow_attributes_type_blocked.json",
            block("attribute with a blocked type: passport-number"),
        ),
        sa(
            "pull_shadow_attributes_blocked_category",
            "shadow_attributes_category_blocked.json",
            block("attribute with a blocked category: Person"),
        ),
        a(
            "pull_event_shadow_attributes_blocked_type",
            "event_object_shadow_attribute_type_blocked.json",
            block("attribute with a blocked type: passport-number"),
        ),
        a(
            "pull_event_non-blocked",
            "event_allowed.json",
            Expect::Allow,
        ),
        // charlie_1 (zone_c) may not reach bravo_1 (zone_b).
        pull(
            "pull_event_not_allowed_compartment",
            ev.clone(),
            TO_BRAVO_1,
            CHARLIE_1,
            "event_allowed.json",
            block("cannot reach compartment"),
        )
        .twin(twin("from delta_1 (zone_d reaches zone_b)").from(DELTA_1)),
        d(
            "pull_event_missing_required_taxonomy",
            "event_taxonomy_missing.json",
            block("event is missing required taxonomy: tlp"),
        ),
        d(
            "pull_event_missing_required_allowed_tag",
            "event_taxonomy_not_allowed.json",
            block("event is missing required taxonomy: tlp"),
        ),
        d(
            "pull_event_required_taxonomy_blocked_tag",
            "event_taxonomy_blocked.json",
            block("event has blocked tag: tlp:rainbow"),
        ),
        d(
            "pull_event_required_taxonomy_allowed_tag",
            "event_taxonomy_allowed.json",
            Expect::Allow,
        ),
        pull(
            "pull_galaxy_blocked_distribution_evel",
            cluster_view.clone(),
            TO_DELTA_1,
            ALPHA_1,
            "galaxy_cluster_blocked.json",
            block("galaxy cluster has blocked distribution level: 0"),
        ),
        pull(
            "pull_galaxy_non-blocked_distribution_level",
            cluster_view,
            TO_DELTA_1,
            ALPHA_1,
            "galaxy_cluster_allowed.json",
            Expect::Allow,
        ),
        Scenario::new(
            "pull_sightings_non-blocked",
            "POST",
            "/sightings/restSearch/event",
            ALPHA_1,
            TO_DELTA_1,
        )
        .body("sightings_search.json")
        .response_fixture("sightings_empty.json"),
        pull(
            "pull_analyst_note_blocked_distribution_level",
            analyst_path("Note", "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"),
            TO_DELTA_1,
            ALPHA_1,
            "analyst_notes_blocked.json",
            block(analyst_dist),
        ),
        pull(
            "pull_analyst_opinion_blocked_distribution_level",
            analyst_path("Opinion", "3b4c5d6e-7f80-4b9c-8d1e-2f3a4b5c6d7e"),
            TO_DELTA_1,
            ALPHA_1,
            "analyst_opinions_blocked.json",
            block(analyst_dist),
        ),
        pull(
            "pull_analyst_relationship_blocked_distribution_level",
            analyst_path("Relationship", "4c5d6e7f-8091-4cad-9e2f-3a4b5c6d7e8f"),
            TO_ALPHA_1,
            ALPHA_1,
            "analyst_relationships_blocked.json",
            block(analyst_dist),
        ),
        pull(
            "pull_analyst_opinion_non-blocked",
            analyst_path("Opinion", "5d6e7f80-91a2-4dbe-8f3a-4b5c6d7e8f90"),
            TO_ALPHA_1,
            ALPHA_1,
            "analyst_opinions_allowed.json",
            Expect::Allow,
        ),
        // As in misp-guard's suite: an Opinion path answered with a Note.
        pull(
            "pull_analyst_note_non-blocked",
            analyst_path("Opinion", "6e7f8091-a2b3-4ecf-9a4b-5c6d7e8f90a1"),
            TO_ALPHA_1,
            ALPHA_1,
            "analyst_notes_allowed.json",
            Expect::Allow,
        ),
        pull(
            "pull_analyst_relationship_non-blocked",
            analyst_path("Relationship", "7f8091a2-b3c4-4fd0-8b5c-6d7e8f90a1b2"),
            TO_ALPHA_1,
            ALPHA_1,
            "analyst_relationships_allowed.json",
            Expect::Allow,
        ),
        Scenario::new(
            "analyst_data_index_minimal_non-blocked",
            "POST",
            "/analyst_data/indexMinimal",
            ALPHA_1,
            TO_ALPHA_2,
        )
        .body("analyst_index_minimal_request.json")
        .response_fixture("analyst_index_minimal.json"),
        a(
            "pull_event_blocked_event_report_distribution",
            "event_report_distribution_blocked.json",
            block("event report has blocked distribution level: 0"),
        ),
    ]
}

// ---------------------------------------------------------------------------
// misp-guard's push scenarios (68)

pub fn push_scenarios() -> Vec<Scenario> {
    let ed = ed_path();
    let ad = |name, fixture, expect| push(name, AD_PATH, fixture, expect);
    let ed_ = |name, fixture, expect| push(name, ed.clone(), fixture, expect);
    // Rows 37-44: delta_1 pushes to alpha_1 (delta_1's rules: tlp required).
    let dad =
        |name, fixture, expect| push_between(name, AD_PATH, TO_ALPHA_1, DELTA_1, fixture, expect);
    let ded = |name, fixture, expect| {
        push_between(name, ed.clone(), TO_ALPHA_1, DELTA_1, fixture, expect)
    };
    // Rows 57-66: alpha_1 pushes analyst data to alpha_2 (alpha_1's rules).
    let analyst = |name, fixture, expect| {
        push_between(
            name,
            "/analyst_data/pushAnalystData",
            TO_ALPHA_2,
            ALPHA_1,
            fixture,
            expect,
        )
    };
    let tag_red = "attribute with a blocked tag: tlp:red";
    let ev_dist = "event has blocked distribution level: 0";
    let attr_dist = "attribute with a blocked distribution level: 0";
    let obj_dist = "object with a blocked distribution level: 0";
    let sg = "event has blocked sharing group uuid: 5a0c7e3e-1d2b-4c8e-9f10-2b3c4d5e6f70";
    let attr_sg =
        "attribute with a blocked sharing group uuid: 5a0c7e3e-1d2b-4c8e-9f10-2b3c4d5e6f70";
    let obj_sg = "object with a blocked sharing group uuid: 5a0c7e3e-1d2b-4c8e-9f10-2b3c4d5e6f70";
    let category = "attribute with a blocked category: Person";
    let kind = "attribute with a blocked type: passport-number";
    let obj_type = "object with a blocked type: person";
    let missing_tlp = "event is missing required taxonomy: tlp";
    let analyst_dist = "analyst data has blocked distribution level: 0";
    // alpha_1's zone_a reaches zone_b, and its rules pass this event (delta_1's
    // would not: it carries no tlp tag).
    let compartment = || twin("from alpha_1 (zone_a reaches zone_b)").from(ALPHA_1);
    vec![
        ad(
            "push_new_event_blocked_event_tags",
            "event_tag_blocked.json",
            block("event has blocked tag: tlp:red"),
        ),
        ed_(
            "push_edit_event_blocked_event_tags",
            "event_tag_blocked.json",
            block("event has blocked tag: tlp:red"),
        ),
        ad(
            "push_new_event_blocked_attribute_tags",
            "event_attribute_tag_blocked.json",
            block(tag_red),
        ),
        ed_(
            "push_edit_event_blocked_attribute_tags (1st)",
            "event_attribute_tag_blocked.json",
            block(tag_red),
        ),
        ad(
            "push_new_event_blocked_object_attribute_tags",
            "event_object_attribute_tag_blocked.json",
            block(tag_red),
        ),
        ed_(
            "push_edit_event_blocked_attribute_tags (2nd)",
            "event_attribute_tag_blocked.json",
            block(tag_red),
        ),
        ad(
            "push_new_event_blocked_event_distribution",
            "event_distribution_blocked.json",
            block(ev_dist),
        ),
        // misp-guard sends the attribute-tags fixture here, not the object one.
        ed_(
            "push_edit_event_blocked_object_attribute_tags",
            "event_attribute_tag_blocked.json",
            block(tag_red),
        ),
        ad(
            "push_new_event_blocked_attribute_distribution",
            "event_attribute_distribution_blocked.json",
            block(attr_dist),
        ),
        ed_(
            "push_edit_event_blocked_event_distribution",
            "event_distribution_blocked.json",
            block(ev_dist),
        ),
        ad(
            "push_new_event_blocked_object_distribution",
            "event_object_distribution_blocked.json",
            block(obj_dist),
        ),
        ed_(
            "push_edit_event_blocked_attribute_distribution",
            "event_attribute_distribution_blocked.json",
            block(attr_dist),
        ),
        ad(
            "push_new_event_blocked_object_attribute_distribution",
            "event_object_attribute_distribution_blocked.json",
            block(attr_dist),
        ),
        ed_(
            "push_edit_event_blocked_object_distribution",
            "event_object_distribution_blocked.json",
            block(obj_dist),
        ),
        ad(
            "push_new_event_blocked_event_sharing_group",
            "event_sharing_group_blocked.json",
            block(sg),
        ),
        ed_(
            "push_edit_event_blocked_object_attribute_distribution",
            "event_object_attribute_distribution_blocked.json",
            block(attr_dist),
        ),
        ad(
            "push_new_event_blocked_attribute_sharing_group",
            "event_attribute_sharing_group_blocked.json",
            block(attr_sg),
        ),
        ed_(
            "push_edit_event_blocked_event_sharing_group",
            "event_sharing_group_blocked.json",
            block(sg),
        ),
        ad(
            "push_new_event_blocked_object_sharing_group",
            "event_object_sharing_group_blocked.json",
            block(obj_sg),
        ),
        ed_(
            "push_edit_event_blocked_attribute_sharing_group",
            "event_attribute_sharing_group_blocked.json",
            block(attr_sg),
        ),
        ad(
            "push_new_event_blocked_object_attribute_sharing_group",
            "event_object_attribute_sharing_group_blocked.json",
            block(attr_sg),
        ),
        ed_(
            "push_edit_event_blocked_object_sharing_group",
            "event_object_sharing_group_blocked.json",
            block(obj_sg),
        ),
        ad(
            "push_new_event_blocked_attribute_category",
            "event_attribute_category_blocked.json",
            block(category),
        ),
        ed_(
            "push_edit_event_blocked_object_attribute_sharing_group",
            "event_object_attribute_sharing_group_blocked.json",
            block(attr_sg),
        ),
        // misp-guard sends the (top-level) attribute-type fixture here.
        ad(
            "push_new_event_blocked_object_attribute_type",
            "event_attribute_type_blocked.json",
            block(kind),
        ),
        ed_(
            "push_edit_event_blocked_attribute_type",
            "event_attribute_type_blocked.json",
            block(kind),
        ),
        ad(
            "push_new_event_blocked_object_attribute_category",
            "event_object_attribute_category_blocked.json",
            block(category),
        ),
        ed_(
            "push_edit_event_blocked_attribute_category",
            "event_attribute_category_blocked.json",
            block(category),
        ),
        ad(
            "push_new_event_blocked_object_type",
            "event_object_type_blocked.json",
            block(obj_type),
        ),
        ed_(
            "push_edit_event_blocked_object_type",
            "event_object_type_blocked.json",
            block(obj_type),
        ),
        ad(
            "push_new_event_shadow_attributes_blocked_type",
            "event_object_shadow_attribute_type_blocked.json",
            block(kind),
        ),
        ed_(
            "push_edit_event_shadow_attributes_blocked_type",
            "event_object_shadow_attribute_type_blocked.json",
            block(kind),
        ),
        ad(
            "push_new_event_non-blocked",
            "event_allowed.json",
            Expect::Allow,
        ),
        ed_(
            "push_edit_event_non-blocked",
            "event_allowed.json",
            Expect::Allow,
        ),
        // charlie_1 (zone_c) may not reach bravo_1 (zone_b).
        push_between(
            "push_new_event_not_allowed_compartment",
            AD_PATH,
            TO_BRAVO_1,
            CHARLIE_1,
            "event_allowed.json",
            block("cannot reach compartment"),
        )
        .twin(compartment()),
        push_between(
            "push_edit_event_not_allowed_compartment",
            ed.clone(),
            TO_BRAVO_1,
            CHARLIE_1,
            "event_allowed.json",
            block("cannot reach compartment"),
        )
        .twin(compartment()),
        dad(
            "push_new_event_missing_required_tag",
            "event_taxonomy_missing.json",
            block(missing_tlp),
        ),
        ded(
            "push_edit_event_missing_required_tag",
            "event_taxonomy_missing.json",
            block(missing_tlp),
        ),
        dad(
            "push_new_event_missing_required_allowed_tag",
            "event_taxonomy_not_allowed.json",
            block(missing_tlp),
        ),
        ded(
            "push_edit_event_missing_required_allowed_tag",
            "event_taxonomy_not_allowed.json",
            block(missing_tlp),
        ),
        dad(
            "push_new_event_required_taxonomy_blocked_tag",
            "event_taxonomy_blocked.json",
            block("event has blocked tag: tlp:rainbow"),
        ),
        ded(
            "push_edit_event_required_taxonomy_blocked_tag",
            "event_taxonomy_blocked.json",
            block("event has blocked tag: tlp:rainbow"),
        ),
        dad(
            "push_new_event_required_taxonomy_allowed_tag",
            "event_taxonomy_allowed.json",
            Expect::Allow,
        ),
        ded(
            "push_edit_event_required_taxonomy_allowed_tag",
            "event_taxonomy_allowed.json",
            Expect::Allow,
        ),
        push_between(
            "push_galaxy_cluster_blocked_distribution",
            "/galaxies/pushCluster",
            TO_ALPHA_1,
            DELTA_1,
            "galaxy_clusters_blocked.json",
            block("galaxy cluster has blocked distribution level: 0"),
        ),
        push_between(
            "push_galaxy_cluster_non-blocked_distribution",
            "/galaxies/pushCluster",
            TO_ALPHA_1,
            DELTA_1,
            "galaxy_clusters_allowed.json",
            Expect::Allow,
        ),
        push_between(
            "push_sightings_non-blocked",
            format!("/sightings/bulkSaveSightings/{SIGHTING_EVENT_UUID}"),
            TO_DELTA_1,
            ALPHA_1,
            "sightings_empty.json",
            Expect::Allow,
        ),
        ad(
            "push_new_event_blocked_note_distribution",
            "event_note_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_opinion_distribution",
            "event_opinion_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_relationship_distribution",
            "event_relationship_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_attribute_note_distribution",
            "event_attribute_note_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_attribute_opinion_distribution",
            "event_attribute_opinion_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_attribute_analyst_relationship_distribution",
            "event_attribute_relationship_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_object_note_distribution",
            "event_object_note_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_object_opinion_distribution",
            "event_object_opinion_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_object_analyst_relationship_distribution",
            "event_object_relationship_blocked.json",
            block(analyst_dist),
        ),
        analyst(
            "push_analyst_notes_non-blocked",
            "analyst_note_allowed.json",
            Expect::Allow,
        ),
        analyst(
            "push_analyst_notes_blocked_distribution",
            "analyst_note_blocked.json",
            block(analyst_dist),
        ),
        analyst(
            "push_analyst_opinion_non-blocked",
            "analyst_opinion_allowed.json",
            Expect::Allow,
        ),
        analyst(
            "push_analyst_opinion_blocked_distribution",
            "analyst_opinion_blocked.json",
            block(analyst_dist),
        ),
        analyst(
            "push_analyst_relationship_non-blocked",
            "analyst_relationship_allowed.json",
            Expect::Allow,
        ),
        analyst(
            "push_analyst_relationship_blocked_distribution",
            "analyst_relationship_blocked.json",
            block(analyst_dist),
        ),
        analyst(
            "push_analyst_relationship_blocked_related_event_distribution",
            "analyst_relationship_related_event_blocked.json",
            block(ev_dist),
        ),
        analyst(
            "push_analyst_relationship_blocked_related_attribute_distribution",
            "analyst_relationship_related_attribute_blocked.json",
            block(attr_dist),
        ),
        analyst(
            "push_analyst_relationship_blocked_related_object_distribution",
            "analyst_relationship_related_object_blocked.json",
            block(obj_dist),
        ),
        push_between(
            "filter_analyst_data_for_push_non-blocked",
            "/analyst_data/filterAnalystDataForPush",
            TO_ALPHA_2,
            ALPHA_1,
            "analyst_filter_for_push.json",
            Expect::Allow,
        ),
        ad(
            "push_new_event_blocked_distribution",
            "event_distribution_blocked.json",
            block(ev_dist),
        ),
        ad(
            "push_new_event_report_blocked_distribution",
            "event_report_distribution_blocked.json",
            block("event report has blocked distribution level: 0"),
        ),
    ]
}

// ---------------------------------------------------------------------------
// misp-guard's unit tests (feeds aside)

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
