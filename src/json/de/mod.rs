//! The deserializer: serde_json's, token for token, over a [`Reader`].
//!
//! Each method does what serde_json 1.0's `Deserializer<StrRead>` does —
//! the same bytes read in the same order, the same visitor calls, the same
//! errors at the same places, `end_seq`/`end_map` after a visitor's error
//! too (which moves the place where that error is reported) — so that a
//! body is accepted, refused and read alike. What differs is underneath,
//! in the reader: the body in chunks that may still be arriving, and UTF-8
//! checked as it is read.
//!
//! # Files
//!
//! serde_json keeps its deserializer in one file; here each of its jobs
//! has its own, so that each can be read next to the serde_json code it
//! follows, and the hot path apart from the rest:
//!
//! - this file — the [`Deserializer`] itself: its state, how it is made
//!   and ended, and the byte-level steps every other file reads with
//!   (peek, whitespace, literals, errors placed as serde_json places them,
//!   the `invalid type` error built from what stands there);
//! - `deserialize.rs` — serde's `Deserializer` trait, one method per type
//!   asked for, arrays and objects entered under the recursion limit;
//! - `access.rs` — what a visitor walks inside an array, an object or an
//!   enum: the commas, colons and closing brackets between values;
//! - `key.rs` — an object's key, which reads numbers and booleans in
//!   quotes;
//! - `number.rs` — integers and floats, rounded as serde_json rounds;
//! - `ignore.rs` — values skipped for their syntax only, most of a body;
//! - `raw.rs` — serde_json's raw values, the text of a value unparsed.
//!
//! The state stays private to this file; the others are its child
//! modules, which see it, and share with each other only what they must
//! (`pub(super)`).

use super::arrival::Arrival;
use super::error::{Code, Error};
use super::read::{Reader, Result};
use serde::de::{self, Expected, Unexpected};

mod access;
mod deserialize;
mod ignore;
mod key;
mod number;
mod raw;

pub use raw::RAW_VALUE_TOKEN;

/// Deepest nesting of arrays and objects read into a value (serde_json's
/// 128; skipped values have no limit, as in serde_json).
const RECURSION_LIMIT: u8 = 128;

/// A JSON deserializer over a body that may still be arriving (see the
/// module documentation of [`crate::json`]).
pub struct Deserializer<'b> {
    read: Reader<'b>,
    scratch: Vec<u8>,
    remaining_depth: u8,
}

impl<'b> Deserializer<'b> {
    /// Over a body as it arrives: reads wait for bytes not there yet.
    pub fn new(arrival: &'b Arrival) -> Deserializer<'b> {
        Deserializer::with(Reader::from_arrival(arrival))
    }

    /// Over a body that is all there, as one slice.
    pub fn from_slice(slice: &'b [u8]) -> Deserializer<'b> {
        Deserializer::with(Reader::from_slice(slice))
    }

    fn with(read: Reader<'b>) -> Deserializer<'b> {
        Deserializer {
            read,
            scratch: Vec::new(),
            remaining_depth: RECURSION_LIMIT,
        }
    }

    /// After the value: nothing but whitespace may follow (serde_json's
    /// `end`). Waits for the end of the body.
    pub fn end(&mut self) -> Result<()> {
        match self.parse_whitespace()? {
            Some(_) => Err(self.peek_error(Code::TrailingCharacters)),
            None => Ok(()),
        }
    }

    /// Offset in the body of the next byte to read.
    pub fn offset(&self) -> usize {
        self.read.offset()
    }

    #[inline(always)]
    fn peek(&mut self) -> Result<Option<u8>> {
        self.read.peek()
    }

    #[inline(always)]
    fn peek_or_null(&mut self) -> Result<u8> {
        Ok(self.peek()?.unwrap_or(b'\x00'))
    }

    #[inline(always)]
    fn eat_char(&mut self) {
        self.read.discard();
    }

    #[inline(always)]
    fn next_char(&mut self) -> Result<Option<u8>> {
        self.read.next()
    }

    #[inline(always)]
    fn next_char_or_null(&mut self) -> Result<u8> {
        Ok(self.next_char()?.unwrap_or(b'\x00'))
    }

    #[cold]
    fn error(&self, code: Code) -> Error {
        self.read.error(code)
    }

    #[cold]
    fn peek_error(&self, code: Code) -> Error {
        self.read.peek_error(code)
    }

    #[cold]
    fn fix_position(&self, err: Error) -> Error {
        err.fix_position(|code| self.error(code))
    }

    /// The next byte that is not whitespace, not consumed.
    #[inline]
    fn parse_whitespace(&mut self) -> Result<Option<u8>> {
        loop {
            match self.peek()? {
                Some(b' ' | b'\n' | b'\t' | b'\r') => self.eat_char(),
                other => return Ok(other),
            }
        }
    }

    #[cold]
    fn peek_invalid_type(&mut self, exp: &dyn Expected) -> Error {
        let err = match self.peek_or_null().unwrap_or(b'\x00') {
            b'n' => {
                self.eat_char();
                if let Err(err) = self.parse_ident(b"ull") {
                    return err;
                }
                de::Error::invalid_type(Unexpected::Unit, exp)
            }
            b't' => {
                self.eat_char();
                if let Err(err) = self.parse_ident(b"rue") {
                    return err;
                }
                de::Error::invalid_type(Unexpected::Bool(true), exp)
            }
            b'f' => {
                self.eat_char();
                if let Err(err) = self.parse_ident(b"alse") {
                    return err;
                }
                de::Error::invalid_type(Unexpected::Bool(false), exp)
            }
            b'-' => {
                self.eat_char();
                match self.parse_integer(false) {
                    Ok(n) => n.invalid_type(exp),
                    Err(err) => return err,
                }
            }
            b'0'..=b'9' => match self.parse_integer(true) {
                Ok(n) => n.invalid_type(exp),
                Err(err) => return err,
            },
            b'"' => {
                self.eat_char();
                self.scratch.clear();
                match self.read.parse_str(&mut self.scratch) {
                    Ok(s) => de::Error::invalid_type(Unexpected::Str(&s), exp),
                    Err(err) => return err,
                }
            }
            b'[' => de::Error::invalid_type(Unexpected::Seq, exp),
            b'{' => de::Error::invalid_type(Unexpected::Map, exp),
            _ => self.peek_error(Code::ExpectedSomeValue),
        };
        self.fix_position(err)
    }

    fn parse_ident(&mut self, ident: &[u8]) -> Result<()> {
        for expected in ident {
            match self.next_char()? {
                None => return Err(self.error(Code::EofWhileParsingValue)),
                Some(next) if next != *expected => {
                    return Err(self.error(Code::ExpectedSomeIdent));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Deserializes `T` then checks the end (serde_json's `from_str`).
    pub fn read_to_end<T: de::Deserialize<'b>>(&mut self) -> Result<T> {
        let value = T::deserialize(&mut *self)?;
        self.end()?;
        Ok(value)
    }
}
