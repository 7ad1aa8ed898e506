//! Who is talking to whom, from the connection alone — and then what a
//! request on that route may be.
//!
//! [`route`] finds the source instance (by client IP) and the destination
//! (by original IP and port, with the SNI or Host name, which must agree),
//! checks compartments and the port, or reaches for the allowlist and the
//! feeds when the destination is no instance. [`Route::check_request_head`]
//! then turns a method and path into a [`RequestKind`]: a sync endpoint
//! between two instances, an allowlisted fetch, or a feed file.

use super::endpoint::classify;
use super::feed::{self, FeedFile};
use super::{Block, Endpoint, Rule, printable};
use crate::config::{Config, Feed, Instance};
use crate::net::canonical_ip;
use std::net::IpAddr;

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
pub enum RequestKind<'c> {
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

/// A [`RequestKind`] by position in its config: what carries the kind to a
/// thread that holds the config by an `Arc` (the daemon judges a large body
/// on a thread of its own while the body arrives), where
/// [`resolve`](KindInConfig::resolve) gives the same kind back.
#[derive(Debug, Clone, Copy)]
pub enum KindInConfig {
    Sync {
        source: usize,
        destination: usize,
        endpoint: Endpoint,
    },
    Allowlisted,
    Feed {
        feed: usize,
        file: FeedFile,
    },
}

impl KindInConfig {
    /// The kind's position in `config`, the config it was routed in.
    pub fn of(kind: &RequestKind, config: &Config) -> KindInConfig {
        let at = |list: &[Instance], one: &Instance| {
            list.iter()
                .position(|i| std::ptr::eq(i, one))
                .expect("a kind routed in this config")
        };
        match *kind {
            RequestKind::Sync {
                source,
                destination,
                endpoint,
            } => KindInConfig::Sync {
                source: at(&config.instances, source),
                destination: at(&config.instances, destination),
                endpoint,
            },
            RequestKind::Allowlisted => KindInConfig::Allowlisted,
            RequestKind::Feed { feed, file } => KindInConfig::Feed {
                feed: config
                    .feeds
                    .iter()
                    .position(|f| std::ptr::eq(f, feed))
                    .expect("a kind routed in this config"),
                file,
            },
        }
    }

    /// The kind again, in the config [`of`](KindInConfig::of) was given.
    pub fn resolve(self, config: &Config) -> RequestKind<'_> {
        match self {
            KindInConfig::Sync {
                source,
                destination,
                endpoint,
            } => RequestKind::Sync {
                source: &config.instances[source],
                destination: &config.instances[destination],
                endpoint,
            },
            KindInConfig::Allowlisted => RequestKind::Allowlisted,
            KindInConfig::Feed { feed, file } => RequestKind::Feed {
                feed: &config.feeds[feed],
                file,
            },
        }
    }
}

impl<'c> Route<'c> {
    /// Stage 2: the method and request target (origin form, as sent).
    pub fn check_request_head(
        &self,
        config: &'c Config,
        method: &str,
        target: &str,
    ) -> Result<RequestKind<'c>, Block> {
        match self {
            Route::AllowedDomain { .. } => Ok(RequestKind::Allowlisted),
            Route::Feeds { host, port, .. } => {
                let (feed, file) = feed::classify(config, host, *port, method, target)?;
                Ok(RequestKind::Feed { feed, file })
            }
            Route::AllowedUrls { host, port, .. } => {
                if config.url_allowed(host, *port, target) {
                    Ok(RequestKind::Allowlisted)
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
                Ok(RequestKind::Sync {
                    source,
                    destination,
                    endpoint,
                })
            }
        }
    }
}
