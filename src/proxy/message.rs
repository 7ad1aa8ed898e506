//! The HTTP messages themselves, apart from any judgement: what names a
//! request carries, and building the message that goes on — the same
//! method, target, fields and body bytes, with framing of our own. (Bodies
//! are read and decoded in [`super::bodies`].)
//!
//! Anything ambiguous (two `Host` or `Content-Type` headers, an
//! absolute-form target, a method override) is a [`Block`]: the guard and
//! the receiver must not be able to read one message two ways.

use super::reply::Body;
use crate::policy::{Block, Rule};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, Version};
use http_body_util::Full;

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
                    Block::new(Rule::MalformedBody, "Host header is not a host name")
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
            Rule::MalformedBody,
            format!("more than one {name} header"),
        )),
        (Some(v), None) => v
            .to_str()
            .map(Some)
            .map_err(|_| Block::new(Rule::MalformedBody, format!("{name} header is not ASCII"))),
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
pub fn refuse_method_override(headers: &HeaderMap) -> Result<(), Block> {
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
pub fn refuse_connection_options(headers: &HeaderMap) -> Result<(), Block> {
    for value in headers.get_all(header::CONNECTION) {
        let listed = value
            .to_str()
            .map_err(|_| Block::new(Rule::MalformedBody, "Connection header is not ASCII"))?;
        for token in listed
            .split(',')
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
        {
            if !token.eq_ignore_ascii_case("close") && !token.eq_ignore_ascii_case("keep-alive") {
                return Err(Block::new(
                    Rule::MalformedBody,
                    format!(
                        "the Connection header lists {}: only close and keep-alive are accepted",
                        crate::policy::printable(token)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Hop-by-hop fields: about one connection, not the message. Never
/// forwarded, in either direction (RFC 9110 §7.6.1), nor are the fields the
/// `Connection` header lists.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn end_to_end(headers: &HeaderMap) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
    let listed: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    headers.iter().filter(move |(name, _)| {
        let n = name.as_str();
        !HOP_BY_HOP.contains(&n) && !listed.iter().any(|l| l == n)
    })
}

/// The request as it goes upstream: same method, target, fields and body
/// bytes; HTTP/1.1 framing of our own (the body is whole, so a
/// `Content-Length`; no `Expect`, the body is already here).
pub fn upstream_request(
    parts: &http::request::Parts,
    target: &str,
    raw: Bytes,
) -> Result<Request<Body>, Block> {
    let bad = |e: http::Error| {
        Block::new(
            Rule::MalformedBody,
            format!("cannot forward the request: {e}"),
        )
    };
    let mut builder = Request::builder()
        .method(parts.method.clone())
        .uri(target)
        .version(Version::HTTP_11);
    let had_body = !raw.is_empty()
        || parts.headers.contains_key(header::CONTENT_LENGTH)
        || parts.headers.contains_key(header::TRANSFER_ENCODING);
    // HTTP/2 names the host in `:authority`, which is what was judged; a
    // `host` field beside it is dropped so exactly one name goes on.
    let authority = match parts.version {
        Version::HTTP_2 => parts.uri.authority(),
        _ => None,
    };
    if let Some(authority) = authority {
        builder = builder.header(header::HOST, authority.as_str());
    }
    for (name, value) in end_to_end(&parts.headers) {
        if name == header::CONTENT_LENGTH
            || name == header::EXPECT
            || (name == header::HOST && authority.is_some())
        {
            continue;
        }
        builder = builder.header(name, value);
    }
    if had_body {
        builder = builder.header(header::CONTENT_LENGTH, raw.len());
    }
    builder.body(Full::new(raw)).map_err(bad)
}

/// The response as it goes to the client: status, end-to-end fields and
/// the original body bytes. The length is recomputed (the framing is ours)
/// except for HEAD, whose `Content-Length` describes the body a GET would
/// get.
pub fn client_response<B>(parts: http::response::Parts, body: B, is_head: bool) -> Response<B> {
    let mut response = Response::new(body);
    *response.status_mut() = parts.status;
    let headers = response.headers_mut();
    for (name, value) in end_to_end(&parts.headers) {
        if name == header::CONTENT_LENGTH && !is_head {
            continue;
        }
        headers.append(name, value.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(request: Request<()>) -> http::request::Parts {
        request.into_parts().0
    }

    #[test]
    fn http2_forwards_one_host_the_authority_that_was_judged() {
        let p = parts(
            Request::builder()
                .version(Version::HTTP_2)
                .uri("https://misp.partner.example/events/add")
                .header("host", "elsewhere.example")
                .header("content-type", "application/json")
                .body(())
                .unwrap(),
        );
        assert_eq!(
            host_name(&p).unwrap().as_deref(),
            Some("misp.partner.example")
        );
        let out = upstream_request(&p, "/events/add", Bytes::from_static(b"{}")).unwrap();
        let hosts: Vec<_> = out.headers().get_all(header::HOST).iter().collect();
        assert_eq!(hosts, ["misp.partner.example"]);
        assert_eq!(out.headers()[header::CONTENT_LENGTH], "2");
        assert_eq!(out.version(), Version::HTTP_11);
    }

    #[test]
    fn hop_by_hop_fields_and_the_ones_connection_names_stay_behind() {
        let p = parts(
            Request::builder()
                .uri("/events/add")
                .header("host", "misp.partner.example")
                .header("connection", "keep-alive, x-secret-hop")
                .header("x-secret-hop", "1")
                .header("transfer-encoding", "chunked")
                .header("expect", "100-continue")
                .header("authorization", "kept")
                .body(())
                .unwrap(),
        );
        let out = upstream_request(&p, "/events/add", Bytes::from_static(b"{}")).unwrap();
        let names: Vec<_> = out.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["host", "authorization", "content-length"]);
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
        assert!(host_name(&p).is_err());
        let p = parts(
            Request::builder()
                .uri("https://a.example/x")
                .body(())
                .unwrap(),
        );
        assert!(request_target(&p).is_err());
    }
}
