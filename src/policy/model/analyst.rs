//! Analyst data — notes, opinions, relationships — and what a relationship
//! shows of the element it points at (`related_object`).
//!
//! MISP classifies analyst data by their own distribution and sharing
//! group. A relationship also carries a copy of its target, shaped by the
//! target's type: an event's bare row (no tags), an attribute or an object
//! with the rows of its parent event and object. Those copies are judged
//! as what they are.

use super::de::{RawJson, closed_struct, opt_object};
use super::{Distribution, EventRow, SharingGroup, Str};
use serde::Deserialize;

closed_struct! {
    /// A note, an opinion or a relationship. The three share
    /// `distribution`; a relationship also points at another element,
    /// which is judged too.
    pub struct AnalystData<'a> with analyst data {
        #[serde(borrow, default)]
        pub uuid: Option<Str<'a>>,
        /// Required of elements MISP syncs (the engine checks); a feed's
        /// events may leave it out.
        #[serde(default)]
        pub distribution: Option<Distribution>,
        #[serde(rename = "SharingGroup", borrow, default, deserialize_with = "opt_object")]
        pub sharing_group: Option<Box<SharingGroup<'a>>>,
        /// What the record is attached to (`Event`, `Attribute`, …) and its
        /// uuid: a note on an event belongs to that event.
        #[serde(borrow, default)]
        pub object_type: Option<Str<'a>>,
        #[serde(borrow, default)]
        pub object_uuid: Option<Str<'a>>,
        #[serde(borrow, default)]
        pub related_object_type: Option<Str<'a>>,
        /// Kept raw: its shape depends on `related_object_type`, which may
        /// come after it in the object.
        #[serde(borrow, default)]
        pub related_object: Option<RawJson<'a>>,
    }
    harmless {
        id, authors, org_uuid, orgc_uuid, created, modified, sharing_group_id, locked,
        note, language, opinion, comment, relationship_type, related_object_uuid,
        note_type, note_type_name, _canEdit, _max_depth_reached, Org, Orgc,
    }
}

/// `{"Note": {...}}`, `{"Opinion": {...}}` or `{"Relationship": {...}}`:
/// exactly one of them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalystEnvelope<'a> {
    #[serde(rename = "Note", borrow, default, deserialize_with = "opt_object")]
    pub note: Option<AnalystData<'a>>,
    #[serde(rename = "Opinion", borrow, default, deserialize_with = "opt_object")]
    pub opinion: Option<AnalystData<'a>>,
    #[serde(
        rename = "Relationship",
        borrow,
        default,
        deserialize_with = "opt_object"
    )]
    pub relationship: Option<AnalystData<'a>>,
    /// MISP's `captureAnalystData` takes a body with a top-level
    /// `note_type_name` as the record itself, whatever member it wraps;
    /// refused, so the envelope means one thing.
    #[serde(default)]
    pub note_type_name: Option<serde::de::IgnoredAny>,
}

impl<'a> AnalystEnvelope<'a> {
    pub fn items(&self) -> impl Iterator<Item = &AnalystData<'a>> {
        [&self.note, &self.opinion, &self.relationship]
            .into_iter()
            .flatten()
    }
}

closed_struct! {
    /// A relationship's target of type `Attribute`: the attribute's row,
    /// with the rows of its event and its object.
    pub struct RelatedAttribute<'a> {
        #[serde(rename = "type", borrow)]
        pub kind: Str<'a>,
        #[serde(borrow)]
        pub category: Str<'a>,
        #[serde(default)]
        pub distribution: Option<Distribution>,
        #[serde(rename = "Event", borrow, default, deserialize_with = "opt_object")]
        pub event: Option<EventRow<'a>>,
        #[serde(rename = "Object", borrow, default, deserialize_with = "opt_object")]
        pub object: Option<ObjectRow<'a>>,
    }
    harmless {
        id, event_id, object_id, object_relation, value, value1, value2, to_ids, uuid,
        timestamp, comment, sharing_group_id, deleted, disable_correlation, first_seen,
        last_seen, Organisation, orgc_uuid,
    }
}

closed_struct! {
    /// An object's row: a relationship's target of type `Object` (with its
    /// event's row), or the parent object of a related attribute (its
    /// columns are null when the attribute has none).
    pub struct ObjectRow<'a> {
        #[serde(borrow, default)]
        pub name: Option<Str<'a>>,
        #[serde(borrow, default)]
        pub template_uuid: Option<Str<'a>>,
        #[serde(default)]
        pub distribution: Option<Distribution>,
        #[serde(rename = "Event", borrow, default, deserialize_with = "opt_object")]
        pub event: Option<EventRow<'a>>,
        /// Not in MISP 2.5's shape, judged if ever there.
        #[serde(rename = "Attribute", borrow, default, deserialize_with = "super::de::list")]
        pub attributes: Vec<super::Attribute<'a>>,
    }
    harmless {
        id, meta_category as "meta-category", description, template_version, event_id,
        uuid, timestamp, sharing_group_id, comment, deleted, first_seen, last_seen,
        Organisation, orgc_uuid,
    }
}
