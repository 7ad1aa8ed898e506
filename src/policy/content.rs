//! The content stages: a request body and a response, decoded as their
//! receiver will read them, then judged by the rules of the data's owner.
//!
//! Decoding is part of the judgement, not a detail of the daemon: a body is
//! judged as MISP will read it, so a compressed body is decompressed first
//! — within bounds, because a few kilobytes of gzip can claim gigabytes.
//! The bound ([`DecodePlan`]) is computed here once and used by both the
//! daemon, which pays for it out of its memory budget before decoding, and
//! `eval`: a body refused by one is refused by the other.

use super::memory::EventVerdicts;
use super::rules::{self, RequestFacts, ResponseContext};
use super::{Block, RequestKind, Rule, head::single, printable};
use crate::body::{self, DecodeError, DecodePlan, Decoded};
use crate::config::{Config, Warden};
use http::header::{self, HeaderMap};

/// The decode plan for a body of `raw_len` bytes with these header fields.
pub fn decode_plan(
    headers: &HeaderMap,
    raw_len: usize,
    warden: &Warden,
) -> Result<DecodePlan, Block> {
    let limit = warden.max_body_bytes;
    if raw_len as u64 > limit {
        return Err(Block::new(
            Rule::BodyTooLarge,
            format!("body larger than warden.max_body_bytes ({limit} bytes)"),
        ));
    }
    let mut values = Vec::new();
    for v in headers.get_all(header::CONTENT_ENCODING) {
        values.push(
            v.to_str()
                .map_err(|_| Block::new(Rule::ContentEncoding, "Content-Encoding is not ASCII"))?,
        );
    }
    let codings = body::parse_codings(values).map_err(|e| decode_refusal(e, warden))?;
    Ok(DecodePlan::new(
        codings,
        raw_len,
        limit,
        warden.limits.max_decompression_ratio,
    ))
}

/// The body as its receiver reads it, within the plan's room.
fn decoded<'a>(plan: &DecodePlan, raw: &'a [u8], warden: &Warden) -> Result<Decoded<'a>, Block> {
    plan.decode(raw).map_err(|e| decode_refusal(e, warden))
}

fn decode_refusal(e: DecodeError, warden: &Warden) -> Block {
    match e {
        DecodeError::TooLarge(_) => Block::new(
            Rule::BodyTooLarge,
            format!(
                "decoded body is larger than warden.max_body_bytes ({})",
                warden.max_body_bytes
            ),
        ),
        DecodeError::Ratio(ratio) => Block::new(
            Rule::BodyTooLarge,
            format!(
                "body decodes to more than {ratio} times its size (warden.max_decompression_ratio)"
            ),
        ),
        other => Block::new(Rule::ContentEncoding, other.to_string()),
    }
}

/// Whether the request stage reads the request body at all. When it does
/// not, the body need not even be decoded (an allowlisted destination is
/// passed without inspection, as in misp-guard).
pub fn request_is_judged(exchange: &RequestKind) -> bool {
    !matches!(exchange, RequestKind::Allowlisted)
}

/// Whether the response stage reads the response at all (push answers,
/// versions and filters' answers MISP's sync reads nothing sensitive
/// from are passed as they arrive; see [`super::endpoint::ResponseBody`]).
pub fn response_is_judged(exchange: &RequestKind) -> bool {
    match exchange {
        RequestKind::Sync { endpoint, .. } => {
            endpoint.response != super::endpoint::ResponseBody::Unchecked
        }
        RequestKind::Feed { .. } => true,
        RequestKind::Allowlisted => false,
    }
}

/// The request stage: the body as received (`raw`, still encoded), its
/// header fields, judged by the source instance's rules (push data belongs
/// to the source; control endpoints read no content, so any rules do).
///
/// A body must be declared `application/json`: MISP (CakePHP) also parses
/// XML and form-encoded bodies into the same arrays, which a JSON reader
/// would not see.
pub fn judge_request_body(
    config: &Config,
    exchange: &RequestKind,
    headers: &HeaderMap,
    raw: &[u8],
    memory: &EventVerdicts,
) -> Result<RequestFacts, Block> {
    if !request_is_judged(exchange) {
        return Ok(RequestFacts::default());
    }
    let plan = decode_plan(headers, raw.len(), &config.warden)?;
    let (source, destination, endpoint) = match exchange {
        RequestKind::Sync {
            source,
            destination,
            endpoint,
        } => (source, destination, endpoint),
        RequestKind::Allowlisted => return Ok(RequestFacts::default()),
        // Feed files are fetched with GET: nothing goes out.
        RequestKind::Feed { .. } if raw.is_empty() => return Ok(RequestFacts::default()),
        RequestKind::Feed { .. } => {
            return Err(Block::new(Rule::MalformedBody, "a body on a feed request"));
        }
    };
    let content_type = single(headers, "Content-Type")?;
    if !raw.is_empty() && !is_json_media_type(content_type) {
        return Err(Block::new(
            Rule::MalformedBody,
            format!(
                "request body declared as {}, only application/json is inspected",
                content_type
                    .map(printable)
                    .unwrap_or_else(|| "nothing".into())
            ),
        ));
    }
    let body = decoded(&plan, raw, &config.warden)?;
    let flow = super::memory::Flow {
        owner: &source.id,
        recipient: &destination.id,
    };
    let pushed_event =
        rules::check_request(source, endpoint, &body, flow, memory).map_err(|b| b.by(source))?;
    Ok(RequestFacts { pushed_event })
}

/// `application/json`, any case, with optional parameters (`; charset=UTF-8`).
fn is_json_media_type(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// The response stage: a response (status, header fields, the body as
/// received) judged by the rules of the data's owner — on a pull the
/// destination instance, on a feed the feed.
pub fn judge_response(
    config: &Config,
    exchange: &RequestKind,
    request: &RequestFacts,
    response: &http::response::Parts,
    raw: &[u8],
    memory: &EventVerdicts,
) -> Result<(), Block> {
    if !response_is_judged(exchange) {
        return Ok(());
    }
    let plan = decode_plan(&response.headers, raw.len(), &config.warden)?;
    let ctx = ResponseContext {
        user_org_uuid: single(&response.headers, "X-UserOrgUUID")?,
        status: response.status.as_u16(),
    };
    if ctx.carries_no_content() && raw.is_empty() {
        return Ok(());
    }
    let body = decoded(&plan, raw, &config.warden)?;
    match exchange {
        RequestKind::Sync {
            source,
            destination,
            endpoint,
        } => {
            let flow = super::memory::Flow {
                owner: &destination.id,
                recipient: &source.id,
            };
            rules::check_response(destination, endpoint, &ctx, request, &body, flow, memory)
                .map_err(|b| b.by(destination))
        }
        // misp-guard passes a feed's non-200 answers (a 304 for an
        // unchanged manifest, a 404) as they are: they carry no event.
        RequestKind::Feed { .. } if ctx.status != 200 => Ok(()),
        RequestKind::Feed { feed, file } => {
            rules::check_feed_response(&feed.rules, *file, &body).map_err(|b| b.by_feed(feed))
        }
        RequestKind::Allowlisted => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::limits::RATIO_FLOOR;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn gzip_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        h
    }

    /// A 1 MiB body that compresses a thousandfold is decoded (the ratio
    /// starts past the floor); a bomb past the floor is refused for its
    /// ratio; past `max_body_bytes` for its size.
    #[test]
    fn the_ratio_applies_past_a_floor_of_decoded_output() {
        let warden = Warden::default();
        let benign = vec![b' '; 1 << 20];
        let gz = gzip(&benign);
        assert!(gz.len() * 200 < benign.len(), "compresses past the ratio");
        let plan = decode_plan(&gzip_headers(), gz.len(), &warden).unwrap();
        assert_eq!(decoded(&plan, &gz, &warden).unwrap().len(), benign.len());

        let bomb = gzip(&vec![0u8; 64 << 20]);
        let plan = decode_plan(&gzip_headers(), bomb.len(), &warden).unwrap();
        let b = decoded(&plan, &bomb, &warden).unwrap_err();
        assert_eq!(b.rule, Rule::BodyTooLarge);
        assert!(b.message.contains("max_decompression_ratio"), "{b}");

        let small = Warden {
            max_body_bytes: 1 << 20,
            ..Warden::default()
        };
        let plan = decode_plan(&gzip_headers(), bomb.len(), &small).unwrap();
        let b = decoded(&plan, &bomb, &small).unwrap_err();
        assert!(b.message.contains("max_body_bytes"), "{b}");
    }

    #[test]
    fn memory_is_the_room_per_live_stage() {
        let warden = Warden::default();
        let plain = decode_plan(&HeaderMap::new(), 10, &warden).unwrap();
        assert_eq!(plain.memory(), 0);
        let one = decode_plan(&gzip_headers(), 10, &warden).unwrap();
        assert_eq!(one.memory(), RATIO_FLOOR);
        let mut stacked = gzip_headers();
        stacked.append(header::CONTENT_ENCODING, "br".parse().unwrap());
        stacked.append(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        let three = decode_plan(&stacked, 10, &warden).unwrap();
        assert_eq!(three.memory(), 2 * RATIO_FLOOR);
    }
}
