//! The head judge: everything decided before a body is read — who is
//! talking, where to, over what, and which endpoint — from the connection
//! and the request head alone.
//!
//! The daemon and `misp-warden eval` both call [`judge_head`] with the same
//! two inputs: a [`Connection`] (what the socket and the TLS handshake
//! said) and the request's [`http::request::Parts`] (method, target,
//! header fields). Nothing here looks at a socket; the daemon fills the
//! `Connection` from one, `eval` from its command line.
//!
//! Order of checks: framing first (a request whose length is ambiguous is
//! refused whoever sent it), then the source, the names (SNI and `Host`
//! must agree), the route (instances, compartments, allowlist, feeds), the
//! transport (plaintext only to instances), and last the target, the
//! method and the endpoint table.

use super::{Block, Destination, RequestKind, Route, Rule, printable};
use crate::config::{Config, Instance};
use http::Version;
use http::header::{self, HeaderMap};
use std::net::IpAddr;

/// The source of an exchange: a client's address (the daemon), or an
/// instance id given by hand (`eval --from ID`).
#[derive(Debug, Clone, Copy)]
pub enum SourceSpec<'a> {
    Instance(&'a str),
    Ip(IpAddr),
}

/// What is known of a connection before its first request.
#[derive(Debug, Clone, Copy)]
pub struct Connection<'a> {
    /// Who is talking: the client's address (the daemon), or an instance
    /// named by hand (`eval --from ID`).
    pub source: SourceSpec<'a>,
    /// The original destination address. The daemon always knows it;
    /// `eval --to NAME` does not, and is then routed by name alone.
    pub destination_ip: Option<IpAddr>,
    pub port: u16,
    /// Whether the client spoke TLS (the upstream leg speaks what it spoke).
    pub tls: bool,
    /// The TLS server name the client sent, lower-cased.
    pub sni: Option<&'a str>,
}

/// Facts about a request's framing that the parsed head no longer shows.
/// hyper keeps `Transfer-Encoding` and silently drops a `Content-Length`
/// beside it; the daemon's framing watch (`proxy::framing`) saw the raw
/// head and says so here. (`eval` passes its header fields as they are, so
/// it needs none of this.)
#[derive(Debug, Clone, Copy, Default)]
pub struct Framing {
    /// The raw head carried both `Content-Length` and `Transfer-Encoding`.
    pub length_and_chunked: bool,
    /// A chunked request whose raw head the watch could not see: whether
    /// it also had a `Content-Length` is unknown.
    pub unverified: bool,
}

/// A request the head judge let through: what kind of exchange it is, and
/// for the log, who is talking to whom.
#[derive(Debug, Clone)]
pub struct Admitted<'c> {
    pub kind: RequestKind<'c>,
    pub source: &'c Instance,
    /// The destination instance's id, else the name (or address) dialled.
    pub destination: String,
}

/// Judges a request head. See the module docs for the order of checks.
pub fn judge_head<'c>(
    config: &'c Config,
    conn: &Connection,
    request: &http::request::Parts,
    framing: Framing,
) -> Result<Admitted<'c>, Block> {
    refuse_ambiguous_framing(&request.headers, framing)?;
    let source = source(config, conn.source)?;
    let host = host_name(request)?;
    let name = match (conn.sni, host.as_deref()) {
        (Some(sni), Some(host)) if !sni.eq_ignore_ascii_case(host) => {
            return Err(Block::new(
                Rule::NameMismatch,
                format!(
                    "the Host header names {} but the TLS server name is {}",
                    printable(host),
                    printable(sni)
                ),
            ));
        }
        (Some(sni), _) => Some(sni),
        (None, host) => host,
    };
    let shown_destination = || {
        name.map(printable)
            .unwrap_or_else(|| match conn.destination_ip {
                Some(ip) => std::net::SocketAddr::new(ip, conn.port).to_string(),
                None => "(none)".into(),
            })
    };
    let destination = Destination {
        ip: conn.destination_ip,
        name,
        port: conn.port,
    };
    let route = super::route(config, source, &destination)?;
    if !conn.tls && !matches!(route, Route::Sync { .. }) {
        // Without TLS nothing binds the name to the address dialled: a
        // Host header naming an allowlisted domain would open a path to any
        // address. Only instances (known by address) may be plaintext.
        return Err(Block::new(
            Rule::UnknownDestination,
            format!(
                "{}: a destination that is no instance is reachable only over TLS, whose certificate proves the name",
                shown_destination()
            ),
        ));
    }
    let target = request_target(request)?;
    refuse_method_override(&request.headers)?;
    refuse_connection_options(&request.headers)?;
    let kind = route.check_request_head(config, request.method.as_str(), target)?;
    let destination = match &kind {
        RequestKind::Sync { destination, .. } => destination.id.clone(),
        _ => shown_destination(),
    };
    Ok(Admitted {
        kind,
        source,
        destination,
    })
}

fn source<'c>(config: &'c Config, spec: SourceSpec) -> Result<&'c Instance, Block> {
    match spec {
        SourceSpec::Ip(ip) => super::source_instance(config, ip),
        SourceSpec::Instance(id) => config.instance(id).ok_or_else(|| {
            Block::new(
                Rule::UnknownSource,
                format!("source instance {} is not configured", printable(id)),
            )
        }),
    }
}

/// A length given two ways: which one would the receiver believe? (RFC
/// 9112 §6.3: such a request "ought to be handled as an error"; the
/// connection is closed after the answer.) Two different lengths are
/// refused by hyper before a request exists.
fn refuse_ambiguous_framing(headers: &HeaderMap, framing: Framing) -> Result<(), Block> {
    let both = headers.contains_key(header::CONTENT_LENGTH)
        && headers.contains_key(header::TRANSFER_ENCODING);
    if both || framing.length_and_chunked {
        return Err(Block::new(
            Rule::AmbiguousFraming,
            "the request has both Content-Length and Transfer-Encoding; its length is ambiguous",
        ));
    }
    if framing.unverified {
        return Err(Block::new(
            Rule::AmbiguousFraming,
            "a chunked request whose head could not be checked for a second length",
        ));
    }
    Ok(())
}

/// The host name the request names: `:authority` (HTTP/2) or the single
/// `Host` header (HTTP/1.1), without a port, lower-cased.
pub fn host_name(parts: &http::request::Parts) -> Result<Option<String>, Block> {
    let raw = if parts.version == Version::HTTP_2 {
        parts.uri.authority().map(|a| a.host().to_string())
    } else {
        match single(&parts.headers, "Host")? {
            None => None,
            Some(v) => {
                let authority: http::uri::Authority = v.parse().map_err(|_| {
                    Block::new(Rule::MalformedHead, "Host header is not a host name")
                })?;
                Some(authority.host().to_string())
            }
        }
    };
    Ok(raw.map(|h| {
        h.trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase()
    }))
}

/// The value of a field that must appear at most once; two are refused
/// (which one would the receiver believe?), and so is one that is not ASCII.
pub fn single<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, Block> {
    let mut all = headers.get_all(name).iter();
    match (all.next(), all.next()) {
        (Some(_), Some(_)) => Err(Block::new(
            Rule::MalformedHead,
            format!("more than one {name} header"),
        )),
        (Some(v), None) => v
            .to_str()
            .map(Some)
            .map_err(|_| Block::new(Rule::MalformedHead, format!("{name} header is not ASCII"))),
        (None, _) => Ok(None),
    }
}

/// The request target as sent, in origin form. An absolute-form target
/// (`POST https://host/path`) names its destination in a second place; it
/// is refused rather than reconciled.
pub fn request_target(parts: &http::request::Parts) -> Result<&str, Block> {
    if parts.version != Version::HTTP_2
        && (parts.uri.scheme().is_some() || parts.uri.authority().is_some())
    {
        return Err(Block::new(
            Rule::Endpoint,
            "request target in absolute or authority form; only origin-form paths are accepted",
        ));
    }
    Ok(parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/"))
}

/// CakePHP lets a header override the method; the endpoint table judged
/// the method on the request line, so such headers are refused.
fn refuse_method_override(headers: &HeaderMap) -> Result<(), Block> {
    for name in [
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
    ] {
        if headers.contains_key(name) {
            return Err(Block::new(
                Rule::Endpoint,
                format!("method override header {name} is not accepted"),
            ));
        }
    }
    Ok(())
}

/// A `Connection` header may list only `close` or `keep-alive`. Any other
/// field it names would be dropped on the way on (hop by hop) — and the
/// guard must not judge a message with `Content-Encoding` or `Content-Type`
/// that the receiver never sees.
fn refuse_connection_options(headers: &HeaderMap) -> Result<(), Block> {
    for value in headers.get_all(header::CONNECTION) {
        let listed = value
            .to_str()
            .map_err(|_| Block::new(Rule::MalformedHead, "Connection header is not ASCII"))?;
        for token in listed
            .split(',')
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
        {
            if !token.eq_ignore_ascii_case("close") && !token.eq_ignore_ascii_case("keep-alive") {
                return Err(Block::new(
                    Rule::MalformedHead,
                    format!(
                        "the Connection header lists {}: only close and keep-alive are accepted",
                        printable(token)
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;

    fn parts(request: Request<()>) -> http::request::Parts {
        request.into_parts().0
    }

    #[test]
    fn two_host_headers_and_absolute_targets_are_refused() {
        let p = parts(
            Request::builder()
                .uri("/x")
                .header("host", "a.example")
                .header("host", "b.example")
                .body(())
                .unwrap(),
        );
        assert_eq!(host_name(&p).unwrap_err().rule, Rule::MalformedHead);
        let p = parts(
            Request::builder()
                .uri("https://a.example/x")
                .body(())
                .unwrap(),
        );
        assert_eq!(request_target(&p).unwrap_err().rule, Rule::Endpoint);
    }

    #[test]
    fn http2_names_the_host_in_its_authority() {
        let p = parts(
            Request::builder()
                .version(Version::HTTP_2)
                .uri("https://misp.partner.example/events/add")
                .header("host", "elsewhere.example")
                .body(())
                .unwrap(),
        );
        assert_eq!(
            host_name(&p).unwrap().as_deref(),
            Some("misp.partner.example")
        );
        assert_eq!(request_target(&p).unwrap(), "/events/add");
    }

    #[test]
    fn a_length_given_two_ways_is_ambiguous_and_one_way_is_not() {
        let mut both = HeaderMap::new();
        both.insert(header::CONTENT_LENGTH, "5".parse().unwrap());
        both.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        let b = refuse_ambiguous_framing(&both, Framing::default()).unwrap_err();
        assert_eq!(b.rule, Rule::AmbiguousFraming);
        // What hyper leaves of the same head: the watch's fact decides.
        both.remove(header::CONTENT_LENGTH);
        assert!(refuse_ambiguous_framing(&both, Framing::default()).is_ok());
        let seen = Framing {
            length_and_chunked: true,
            unverified: false,
        };
        assert_eq!(
            refuse_ambiguous_framing(&both, seen).unwrap_err().rule,
            Rule::AmbiguousFraming
        );
    }

    #[test]
    fn connection_may_list_only_close_and_keep_alive() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "keep-alive, Close".parse().unwrap());
        assert!(refuse_connection_options(&h).is_ok());
        h.insert(
            header::CONNECTION,
            "close, content-encoding".parse().unwrap(),
        );
        assert_eq!(
            refuse_connection_options(&h).unwrap_err().rule,
            Rule::MalformedHead
        );
    }
}
