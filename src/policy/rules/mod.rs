//! The content rules: misp-guard's, at every level it applies them, and at
//! the places it misses (each marked *beyond misp-guard* and listed in
//! docs/migration.md), over a closed model of what MISP sends (`model.rs`).
//!
//! - [`check_request`], [`check_response`], [`check_feed_response`]: one
//!   body, by the endpoint's kind.
//! - `elements.rs`: the walk over an event and everything it can hold or
//!   show (attributes, objects and their references' copies, reports,
//!   clusters, analyst data, other events' rows).
//! - `control.rs`: filters, push filters, minimal indexes, sightings,
//!   proposals, the answer to a push.
//!
//! Order of checks follows misp-guard's, so the first reason reported for a
//! body with several problems is the one a misp-guard user would expect:
//! event level (tags, required taxonomies, distribution, event reports,
//! sharing group, analyst data), then attributes, then objects.

mod control;
mod elements;

use super::memory::{EventVerdicts, Flow};
use super::model::*;
use super::read::{Body, malformed, parse_seed};
use super::{Block, Endpoint, FeedFile, RequestBody, ResponseBody, Rule, is_uuid};
use crate::config::{Instance, Rules};
use std::cell::{Cell, RefCell};
use std::collections::HashSet;

/// What the request stage learnt that the response stage needs: the event
/// a push carried (its answer must show that event, not another).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFacts {
    /// The UUID of the event the request pushed, lower-cased.
    pub pushed_event: Option<String>,
}

/// The response header fields the rules read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponseContext<'a> {
    /// `X-UserOrgUUID`: the organisation of the user the remote
    /// authenticated; pulled elements in sharing groups without it are
    /// refused.
    pub user_org_uuid: Option<&'a str>,
    /// The HTTP status.
    pub status: u16,
}

impl ResponseContext<'_> {
    /// Statuses whose responses have no content by definition (1xx, 204,
    /// 304): there is nothing to judge.
    pub(in crate::policy) fn carries_no_content(&self) -> bool {
        matches!(self.status, 100..=199 | 204 | 304)
    }
}

type Outcome = Result<(), Block>;

/// A request body, by the endpoint's kind, judged by the source's rules.
/// Returns the UUID of the event it pushed, when it pushed one.
pub(super) fn check_request(
    owner: &Instance,
    endpoint: &Endpoint,
    body: Body,
    flow: Flow,
    memory: &EventVerdicts,
) -> Result<Option<String>, Block> {
    let checker = Checker::new(&owner.rules, None, flow, memory);
    match endpoint.request {
        RequestBody::Empty if body.is_empty() => Ok(None),
        RequestBody::Empty => Err(malformed("a body where this endpoint takes none")),
        RequestBody::Event => {
            let judged = checker.pushed_event(body, endpoint);
            let uuid = judged.as_ref().ok().cloned().flatten();
            remembered(judged, flow, memory).map(|()| uuid)
        }
        other => checker
            .control_request(other, endpoint, body)
            .map(|()| None),
    }
}

/// A response body, by the endpoint's kind, judged by the destination's
/// rules (a pull: the destination owns what comes back).
pub(super) fn check_response(
    owner: &Instance,
    endpoint: &Endpoint,
    ctx: &ResponseContext,
    request: &RequestFacts,
    body: Body,
    flow: Flow,
    memory: &EventVerdicts,
) -> Outcome {
    let checker = Checker::new(&owner.rules, ctx.user_org_uuid, flow, memory);
    let kind = endpoint.response;
    if kind == ResponseBody::Unchecked {
        return Ok(());
    }
    // An error carries no data: MISP's JSON error passes as it is.
    if ctx.status >= 400 && checker.error_answer(body).is_ok() {
        return Ok(());
    }
    match kind {
        ResponseBody::Event => remembered(checker.pulled_event(body), flow, memory),
        ResponseBody::PushAnswer => checker.push_answer(body, request.pushed_event.as_deref()),
        other => checker.control_response(other, body),
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
pub(super) fn check_feed_response(rules: &Rules, file: FeedFile, body: Body) -> Outcome {
    // Feed events are judged alone: nothing of theirs is remembered.
    let memory = EventVerdicts::new(1);
    let flow = Flow {
        owner: "",
        recipient: "",
    };
    let checker = Checker {
        feed: true,
        ..Checker::new(rules, None, flow, &memory)
    };
    match file {
        // Passed unchanged (see feed.rs); it must be the JSON object of
        // event metadata MISP expects.
        FeedFile::Manifest => super::read::parse_object::<serde::de::IgnoredAny>(body).map(|_| ()),
        FeedFile::Event => {
            let event = checker.scoped(|| parse_seed(body, EnvelopeSeed { judge: &checker }))?;
            checker.event(&event)?;
            checker.check_copies(&event)
        }
        FeedFile::Signature | FeedFile::Cache => Ok(()),
    }
}

/// Walks one owner's data with that owner's rules.
pub(super) struct Checker<'r> {
    rules: &'r Rules,
    /// `X-UserOrgUUID` of a pull response, when the remote sent it.
    user_org: Option<&'r str>,
    /// Judging a feed's event, whose elements carry no distribution.
    feed: bool,
    /// Whose data this is and who receives it, for the memory of events.
    flow: Flow<'r>,
    memory: &'r EventVerdicts,
    /// How many relationship targets deep the walk is. Each target is parsed
    /// on its own (its shape depends on its type), so serde_json's nesting
    /// limit restarts there; this bound keeps a chain of relationships from
    /// exhausting the stack.
    related_depth: Cell<u32>,
    /// While an event is judged: the UUIDs of its attributes and objects,
    /// and of the elements its references carry copies of, so that a copy
    /// of an element the event does not contain can be found at its end.
    scope: RefCell<Option<EventScope>>,
}

/// See [`Checker::scope`].
#[derive(Default)]
struct EventScope {
    elements: Vec<u128>,
    /// `(uuid, an attribute rather than an object)`.
    copies: Vec<(u128, bool)>,
}

/// Deepest chain of relationship targets inspected; deeper is refused.
const MAX_RELATED_DEPTH: u32 = 16;

/// Membership in a set of normalised rule values, compared as MISP's
/// database would compare them (see `misp/text.rs`); returns the rule value
/// that matched. Rule lists are short, so an ASCII value is compared in
/// place rather than lower-cased into a new string and hashed.
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

impl<'r> Checker<'r> {
    fn new(
        rules: &'r Rules,
        user_org: Option<&'r str>,
        flow: Flow<'r>,
        memory: &'r EventVerdicts,
    ) -> Self {
        Checker {
            rules,
            user_org,
            feed: false,
            flow,
            memory,
            related_depth: Cell::new(0),
            scope: RefCell::new(None),
        }
    }

    /// Runs `read` with a fresh event scope (see [`Checker::scope`]).
    fn scoped<T>(&self, read: impl FnOnce() -> T) -> T {
        *self.scope.borrow_mut() = Some(EventScope::default());
        read()
    }

    /// The event's references copy only elements the event holds (checked
    /// once it has been read whole); ends the scope.
    fn check_copies(&self, e: &Event) -> Outcome {
        let Some(mut scope) = self.scope.borrow_mut().take() else {
            return Ok(());
        };
        scope.elements.sort_unstable();
        for (uuid, attribute) in &scope.copies {
            if scope.elements.binary_search(uuid).is_err() {
                let what = if *attribute {
                    "an attribute"
                } else {
                    "an object"
                };
                let mut b = malformed(&format!(
                    "an object reference carries a copy of {what} the event does not contain (MISP copies referenced elements before its sync removes some)"
                ));
                b.event_uuid = event_uuid(e);
                return Err(b);
            }
        }
        Ok(())
    }

    /// Notes an attribute or object of the event in scope.
    fn element(&self, uuid: Option<&str>) {
        if let Some(scope) = self.scope.borrow_mut().as_mut()
            && let Some(n) = uuid.and_then(|u| crate::misp::uuid_number(u.trim()))
        {
            scope.elements.push(n);
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

    fn blocked_tags(&self, what: &str, tags: &[Tag]) -> Outcome {
        for tag in tags {
            if let Some(t) = hit(&self.rules.blocked_tags, &tag.name) {
                return Err(Block::new(
                    Rule::BlockedTag,
                    format!("{what}: {}", shown_rule_value(t, &tag.name)),
                ));
            }
        }
        Ok(())
    }

    /// The event must carry, in `Tag`, for each required namespace a tag of
    /// that namespace (misp-guard 1.3); every tag it carries in a required
    /// namespace must be an allowed one, as at every other level.
    fn required_taxonomies(&self, what: &str, tags: Option<&[Tag]>) -> Outcome {
        if self.rules.required_taxonomies.is_empty() {
            return Ok(());
        }
        let Some(tags) = tags else {
            return Err(Block::new(
                Rule::RequiredTaxonomy,
                format!("{what} is missing required taxonomies"),
            ));
        };
        for ns in &self.rules.required_taxonomies {
            let allowed = self.allowed_tags(ns);
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
        self.taxonomy_tags_allowed(what, tags)
    }

    /// Beyond misp-guard, at every level: a tag in a required namespace
    /// must be one of the namespace's allowed tags (when any are listed). A
    /// `tlp:amber` attribute in a `tlp:clear` event is refused, and so is a
    /// `tlp:clear` event that also says `tlp:amber`. An element below the
    /// event needs no tag of its own: it inherits the event's.
    fn taxonomy_tags_allowed(&self, what: &str, tags: &[Tag]) -> Outcome {
        for tag in tags {
            let name = super::normalise(&tag.name);
            let Some((ns, _)) = name.split_once(':') else {
                continue;
            };
            if !self.rules.required_taxonomies.iter().any(|r| r == ns) {
                continue;
            }
            let allowed = self.allowed_tags(ns);
            if !allowed.is_empty() && !allowed.iter().any(|a| a == name.as_ref()) {
                return Err(Block::new(
                    Rule::RequiredTaxonomy,
                    format!(
                        "{what} has a tag of required taxonomy {ns} that is not allowed: {}",
                        super::printable(&name)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The allowed tags of a required namespace (none listed: any).
    fn allowed_tags(&self, ns: &str) -> &[String] {
        self.rules
            .allowed_tags
            .get(ns)
            .map(Vec::as_slice)
            .unwrap_or_default()
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

    /// Data that belongs to an event the body does not show whole —
    /// sightings, proposals, another event's row without its tags — goes
    /// only where the event itself went: to a recipient this guard let the
    /// event through to, for the same owner, since it started. Owners
    /// without rules refuse nothing, so nothing is asked of them.
    fn seen_event(&self, what: &str, uuid: Option<&str>) -> Outcome {
        if self.rules.is_empty() {
            return Ok(());
        }
        let shown = uuid
            .filter(|u| is_uuid(u.trim()))
            .map(|u| u.trim().to_ascii_lowercase());
        match &shown {
            Some(u) if self.memory.recall(self.flow, u) == Some(true) => Ok(()),
            Some(u) => {
                let verdict = match self.memory.recall(self.flow, u) {
                    Some(false) => "refused",
                    _ => "has not let through",
                };
                let mut b = Block::new(
                    Rule::UnjudgedEvent,
                    format!(
                        "{what} of event {u}, which this guard {verdict} to {} since it started (it goes where its event went)",
                        super::printable(self.flow.recipient)
                    ),
                );
                b.event_uuid = shown;
                Err(b)
            }
            None => Err(Block::new(
                Rule::UnjudgedEvent,
                format!("{what} that does not say which event it belongs to"),
            )),
        }
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
