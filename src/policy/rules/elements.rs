//! The walk over an event and everything it can hold or show.
//!
//! Beside misp-guard's checks, three kinds of data are judged here that an
//! event carries without being *its* elements:
//! - **copies**: each object reference carries a few columns of the element
//!   it points at (`ObjectReference[].Attribute` / `.Object`), taken before
//!   MISP's sync preparation drops elements — judged like elements, and
//!   refused when the event no longer holds the element copied;
//! - **other events' rows** (`RelatedEvent`, a relationship's `Event`
//!   target, the parent event of a related attribute): judged by what they
//!   show (distribution), and since they show no tags, by the guard's
//!   memory of that event when the owner's rules speak of tags;
//! - **relationship targets and inbound relationships**: each a copy of
//!   another element, shaped by its type, judged as what it is.

use super::super::endpoint::Endpoint;
use super::super::read::{Body, expect_key, malformed, parse, parse_object, parse_seed};
use super::{Checker, MAX_RELATED_DEPTH, Outcome, event_uuid, hit, shown_rule_value};
use crate::policy::model::*;
use crate::policy::{Block, Rule};

impl Checker<'_> {
    /// A pulled event: MISP answers `{"Event": {...}}` and the puller reads
    /// the event from there. A `response` or `request` member beside it is
    /// refused as on a push: nothing MISP sends has one.
    pub(super) fn pulled_event(&self, body: Body) -> Result<Option<String>, Block> {
        let top = self.scoped(|| parse_seed(body, EventSeed(self)))?;
        let Some(event) = &top.wrapped else {
            return Err(malformed("no `Event` property in response body"));
        };
        if top.export_response || top.export_request {
            return Err(malformed(
                "a `response` or `request` member beside the event; MISP never sends one",
            ));
        }
        self.event(event)?;
        self.check_copies(event)?;
        Ok(event_uuid(event))
    }

    /// A pushed event, read the way MISP's `events/add` reads it: the event
    /// is the `Event` member when there is one (not null), else the whole
    /// body. MISP would first swap the body for its `response` or `request`
    /// member; sync never sends those, so a body with one is refused rather
    /// than second-guessed. `events/edit` edits the event the body names,
    /// whatever the path says (MISP authorises by the path): a UUID in the
    /// path must be the body's.
    pub(super) fn pushed_event(
        &self,
        body: Body,
        endpoint: &Endpoint,
    ) -> Result<Option<String>, Block> {
        let top = self.scoped(|| parse_seed(body, EventSeed(self)))?;
        if top.export_response || top.export_request {
            return Err(malformed(
                "a `response` or `request` member, which MISP would read as the event; sync never sends one",
            ));
        }
        let event = top.wrapped.as_deref().unwrap_or(&top);
        if let Some(subject) = endpoint.subject
            && event_uuid(event).as_deref() != Some(subject.as_str())
        {
            return Err(malformed(&format!(
                "the body edits another event than the one in the path ({}); MISP authorises by the path and edits by the body",
                subject.as_str()
            )));
        }
        self.event(event)?;
        self.check_copies(event)?;
        Ok(event_uuid(event))
    }

    pub(super) fn event(&self, e: &Event) -> Outcome {
        self.event_inner(e).map_err(|mut b| {
            if b.event_uuid.is_none() {
                b.event_uuid = event_uuid(e);
            }
            b
        })
    }

    fn event_inner(&self, e: &Event) -> Outcome {
        let tags = e.tags.as_deref().unwrap_or_default();
        self.blocked_tags("event has blocked tag", tags)?;
        self.required_taxonomies("event", e.tags.as_deref())?;
        let distribution = self.required_level(
            "event",
            "event has blocked distribution level",
            e.distribution,
        )?;
        for report in &e.reports {
            self.event_report(report)?;
        }
        self.sharing_group("event", distribution, e.sharing_group.as_deref())?;
        self.analyst_children(&e.notes, &e.opinions, &e.relationships)?;
        // Judged while the event was read (see model/event.rs); reported
        // here, after the event's own fields, as misp-guard orders them.
        e.attributes.clone()?;
        e.objects.clone()?;
        // Beyond misp-guard: proposals and galaxy clusters carried in the event.
        e.shadow_attributes.clone()?;
        for g in &e.galaxies {
            for c in &g.clusters {
                self.galaxy_cluster(c, false)?;
            }
        }
        // Beyond misp-guard: the other events MISP shows as correlating.
        for row in &e.related {
            self.event_row("related event", row)?;
        }
        Ok(())
    }

    pub(super) fn attribute(&self, a: &Attribute) -> Outcome {
        self.element(a.uuid.as_deref());
        // Type before category: misp-guard 1.3's scenarios expect the type
        // reason for attributes that match both.
        self.attribute_kind(&a.kind, &a.category)?;
        if let Some(d) = a.distribution {
            self.distribution("attribute with a blocked distribution level", d)?;
        }
        let tags = a.tags.as_deref().unwrap_or_default();
        self.blocked_tags("attribute with a blocked tag", tags)?;
        self.taxonomy_tags_allowed("attribute", tags)?;
        self.sharing_group(
            "attribute",
            a.distribution.unwrap_or(Distribution(5)),
            a.sharing_group.as_deref(),
        )?;
        for sa in &a.shadow_attributes {
            self.attribute(sa)?;
        }
        self.analyst_children(&a.notes, &a.opinions, &a.relationships)?;
        // Beyond misp-guard: galaxy clusters attached to the attribute.
        for g in &a.galaxies {
            for c in &g.clusters {
                self.galaxy_cluster(c, false)?;
            }
        }
        Ok(())
    }

    fn attribute_kind(&self, kind: &str, category: &str) -> Outcome {
        if let Some(t) = hit(&self.rules.blocked_attribute_types, kind) {
            return Err(Block::new(
                Rule::BlockedAttributeType,
                format!(
                    "attribute with a blocked type: {}",
                    shown_rule_value(t, kind)
                ),
            ));
        }
        if let Some(c) = hit(&self.rules.blocked_attribute_categories, category) {
            return Err(Block::new(
                Rule::BlockedAttributeCategory,
                format!(
                    "attribute with a blocked category: {}",
                    shown_rule_value(c, category)
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn object(&self, o: &Object) -> Outcome {
        self.element(o.uuid.as_deref());
        let d = self.required_level(
            "object",
            "object with a blocked distribution level",
            o.distribution,
        )?;
        self.sharing_group("object", d, o.sharing_group.as_deref())?;
        self.object_kind(&o.name, o.template_uuid.as_deref())?;
        for a in &o.attributes {
            self.attribute(a)?;
        }
        for r in &o.references {
            for (copy, attribute) in [(&r.attribute, true), (&r.object, false)] {
                if let Some(copy) = copy {
                    self.reference_copy(copy, attribute)?;
                }
            }
        }
        self.analyst_children(&o.notes, &o.opinions, &o.relationships)
    }

    fn object_kind(&self, name: &str, template_uuid: Option<&str>) -> Outcome {
        if let Some(t) = hit(&self.rules.blocked_object_types, name) {
            return Err(Block::new(
                Rule::BlockedObjectType,
                format!("object with a blocked type: {}", shown_rule_value(t, name)),
            ));
        }
        if let Some(uuid) = template_uuid
            && let Some(t) = hit(&self.rules.blocked_object_templates, uuid)
        {
            return Err(Block::new(
                Rule::BlockedObjectType,
                format!("object with the template of a blocked type: template_uuid {t}"),
            ));
        }
        Ok(())
    }

    /// Beyond misp-guard: what an object reference copies of the element it
    /// points at, judged like that element, and noted so the event can be
    /// checked to hold it.
    fn reference_copy(&self, c: &ReferenceCopy, attribute: bool) -> Outcome {
        if c.is_placeholder() {
            return Ok(());
        }
        if attribute {
            let kind = c.kind.as_deref().unwrap_or_default();
            self.attribute_kind(kind, c.category.as_deref().unwrap_or_default())?;
        } else {
            self.object_kind(c.name.as_deref().unwrap_or_default(), None)?;
        }
        let d = c.distribution.unwrap_or(Distribution(5));
        self.distribution("reference copy with a blocked distribution level", d)?;
        // A copy names its sharing group by local id only.
        self.sharing_group("reference copy", d, None)?;
        let Some(uuid) = c
            .uuid
            .as_deref()
            .and_then(|u| crate::misp::uuid_number(u.trim()))
        else {
            return Err(malformed(
                "an object reference copies an element without saying which one",
            ));
        };
        if let Some(scope) = self.scope.borrow_mut().as_mut() {
            scope.copies.push((uuid, attribute));
        }
        Ok(())
    }

    fn event_report(&self, r: &EventReport) -> Outcome {
        let d = self.required_level(
            "event report",
            "event report has blocked distribution level",
            r.distribution,
        )?;
        // Beyond misp-guard: a report's tags, sharing group and analyst data.
        self.blocked_tags(
            "event report has blocked tag",
            r.tags.as_deref().unwrap_or_default(),
        )?;
        self.sharing_group("event report", d, r.sharing_group.as_deref())?;
        self.analyst_children(&r.notes, &r.opinions, &r.relationships)
    }

    /// Another event's row, shown without its tags: judged by its
    /// distribution, and — when the owner's rules speak of tags, which the
    /// row does not show — by what this guard remembers of that event.
    pub(super) fn event_row(&self, what: &str, row: &EventRow) -> Outcome {
        let d = match row.distribution {
            Some(d) => d,
            None if self.feed => Distribution(5),
            None => return Err(malformed(&format!("{what} without a distribution"))),
        };
        self.distribution(&format!("{what} has blocked distribution level"), d)?;
        self.sharing_group(what, d, None)?;
        if self.rules.tags_matter() {
            self.seen_event(what, row.uuid.as_deref())?;
        }
        Ok(())
    }

    /// `standalone`: the cluster is the synced element itself (push or
    /// view), so it must say its distribution, as misp-guard requires.
    pub(super) fn galaxy_cluster(&self, c: &GalaxyCluster, standalone: bool) -> Outcome {
        match c.distribution {
            Some(d) => self.distribution("galaxy cluster has blocked distribution level", d)?,
            None if standalone => {
                return Err(malformed("galaxy cluster without a distribution"));
            }
            None => {}
        }
        // Beyond misp-guard: the cluster's own tag (as sent, and as MISP
        // rebuilds it from type and uuid or value), sharing group, relations.
        let rebuilt = |id: &Option<std::borrow::Cow<str>>| {
            c.kind
                .as_ref()
                .zip(id.as_ref())
                .map(|(kind, id)| format!("misp-galaxy:{kind}=\"{id}\""))
        };
        for tag in [
            c.tag_name.as_deref().map(str::to_string),
            rebuilt(&c.uuid),
            rebuilt(&c.value),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(t) = hit(&self.rules.blocked_tags, &tag) {
                return Err(Block::new(
                    Rule::BlockedTag,
                    format!("galaxy cluster has blocked tag: {t}"),
                ));
            }
        }
        // A sharing group is checked whether or not a distribution is given
        // (an embedded cluster may leave it out).
        let d = c.distribution.unwrap_or(Distribution(5));
        self.sharing_group("galaxy cluster", d, c.sharing_group.as_deref())?;
        for rel in &c.relations {
            self.cluster_relation("galaxy cluster relation", rel)?;
        }
        // Beyond misp-guard, in a pulled cluster: other clusters' relations
        // to it, analyst data on it, and relationships from other elements.
        for rel in &c.targeting {
            self.cluster_relation("targeting galaxy cluster relation", rel)?;
        }
        self.analyst_children(&c.notes, &c.opinions, &c.relationships)?;
        for inbound in &c.inbound {
            self.analyst(inbound, Place::Inbound)?;
        }
        Ok(())
    }

    fn cluster_relation(&self, what: &str, rel: &GalaxyClusterRelation) -> Outcome {
        if let Some(d) = rel.distribution {
            self.distribution(&format!("{what} has blocked distribution level"), d)?;
        }
        let d = rel.distribution.unwrap_or(Distribution(5));
        self.sharing_group(what, d, rel.sharing_group.as_deref())?;
        for tags in [&rel.tags, &rel.relation_tags] {
            self.blocked_tags(
                &format!("{what} has blocked tag"),
                tags.as_deref().unwrap_or_default(),
            )?;
        }
        Ok(())
    }

    /// Exactly one of `Note`, `Opinion`, `Relationship`, and no top-level
    /// `note_type_name` (which would make MISP read the body differently).
    pub(super) fn analyst_envelope(&self, env: &AnalystEnvelope) -> Outcome {
        if env.note_type_name.is_some() {
            return Err(malformed(
                "analyst data with a top-level note_type_name, which MISP reads as the record itself",
            ));
        }
        let mut items = env.items();
        match (items.next(), items.next()) {
            (Some(item), None) => self.analyst(item, Place::Standalone),
            (None, _) => Err(malformed(
                "analyst data without a Note, Opinion or Relationship",
            )),
            (Some(_), Some(_)) => Err(malformed(
                "analyst data with more than one of Note, Opinion, Relationship",
            )),
        }
    }

    fn analyst_children(
        &self,
        notes: &[AnalystData],
        opinions: &[AnalystData],
        rels: &[AnalystData],
    ) -> Outcome {
        notes
            .iter()
            .chain(opinions)
            .chain(rels)
            .try_for_each(|a| self.analyst(a, Place::Nested))
    }

    /// A note, opinion or relationship, classified by its own distribution
    /// and sharing group as MISP classifies it.
    fn analyst(&self, a: &AnalystData, place: Place) -> Outcome {
        let d = self.required_level(
            "analyst data",
            "analyst data has blocked distribution level",
            a.distribution,
        )?;
        // Beyond misp-guard: MISP analyst data may carry a sharing group.
        self.sharing_group("analyst data", d, a.sharing_group.as_deref())?;
        if place == Place::Standalone && a.object_type.as_deref() == Some("Event") {
            self.seen_event("analyst data", a.object_uuid.as_deref())?;
        }
        self.analyst_children(&a.notes, &a.opinions, &a.relationships)?;
        // An inbound relationship shows the element it comes *from*.
        let target = match place {
            Place::Inbound => a.object_type.as_deref(),
            _ => a.related_object_type.as_deref(),
        };
        if let Some(raw) = &a.related_object {
            self.related_object(target, raw.get())?;
        }
        Ok(())
    }

    /// The element a relationship points at, shaped by its type.
    fn related_object(&self, kind: Option<&str>, raw: &str) -> Outcome {
        let depth = self.related_depth.get() + 1;
        if depth > MAX_RELATED_DEPTH {
            return Err(malformed(&format!(
                "relationships nested more than {MAX_RELATED_DEPTH} deep"
            )));
        }
        self.related_depth.set(depth);
        let outcome = self.related_object_at_depth(kind, raw);
        self.related_depth.set(depth - 1);
        outcome
    }

    fn related_object_at_depth(&self, kind: Option<&str>, raw: &str) -> Outcome {
        let trimmed = raw.trim();
        if trimmed == "null" || trimmed == "[]" || trimmed == "{}" {
            return Ok(());
        }
        let bytes = Body::Whole(raw.as_bytes());
        match kind {
            // MISP shows an event's bare row: no tags (see `event_row`).
            Some("Event") => {
                let w: Wrapped<EventRow> = parse(bytes)?;
                expect_key(&w.key, "Event")?;
                self.event_row("relationship target event", &w.inner)
            }
            Some("Attribute") => {
                let w: Wrapped<RelatedAttribute> = parse(bytes)?;
                expect_key(&w.key, "Attribute")?;
                self.related_attribute(&w.inner)
            }
            Some("Object") => {
                let w: Wrapped<ObjectRow> = parse(bytes)?;
                expect_key(&w.key, "Object")?;
                self.object_row(&w.inner)
            }
            Some("GalaxyCluster") => {
                let env: GalaxyClusterEnvelope = parse_object(bytes)?;
                self.galaxy_cluster(&env.cluster, false)
            }
            Some("EventReport") => {
                let w: Wrapped<EventReport> = parse(bytes)?;
                expect_key(&w.key, "EventReport")?;
                self.event_report(&w.inner)
            }
            Some(kind @ ("Note" | "Opinion" | "Relationship")) => {
                // misp-guard reads the bare element; MISP may also wrap it
                // (`{"Note": {...}}`). A body that is neither is refused.
                match parse_object::<AnalystData>(bytes) {
                    Ok(bare) => self.analyst(&bare, Place::Nested),
                    Err(_) => {
                        let w: Wrapped<AnalystData> = parse(bytes)?;
                        expect_key(&w.key, kind)?;
                        self.analyst(&w.inner, Place::Nested)
                    }
                }
            }
            other => Err(Block::new(
                Rule::UninspectableRelation,
                format!(
                    "relationship to a {} carries content no rule can inspect",
                    super::super::printable(other.unwrap_or("(missing related_object_type)"))
                ),
            )),
        }
    }

    /// A related attribute with the rows of its event and its object.
    fn related_attribute(&self, a: &RelatedAttribute) -> Outcome {
        self.attribute_kind(&a.kind, &a.category)?;
        let d = self.required_level(
            "related attribute",
            "attribute with a blocked distribution level",
            a.distribution,
        )?;
        self.sharing_group("related attribute", d, None)?;
        if let Some(o) = &a.object
            && o.name.is_some()
        {
            self.object_row(o)?;
        }
        match &a.event {
            Some(e) => self.event_row("related attribute's event", e),
            None => Ok(()),
        }
    }

    /// An object's row, with its event's row when it has one.
    fn object_row(&self, o: &ObjectRow) -> Outcome {
        self.object_kind(
            o.name.as_deref().unwrap_or_default(),
            o.template_uuid.as_deref(),
        )?;
        let d = self.required_level(
            "related object",
            "object with a blocked distribution level",
            o.distribution,
        )?;
        self.sharing_group("related object", d, None)?;
        for a in &o.attributes {
            self.attribute(a)?;
        }
        match &o.event {
            Some(e) => self.event_row("related object's event", e),
            None => Ok(()),
        }
    }
}

/// Where a note, opinion or relationship is met.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Inside the element it is about (an event's `Note[]`…).
    Nested,
    /// Synced on its own (pushed, or listed by the analyst-data index): a
    /// record on an event goes only where the event went.
    Standalone,
    /// A cluster view's `RelationshipInbound`: MISP fills its
    /// `related_object` with the *source* element, shaped by
    /// `object_type`.
    Inbound,
}
