//! The rule engine, pure: no sockets, no files, no clocks.
//!
//! The daemon meets an exchange in stages, and so does this module:
//!
//! 1. [`route`] — *who is talking to whom*, from the connection alone: the
//!    source instance (by client IP), the destination (by original IP and
//!    port, with the SNI or Host name, which must agree), compartments, the
//!    port, or the allowlist for destinations that are no instance.
//! 2. [`Route::check_request_head`] — *what is asked*: the method and path
//!    must be a MISP sync endpoint (see [`endpoint`]), or exactly an
//!    allowlisted URL.
//! 3. [`check_request_body`] / [`check_response_body`] — *what would leave*:
//!    push bodies against the source instance's rules, pull responses
//!    against the destination's (always the data owner's), as misp-guard.
//!
//! Every stage answers `Ok` or a [`Block`] that says which rule refused and
//! why, worded like misp-guard's log lines so operators who migrate find
//! their messages, with the config key of the rule appended. [`evaluate`]
//! runs all stages on one exchange; `misp-warden eval` and the tests use it,
//! the daemon calls the stages as the bytes arrive.
//!
//! Messages never contain attribute values or bodies: only rule values from
//! the config, instance ids, endpoint names and UUIDs.

mod content;
pub mod endpoint;
mod feed;
mod head;
mod memory;
pub mod model;
mod read;
mod rules;

pub use crate::misp::{PHP_TRIM, is_uuid, normalise};

pub use content::{
    DecodePlan, RATIO_FLOOR, RequestFacts, ResponseContext, decode_plan, judge_request_body,
    judge_response, request_is_judged, response_is_judged,
};
pub use endpoint::{Direction, Endpoint, RequestBody, ResponseBody, classify};
pub use feed::FeedFile;
pub use head::{Admitted, Connection, Framing, host_name, judge_head, single};
pub use memory::{EventVerdicts, Flow};

use crate::config::{Config, Feed, Instance};
use crate::net::canonical_ip;
use std::fmt;
use std::net::IpAddr;

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

/// Where a connection was going, as far as it is known.
#[derive(Debug, Clone, Copy, Default)]
pub struct Destination<'a> {
    /// The original destination IP (from the socket), when known.
    pub ip: Option<IpAddr>,
    /// The name the client used: TLS SNI, else the Host header.
    pub name: Option<&'a str>,
    pub port: u16,
}

/// The outcome of [`route`]: what kind of conversation this is.
#[derive(Debug, Clone)]
pub enum Route<'c> {
    /// Instance to instance: the endpoint table and the rules apply.
    Sync {
        source: &'c Instance,
        destination: &'c Instance,
    },
    /// A destination that is no instance, reachable through
    /// `allowlist.domains`: passed without inspection, as in misp-guard.
    AllowedDomain { source: &'c Instance },
    /// A destination that is no instance, reachable only at the exact URLs of
    /// `allowlist.urls`; every request target is compared.
    AllowedUrls {
        source: &'c Instance,
        host: String,
        port: u16,
    },
    /// A host serving one or more `feeds` (misp-guard 1.3): only the files
    /// of a MISP feed under a feed's URL, judged by that feed's rules.
    Feeds {
        source: &'c Instance,
        host: String,
        port: u16,
    },
}

/// Identifies the source instance of a connection by the client's IP.
pub fn source_instance(config: &Config, ip: IpAddr) -> Result<&Instance, Block> {
    let ip = canonical_ip(ip);
    let mut found = config.instances_at(ip);
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one),
        (Some(a), Some(b)) => Err(Block::new(
            Rule::UnknownSource,
            format!(
                "source host {ip} is shared by instances {} and {}, it cannot be told which one is talking",
                a.id, b.id
            ),
        )),
        (None, _) => Err(Block::new(
            Rule::UnknownSource,
            format!("source host {ip} does not exist in instances hosts mapping"),
        )),
    }
}

/// Stage 1: decides what a connection from `source` to `dest` may be.
pub fn route<'c>(
    config: &'c Config,
    source: &'c Instance,
    dest: &Destination,
) -> Result<Route<'c>, Block> {
    let by_ip = dest.ip.map(canonical_ip).map(|ip| {
        config
            .instances_at(ip)
            .find(|i| i.port == dest.port)
            .or_else(|| config.instances_at(ip).next())
    });
    let by_name = dest.name.and_then(|n| config.instance_by_host(n));
    let shown = || match (dest.name, dest.ip) {
        (Some(n), _) => printable(n),
        (None, Some(ip)) => ip.to_string(),
        (None, None) => "(none)".into(),
    };

    let destination = match (by_ip, by_name) {
        (Some(Some(a)), Some(b)) if a.id != b.id => {
            return Err(Block::new(
                Rule::NameMismatch,
                format!(
                    "destination address {} is instance {} but the name {} is instance {}",
                    dest.ip.map(|i| i.to_string()).unwrap_or_default(),
                    a.id,
                    printable(dest.name.unwrap_or_default()),
                    b.id
                ),
            ));
        }
        (Some(Some(a)), _) => {
            if let Some(name) = dest.name
                && by_name.is_none()
                && !name_is_address(name, a)
            {
                return Err(Block::new(
                    Rule::NameMismatch,
                    format!(
                        "destination address is instance {} but the name {} is not its host {}",
                        a.id,
                        printable(name),
                        a.host
                    ),
                ));
            }
            a
        }
        (None, Some(b)) => b,
        (Some(None), Some(b)) => {
            return Err(Block::new(
                Rule::NameMismatch,
                format!(
                    "the name {} is instance {} but the destination address is not",
                    printable(dest.name.unwrap_or_default()),
                    b.id
                ),
            ));
        }
        (Some(None), None) | (None, None) => {
            // Not an instance: only a feed or the allowlist, by name, from a
            // known source.
            if let Some(name) = dest.name {
                if config.feed_at(name, dest.port).is_some() {
                    return Ok(Route::Feeds {
                        source,
                        host: name.to_ascii_lowercase(),
                        port: dest.port,
                    });
                }
                if config.domain_allowed(name) {
                    return Ok(Route::AllowedDomain { source });
                }
                if config.has_urls_for(name, dest.port) {
                    return Ok(Route::AllowedUrls {
                        source,
                        host: name.to_ascii_lowercase(),
                        port: dest.port,
                    });
                }
            }
            return Err(Block::new(
                Rule::UnknownDestination,
                format!(
                    "destination host {} does not exist in instances hosts mapping",
                    shown()
                ),
            ));
        }
    };

    if !config
        .reachable(&source.compartment_id)
        .contains(&destination.compartment_id)
    {
        return Err(Block::new(
            Rule::Compartment,
            format!(
                "cannot reach compartment: {} ({}) may not reach {} ({})",
                source.id, source.compartment_id, destination.id, destination.compartment_id
            ),
        ));
    }
    if dest.port != destination.port {
        return Err(Block::new(
            Rule::DestinationPort,
            format!(
                "destination port is not allowed: {} for instance {} (configured {})",
                dest.port, destination.id, destination.port
            ),
        ));
    }
    Ok(Route::Sync {
        source,
        destination,
    })
}

/// A name that is the instance's own IP literal (an SNI-less client, or a
/// Host header with the address) agrees with it.
fn name_is_address(name: &str, instance: &Instance) -> bool {
    name.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map(|ip| canonical_ip(ip) == instance.ip)
        .unwrap_or(false)
}

/// What a request turned out to be once its head was read.
#[derive(Debug, Clone, Copy)]
pub enum Exchange<'c> {
    /// A sync endpoint between two instances.
    Sync {
        source: &'c Instance,
        destination: &'c Instance,
        endpoint: Endpoint,
    },
    /// An allowlisted domain or URL: forwarded without inspection.
    Allowlisted,
    /// A file of a MISP feed.
    Feed { feed: &'c Feed, file: FeedFile },
}

impl<'c> Route<'c> {
    /// Stage 2: the method and request target (origin form, as sent).
    pub fn check_request_head(
        &self,
        config: &'c Config,
        method: &str,
        target: &str,
    ) -> Result<Exchange<'c>, Block> {
        match self {
            Route::AllowedDomain { .. } => Ok(Exchange::Allowlisted),
            Route::Feeds { host, port, .. } => {
                let (feed, file) = feed::classify(config, host, *port, method, target)?;
                Ok(Exchange::Feed { feed, file })
            }
            Route::AllowedUrls { host, port, .. } => {
                if config.url_allowed(host, *port, target) {
                    Ok(Exchange::Allowlisted)
                } else {
                    Err(Block::new(
                        Rule::UnknownDestination,
                        format!(
                            "{host}:{port}: only the exact URLs of allowlist.urls may be fetched on this host"
                        ),
                    ))
                }
            }
            &Route::Sync {
                source,
                destination,
            } => {
                let endpoint = classify(method, target)?;
                if endpoint.needs_auth_key_refresh && !destination.allow_sync_auth_key_refresh {
                    return Err(Block::new(
                        Rule::AuthKeyRefresh,
                        format!(
                            "endpoint not allowed: /users/resetauthkey/me is not enabled for instance {}, set `allow_sync_auth_key_refresh: true` to allow it",
                            destination.id
                        ),
                    )
                    .by(destination));
                }
                Ok(Exchange::Sync {
                    source,
                    destination,
                    endpoint,
                })
            }
        }
    }
}

/// The source of an exchange: a client's address (the daemon), or an
/// instance id given by hand (`eval --from ID`).
#[derive(Debug, Clone, Copy)]
pub enum SourceSpec<'a> {
    Instance(&'a str),
    Ip(IpAddr),
}

/// One whole exchange, for [`evaluate`]: what the connection said, the
/// request head and body as received, and optionally the response.
#[derive(Debug, Clone, Copy)]
pub struct Case<'a> {
    pub connection: Connection<'a>,
    pub request: &'a http::request::Parts,
    pub framing: Framing,
    /// The request body as received (still encoded; empty when none).
    pub request_body: &'a [u8],
    /// The response head and body as received, when it is to be judged.
    pub response: Option<(&'a http::response::Parts, &'a [u8])>,
}

/// Runs every stage on one exchange, in the daemon's order: the head, the
/// request body, the response. `misp-warden eval` is this function.
pub fn evaluate(config: &Config, case: &Case, memory: &EventVerdicts) -> Result<(), Block> {
    let admitted = judge_head(config, &case.connection, case.request, case.framing)?;
    let exchange = admitted.exchange;
    let facts = judge_request_body(
        config,
        &exchange,
        &case.request.headers,
        case.request_body,
        memory,
    )?;
    if let Some((response, body)) = case.response {
        judge_response(config, &exchange, &facts, response, body, memory)?;
    }
    Ok(())
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

#[cfg(test)]
mod tests;
