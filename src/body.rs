//! Content decoding: a body is inspected as the receiver will read it, so a
//! compressed body is decompressed first — with a bound on the decoded size,
//! because a few kilobytes of gzip can expand to gigabytes.
//!
//! Fail closed: an encoding not listed here, an empty token in the header, a
//! body that does not decode as its header says, or a decoded size over the
//! limit is a [`Block`]. The bytes forwarded are always the original ones.

use crate::policy::{Block, Rule};
use std::borrow::Cow;
use std::io::Read;

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

/// Parses every `Content-Encoding` header value (there may be several) into
/// the list of codings applied, outermost last. `identity` is dropped.
pub fn parse_codings<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Vec<Coding>, Block> {
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
                "" => {
                    return Err(Block::new(
                        Rule::ContentEncoding,
                        "empty token in Content-Encoding",
                    ));
                }
                _ => {
                    return Err(Block::new(
                        Rule::ContentEncoding,
                        format!(
                            "unsupported content encoding {}",
                            crate::policy::printable(token)
                        ),
                    ));
                }
            };
            out.push(coding);
        }
    }
    Ok(out)
}

/// Undoes `codings` (applied first to last) on `body`, never producing more
/// than `limit` bytes at any stage.
pub fn decode<'a>(body: &'a [u8], codings: &[Coding], limit: u64) -> Result<Cow<'a, [u8]>, Block> {
    let mut current: Cow<[u8]> = Cow::Borrowed(body);
    for coding in codings.iter().rev() {
        current = Cow::Owned(decode_one(&current, *coding, limit)?);
    }
    if current.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(current)
}

fn decode_one(input: &[u8], coding: Coding, limit: u64) -> Result<Vec<u8>, Block> {
    let reader: Box<dyn Read + '_> = match coding {
        Coding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Coding::Deflate => Box::new(flate2::read::ZlibDecoder::new(input)),
        Coding::Brotli => Box::new(brotli::Decompressor::new(input, 64 * 1024)),
        Coding::Zstd => {
            let mut decoder =
                zstd::stream::read::Decoder::with_buffer(input).map_err(|_| undecodable(coding))?;
            // A frame may ask for a window of up to 128 MiB before a byte
            // comes out; HTTP's zstd allows refusing more than 8 MiB
            // (RFC 9659), and so does the guard.
            decoder
                .window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(|_| undecodable(coding))?;
            Box::new(decoder)
        }
    };
    let mut out = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|_| undecodable(coding))?;
    if out.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(out)
}

fn undecodable(coding: Coding) -> Block {
    Block::new(
        Rule::ContentEncoding,
        format!("body does not decode as its Content-Encoding says ({coding:?})"),
    )
}

fn too_large(limit: u64) -> Block {
    Block::new(
        Rule::BodyTooLarge,
        format!("decoded body is larger than max_body_bytes ({limit})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    #[test]
    fn each_coding_round_trips() {
        let data = br#"{"Event":{"distribution":"0"}}"#;
        let deflate = {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        };
        let zstd = zstd::encode_all(&data[..], 3).unwrap();
        for (coding, encoded) in [
            (Coding::Gzip, gzip(data)),
            (Coding::Deflate, deflate),
            (Coding::Brotli, brotli(data)),
            (Coding::Zstd, zstd),
        ] {
            assert_eq!(
                decode(&encoded, &[coding], 1 << 20).unwrap().as_ref(),
                data,
                "{coding:?}"
            );
        }
    }

    #[test]
    fn stacked_codings_are_undone_in_reverse() {
        let data = b"[1,2,3]";
        let stacked = brotli(&gzip(data));
        let codings = parse_codings(["gzip, br"]).unwrap();
        assert_eq!(codings, vec![Coding::Gzip, Coding::Brotli]);
        assert_eq!(decode(&stacked, &codings, 1 << 20).unwrap().as_ref(), data);
        // Two header fields mean the same as one with a list.
        assert_eq!(parse_codings(["gzip", "br"]).unwrap(), codings);
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

    #[test]
    fn a_body_that_is_not_what_the_header_says_is_refused() {
        let plain = br#"{"Event":{}}"#;
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd] {
            let err = decode(plain, &[coding], 1 << 20).unwrap_err();
            assert_eq!(err.rule, Rule::ContentEncoding, "{coding:?}");
        }
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 8 << 20];
        let bomb = gzip(&zeros);
        assert!(bomb.len() < 64 << 10);
        let err = decode(&bomb, &[Coding::Gzip], 1 << 20).unwrap_err();
        assert_eq!(err.rule, Rule::BodyTooLarge);
        assert!(decode(&bomb, &[Coding::Gzip], 8 << 20).is_ok());
    }

    #[test]
    fn a_zstd_window_over_8_mib_is_refused() {
        let data = vec![7u8; 1 << 20];
        let mut small = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        small.window_log(23).unwrap();
        std::io::copy(&mut &data[..], &mut small).unwrap();
        let small = small.finish().unwrap();
        assert!(decode(&small, &[Coding::Zstd], 1 << 21).is_ok());
        let mut large = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        large.long_distance_matching(true).unwrap();
        large.window_log(27).unwrap();
        std::io::copy(&mut &data[..], &mut large).unwrap();
        let large = large.finish().unwrap();
        let err = decode(&large, &[Coding::Zstd], 1 << 21).unwrap_err();
        assert_eq!(err.rule, Rule::ContentEncoding);
    }

    #[test]
    fn identity_is_borrowed_and_still_bounded() {
        let body = b"12345";
        assert!(matches!(decode(body, &[], 5).unwrap(), Cow::Borrowed(_)));
        assert_eq!(decode(body, &[], 4).unwrap_err().rule, Rule::BodyTooLarge);
    }
}
