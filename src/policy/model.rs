//! The typed MISP model the rules read — **closed**: every key MISP's own
//! sync sends is named here, either as a field a rule judges or as a key
//! known harmless (MISP stores or ignores it, no rule is about it). A key
//! that is neither is refused, with its name: a guard that skipped what it
//! does not know would let through whatever MISP learns to read next, or
//! reads already on a path nobody looked at (`Attribute.Sighting` stored by
//! the receiver, `Tag.deleted` detaching a tag on edit, `AttributeTag` rows
//! saved by local id).
//!
//! Five more choices keep this both fast and hard to fool:
//! - **Borrowed strings** (`Cow<str>`): a 100 MB event is parsed without
//!   copying its strings; only escaped ones are unescaped into new memory.
//! - **Harmless values are skipped**, their syntax still checked, and the
//!   whole body must be UTF-8. (serde_json does not check escapes or
//!   nesting depth inside skipped values; PHP's reader refuses such a
//!   document outright, so nothing unchecked lands.)
//! - **Duplicate keys are an error**, judged or harmless: PHP's
//!   `json_decode` keeps the *last* one, so a guard that read the first
//!   could be walked past.
//! - **No `#[serde(flatten)]`**: it buffers every unknown field of the
//!   object (a whole attribute list) before matching, which costs memory and
//!   time on big events. The analyst-data fields are repeated instead.
//! - **An event's long lists are not kept** (`model/event.rs`): each
//!   attribute, object and proposal is judged as it is read and dropped, so
//!   a 100 MB event is inspected in the memory of one element.
//!
//! MISP sends some fields loosely (`"distribution": "3"` or `3`, `all_orgs`
//! as `true` or `"1"`, empty PHP arrays as `[]` where an object would be):
//! the deserialisers in `model/de.rs` accept exactly those forms and refuse
//! anything else, which the engine turns into a block.
//!
//! The key lists follow MISP 2.5's own output (`Event::fetchEvent` and
//! `JSONConverterTool::convert` for events, pulled or pushed; the
//! controllers for the other endpoints), as read in its source.

mod analyst;
mod cluster;
mod control;
mod de;
mod event;

pub use analyst::{AnalystData, AnalystEnvelope, ObjectRow, RelatedAttribute};
pub use cluster::{Galaxy, GalaxyCluster, GalaxyClusterEnvelope, GalaxyClusterRelation};
pub use control::*;
pub use de::{Distribution, ObjectOnly, RawJson, Wrapped};
use de::{closed_struct, list, loose_bool, opt_list, opt_object};
pub use event::{ElementJudge, EnvelopeSeed, Event, EventSeed, Verdict};
use std::borrow::Cow;

type Str<'a> = Cow<'a, str>;

closed_struct! {
    /// A tag as MISP attaches it: by name (every other column of MISP's
    /// `tags` row comes along and is harmless). No `deleted`: on edit
    /// MISP would detach a tag so marked, and its own sync never sends one.
    pub struct Tag<'a> {
        #[serde(borrow)]
        pub name: Str<'a>,
    }
    harmless {
        id, colour, exportable, org_id, user_id, hide_tag, numerical_value, is_galaxy,
        is_custom_galaxy, local_only, local, relationship_type, original_numerical_value,
    }
}

closed_struct! {
    /// An attribute, a proposal (`ShadowAttribute`), or the attribute of an
    /// object: MISP sends all three with the same columns, proposals with a
    /// few of their own.
    pub struct Attribute<'a> with analyst data {
        #[serde(rename = "type", borrow)]
        pub kind: Str<'a>,
        #[serde(borrow)]
        pub category: Str<'a>,
        /// Identifies the element for the references copied into objects.
        #[serde(borrow, default)]
        pub uuid: Option<Str<'a>>,
        #[serde(default)]
        pub distribution: Option<Distribution>,
        #[serde(rename = "SharingGroup", borrow, default, deserialize_with = "opt_object")]
        pub sharing_group: Option<Box<SharingGroup<'a>>>,
        #[serde(rename = "Tag", borrow, default, deserialize_with = "opt_list")]
        pub tags: Option<Vec<Tag<'a>>>,
        #[serde(rename = "ShadowAttribute", borrow, default, deserialize_with = "list")]
        pub shadow_attributes: Vec<Attribute<'a>>,
        #[serde(rename = "Galaxy", borrow, default, deserialize_with = "list")]
        pub galaxies: Vec<Galaxy<'a>>,
        /// A proposal's event (proposals come without their event).
        #[serde(borrow, default)]
        pub event_uuid: Option<Str<'a>>,
    }
    harmless {
        id, event_id, object_id, object_relation, value, to_ids, timestamp, comment,
        sharing_group_id, deleted, disable_correlation, first_seen, last_seen, data,
        validationIssue,
        // The sightings of this attribute (pulled events): belong to it.
        Sighting,
        // Proposals' own columns.
        old_id, org_id, email, event_org_id, proposal_to_delete, Org, org_uuid, old_uuid,
    }
}

closed_struct! {
    /// An object: identified by `template_uuid` (MISP checks nothing of
    /// the free-text `name` against it), with its attributes and its
    /// references to other elements of the event.
    pub struct Object<'a> with analyst data {
        #[serde(borrow)]
        pub name: Str<'a>,
        #[serde(borrow, default)]
        pub template_uuid: Option<Str<'a>>,
        #[serde(borrow, default)]
        pub uuid: Option<Str<'a>>,
        /// Required of elements MISP syncs (the engine checks); a feed's
        /// events may leave it out.
        #[serde(default)]
        pub distribution: Option<Distribution>,
        #[serde(rename = "SharingGroup", borrow, default, deserialize_with = "opt_object")]
        pub sharing_group: Option<Box<SharingGroup<'a>>>,
        #[serde(rename = "Attribute", borrow, default, deserialize_with = "list")]
        pub attributes: Vec<Attribute<'a>>,
        #[serde(rename = "ObjectReference", borrow, default, deserialize_with = "list")]
        pub references: Vec<ObjectReference<'a>>,
    }
    harmless {
        id, meta_category as "meta-category", description, template_version, event_id,
        timestamp, sharing_group_id, comment, deleted, first_seen, last_seen,
    }
}

closed_struct! {
    /// A reference from an object to another element. MISP copies a few
    /// columns of the element referenced into it (`Attribute` or `Object`)
    /// — before the sync preparation removes elements, so a copy may carry
    /// an attribute the event no longer does.
    pub struct ObjectReference<'a> {
        #[serde(rename = "Attribute", borrow, default, deserialize_with = "opt_object")]
        pub attribute: Option<ReferenceCopy<'a>>,
        #[serde(rename = "Object", borrow, default, deserialize_with = "opt_object")]
        pub object: Option<ReferenceCopy<'a>>,
    }
    harmless {
        id, uuid, timestamp, object_id, object_uuid, source_uuid, referenced_uuid,
        referenced_id, referenced_type, relationship_type, comment, deleted, event_id,
    }
}

closed_struct! {
    /// The columns MISP copies of a referenced attribute (`type`,
    /// `category`, `value`…) or object (`name`, `meta-category`); for an
    /// element outside the event, a placeholder with empty values.
    pub struct ReferenceCopy<'a> {
        #[serde(borrow, default)]
        pub uuid: Option<Str<'a>>,
        #[serde(rename = "type", borrow, default)]
        pub kind: Option<Str<'a>>,
        #[serde(borrow, default)]
        pub category: Option<Str<'a>>,
        #[serde(borrow, default)]
        pub name: Option<Str<'a>>,
        #[serde(borrow, default)]
        pub value: Option<Str<'a>>,
        #[serde(default)]
        pub distribution: Option<Distribution>,
    }
    harmless { sharing_group_id, to_ids, meta_category as "meta-category" }
}

impl ReferenceCopy<'_> {
    /// MISP's stand-in for an element outside the event: nothing but its
    /// uuid and the words "… from another event".
    pub fn is_placeholder(&self) -> bool {
        let empty = |s: &Option<Str>| s.as_deref().is_none_or(str::is_empty);
        empty(&self.value) && empty(&self.kind) && empty(&self.name)
    }
}

closed_struct! {
    pub struct EventReport<'a> with analyst data {
        /// Required of elements MISP syncs (the engine checks); a feed's
        /// events may leave it out.
        #[serde(default)]
        pub distribution: Option<Distribution>,
        #[serde(rename = "SharingGroup", borrow, default, deserialize_with = "opt_object")]
        pub sharing_group: Option<Box<SharingGroup<'a>>>,
        #[serde(rename = "Tag", borrow, default, deserialize_with = "opt_list")]
        pub tags: Option<Vec<Tag<'a>>>,
    }
    harmless { id, uuid, event_id, name, content, sharing_group_id, timestamp, deleted }
}

closed_struct! {
    pub struct SharingGroup<'a> {
        #[serde(borrow)]
        pub uuid: Str<'a>,
        #[serde(rename = "SharingGroupOrg", borrow, default, deserialize_with = "list")]
        pub orgs: Vec<SharingGroupOrg<'a>>,
        #[serde(rename = "SharingGroupServer", default, deserialize_with = "list")]
        pub servers: Vec<SharingGroupServer>,
    }
    harmless {
        id, name, releasability, description, organisation_uuid, org_id, sync_user_id,
        active, created, modified, local, roaming, Organisation,
    }
}

closed_struct! {
    pub struct SharingGroupOrg<'a> {
        #[serde(rename = "Organisation", borrow, deserialize_with = "de::object")]
        pub organisation: Organisation<'a>,
    }
    harmless { id, sharing_group_id, org_id, extend }
}

closed_struct! {
    pub struct Organisation<'a> {
        #[serde(borrow)]
        pub uuid: Str<'a>,
    }
    harmless {
        id, name, local, date_created, date_modified, description, type_ as "type",
        nationality, sector, created_by, contacts, restricted_to_domain, landingpage,
    }
}

closed_struct! {
    pub struct SharingGroupServer {
        #[serde(default, deserialize_with = "loose_bool")]
        pub all_orgs: bool,
        /// MISP's `captureSGServers` reads `all_orgs` from a nested `Server`
        /// object when there is one, and then ignores the outer flag.
        #[serde(rename = "Server", default, deserialize_with = "opt_object")]
        pub server: Option<SharingGroupServerInner>,
    }
    harmless { id, sharing_group_id, server_id }
}

closed_struct! {
    pub struct SharingGroupServerInner {
        #[serde(default, deserialize_with = "loose_bool")]
        pub all_orgs: bool,
    }
    harmless { id, url, name, remote_org_id }
}

impl SharingGroupServer {
    /// The flag MISP would store.
    pub fn all_orgs(&self) -> bool {
        match &self.server {
            Some(inner) => inner.all_orgs,
            None => self.all_orgs,
        }
    }
}

closed_struct! {
    /// An event's row without its lists or tags: what MISP shows of
    /// *another* event (a correlation, a relationship's target, the parent
    /// of a related attribute). Its tags are not there to judge.
    pub struct EventRow<'a> {
        #[serde(borrow, default)]
        pub uuid: Option<Str<'a>>,
        #[serde(default)]
        pub distribution: Option<Distribution>,
    }
    harmless {
        id, org_id, date, info, user_id, published, analysis, attribute_count, orgc_id,
        timestamp, sharing_group_id, proposal_email_lock, locked, threat_level_id,
        publish_timestamp, sighting_timestamp, disable_correlation, extends_uuid, protected,
        Org, Orgc,
    }
}
