//! The content rules: misp-guard's, at every level it applies them, and at
//! the places it misses (each marked *beyond misp-guard* below and listed in
//! the README).
//!
//! Order of checks follows misp-guard's, so the first reason reported for a
//! body with several problems is the one a misp-guard user would expect:
//! event level (tags, required taxonomies, distribution, event reports,
//! sharing group, analyst data), then attributes, then objects.

use super::memory::{EventVerdicts, Flow};
use super::model::*;
use super::read::{expect_key, malformed, parse, parse_object, parse_seed};
use super::{Block, Endpoint, FeedFile, RequestBody, ResponseBody, ResponseContext, Rule, is_uuid};
use crate::config::{Instance, Rules};
use serde::de::IgnoredAny;
use std::cell::Cell;
use std::collections::HashSet;

type Outcome = Result<(), Block>;

pub(super) fn check_request(
    owner: &Instance,
    endpoint: &Endpoint,
    body: &[u8],
    flow: Flow,
    memory: &EventVerdicts,
) -> Outcome {
    let checker = Checker {
        rules: &owner.rules,
        user_org: None,
        feed: false,
        related_depth: Cell::new(0),
    };
    match endpoint.request {
        RequestBody::Empty => {
            if body.is_empty() {
                Ok(())
            } else {
                Err(malformed("a body where this endpoint takes none"))
            }
        }
        RequestBody::OptionalJson if body.is_empty() => Ok(()),
        RequestBody::OptionalJson => parse::<IgnoredAny>(body).map(|_| ()),
        RequestBody::MinimalPublishedFilter => {
            let f: IndexFilter = parse_object(body)?;
            if f.minimal && f.published {
                Ok(())
            } else {
                Err(Block::new(
                    Rule::MinimalPublished,
                    format!(
                        "{{'minimal': 1, 'published': 1}} is required for /{} requests",
                        endpoint.name
                    ),
                ))
            }
        }
        RequestBody::Event => remembered(checker.pushed_event(body), flow, memory),
        RequestBody::GalaxyClusters => {
            let clusters: Vec<ObjectOnly<GalaxyClusterEnvelope>> = parse(body)?;
            clusters
                .iter()
                .try_for_each(|c| checker.galaxy_cluster(&c.0.cluster, true))
        }
        RequestBody::ShadowAttributes => checker.shadow_attributes(body),
        RequestBody::AnalystData => checker.analyst_envelope(&parse_object(body)?),
    }
}

pub(super) fn check_response(
    owner: &Instance,
    endpoint: &Endpoint,
    ctx: &ResponseContext,
    body: &[u8],
    flow: Flow,
    memory: &EventVerdicts,
) -> Outcome {
    let kind = endpoint.response;
    let checker = Checker {
        rules: &owner.rules,
        user_org: ctx.user_org_uuid,
        feed: false,
        related_depth: Cell::new(0),
    };
    match kind {
        ResponseBody::Unchecked => Ok(()),
        ResponseBody::Json => parse::<IgnoredAny>(body).map(|_| ()),
        ResponseBody::Event => remembered(checker.pulled_event(body), flow, memory),
        ResponseBody::ShadowAttributes => checker.shadow_attributes(body),
        ResponseBody::GalaxyCluster => {
            let env: GalaxyClusterEnvelope = parse_object(body)?;
            checker.galaxy_cluster(&env.cluster, true)
        }
        ResponseBody::AnalystData => {
            // misp-guard stops after the first element; every one is checked here.
            let items: Vec<ObjectOnly<AnalystEnvelope>> = parse(body)?;
            items
                .iter()
                .try_for_each(|e| checker.analyst_envelope(&e.0))
        }
    }
}

/// Records the verdict on a whole event for its flow: its sightings and
/// proposals are later judged by it (see `memory.rs`). The event's UUID
/// comes with the verdict.
fn remembered(
    judged: Result<Option<String>, Block>,
    flow: Flow,
    memory: &EventVerdicts,
) -> Outcome {
    match judged {
        Ok(uuid) => {
            if let Some(uuid) = uuid {
                memory.remember(flow, &uuid, true);
            }
            Ok(())
        }
        Err(block) => {
            if let Some(uuid) = &block.event_uuid {
                memory.remember(flow, uuid, false);
            }
            Err(block)
        }
    }
}

/// A file of a MISP feed, judged by the feed's rules.
pub(super) fn check_feed_response(rules: &Rules, file: FeedFile, body: &[u8]) -> Outcome {
    let checker = Checker {
        rules,
        user_org: None,
        feed: true,
        related_depth: Cell::new(0),
    };
    match file {
        // Passed unchanged (see feed.rs); it must be the JSON object of
        // event metadata MISP expects.
        FeedFile::Manifest => parse_object::<IgnoredAny>(body).map(|_| ()),
        FeedFile::Event => {
            let event = parse_seed(
                body,
                EnvelopeSeed {
                    judge: &checker,
                    only_event: true,
                },
            )?;
            checker.event(&event)
        }
        FeedFile::Signature | FeedFile::Cache => Ok(()),
    }
}

/// Walks one owner's data with that owner's rules.
struct Checker<'r> {
    rules: &'r Rules,
    /// `X-UserOrgUUID` of a pull response, when the remote sent it.
    user_org: Option<&'r str>,
    /// Judging a feed's event, whose elements carry no distribution.
    feed: bool,
    /// How many relationship targets deep the walk is. Each target is parsed
    /// on its own (its shape depends on its type), so serde_json's nesting
    /// limit restarts there; this bound keeps a chain of relationships from
    /// exhausting the stack.
    related_depth: Cell<u32>,
}

/// Deepest chain of relationship targets inspected; deeper is refused.
const MAX_RELATED_DEPTH: u32 = 16;

/// Membership in a set of normalised rule values, compared as MISP's
/// database would compare them (see `text.rs`); returns the rule value that
/// matched. Rule lists are short, so an ASCII value is compared in place
/// rather than lower-cased into a new string and hashed.
fn hit<'r>(set: &'r HashSet<String>, value: &str) -> Option<&'r str> {
    let value = value.trim_matches(super::PHP_TRIM);
    if set.is_empty() {
        None
    } else if value.is_ascii() {
        set.iter()
            .find(|r| r.eq_ignore_ascii_case(value))
            .map(String::as_str)
    } else {
        set.get(super::normalise(value).as_ref())
            .map(String::as_str)
    }
}

impl Checker<'_> {
    /// A pulled event: MISP answers `{"Event": {...}}` and the puller reads
    /// the event from there. A `response` or `request` member beside it is
    /// refused as on a push: nothing MISP sends has one.
    fn pulled_event(&self, body: &[u8]) -> Result<Option<String>, Block> {
        let top = parse_seed(body, EventSeed(self))?;
        let Some(event) = &top.wrapped else {
            return Err(malformed("no `Event` property in response body"));
        };
        if top.export_response || top.export_request {
            return Err(malformed(
                "a `response` or `request` member beside the event; MISP never sends one",
            ));
        }
        self.event(event)?;
        Ok(event_uuid(event))
    }

    /// A pushed event, read the way MISP's `events/add` reads it: the event
    /// is the `Event` member when there is one (not null), else the whole
    /// body. MISP would first swap the body for its `response` or `request`
    /// member; sync never sends those, so a body with one is refused rather
    /// than second-guessed.
    fn pushed_event(&self, body: &[u8]) -> Result<Option<String>, Block> {
        let top = parse_seed(body, EventSeed(self))?;
        if top.export_response || top.export_request {
            return Err(malformed(
                "a `response` or `request` member, which MISP would read as the event; sync never sends one",
            ));
        }
        let event = top.wrapped.as_deref().unwrap_or(&top);
        self.event(event)?;
        Ok(event_uuid(event))
    }

    /// Proposals: `[{...}]` as pushed, `[{"ShadowAttribute": {...}}]` as
    /// listed by the index. Each element is read bare first; one that is not
    /// an attribute must be exactly the wrapped form.
    fn shadow_attributes(&self, body: &[u8]) -> Outcome {
        let items: Vec<&serde_json::value::RawValue> = parse(body)?;
        for raw in items {
            let bytes = raw.get().as_bytes();
            match parse_object::<Attribute>(bytes) {
                Ok(bare) => self.attribute(&bare)?,
                Err(_) => {
                    let w: Wrapped<Attribute> = parse(bytes)?;
                    expect_key(&w.key, "ShadowAttribute")?;
                    self.attribute(&w.inner)?;
                }
            }
        }
        Ok(())
    }

    fn event(&self, e: &Event) -> Outcome {
        self.event_inner(e).map_err(|mut b| {
            if b.event_uuid.is_none() {
                b.event_uuid = event_uuid(e);
            }
            b
        })
    }

    fn event_inner(&self, e: &Event) -> Outcome {
        let tags = TagSet::of(&e.tags, &e.tag_links);
        self.blocked_tags("event has blocked tag", tags)?;
        self.required_taxonomies("event", tags)?;
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
        Ok(())
    }

    fn attribute(&self, a: &Attribute) -> Outcome {
        // Type before category: misp-guard 1.3's scenarios expect the type
        // reason for attributes that match both.
        if let Some(t) = hit(&self.rules.blocked_attribute_types, &a.kind) {
            return Err(Block::new(
                Rule::BlockedAttributeType,
                format!(
                    "attribute with a blocked type: {}",
                    shown_rule_value(t, &a.kind)
                ),
            ));
        }
        if let Some(c) = hit(&self.rules.blocked_attribute_categories, &a.category) {
            return Err(Block::new(
                Rule::BlockedAttributeCategory,
                format!(
                    "attribute with a blocked category: {}",
                    shown_rule_value(c, &a.category)
                ),
            ));
        }
        if let Some(d) = a.distribution {
            self.distribution("attribute with a blocked distribution level", d)?;
        }
        if a.wrapper.is_some() {
            return Err(malformed("an `Attribute` key inside an attribute"));
        }
        if a.tag_ids {
            return Err(malformed(
                "attribute tags given by local id (`tag_ids`) cannot be checked",
            ));
        }
        let tags = TagSet::of(&a.tags, &a.tag_links);
        self.blocked_tags("attribute with a blocked tag", tags)?;
        self.attribute_taxonomies(tags)?;
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

    fn object(&self, o: &Object) -> Outcome {
        if o.wrapper.is_some() {
            return Err(malformed(
                "an object wrapped as {\"Object\": …}, which MISP reads instead of its outer fields",
            ));
        }
        let d = self.required_level(
            "object",
            "object with a blocked distribution level",
            o.distribution,
        )?;
        self.sharing_group("object", d, o.sharing_group.as_deref())?;
        if let Some(t) = hit(&self.rules.blocked_object_types, &o.name) {
            return Err(Block::new(
                Rule::BlockedObjectType,
                format!(
                    "object with a blocked type: {}",
                    shown_rule_value(t, &o.name)
                ),
            ));
        }
        if let Some(uuid) = &o.template_uuid
            && let Some(t) = hit(&self.rules.blocked_object_templates, uuid)
        {
            return Err(Block::new(
                Rule::BlockedObjectType,
                format!("object with the template of a blocked type: template_uuid {t}"),
            ));
        }
        for a in &o.attributes {
            self.attribute(a)?;
        }
        self.analyst_children(&o.notes, &o.opinions, &o.relationships)
    }

    fn event_report(&self, r: &EventReport) -> Outcome {
        if r.wrapper.is_some() {
            return Err(malformed(
                "an event report wrapped as {\"EventReport\": …}, which MISP reads instead",
            ));
        }
        let d = self.required_level(
            "event report",
            "event report has blocked distribution level",
            r.distribution,
        )?;
        // Beyond misp-guard: a report's tags, sharing group and analyst data.
        self.blocked_tags("event report has blocked tag", TagSet::of(&r.tags, &None))?;
        self.sharing_group("event report", d, r.sharing_group.as_deref())?;
        self.analyst_children(&r.notes, &r.opinions, &r.relationships)
    }

    /// `standalone`: the cluster is the synced element itself (push or
    /// view), so it must say its distribution, as misp-guard requires.
    fn galaxy_cluster(&self, c: &GalaxyCluster, standalone: bool) -> Outcome {
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
            if rel.wrapper.is_some() {
                return Err(malformed(
                    "a galaxy cluster relation wrapped as {\"GalaxyClusterRelation\": …}",
                ));
            }
            if let Some(d) = rel.distribution {
                self.distribution("galaxy cluster relation has blocked distribution level", d)?;
            }
            let d = rel.distribution.unwrap_or(Distribution(5));
            self.sharing_group("galaxy cluster relation", d, rel.sharing_group.as_deref())?;
            for tags in [&rel.tags, &rel.relation_tags] {
                self.blocked_tags(
                    "galaxy cluster relation has blocked tag",
                    TagSet::of(tags, &None),
                )?;
            }
        }
        Ok(())
    }

    /// Exactly one of `Note`, `Opinion`, `Relationship`, and no top-level
    /// `note_type_name` (which would make MISP read the body differently).
    fn analyst_envelope(&self, env: &AnalystEnvelope) -> Outcome {
        if env.note_type_name.is_some() {
            return Err(malformed(
                "analyst data with a top-level note_type_name, which MISP reads as the record itself",
            ));
        }
        let mut items = env.items();
        match (items.next(), items.next()) {
            (Some(item), None) => self.analyst(item),
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
            .try_for_each(|a| self.analyst(a))
    }

    fn analyst(&self, a: &AnalystData) -> Outcome {
        let d = self.required_level(
            "analyst data",
            "analyst data has blocked distribution level",
            a.distribution,
        )?;
        // Beyond misp-guard: MISP analyst data may carry a sharing group.
        self.sharing_group("analyst data", d, a.sharing_group.as_deref())?;
        self.analyst_children(&a.notes, &a.opinions, &a.relationships)?;
        if let Some(raw) = a.related_object {
            self.related_object(a.related_object_type.as_deref(), raw.get())?;
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
        let bytes = raw.as_bytes();
        match kind {
            Some("Event") => {
                let event = parse_seed(
                    bytes,
                    EnvelopeSeed {
                        judge: self,
                        only_event: false,
                    },
                )?;
                self.event(&event)
            }
            Some("Attribute") => {
                let w: Wrapped<Attribute> = parse(bytes)?;
                expect_key(&w.key, "Attribute")?;
                self.attribute(&w.inner)
            }
            Some("Object") => {
                let w: Wrapped<Object> = parse(bytes)?;
                expect_key(&w.key, "Object")?;
                self.object(&w.inner)
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
                    Ok(bare) => self.analyst(&bare),
                    Err(_) => {
                        let w: Wrapped<AnalystData> = parse(bytes)?;
                        expect_key(&w.key, kind)?;
                        self.analyst(&w.inner)
                    }
                }
            }
            other => Err(Block::new(
                Rule::UninspectableRelation,
                format!(
                    "relationship to a {} carries content no rule can inspect",
                    super::printable(other.unwrap_or("(missing related_object_type)"))
                ),
            )),
        }
    }

    /// The distribution of an element that must have one, checked; a feed's
    /// events may leave it out (they take the feed's own on import), which
    /// counts as "inherit".
    fn required_level(
        &self,
        element: &str,
        what: &str,
        d: Option<Distribution>,
    ) -> Result<Distribution, Block> {
        match d {
            Some(d) => {
                self.distribution(what, d)?;
                Ok(d)
            }
            None if self.feed => Ok(Distribution(5)),
            None => Err(malformed(&format!("{element} without a distribution"))),
        }
    }

    fn distribution(&self, what: &str, d: Distribution) -> Outcome {
        if self.rules.blocked_distribution_levels[d.0 as usize] {
            Err(Block::new(
                Rule::BlockedDistribution,
                format!("{what}: {}", d.0),
            ))
        } else {
            Ok(())
        }
    }

    fn blocked_tags(&self, what: &str, tags: TagSet) -> Outcome {
        for tag in tags.iter() {
            if let Some(t) = hit(&self.rules.blocked_tags, &tag.name) {
                return Err(Block::new(
                    Rule::BlockedTag,
                    format!("{what}: {}", shown_rule_value(t, &tag.name)),
                ));
            }
        }
        Ok(())
    }

    /// The event must carry, for each required namespace, a tag of that
    /// namespace, from its allowed list when one is set (misp-guard 1.3).
    fn required_taxonomies(&self, what: &str, tags: TagSet) -> Outcome {
        if self.rules.required_taxonomies.is_empty() {
            return Ok(());
        }
        if !tags.present() {
            return Err(Block::new(
                Rule::RequiredTaxonomy,
                format!("{what} is missing required taxonomies"),
            ));
        }
        for ns in &self.rules.required_taxonomies {
            let allowed = self
                .rules
                .allowed_tags
                .get(ns)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let found = tags.iter().any(|t| {
                let name = super::normalise(&t.name);
                name.strip_prefix(ns.as_str())
                    .is_some_and(|rest| rest.starts_with(':'))
                    && (allowed.is_empty() || allowed.iter().any(|a| a == name.as_ref()))
            });
            if !found {
                return Err(Block::new(
                    Rule::RequiredTaxonomy,
                    format!("{what} is missing required taxonomy: {ns}"),
                ));
            }
        }
        Ok(())
    }

    /// At attribute level (object attributes and proposals too) an attribute
    /// inherits the event's classification, so it needs no tag of its own —
    /// misp-guard 1.3's scenarios pass untagged attributes. But a tag it does
    /// carry in a required namespace must be an allowed one: a `tlp:amber`
    /// attribute in a `tlp:clear` event is refused.
    fn attribute_taxonomies(&self, tags: TagSet) -> Outcome {
        for tag in tags.iter() {
            let name = super::normalise(&tag.name);
            let Some((ns, _)) = name.split_once(':') else {
                continue;
            };
            if !self.rules.required_taxonomies.iter().any(|r| r == ns) {
                continue;
            }
            let allowed = self
                .rules
                .allowed_tags
                .get(ns)
                .map(Vec::as_slice)
                .unwrap_or_default();
            if !allowed.is_empty() && !allowed.iter().any(|a| a == name.as_ref()) {
                return Err(Block::new(
                    Rule::RequiredTaxonomy,
                    format!(
                        "attribute has a tag of required taxonomy {ns} that is not allowed: {}",
                        super::printable(&name)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Blocked sharing groups, and on pulls the `X-UserOrgUUID` membership.
    /// An element in a sharing group (distribution 4) that does not say
    /// which one cannot be checked and is refused when a check is due.
    fn sharing_group(
        &self,
        what: &str,
        distribution: Distribution,
        sg: Option<&SharingGroup>,
    ) -> Outcome {
        let check_due =
            !self.rules.blocked_sharing_groups_uuids.is_empty() || self.user_org.is_some();
        let Some(sg) = sg else {
            if distribution.0 == 4 && check_due {
                return Err(Block::new(
                    Rule::SharingGroupUnknown,
                    format!("{what} is shared with a sharing group but does not say which one"),
                ));
            }
            return Ok(());
        };
        if let Some(uuid) = hit(&self.rules.blocked_sharing_groups_uuids, &sg.uuid) {
            // misp-guard's wording: "event has …", "attribute with a …".
            let verb = if what == "event" { "has" } else { "with a" };
            return Err(Block::new(
                Rule::BlockedSharingGroup,
                format!("{what} {verb} blocked sharing group uuid: {uuid}"),
            ));
        }
        if let Some(org) = self.user_org {
            let member = sg
                .orgs
                .iter()
                .any(|o| o.organisation.uuid.eq_ignore_ascii_case(org.trim()));
            let all_orgs = sg.servers.iter().any(SharingGroupServer::all_orgs);
            if !member && !all_orgs {
                return Err(Block::new(
                    Rule::UserOrgNotInSharingGroup,
                    format!(
                        "user with organisation uuid: {} (X-UserOrgUUID) not in sharing group",
                        super::printable(org.trim())
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl ElementJudge for Checker<'_> {
    fn attribute(&self, a: &Attribute) -> Verdict {
        Checker::attribute(self, a)
    }
    fn object(&self, o: &Object) -> Verdict {
        Checker::object(self, o)
    }
}

/// Shows the value as the body wrote it when it is harmless to show (it
/// equals the configured rule value but for case), else the rule value.
fn shown_rule_value(rule_value: &str, as_sent: &str) -> String {
    if as_sent.to_lowercase() == rule_value {
        super::printable(as_sent)
    } else {
        rule_value.to_string()
    }
}

/// An event's UUID as logs and the memory carry it: lower case, and only
/// when it is one.
fn event_uuid(e: &Event) -> Option<String> {
    e.uuid
        .as_deref()
        .filter(|u| is_uuid(u))
        .map(str::to_ascii_lowercase)
}
