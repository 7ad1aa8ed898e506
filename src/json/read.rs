//! The reader under the deserializer: a cursor over the chunks of a body,
//! the byte-level hot loops (strings, UTF-8), and places for errors.
//!
//! Everything the deserializer reads goes through [`Reader::peek`] and
//! [`Reader::next`], which look at the current chunk and only leave it in
//! [`Reader::advance`] (cold): the next chunk, waited for if it has not
//! arrived. Numbers, literals and escapes are read byte by byte through
//! them, so a chunk boundary inside one costs nothing special. Strings are
//! scanned eight bytes at a time within the current chunk; one that runs
//! past the chunk's end is copied, piece by piece, into the scratch buffer.

use super::arrival::Arrival;
use super::error::{Code, Error};

pub(crate) type Result<T> = std::result::Result<T, Error>;

/// A string as read: borrowed from the body (one chunk, no escape) or
/// copied into the scratch buffer.
pub(crate) enum Reference<'b, 's, T: ?Sized> {
    Borrowed(&'b T),
    Copied(&'s T),
}

impl<T: ?Sized> std::ops::Deref for Reference<'_, '_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Reference::Borrowed(b) => b,
            Reference::Copied(c) => c,
        }
    }
}

/// Where a raw value began ([`Reader::begin_raw`]).
#[derive(Clone, Copy)]
pub(crate) struct RawStart {
    chunk: usize,
    pos: usize,
    offset: usize,
}

pub(crate) struct Reader<'b> {
    /// The chunk being read, and the index of the next byte in it.
    cur: &'b [u8],
    pos: usize,
    /// Offset of `cur[0]` in the body.
    base: usize,
    /// Where further chunks come from; `None` for a body given as one
    /// slice.
    src: Option<&'b Arrival>,
    /// Index of `cur` among the arrival's chunks; of the next one to take.
    cur_index: usize,
    next_index: usize,
    /// The slice, for a body given as one (to place errors).
    slice: &'b [u8],
}

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
fn checked_str(bytes: &[u8]) -> &str {
    debug_assert!(std::str::from_utf8(bytes).is_ok());
    // SAFETY: see the invariant above; the reader's tests and the `json`
    // fuzz target check it against `str::from_utf8` on every input.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

impl<'b> Reader<'b> {
    pub(crate) fn from_slice(slice: &'b [u8]) -> Reader<'b> {
        Reader {
            cur: slice,
            pos: 0,
            base: 0,
            src: None,
            cur_index: 0,
            next_index: 0,
            slice,
        }
    }

    pub(crate) fn from_arrival(arrival: &'b Arrival) -> Reader<'b> {
        Reader {
            cur: &[],
            pos: 0,
            base: 0,
            src: Some(arrival),
            cur_index: 0,
            next_index: 0,
            slice: &[],
        }
    }

    /// Moves to the next chunk that is not empty, waiting for it: false at
    /// the end of the body. Only when the current chunk is read to its end.
    #[cold]
    #[inline(never)]
    fn advance(&mut self) -> Result<bool> {
        debug_assert_eq!(self.pos, self.cur.len());
        let Some(src) = self.src else {
            return Ok(false);
        };
        loop {
            match src.wait_chunk(self.next_index) {
                Ok(Some(chunk)) => {
                    let index = self.next_index;
                    self.next_index += 1;
                    if chunk.is_empty() {
                        continue;
                    }
                    self.base += self.cur.len();
                    self.cur = chunk;
                    self.cur_index = index;
                    self.pos = 0;
                    return Ok(true);
                }
                Ok(None) => {
                    self.base += self.cur.len();
                    self.cur = &[];
                    self.pos = 0;
                    return Ok(false);
                }
                Err(failed) => return Err(Error::failed(failed)),
            }
        }
    }

    #[inline(always)]
    pub(crate) fn peek(&mut self) -> Result<Option<u8>> {
        if self.pos < self.cur.len() {
            Ok(Some(self.cur[self.pos]))
        } else {
            self.peek_slow()
        }
    }

    #[cold]
    #[inline(never)]
    fn peek_slow(&mut self) -> Result<Option<u8>> {
        Ok(if self.advance()? {
            Some(self.cur[0])
        } else {
            None
        })
    }

    #[inline(always)]
    pub(crate) fn next(&mut self) -> Result<Option<u8>> {
        let b = self.peek()?;
        if b.is_some() {
            self.pos += 1;
        }
        Ok(b)
    }

    /// Consumes the byte [`peek`](Self::peek) returned.
    #[inline(always)]
    pub(crate) fn discard(&mut self) {
        self.pos += 1;
    }

    /// Offset of the next byte in the body.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// The line and column of the byte at `offset`, as serde_json counts
    /// them. Only for errors: it reads the body from its start.
    fn position_of(&self, offset: usize) -> (usize, usize) {
        let mut line = 1;
        let mut line_start = 0;
        let mut at = 0;
        let mut count = |piece: &[u8]| {
            let take = piece.len().min(offset.saturating_sub(at));
            for (i, &b) in piece[..take].iter().enumerate() {
                if b == b'\n' {
                    line += 1;
                    line_start = at + i + 1;
                }
            }
            at += piece.len();
            at < offset
        };
        match self.src {
            None => {
                count(self.slice);
            }
            Some(src) => {
                for chunk in src.chunks() {
                    if !count(chunk) {
                        break;
                    }
                }
            }
        }
        (line, offset - line_start)
    }

    /// An error at the next byte (serde_json's `position`).
    #[cold]
    pub(crate) fn error(&self, code: Code) -> Error {
        let (line, column) = self.position_of(self.offset());
        Error::syntax(code, line, column)
    }

    /// An error at the byte just peeked (serde_json's `peek_position`: one
    /// further, but not past the end).
    #[cold]
    pub(crate) fn peek_error(&self, code: Code) -> Error {
        let offset = self.offset() + usize::from(self.pos < self.cur.len());
        let (line, column) = self.position_of(offset);
        Error::syntax(code, line, column)
    }

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

    /// Four hex digits of a `\u` escape (serde_json's `decode_hex_escape`:
    /// the end of the body within them is an EOF error, whatever came
    /// before; a digit that is not hex an invalid escape, after all four).
    pub(crate) fn decode_hex_escape(&mut self) -> Result<u16> {
        let mut digits = [0u8; 4];
        if self.pos + 4 <= self.cur.len() {
            digits.copy_from_slice(&self.cur[self.pos..self.pos + 4]);
            self.pos += 4;
        } else {
            for d in &mut digits {
                match self.next()? {
                    Some(b) => *d = b,
                    None => return Err(self.error(Code::EofWhileParsingString)),
                }
            }
        }
        let [a, b, c, d] = digits;
        match decode_four_hex_digits(a, b, c, d) {
            Some(v) => Ok(v),
            None => Err(self.error(Code::InvalidEscape)),
        }
    }

    /// Marks the start of a raw value: the next byte.
    pub(crate) fn begin_raw(&mut self) -> Result<RawStart> {
        // On the byte itself, not at the end of the chunk before it.
        self.peek()?;
        Ok(RawStart {
            chunk: self.cur_index,
            pos: self.pos,
            offset: self.offset(),
        })
    }

    /// Chunk `index` of the body (the slice, for a body given as one).
    fn chunk(&self, index: usize) -> &'b [u8] {
        match self.src {
            None => self.slice,
            Some(src) => src.chunk_at(index).expect("chunks read are kept"),
        }
    }

    /// The text from `start` to here: borrowed when it lies in one chunk.
    pub(crate) fn end_raw(&self, start: RawStart) -> std::result::Result<&'b str, String> {
        let mut len = self.offset() - start.offset;
        let first = self.chunk(start.chunk);
        if start.pos + len <= first.len() {
            return Ok(checked_str(&first[start.pos..start.pos + len]));
        }
        let mut raw = Vec::with_capacity(len);
        let (mut index, mut from) = (start.chunk, start.pos);
        while len > 0 {
            let chunk = &self.chunk(index)[from..];
            let take = chunk.len().min(len);
            raw.extend_from_slice(&chunk[..take]);
            len -= take;
            index += 1;
            from = 0;
        }
        Err(checked_str(&raw).to_owned())
    }
}

/// An escape after its backslash, decoded into `scratch` (serde_json's
/// `parse_escape`).
fn parse_escape(read: &mut Reader, validate: bool, scratch: &mut Vec<u8>) -> Result<()> {
    let ch = next_or_eof(read)?;
    scratch.push(match ch {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => b'\x08',
        b'f' => b'\x0c',
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => return parse_unicode_escape(read, validate, scratch),
        _ => return Err(read.error(Code::InvalidEscape)),
    });
    Ok(())
}

fn next_or_eof(read: &mut Reader) -> Result<u8> {
    match read.next()? {
        Some(b) => Ok(b),
        None => Err(read.error(Code::EofWhileParsingString)),
    }
}

fn peek_or_eof(read: &mut Reader) -> Result<u8> {
    match read.peek()? {
        Some(b) => Ok(b),
        None => Err(read.error(Code::EofWhileParsingString)),
    }
}

/// A `\u` escape after its `u`, as serde_json's `parse_unicode_escape`:
/// with `validate`, a trailing surrogate first or a leading one without its
/// trailing one is an error; without, lone surrogates are kept (WTF-8).
#[cold]
fn parse_unicode_escape(read: &mut Reader, validate: bool, scratch: &mut Vec<u8>) -> Result<()> {
    let mut n = read.decode_hex_escape()?;
    if validate && (0xDC00..=0xDFFF).contains(&n) {
        return Err(read.error(Code::LoneLeadingSurrogateInHexEscape));
    }
    loop {
        if !(0xD800..=0xDBFF).contains(&n) {
            push_wtf8(u32::from(n), scratch);
            return Ok(());
        }
        let n1 = n;
        if peek_or_eof(read)? == b'\\' {
            read.discard();
        } else if validate {
            read.discard();
            return Err(read.error(Code::UnexpectedEndOfHexEscape));
        } else {
            push_wtf8(u32::from(n1), scratch);
            return Ok(());
        }
        if peek_or_eof(read)? == b'u' {
            read.discard();
        } else if validate {
            read.discard();
            return Err(read.error(Code::UnexpectedEndOfHexEscape));
        } else {
            push_wtf8(u32::from(n1), scratch);
            // The backslash read began another escape (not `\u`: no
            // recursion deeper than one).
            return parse_escape(read, validate, scratch);
        }
        let n2 = read.decode_hex_escape()?;
        if !(0xDC00..=0xDFFF).contains(&n2) {
            if validate {
                return Err(read.error(Code::LoneLeadingSurrogateInHexEscape));
            }
            push_wtf8(u32::from(n1), scratch);
            n = n2;
            continue;
        }
        let c = ((u32::from(n1 - 0xD800) << 10) | u32::from(n2 - 0xDC00)) + 0x1_0000;
        push_wtf8(c, scratch);
        return Ok(());
    }
}

/// A code point (a surrogate too) in UTF-8's encoding.
fn push_wtf8(n: u32, scratch: &mut Vec<u8>) {
    match n {
        0..=0x7F => scratch.push(n as u8),
        0x80..=0x7FF => {
            scratch.extend_from_slice(&[0xC0 | (n >> 6) as u8, 0x80 | (n & 0x3F) as u8])
        }
        0x800..=0xFFFF => scratch.extend_from_slice(&[
            0xE0 | (n >> 12) as u8,
            0x80 | ((n >> 6) & 0x3F) as u8,
            0x80 | (n & 0x3F) as u8,
        ]),
        _ => scratch.extend_from_slice(&[
            0xF0 | (n >> 18) as u8,
            0x80 | ((n >> 12) & 0x3F) as u8,
            0x80 | ((n >> 6) & 0x3F) as u8,
            0x80 | (n & 0x3F) as u8,
        ]),
    }
}

/// An escape after its backslash, skipped (serde_json's `ignore_escape`:
/// any four hex digits after `\u`, lone surrogates included).
fn ignore_escape(read: &mut Reader) -> Result<()> {
    match next_or_eof(read)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(()),
        b'u' => read.decode_hex_escape().map(|_| ()),
        _ => Err(read.error(Code::InvalidEscape)),
    }
}

fn hex(b: u8) -> Option<u16> {
    match b {
        b'0'..=b'9' => Some(u16::from(b - b'0')),
        b'A'..=b'F' => Some(u16::from(b - b'A' + 10)),
        b'a'..=b'f' => Some(u16::from(b - b'a' + 10)),
        _ => None,
    }
}

fn decode_four_hex_digits(a: u8, b: u8, c: u8, d: u8) -> Option<u16> {
    Some((hex(a)? << 12) | (hex(b)? << 8) | (hex(c)? << 4) | hex(d)?)
}
