//! The judge's JSON reader (`src/json/`) against serde_json, on arbitrary
//! bytes cut into chunks at places the fuzzer chooses.
//!
//! Input layout: `[flags] [n] [cut × n] document...`
//!
//! - `n` (mod 16) cut sizes follow; the document is cut into chunks of
//!   those sizes in turn, over and over (a cut of 0 is an empty chunk);
//!   with none it is one chunk.
//! - `flags`: bits 0-2 pick the exchange the document is judged in
//!   ([`SCENARIOS`]); bit 3 sends it gzip-encoded (the cuts then fall in
//!   the encoded bytes, which are decoded as they arrive).
//!
//! What must hold, for every input:
//!
//! 1. **values**: reading a `serde_json::Value` through the reader, the
//!    document whole (`from_slice`) and arriving in its chunks, gives what
//!    serde_json's `from_str` gives on the document when it is UTF-8 —
//!    the same value, or an error with the same message (line and column
//!    included) — and an error when it is not UTF-8;
//! 2. **skipping**: likewise reading `IgnoredAny`, and a raw value's text;
//! 3. **verdicts**: the judge's verdict on the exchange is the same read
//!    whole, read arriving in the chunks, and read the way it was before
//!    the reader (`str::from_utf8`, then serde_json), refusal for refusal.

#![no_main]

use libfuzzer_sys::fuzz_target;
use misp_warden::config::Config;
use misp_warden::json::{self, Arrival};
use misp_warden::policy::{
    Block, Case, Connection, EventVerdicts, Flow, Framing, SourceSpec, evaluate, judge_head,
    judge_request_body_arriving, judge_response_arriving, with_serde_json,
};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::value::RawValue;
use std::io::Write;
use std::sync::OnceLock;

const CONFIG: &str = include_str!("../../tests/fixtures/parity/config.json");

/// The event UUID of the scenarios' paths, remembered as let through.
const SUBJECT: &str = "5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f";

/// (method, target, the document is the response body). The order is part
/// of the seed format: append, never reorder.
const SCENARIOS: [(&str, &str, bool); 8] = [
    ("POST", "/events/add/metadata:1", false),
    ("POST", "/events/index", false),
    (
        "GET",
        "/events/view/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        true,
    ),
    ("GET", "/shadow_attributes/index/all:1/timestamp:0", true),
    ("POST", "/analyst_data/pushAnalystData", false),
    (
        "GET",
        "/analyst_data/index/Relationship/uuid[]:5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        true,
    ),
    ("POST", "/galaxies/pushCluster", false),
    ("POST", "/events/filterEventIdsForPush", false),
];

fn config() -> &'static Config {
    static CONFIG_ONCE: OnceLock<Config> = OnceLock::new();
    CONFIG_ONCE.get_or_init(|| Config::from_json(CONFIG).expect("the parity config is valid"))
}

/// The document in chunks of the sizes in `cuts`, in turn.
fn chunks(doc: &[u8], cuts: &[u8]) -> Vec<bytes::Bytes> {
    let mut out = Vec::new();
    let mut at = 0;
    if cuts.is_empty() || cuts.iter().all(|&c| c == 0) {
        out.extend(cuts.iter().map(|_| bytes::Bytes::new()));
        out.push(bytes::Bytes::copy_from_slice(doc));
        return out;
    }
    while at < doc.len() {
        for &c in cuts {
            let end = (at + c as usize).min(doc.len());
            out.push(bytes::Bytes::copy_from_slice(&doc[at..end]));
            at = end;
        }
    }
    out
}

/// serde_json's reading of `doc` as the judge read bodies before: UTF-8
/// first (`None` when not), then `from_str`, its end checked.
fn reference<T: for<'a> Deserialize<'a>>(doc: &[u8]) -> Option<Result<T, String>> {
    let text = std::str::from_utf8(doc).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    Some(
        T::deserialize(&mut de)
            .and_then(|v| de.end().map(|()| v))
            .map_err(|e| e.to_string()),
    )
}

fn agree<T: PartialEq + std::fmt::Debug>(
    what: &str,
    want: &Option<Result<T, String>>,
    got: Result<T, json::Error>,
) {
    match want {
        None => assert!(got.is_err(), "{what}: a document that is not UTF-8 read"),
        Some(want) => assert_eq!(&got.map_err(|e| e.to_string()), want, "{what}"),
    }
}

/// A type compared by whether it was read: `IgnoredAny`.
#[derive(Debug, PartialEq)]
struct Skipped;

impl<'de> Deserialize<'de> for Skipped {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| Skipped)
    }
}

/// A raw value, by its text.
#[derive(Debug, PartialEq)]
struct Raw(String);

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(|r| Raw(r.get().to_string()))
    }
}

fn check_reading<T: for<'a> Deserialize<'a> + PartialEq + std::fmt::Debug>(
    what: &str,
    doc: &[u8],
    arrival: &Arrival,
) {
    let want = reference::<T>(doc);
    agree(what, &want, json::from_slice::<T>(doc));
    agree(what, &want, json::from_arrival::<T>(arrival));
}

fuzz_target!(|data: &[u8]| {
    let [flags, n, rest @ ..] = data else {
        return;
    };
    let n = (*n as usize % 16).min(rest.len());
    let (cuts, doc) = rest.split_at(n);
    let arrival = Arrival::from_chunks(chunks(doc, cuts));
    check_reading::<Value>("Value", doc, &arrival);
    check_reading::<Skipped>("IgnoredAny", doc, &arrival);
    check_reading::<Raw>("RawValue", doc, &arrival);
    verdicts(*flags, doc, cuts);
});

/// Promise 3: one exchange judged three ways.
fn verdicts(flags: u8, doc: &[u8], cuts: &[u8]) {
    let (method, target, response_body) = SCENARIOS[flags as usize % SCENARIOS.len()];
    let gzip = flags & 8 != 0;
    let body = if gzip {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(doc).expect("in memory");
        e.finish().expect("in memory")
    } else {
        doc.to_vec()
    };
    let name = "alpha2.zone-a.example";
    let mut request = http::Request::builder()
        .method(method)
        .uri(target)
        .header("host", name);
    if !response_body {
        request = request.header("content-type", "application/json");
        if gzip {
            request = request.header("content-encoding", "gzip");
        }
    }
    let request = request.body(()).expect("heads build").into_parts().0;
    let mut response = http::Response::builder().status(200);
    if gzip {
        response = response.header("content-encoding", "gzip");
    }
    let response = response.body(()).expect("heads build").into_parts().0;
    let (request_body, answer): (&[u8], _) = if response_body {
        (b"", Some((&response, &body[..])))
    } else {
        (&body, None)
    };
    let case = Case {
        connection: Connection {
            source: SourceSpec::Instance("alpha_1"),
            destination_ip: Some("192.0.2.12".parse().expect("an address")),
            port: 443,
            tls: true,
            sni: Some(name),
        },
        request: &request,
        framing: Framing::default(),
        request_body,
        response: answer,
    };
    let memory = || {
        let memory = EventVerdicts::default();
        for (owner, recipient) in [("alpha_1", "alpha_2"), ("alpha_2", "alpha_1")] {
            memory.remember(Flow { owner, recipient }, SUBJECT, true);
        }
        memory
    };
    let whole = evaluate(config(), &case, &memory());
    let before = with_serde_json(|| evaluate(config(), &case, &memory()));
    assert_eq!(whole, before, "read whole, and read with serde_json");
    let arriving = evaluate_arriving(&case, cuts, &memory());
    assert_eq!(whole, arriving, "read whole, and read arriving");
}

/// `evaluate` with the bodies arriving in the chunks.
fn evaluate_arriving(case: &Case, cuts: &[u8], memory: &EventVerdicts) -> Result<(), Block> {
    let admitted = judge_head(config(), &case.connection, case.request, case.framing)?;
    let kind = admitted.kind;
    let request = Arrival::from_chunks(chunks(case.request_body, cuts));
    let facts =
        judge_request_body_arriving(config(), &kind, &case.request.headers, &request, memory)?;
    if let Some((response, body)) = case.response {
        let body = Arrival::from_chunks(chunks(body, cuts));
        judge_response_arriving(config(), &kind, &facts, response, &body, memory)?;
    }
    Ok(())
}
