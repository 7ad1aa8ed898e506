//! The subcommands behind `src/main.rs`. Each prints what a person needs
//! and returns the documented exit code; none panics on bad input.

use crate::config::Config;
use crate::policy::{self, Block, Case, Connection, EventVerdicts, Flow, Framing, SourceSpec};
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
    /// Plaintext HTTP: no TLS, so no server name either.
    pub plaintext: bool,
    /// Events the daemon would remember letting through (`--seen-event`).
    pub seen_events: &'a [String],
}

/// The judge's answer to `eval`.
enum Verdict {
    Allow,
    Block(Block),
}

/// `misp-warden eval`: prints `allow` or `block: <reason>`.
pub fn eval(args: &EvalArgs) -> ExitCode {
    match run_eval(args) {
        Ok(Verdict::Allow) => {
            println!("allow");
            ExitCode::from(EVAL_ALLOW)
        }
        Ok(Verdict::Block(block)) => {
            println!("block: {block}");
            ExitCode::from(EVAL_BLOCK)
        }
        Err(usage) => {
            eprintln!("misp-warden: {usage}");
            ExitCode::from(EVAL_USAGE)
        }
    }
}

/// The verdict, or a usage or config error (exit 2). The exchange is built
/// as the daemon would see it — a connection (source, destination, TLS
/// with the name as SNI unless `--plaintext`), a request head, the raw body
/// — and judged by the same function the daemon calls,
/// [`policy::evaluate`].
fn run_eval(a: &EvalArgs) -> Result<Verdict, String> {
    let config = Config::load(a.config).map_err(|e| e.to_string())?;
    let read = |p: &Path, what: &str| -> Result<Vec<u8>, String> {
        std::fs::read(p).map_err(|e| format!("cannot read {what} {}: {e}", p.display()))
    };
    let request_body = match a.body {
        Some(p) => read(p, "--body")?,
        None => Vec::new(),
    };
    let response_body = match a.response {
        Some(p) => Some(read(p, "--response")?),
        None => None,
    };
    let (dest_ip, dest_name, dest_port) = resolve_to(&config, a.to)?;
    let tls = !a.plaintext;
    let connection = Connection {
        source: eval_source(&config, a.from)?,
        destination_ip: dest_ip,
        port: dest_port,
        tls,
        // A client dialling a name says it in the ClientHello.
        sni: dest_name.as_deref().filter(|_| tls),
    };
    let request = eval_request_head(a, dest_name.as_deref())?;
    let response = match &response_body {
        Some(_) => Some(eval_response_head(a)?),
        None => None,
    };
    let memory = seen_events(&config, a, response.is_some())?;
    let case = Case {
        connection,
        request: &request,
        framing: Framing::default(),
        request_body: &request_body,
        response: response.as_ref().zip(response_body.as_deref()),
    };
    Ok(match policy::evaluate(&config, &case, &memory) {
        Ok(()) => Verdict::Allow,
        Err(block) => Verdict::Block(block),
    })
}

/// `--from`: an IP address, or an instance id standing for its address.
fn eval_source<'a>(config: &Config, from: &'a str) -> Result<SourceSpec<'a>, String> {
    match from.parse::<IpAddr>() {
        Ok(ip) => Ok(SourceSpec::Ip(ip)),
        Err(_) if config.instance(from).is_some() => Ok(SourceSpec::Instance(from)),
        Err(_) => Err(format!(
            "--from {from:?} is neither an IP address nor an instance id"
        )),
    }
}

/// The request head, with what a MISP client always sends unless given:
/// `Host` (the name dialled) and `Content-Type: application/json`.
fn eval_request_head(
    a: &EvalArgs,
    dest_name: Option<&str>,
) -> Result<http::request::Parts, String> {
    let headers = parse_headers(a.headers, "--header")?;
    let mut request = http::Request::builder()
        .method(a.method)
        .uri(a.path)
        .body(())
        .map_err(|e| format!("--method/--path: not a request line: {e}"))?
        .into_parts()
        .0;
    append_headers(&mut request.headers, &headers, "--header")?;
    if let Some(name) = dest_name
        && !request.headers.contains_key(http::header::HOST)
    {
        let value = http::HeaderValue::from_str(name).map_err(|e| format!("--to: {e}"))?;
        request.headers.insert(http::header::HOST, value);
    }
    if !request.headers.contains_key(http::header::CONTENT_TYPE) {
        request.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
    }
    Ok(request)
}

/// The response head of `--response-status` and `--response-header`.
fn eval_response_head(a: &EvalArgs) -> Result<http::response::Parts, String> {
    let headers = parse_headers(a.response_headers, "--response-header")?;
    let status = a.response_status.unwrap_or(200);
    let mut parts = http::Response::builder()
        .status(status)
        .body(())
        .map_err(|e| format!("--response-status {status}: {e}"))?
        .into_parts()
        .0;
    append_headers(&mut parts.headers, &headers, "--response-header")?;
    Ok(parts)
}

/// The daemon's memory of events let through, as `--seen-event` fills it:
/// synced from `--from` to `--to` for a request, the other way for an
/// answer (the event's owner is the side that answers).
fn seen_events(config: &Config, a: &EvalArgs, answer: bool) -> Result<EventVerdicts, String> {
    let memory = EventVerdicts::default();
    let (owner, recipient) = if answer {
        (a.to, a.from)
    } else {
        (a.from, a.to)
    };
    for uuid in a.seen_events {
        let flow = seen_flow(config, owner, recipient)?;
        memory.remember(
            Flow {
                owner: &flow.0,
                recipient: &flow.1,
            },
            uuid,
            true,
        );
    }
    Ok(memory)
}

/// The instance ids of `--from` and `--to`, for `--seen-event`: who owned
/// the event and who received it.
fn seen_flow(config: &Config, owner: &str, recipient: &str) -> Result<(String, String), String> {
    let id = |spec: &str| -> Result<String, String> {
        if let Some(i) = config.instance(spec) {
            return Ok(i.id.clone());
        }
        let host = split_host_port(spec).map_or(spec, |(h, _)| h);
        let found = match host.parse::<IpAddr>() {
            Ok(ip) => config.instances_at(ip).next(),
            Err(_) => config.instance_by_host(host),
        };
        found.map(|i| i.id.clone()).ok_or_else(|| {
            format!("--seen-event: {spec:?} is no instance, so it cannot have synced an event")
        })
    };
    Ok((id(owner)?, id(recipient)?))
}

fn append_headers(
    map: &mut http::HeaderMap,
    headers: &[(String, String)],
    flag: &str,
) -> Result<(), String> {
    for (k, v) in headers {
        let name =
            http::HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("{flag} {k:?}: {e}"))?;
        let value = http::HeaderValue::from_str(v).map_err(|e| format!("{flag} {k:?}: {e}"))?;
        map.append(name, value);
    }
    Ok(())
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
        Err(e) => return fail(e.to_string()),
    };
    // Only same-host names the daemon's account (to exempt it); resolve it as
    // the daemon will, fallback included.
    let (daemon_uid, daemon_user) = if topology == Topology::SameHost {
        match crate::net::privilege::resolve(&config.warden.user, &config.warden.group) {
            Ok((user, _)) => (user.uid.as_raw(), user.name),
            Err(e) => return fail(e.to_string()),
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
