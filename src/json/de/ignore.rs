//! Skipping: a value read for its syntax only, as serde_json checks it
//! when it skips (`IgnoredAny`, and the text of a raw value).
//!
//! # Why apart, and why a loop
//!
//! Most bytes of a MISP body are skipped — the judge's model names a few
//! fields of each event and ignores the rest — so this is the hot path of
//! the deserializer, and it has a shape of its own: one loop over tokens
//! with the open brackets kept in the scratch buffer, not a recursion
//! through serde's visitors. Nesting is therefore unbounded, as in
//! serde_json (which skips without its recursion limit), without using
//! the stack. Strings go through the reader's eight-byte scan
//! ([`Reader::ignore_str`](crate::json::read::Reader::ignore_str)), UTF-8
//! checked; numbers are checked digit by digit, never converted.

use super::Deserializer;
use crate::json::error::Code;
use crate::json::read::Result;

impl Deserializer<'_> {
    /// Skips one value, its syntax checked as serde_json checks it when
    /// it skips (nesting unbounded: the open brackets are kept in the
    /// scratch buffer, not on the stack).
    pub(super) fn ignore_value(&mut self) -> Result<()> {
        self.scratch.clear();
        let mut enclosing = None;
        loop {
            let peek = match self.parse_whitespace()? {
                Some(b) => b,
                None => return Err(self.peek_error(Code::EofWhileParsingValue)),
            };
            let frame = match peek {
                b'n' => {
                    self.eat_char();
                    self.parse_ident(b"ull")?;
                    None
                }
                b't' => {
                    self.eat_char();
                    self.parse_ident(b"rue")?;
                    None
                }
                b'f' => {
                    self.eat_char();
                    self.parse_ident(b"alse")?;
                    None
                }
                b'-' => {
                    self.eat_char();
                    self.ignore_integer()?;
                    None
                }
                b'0'..=b'9' => {
                    self.ignore_integer()?;
                    None
                }
                b'"' => {
                    self.eat_char();
                    self.read.ignore_str()?;
                    None
                }
                frame @ (b'[' | b'{') => {
                    self.scratch.extend(enclosing.take());
                    self.eat_char();
                    Some(frame)
                }
                _ => return Err(self.peek_error(Code::ExpectedSomeValue)),
            };
            let (mut accept_comma, mut frame) = match frame {
                Some(frame) => (false, frame),
                None => match enclosing.take() {
                    Some(frame) => (true, frame),
                    None => match self.scratch.pop() {
                        Some(frame) => (true, frame),
                        None => return Ok(()),
                    },
                },
            };
            loop {
                match self.parse_whitespace()? {
                    Some(b',') if accept_comma => {
                        self.eat_char();
                        break;
                    }
                    Some(b']') if frame == b'[' => {}
                    Some(b'}') if frame == b'{' => {}
                    Some(_) => {
                        if accept_comma {
                            return Err(self.peek_error(if frame == b'[' {
                                Code::ExpectedListCommaOrEnd
                            } else {
                                Code::ExpectedObjectCommaOrEnd
                            }));
                        }
                        break;
                    }
                    None => {
                        return Err(self.peek_error(if frame == b'[' {
                            Code::EofWhileParsingList
                        } else {
                            Code::EofWhileParsingObject
                        }));
                    }
                }
                self.eat_char();
                frame = match self.scratch.pop() {
                    Some(frame) => frame,
                    None => return Ok(()),
                };
                accept_comma = true;
            }
            if frame == b'{' {
                match self.parse_whitespace()? {
                    Some(b'"') => self.eat_char(),
                    Some(_) => return Err(self.peek_error(Code::KeyMustBeAString)),
                    None => return Err(self.peek_error(Code::EofWhileParsingObject)),
                }
                self.read.ignore_str()?;
                match self.parse_whitespace()? {
                    Some(b':') => self.eat_char(),
                    Some(_) => return Err(self.peek_error(Code::ExpectedColon)),
                    None => return Err(self.peek_error(Code::EofWhileParsingObject)),
                }
            }
            enclosing = Some(frame);
        }
    }

    fn ignore_integer(&mut self) -> Result<()> {
        match self.next_char_or_null()? {
            b'0' => {
                if let b'0'..=b'9' = self.peek_or_null()? {
                    return Err(self.peek_error(Code::InvalidNumber));
                }
            }
            b'1'..=b'9' => {
                while let b'0'..=b'9' = self.peek_or_null()? {
                    self.eat_char();
                }
            }
            _ => return Err(self.error(Code::InvalidNumber)),
        }
        match self.peek_or_null()? {
            b'.' => self.ignore_decimal(),
            b'e' | b'E' => self.ignore_exponent(),
            _ => Ok(()),
        }
    }

    fn ignore_decimal(&mut self) -> Result<()> {
        self.eat_char();
        let mut at_least_one_digit = false;
        while let b'0'..=b'9' = self.peek_or_null()? {
            self.eat_char();
            at_least_one_digit = true;
        }
        if !at_least_one_digit {
            return Err(self.peek_error(Code::InvalidNumber));
        }
        match self.peek_or_null()? {
            b'e' | b'E' => self.ignore_exponent(),
            _ => Ok(()),
        }
    }

    fn ignore_exponent(&mut self) -> Result<()> {
        self.eat_char();
        if let b'+' | b'-' = self.peek_or_null()? {
            self.eat_char();
        }
        match self.next_char_or_null()? {
            b'0'..=b'9' => {}
            _ => return Err(self.error(Code::InvalidNumber)),
        }
        while let b'0'..=b'9' = self.peek_or_null()? {
            self.eat_char();
        }
        Ok(())
    }
}
