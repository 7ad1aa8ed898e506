//! The small bodies of sync: search filters, push filters, capability
//! answers, sightings, and the minimal indexes — each closed to the keys
//! MISP's own sync sends.
//!
//! Filters are where a request can widen what comes back: MISP's
//! `events/index` lower-cases keys, strips a `search` prefix, lets a
//! `request` member replace the body and keeps the last duplicate. A closed
//! filter makes all of that moot: a key not listed here (`Minimal`,
//! `searchminimal`, `request`, `includeEvent`) is refused by name.

use super::de::{closed_struct, flag_one};
use super::{Attribute, Str};

closed_struct! {
    /// `POST /events/index` as MISP's pull sends it: `minimal` and
    /// `published` (both must be 1), and the pull rules' narrowing filters.
    pub struct EventIndexFilter {
        #[serde(default, deserialize_with = "flag_one")]
        pub minimal: bool,
        #[serde(default, deserialize_with = "flag_one")]
        pub published: bool,
    }
    harmless { tag, org, type_attribute, type_object }
}

closed_struct! {
    /// `POST /galaxy_clusters/restSearch` as MISP's sync sends it.
    pub struct ClusterSearchFilter {
        #[serde(default, deserialize_with = "flag_one")]
        pub minimal: bool,
        #[serde(default, deserialize_with = "flag_one")]
        pub published: bool,
    }
    harmless { custom, uuid, eventid }
}

closed_struct! {
    /// `POST /sightings/restSearch/event` as MISP's pull sends it. Without
    /// `includeAttribute` and `includeEvent`, which add the attribute's type
    /// and the event's title to every sighting.
    pub struct SightingSearch {}
    harmless { returnFormat, last, includeUuid, uuid, org_id }
}

closed_struct! {
    /// `POST /analyst_data/indexMinimal`: the organisations to list.
    pub struct AnalystIndexFilter {}
    harmless { orgc_name }
}

closed_struct! {
    /// `POST /servers/postTest`.
    pub struct PostTest {}
    harmless { testString }
}

closed_struct! {
    /// An element of `POST /events/filterEventIdsForPush`.
    pub struct EventStub {
        #[serde(rename = "Event", deserialize_with = "super::de::object")]
        pub event: EventStubInner,
    }
    harmless {}
}

closed_struct! {
    pub struct EventStubInner {}
    harmless { uuid, timestamp }
}

closed_struct! {
    /// `{"Note": {uuid: modified}, "Opinion": …, "Relationship": …}`: the
    /// analyst data a pusher offers and the receiver still wants, and the
    /// minimal analyst-data index (uuids and dates only).
    pub struct AnalystCandidates {}
    harmless { Note, Opinion, Relationship }
}

closed_struct! {
    /// One event of the minimal index: what MISP's sync reads to decide what
    /// to pull, and nothing of the event's content.
    pub struct MinimalIndexEntry {}
    harmless { id, timestamp, sighting_timestamp, published, uuid, orgc_uuid }
}

closed_struct! {
    /// The minimal answer of `galaxy_clusters/restSearch`.
    pub struct ClusterIndex<'a> {
        #[serde(borrow, default)]
        pub response: Vec<ClusterIndexEntry<'a>>,
    }
    harmless {}
}

closed_struct! {
    pub struct ClusterIndexEntry<'a> {
        #[serde(rename = "GalaxyCluster", borrow, deserialize_with = "super::de::object")]
        pub cluster: ClusterStub<'a>,
    }
    harmless {}
}

closed_struct! {
    pub struct ClusterStub<'a> {
        #[serde(borrow, default)]
        pub uuid: Option<Str<'a>>,
    }
    harmless { version }
}

closed_struct! {
    /// A sighting: pushed (a row of `bulkSaveSightings`) or pulled (inside
    /// `{"Sighting": …}`, with the sighted attribute's `value`). It carries
    /// nothing a rule could read; it is judged by its event.
    pub struct Sighting<'a> {
        #[serde(borrow, default)]
        pub event_uuid: Option<Str<'a>>,
    }
    harmless {
        id, attribute_id, event_id, org_id, date_sighting, uuid, source, type_ as "type",
        value, attribute_uuid, Organisation,
    }
}

closed_struct! {
    /// The answer of `sightings/restSearch`.
    pub struct SightingsAnswer<'a> {
        #[serde(borrow, default)]
        pub response: Vec<SightingEnvelope<'a>>,
    }
    harmless {}
}

closed_struct! {
    pub struct SightingEnvelope<'a> {
        #[serde(rename = "Sighting", borrow, deserialize_with = "super::de::object")]
        pub sighting: Sighting<'a>,
    }
    harmless {}
}

closed_struct! {
    /// An element of the proposals index.
    pub struct ProposalEnvelope<'a> {
        #[serde(rename = "ShadowAttribute", borrow, deserialize_with = "super::de::object")]
        pub proposal: Attribute<'a>,
    }
    harmless {}
}

closed_struct! {
    /// MISP's JSON error (`{"name", "message", "url"}`, with `errors` and
    /// `saved` from failed saves): answers that carry no data.
    pub struct ErrorAnswer {}
    harmless { name, message, url, errors, saved, success, id }
}
