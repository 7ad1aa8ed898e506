//! The `warden` section: the daemon's own settings, each with a default
//! (`Warden::default`), read with the same path-naming errors as the rest.

use super::json::{Field, Obj, R, describe};
use super::{ConfigError, LogFormat, Mode, Warden};

pub(super) fn parse(f: Field) -> R<Warden> {
    let mut o = Obj::new(&f.path, f.value)?;
    let mut w = Warden::default();
    if let Some(v) = o.optional("listen") {
        let items = v.array()?;
        if items.is_empty() {
            return Err(ConfigError::new(&v.path, "expected at least one IP:PORT"));
        }
        w.listen = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                Field {
                    path: format!("{}[{i}]", v.path),
                    value: item,
                }
                .socket_addr()
            })
            .collect::<R<_>>()?;
    }
    if let Some(v) = o.optional("ca_cert") {
        w.ca_cert = v.nonempty_str()?.into();
    }
    if let Some(v) = o.optional("ca_key") {
        w.ca_key = v.nonempty_str()?.into();
    }
    if let Some(v) = o.optional("upstream_ca") {
        w.upstream_ca = Some(v.nonempty_str()?.into());
    }
    if let Some(v) = o.optional("user") {
        w.user = v.nonempty_str()?.into();
    }
    if let Some(v) = o.optional("group") {
        w.group = v.nonempty_str()?.into();
    }
    if let Some(v) = o.optional("max_body_bytes") {
        w.max_body_bytes = positive(&v, "bytes")?;
    }
    let l = &mut w.limits;
    if let Some(v) = o.optional("max_connections") {
        l.max_connections = positive(&v, "connections")? as usize;
    }
    if let Some(v) = o.optional("max_connections_per_source") {
        l.max_connections_per_source = positive(&v, "connections")? as usize;
    }
    if let Some(v) = o.optional("max_concurrent_inspections") {
        l.max_concurrent_inspections = positive(&v, "inspections")? as usize;
    }
    let budget = o.optional("body_budget_bytes");
    if let Some(v) = &budget {
        l.body_budget_bytes = positive(v, "bytes")?;
    }
    if let Some(v) = o.optional("header_timeout_seconds") {
        l.header_timeout = std::time::Duration::from_secs(positive(&v, "seconds")?);
    }
    if let Some(v) = o.optional("body_timeout_seconds") {
        l.body_timeout = std::time::Duration::from_secs(positive(&v, "seconds")?);
    }
    if let Some(v) = o.optional("max_decompression_ratio") {
        l.max_decompression_ratio = positive(&v, "ratio")?;
    }
    if let Some(v) = o.optional("mode") {
        w.mode = match v.value.as_str() {
            Some("enforce") => Mode::Enforce,
            Some("monitor") => Mode::Monitor,
            _ => {
                return Err(ConfigError::new(
                    &v.path,
                    format!(
                        "expected \"enforce\" or \"monitor\", got {}",
                        describe(v.value)
                    ),
                ));
            }
        };
    }
    if let Some(v) = o.optional("metrics_listen") {
        w.metrics_listen = Some(v.socket_addr()?);
    }
    if let Some(v) = o.optional("proxy_listen") {
        w.proxy_listen = Some(v.socket_addr()?);
    }
    if let Some(v) = o.optional("log_format") {
        w.log_format = match v.value.as_str() {
            Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            _ => {
                return Err(ConfigError::new(
                    &v.path,
                    format!("expected \"text\" or \"json\", got {}", describe(v.value)),
                ));
            }
        };
    }
    o.finish()?;
    check_listeners_distinct(&w)?;
    if w.limits.body_budget_bytes < w.max_body_bytes {
        return Err(ConfigError::new(
            budget.map_or_else(|| "warden.body_budget_bytes".to_string(), |v| v.path),
            format!(
                "{} bytes cannot hold one body of max_body_bytes ({}); raise it or lower max_body_bytes",
                w.limits.body_budget_bytes, w.max_body_bytes
            ),
        ));
    }
    Ok(w)
}

/// Two listeners the kernel would not let both bind: the same port on the
/// same address, or on a wildcard of the family. Transparent listeners are
/// IPv6-only; the metrics and proxy listeners at `[::]` take IPv4 too.
fn check_listeners_distinct(w: &Warden) -> R<()> {
    use std::net::SocketAddr;
    let mut all: Vec<(String, SocketAddr, bool)> = w
        .listen
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("warden.listen[{i}]"), *a, false))
        .collect();
    for (key, addr) in [
        ("warden.metrics_listen", w.metrics_listen),
        ("warden.proxy_listen", w.proxy_listen),
    ] {
        if let Some(a) = addr {
            all.push((key.to_string(), a, true));
        }
    }
    let overlap = |a: &(String, SocketAddr, bool), b: &(String, SocketAddr, bool)| {
        let (x, y) = (a.1, b.1);
        if x.port() != y.port() {
            return false;
        }
        let dual =
            |l: &(String, SocketAddr, bool)| l.2 && l.1.is_ipv6() && l.1.ip().is_unspecified();
        if x.is_ipv4() != y.is_ipv4() {
            return dual(a) || dual(b);
        }
        x.ip() == y.ip() || x.ip().is_unspecified() || y.ip().is_unspecified()
    };
    for (n, a) in all.iter().enumerate() {
        if let Some(b) = all[..n].iter().find(|b| overlap(a, b)) {
            return Err(ConfigError::new(
                &a.0,
                format!(
                    "{} collides with {} ({}): two listeners cannot share a port on the same address",
                    a.1, b.0, b.1
                ),
            ));
        }
    }
    Ok(())
}

/// A positive integer (of `unit`), or an error naming the key.
fn positive(v: &Field, unit: &str) -> R<u64> {
    match v.value.as_u64() {
        Some(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::new(
            &v.path,
            format!(
                "expected a positive integer ({unit}), got {}",
                describe(v.value)
            ),
        )),
    }
}
