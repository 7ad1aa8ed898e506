//! The table itself: each endpoint MISP's sync uses, as a method, path
//! segments, the named parameters it takes, and what the guard must find
//! in its body and its answer.

use super::{Direction, Endpoint, RequestBody, ResponseBody};

/// A path segment pattern.
#[derive(Debug, Clone, Copy)]
pub(super) enum Seg {
    Lit(&'static str),
    /// A UUID, any case.
    Uuid,
    /// A UUID or a decimal database id.
    UuidOrId,
    /// `Note`, `Opinion` or `Relationship`.
    AnalystType,
}

/// What may follow the fixed segments.
#[derive(Debug, Clone, Copy)]
pub(super) enum Tail {
    /// Nothing.
    None,
    /// Named parameters from this list, each at most once.
    Params(&'static [Param]),
    /// 1..=100 `uuid[]:<uuid>` segments (MISP batches analyst data by 100).
    UuidList,
}

/// A named parameter MISP's own sync sends, and the values it sends.
#[derive(Debug, Clone, Copy)]
pub(super) struct Param {
    pub key: &'static str,
    pub value: Value,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Value {
    Is(&'static str),
    Number,
}

const fn is(key: &'static str, v: &'static str) -> Param {
    Param {
        key,
        value: Value::Is(v),
    }
}

const fn number(key: &'static str) -> Param {
    Param {
        key,
        value: Value::Number,
    }
}

/// `events/add` and `events/edit`: MISP's push always says `metadata:1`.
const METADATA: &[Param] = &[is("metadata", "0"), is("metadata", "1")];

/// `events/view` as MISP's pull asks for it (and the older sightings pull,
/// which adds the last three): everything that would add other events'
/// data switched off.
const VIEW: &[Param] = &[
    is("deleted[]", "0"),
    is("deleted[]", "1"),
    is("excludeGalaxy", "1"),
    is("includeEventCorrelations", "0"),
    is("includeFeedCorrelations", "0"),
    is("includeWarninglistHits", "0"),
    is("excludeLocalTags", "1"),
    is("includeAttachments", "0"),
    is("noEventReports", "1"),
    is("noShadowAttributes", "1"),
];

/// `shadow_attributes/index` as MISP's proposal pull pages through it.
const PROPOSALS: &[Param] = &[
    is("all", "1"),
    number("timestamp"),
    number("limit"),
    number("page"),
    is("deleted[]", "0"),
    is("deleted[]", "1"),
];

pub(super) struct Row {
    pub method: &'static str,
    pub segs: &'static [Seg],
    pub tail: Tail,
    pub endpoint: Endpoint,
}

const fn ep(
    name: &'static str,
    direction: Direction,
    request: RequestBody,
    response: ResponseBody,
) -> Endpoint {
    Endpoint {
        name,
        direction,
        request,
        response,
        needs_auth_key_refresh: false,
        subject: None,
    }
}

use Direction::*;
use Seg::*;

pub(super) const TABLE: &[Row] = &[
    // Both directions.
    Row {
        method: "GET",
        segs: &[Lit("servers"), Lit("getVersion")],
        tail: Tail::None,
        endpoint: ep(
            "servers/getVersion",
            Control,
            RequestBody::Empty,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("servers"), Lit("postTest")],
        tail: Tail::None,
        endpoint: ep(
            "servers/postTest",
            Control,
            RequestBody::PostTest,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "GET",
        segs: &[Lit("users"), Lit("view"), Lit("me")],
        tail: Tail::None,
        endpoint: ep(
            "users/view/me",
            Control,
            RequestBody::Empty,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("events"), Lit("index")],
        tail: Tail::None,
        endpoint: ep(
            "events/index",
            Control,
            RequestBody::EventIndexFilter,
            ResponseBody::MinimalIndex,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("users"), Lit("resetauthkey"), Lit("me")],
        tail: Tail::None,
        endpoint: Endpoint {
            name: "users/resetauthkey/me",
            direction: Control,
            request: RequestBody::Nothing,
            response: ResponseBody::Unchecked,
            needs_auth_key_refresh: true,
            subject: None,
        },
    },
    // Push.
    Row {
        method: "POST",
        segs: &[Lit("events"), Lit("filterEventIdsForPush")],
        tail: Tail::None,
        endpoint: ep(
            "events/filterEventIdsForPush",
            Control,
            RequestBody::EventIdsForPush,
            ResponseBody::Uuids,
        ),
    },
    Row {
        method: "HEAD",
        segs: &[Lit("events"), Lit("view"), Uuid],
        tail: Tail::None,
        endpoint: ep(
            "events/view (HEAD)",
            Control,
            RequestBody::Empty,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("events"), Lit("add")],
        tail: Tail::Params(METADATA),
        endpoint: ep(
            "events/add",
            Push,
            RequestBody::Event,
            ResponseBody::PushAnswer,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("events"), Lit("edit"), UuidOrId],
        tail: Tail::Params(METADATA),
        endpoint: ep(
            "events/edit",
            Push,
            RequestBody::Event,
            ResponseBody::PushAnswer,
        ),
    },
    Row {
        method: "GET",
        segs: &[Lit("eventReports"), Lit("add")],
        tail: Tail::None,
        endpoint: ep(
            "eventReports/add (probe)",
            Control,
            RequestBody::Empty,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("galaxy_clusters"), Lit("restSearch")],
        tail: Tail::None,
        endpoint: ep(
            "galaxy_clusters/restSearch",
            Control,
            RequestBody::ClusterSearchFilter,
            ResponseBody::ClusterIndex,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("galaxies"), Lit("pushCluster")],
        tail: Tail::None,
        endpoint: ep(
            "galaxies/pushCluster",
            Push,
            RequestBody::GalaxyClusters,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("events"), Lit("pushProposals"), Uuid],
        tail: Tail::None,
        endpoint: ep(
            "events/pushProposals",
            Push,
            RequestBody::ShadowAttributes,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("sightings"), Lit("filterSightingUuidsForPush"), Uuid],
        tail: Tail::None,
        endpoint: ep(
            "sightings/filterSightingUuidsForPush",
            Control,
            RequestBody::SightingUuids,
            ResponseBody::Uuids,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("sightings"), Lit("bulkSaveSightings"), Uuid],
        tail: Tail::None,
        endpoint: ep(
            "sightings/bulkSaveSightings",
            Push,
            // Judged by their event (they carry nothing a rule reads).
            RequestBody::Sightings,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("analyst_data"), Lit("filterAnalystDataForPush")],
        tail: Tail::None,
        endpoint: ep(
            "analyst_data/filterAnalystDataForPush",
            Control,
            RequestBody::AnalystCandidates,
            ResponseBody::AnalystCandidates,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("analyst_data"), Lit("pushAnalystData")],
        tail: Tail::None,
        endpoint: ep(
            "analyst_data/pushAnalystData",
            Push,
            RequestBody::AnalystData,
            ResponseBody::Unchecked,
        ),
    },
    // Pull.
    Row {
        method: "GET",
        segs: &[Lit("events"), Lit("view"), UuidOrId],
        tail: Tail::Params(VIEW),
        endpoint: ep("events/view", Pull, RequestBody::Empty, ResponseBody::Event),
    },
    Row {
        method: "GET",
        segs: &[Lit("shadow_attributes"), Lit("index")],
        tail: Tail::Params(PROPOSALS),
        endpoint: ep(
            "shadow_attributes/index",
            Pull,
            RequestBody::Empty,
            ResponseBody::ShadowAttributes,
        ),
    },
    Row {
        method: "GET",
        segs: &[Lit("galaxy_clusters"), Lit("view"), Uuid],
        tail: Tail::None,
        endpoint: ep(
            "galaxy_clusters/view",
            Pull,
            RequestBody::Empty,
            ResponseBody::GalaxyCluster,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("sightings"), Lit("restSearch"), Lit("event")],
        tail: Tail::None,
        endpoint: ep(
            "sightings/restSearch/event",
            Pull,
            RequestBody::SightingSearch,
            ResponseBody::Sightings,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("analyst_data"), Lit("indexMinimal")],
        tail: Tail::None,
        endpoint: ep(
            "analyst_data/indexMinimal",
            Control,
            RequestBody::AnalystIndexFilter,
            ResponseBody::AnalystCandidates,
        ),
    },
    Row {
        method: "GET",
        segs: &[Lit("analyst_data"), Lit("index"), AnalystType],
        tail: Tail::UuidList,
        endpoint: ep(
            "analyst_data/index",
            Pull,
            RequestBody::Empty,
            ResponseBody::AnalystData,
        ),
    },
];

/// Most `uuid[]:` segments MISP puts in one analyst-data index request.
pub(super) const MAX_UUID_LIST: usize = 100;
