//! The typed MISP model the rules read: only the fields a rule looks at.
//!
//! Five choices keep this both fast and hard to fool:
//! - **Borrowed strings** (`Cow<str>`): a 100 MB event is parsed without
//!   copying its strings; only escaped ones are unescaped into new memory.
//! - **Everything else is skipped** (serde ignores unknown fields), but its
//!   syntax is still checked, and the whole body must be UTF-8. (serde_json
//!   does not check escapes or nesting depth inside skipped values; PHP's
//!   reader refuses such a document outright, so nothing unchecked lands.)
//! - **Duplicate keys are an error.** serde's derive refuses a second `Tag`
//!   in one object; PHP's `json_decode` would keep the *last* one, so a guard
//!   that read the first could be walked past. A duplicate of a field the
//!   rules do not read cannot change a verdict and is left to the receiver.
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
//! anything else, which the engine turns into a block. Where MISP's own
//! capture code reads more than the canonical keys (`EventTag`, `tag_ids`,
//! `template_uuid`, wrapped elements), the model carries those keys too, so
//! the engine can check or refuse them.

mod de;
mod event;

pub use de::{Distribution, ObjectOnly, Wrapped};
use de::{flag_one, list, loose_bool, object, opt_list, opt_object, php_non_empty};
pub use event::{ElementJudge, EnvelopeSeed, Event, EventSeed, Verdict};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use std::borrow::Cow;

type Str<'a> = Cow<'a, str>;

#[derive(Debug, Deserialize)]
pub struct Tag<'a> {
    #[serde(borrow)]
    pub name: Str<'a>,
}

/// `{"Tag": {"name": ...}}`, an element of `EventTag` / `AttributeTag`.
#[derive(Debug, Deserialize)]
pub struct TagLink<'a> {
    #[serde(rename = "Tag", borrow, deserialize_with = "object")]
    pub tag: Tag<'a>,
}

/// The tags an element carries, from every list MISP attaches tags from.
#[derive(Debug, Clone, Copy, Default)]
pub struct TagSet<'x, 'a> {
    pub tags: Option<&'x [Tag<'a>]>,
    pub links: Option<&'x [TagLink<'a>]>,
}

impl<'x, 'a> TagSet<'x, 'a> {
    pub fn of(tags: &'x Option<Vec<Tag<'a>>>, links: &'x Option<Vec<TagLink<'a>>>) -> Self {
        TagSet {
            tags: tags.as_deref(),
            links: links.as_deref(),
        }
    }

    /// Whether any tag list is there at all (even empty).
    pub fn present(&self) -> bool {
        self.tags.is_some() || self.links.is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'x Tag<'a>> + use<'x, 'a> {
        let links = self.links.unwrap_or_default().iter().map(|l| &l.tag);
        self.tags.unwrap_or_default().iter().chain(links)
    }
}

#[derive(Debug, Deserialize)]
pub struct Attribute<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub category: Str<'a>,
    #[serde(default)]
    pub distribution: Option<Distribution>,
    #[serde(
        rename = "SharingGroup",
        borrow,
        default,
        deserialize_with = "opt_object"
    )]
    pub sharing_group: Option<Box<SharingGroup<'a>>>,
    #[serde(rename = "Tag", borrow, default, deserialize_with = "opt_list")]
    pub tags: Option<Vec<Tag<'a>>>,
    /// `AttributeTag[].Tag`, MISP's internal shape, also attached on save.
    #[serde(
        rename = "AttributeTag",
        borrow,
        default,
        deserialize_with = "opt_list"
    )]
    pub tag_links: Option<Vec<TagLink<'a>>>,
    /// MISP attaches tags by local database id from this list after saving
    /// the attribute; ids cannot be checked against tag names, so a
    /// non-empty list is refused.
    #[serde(default, deserialize_with = "php_non_empty")]
    pub tag_ids: bool,
    /// An `Attribute` key inside an attribute: a wrapper some MISP capture
    /// paths unwrap. Refused when set.
    #[serde(rename = "Attribute", default)]
    pub wrapper: Option<IgnoredAny>,
    #[serde(rename = "ShadowAttribute", borrow, default, deserialize_with = "list")]
    pub shadow_attributes: Vec<Attribute<'a>>,
    #[serde(rename = "Galaxy", borrow, default, deserialize_with = "list")]
    pub galaxies: Vec<Galaxy<'a>>,
    #[serde(rename = "Note", borrow, default, deserialize_with = "list")]
    pub notes: Vec<AnalystData<'a>>,
    #[serde(rename = "Opinion", borrow, default, deserialize_with = "list")]
    pub opinions: Vec<AnalystData<'a>>,
    #[serde(rename = "Relationship", borrow, default, deserialize_with = "list")]
    pub relationships: Vec<AnalystData<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct Object<'a> {
    #[serde(borrow)]
    pub name: Str<'a>,
    /// What MISP actually identifies the object's template by; `name` is
    /// free text.
    #[serde(borrow, default)]
    pub template_uuid: Option<Str<'a>>,
    /// `{"Object": {...}}` as an element of `Object[]`: MISP's
    /// `captureObject` unwraps it and ignores the outer fields. Refused.
    #[serde(rename = "Object", default)]
    pub wrapper: Option<IgnoredAny>,
    /// Required of elements MISP syncs (the engine checks); a feed's events
    /// may leave it out.
    #[serde(default)]
    pub distribution: Option<Distribution>,
    #[serde(
        rename = "SharingGroup",
        borrow,
        default,
        deserialize_with = "opt_object"
    )]
    pub sharing_group: Option<Box<SharingGroup<'a>>>,
    #[serde(rename = "Attribute", borrow, default, deserialize_with = "list")]
    pub attributes: Vec<Attribute<'a>>,
    #[serde(rename = "Note", borrow, default, deserialize_with = "list")]
    pub notes: Vec<AnalystData<'a>>,
    #[serde(rename = "Opinion", borrow, default, deserialize_with = "list")]
    pub opinions: Vec<AnalystData<'a>>,
    #[serde(rename = "Relationship", borrow, default, deserialize_with = "list")]
    pub relationships: Vec<AnalystData<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct EventReport<'a> {
    /// Required of elements MISP syncs (the engine checks); a feed's events
    /// may leave it out.
    #[serde(default)]
    pub distribution: Option<Distribution>,
    /// `{"EventReport": {...}}`: unwrapped by MISP's `captureReport`. Refused.
    #[serde(rename = "EventReport", default)]
    pub wrapper: Option<IgnoredAny>,
    #[serde(
        rename = "SharingGroup",
        borrow,
        default,
        deserialize_with = "opt_object"
    )]
    pub sharing_group: Option<Box<SharingGroup<'a>>>,
    #[serde(rename = "Tag", borrow, default, deserialize_with = "opt_list")]
    pub tags: Option<Vec<Tag<'a>>>,
    #[serde(rename = "Note", borrow, default, deserialize_with = "list")]
    pub notes: Vec<AnalystData<'a>>,
    #[serde(rename = "Opinion", borrow, default, deserialize_with = "list")]
    pub opinions: Vec<AnalystData<'a>>,
    #[serde(rename = "Relationship", borrow, default, deserialize_with = "list")]
    pub relationships: Vec<AnalystData<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct Galaxy<'a> {
    #[serde(rename = "GalaxyCluster", borrow, default, deserialize_with = "list")]
    pub clusters: Vec<GalaxyCluster<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct GalaxyClusterEnvelope<'a> {
    #[serde(rename = "GalaxyCluster", borrow, deserialize_with = "object")]
    pub cluster: GalaxyCluster<'a>,
}

#[derive(Debug, Deserialize)]
pub struct GalaxyCluster<'a> {
    #[serde(borrow, default)]
    pub uuid: Option<Str<'a>>,
    /// Required where a cluster is synced on its own; clusters embedded in an
    /// event's `Galaxy` list may leave it out.
    #[serde(default)]
    pub distribution: Option<Distribution>,
    /// MISP rebuilds the cluster's tag as `misp-galaxy:<type>="<uuid>"`
    /// (older versions: `="<value>"`) and ignores the `tag_name` sent.
    #[serde(borrow, default)]
    pub tag_name: Option<Str<'a>>,
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub value: Option<Str<'a>>,
    #[serde(
        rename = "SharingGroup",
        borrow,
        default,
        deserialize_with = "opt_object"
    )]
    pub sharing_group: Option<Box<SharingGroup<'a>>>,
    #[serde(
        rename = "GalaxyClusterRelation",
        borrow,
        default,
        deserialize_with = "list"
    )]
    pub relations: Vec<GalaxyClusterRelation<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct GalaxyClusterRelation<'a> {
    #[serde(default)]
    pub distribution: Option<Distribution>,
    #[serde(
        rename = "SharingGroup",
        borrow,
        default,
        deserialize_with = "opt_object"
    )]
    pub sharing_group: Option<Box<SharingGroup<'a>>>,
    #[serde(rename = "Tag", borrow, default, deserialize_with = "opt_list")]
    pub tags: Option<Vec<Tag<'a>>>,
    /// MISP reads relation tags from here first (`{name}` elements).
    #[serde(
        rename = "GalaxyClusterRelationTag",
        borrow,
        default,
        deserialize_with = "opt_list"
    )]
    pub relation_tags: Option<Vec<Tag<'a>>>,
    /// `{"GalaxyClusterRelation": {...}}`: unwrapped by MISP. Refused.
    #[serde(rename = "GalaxyClusterRelation", default)]
    pub wrapper: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
pub struct SharingGroup<'a> {
    #[serde(borrow)]
    pub uuid: Str<'a>,
    #[serde(rename = "SharingGroupOrg", borrow, default, deserialize_with = "list")]
    pub orgs: Vec<SharingGroupOrg<'a>>,
    #[serde(rename = "SharingGroupServer", default, deserialize_with = "list")]
    pub servers: Vec<SharingGroupServer>,
}

#[derive(Debug, Deserialize)]
pub struct SharingGroupOrg<'a> {
    #[serde(rename = "Organisation", borrow, deserialize_with = "object")]
    pub organisation: Organisation<'a>,
}

#[derive(Debug, Deserialize)]
pub struct Organisation<'a> {
    #[serde(borrow)]
    pub uuid: Str<'a>,
}

#[derive(Debug, Deserialize)]
pub struct SharingGroupServer {
    #[serde(default, deserialize_with = "loose_bool")]
    pub all_orgs: bool,
    /// MISP's `captureSGServers` reads `all_orgs` from a nested `Server`
    /// object when there is one, and then ignores the outer flag.
    #[serde(rename = "Server", default, deserialize_with = "opt_object")]
    pub server: Option<SharingGroupServerInner>,
}

#[derive(Debug, Deserialize)]
pub struct SharingGroupServerInner {
    #[serde(default, deserialize_with = "loose_bool")]
    pub all_orgs: bool,
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

/// A note, an opinion or a relationship. The three share `distribution`;
/// a relationship also points at another element, which is checked too.
#[derive(Debug, Deserialize)]
pub struct AnalystData<'a> {
    #[serde(borrow, default)]
    pub uuid: Option<Str<'a>>,
    /// Required of elements MISP syncs (the engine checks); a feed's events
    /// may leave it out.
    #[serde(default)]
    pub distribution: Option<Distribution>,
    #[serde(
        rename = "SharingGroup",
        borrow,
        default,
        deserialize_with = "opt_object"
    )]
    pub sharing_group: Option<Box<SharingGroup<'a>>>,
    #[serde(borrow, default)]
    pub related_object_type: Option<Str<'a>>,
    /// Kept raw: its shape depends on `related_object_type`, which may come
    /// after it in the object.
    #[serde(borrow, default)]
    pub related_object: Option<&'a RawValue>,
    #[serde(rename = "Note", borrow, default, deserialize_with = "list")]
    pub notes: Vec<AnalystData<'a>>,
    #[serde(rename = "Opinion", borrow, default, deserialize_with = "list")]
    pub opinions: Vec<AnalystData<'a>>,
    #[serde(rename = "Relationship", borrow, default, deserialize_with = "list")]
    pub relationships: Vec<AnalystData<'a>>,
}

/// `{"Note": {...}}`, `{"Opinion": {...}}` or `{"Relationship": {...}}`:
/// exactly one of them.
#[derive(Debug, Deserialize)]
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
    pub note_type_name: Option<IgnoredAny>,
}

impl<'a> AnalystEnvelope<'a> {
    pub fn items(&self) -> impl Iterator<Item = &AnalystData<'a>> {
        [&self.note, &self.opinion, &self.relationship]
            .into_iter()
            .flatten()
    }
}

/// The search filter of `/events/index` and `/galaxy_clusters/restSearch`.
#[derive(Debug, Deserialize)]
pub struct IndexFilter {
    #[serde(default, deserialize_with = "flag_one")]
    pub minimal: bool,
    #[serde(default, deserialize_with = "flag_one")]
    pub published: bool,
}
