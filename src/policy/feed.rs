//! MISP feeds (misp-guard 1.3's `feeds`): which files of a feed an instance
//! may fetch.
//!
//! A MISP feed is a directory: `manifest.json` (event UUID → event
//! metadata), one `<uuid>.json` per event, its `<uuid>.asc` signature, and
//! optionally `hashes.csv`, a cache of attribute hashes. Only these, with
//! GET, under a configured feed URL. Each event file is judged by the feed's
//! rules when it arrives (see `rules::check_feed_response`).
//!
//! misp-guard rewrites the manifest to drop the entries its rules block.
//! misp-warden forwards what it allows byte for byte instead: the manifest
//! passes unchanged (it is checked for shape), and a blocked event is
//! refused when MISP fetches its file. The verdicts are misp-guard's.

use super::{Block, Rule, is_uuid, printable};
use crate::config::{Config, Feed};

/// Which file of a feed a request fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFile {
    /// `manifest.json`.
    Manifest,
    /// `<uuid>.json`: one event, judged by the feed's rules.
    Event,
    /// `<uuid>.asc`: the event's signature, passed as is.
    Signature,
    /// `hashes.csv`: only with `allow_caching`; no rule can read it.
    Cache,
}

/// Finds the feed under whose URL `target` lies on this host and port, and
/// the file it asks for.
pub(super) fn classify<'c>(
    config: &'c Config,
    host: &str,
    port: u16,
    method: &str,
    target: &str,
) -> Result<(&'c Feed, FeedFile), Block> {
    let under = |f: &&Feed| {
        f.port == port
            && f.host.eq_ignore_ascii_case(host)
            && target
                .strip_prefix(f.path.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    };
    let Some(feed) = config.feeds.iter().find(under) else {
        return Err(Block::new(
            Rule::UnknownDestination,
            format!(
                "destination host {} does not exist in instances hosts mapping (not under a feed URL)",
                printable(host)
            ),
        ));
    };
    let not_allowed = || {
        Block::new(
            Rule::Endpoint,
            format!(
                "endpoint not allowed: rejecting non allowed feed request to {} of the `{}` feed",
                printable(target),
                feed.id
            ),
        )
    };
    if method != "GET" {
        return Err(not_allowed());
    }
    let name = &target[feed.path.len() + 1..];
    let file = match name.rsplit_once('.') {
        _ if name == "manifest.json" => FeedFile::Manifest,
        _ if name == "hashes.csv" => FeedFile::Cache,
        Some((uuid, "json")) if is_uuid(uuid) => FeedFile::Event,
        Some((uuid, "asc")) if is_uuid(uuid) => FeedFile::Signature,
        _ => return Err(not_allowed()),
    };
    if file == FeedFile::Cache && !feed.allow_caching {
        return Err(Block::new(
            Rule::Endpoint,
            format!(
                "endpoint not allowed: {} is not enabled for the `{}` feed, set `allow_caching: true` to allow it",
                printable(target),
                feed.id
            ),
        ));
    }
    Ok((feed, file))
}
