//! Strings: the reader's hot loop. A string's bytes are scanned eight at a
//! time for the ones that end a plain run (`"`, `\`, a control character,
//! a byte that is not ASCII); each character that is not ASCII is checked
//! as UTF-8 where it stands; a string is borrowed from its chunk when it
//! can be, copied into the scratch buffer when it has an escape or runs
//! past its chunk's end.
//!
//! # Why apart
//!
//! Most of a body's bytes go through here, read or skipped, and the
//! reader's one `unsafe` stands on this scan: [`checked_str`] makes a
//! `&str` of bytes without checking them again because [`find_special`]
//! and [`utf8_len`] passed them (here, and for a raw value's text in
//! [`Reader::end_raw`]). The scan and the string reading that relies on it
//! are kept in one file, so the invariant is checked by reading one file.
//! Escapes, off the scan's path (a string with one is copied), are in
//! `escape.rs`.

use super::escape::{ignore_escape, parse_escape};
use super::{Reader, Reference, Result};
use crate::json::error::{Code, Error};

const ONES: u64 = u64::MAX / 255;
const HIGH: u64 = ONES << 7;

/// Whether a byte ends a run of plain string bytes: `"`, `\`, a control
/// character, or a byte that is not ASCII (checked as UTF-8).
#[inline(always)]
fn special(b: u8) -> bool {
    b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b)
}

/// The index of the first [`special`] byte of `s` at or after `i`, or
/// `s.len()`. Eight bytes at a time (the SWAR test of serde_json's string
/// scan, plus the high bit for non-ASCII bytes): the lowest flagged byte
/// of a word is always a true one (a false flag only ever sits above a
/// true one).
#[inline(always)]
fn find_special(s: &[u8], mut i: usize) -> usize {
    // Empty strings and escapes in a row stop at once.
    if i >= s.len() || special(s[i]) {
        return i;
    }
    i += 1;
    let rest = &s[i..];
    let mut words = rest.chunks_exact(8);
    for word in &mut words {
        let v = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let ctrl = v.wrapping_sub(ONES * 0x20);
        let q = v ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q;
        let bs = v ^ (ONES * u64::from(b'\\'));
        let backslash = bs.wrapping_sub(ONES) & !bs;
        // `ctrl` flags bytes under 0x20 (and, as its `& !v` is left out,
        // bytes of 0xA0 and up, which `v` flags anyway).
        let found = (ctrl | quote | backslash | v) & HIGH;
        if found != 0 {
            return i + found.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    while i < s.len() && !special(s[i]) {
        i += 1;
    }
    i
}

/// The length of the UTF-8 character that starts at `s[i]` (not ASCII):
/// `Ok(Some(n))`, `Ok(None)` when it runs past the end of `s` with every
/// byte so far right, `Err(())` when it is not UTF-8.
#[inline]
fn utf8_len(s: &[u8], i: usize) -> std::result::Result<Option<usize>, ()> {
    let lead = s[i];
    // The range of the second byte, and the number of bytes.
    let (second, n) = match lead {
        0xC2..=0xDF => (0x80..=0xBF, 2),
        0xE0 => (0xA0..=0xBF, 3),
        0xE1..=0xEC | 0xEE..=0xEF => (0x80..=0xBF, 3),
        0xED => (0x80..=0x9F, 3),
        0xF0 => (0x90..=0xBF, 4),
        0xF1..=0xF3 => (0x80..=0xBF, 4),
        0xF4 => (0x80..=0x8F, 4),
        _ => return Err(()),
    };
    for k in 1..n {
        let Some(&b) = s.get(i + k) else {
            return Ok(None);
        };
        let ok = if k == 1 {
            second.contains(&b)
        } else {
            (0x80..=0xBF).contains(&b)
        };
        if !ok {
            return Err(());
        }
    }
    Ok(Some(n))
}

/// Text from bytes the reader has checked.
///
/// # Invariant
/// Every byte of `bytes` was passed by [`find_special`] as ASCII, or is
/// part of a whole character [`utf8_len`] accepted (or, in the scratch
/// buffer, one an escape produced with its surrogates checked): the bytes
/// are UTF-8. Checking them again with `str::from_utf8` would read every
/// string the model keeps a second time (and the whole body was checked
/// already): a few percent of the judge.
#[inline]
pub(super) fn checked_str(bytes: &[u8]) -> &str {
    debug_assert!(std::str::from_utf8(bytes).is_ok());
    // SAFETY: see the invariant above; the reader's tests and the `json`
    // fuzz target check it against `str::from_utf8` on every input.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

impl<'b> Reader<'b> {
    /// A byte sequence that is not UTF-8, starting at the next byte.
    #[cold]
    fn utf8_error(&self) -> Error {
        // Its column is the one after the bad byte, as for a byte read.
        let (line, column) = self.position_of(self.offset() + 1);
        Error::syntax(Code::InvalidUtf8, line, column)
    }

    /// A non-ASCII character at the next byte, checked: its bytes are
    /// consumed, across chunks if need be, and (when given) appended to
    /// `out`. For a character that runs past the end of the chunk.
    #[cold]
    #[inline(never)]
    fn utf8_across(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<()> {
        let mut bytes = [0u8; 4];
        let mut n = 0;
        loop {
            let Some(b) = self.peek()? else {
                // The body ends inside the character.
                return Err(self.utf8_error());
            };
            bytes[n] = b;
            n += 1;
            match utf8_len(&bytes[..n], 0) {
                Ok(Some(len)) => {
                    debug_assert_eq!(len, n);
                    self.discard();
                    if let Some(out) = out.as_mut() {
                        out.extend_from_slice(&bytes[..n]);
                    }
                    return Ok(());
                }
                Ok(None) => self.discard(),
                Err(()) => {
                    // The error sits at the character's first byte (where
                    // `str::from_utf8` says the valid text ends).
                    return Err(self.utf8_error());
                }
            }
        }
    }

    /// Reads a string's content after its opening quote, through its
    /// closing quote: borrowed when it lies in one chunk and has no escape,
    /// else copied into `scratch`. `validate`: `\u` escapes must pair their
    /// surrogates (serde_json's `parse_str`), or may leave them lone
    /// (`parse_str_raw`, for bytes). Every byte is checked as UTF-8.
    pub(crate) fn parse_str_bytes<'s>(
        &mut self,
        scratch: &'s mut Vec<u8>,
        validate: bool,
    ) -> Result<Reference<'b, 's, [u8]>> {
        let mut start = self.pos;
        loop {
            self.pos = find_special(self.cur, self.pos);
            if self.pos == self.cur.len() {
                scratch.extend_from_slice(&self.cur[start..]);
                if !self.advance()? {
                    return Err(self.error(Code::EofWhileParsingString));
                }
                start = 0;
                continue;
            }
            match self.cur[self.pos] {
                b'"' => {
                    let run = &self.cur[start..self.pos];
                    self.pos += 1;
                    if scratch.is_empty() {
                        return Ok(Reference::Borrowed(run));
                    }
                    scratch.extend_from_slice(run);
                    return Ok(Reference::Copied(scratch));
                }
                b'\\' => {
                    scratch.extend_from_slice(&self.cur[start..self.pos]);
                    self.pos += 1;
                    parse_escape(self, validate, scratch)?;
                    start = self.pos;
                }
                0x80.. => match utf8_len(self.cur, self.pos) {
                    Ok(Some(n)) => self.pos += n,
                    Ok(None) => {
                        scratch.extend_from_slice(&self.cur[start..self.pos]);
                        self.utf8_across(Some(scratch))?;
                        start = self.pos;
                    }
                    Err(()) => return Err(self.utf8_error()),
                },
                _ => {
                    self.pos += 1;
                    return Err(self.error(Code::ControlCharacterWhileParsingString));
                }
            }
        }
    }

    /// [`parse_str_bytes`](Self::parse_str_bytes) as text.
    #[inline]
    pub(crate) fn parse_str<'s>(
        &mut self,
        scratch: &'s mut Vec<u8>,
    ) -> Result<Reference<'b, 's, str>> {
        Ok(match self.parse_str_bytes(scratch, true)? {
            Reference::Borrowed(b) => Reference::Borrowed(checked_str(b)),
            Reference::Copied(c) => Reference::Copied(checked_str(c)),
        })
    }

    /// Skips a string's content after its opening quote, through its
    /// closing quote: escapes checked as serde_json checks them when it
    /// skips (any four hex digits after `\u`), every byte checked as UTF-8.
    pub(crate) fn ignore_str(&mut self) -> Result<()> {
        loop {
            self.pos = find_special(self.cur, self.pos);
            if self.pos == self.cur.len() {
                if !self.advance()? {
                    return Err(self.error(Code::EofWhileParsingString));
                }
                continue;
            }
            match self.cur[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' => {
                    self.pos += 1;
                    ignore_escape(self)?;
                }
                0x80.. => match utf8_len(self.cur, self.pos) {
                    Ok(Some(n)) => self.pos += n,
                    Ok(None) => self.utf8_across(None)?,
                    Err(()) => return Err(self.utf8_error()),
                },
                _ => return Err(self.error(Code::ControlCharacterWhileParsingString)),
            }
        }
    }
}
