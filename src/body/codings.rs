//! Content decoding: a body is inspected as the receiver will read it, so a
//! compressed body is decompressed first — with a bound on the decoded size,
//! because a few kilobytes of gzip can expand to gigabytes.
//!
//! Fail closed: an encoding not listed here, an empty token in the header, a
//! body that does not decode as its header says, or a decoded size over the
//! limit is a [`DecodeError`] (the policy turns each into a refusal). The
//! bytes forwarded are always the original ones.

use super::buffer::{self, MappedBuffer};
use crate::config::limits::RATIO_FLOOR;
use crate::json::Arrival;
use bytes::Bytes;
use std::io::{BufRead, Read};
use std::ops::Deref;

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

/// Pieces of decoded output pushed at once by [`DecodePlan::decode_into`]
/// (a reader waits for a whole piece, or the end).
const PIECE: usize = 128 << 10;

impl DecodePlan {
    /// Decodes an encoded body read from `input` as it arrives, pushing
    /// the decoded bytes into `out` piece by piece, and ends `out`:
    /// finished when the body decoded within bounds, failed otherwise —
    /// with the error returned, the one [`decode`](Self::decode) gives the
    /// whole body under the plan for its length (`for_len`), decided once
    /// `input` is read to its end:
    ///
    /// - decoding stops as soon as more than this plan's room came out;
    ///   if that is more than the room for the body's real length, or the
    ///   body fails to decode after that much, the refusal is for size (or
    ///   ratio), as `decode` would have stopped there;
    /// - a body that does not decode as its codings say is
    ///   `Undecodable`, a failing `input` is `Input`.
    ///
    /// A plan made without the length (`usize::MAX`) lets up to the limit
    /// out before the ratio can be decided. One coding is decoded as the
    /// body arrives; stacked codings (which MISP never sends) wait for the
    /// whole body and are decoded as `decode` does. Returns the decoded
    /// length.
    pub fn decode_into(&self, input: impl BufRead, out: &Arrival) -> Result<u64, DecodeError> {
        let result = self.decode_stream(input, out);
        match &result {
            Ok(_) => out.finish(),
            Err(e) => out.fail(e.to_string()),
        }
        result
    }

    fn decode_stream(&self, input: impl BufRead, out: &Arrival) -> Result<u64, DecodeError> {
        let mut input = Counted {
            inner: input,
            read: 0,
            failed: None,
        };
        if self.codings.len() > 1 {
            let mut raw = Vec::new();
            if input.read_to_end(&mut raw).is_err() {
                return Err(input.failure());
            }
            let decoded = self.for_len(raw.len()).decode(&raw)?;
            let len = decoded.len() as u64;
            out.push(Bytes::from(decoded.into_vec()));
            return Ok(len);
        }
        let coding = self.codings.first().copied();
        // Read in steps that never ask for more than one byte past the
        // room, as `decode` does, so a body fails at the same place.
        let room = self.room;
        let mut produced: u64 = 0;
        let mut over = false;
        let mut undecodable = false;
        {
            let mut reader: Box<dyn Read + '_> = match coding {
                None => Box::new(&mut input),
                Some(coding) => match decoder(&mut input, coding) {
                    Ok(r) => r,
                    Err(_) => {
                        undecodable = true;
                        Box::new(std::io::empty())
                    }
                },
            };
            let mut piece = vec![0u8; PIECE];
            let mut filled = 0;
            while !undecodable {
                let want = (PIECE - filled)
                    .min((room.saturating_add(1) - produced).min(PIECE as u64) as usize);
                if want == 0 {
                    over = true;
                    break;
                }
                match reader.read(&mut piece[filled..filled + want]) {
                    Ok(0) => break,
                    Ok(n) => {
                        filled += n;
                        produced += n as u64;
                        if produced > room {
                            over = true;
                            break;
                        }
                        if filled == PIECE {
                            out.push(Bytes::from(std::mem::replace(&mut piece, vec![0u8; PIECE])));
                            filled = 0;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => undecodable = true,
                }
            }
            if filled > 0 && !over && !undecodable {
                // The last piece, short: copied to its size rather than
                // holding a whole piece's memory (small bodies).
                out.push(Bytes::copy_from_slice(&piece[..filled]));
            }
        }
        if input.failed.is_some() {
            return Err(input.failure());
        }
        // The rest of the body (after a stream that ended, or one that
        // failed): its length sets the room it is held to.
        if input.drain().is_err() {
            return Err(input.failure());
        }
        let held = self.for_len(input.read as usize);
        if over || produced > held.room {
            return Err(match held.ratio {
                Some(ratio) => DecodeError::Ratio(ratio),
                None => too_large(held.room),
            });
        }
        if undecodable {
            return Err(undecodable_error(coding));
        }
        Ok(produced)
    }
}

fn undecodable_error(coding: Option<Coding>) -> DecodeError {
    match coding {
        Some(coding) => DecodeError::Undecodable(coding),
        None => DecodeError::Input("unreadable".into()),
    }
}

/// The decoder of one coding over `input`.
fn decoder<'r, R: Read + 'r>(input: R, coding: Coding) -> Result<Box<dyn Read + 'r>, DecodeError> {
    Ok(match coding {
        Coding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Coding::Deflate => Box::new(flate2::read::ZlibDecoder::new(input)),
        Coding::Brotli => Box::new(brotli::Decompressor::new(input, 64 * 1024)),
        Coding::Zstd => {
            let mut decoder =
                zstd::stream::read::Decoder::new(input).map_err(|_| undecodable(coding))?;
            // See `decode_one`.
            decoder
                .window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(|_| undecodable(coding))?;
            Box::new(decoder)
        }
    })
}

/// The encoded input, counted, its failure kept apart from the decoder's.
struct Counted<R> {
    inner: R,
    read: u64,
    failed: Option<String>,
}

impl<R: BufRead> Counted<R> {
    /// Reads the rest of the input, counting it.
    fn drain(&mut self) -> std::io::Result<()> {
        loop {
            let n = match self.inner.fill_buf() {
                Ok([]) => return Ok(()),
                Ok(buf) => buf.len(),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.failed = Some(e.to_string());
                    return Err(e);
                }
            };
            self.inner.consume(n);
            self.read += n as u64;
        }
    }

    fn failure(&self) -> DecodeError {
        DecodeError::Input(self.failed.clone().unwrap_or_default())
    }
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.read += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                self.failed = Some(e.to_string());
                Err(e)
            }
        }
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

    /// What `decode_into` gives: the decoded bytes (`out` finished), or
    /// the error (`out` failed).
    fn decode_arriving(plan: &DecodePlan, chunks: &[&[u8]]) -> Result<Vec<u8>, DecodeError> {
        let raw = Arrival::from_chunks(chunks.iter().map(|c| Bytes::copy_from_slice(c)));
        let out = Arrival::new();
        let len = plan.decode_into(raw.reader(), &out);
        let mut got = Vec::new();
        let read = out.reader().read_to_end(&mut got);
        assert_eq!(read.is_ok(), len.is_ok(), "finished exactly when decoded");
        len.map(|len| {
            assert_eq!(len as usize, got.len());
            got
        })
    }

    /// Decoding as a body arrives says what decoding it whole says, for
    /// every coding, bomb and bound, however the body is cut, and whether
    /// or not its length was known in advance.
    #[test]
    fn decoding_as_it_arrives_says_what_decoding_whole_says() {
        let text: Vec<u8> = (0..100_000u32)
            .flat_map(|i| format!("{{\"n\":{i},\"v\":\"{}\"}},", i % 97).into_bytes())
            .collect();
        let deflate = |d: &[u8]| {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(d).unwrap();
            e.finish().unwrap()
        };
        let zeros = vec![0u8; 4 << 20];
        let mut cases: Vec<(Vec<Coding>, Vec<u8>)> = vec![
            (vec![Coding::Gzip], gzip(&text)),
            (vec![Coding::Deflate], deflate(&text)),
            (vec![Coding::Brotli], brotli(&text)),
            (vec![Coding::Zstd], zstd::encode_all(&text[..], 3).unwrap()),
            (vec![Coding::Gzip], gzip(&zeros)),
            (vec![Coding::Gzip, Coding::Brotli], brotli(&gzip(&text))),
            (vec![Coding::Gzip], text[..1000].to_vec()),
            (vec![], text[..5000].to_vec()),
        ];
        // A stream cut short, one with trailing bytes, two gzip members.
        let gz = gzip(&text);
        cases.push((vec![Coding::Gzip], gz[..gz.len() / 2].to_vec()));
        let mut trailing = deflate(&text[..10_000]);
        trailing.extend_from_slice(b"trailing bytes after the stream");
        cases.push((vec![Coding::Deflate], trailing));
        let mut members = gzip(&text[..7000]);
        members.extend(gzip(&text[7000..9000]));
        cases.push((vec![Coding::Gzip], members));
        for (codings, raw) in &cases {
            for (limit, ratio) in [(64 << 20, 100), (1 << 20, 100), (64 << 20, 3), (100, 1000)] {
                let plan = DecodePlan::new(codings.clone(), raw.len(), limit, ratio);
                let want = plan.decode(raw).map(|d| d.to_vec());
                for plan in [plan.clone(), plan.for_len(usize::MAX)] {
                    for cut in [raw.len(), 1000, 16 << 10] {
                        let chunks: Vec<&[u8]> = raw.chunks(cut.max(1)).collect();
                        assert_eq!(
                            decode_arriving(&plan, &chunks),
                            want,
                            "{codings:?} limit {limit} ratio {ratio} cut {cut}"
                        );
                    }
                }
            }
        }
    }

    /// An encoded body that stops arriving fails the decoded one.
    #[test]
    fn a_body_that_stops_arriving_fails_its_decoding() {
        let (raw, producer) = Arrival::channel();
        let gz = gzip(&[b'x'; 100_000]);
        producer.push(Bytes::copy_from_slice(&gz[..gz.len() / 2]));
        producer.fail("connection reset");
        let out = Arrival::new();
        let plan = DecodePlan::new(vec![Coding::Gzip], gz.len(), 1 << 20, 100);
        let err = plan.decode_into(raw.reader(), &out).unwrap_err();
        assert!(
            matches!(err, DecodeError::Input(ref why) if why.contains("connection reset")),
            "{err:?}"
        );
        assert!(out.wait_end().is_err());
    }
}
