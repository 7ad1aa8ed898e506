//! Content decoding: a body is inspected as the receiver will read it, so a
//! compressed body is decompressed first — with a bound on the decoded size,
//! because a few kilobytes of gzip can expand to gigabytes.
//!
//! Fail closed: an encoding not listed here, an empty token in the header, a
//! body that does not decode as its header says, or a decoded size over the
//! limit is a [`DecodeError`] (the policy turns each into a refusal). The
//! bytes forwarded are always the original ones.
//!
//! # Files
//!
//! - this file — what is to be undone and within what: the [`Coding`]s a
//!   `Content-Encoding` names ([`parse_codings`]), the [`DecodePlan`] that
//!   bounds their decoding (made before a decoder runs, so its memory can
//!   be paid for first) and the [`DecodeError`]s both decoders give;
//! - `whole.rs` — [`decode`]: a body received whole, decoded whole, into
//!   [`Decoded`];
//! - `arriving.rs` — [`DecodePlan::decode_into`]: a body decoded as it
//!   arrives, into an `Arrival` the judge reads meanwhile, with the very
//!   refusals `decode` gives.
//!
//! The two decoders are apart because they differ in everything but their
//! bounds: one reads a slice and may map its output, the other reads a
//! stream whose length it learns last.

use crate::config::limits::RATIO_FLOOR;

mod arriving;
mod whole;

pub use whole::{Decoded, decode};

/// The largest zstd window accepted: 2^23 = 8 MiB, as RFC 9659 lets an
/// HTTP recipient require.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// One content coding, in the order the sender applied them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty token in Content-Encoding")]
    EmptyToken,
    /// The coding named, made printable.
    #[error("unsupported content encoding {0}")]
    Unsupported(String),
    #[error("body does not decode as its Content-Encoding says ({0:?})")]
    Undecodable(Coding),
    /// More than the limit would come out (the limit is in the error).
    #[error("decoded body is larger than {0} bytes")]
    TooLarge(u64),
    /// More came out than the ratio allows (the ratio is in the error).
    #[error("body decodes to more than {0} times its size")]
    Ratio(u64),
    /// The encoded body did not arrive whole (its reader's error).
    #[error("the encoded body did not arrive whole: {0}")]
    Input(String),
}

/// How a body will be decoded, and how much a decoder may produce: made
/// before decoding, so the daemon can pay for that memory first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodePlan {
    codings: Vec<Coding>,
    /// Most bytes a decoding stage may produce: `ratio` times the encoded
    /// size, at least [`RATIO_FLOOR`], at most `limit`.
    room: u64,
    /// The ratio, when it (not `limit`) set `room`: a body that fills the
    /// room is refused for its ratio.
    ratio: Option<u64>,
    /// The bounds the plan was made with, for the plan of another length.
    limit: u64,
    max_ratio: u64,
}

impl DecodePlan {
    /// The plan for `raw_len` encoded bytes under `codings` (applied first
    /// to last), within `limit` and `ratio`.
    pub fn new(codings: Vec<Coding>, raw_len: usize, limit: u64, ratio: u64) -> DecodePlan {
        if codings.is_empty() {
            return DecodePlan {
                codings,
                room: limit,
                ratio: None,
                limit,
                max_ratio: ratio,
            };
        }
        let by_ratio = ratio.saturating_mul(raw_len as u64).max(RATIO_FLOOR);
        DecodePlan {
            codings,
            room: by_ratio.min(limit),
            ratio: (by_ratio < limit).then_some(ratio),
            limit,
            max_ratio: ratio,
        }
    }

    /// The plan for the same codings and bounds, for `raw_len` encoded
    /// bytes. A body still arriving is planned with its declared length,
    /// or with `usize::MAX` when it has none (room: the limit); once its
    /// length is known, this plan says what it is held to.
    pub fn for_len(&self, raw_len: usize) -> DecodePlan {
        DecodePlan::new(self.codings.clone(), raw_len, self.limit, self.max_ratio)
    }

    /// The codings to undo, in the order they were applied.
    pub fn codings(&self) -> &[Coding] {
        &self.codings
    }

    /// Bytes of memory decoding may take at once: nothing for a body that
    /// is not encoded, the room once per stage alive at a time (two for
    /// stacked codings).
    pub fn memory(&self) -> u64 {
        self.room * self.codings.len().min(2) as u64
    }

    /// The body as its receiver reads it.
    pub fn decode<'a>(&self, raw: &'a [u8]) -> Result<Decoded<'a>, DecodeError> {
        decode(raw, &self.codings, self.room).map_err(|e| match (e, self.ratio) {
            (DecodeError::TooLarge(_), Some(ratio)) => DecodeError::Ratio(ratio),
            (e, _) => e,
        })
    }
}

/// Parses every `Content-Encoding` header value (there may be several) into
/// the list of codings applied, outermost last. `identity` is dropped.
pub fn parse_codings<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Coding>, DecodeError> {
    let mut out = Vec::new();
    for value in values {
        for token in value.split(',') {
            let token = token.trim_matches([' ', '\t']);
            let coding = match token.to_ascii_lowercase().as_str() {
                "identity" => continue,
                "gzip" | "x-gzip" => Coding::Gzip,
                "deflate" => Coding::Deflate,
                "br" => Coding::Brotli,
                "zstd" => Coding::Zstd,
                "" => return Err(DecodeError::EmptyToken),
                _ => {
                    let shown = token
                        .chars()
                        .filter(|c| c.is_ascii_graphic())
                        .take(32)
                        .collect();
                    return Err(DecodeError::Unsupported(shown));
                }
            };
            out.push(coding);
        }
    }
    Ok(out)
}

fn undecodable(coding: Coding) -> DecodeError {
    DecodeError::Undecodable(coding)
}

fn too_large(limit: u64) -> DecodeError {
    DecodeError::TooLarge(limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    // The encoders the tests of `whole.rs` and `arriving.rs` share.

    pub(super) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    pub(super) fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    #[test]
    fn header_variants() {
        assert_eq!(parse_codings(["GZip"]).unwrap(), vec![Coding::Gzip]);
        assert_eq!(parse_codings([" br "]).unwrap(), vec![Coding::Brotli]);
        assert_eq!(parse_codings(["identity"]).unwrap(), vec![]);
        for bad in ["compress", "gzip,,br", "x-unknown", "gzip;q=1", ""] {
            assert!(parse_codings([bad]).is_err(), "{bad:?}");
        }
    }
}
