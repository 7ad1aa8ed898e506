//! The content stages: a request body and a response, decoded as their
//! receiver will read them, then judged by the rules of the data's owner.
//!
//! Decoding is part of the judgement, not a detail of the daemon: a body is
//! judged as MISP will read it, so a compressed body is decompressed first
//! — within bounds, because a few kilobytes of gzip can claim gigabytes.
//! The bound ([`DecodePlan`]) is computed here once and used by both the
//! daemon, which pays for it out of its memory budget before decoding, and
//! `eval`: a body refused by one is refused by the other.
//!
//! Each stage takes its body whole ([`judge_request_body`],
//! [`judge_response`]) or as it arrives ([`judge_request_body_arriving`],
//! [`judge_response_arriving`], on a thread of its own: they wait for the
//! bytes). Both are one function: the same bytes get the same verdict,
//! however they came. A verdict on an arriving body is given once the
//! body has all arrived — its size is judged first, and a reading that
//! fails early may owe its reason to a byte further on (see
//! `read.rs`) — so the verdict is ready when the last byte is, not before.
//! A compressed body that arrives is decoded on a second thread as it
//! arrives ([`DecodePlan::decode_into`]) while this one judges what comes
//! out.

use super::memory::EventVerdicts;
use super::read::{Body, reading_with_serde_json};
use super::rules::{self, RequestFacts, ResponseContext};
use super::{Block, RequestKind, Rule, head::single, printable};
use crate::body::{self, DecodeError, DecodePlan};
use crate::config::{Config, Warden};
use crate::json::Arrival;
use http::header::{self, HeaderMap};

/// The decode plan for a body of `raw_len` bytes with these header fields.
pub fn decode_plan(
    headers: &HeaderMap,
    raw_len: usize,
    warden: &Warden,
) -> Result<DecodePlan, Block> {
    if raw_len as u64 > warden.max_body_bytes {
        return Err(too_large(warden));
    }
    codings_plan(headers, raw_len, warden)
}

fn too_large(warden: &Warden) -> Block {
    Block::new(
        Rule::BodyTooLarge,
        format!(
            "body larger than warden.max_body_bytes ({} bytes)",
            warden.max_body_bytes
        ),
    )
}

/// [`decode_plan`] but for the size of the body itself (judged by
/// [`settle`] once an arriving body has all arrived).
fn codings_plan(headers: &HeaderMap, raw_len: usize, warden: &Warden) -> Result<DecodePlan, Block> {
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
        warden.max_body_bytes,
        warden.limits.max_decompression_ratio,
    ))
}

/// The length to plan an arriving body's decoding with: its own when it
/// has all arrived, else the one its head declares (hyper holds the body
/// to it), else none (`usize::MAX`: the plan's room is the limit until the
/// length is known).
fn planned_len(raw: Body, headers: &HeaderMap) -> usize {
    match raw {
        Body::Whole(bytes) => bytes.len(),
        Body::Arriving(arrival) if arrival.is_ended() => arrival.len(),
        Body::Arriving(_) => headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(usize::MAX),
    }
}

/// The body as its receiver reads it, decoded whole within the plan's
/// room (what the tests hold [`DecodePlan::decode_into`] to).
#[cfg(test)]
fn decoded<'a>(
    plan: &DecodePlan,
    raw: &'a [u8],
    warden: &Warden,
) -> Result<body::Decoded<'a>, Block> {
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
        DecodeError::Input(why) => Block::new(
            Rule::MalformedBody,
            format!("the body did not arrive whole: {}", printable(&why)),
        ),
        other => Block::new(Rule::ContentEncoding, other.to_string()),
    }
}

/// A verdict on a body, once the body has all arrived: one larger than
/// `max_body_bytes` is refused for that first (as [`decode_plan`] does
/// before anything else), one that did not arrive whole gets no other
/// verdict.
fn settle<T>(verdict: Result<T, Block>, raw: Body, warden: &Warden) -> Result<T, Block> {
    let len = match raw {
        Body::Whole(bytes) => bytes.len(),
        Body::Arriving(arrival) => match arrival.wait_end() {
            Ok(len) => len,
            Err(failed) => {
                return Err(Block::new(
                    Rule::MalformedBody,
                    format!("the body did not arrive whole: {}", printable(&failed.0)),
                ));
            }
        },
    };
    if len as u64 > warden.max_body_bytes {
        return Err(too_large(warden));
    }
    verdict
}

/// Runs `judge` on the body as its receiver reads it: `raw` itself, or
/// `raw` decoded within the plan. The outer `Err` is a decoding refusal
/// (it comes before the judge's verdict, as decoding comes first); the
/// inner result is the judge's.
///
/// A body that is all there is decoded first, then judged, on this
/// thread. One that is arriving is decoded on a second thread as it
/// arrives, into an [`Arrival`] this thread judges as it fills.
fn judged_decoded<T>(
    raw: Body,
    plan: &DecodePlan,
    warden: &Warden,
    judge: impl FnOnce(Body) -> Result<T, Block>,
) -> Result<Result<T, Block>, Block> {
    if plan.codings().is_empty() {
        return Ok(judge(raw));
    }
    if reading_with_serde_json() {
        // The reference reading decodes into one buffer, as it used to.
        let Body::Whole(bytes) = raw else {
            panic!("the serde_json reader reads whole bodies only");
        };
        let decoded = plan.decode(bytes).map_err(|e| decode_refusal(e, warden))?;
        return Ok(judge(Body::Whole(&decoded)));
    }
    let decoded = Arrival::new();
    match raw {
        Body::Whole(bytes) => {
            plan.decode_into(bytes, &decoded)
                .map_err(|e| decode_refusal(e, warden))?;
            Ok(judge(Body::Arriving(&decoded)))
        }
        Body::Arriving(arrival) => std::thread::scope(|scope| {
            let decoder = scope.spawn(|| plan.decode_into(arrival.reader(), &decoded));
            let verdict = judge(Body::Arriving(&decoded));
            let decoding = decoder
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            decoding.map_err(|e| decode_refusal(e, warden))?;
            Ok(verdict)
        }),
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
    judge_request(config, exchange, headers, Body::Whole(raw), memory)
}

/// [`judge_request_body`] on a body as it arrives (still encoded, as
/// received), on the calling thread, which waits for the bytes: the verdict
/// comes once the body has all arrived (or it failed). The same verdict as
/// the whole body's.
pub fn judge_request_body_arriving(
    config: &Config,
    exchange: &RequestKind,
    headers: &HeaderMap,
    raw: &Arrival,
    memory: &EventVerdicts,
) -> Result<RequestFacts, Block> {
    judge_request(config, exchange, headers, Body::Arriving(raw), memory)
}

fn judge_request(
    config: &Config,
    exchange: &RequestKind,
    headers: &HeaderMap,
    raw: Body,
    memory: &EventVerdicts,
) -> Result<RequestFacts, Block> {
    if !request_is_judged(exchange) {
        return Ok(RequestFacts::default());
    }
    let verdict = request_verdict(config, exchange, headers, raw, memory);
    settle(verdict, raw, &config.warden)
}

fn request_verdict(
    config: &Config,
    exchange: &RequestKind,
    headers: &HeaderMap,
    raw: Body,
    memory: &EventVerdicts,
) -> Result<RequestFacts, Block> {
    let plan = codings_plan(headers, planned_len(raw, headers), &config.warden)?;
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
    let flow = super::memory::Flow {
        owner: &source.id,
        recipient: &destination.id,
    };
    let pushed_event = judged_decoded(raw, &plan, &config.warden, |body| {
        rules::check_request(source, endpoint, body, flow, memory)
    })?
    .map_err(|b| b.by(source))?;
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
    judge_answer(
        config,
        exchange,
        request,
        response,
        Body::Whole(raw),
        memory,
    )
}

/// [`judge_response`] on a body as it arrives (see
/// [`judge_request_body_arriving`]).
pub fn judge_response_arriving(
    config: &Config,
    exchange: &RequestKind,
    request: &RequestFacts,
    response: &http::response::Parts,
    raw: &Arrival,
    memory: &EventVerdicts,
) -> Result<(), Block> {
    judge_answer(
        config,
        exchange,
        request,
        response,
        Body::Arriving(raw),
        memory,
    )
}

fn judge_answer(
    config: &Config,
    exchange: &RequestKind,
    request: &RequestFacts,
    response: &http::response::Parts,
    raw: Body,
    memory: &EventVerdicts,
) -> Result<(), Block> {
    if !response_is_judged(exchange) {
        return Ok(());
    }
    let verdict = response_verdict(config, exchange, request, response, raw, memory);
    settle(verdict, raw, &config.warden)
}

fn response_verdict(
    config: &Config,
    exchange: &RequestKind,
    request: &RequestFacts,
    response: &http::response::Parts,
    raw: Body,
    memory: &EventVerdicts,
) -> Result<(), Block> {
    let plan = codings_plan(
        &response.headers,
        planned_len(raw, &response.headers),
        &config.warden,
    )?;
    let ctx = ResponseContext {
        user_org_uuid: single(&response.headers, "X-UserOrgUUID")?,
        status: response.status.as_u16(),
    };
    if ctx.carries_no_content() && raw.is_empty() {
        return Ok(());
    }
    judged_decoded(raw, &plan, &config.warden, |body| match exchange {
        RequestKind::Sync {
            source,
            destination,
            endpoint,
        } => {
            let flow = super::memory::Flow {
                owner: &destination.id,
                recipient: &source.id,
            };
            rules::check_response(destination, endpoint, &ctx, request, body, flow, memory)
                .map_err(|b| b.by(destination))
        }
        // misp-guard passes a feed's non-200 answers (a 304 for an
        // unchanged manifest, a 404) as they are: they carry no event.
        RequestKind::Feed { .. } if ctx.status != 200 => Ok(()),
        RequestKind::Feed { feed, file } => {
            rules::check_feed_response(&feed.rules, *file, body).map_err(|b| b.by_feed(feed))
        }
        RequestKind::Allowlisted => Ok(()),
    })?
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
