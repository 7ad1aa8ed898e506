//! Reading the config file: strict JSON (duplicate keys refused), then a
//! walk over the document that knows each key's path, so every error can say
//! where it is and what was expected.

use super::json::{Field, Obj, R, StrictValue, describe, valid_hostname};
use super::*;
use crate::misp::is_uuid;
use serde_json::Value;

pub(super) fn parse(text: &str) -> R<Config> {
    let doc: StrictValue = serde_json::from_str(text)
        .map_err(|e| ConfigError::new("", format!("not valid JSON: {e}")))?;
    let mut top = Obj::new("", &doc.0)?;
    let mut notices = Vec::new();

    let instances_v = top.required("instances")?;
    let can_reach = parse_compartments(top.required("compartments_rules")?)?;
    let allowlist = parse_allowlist(top.required("allowlist")?)?;
    let warden = match top.optional("warden") {
        Some(v) => super::warden::parse(v)?,
        None => Warden::default(),
    };
    if top.optional("instances_host_mapping").is_some() {
        notices.push(
            "instances_host_mapping: ignored, the mapping is derived from instances.*.ip and .host"
                .to_string(),
        );
    }
    let mut feeds = Vec::new();
    if let Some(f) = top.optional("feeds") {
        let mut feed_obj = Obj::new(&f.path, f.value)?;
        for (id, v) in feed_obj.drain() {
            let path = format!("feeds.{id}");
            feeds.push(parse_feed(&path, id, v)?);
        }
    }
    top.finish()?;

    let mut inst_obj = Obj::new("instances", instances_v.value)?;
    let mut instances = Vec::new();
    for (id, v) in inst_obj.drain() {
        let path = format!("instances.{id}");
        instances.push(parse_instance(&path, id, v)?);
    }
    if instances.is_empty() {
        return Err(ConfigError::new(
            "instances",
            "expected at least one instance",
        ));
    }

    check_compartments(&can_reach, &instances)?;
    check_instances_distinct(&instances, &mut notices)?;
    check_listeners_apart(&instances, &warden)?;
    let plaintext = allowlist
        .urls
        .iter()
        .enumerate()
        .map(|(n, u)| (format!("allowlist.urls[{n}]"), &u.text))
        .chain(
            feeds
                .iter()
                .map(|f| (format!("feeds.{}.url", f.id), &f.url)),
        );
    for (path, url) in plaintext {
        if url
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
        {
            notices.push(format!(
                "{path}: plain http:// is refused by the transparent daemon (only a certificate binds a name to the address dialled); use https://"
            ));
        }
    }
    for i in &instances {
        if !i.tls.verify {
            notices.push(format!(
                "instances.{}.tls.verify is false: the upstream certificate of this instance is not verified",
                i.id
            ));
        }
        for ns in i.rules.allowed_tags.keys() {
            if !i.rules.required_taxonomies.contains(ns) {
                notices.push(format!(
                    "instances.{}.taxonomies_rules.allowed_tags.{ns}: has no effect, {ns} is not in required_taxonomies",
                    i.id
                ));
            }
        }
    }

    Ok(Config {
        instances,
        can_reach,
        allowlist,
        feeds,
        warden,
        notices,
    })
}

fn parse_instance(path: &str, id: String, v: &Value) -> R<Instance> {
    let mut o = Obj::new(path, v)?;
    let ip = o.required("ip")?.ip()?;
    let host = o.required("host")?.hostname()?;
    let port = o.required("port")?.port()?;
    let compartment_id = o.required("compartment_id")?.nonempty_str()?.to_string();
    let affiliation = o.required("affiliation")?.str()?.to_string();

    let rules = parse_rules(&mut o)?;
    let allow_sync_auth_key_refresh = match o.optional("allow_sync_auth_key_refresh") {
        Some(f) => f.bool()?,
        None => false,
    };
    let tls = match o.optional("tls") {
        Some(f) => parse_instance_tls(f)?,
        None => InstanceTls {
            verify: true,
            ..Default::default()
        },
    };
    o.finish()?;
    Ok(Instance {
        id,
        ip,
        host,
        port,
        compartment_id,
        affiliation,
        rules,
        allow_sync_auth_key_refresh,
        tls,
    })
}

/// The block rules, as an instance (and a feed) carries them.
fn parse_rules(o: &mut Obj) -> R<Rules> {
    let tax = o.required("taxonomies_rules")?;
    let mut t = Obj::new(&tax.path, tax.value)?;
    let required_taxonomies = t.required("required_taxonomies")?.lower_list()?;
    let allowed_tags = {
        let at = t.required("allowed_tags")?;
        let mut m = Obj::new(&at.path, at.value)?;
        let mut out = BTreeMap::new();
        for (ns, list) in m.drain() {
            let field = Field {
                path: format!("{}.{ns}", at.path),
                value: list,
            };
            out.insert(ns.to_lowercase(), field.lower_list()?);
        }
        out
    };
    let blocked_tags = t
        .required("blocked_tags")?
        .lower_list()?
        .into_iter()
        .collect();
    t.finish()?;

    let dist = o.required("blocked_distribution_levels")?;
    let mut blocked_distribution_levels = [false; 6];
    for (i, item) in dist.array()?.iter().enumerate() {
        let level = distribution_level(item).ok_or_else(|| {
            ConfigError::new(
                format!("{}[{i}]", dist.path),
                format!(
                    "expected a distribution level \"0\"..\"5\", got {}",
                    describe(item)
                ),
            )
        })?;
        blocked_distribution_levels[level] = true;
    }

    let sg = o.required("blocked_sharing_groups_uuids")?;
    let mut blocked_sharing_groups_uuids = HashSet::new();
    for (i, item) in sg.array()?.iter().enumerate() {
        match item.as_str() {
            Some(s) if is_uuid(s) => {
                blocked_sharing_groups_uuids.insert(s.to_ascii_lowercase());
            }
            _ => {
                return Err(ConfigError::new(
                    format!("{}[{i}]", sg.path),
                    format!("expected a sharing group UUID, got {}", describe(item)),
                ));
            }
        }
    }

    let mut rules = Rules {
        required_taxonomies,
        allowed_tags,
        blocked_tags,
        blocked_distribution_levels,
        blocked_sharing_groups_uuids,
        blocked_attribute_types: o.required("blocked_attribute_types")?.lower_set()?,
        blocked_attribute_categories: o.required("blocked_attribute_categories")?.lower_set()?,
        blocked_object_types: o.required("blocked_object_types")?.lower_set()?,
        blocked_object_templates: HashSet::new(),
    };
    rules.blocked_object_templates = rules
        .blocked_object_types
        .iter()
        .filter_map(|name| crate::misp::object_templates::template_uuid(name))
        .map(str::to_string)
        .collect();
    Ok(rules)
}

/// A misp-guard 1.3 feed: `type` "misp", `url` (the feed's directory),
/// optional `allow_caching`, and the same rule keys as an instance.
fn parse_feed(path: &str, id: String, v: &Value) -> R<Feed> {
    let mut o = Obj::new(path, v)?;
    let kind = o.required("type")?;
    if kind.value.as_str() != Some("misp") {
        return Err(ConfigError::new(
            &kind.path,
            format!(
                "expected \"misp\" (the only feed type mediated), got {}",
                describe(kind.value)
            ),
        ));
    }
    let url_f = o.required("url")?;
    let url_text = url_f.nonempty_str()?;
    let url = parse_url(url_text).map_err(|why| ConfigError::new(&url_f.path, why))?;
    if url.target.contains('?') {
        return Err(ConfigError::new(
            &url_f.path,
            "a feed URL has no query string",
        ));
    }
    let allow_caching = match o.optional("allow_caching") {
        Some(f) => f.bool()?,
        None => false,
    };
    let rules = parse_rules(&mut o)?;
    o.finish()?;
    Ok(Feed {
        id,
        url: url.text,
        host: url.host,
        port: url.port,
        path: url.target.trim_end_matches('/').to_string(),
        allow_caching,
        rules,
    })
}

fn parse_instance_tls(f: Field) -> R<InstanceTls> {
    let mut o = Obj::new(&f.path, f.value)?;
    let verify = match o.optional("verify") {
        Some(v) => v.bool()?,
        None => true,
    };
    let mut path_of = |key: &str| -> R<Option<PathBuf>> {
        o.optional(key)
            .map(|v| v.nonempty_str().map(PathBuf::from))
            .transpose()
    };
    let tls = InstanceTls {
        verify,
        ca_file: path_of("ca_file")?,
        client_cert: path_of("client_cert")?,
        client_key: path_of("client_key")?,
        server_cert: path_of("server_cert")?,
        server_key: path_of("server_key")?,
    };
    o.finish()?;
    for (cert, key, a, b) in [
        (
            &tls.client_cert,
            &tls.client_key,
            "client_cert",
            "client_key",
        ),
        (
            &tls.server_cert,
            &tls.server_key,
            "server_cert",
            "server_key",
        ),
    ] {
        if cert.is_some() != key.is_some() {
            let (set, missing) = if cert.is_some() { (a, b) } else { (b, a) };
            return Err(ConfigError::new(
                format!("{}.{missing}", f.path),
                format!("required when {set} is set"),
            ));
        }
    }
    Ok(tls)
}

fn parse_compartments(f: Field) -> R<BTreeMap<String, Vec<String>>> {
    let mut o = Obj::new(&f.path, f.value)?;
    let cr = o.required("can_reach")?;
    o.finish()?;
    let mut m = Obj::new(&cr.path, cr.value)?;
    let mut out = BTreeMap::new();
    for (comp, list) in m.drain() {
        let field = Field {
            path: format!("{}.{comp}", cr.path),
            value: list,
        };
        out.insert(comp, field.str_list()?);
    }
    Ok(out)
}

fn check_compartments(can_reach: &BTreeMap<String, Vec<String>>, instances: &[Instance]) -> R<()> {
    for (comp, targets) in can_reach {
        for (i, t) in targets.iter().enumerate() {
            if !can_reach.contains_key(t) {
                return Err(ConfigError::new(
                    format!("compartments_rules.can_reach.{comp}[{i}]"),
                    format!(
                        "compartment {t:?} is not defined (it has no entry in compartments_rules.can_reach)"
                    ),
                ));
            }
        }
    }
    for inst in instances {
        if !can_reach.contains_key(&inst.compartment_id) {
            return Err(ConfigError::new(
                format!("instances.{}.compartment_id", inst.id),
                format!(
                    "compartment {:?} is not defined (it has no entry in compartments_rules.can_reach)",
                    inst.compartment_id
                ),
            ));
        }
    }
    Ok(())
}

fn check_instances_distinct(instances: &[Instance], notices: &mut Vec<String>) -> R<()> {
    for (n, a) in instances.iter().enumerate() {
        for b in &instances[..n] {
            if a.ip == b.ip && a.port == b.port {
                return Err(ConfigError::new(
                    format!("instances.{}.ip", a.id),
                    format!(
                        "{}:{} is also instance {}; two instances cannot share an address and port",
                        a.ip, a.port, b.id
                    ),
                ));
            }
            if a.host == b.host {
                return Err(ConfigError::new(
                    format!("instances.{}.host", a.id),
                    format!("{:?} is also the host of instance {}", a.host, b.id),
                ));
            }
            if a.ip == b.ip {
                notices.push(format!(
                    "instances {} and {} share the IP {}: as a source, that IP cannot tell them apart and is refused",
                    b.id, a.id, a.ip
                ));
            }
        }
    }
    Ok(())
}

/// A sync port that is also a listener port cannot be told apart from a
/// connection dialled straight to the guard, which is refused: the instance
/// could never be reached.
fn check_listeners_apart(instances: &[Instance], warden: &Warden) -> R<()> {
    for i in instances {
        if let Some((n, l)) = warden
            .listen
            .iter()
            .enumerate()
            .find(|(_, l)| l.port() == i.port)
        {
            return Err(ConfigError::new(
                format!("warden.listen[{n}]"),
                format!(
                    "port {} is also the sync port of instance {}; the listener needs a port of its own",
                    l.port(),
                    i.id
                ),
            ));
        }
    }
    Ok(())
}

fn parse_allowlist(f: Field) -> R<Allowlist> {
    let mut o = Obj::new(&f.path, f.value)?;
    let urls_f = o.required("urls")?;
    let mut urls = Vec::new();
    for (i, item) in urls_f.array()?.iter().enumerate() {
        let path = format!("{}[{i}]", urls_f.path);
        let text = item.as_str().ok_or_else(|| {
            ConfigError::new(
                &path,
                format!("expected a URL string, got {}", describe(item)),
            )
        })?;
        urls.push(parse_url(text).map_err(|why| ConfigError::new(&path, why))?);
    }
    let domains_f = o.required("domains")?;
    let mut domains = Vec::new();
    for (i, item) in domains_f.array()?.iter().enumerate() {
        let field = Field {
            path: format!("{}[{i}]", domains_f.path),
            value: item,
        };
        domains.push(field.hostname()?);
    }
    o.finish()?;
    Ok(Allowlist { urls, domains })
}

/// `http[s]://host[:port][/path][?query]`, nothing else.
fn parse_url(text: &str) -> Result<AllowedUrl, String> {
    let bad = |why: &str| {
        Err(format!(
            "expected an http:// or https:// URL ({why}), got {text:?}"
        ))
    };
    let (rest, default_port) = if let Some(r) = text.strip_prefix("https://") {
        (r, 443)
    } else if let Some(r) = text.strip_prefix("http://") {
        (r, 80)
    } else {
        return bad("scheme");
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(split);
    if authority.contains('@') {
        return bad("user info is not allowed");
    }
    // `[v6]` or `[v6]:port`, else `host` or `host:port`.
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, p)) => match p.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return bad("host"),
            },
            None => return bad("host"),
        },
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    let port = match port.map(str::parse::<u16>) {
        None => default_port,
        Some(Ok(p)) if p > 0 => p,
        Some(_) => return bad("port"),
    };
    if host.is_empty() || !(valid_hostname(host) || host.parse::<IpAddr>().is_ok()) {
        return bad("host");
    }
    let target = match target {
        "" => "/".to_string(),
        t if t.starts_with('?') => format!("/{t}"),
        t => t.to_string(),
    };
    if target.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return bad("path");
    }
    Ok(AllowedUrl {
        text: text.to_string(),
        host: host.to_ascii_lowercase(),
        port,
        target,
    })
}

fn distribution_level(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => match s.as_bytes() {
            [d @ b'0'..=b'5'] => Some((d - b'0') as usize),
            _ => None,
        },
        Value::Number(n) => n.as_u64().filter(|n| *n <= 5).map(|n| n as usize),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
