//! The HTTP messages themselves, apart from any judgement: the message
//! that goes on — the same method, target, fields and body bytes, with
//! framing of our own. (What a head may carry is the head judge's to say,
//! [`crate::policy::judge_head`]; bodies are read in [`super::bodies`].)

use super::reply::Body;
use crate::body::Received;
use crate::policy::{Block, Rule};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, Version};

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
/// `Content-Length`; no `Expect`, the body is already here). The body goes
/// as the chunks it was received in.
pub fn upstream_request(
    parts: &http::request::Parts,
    target: &str,
    raw: Received,
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
    builder
        .body(Body::from_chunks(raw.into_chunks()))
        .map_err(bad)
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
    use bytes::Bytes;

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
        let out = upstream_request(&p, "/events/add", Bytes::from_static(b"{}").into()).unwrap();
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
        let out = upstream_request(&p, "/events/add", Bytes::from_static(b"{}").into()).unwrap();
        let names: Vec<_> = out.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["host", "authorization", "content-length"]);
    }
}
