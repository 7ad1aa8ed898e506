//! Escapes inside strings, as serde_json reads them: decoded into the
//! scratch buffer when a string is read (`\u` surrogates paired, or kept
//! lone as WTF-8 when bytes are asked for), only checked when a string is
//! skipped (any four hex digits after `\u`).
//!
//! # Why apart
//!
//! An escape ends the eight-byte scan of `string.rs` and is read byte by
//! byte through [`Reader::next`] and [`Reader::peek`], so one cut by a
//! chunk boundary needs nothing special. Its rules are serde_json's in
//! detail — where each error is placed, which one a cut-short escape
//! gives, when a lone surrogate is an error — and read best next to
//! serde_json's `parse_escape`, `parse_unicode_escape` and
//! `ignore_escape`.

use super::{Reader, Result};
use crate::json::error::Code;

impl Reader<'_> {
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
}

/// An escape after its backslash, decoded into `scratch` (serde_json's
/// `parse_escape`).
pub(super) fn parse_escape(read: &mut Reader, validate: bool, scratch: &mut Vec<u8>) -> Result<()> {
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
pub(super) fn ignore_escape(read: &mut Reader) -> Result<()> {
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
