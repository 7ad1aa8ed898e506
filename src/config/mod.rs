//! The configuration: misp-guard's `config.json`, accepted unchanged, plus
//! misp-warden's own optional `warden` section and per-instance `tls` object.
//!
//! [`Config::from_json`] is the only way to make a `Config`, and it
//! validates everything before returning, so a `Config` in hand is always
//! usable: every compartment named exists, no two instances can be confused
//! with each other, every distribution level and UUID is well formed. Rule
//! lists are stored already lower-cased, so the engine compares without
//! regard to case without allocating (misp-guard's pentest findings 004/005
//! were case bypasses).
//!
//! Errors name the key path and what was expected, e.g.
//! `instances.instance_1_1.port: expected an integer 1..65535, got "443a"`.

mod json;
pub mod limits;
mod parse;
mod warden;

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::net::canonical_ip;

pub use json::ConfigError;
pub use limits::Limits;

#[derive(Debug, Clone)]
pub struct Config {
    /// Instances in the order the file lists them.
    pub instances: Vec<Instance>,
    /// `compartments_rules.can_reach`: compartment → compartments it may reach.
    pub can_reach: BTreeMap<String, Vec<String>>,
    pub allowlist: Allowlist,
    /// misp-guard 1.3 `feeds`: MISP feeds instances may fetch, judged by
    /// the feed's own rules.
    pub feeds: Vec<Feed>,
    pub warden: Warden,
    /// Keys of misp-guard's format that misp-warden reads but does not act
    /// on, with what that means; `check` prints them.
    pub notices: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Instance {
    /// The key under `instances`, e.g. `instance_1_1`.
    pub id: String,
    pub ip: IpAddr,
    /// Lower-cased host name; matched against SNI and the Host header.
    pub host: String,
    pub port: u16,
    pub compartment_id: String,
    pub affiliation: String,
    pub rules: Rules,
    /// misp-guard's `allow_sync_auth_key_refresh`: lets the sync user renew
    /// its own key at this (destination) instance.
    pub allow_sync_auth_key_refresh: bool,
    pub tls: InstanceTls,
}

/// The block rules of one instance; they apply to data that instance owns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// Lower-cased taxonomy namespaces, e.g. `tlp`.
    pub required_taxonomies: Vec<String>,
    /// Lower-cased namespace → lower-cased tags allowed for it.
    pub allowed_tags: BTreeMap<String, Vec<String>>,
    pub blocked_tags: HashSet<String>,
    /// Indexed by level 0..=5.
    pub blocked_distribution_levels: [bool; 6],
    pub blocked_sharing_groups_uuids: HashSet<String>,
    pub blocked_attribute_types: HashSet<String>,
    pub blocked_attribute_categories: HashSet<String>,
    pub blocked_object_types: HashSet<String>,
    /// Template UUIDs of the blocked object types MISP knows, derived from
    /// `blocked_object_types`: MISP identifies templates by UUID, not name.
    pub blocked_object_templates: HashSet<String>,
}

impl Config {
    /// Whether a verdict given under `self` could differ under `other`:
    /// some instance's rules (or the set of instances) changed.
    pub fn same_rules(&self, other: &Config) -> bool {
        self.instances.len() == other.instances.len()
            && self
                .instances
                .iter()
                .zip(&other.instances)
                .all(|(a, b)| a.id == b.id && a.rules == b.rules)
    }
}

impl Rules {
    /// No rule at all: nothing this owner shares could be refused.
    pub fn is_empty(&self) -> bool {
        !self.tags_matter()
            && !self.blocked_distribution_levels.contains(&true)
            && self.blocked_sharing_groups_uuids.is_empty()
            && self.blocked_attribute_types.is_empty()
            && self.blocked_attribute_categories.is_empty()
            && self.blocked_object_types.is_empty()
    }

    /// Whether a verdict can depend on tags: an element shown without its
    /// tags cannot be judged by these rules.
    pub fn tags_matter(&self) -> bool {
        !self.blocked_tags.is_empty() || !self.required_taxonomies.is_empty()
    }
}

#[derive(Debug, Clone, Default)]
pub struct InstanceTls {
    /// Verify the upstream certificate. Off only per instance, never globally.
    pub verify: bool,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub server_cert: Option<PathBuf>,
    pub server_key: Option<PathBuf>,
}

/// A MISP feed (misp-guard 1.3): a directory of `manifest.json`, one
/// `<uuid>.json` per event with its `<uuid>.asc` signature, and optionally
/// `hashes.csv`.
#[derive(Debug, Clone)]
pub struct Feed {
    /// The key under `feeds`, e.g. `feed_1`.
    pub id: String,
    /// As written in the file, for messages.
    pub url: String,
    /// Lower-cased host name of the feed URL.
    pub host: String,
    pub port: u16,
    /// The feed directory's path, without a trailing `/` (empty for `/`).
    pub path: String,
    /// Whether `hashes.csv` (the feed's cache, which no rule can inspect)
    /// may be fetched.
    pub allow_caching: bool,
    /// The rules the feed's events are judged by.
    pub rules: Rules,
}

#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    pub urls: Vec<AllowedUrl>,
    /// Lower-cased host names.
    pub domains: Vec<String>,
}

/// One `allowlist.urls` entry, split so a request can be compared with it
/// without string games: host and port decide, then the exact target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedUrl {
    /// As written in the file, for messages.
    pub text: String,
    pub host: String,
    pub port: u16,
    /// Path and query exactly as written (`/` when the URL has no path).
    pub target: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    /// Decide and log, but block nothing.
    Monitor,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Monitor => "monitor",
        }
    }
}

/// The `warden` section: daemon settings. Every field has a default.
#[derive(Debug, Clone)]
pub struct Warden {
    pub listen: Vec<SocketAddr>,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub upstream_ca: Option<PathBuf>,
    pub user: String,
    pub group: String,
    pub max_body_bytes: u64,
    pub mode: Mode,
    /// Prometheus text at `/metrics`, `/healthz`, `/readyz`.
    pub metrics_listen: Option<SocketAddr>,
    /// An explicit HTTP CONNECT proxy, for sites whose MISP already has
    /// `Proxy.host`/`Proxy.port` set (misp-guard's way): same rules.
    pub proxy_listen: Option<SocketAddr>,
    pub log_format: LogFormat,
    pub limits: Limits,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Readable lines (`key=value` fields), for a terminal or journald.
    Text,
    /// One JSON object per line, for a log pipeline.
    Json,
}

impl Default for Warden {
    fn default() -> Self {
        Warden {
            listen: vec![
                "0.0.0.0:8888".parse().expect("literal"),
                "[::]:8888".parse().expect("literal"),
            ],
            ca_cert: "/var/lib/misp-warden/ca.pem".into(),
            ca_key: "/var/lib/misp-warden/ca.key".into(),
            upstream_ca: None,
            user: "misp-warden".into(),
            group: "misp-warden".into(),
            max_body_bytes: 256 * 1024 * 1024,
            mode: Mode::Enforce,
            metrics_listen: None,
            proxy_listen: None,
            log_format: LogFormat::Text,
            limits: Limits::default(),
        }
    }
}

impl Config {
    /// Parses and validates a whole config file.
    pub fn from_json(text: &str) -> Result<Config, ConfigError> {
        parse::parse(text)
    }

    /// Reads and validates a config file. The error is one line naming the
    /// file once: `FILE: missing (no such file)`, `FILE: cannot read: …`,
    /// or `invalid config FILE: KEY: what was expected`.
    pub fn load(path: &std::path::Path) -> Result<Config, LoadError> {
        let text = read_text(path)?;
        Self::from_json(&text).map_err(|source| LoadError::Invalid {
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn instance(&self, id: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.id == id)
    }

    /// Every instance at this IP (more than one when instances share a host
    /// on different ports).
    pub fn instances_at(&self, ip: IpAddr) -> impl Iterator<Item = &Instance> {
        let ip = canonical_ip(ip);
        self.instances.iter().filter(move |i| i.ip == ip)
    }

    pub fn instance_by_host(&self, host: &str) -> Option<&Instance> {
        self.instances
            .iter()
            .find(|i| i.host.eq_ignore_ascii_case(host))
    }

    pub fn domain_allowed(&self, host: &str) -> bool {
        self.allowlist
            .domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(host))
    }

    /// Whether some `allowlist.urls` entry is on this host and port.
    pub fn has_urls_for(&self, host: &str, port: u16) -> bool {
        self.allowlist
            .urls
            .iter()
            .any(|u| u.port == port && u.host.eq_ignore_ascii_case(host))
    }

    /// Whether `target` (path and query as sent) on this host and port is
    /// exactly an `allowlist.urls` entry.
    pub fn url_allowed(&self, host: &str, port: u16, target: &str) -> bool {
        self.allowlist
            .urls
            .iter()
            .any(|u| u.port == port && u.host.eq_ignore_ascii_case(host) && u.target == target)
    }

    /// The feed served at this host and port, if any.
    pub fn feed_at(&self, host: &str, port: u16) -> Option<&Feed> {
        self.feeds
            .iter()
            .find(|f| f.port == port && f.host.eq_ignore_ascii_case(host))
    }

    /// The compartments instances of `compartment` may reach.
    pub fn reachable(&self, compartment: &str) -> &[String] {
        self.can_reach
            .get(compartment)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Why a config file could not be used; each names the file once.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not there: "missing", not "invalid".
    #[error("{}: missing (no such file)", .0.display())]
    Missing(PathBuf),
    #[error("{}: is a directory, not a config file", .0.display())]
    Directory(PathBuf),
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not UTF-8 text", .0.display())]
    NotText(PathBuf),
    /// Read, but not a config `run` would run with: the key and what was
    /// expected.
    #[error("invalid config {}: {source}", path.display())]
    Invalid { path: PathBuf, source: ConfigError },
}

/// A config file's text.
pub fn read_text(path: &std::path::Path) -> Result<String, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::Missing(path.to_path_buf()),
        std::io::ErrorKind::IsADirectory => LoadError::Directory(path.to_path_buf()),
        _ => LoadError::Read {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    String::from_utf8(bytes).map_err(|_| LoadError::NotText(path.to_path_buf()))
}
