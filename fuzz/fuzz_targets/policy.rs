//! The rule engine on arbitrary bodies, for every kind of sync endpoint.
//!
//! Input layout: `[scenario] [flags] body...`
//!
//! - `scenario` (mod the number of [`SCENARIOS`]) picks the method, the
//!   request target, the destination (an instance or a feed) and whether
//!   the body is sent as the request body or judged as the response body
//!   (the answer to a POST is asked with the body MISP's sync sends).
//! - `flags`: bit 0 picks the destination instance of sync scenarios
//!   (`alpha_2`, plain rules, or `delta_1`, which requires the `tlp`
//!   taxonomy); bits 1-2 the `Content-Type` of a request body sent as the
//!   input (a fixed one is `application/json`); bits 3-5 the response
//!   status; bit 6 whether the response carries an `X-UserOrgUUID`; bit 7
//!   whether the guard remembers letting event [`SUBJECT`] (the UUID in
//!   the scenarios' paths) through both ways (push and pull) between the
//!   two instances, as a warm daemon would — without it, sightings,
//!   proposals, analyst data on events and other events' rows are refused
//!   before their shape matters.
//!
//! Beyond "no panic", the verdict is checked against what the engine
//! promises (src/policy/mod.rs, endpoint.rs, rules.rs, read.rs):
//!
//! - a request body is only let through when the endpoint takes one, it is
//!   declared `application/json`, and it is one well-formed JSON document
//!   (RFC 8259, checked by an independent validator below); an empty body
//!   only where the endpoint takes none or optional JSON; never a body on a
//!   feed request;
//! - an inspected response body (every kind but `Unchecked`, unless the
//!   status carries no content and the body is empty) is only let through
//!   when it is well-formed JSON; a feed's manifest and event files (status
//!   200 or unknown) only when they are a JSON object;
//! - **closed world**: an allowed body contains no key outside its
//!   endpoint's known set. An oracle of its own below ([`keys`], [`walk`])
//!   restates src/policy/model*.rs — each element kind with the keys the
//!   rules judge and the keys known harmless — and walks the body as a
//!   `serde_json::Value` from the endpoint's request or response kind,
//!   following the judged keys into child elements (`related_object` by its
//!   `related_object_type`), never into harmless values. Every key of every
//!   object it reaches must be one of its element's; a judged scalar holds
//!   no object or array; a key read only to be refused (`Event.request`,
//!   `note_type_name`) is at most `null`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use misp_warden::config::Config;
use misp_warden::policy::{
    Case, Connection, EventVerdicts, Flow, Framing, RequestBody, ResponseBody, SourceSpec,
    classify, evaluate,
};
use serde_json::Value;
use std::net::IpAddr;
use std::sync::OnceLock;

const CONFIG: &str = include_str!("../../tests/fixtures/parity/config.json");

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The body is the request body.
    Request,
    /// The body is the response body; the request has none, or on a POST
    /// the fixed one of the scenario ([`answer`]).
    Response,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Between instances `alpha_1` → `alpha_2` / `delta_1`.
    Sync,
    /// A feed file: `(host, checked JSON object?)`.
    Feed(&'static str, bool),
}

struct Scenario {
    method: &'static str,
    target: &'static str,
    mode: Mode,
    kind: Kind,
    /// In `Response` mode: the request body (sent `application/json`).
    request_body: &'static str,
}

const fn sync(method: &'static str, target: &'static str, mode: Mode) -> Scenario {
    Scenario {
        method,
        target,
        mode,
        kind: Kind::Sync,
        request_body: "",
    }
}

/// The answer to a POST, asked with the body MISP's own sync sends (the
/// request stage refuses these endpoints without one, so the answer would
/// never be judged).
const fn answer(target: &'static str, request_body: &'static str) -> Scenario {
    Scenario {
        method: "POST",
        target,
        mode: Mode::Response,
        kind: Kind::Sync,
        request_body,
    }
}

const fn feed(host: &'static str, target: &'static str, mode: Mode, object: bool) -> Scenario {
    Scenario {
        method: "GET",
        target,
        mode,
        kind: Kind::Feed(host, object),
        request_body: "",
    }
}

use Mode::{Request, Response};

/// The event UUID of the scenarios' paths (flag bit 7 remembers it).
const SUBJECT: &str = "5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f";

/// MISP's sightings pull (`SM::pullSightingNewWay`).
const SIGHTING_SEARCH: &str = r#"{"returnFormat": "json", "last": 0, "includeUuid": true, "uuid": ["5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f"]}"#;

const F1: &str = "feed1.mirror.example";
const F2: &str = "feed2.mirror.example";

/// The order is part of the seed format: append, never reorder.
const SCENARIOS: &[Scenario] = &[
    /* 0 */ sync("POST", "/events/add/metadata:1", Request),
    /* 1 */ sync("POST", "/events/add", Request),
    /* 2 */
    sync(
        "POST",
        "/events/edit/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f/metadata:1",
        Request,
    ),
    /* 3 */ sync("POST", "/events/edit/42", Request),
    /* 4 */ sync("POST", "/galaxies/pushCluster", Request),
    /* 5 */
    sync(
        "POST",
        "/events/pushProposals/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Request,
    ),
    /* 6 */
    sync(
        "POST",
        "/sightings/bulkSaveSightings/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Request,
    ),
    /* 7 */ sync("POST", "/analyst_data/pushAnalystData", Request),
    /* 8 */ sync("POST", "/events/index", Request),
    /* 9 */ sync("POST", "/galaxy_clusters/restSearch", Request),
    /* 10 */ sync("POST", "/servers/postTest", Request),
    /* 11 */ sync("POST", "/events/filterEventIdsForPush", Request),
    /* 12 */ sync("POST", "/analyst_data/filterAnalystDataForPush", Request),
    /* 13 */
    sync(
        "POST",
        "/sightings/filterSightingUuidsForPush/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Request,
    ),
    /* 14 */ sync("GET", "/servers/getVersion.json", Request),
    /* 15 */
    sync(
        "GET",
        "/events/view/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Response,
    ),
    /* 16 */
    sync(
        "GET",
        "/events/view/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f/deleted[]:0/deleted[]:1/excludeGalaxy:1/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0/excludeLocalTags:1",
        Response,
    ),
    /* 17 */
    sync(
        "GET",
        "/shadow_attributes/index/all:1/timestamp:0",
        Response,
    ),
    /* 18 */
    sync(
        "GET",
        "/galaxy_clusters/view/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Response,
    ),
    /* 19 */ answer("/sightings/restSearch/event", SIGHTING_SEARCH),
    /* 20 */
    sync(
        "GET",
        "/analyst_data/index/Note/uuid[]:5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Response,
    ),
    /* 21 */
    sync(
        "GET",
        "/analyst_data/index/Relationship/uuid[]:5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Response,
    ),
    /* 22 */ answer("/events/index", r#"{"minimal": 1, "published": 1}"#),
    /* 23 */
    sync(
        "GET",
        "/events/view/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Request,
    ),
    /* 24 */ feed(F1, "/doc/misp/feed-osint/manifest.json", Response, true),
    /* 25 */
    feed(
        F1,
        "/doc/misp/feed-osint/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f.json",
        Response,
        true,
    ),
    /* 26 */
    feed(
        F2,
        "/feeds/misp/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f.json",
        Response,
        true,
    ),
    /* 27 */ feed(F2, "/feeds/misp/hashes.csv", Response, false),
    /* 28 */
    feed(
        F1,
        "/doc/misp/feed-osint/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f.asc",
        Response,
        false,
    ),
    /* 29 */
    feed(
        F1,
        "/doc/misp/feed-osint/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f.json",
        Request,
        true,
    ),
    /* 30 */ sync("POST", "/users/resetauthkey/me", Request),
    /* 31 */ sync("POST", "/analyst_data/indexMinimal", Request),
    /* 32 */ sync("POST", "/sightings/restSearch/event", Request),
    /* 33 */
    answer(
        "/galaxy_clusters/restSearch",
        r#"{"published": 1, "minimal": 1, "custom": 1}"#,
    ),
    /* 34 */ answer("/analyst_data/indexMinimal", r#"{"orgc_name": []}"#),
    /* 35 */
    answer(
        "/events/filterEventIdsForPush",
        r#"[{"Event": {"uuid": "5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f", "timestamp": "1714640000"}}]"#,
    ),
    /* 36 */
    answer(
        "/analyst_data/filterAnalystDataForPush",
        r#"{"Note": {"0c3a1f7e-7f0d-4a58-9d0e-2a4c8e1b6f10": "2024-05-03 09:00:00"}}"#,
    ),
    /* 37 */
    sync(
        "GET",
        "/shadow_attributes/index/all:1/timestamp:1700000000/limit:1000/page:1/deleted[]:0/deleted[]:1.json",
        Response,
    ),
];

const CONTENT_TYPES: [Option<&str>; 4] = [
    Some("application/json"),
    Some("Application/JSON; charset=UTF-8"),
    None,
    Some("text/xml"),
];

const STATUSES: [Option<u16>; 8] = [
    None,
    Some(200),
    Some(204),
    Some(304),
    Some(404),
    Some(100),
    Some(500),
    Some(200),
];

fn config() -> &'static Config {
    static CONFIG_ONCE: OnceLock<Config> = OnceLock::new();
    CONFIG_ONCE.get_or_init(|| Config::from_json(CONFIG).expect("the parity config is valid"))
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});

/// One input: judged, and if allowed, checked against the promises above.
/// Returns whether it was allowed (`None`: too short to be an input).
pub(crate) fn run(data: &[u8]) -> Option<bool> {
    let [scenario, flags, body @ ..] = data else {
        return None;
    };
    let s = &SCENARIOS[*scenario as usize % SCENARIOS.len()];
    let delta = flags & 1 != 0;
    let content_type = match s.request_body {
        "" => CONTENT_TYPES[(*flags as usize >> 1) & 3],
        _ => Some("application/json"),
    };
    let status = STATUSES[(*flags as usize >> 3) & 7];
    let user_org = (flags & 0x40 != 0).then_some("55f6ea5e-2c60-40e5-964f-47a8950d210f");
    let (destination_ip, name) = match s.kind {
        Kind::Sync if delta => (
            Some("2001:db8::41".parse::<IpAddr>().unwrap()),
            "delta1.zone-d.example",
        ),
        Kind::Sync => (
            Some("192.0.2.12".parse::<IpAddr>().unwrap()),
            "alpha2.zone-a.example",
        ),
        Kind::Feed(host, _) => (None, host),
    };
    let mut request = http::Request::builder()
        .method(s.method)
        .uri(s.target)
        .header("host", name);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let request = request
        .body(())
        .expect("scenario heads build")
        .into_parts()
        .0;
    let mut response = http::Response::builder().status(status.unwrap_or(200));
    if let Some(org) = user_org {
        response = response.header("x-userorguuid", org);
    }
    let response = response.body(()).expect("statuses build").into_parts().0;
    let (request_body, response): (&[u8], _) = match s.mode {
        Request => (body, None),
        Response => (s.request_body.as_bytes(), Some((&response, body))),
    };
    let case = Case {
        connection: Connection {
            source: SourceSpec::Instance("alpha_1"),
            destination_ip,
            port: 443,
            tls: true,
            sni: Some(name),
        },
        request: &request,
        framing: Framing::default(),
        request_body,
        response,
    };
    let memory = EventVerdicts::default();
    if flags & 0x80 != 0 && s.kind == Kind::Sync {
        let (source, destination) = ("alpha_1", if delta { "delta_1" } else { "alpha_2" });
        for (owner, recipient) in [(source, destination), (destination, source)] {
            memory.remember(Flow { owner, recipient }, SUBJECT, true);
        }
    }
    let verdict = evaluate(config(), &case, &memory);

    // The block message is what reaches the log: it must render.
    if let Err(block) = &verdict {
        let _ = block.to_string();
        let _ = block.rule_path();
        return Some(false);
    }

    // Allowed: check that it was allowed to be.
    match (s.kind, s.mode) {
        (Kind::Sync, mode) => {
            let endpoint = classify(s.method, s.target).expect("scenario targets classify");
            match mode {
                Request => {
                    if body.is_empty() {
                        assert!(
                            matches!(endpoint.request, RequestBody::Empty | RequestBody::Nothing),
                            "empty body allowed for {} which requires one",
                            endpoint.name
                        );
                    } else {
                        assert!(
                            endpoint.request != RequestBody::Empty,
                            "a body allowed for {}, which takes none",
                            endpoint.name
                        );
                        assert!(
                            is_json_media_type(content_type),
                            "a body declared {content_type:?} allowed"
                        );
                        assert!(
                            strict_json(body),
                            "a request body that is not JSON allowed for {}",
                            endpoint.name
                        );
                        if let Some(root) = request_root(endpoint.request) {
                            assert_closed(body, &[root], endpoint.name);
                        }
                    }
                }
                Response => {
                    let no_content = matches!(status, Some(100..=199 | 204 | 304));
                    if endpoint.response != ResponseBody::Unchecked
                        && !(no_content && body.is_empty())
                    {
                        assert!(
                            strict_json(body),
                            "a response body that is not JSON allowed for {}",
                            endpoint.name
                        );
                    }
                    if let Some(root) = response_root(endpoint.response)
                        && !body.is_empty()
                    {
                        // An error status may also carry MISP's JSON error.
                        let roots: &[El] = match status {
                            Some(400..) => &[El::ErrorAnswer, root],
                            _ => &[root],
                        };
                        assert_closed(body, roots, endpoint.name);
                    }
                }
            }
        }
        (Kind::Feed(..), Request) => {
            assert!(body.is_empty(), "a body on a feed request allowed");
        }
        (Kind::Feed(_, object), Response) => {
            if object && matches!(status, None | Some(200)) {
                assert!(
                    strict_json(body) && first_non_ws(body) == Some(b'{'),
                    "a feed file that is not a JSON object allowed: {}",
                    s.target
                );
                // The manifest is any object; an event file `{"Event": …}`.
                if s.target.ends_with(".json") && !s.target.ends_with("/manifest.json") {
                    assert_closed(body, &[El::EventFile], s.target);
                }
            }
        }
    }
    Some(true)
}

// ---------------------------------------------------------------------------
// The closed-world oracle
//
// Written from src/policy/model.rs, model/{event,cluster,analyst,control}.rs
// and rules/elements.rs, but sharing no code with them: the engine reads
// typed structs with serde, this walks a `serde_json::Value`.

/// The kinds of object MISP's sync bodies hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum El {
    /// An event (pushed, pulled, or a push answer): also the top level of
    /// those bodies, which is `{"Event": …}` or the bare event.
    Event,
    /// A feed's event file: `{"Event": …}` and nothing else.
    EventFile,
    /// Another event's bare row (correlations, relationship targets).
    EventRow,
    /// An element of `RelatedEvent`, and a relationship's `Event` target.
    RelatedEvent,
    /// An attribute, a proposal, an object's attribute.
    Attribute,
    Object,
    ObjectReference,
    /// What a reference copies of the element it points at.
    ReferenceCopy,
    EventReport,
    Tag,
    SharingGroup,
    SharingGroupOrg,
    Organisation,
    SharingGroupServer,
    /// `SharingGroupServer.Server`.
    SgServer,
    Galaxy,
    GalaxyCluster,
    /// `{"GalaxyCluster": …}` (pushed, pulled, a relationship target).
    ClusterEnvelope,
    ClusterRelation,
    /// A note, an opinion or a relationship.
    Analyst,
    /// A cluster view's `RelationshipInbound`: a relationship whose
    /// `related_object` is its *source* element, shaped by `object_type`.
    InboundRelationship,
    /// `{"Note"|"Opinion"|"Relationship": …}`.
    AnalystEnvelope,
    /// A relationship's `Attribute` target.
    RelatedAttribute,
    /// `{"Attribute": …}` around it.
    RelatedAttributeEnvelope,
    /// A relationship's `Object` target, or a related attribute's object.
    ObjectRow,
    /// `{"Object": …}` around it.
    ObjectRowEnvelope,
    /// `{"EventReport": …}`: a relationship's report target.
    EventReportEnvelope,
    // The small bodies (model/control.rs).
    /// `{}`, `[]`, a list of UUIDs: no key at all.
    NoKeys,
    PostTest,
    EventIndexFilter,
    ClusterSearchFilter,
    SightingSearch,
    AnalystIndexFilter,
    EventStub,
    EventStubInner,
    AnalystCandidates,
    MinimalIndexEntry,
    ClusterIndex,
    ClusterIndexEntry,
    ClusterStub,
    Sighting,
    SightingsAnswer,
    SightingEnvelope,
    ProposalEnvelope,
    ErrorAnswer,
}

/// What the value of a known key is.
#[derive(Clone, Copy, Debug)]
enum Val {
    /// Judged, a scalar (or null): no object or array under it.
    Scalar,
    /// Judged: an element of this kind, a list of them, or null.
    Holds(El),
    /// `related_object`: shaped by the sibling `related_object_type`.
    Related,
    /// Read only to be refused: at most `null`.
    NullOnly,
    /// Known harmless: not descended into.
    Harmless,
}

/// The keys of an element: those the rules judge, and those known
/// harmless.
struct Keys {
    judged: &'static [(&'static str, Val)],
    /// `Note`, `Opinion`, `Relationship` (the model's `with analyst data`).
    analyst: bool,
    harmless: &'static [&'static str],
}

impl Keys {
    fn get(&self, key: &str) -> Option<Val> {
        if let Some((_, v)) = self.judged.iter().find(|(k, _)| *k == key) {
            Some(*v)
        } else if self.analyst && matches!(key, "Note" | "Opinion" | "Relationship") {
            Some(Val::Holds(El::Analyst))
        } else if self.harmless.contains(&key) {
            Some(Val::Harmless)
        } else {
            None
        }
    }
}

const fn k(
    judged: &'static [(&'static str, Val)],
    analyst: bool,
    harmless: &'static [&'static str],
) -> Keys {
    Keys {
        judged,
        analyst,
        harmless,
    }
}

/// The table: each element kind and its keys, as the model lists them.
fn keys(el: El) -> Keys {
    use El::*;
    use Val::{Holds, NullOnly, Related, Scalar};
    match el {
        Event => k(
            &[
                ("uuid", Scalar),
                ("distribution", Scalar),
                ("Event", Holds(Event)),
                ("response", NullOnly),
                ("request", NullOnly),
                ("SharingGroup", Holds(SharingGroup)),
                ("Tag", Holds(Tag)),
                ("EventReport", Holds(EventReport)),
                ("Galaxy", Holds(Galaxy)),
                ("Attribute", Holds(Attribute)),
                ("Object", Holds(Object)),
                ("ShadowAttribute", Holds(Attribute)),
                ("RelatedEvent", Holds(RelatedEvent)),
            ],
            true,
            &[
                "id",
                "orgc_id",
                "org_id",
                "date",
                "threat_level_id",
                "info",
                "published",
                "attribute_count",
                "analysis",
                "timestamp",
                "proposal_email_lock",
                "locked",
                "publish_timestamp",
                "sharing_group_id",
                "disable_correlation",
                "extends_uuid",
                "protected",
                "event_creator_email",
                "user_id",
                "sighting_timestamp",
                "Org",
                "Orgc",
                "CryptographicKey",
                "ThreatLevel",
                "errors",
                "saved",
            ],
        ),
        EventFile => k(&[("Event", Holds(Event))], false, &[]),
        EventRow => k(
            &[("uuid", Scalar), ("distribution", Scalar)],
            false,
            &[
                "id",
                "org_id",
                "date",
                "info",
                "user_id",
                "published",
                "analysis",
                "attribute_count",
                "orgc_id",
                "timestamp",
                "sharing_group_id",
                "proposal_email_lock",
                "locked",
                "threat_level_id",
                "publish_timestamp",
                "sighting_timestamp",
                "disable_correlation",
                "extends_uuid",
                "protected",
                "Org",
                "Orgc",
            ],
        ),
        RelatedEvent => k(&[("Event", Holds(EventRow))], false, &[]),
        Attribute => k(
            &[
                ("type", Scalar),
                ("category", Scalar),
                ("uuid", Scalar),
                ("distribution", Scalar),
                ("SharingGroup", Holds(SharingGroup)),
                ("Tag", Holds(Tag)),
                ("ShadowAttribute", Holds(Attribute)),
                ("Galaxy", Holds(Galaxy)),
                ("event_uuid", Scalar),
            ],
            true,
            &[
                "id",
                "event_id",
                "object_id",
                "object_relation",
                "value",
                "to_ids",
                "timestamp",
                "comment",
                "sharing_group_id",
                "deleted",
                "disable_correlation",
                "first_seen",
                "last_seen",
                "data",
                "validationIssue",
                "Sighting",
                "old_id",
                "org_id",
                "email",
                "event_org_id",
                "proposal_to_delete",
                "Org",
                "org_uuid",
                "old_uuid",
            ],
        ),
        Object => k(
            &[
                ("name", Scalar),
                ("template_uuid", Scalar),
                ("uuid", Scalar),
                ("distribution", Scalar),
                ("SharingGroup", Holds(SharingGroup)),
                ("Attribute", Holds(Attribute)),
                ("ObjectReference", Holds(ObjectReference)),
            ],
            true,
            &[
                "id",
                "meta-category",
                "description",
                "template_version",
                "event_id",
                "timestamp",
                "sharing_group_id",
                "comment",
                "deleted",
                "first_seen",
                "last_seen",
            ],
        ),
        ObjectReference => k(
            &[
                ("Attribute", Holds(ReferenceCopy)),
                ("Object", Holds(ReferenceCopy)),
            ],
            false,
            &[
                "id",
                "uuid",
                "timestamp",
                "object_id",
                "object_uuid",
                "source_uuid",
                "referenced_uuid",
                "referenced_id",
                "referenced_type",
                "relationship_type",
                "comment",
                "deleted",
                "event_id",
            ],
        ),
        ReferenceCopy => k(
            &[
                ("uuid", Scalar),
                ("type", Scalar),
                ("category", Scalar),
                ("name", Scalar),
                ("value", Scalar),
                ("distribution", Scalar),
            ],
            false,
            &["sharing_group_id", "to_ids", "meta-category"],
        ),
        EventReport => k(
            &[
                ("distribution", Scalar),
                ("SharingGroup", Holds(SharingGroup)),
                ("Tag", Holds(Tag)),
            ],
            true,
            &[
                "id",
                "uuid",
                "event_id",
                "name",
                "content",
                "sharing_group_id",
                "timestamp",
                "deleted",
            ],
        ),
        Tag => k(
            &[("name", Scalar)],
            false,
            &[
                "id",
                "colour",
                "exportable",
                "org_id",
                "user_id",
                "hide_tag",
                "numerical_value",
                "is_galaxy",
                "is_custom_galaxy",
                "local_only",
                "local",
                "relationship_type",
                "original_numerical_value",
            ],
        ),
        SharingGroup => k(
            &[
                ("uuid", Scalar),
                ("SharingGroupOrg", Holds(SharingGroupOrg)),
                ("SharingGroupServer", Holds(SharingGroupServer)),
            ],
            false,
            &[
                "id",
                "name",
                "releasability",
                "description",
                "organisation_uuid",
                "org_id",
                "sync_user_id",
                "active",
                "created",
                "modified",
                "local",
                "roaming",
                "Organisation",
            ],
        ),
        SharingGroupOrg => k(
            &[("Organisation", Holds(Organisation))],
            false,
            &["id", "sharing_group_id", "org_id", "extend"],
        ),
        Organisation => k(
            &[("uuid", Scalar)],
            false,
            &[
                "id",
                "name",
                "local",
                "date_created",
                "date_modified",
                "description",
                "type",
                "nationality",
                "sector",
                "created_by",
                "contacts",
                "restricted_to_domain",
                "landingpage",
            ],
        ),
        SharingGroupServer => k(
            &[("all_orgs", Scalar), ("Server", Holds(SgServer))],
            false,
            &["id", "sharing_group_id", "server_id"],
        ),
        SgServer => k(
            &[("all_orgs", Scalar)],
            false,
            &["id", "url", "name", "remote_org_id"],
        ),
        Galaxy => k(
            &[("GalaxyCluster", Holds(GalaxyCluster))],
            false,
            &[
                "id",
                "uuid",
                "name",
                "type",
                "description",
                "version",
                "icon",
                "namespace",
                "enabled",
                "local_only",
                "kill_chain_order",
                "default",
                "org_id",
                "orgc_id",
                "created",
                "modified",
                "distribution",
            ],
        ),
        GalaxyCluster => k(
            &[
                ("uuid", Scalar),
                ("distribution", Scalar),
                ("tag_name", Scalar),
                ("type", Scalar),
                ("value", Scalar),
                ("SharingGroup", Holds(SharingGroup)),
                ("GalaxyClusterRelation", Holds(ClusterRelation)),
                ("TargetingClusterRelation", Holds(ClusterRelation)),
                ("RelationshipInbound", Holds(InboundRelationship)),
            ],
            true,
            &[
                "id",
                "collection_uuid",
                "description",
                "galaxy_id",
                "source",
                "authors",
                "version",
                "sharing_group_id",
                "org_id",
                "orgc_id",
                "default",
                "locked",
                "extends_uuid",
                "extends_version",
                "published",
                "deleted",
                "Galaxy",
                "GalaxyElement",
                "Org",
                "Orgc",
                "tag_count",
                "tag_id",
                "meta",
                "event_tag_id",
                "attribute_tag_id",
                "local",
                "relationship_type",
            ],
        ),
        ClusterEnvelope => k(&[("GalaxyCluster", Holds(GalaxyCluster))], false, &["Orgc"]),
        ClusterRelation => k(
            &[
                ("distribution", Scalar),
                ("SharingGroup", Holds(SharingGroup)),
                ("Tag", Holds(Tag)),
                ("GalaxyClusterRelationTag", Holds(Tag)),
            ],
            false,
            &[
                "id",
                "galaxy_cluster_id",
                "referenced_galaxy_cluster_id",
                "referenced_galaxy_cluster_uuid",
                "referenced_galaxy_cluster_type",
                "galaxy_cluster_uuid",
                "sharing_group_id",
                "default",
            ],
        ),
        InboundRelationship => keys(Analyst),
        Analyst => k(
            &[
                ("uuid", Scalar),
                ("distribution", Scalar),
                ("SharingGroup", Holds(SharingGroup)),
                ("object_type", Scalar),
                ("object_uuid", Scalar),
                ("related_object_type", Scalar),
                ("related_object", Related),
            ],
            true,
            &[
                "id",
                "authors",
                "org_uuid",
                "orgc_uuid",
                "created",
                "modified",
                "sharing_group_id",
                "locked",
                "note",
                "language",
                "opinion",
                "comment",
                "relationship_type",
                "related_object_uuid",
                "note_type",
                "note_type_name",
                "_canEdit",
                "_max_depth_reached",
                "Org",
                "Orgc",
            ],
        ),
        AnalystEnvelope => k(
            &[
                ("Note", Holds(Analyst)),
                ("Opinion", Holds(Analyst)),
                ("Relationship", Holds(Analyst)),
                ("note_type_name", NullOnly),
            ],
            false,
            &[],
        ),
        RelatedAttribute => k(
            &[
                ("type", Scalar),
                ("category", Scalar),
                ("distribution", Scalar),
                ("Event", Holds(EventRow)),
                ("Object", Holds(ObjectRow)),
            ],
            false,
            &[
                "id",
                "event_id",
                "object_id",
                "object_relation",
                "value",
                "value1",
                "value2",
                "to_ids",
                "uuid",
                "timestamp",
                "comment",
                "sharing_group_id",
                "deleted",
                "disable_correlation",
                "first_seen",
                "last_seen",
                "Organisation",
                "orgc_uuid",
            ],
        ),
        RelatedAttributeEnvelope => k(&[("Attribute", Holds(RelatedAttribute))], false, &[]),
        ObjectRow => k(
            &[
                ("name", Scalar),
                ("template_uuid", Scalar),
                ("distribution", Scalar),
                ("Event", Holds(EventRow)),
                ("Attribute", Holds(Attribute)),
            ],
            false,
            &[
                "id",
                "meta-category",
                "description",
                "template_version",
                "event_id",
                "uuid",
                "timestamp",
                "sharing_group_id",
                "comment",
                "deleted",
                "first_seen",
                "last_seen",
                "Organisation",
                "orgc_uuid",
            ],
        ),
        ObjectRowEnvelope => k(&[("Object", Holds(ObjectRow))], false, &[]),
        EventReportEnvelope => k(&[("EventReport", Holds(EventReport))], false, &[]),
        NoKeys => k(&[], false, &[]),
        PostTest => k(&[], false, &["testString"]),
        EventIndexFilter => k(
            &[("minimal", Scalar), ("published", Scalar)],
            false,
            &["tag", "org", "type_attribute", "type_object"],
        ),
        ClusterSearchFilter => k(
            &[("minimal", Scalar), ("published", Scalar)],
            false,
            &["custom", "uuid", "eventid"],
        ),
        SightingSearch => k(
            &[],
            false,
            &["returnFormat", "last", "includeUuid", "uuid", "org_id"],
        ),
        AnalystIndexFilter => k(&[], false, &["orgc_name"]),
        EventStub => k(&[("Event", Holds(EventStubInner))], false, &[]),
        EventStubInner => k(&[], false, &["uuid", "timestamp"]),
        AnalystCandidates => k(&[], false, &["Note", "Opinion", "Relationship"]),
        MinimalIndexEntry => k(
            &[],
            false,
            &[
                "id",
                "timestamp",
                "sighting_timestamp",
                "published",
                "uuid",
                "orgc_uuid",
            ],
        ),
        ClusterIndex => k(&[("response", Holds(ClusterIndexEntry))], false, &[]),
        ClusterIndexEntry => k(&[("GalaxyCluster", Holds(ClusterStub))], false, &[]),
        ClusterStub => k(&[("uuid", Scalar)], false, &["version"]),
        Sighting => k(
            &[("event_uuid", Scalar)],
            false,
            &[
                "id",
                "attribute_id",
                "event_id",
                "org_id",
                "date_sighting",
                "uuid",
                "source",
                "type",
                "value",
                "attribute_uuid",
                "Organisation",
            ],
        ),
        SightingsAnswer => k(&[("response", Holds(SightingEnvelope))], false, &[]),
        SightingEnvelope => k(&[("Sighting", Holds(Sighting))], false, &[]),
        ProposalEnvelope => k(&[("ShadowAttribute", Holds(Attribute))], false, &[]),
        ErrorAnswer => k(
            &[],
            false,
            &["name", "message", "url", "errors", "saved", "success", "id"],
        ),
    }
}

/// The element a request body is, by its endpoint's kind; `None` where no
/// body is taken (checked above).
fn request_root(kind: RequestBody) -> Option<El> {
    Some(match kind {
        RequestBody::Empty => return None,
        RequestBody::Nothing | RequestBody::SightingUuids => El::NoKeys,
        RequestBody::PostTest => El::PostTest,
        RequestBody::EventIndexFilter => El::EventIndexFilter,
        RequestBody::ClusterSearchFilter => El::ClusterSearchFilter,
        RequestBody::SightingSearch => El::SightingSearch,
        RequestBody::AnalystIndexFilter => El::AnalystIndexFilter,
        RequestBody::EventIdsForPush => El::EventStub,
        RequestBody::AnalystCandidates => El::AnalystCandidates,
        RequestBody::Event => El::Event,
        RequestBody::GalaxyClusters => El::ClusterEnvelope,
        RequestBody::ShadowAttributes => El::Attribute,
        RequestBody::Sightings => El::Sighting,
        RequestBody::AnalystData => El::AnalystEnvelope,
    })
}

/// The element a response body is, by its endpoint's kind; `None` where
/// the response is not inspected.
fn response_root(kind: ResponseBody) -> Option<El> {
    Some(match kind {
        ResponseBody::Unchecked => return None,
        ResponseBody::MinimalIndex => El::MinimalIndexEntry,
        ResponseBody::ClusterIndex => El::ClusterIndex,
        ResponseBody::Uuids => El::NoKeys,
        ResponseBody::AnalystCandidates => El::AnalystCandidates,
        ResponseBody::Event | ResponseBody::PushAnswer => El::Event,
        ResponseBody::ShadowAttributes => El::ProposalEnvelope,
        ResponseBody::GalaxyCluster => El::ClusterEnvelope,
        ResponseBody::Sightings => El::SightingsAnswer,
        ResponseBody::AnalystData => El::AnalystEnvelope,
    })
}

/// Asserts that an allowed body is, as a whole, one of `roots` (the first
/// that fits) with no key outside the known sets.
fn assert_closed(body: &[u8], roots: &[El], what: &str) {
    let Some(value) = oracle_value(body) else {
        return;
    };
    let mut why = Vec::new();
    for root in roots {
        match walk(&value, *root) {
            Ok(()) => return,
            Err(e) => why.push(format!("as {root:?}: (top){e}")),
        }
    }
    panic!(
        "an allowed body for {what} has a key outside its endpoint's known set: {}",
        why.join("; ")
    );
}

/// Every key of every object reached from `v`, read as `el`, is known.
/// A list is a list of `el`; scalars hold no key. Returns where it is not,
/// as a path.
pub(crate) fn walk(v: &Value, el: El) -> Result<(), String> {
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| walk(item, el).map_err(|e| format!("[{i}]{e}"))),
        Value::Object(map) => {
            let known = keys(el);
            // Around a wrapped event MISP reads only the event inside: a
            // judged key beside it, or an event wrapped twice, is refused.
            if let Some(inner) = map.get("Event").filter(|v| el == El::Event && !v.is_null()) {
                for key in map.keys() {
                    let judged = matches!(known.get(key), Some(Val::Scalar | Val::Holds(_)));
                    if judged && !matches!(key.as_str(), "Event" | "response" | "request") {
                        return Err(format!(".{key}: a judged key beside a wrapped event"));
                    }
                }
                if inner.get("Event").is_some_and(|v| !v.is_null()) {
                    return Err(".Event.Event: an event wrapped twice".into());
                }
            }
            for (key, value) in map {
                let at = |e: String| format!(".{key}{e}");
                let Some(val) = known.get(key) else {
                    return Err(at(format!(": not a key of {el:?}")));
                };
                match val {
                    Val::Harmless => {}
                    Val::Scalar if value.is_object() || value.is_array() => {
                        return Err(at(": a container where a judged scalar goes".into()));
                    }
                    Val::Scalar => {}
                    Val::NullOnly if !value.is_null() => {
                        return Err(at(": allowed while not null".into()));
                    }
                    Val::NullOnly => {}
                    Val::Holds(child) => walk(value, child).map_err(at)?,
                    Val::Related => {
                        let shaped_by = match el {
                            El::InboundRelationship => "object_type",
                            _ => "related_object_type",
                        };
                        let kind = map.get(shaped_by).and_then(Value::as_str);
                        related(kind, value).map_err(at)?
                    }
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A relationship's `related_object`, as its type shapes it — the
/// `related_object_type`, or an inbound one's `object_type`
/// (rules/elements.rs, `related_object_at_depth`): nothing (null, `[]`,
/// `{}`), or the target wrapped in its type — bare as well for analyst
/// data. Any other type carries nothing a rule can inspect.
fn related(kind: Option<&str>, v: &Value) -> Result<(), String> {
    let empty = match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    if empty {
        return Ok(());
    }
    let el = match kind {
        Some("Event") => El::RelatedEvent,
        Some("Attribute") => El::RelatedAttributeEnvelope,
        Some("Object") => El::ObjectRowEnvelope,
        Some("EventReport") => El::EventReportEnvelope,
        Some("GalaxyCluster") => El::ClusterEnvelope,
        Some(k @ ("Note" | "Opinion" | "Relationship")) => {
            return match v.as_object() {
                Some(o) if o.len() == 1 && o.get(k).is_some_and(Value::is_object) => {
                    walk(&o[k], El::Analyst).map_err(|e| format!(".{k}{e}"))
                }
                _ => walk(v, El::Analyst),
            };
        }
        other => {
            return Err(format!(
                ": a relationship target of type {other:?} allowed, which no rule inspects"
            ));
        }
    };
    walk(v, el)
}

/// The body as a `Value` for the oracle, or `None` when serde_json cannot
/// hold it: nested deeper than its limit of 128, which the engine allows
/// inside the values it skips (and restarts in each relationship target).
/// Two things serde_json's `Value` refuses are rewritten first, since the
/// oracle reads neither: numbers (`1e400` overflows an f64) become `0`,
/// and surrogate escapes (a lone `\ud800`) become `\ufffd`. Keys with
/// surrogates are then not the key sent, but no known key has one.
pub(crate) fn oracle_value(body: &[u8]) -> Option<Value> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    let mut in_string = false;
    while i < body.len() {
        let c = body[i];
        if in_string {
            match c {
                b'"' => in_string = false,
                b'\\' if body.get(i + 1) == Some(&b'u') => {
                    let hex = std::str::from_utf8(&body[i + 2..i + 6]).expect("hex digits");
                    let unit = u16::from_str_radix(hex, 16).expect("hex digits");
                    if (0xd800..=0xdfff).contains(&unit) {
                        out.extend_from_slice(b"\\ufffd");
                    } else {
                        out.extend_from_slice(&body[i..i + 6]);
                    }
                    i += 6;
                    continue;
                }
                b'\\' => {
                    out.extend_from_slice(&body[i..i + 2]);
                    i += 2;
                    continue;
                }
                _ => {}
            }
        } else if c == b'"' {
            in_string = true;
        } else if c == b'-' || c.is_ascii_digit() {
            while body
                .get(i)
                .is_some_and(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            {
                i += 1;
            }
            out.push(b'0');
            continue;
        }
        out.push(c);
        i += 1;
    }
    match serde_json::from_slice(&out) {
        Ok(v) => Some(v),
        Err(e) if e.to_string().starts_with("recursion limit exceeded") => None,
        Err(e) => panic!("an allowed body the oracle cannot read: {e}"),
    }
}

fn is_json_media_type(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn first_non_ws(b: &[u8]) -> Option<u8> {
    b.iter().copied().find(|c| !is_ws(*c))
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// One JSON text as RFC 8259 defines it, in UTF-8: written independently of
/// serde_json (no recursion, no depth limit), so the engine's parser is
/// checked rather than restated.
fn strict_json(b: &[u8]) -> bool {
    if std::str::from_utf8(b).is_err() {
        return false;
    }
    let mut p = Parser { b, i: 0 };
    p.ws();
    if !p.value() {
        return false;
    }
    p.ws();
    p.i == b.len()
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Frame {
    Array,
    Object,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn lit(&mut self, s: &[u8]) -> bool {
        if self.b[self.i..].starts_with(s) {
            self.i += s.len();
            true
        } else {
            false
        }
    }

    /// A value, with containers walked on an explicit stack.
    fn value(&mut self) -> bool {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            // Expecting a value here.
            self.ws();
            match self.peek() {
                Some(b'{') => {
                    self.i += 1;
                    self.ws();
                    if self.eat(b'}') {
                        // empty object: a complete value
                    } else {
                        if !self.key() {
                            return false;
                        }
                        stack.push(Frame::Object);
                        continue;
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    self.ws();
                    if self.eat(b']') {
                        // empty array: a complete value
                    } else {
                        stack.push(Frame::Array);
                        continue;
                    }
                }
                Some(b'"') => {
                    if !self.string() {
                        return false;
                    }
                }
                Some(b't') => {
                    if !self.lit(b"true") {
                        return false;
                    }
                }
                Some(b'f') => {
                    if !self.lit(b"false") {
                        return false;
                    }
                }
                Some(b'n') => {
                    if !self.lit(b"null") {
                        return false;
                    }
                }
                Some(b'-' | b'0'..=b'9') => {
                    if !self.number() {
                        return false;
                    }
                }
                _ => return false,
            }
            // A value is complete: close containers or go on to the next one.
            loop {
                let Some(top) = stack.last().copied() else {
                    return true;
                };
                self.ws();
                if self.eat(b',') {
                    if top == Frame::Object {
                        self.ws();
                        if !self.key() {
                            return false;
                        }
                    }
                    break;
                }
                let close = if top == Frame::Object { b'}' } else { b']' };
                if self.eat(close) {
                    stack.pop();
                    continue;
                }
                return false;
            }
        }
    }

    /// `"key" :`
    fn key(&mut self) -> bool {
        if self.peek() != Some(b'"') || !self.string() {
            return false;
        }
        self.ws();
        self.eat(b':')
    }

    fn string(&mut self) -> bool {
        self.i += 1; // the opening quote
        loop {
            match self.peek() {
                None => return false,
                Some(b'"') => {
                    self.i += 1;
                    return true;
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            self.i += 1;
                            for _ in 0..4 {
                                if !self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                                    return false;
                                }
                                self.i += 1;
                            }
                        }
                        _ => return false,
                    }
                }
                Some(c) if c < 0x20 => return false,
                Some(_) => self.i += 1,
            }
        }
    }

    fn number(&mut self) -> bool {
        self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
            }
            _ => return false,
        }
        if self.eat(b'.') {
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return false;
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return false;
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        true
    }
}
