//! What every stage of the judge answers: `Ok`, or a [`Block`] that says
//! which [`Rule`] refused and why.
//!
//! Messages are worded like misp-guard's log lines, so operators who
//! migrate find their messages, with the config key of the rule appended
//! ([`Block::rule_path`]). They never contain attribute values or bodies:
//! only rule values from the config, instance ids, endpoint names, UUIDs,
//! and peer-supplied names made [`printable`].

use crate::config::{Feed, Instance};
use std::fmt;

/// Which rule refused. The id is stable: logs and metrics carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    UnknownSource,
    UnknownDestination,
    NameMismatch,
    Compartment,
    DestinationPort,
    Endpoint,
    AuthKeyRefresh,
    MinimalPublished,
    MalformedHead,
    AmbiguousFraming,
    MalformedBody,
    UnknownKey,
    UnjudgedEvent,
    BlockedTag,
    RequiredTaxonomy,
    BlockedDistribution,
    BlockedSharingGroup,
    SharingGroupUnknown,
    UserOrgNotInSharingGroup,
    BlockedAttributeType,
    BlockedAttributeCategory,
    BlockedObjectType,
    UninspectableRelation,
    ContentEncoding,
    BodyTooLarge,
}

impl Rule {
    pub fn id(self) -> &'static str {
        match self {
            Rule::UnknownSource => "unknown_source",
            Rule::UnknownDestination => "unknown_destination",
            Rule::NameMismatch => "name_mismatch",
            Rule::Compartment => "compartments_rules",
            Rule::DestinationPort => "destination_port",
            Rule::Endpoint => "endpoint",
            Rule::AuthKeyRefresh => "allow_sync_auth_key_refresh",
            Rule::MinimalPublished => "minimal_published",
            Rule::MalformedHead => "malformed_head",
            Rule::AmbiguousFraming => "ambiguous_framing",
            Rule::MalformedBody => "malformed_body",
            Rule::UnknownKey => "unknown_key",
            Rule::UnjudgedEvent => "unjudged_event",
            Rule::BlockedTag => "blocked_tags",
            Rule::RequiredTaxonomy => "required_taxonomies",
            Rule::BlockedDistribution => "blocked_distribution_levels",
            Rule::BlockedSharingGroup => "blocked_sharing_groups_uuids",
            Rule::SharingGroupUnknown => "sharing_group_unidentified",
            Rule::UserOrgNotInSharingGroup => "x_user_org_uuid",
            Rule::BlockedAttributeType => "blocked_attribute_types",
            Rule::BlockedAttributeCategory => "blocked_attribute_categories",
            Rule::BlockedObjectType => "blocked_object_types",
            Rule::UninspectableRelation => "uninspectable_relation",
            Rule::ContentEncoding => "content_encoding",
            Rule::BodyTooLarge => "max_body_bytes",
        }
    }
}

/// A refusal: the rule, a message for people, and where it is known, the
/// instance whose rule it was and the UUID of the event concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub rule: Rule,
    pub message: String,
    /// Where the refusing rules live in the config: `instances.<id>` or
    /// `feeds.<id>`.
    pub owner: Option<String>,
    pub event_uuid: Option<String>,
}

impl Block {
    pub fn new(rule: Rule, message: impl Into<String>) -> Self {
        Block {
            rule,
            message: message.into(),
            owner: None,
            event_uuid: None,
        }
    }

    pub(crate) fn by(mut self, instance: &Instance) -> Self {
        self.owner = Some(format!("instances.{}", instance.id));
        self
    }

    pub(crate) fn by_feed(mut self, feed: &Feed) -> Self {
        self.owner = Some(format!("feeds.{}", feed.id));
        self
    }

    /// Where the refusing rule lives in the config, when it is a config key.
    pub fn rule_path(&self) -> String {
        let key = match self.rule {
            Rule::BlockedTag => "taxonomies_rules.blocked_tags",
            Rule::RequiredTaxonomy => "taxonomies_rules.required_taxonomies",
            Rule::Compartment => return "compartments_rules.can_reach".into(),
            other => other.id(),
        };
        match &self.owner {
            Some(owner) => format!("{owner}.{key}"),
            None => key.to_string(),
        }
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} (rule {})", self.message, self.rule_path())?;
        if let Some(uuid) = &self.event_uuid {
            write!(f, " [event {uuid}]")?;
        }
        Ok(())
    }
}

/// A peer-supplied string as it may appear in a message: no control
/// characters, bounded length.
pub fn printable(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(128).collect();
    if s.chars().count() > 128 {
        out.push('…');
    }
    out
}
