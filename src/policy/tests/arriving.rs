//! Judging a body as it arrives: the judge waits for the bytes, and its
//! verdict — the whole body's — comes when the last one is in; a body that
//! stops arriving unblocks it with a refusal. (Every exchange of the other
//! tests is also judged arriving, in chunks: `evaluate_with`.)

use super::*;
use crate::json::Arrival;
use bytes::Bytes;
use std::io::Write;
use std::time::Duration;

const PUSH: &str = "/events/add/metadata:1";

/// The admitted kind of a push from the inside instance to the partner.
fn push_kind(cfg: &Config) -> (RequestKind<'_>, http::request::Parts) {
    let request = http::Request::builder()
        .method("POST")
        .uri(PUSH)
        .header("host", "misp-partner.example")
        .header("content-type", "application/json")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let connection = Connection {
        source: SourceSpec::Ip(ip("192.0.2.10")),
        destination_ip: None,
        port: 443,
        tls: true,
        sni: Some("misp-partner.example"),
    };
    let kind = judge_head(cfg, &connection, &request, Framing::default())
        .expect("a push the head admits")
        .kind;
    (kind, request)
}

/// A large event: many attributes, so the body is many chunks.
fn big_event(blocked_last: bool) -> Vec<u8> {
    let mut e = event();
    let attributes: Vec<Value> = (0..2000)
        .map(|i| {
            let mut a = attribute("ip-src", "Network activity");
            a["uuid"] = json!(format!("0d1e2f30-4152-6374-8596-{i:012}"));
            a
        })
        .collect();
    e["Event"]["Attribute"] = json!(attributes);
    if blocked_last {
        e["Event"]["Attribute"][1999]["type"] = json!("passport-number");
    }
    e.to_string().into_bytes()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Pushes `body` into `producer` in `cut`-byte chunks, a pause between
/// some, checking the judge has not answered before the end; then
/// finishes the body.
fn feed_slowly<T>(
    body: &[u8],
    cut: usize,
    producer: crate::json::Producer,
    judge: &std::thread::ScopedJoinHandle<'_, T>,
) {
    for (i, piece) in body.chunks(cut).enumerate() {
        if i % 16 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(!judge.is_finished(), "a verdict before the body arrived");
        producer.push(Bytes::copy_from_slice(piece));
    }
    std::thread::sleep(Duration::from_millis(20));
    assert!(!judge.is_finished(), "a verdict before the end was known");
    producer.finish();
}

/// A judge started before the first byte returns, when the last chunk is
/// in, the verdict the whole body gets — allowed and refused, plain and
/// gzip (decoded on a second thread as it arrives).
#[test]
fn a_judge_started_before_the_body_answers_when_it_has_arrived() {
    let cfg = config();
    let (kind, request) = push_kind(&cfg);
    let mut gzip_headers = request.headers.clone();
    gzip_headers.insert("content-encoding", "gzip".parse().unwrap());
    for blocked in [false, true] {
        let plain = big_event(blocked);
        let gz = gzip(&plain);
        for (headers, body) in [(&request.headers, &plain), (&gzip_headers, &gz)] {
            let memory = EventVerdicts::default();
            let whole = judge_request_body(&cfg, &kind, headers, body, &memory.copy());
            assert_eq!(whole.is_err(), blocked, "{whole:?}");
            let (arrival, producer) = Arrival::channel();
            let arriving = std::thread::scope(|s| {
                let judge = s
                    .spawn(|| judge_request_body_arriving(&cfg, &kind, headers, &arrival, &memory));
                feed_slowly(body, 16 << 10, producer, &judge);
                judge.join().unwrap()
            });
            assert_eq!(arriving, whole);
            assert_eq!(
                arrival.chunks().map(|c| c.len()).sum::<usize>(),
                body.len(),
                "the chunks are all there, to forward"
            );
        }
    }
}

/// A body that stops arriving — failed by its producer, or its producer
/// gone — unblocks the judge with a refusal saying so; a compressed one
/// too (its decoder gives up, the judge with it).
#[test]
fn a_body_that_stops_arriving_unblocks_the_judge() {
    let cfg = config();
    let (kind, request) = push_kind(&cfg);
    let mut gzip_headers = request.headers.clone();
    gzip_headers.insert("content-encoding", "gzip".parse().unwrap());
    let plain = big_event(false);
    let gz = gzip(&plain);
    for (headers, body) in [(&request.headers, &plain), (&gzip_headers, &gz)] {
        for drop_it in [false, true] {
            let memory = EventVerdicts::default();
            let (arrival, producer) = Arrival::channel();
            let verdict = std::thread::scope(|s| {
                let judge = s
                    .spawn(|| judge_request_body_arriving(&cfg, &kind, headers, &arrival, &memory));
                producer.push(Bytes::copy_from_slice(&body[..body.len() / 2]));
                std::thread::sleep(Duration::from_millis(20));
                assert!(!judge.is_finished());
                if drop_it {
                    drop(producer);
                } else {
                    producer.fail("the client went away");
                }
                judge.join().unwrap()
            });
            let b = verdict.unwrap_err();
            assert_eq!(b.rule, Rule::MalformedBody, "{b}");
            assert!(b.message.contains("did not arrive whole"), "{b}");
        }
    }
}

/// The response stage too, and a compressed bomb is refused for its ratio
/// while it arrives, as when it is judged whole.
#[test]
fn a_pulled_answer_is_judged_as_it_arrives() {
    let cfg = config();
    let request = http::Request::builder()
        .method("GET")
        .uri(VIEW)
        .header("host", "misp-partner.example")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let connection = Connection {
        source: SourceSpec::Ip(ip("192.0.2.10")),
        destination_ip: None,
        port: 443,
        tls: true,
        sni: Some("misp-partner.example"),
    };
    let kind = judge_head(&cfg, &connection, &request, Framing::default())
        .unwrap()
        .kind;
    let facts = RequestFacts::default();
    let response = http::Response::builder()
        .status(200)
        .header("content-encoding", "gzip")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let bomb = gzip(&vec![b' '; 64 << 20]);
    for (body, is_bomb) in [
        (gzip(&big_event(false)), false),
        (gzip(&big_event(true)), false),
        (bomb, true),
    ] {
        let memory = EventVerdicts::default();
        let whole = judge_response(&cfg, &kind, &facts, &response, &body, &memory.copy());
        let (arrival, producer) = Arrival::channel();
        let arriving = std::thread::scope(|s| {
            let judge = s.spawn(|| {
                judge_response_arriving(&cfg, &kind, &facts, &response, &arrival, &memory)
            });
            feed_slowly(&body, 4 << 10, producer, &judge);
            judge.join().unwrap()
        });
        assert_eq!(arriving, whole);
        if !is_bomb {
            continue;
        }
        let b = arriving.unwrap_err();
        assert_eq!(b.rule, Rule::BodyTooLarge);
        assert!(b.message.contains("max_decompression_ratio"), "{b}");
    }
}
