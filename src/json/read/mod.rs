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
//!
//! # Files
//!
//! - this file — the cursor: the current chunk, moving to the next one,
//!   the offset and the line and column of an error (counted only when
//!   one is made), and the marks of a raw value's text;
//! - `string.rs` — strings, read or skipped: the eight-byte scan, UTF-8
//!   checked as it goes, and the one `unsafe` that stands on it;
//! - `escape.rs` — escapes inside strings, serde_json's rules.

use super::arrival::Arrival;
use super::error::{Code, Error};
use string::checked_str;

mod escape;
mod string;

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
