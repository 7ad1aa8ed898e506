//! The event, read with its long lists judged as they go by.
//!
//! An event's `Attribute`, `Object` and `ShadowAttribute` lists are nearly
//! all of its size: a 100 MB event holds ~160 000 attributes. Built into
//! vectors, they would cost two thirds of the body again in memory and a
//! third of the inspection time in allocation and copying. Instead each
//! element is parsed on its own, handed to an [`ElementJudge`] and dropped;
//! the event keeps only the first refusal of each list ([`Verdict`]).
//!
//! Every element is still parsed into its typed form (so a malformed one
//! late in the list is a malformed body), duplicate keys are an error, and
//! the engine reads the verdicts in misp-guard's order after the event's
//! own fields, so the reason given for a body with several problems does
//! not depend on the order of its keys. The hand-written visitor does what
//! serde's derive does for the other closed structs: keys compared after
//! unescaping, harmless keys skipped (with their syntax checked), an
//! unknown key refused by name, `null` for an absent list.

use super::de::{ObjectList, ObjectOnly, OptObject, closed_struct};
use super::{AnalystData, EventReport, EventRow, Galaxy, SharingGroup, Str, Tag};
use super::{Attribute, Distribution, Object};
use crate::policy::Block;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The first refusal among a list's elements, in list order.
pub type Verdict = Result<(), Block>;

/// Judges one element of an event's long lists while the event is read.
pub trait ElementJudge {
    fn attribute(&self, a: &Attribute) -> Verdict;
    fn object(&self, o: &Object) -> Verdict;
}

pub struct Event<'a> {
    pub uuid: Option<Str<'a>>,
    /// Required of the event the rules judge (the engine checks); optional
    /// here because a pushed body may be a wrapper whose own fields MISP
    /// ignores.
    pub distribution: Option<Distribution>,
    /// MISP's `events/add` and `events/edit` take `{"Event": {...}}` or the
    /// bare event: when this key is set (and not null) the event is here.
    pub wrapped: Option<Box<Event<'a>>>,
    /// MISP's `events/add` first replaces the body by its `response`, then
    /// by its `request` member (import of its own exports). Sync never sends
    /// either; their presence (not null) is refused.
    pub export_response: bool,
    pub export_request: bool,
    pub sharing_group: Option<Box<SharingGroup<'a>>>,
    /// `None` when the key is absent: misp-guard words that case differently
    /// ("missing required taxonomies") from a list without the taxonomy.
    pub tags: Option<Vec<Tag<'a>>>,
    pub reports: Vec<EventReport<'a>>,
    pub galaxies: Vec<Galaxy<'a>>,
    pub notes: Vec<AnalystData<'a>>,
    pub opinions: Vec<AnalystData<'a>>,
    pub relationships: Vec<AnalystData<'a>>,
    /// `Attribute[]`, judged as read.
    pub attributes: Verdict,
    /// `Object[]`, judged as read.
    pub objects: Verdict,
    /// `ShadowAttribute[]` (proposals), judged as read.
    pub shadow_attributes: Verdict,
    /// Other events correlating with this one (`RelatedEvent[].Event`), as
    /// their bare rows: no tags.
    pub related: Vec<EventRow<'a>>,
}

closed_struct! {
    /// An element of `RelatedEvent`.
    pub struct RelatedEventEnvelope<'a> {
        #[serde(rename = "Event", borrow, deserialize_with = "super::de::object")]
        pub event: EventRow<'a>,
    }
    harmless {}
}

/// Reads an event (a JSON object, nothing else), judging its long lists
/// with the judge.
pub struct EventSeed<'j, J>(pub &'j J);

impl<J> Clone for EventSeed<'_, J> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<J> Copy for EventSeed<'_, J> {}

impl<'de, J: ElementJudge> DeserializeSeed<'de> for EventSeed<'_, J> {
    type Value = Event<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Event<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

/// The keys of an event that are judged, in one place so a duplicate can
/// be named.
const KEYS: [&str; 16] = [
    "uuid",
    "distribution",
    "Event",
    "response",
    "request",
    "SharingGroup",
    "Tag",
    "EventReport",
    "Galaxy",
    "Note",
    "Opinion",
    "Relationship",
    "Attribute",
    "Object",
    "ShadowAttribute",
    "RelatedEvent",
];

/// The keys of an event MISP's sync sends that no rule reads: the event's
/// own columns, its organisations, its signing keys.
const HARMLESS: [&str; 26] = [
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
    // On a push answer, beside the event.
    "errors",
    "saved",
];

impl<'de, J: ElementJudge> Visitor<'de> for EventSeed<'_, J> {
    type Value = Event<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event<'de>, A::Error> {
        let judge = self.0;
        let mut e = Event {
            uuid: None,
            distribution: None,
            wrapped: None,
            export_response: false,
            export_request: false,
            sharing_group: None,
            tags: None,
            reports: Vec::new(),
            galaxies: Vec::new(),
            notes: Vec::new(),
            opinions: Vec::new(),
            relationships: Vec::new(),
            attributes: Ok(()),
            objects: Ok(()),
            shadow_attributes: Ok(()),
            related: Vec::new(),
        };
        let mut seen = 0u64;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            let Some(i) = KEYS.iter().position(|k| *k == key) else {
                let Some(h) = HARMLESS.iter().position(|k| *k == key) else {
                    return Err(de::Error::unknown_field(&key, &[]));
                };
                let bit = 1u64 << (KEYS.len() + h);
                if seen & bit != 0 {
                    return Err(de::Error::duplicate_field(HARMLESS[h]));
                }
                seen |= bit;
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if seen & (1 << i) != 0 {
                return Err(de::Error::duplicate_field(KEYS[i]));
            }
            seen |= 1 << i;
            match KEYS[i] {
                "uuid" => e.uuid = map.next_value()?,
                "distribution" => e.distribution = map.next_value()?,
                "Event" => {
                    e.wrapped = map
                        .next_value_seed(OptionSeed(EventSeed(judge)))?
                        .map(Box::new)
                }
                "response" => e.export_response = map.next_value::<Option<IgnoredAny>>()?.is_some(),
                "request" => e.export_request = map.next_value::<Option<IgnoredAny>>()?.is_some(),
                "SharingGroup" => e.sharing_group = map.next_value::<OptObject<_>>()?.0,
                "Tag" => e.tags = map.next_value::<ObjectList<_>>()?.0,
                "EventReport" => e.reports = map.next_value::<ObjectList<_>>()?.or_empty(),
                "Galaxy" => e.galaxies = map.next_value::<ObjectList<_>>()?.or_empty(),
                "Note" => e.notes = map.next_value::<ObjectList<_>>()?.or_empty(),
                "Opinion" => e.opinions = map.next_value::<ObjectList<_>>()?.or_empty(),
                "Relationship" => e.relationships = map.next_value::<ObjectList<_>>()?.or_empty(),
                "Attribute" => e.attributes = map.next_value_seed(JudgedList::attributes(judge))?,
                "Object" => e.objects = map.next_value_seed(JudgedList::objects(judge))?,
                "ShadowAttribute" => {
                    e.shadow_attributes = map.next_value_seed(JudgedList::attributes(judge))?
                }
                "RelatedEvent" => {
                    e.related = map
                        .next_value::<ObjectList<RelatedEventEnvelope>>()?
                        .or_empty()
                        .into_iter()
                        .map(|r| r.event)
                        .collect()
                }
                _ => unreachable!("every key of KEYS has an arm"),
            }
        }
        // Around a wrapped event MISP reads the event inside, so judged keys
        // beside it would be rules applied to the wrong data; MISP's sync
        // never sends them, nor an event wrapped twice. Refused by name.
        if let Some(inner) = &e.wrapped {
            // (`response` and `request` have a refusal of their own.)
            let beside = (0..KEYS.len()).find(|&i| {
                !matches!(KEYS[i], "Event" | "response" | "request") && seen & (1 << i) != 0
            });
            if let Some(i) = beside {
                return Err(de::Error::unknown_field(KEYS[i], &[]));
            }
            if inner.wrapped.is_some() {
                return Err(de::Error::unknown_field("Event", &[]));
            }
            // Inside the event MISP does not swap anything for them: keys
            // sync never sends, refused like any other.
            if inner.export_response {
                return Err(de::Error::unknown_field("response", &[]));
            }
            if inner.export_request {
                return Err(de::Error::unknown_field("request", &[]));
            }
        }
        Ok(e)
    }
}

/// `{"Event": {...}}` and nothing else: the event inside, judged (a
/// feed's event file).
pub struct EnvelopeSeed<'j, J> {
    pub judge: &'j J,
}

impl<J> Clone for EnvelopeSeed<'_, J> {
    fn clone(&self) -> Self {
        EnvelopeSeed { judge: self.judge }
    }
}

impl<'de, J: ElementJudge> DeserializeSeed<'de> for EnvelopeSeed<'_, J> {
    type Value = Event<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Event<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, J: ElementJudge> Visitor<'de> for EnvelopeSeed<'_, J> {
    type Value = Event<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with an `Event` member")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event<'de>, A::Error> {
        let mut event = None;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            if key != "Event" {
                return Err(de::Error::unknown_field(&key, &["Event"]));
            }
            if event.is_some() {
                return Err(de::Error::duplicate_field("Event"));
            }
            event = Some(map.next_value_seed(EventSeed(self.judge))?);
        }
        event.ok_or_else(|| de::Error::missing_field("Event"))
    }
}

/// `null` or what the inner seed reads.
struct OptionSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for OptionSeed<S> {
    type Value = Option<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for OptionSeed<S> {
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(d).map(Some)
    }
}

/// A list of objects (or `null`), each element parsed, judged and dropped.
/// After the first refusal the rest is still parsed in full: a malformed
/// element anywhere makes the body malformed, whatever came before it.
struct JudgedList<'j, J, T> {
    judge: &'j J,
    check: fn(&J, &T) -> Verdict,
}

impl<'j, 'de, J: ElementJudge> JudgedList<'j, J, Attribute<'de>> {
    fn attributes(judge: &'j J) -> Self {
        JudgedList {
            judge,
            check: |j, a| j.attribute(a),
        }
    }
}

impl<'j, 'de, J: ElementJudge> JudgedList<'j, J, Object<'de>> {
    fn objects(judge: &'j J) -> Self {
        JudgedList {
            judge,
            check: |j, o| j.object(o),
        }
    }
}

impl<'de, J, T: Deserialize<'de>> DeserializeSeed<'de> for JudgedList<'_, J, T> {
    type Value = Verdict;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Verdict, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, J, T: Deserialize<'de>> Visitor<'de> for JudgedList<'_, J, T> {
    type Value = Verdict;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Verdict, E> {
        Ok(Ok(()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Verdict, E> {
        Ok(Ok(()))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Verdict, D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Verdict, S::Error> {
        let mut verdict = Ok(());
        while let Some(ObjectOnly(element)) = seq.next_element::<ObjectOnly<T>>()? {
            if verdict.is_ok() {
                verdict = (self.check)(self.judge, &element);
            }
        }
        Ok(verdict)
    }
}
