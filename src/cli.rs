//! The subcommands behind `src/main.rs`. Each prints what a person needs
//! and returns the documented exit code; none panics on bad input.

use crate::body;
use crate::config::Config;
use crate::policy::{self, Block, Case, Destination, ResponseContext, Rule, SourceSpec};
use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;

/// `eval` exit codes (CONTRACT.md).
pub const EVAL_ALLOW: u8 = 0;
pub const EVAL_USAGE: u8 = 2;
pub const EVAL_BLOCK: u8 = 3;

/// `misp-warden check --config FILE`: 0 when valid, 1 otherwise.
pub fn check(path: &Path) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("misp-warden: {e}");
            return ExitCode::from(1);
        }
    };
    // Everything `run` would refuse for this config: the account, the
    // files it names and their permissions, the CA.
    let ready = match crate::preflight::check(path, &config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("misp-warden: {}: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    print!("{}", summary(&config));
    print!("{ready}");
    ExitCode::SUCCESS
}

/// The short description `check` prints.
pub fn summary(c: &Config) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "config OK: {} instance(s), {} compartment(s), {} feed(s), {} allowlisted URL(s), {} allowlisted domain(s), mode {}",
        c.instances.len(),
        c.can_reach.len(),
        c.feeds.len(),
        c.allowlist.urls.len(),
        c.allowlist.domains.len(),
        c.warden.mode.as_str(),
    );
    for (comp, reach) in &c.can_reach {
        let _ = writeln!(out, "  compartment {comp} can reach: {}", reach.join(", "));
    }
    for i in &c.instances {
        let r = &i.rules;
        let levels: Vec<String> = (0..6)
            .filter(|l| r.blocked_distribution_levels[*l])
            .map(|l| l.to_string())
            .collect();
        let _ = writeln!(
            out,
            "  instance {} {}:{} ({}) compartment {}: blocked tags {}, required taxonomies {}, blocked distribution [{}], blocked sharing groups {}, blocked attribute types {}, categories {}, object types {}",
            i.id,
            i.host,
            i.port,
            i.ip,
            i.compartment_id,
            r.blocked_tags.len(),
            r.required_taxonomies.len(),
            levels.join(","),
            r.blocked_sharing_groups_uuids.len(),
            r.blocked_attribute_types.len(),
            r.blocked_attribute_categories.len(),
            r.blocked_object_types.len(),
        );
    }
    for f in &c.feeds {
        let _ = writeln!(
            out,
            "  feed {} {}: cache (hashes.csv) {}",
            f.id,
            f.url,
            if f.allow_caching {
                "allowed"
            } else {
                "refused"
            }
        );
    }
    for n in &c.notices {
        let _ = writeln!(out, "  note: {n}");
    }
    out
}

/// What `eval` was asked.
pub struct EvalArgs<'a> {
    pub config: &'a Path,
    pub from: &'a str,
    pub to: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub body: Option<&'a Path>,
    pub headers: &'a [String],
    pub response: Option<&'a Path>,
    pub response_headers: &'a [String],
    /// The response's HTTP status (default 200).
    pub response_status: Option<u16>,
}

/// `misp-warden eval`: prints `allow` or `block: <reason>`.
pub fn eval(args: &EvalArgs) -> ExitCode {
    match run_eval(args) {
        Ok(Ok(())) => {
            println!("allow");
            ExitCode::from(EVAL_ALLOW)
        }
        Ok(Err(block)) => {
            println!("block: {block}");
            ExitCode::from(EVAL_BLOCK)
        }
        Err(usage) => {
            eprintln!("misp-warden: {usage}");
            ExitCode::from(EVAL_USAGE)
        }
    }
}

/// The outer `Err` is a usage or config error (exit 2); the inner result is
/// the verdict.
fn run_eval(a: &EvalArgs) -> Result<Result<(), Block>, String> {
    let config = Config::load(a.config)?;
    let headers = parse_headers(a.headers, "--header")?;
    let response_headers = parse_headers(a.response_headers, "--response-header")?;
    let read = |p: Option<&Path>, what: &str| -> Result<Vec<u8>, String> {
        match p {
            Some(p) => {
                std::fs::read(p).map_err(|e| format!("cannot read {what} {}: {e}", p.display()))
            }
            None => Ok(Vec::new()),
        }
    };
    let request_raw = read(a.body, "--body")?;
    let response_raw = match a.response {
        Some(p) => Some(read(Some(p), "--response")?),
        None => None,
    };

    let source = match a.from.parse::<IpAddr>() {
        Ok(ip) => SourceSpec::Ip(ip),
        Err(_) => {
            if config.instance(a.from).is_none() {
                return Err(format!(
                    "--from {:?} is neither an IP address nor an instance id",
                    a.from
                ));
            }
            SourceSpec::Instance(a.from)
        }
    };
    let (dest_ip, dest_name, dest_port) = resolve_to(&config, a.to)?;
    let host_header = header(&headers, "host").map(|h| strip_port(h).to_string());
    let name = match (&dest_name, &host_header) {
        (Some(n), Some(h)) if !n.eq_ignore_ascii_case(h) => {
            return Ok(Err(Block::new(
                Rule::NameMismatch,
                format!(
                    "Host header {} does not name the destination {n}",
                    policy::printable(h)
                ),
            )));
        }
        (Some(n), _) => Some(n.clone()),
        (None, h) => h.clone(),
    };

    let limit = config.warden.max_body_bytes;
    let decoded = |raw: &[u8], hdrs: &[(String, String)]| -> Result<Vec<u8>, Block> {
        if raw.len() as u64 > limit {
            return Err(Block::new(
                Rule::BodyTooLarge,
                format!("body is larger than max_body_bytes ({limit})"),
            ));
        }
        let codings = body::parse_codings(
            hdrs.iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-encoding"))
                .map(|(_, v)| v.as_str()),
        )?;
        Ok(body::decode(raw, &codings, limit)?.into_vec())
    };
    let request_body = match decoded(&request_raw, &headers) {
        Ok(b) => b,
        Err(block) => return Ok(Err(block)),
    };
    let response_body = match &response_raw {
        Some(raw) => match decoded(raw, &response_headers) {
            Ok(b) => Some(b),
            Err(block) => return Ok(Err(block)),
        },
        None => None,
    };
    let user_org = header(&response_headers, "x-userorguuid");
    let case = Case {
        source,
        destination: Destination {
            ip: dest_ip,
            name: name.as_deref(),
            port: dest_port,
        },
        method: a.method,
        target: a.path,
        request_body: &request_body,
        // What MISP's sync client always sends; a --header overrides it.
        request_content_type: Some(header(&headers, "content-type").unwrap_or("application/json")),
        response: response_body.as_deref().map(|b| {
            (
                b,
                ResponseContext {
                    user_org_uuid: user_org,
                    status: a.response_status,
                },
            )
        }),
    };
    Ok(policy::evaluate(&config, &case))
}

/// `--to`: an instance id, or a host name or IP with an optional `:PORT`
/// (default: the port of the instance, feed or allowlisted URL it names,
/// else 443).
fn resolve_to(config: &Config, to: &str) -> Result<(Option<IpAddr>, Option<String>, u16), String> {
    if let Some(i) = config.instance(to) {
        return Ok((Some(i.ip), Some(i.host.clone()), i.port));
    }
    let (host, port) = split_host_port(to)
        .ok_or_else(|| format!("--to {to:?}: expected an instance id, HOST, IP or HOST:PORT"))?;
    if host.is_empty() {
        return Err(format!("--to {to:?}: empty host"));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        let default = config
            .instances_at(ip)
            .next()
            .map(|i| i.port)
            .unwrap_or(443);
        return Ok((Some(ip), None, port.unwrap_or(default)));
    }
    // The port of what the name is: an instance, a feed, an allowlisted URL.
    let default = config
        .instance_by_host(host)
        .map(|i| i.port)
        .or_else(|| {
            config
                .feeds
                .iter()
                .find(|f| f.host.eq_ignore_ascii_case(host))
                .map(|f| f.port)
        })
        .or_else(|| {
            config
                .allowlist
                .urls
                .iter()
                .find(|u| u.host.eq_ignore_ascii_case(host))
                .map(|u| u.port)
        })
        .unwrap_or(443);
    Ok((
        None,
        Some(host.to_ascii_lowercase()),
        port.unwrap_or(default),
    ))
}

/// `host`, `host:port`, `1.2.3.4:port`, `[v6]:port` or a bare IPv6 address.
fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            p => Some((host, Some(p.strip_prefix(':')?.parse().ok()?))),
        };
    }
    if s.parse::<IpAddr>().is_ok() {
        return Some((s, None));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Some((h, Some(p.parse().ok().filter(|p| *p > 0)?))),
        None => Some((s, None)),
    }
}

fn strip_port(host: &str) -> &str {
    split_host_port(host).map(|(h, _)| h).unwrap_or(host)
}

fn parse_headers(raw: &[String], flag: &str) -> Result<Vec<(String, String)>, String> {
    raw.iter()
        .map(|h| match h.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(format!("{flag} {h:?}: expected 'Name: value'")),
        })
        .collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `misp-warden ca init --dir DIR [--force]`.
pub fn ca_init(dir: &Path, force: bool) -> ExitCode {
    match crate::tls::ca::init(dir, force) {
        Ok((cert, key)) => {
            println!("wrote {} and {} (mode 0600)", cert.display(), key.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("misp-warden: {e}");
            ExitCode::from(1)
        }
    }
}

/// `misp-warden nft --config FILE --mode M [--nat]`: the ruleset on stdout,
/// or one line on stderr and exit 2.
pub fn nft(path: &Path, mode: &str, nat: bool) -> ExitCode {
    use crate::nftables::{self, Options, Topology};
    let fail = |why: String| {
        eprintln!("misp-warden: {why}");
        ExitCode::from(EVAL_USAGE)
    };
    let Some(topology) = Topology::parse(mode) else {
        return fail(format!("--mode {mode:?}: expected {}", Topology::NAMES));
    };
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    // Only same-host names the daemon's account (to exempt it); resolve it as
    // the daemon will, fallback included.
    let (daemon_uid, daemon_user) = if topology == Topology::SameHost {
        match crate::net::privilege::resolve(&config.warden.user, &config.warden.group) {
            Ok((user, _)) => (user.uid.as_raw(), user.name),
            Err(e) => return fail(e),
        }
    } else {
        (0, String::new())
    };
    let options = Options {
        topology,
        nat,
        daemon_uid,
        daemon_user: &daemon_user,
    };
    match nftables::render(&config, options) {
        Ok(ruleset) => {
            print!("{ruleset}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("{}: {e}", path.display())),
    }
}
