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
//! Invariants: an `Ok` output is never larger than the limit; with no
//! codings the output is the body itself; a round trip under the limit
//! gives the body back.

#![no_main]

use libfuzzer_sys::fuzz_target;
use misp_warden::body::{Coding, decode, parse_codings};
use std::io::Write;

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
