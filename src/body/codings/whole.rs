//! A body decoded whole: [`decode`] undoes each coding in turn on a body
//! already received, and [`Decoded`] is what comes out — the body itself
//! when it had no coding, else bytes of its own, on the heap or, when the
//! output is likely megabytes, in memory mapped for it.
//!
//! # Why it is shaped this way
//!
//! Each stage reads one byte past its limit, to tell a body at the limit
//! from one over it, and never more: a few kilobytes of gzip can expand to
//! gigabytes, so the bound holds while decoding, not after. Compressed
//! input from [`MAPPED_INPUT`] up is decoded into a [`MappedBuffer`] (see
//! [`buffer`]): address space for the limit, made resident just ahead of
//! the bytes written. What this gives is also the reference the arriving
//! decoder (`arriving.rs`) is held to, refusal for refusal.

use super::super::buffer::{self, MappedBuffer};
use super::{Coding, DecodeError, ZSTD_WINDOW_LOG_MAX, too_large, undecodable};
use std::io::Read;
use std::ops::Deref;

/// A decoded body: the body itself when it had no coding, else bytes of
/// its own (in memory mapped for them when large, see [`crate::buffer`]).
pub enum Decoded<'a> {
    Same(&'a [u8]),
    Heap(Vec<u8>),
    Mapped(MappedBuffer),
}

impl Decoded<'_> {
    /// Whether this is the body itself, undecoded (it holds no memory).
    pub fn is_same(&self) -> bool {
        matches!(self, Decoded::Same(_))
    }

    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Decoded::Heap(v) => v,
            other => other.to_vec(),
        }
    }
}

impl Deref for Decoded<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Decoded::Same(b) => b,
            Decoded::Heap(v) => v,
            Decoded::Mapped(m) => m,
        }
    }
}

impl std::fmt::Debug for Decoded<'_> {
    /// Its size only: a body's bytes never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Decoded({} bytes)", self.len())
    }
}

impl AsRef<[u8]> for Decoded<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// Undoes `codings` (applied first to last) on `body`, never producing more
/// than `limit` bytes at any stage.
pub fn decode<'a>(
    body: &'a [u8],
    codings: &[Coding],
    limit: u64,
) -> Result<Decoded<'a>, DecodeError> {
    let mut current = Decoded::Same(body);
    for coding in codings.iter().rev() {
        let next = decode_one(&current, *coding, limit)?;
        current = next;
    }
    if current.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(current)
}

/// Compressed input from this size up is decoded into a mapped buffer: its
/// output is likely megabytes.
const MAPPED_INPUT: usize = buffer::LARGE / 8;

/// What a decoder is asked for at once, into a mapped buffer.
const READ_STEP: usize = 256 << 10;

fn decode_one(input: &[u8], coding: Coding, limit: u64) -> Result<Decoded<'static>, DecodeError> {
    let mut reader: Box<dyn Read + '_> = match coding {
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
    // One byte more than the limit is read, to tell "at the limit" from
    // "over it".
    let room = limit.saturating_add(1);
    let mapped = if input.len() >= MAPPED_INPUT {
        usize::try_from(room).ok().and_then(MappedBuffer::new)
    } else {
        None
    };
    let out = match mapped {
        Some(mut out) => {
            loop {
                let spare = out.spare(READ_STEP);
                if spare.is_empty() {
                    break;
                }
                match reader.read(spare) {
                    Ok(0) => break,
                    Ok(n) => out.advance(n),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return Err(undecodable(coding)),
                }
            }
            Decoded::Mapped(out)
        }
        None => {
            let mut out = Vec::new();
            reader
                .take(room)
                .read_to_end(&mut out)
                .map_err(|_| undecodable(coding))?;
            out.shrink_to_fit();
            Decoded::Heap(out)
        }
    };
    if out.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::parse_codings;
    use super::super::tests::{brotli, gzip};
    use super::*;
    use std::io::Write;

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
    fn a_body_that_is_not_what_the_header_says_is_refused() {
        let plain = br#"{"Event":{}}"#;
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd] {
            let err = decode(plain, &[coding], 1 << 20).unwrap_err();
            assert_eq!(err, DecodeError::Undecodable(coding));
        }
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 8 << 20];
        let bomb = gzip(&zeros);
        assert!(bomb.len() < 64 << 10);
        let err = decode(&bomb, &[Coding::Gzip], 1 << 20).unwrap_err();
        assert_eq!(err, DecodeError::TooLarge(1 << 20));
        assert!(decode(&bomb, &[Coding::Gzip], 8 << 20).is_ok());
    }

    /// Large compressed input is decoded into a mapped buffer: the same
    /// bytes, and the same bound.
    #[test]
    fn large_input_decodes_the_same_and_is_bounded_the_same() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut data: Vec<u8> = (0..MAPPED_INPUT + 100_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        data.extend(std::iter::repeat_n(b'0', 8 << 20));
        let encoded = gzip(&data);
        assert!(encoded.len() >= MAPPED_INPUT, "takes the mapped path");
        let decoded = decode(&encoded, &[Coding::Gzip], 16 << 20).unwrap();
        assert!(matches!(decoded, Decoded::Mapped(_)));
        assert_eq!(&decoded[..], &data[..]);
        let err = decode(&encoded, &[Coding::Gzip], 4 << 20).unwrap_err();
        assert_eq!(err, DecodeError::TooLarge(4 << 20));
        let at_limit = decode(&encoded, &[Coding::Gzip], data.len() as u64).unwrap();
        assert_eq!(at_limit.len(), data.len());
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
        assert_eq!(err, DecodeError::Undecodable(Coding::Zstd));
    }

    #[test]
    fn identity_is_borrowed_and_still_bounded() {
        let body = b"12345";
        assert!(decode(body, &[], 5).unwrap().is_same());
        assert_eq!(decode(body, &[], 4).unwrap_err(), DecodeError::TooLarge(4));
    }
}
