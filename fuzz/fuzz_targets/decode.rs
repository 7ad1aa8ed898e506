//! Content-Encoding header values and bodies: `parse_codings` + `decode`
//! with a 1 MiB limit.
//!
//! Input layout: `[mode] [header length] header... body...`
//!
//! - `header` (up to 255 bytes, UTF-8, lossily) is split on `\n` into
//!   several `Content-Encoding` field values.
//! - `mode` bit 0 clear: the body is decoded as is (arbitrary compressed
//!   data). Set: the body is first *encoded* with the parsed codings, then
//!   decoded, and must come back unchanged (a round trip).
//!
//! - `mode` bits 1–7 (arbitrary data only): where the body is cut as it
//!   arrives (pieces of `mode >> 1` bytes, 0: whole) and the ratio
//!   allowed (`mode >> 4`, 0: none below the limit).
//!
//! Invariants: an `Ok` output is never larger than the limit; with no
//! codings the output is the body itself; a round trip under the limit
//! gives the body back; decoding the body as it arrives
//! (`DecodePlan::decode_into`), its length known or not, gives what
//! decoding it whole gives — the same bytes or the same refusal (a body
//! both corrupt and too large may be refused for either).

#![no_main]

use libfuzzer_sys::fuzz_target;
use misp_warden::body::{Coding, DecodeError, DecodePlan, decode, parse_codings};
use misp_warden::json::Arrival;
use std::io::{Read, Write};

const LIMIT: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let [mode, len, rest @ ..] = data else {
        return;
    };
    let len = (*len as usize).min(rest.len());
    let (header, body) = rest.split_at(len);
    let header = String::from_utf8_lossy(header);
    let codings = match parse_codings(header.split('\n')) {
        Ok(c) => c,
        Err(block) => {
            let _ = block.to_string();
            return;
        }
    };

    if mode & 1 == 0 {
        match decode(body, &codings, LIMIT) {
            Ok(out) => {
                assert!(
                    out.len() as u64 <= LIMIT,
                    "{} bytes over the limit",
                    out.len()
                );
                if codings.is_empty() {
                    assert_eq!(out.as_ref(), body, "identity changed the body");
                }
            }
            Err(block) => {
                let _ = block.to_string();
            }
        }
        arriving_is_whole(body, &codings, *mode);
        return;
    }

    // Round trip: at most three layers, so one input stays cheap.
    if codings.len() > 3 {
        return;
    }
    let mut encoded = body.to_vec();
    for c in &codings {
        encoded = encode(&encoded, *c);
    }
    match decode(&encoded, &codings, LIMIT) {
        Ok(out) => assert_eq!(out.as_ref(), body, "round trip through {codings:?}"),
        Err(block) => panic!("round trip through {codings:?} refused: {block}"),
    }
});

/// Decoding `body` as it arrives, cut as `mode` says, gives what decoding
/// it whole under the same plan gives, whether its length was declared or
/// not.
fn arriving_is_whole(body: &[u8], codings: &[Coding], mode: u8) {
    let ratio = match u64::from(mode >> 4) {
        0 => LIMIT,
        r => r,
    };
    let plan = DecodePlan::new(codings.to_vec(), body.len(), LIMIT, ratio);
    let whole = plan.decode(body).map(|d| d.to_vec());
    let cut = match usize::from((mode >> 1) & 7) {
        0 => body.len().max(1),
        n => n * 7,
    };
    for plan in [plan.clone(), plan.for_len(usize::MAX)] {
        let pieces = body.chunks(cut).map(bytes::Bytes::copy_from_slice);
        let raw = Arrival::from_chunks(pieces);
        let out = Arrival::new();
        let len = plan.decode_into(raw.reader(), &out);
        let mut got = Vec::new();
        let read = out.reader().read_to_end(&mut got);
        assert_eq!(
            read.is_ok(),
            len.is_ok(),
            "the output ends as the decoding did"
        );
        let arriving = len.map(|len| {
            assert_eq!(
                len as usize,
                got.len(),
                "the length returned is the output's"
            );
            got
        });
        match (&arriving, &whole) {
            // Corrupt and too large at once: brotli holds back what it
            // decoded until its input runs dry, so how much came out
            // before the fault showed depends on the cut. Refused either
            // way (src/body/codings/arriving.rs).
            (
                Err(DecodeError::Undecodable(_)),
                Err(DecodeError::TooLarge(_) | DecodeError::Ratio(_)),
            )
            | (
                Err(DecodeError::TooLarge(_) | DecodeError::Ratio(_)),
                Err(DecodeError::Undecodable(_)),
            ) => {}
            _ => assert_eq!(arriving, whole, "{codings:?} cut {cut} ratio {ratio}"),
        }
    }
}

fn encode(data: &[u8], coding: Coding) -> Vec<u8> {
    match coding {
        Coding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Coding::Deflate => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Coding::Brotli => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 1, 22);
                w.write_all(data).unwrap();
            }
            out
        }
        Coding::Zstd => zstd::encode_all(data, 1).unwrap(),
    }
}
