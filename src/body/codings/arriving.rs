//! A body decoded as it arrives: [`DecodePlan::decode_into`] reads the
//! encoded bytes as the connection delivers them and pushes the decoded
//! ones into an [`Arrival`], piece by piece, for the judge to read while
//! the rest is still coming.
//!
//! # Why it is shaped this way
//!
//! Its refusals must be the very ones [`decode`](super::decode) gives the
//! whole body (the judge's verdict may not depend on how a body arrived;
//! only its reason may, in one case found by fuzzing: a body both corrupt
//! and larger than its room is refused for one or the other, because a
//! brotli decoder holds back what it decoded until its input runs dry, so
//! how much came out before the fault showed depends on where the input
//! was cut),
//! but the body's real length — which sets the room the ratio allows — is
//! only known at its end. So decoding runs under the plan made before
//! (the declared length, or the limit), stops as soon as that room is
//! passed, and decides at the end, against the plan for the real length,
//! whether what came out was too much. The encoded input is [`Counted`],
//! its own failure kept apart from the decoder's, so a connection that
//! breaks is `Input`, not `Undecodable`. Stacked codings (which MISP never
//! sends) wait for the whole body and go through `decode`.

use super::{Coding, DecodeError, DecodePlan, ZSTD_WINDOW_LOG_MAX, too_large, undecodable};
use crate::json::Arrival;
use bytes::Bytes;
use std::io::{BufRead, Read};

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
            // See `decode_one` (whole.rs).
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

#[cfg(test)]
mod tests {
    use super::super::tests::{brotli, gzip};
    use super::*;
    use std::io::Write;

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
