//! The deserializer: serde_json's, token for token, over a [`Reader`].
//!
//! Each method does what serde_json 1.0's `Deserializer<StrRead>` does —
//! the same bytes read in the same order, the same visitor calls, the same
//! errors at the same places, `end_seq`/`end_map` after a visitor's error
//! too (which moves the place where that error is reported) — so that a
//! body is accepted, refused and read alike. What differs is underneath,
//! in the reader: the body in chunks that may still be arriving, and UTF-8
//! checked as it is read.

use super::arrival::Arrival;
use super::error::{Code, Error};
use super::read::{Reader, Reference, Result};
use serde::de::{self, Expected, Unexpected};
use serde::forward_to_deserialize_any;

mod ignore;
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

    fn parse_object_colon(&mut self) -> Result<()> {
        match self.parse_whitespace()? {
            Some(b':') => {
                self.eat_char();
                Ok(())
            }
            Some(_) => Err(self.peek_error(Code::ExpectedColon)),
            None => Err(self.peek_error(Code::EofWhileParsingObject)),
        }
    }

    fn end_seq(&mut self) -> Result<()> {
        match self.parse_whitespace()? {
            Some(b']') => {
                self.eat_char();
                Ok(())
            }
            Some(b',') => {
                self.eat_char();
                match self.parse_whitespace() {
                    Ok(Some(b']')) => Err(self.peek_error(Code::TrailingComma)),
                    _ => Err(self.peek_error(Code::TrailingCharacters)),
                }
            }
            Some(_) => Err(self.peek_error(Code::TrailingCharacters)),
            None => Err(self.peek_error(Code::EofWhileParsingList)),
        }
    }

    fn end_map(&mut self) -> Result<()> {
        match self.parse_whitespace()? {
            Some(b'}') => {
                self.eat_char();
                Ok(())
            }
            Some(b',') => Err(self.peek_error(Code::TrailingComma)),
            Some(_) => Err(self.peek_error(Code::TrailingCharacters)),
            None => Err(self.peek_error(Code::EofWhileParsingObject)),
        }
    }

    /// Deserializes `T` then checks the end (serde_json's `from_str`).
    pub fn read_to_end<T: de::Deserialize<'b>>(&mut self) -> Result<T> {
        let value = T::deserialize(&mut *self)?;
        self.end()?;
        Ok(value)
    }
}

/// Runs a visitor on an array or object just entered, within the
/// recursion limit (serde_json's `check_recursion!`).
macro_rules! check_recursion {
    ($this:ident, $body:expr) => {{
        $this.remaining_depth -= 1;
        if $this.remaining_depth == 0 {
            return Err($this.peek_error(Code::RecursionLimitExceeded));
        }
        let ret = $body;
        $this.remaining_depth += 1;
        ret
    }};
}

macro_rules! deserialize_number {
    ($($method:ident)*) => {
        $(
            fn $method<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
                self.deserialize_number(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = Error;

    #[inline]
    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let peek = match self.parse_whitespace()? {
            Some(b) => b,
            None => return Err(self.peek_error(Code::EofWhileParsingValue)),
        };
        let value = match peek {
            b'n' => {
                self.eat_char();
                self.parse_ident(b"ull")?;
                visitor.visit_unit()
            }
            b't' => {
                self.eat_char();
                self.parse_ident(b"rue")?;
                visitor.visit_bool(true)
            }
            b'f' => {
                self.eat_char();
                self.parse_ident(b"alse")?;
                visitor.visit_bool(false)
            }
            b'-' => {
                self.eat_char();
                self.parse_integer(false)?.visit(visitor)
            }
            b'0'..=b'9' => self.parse_integer(true)?.visit(visitor),
            b'"' => {
                self.eat_char();
                self.scratch.clear();
                match self.read.parse_str(&mut self.scratch)? {
                    Reference::Borrowed(s) => visitor.visit_borrowed_str(s),
                    Reference::Copied(s) => visitor.visit_str(s),
                }
            }
            b'[' => {
                let ret = check_recursion!(self, {
                    self.eat_char();
                    visitor.visit_seq(SeqAccess::new(&mut *self))
                });
                match (ret, self.end_seq()) {
                    (Ok(ret), Ok(())) => Ok(ret),
                    (Err(err), _) | (_, Err(err)) => Err(err),
                }
            }
            b'{' => {
                let ret = check_recursion!(self, {
                    self.eat_char();
                    visitor.visit_map(MapAccess::new(&mut *self))
                });
                match (ret, self.end_map()) {
                    (Ok(ret), Ok(())) => Ok(ret),
                    (Err(err), _) | (_, Err(err)) => Err(err),
                }
            }
            _ => Err(self.peek_error(Code::ExpectedSomeValue)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    fn deserialize_bool<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let peek = match self.parse_whitespace()? {
            Some(b) => b,
            None => return Err(self.peek_error(Code::EofWhileParsingValue)),
        };
        let value = match peek {
            b't' => {
                self.eat_char();
                self.parse_ident(b"rue")?;
                visitor.visit_bool(true)
            }
            b'f' => {
                self.eat_char();
                self.parse_ident(b"alse")?;
                visitor.visit_bool(false)
            }
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    deserialize_number!(
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_f32 deserialize_f64
    );

    fn deserialize_i128<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.do_deserialize_i128(visitor)
    }

    fn deserialize_u128<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.do_deserialize_u128(visitor)
    }

    fn deserialize_char<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let peek = match self.parse_whitespace()? {
            Some(b) => b,
            None => return Err(self.peek_error(Code::EofWhileParsingValue)),
        };
        let value = match peek {
            b'"' => {
                self.eat_char();
                self.scratch.clear();
                match self.read.parse_str(&mut self.scratch)? {
                    Reference::Borrowed(s) => visitor.visit_borrowed_str(s),
                    Reference::Copied(s) => visitor.visit_str(s),
                }
            }
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    fn deserialize_string<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    /// A string's bytes, escapes decoded, lone surrogates kept (WTF-8), as
    /// serde_json; or an array of numbers.
    fn deserialize_bytes<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let peek = match self.parse_whitespace()? {
            Some(b) => b,
            None => return Err(self.peek_error(Code::EofWhileParsingValue)),
        };
        let value = match peek {
            b'"' => {
                self.eat_char();
                self.scratch.clear();
                match self.read.parse_str_bytes(&mut self.scratch, false)? {
                    Reference::Borrowed(b) => visitor.visit_borrowed_bytes(b),
                    Reference::Copied(b) => visitor.visit_bytes(b),
                }
            }
            b'[' => self.deserialize_seq(visitor),
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    fn deserialize_byte_buf<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    #[inline]
    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.parse_whitespace()? {
            Some(b'n') => {
                self.eat_char();
                self.parse_ident(b"ull")?;
                visitor.visit_none()
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let peek = match self.parse_whitespace()? {
            Some(b) => b,
            None => return Err(self.peek_error(Code::EofWhileParsingValue)),
        };
        let value = match peek {
            b'n' => {
                self.eat_char();
                self.parse_ident(b"ull")?;
                visitor.visit_unit()
            }
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    fn deserialize_unit_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    #[inline]
    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        if name == RAW_VALUE_TOKEN {
            return self.deserialize_raw_value(visitor);
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let peek = match self.parse_whitespace()? {
            Some(b) => b,
            None => return Err(self.peek_error(Code::EofWhileParsingValue)),
        };
        let value = match peek {
            b'[' => {
                let ret = check_recursion!(self, {
                    self.eat_char();
                    visitor.visit_seq(SeqAccess::new(&mut *self))
                });
                match (ret, self.end_seq()) {
                    (Ok(ret), Ok(())) => Ok(ret),
                    (Err(err), _) | (_, Err(err)) => Err(err),
                }
            }
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    fn deserialize_tuple<V: de::Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let peek = match self.parse_whitespace()? {
            Some(b) => b,
            None => return Err(self.peek_error(Code::EofWhileParsingValue)),
        };
        let value = match peek {
            b'{' => {
                let ret = check_recursion!(self, {
                    self.eat_char();
                    visitor.visit_map(MapAccess::new(&mut *self))
                });
                match (ret, self.end_map()) {
                    (Ok(ret), Ok(())) => Ok(ret),
                    (Err(err), _) | (_, Err(err)) => Err(err),
                }
            }
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    /// A struct from an object, or (as in serde_json) from an array of its
    /// fields in order.
    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let peek = match self.parse_whitespace()? {
            Some(b) => b,
            None => return Err(self.peek_error(Code::EofWhileParsingValue)),
        };
        let value = match peek {
            b'[' => {
                let ret = check_recursion!(self, {
                    self.eat_char();
                    visitor.visit_seq(SeqAccess::new(&mut *self))
                });
                match (ret, self.end_seq()) {
                    (Ok(ret), Ok(())) => Ok(ret),
                    (Err(err), _) | (_, Err(err)) => Err(err),
                }
            }
            b'{' => {
                let ret = check_recursion!(self, {
                    self.eat_char();
                    visitor.visit_map(MapAccess::new(&mut *self))
                });
                match (ret, self.end_map()) {
                    (Ok(ret), Ok(())) => Ok(ret),
                    (Err(err), _) | (_, Err(err)) => Err(err),
                }
            }
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    /// An enum as serde_json reads one: `"Variant"` or `{"Variant": …}`.
    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        _name: &str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.parse_whitespace()? {
            Some(b'{') => {
                let value = check_recursion!(self, {
                    self.eat_char();
                    visitor.visit_enum(VariantAccess { de: &mut *self })
                })?;
                match self.parse_whitespace()? {
                    Some(b'}') => {
                        self.eat_char();
                        Ok(value)
                    }
                    Some(_) => Err(self.error(Code::ExpectedSomeValue)),
                    None => Err(self.error(Code::EofWhileParsingObject)),
                }
            }
            Some(b'"') => visitor.visit_enum(UnitVariantAccess { de: &mut *self }),
            Some(_) => Err(self.peek_error(Code::ExpectedSomeValue)),
            None => Err(self.peek_error(Code::EofWhileParsingValue)),
        }
    }

    fn deserialize_identifier<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    /// The fast path most bytes of a body take: skipped, syntax checked.
    fn deserialize_ignored_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.ignore_value()?;
        visitor.visit_unit()
    }
}

struct SeqAccess<'a, 'b> {
    de: &'a mut Deserializer<'b>,
    first: bool,
}

impl<'a, 'b> SeqAccess<'a, 'b> {
    fn new(de: &'a mut Deserializer<'b>) -> Self {
        SeqAccess { de, first: true }
    }

    fn has_next_element(&mut self) -> Result<bool> {
        let peek = match self.de.parse_whitespace()? {
            Some(b) => b,
            None => return Err(self.de.peek_error(Code::EofWhileParsingList)),
        };
        if peek == b']' {
            Ok(false)
        } else if self.first {
            self.first = false;
            Ok(true)
        } else if peek == b',' {
            self.de.eat_char();
            match self.de.parse_whitespace()? {
                Some(b']') => Err(self.de.peek_error(Code::TrailingComma)),
                Some(_) => Ok(true),
                None => Err(self.de.peek_error(Code::EofWhileParsingValue)),
            }
        } else {
            Err(self.de.peek_error(Code::ExpectedListCommaOrEnd))
        }
    }
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>> {
        if self.has_next_element()? {
            Ok(Some(seed.deserialize(&mut *self.de)?))
        } else {
            Ok(None)
        }
    }
}

struct MapAccess<'a, 'b> {
    de: &'a mut Deserializer<'b>,
    first: bool,
}

impl<'a, 'b> MapAccess<'a, 'b> {
    fn new(de: &'a mut Deserializer<'b>) -> Self {
        MapAccess { de, first: true }
    }

    fn has_next_key(&mut self) -> Result<bool> {
        let peek = match self.de.parse_whitespace()? {
            Some(b) => b,
            None => return Err(self.de.peek_error(Code::EofWhileParsingObject)),
        };
        if peek == b'}' {
            Ok(false)
        } else if self.first {
            self.first = false;
            if peek == b'"' {
                Ok(true)
            } else {
                Err(self.de.peek_error(Code::KeyMustBeAString))
            }
        } else if peek == b',' {
            self.de.eat_char();
            match self.de.parse_whitespace()? {
                Some(b'"') => Ok(true),
                Some(b'}') => Err(self.de.peek_error(Code::TrailingComma)),
                Some(_) => Err(self.de.peek_error(Code::KeyMustBeAString)),
                None => Err(self.de.peek_error(Code::EofWhileParsingValue)),
            }
        } else {
            Err(self.de.peek_error(Code::ExpectedObjectCommaOrEnd))
        }
    }
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.has_next_key()? {
            Ok(Some(seed.deserialize(MapKey { de: &mut *self.de })?))
        } else {
            Ok(None)
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        self.de.parse_object_colon()?;
        seed.deserialize(&mut *self.de)
    }
}

struct VariantAccess<'a, 'b> {
    de: &'a mut Deserializer<'b>,
}

impl<'de> de::EnumAccess<'de> for VariantAccess<'_, 'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: de::DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        match self.de.parse_whitespace()? {
            Some(b'"') => {}
            Some(b'}') => return Err(self.de.peek_error(Code::ExpectedSomeValue)),
            Some(_) => return Err(self.de.peek_error(Code::KeyMustBeAString)),
            None => return Err(self.de.peek_error(Code::EofWhileParsingObject)),
        }
        let val = match seed.deserialize(MapKey { de: &mut *self.de }) {
            Ok(value) => value,
            Err(err) => return Err(self.de.fix_position(err)),
        };
        self.de.parse_object_colon()?;
        Ok((val, self))
    }
}

impl<'de> de::VariantAccess<'de> for VariantAccess<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<()> {
        de::Deserialize::deserialize(self.de)
    }

    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self.de)
    }

    fn tuple_variant<V: de::Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_seq(self.de, visitor)
    }

    fn struct_variant<V: de::Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_struct(self.de, "", fields, visitor)
    }
}

struct UnitVariantAccess<'a, 'b> {
    de: &'a mut Deserializer<'b>,
}

impl<'de> de::EnumAccess<'de> for UnitVariantAccess<'_, 'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: de::DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let variant = seed.deserialize(&mut *self.de)?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariantAccess<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"newtype variant",
        ))
    }

    fn tuple_variant<V: de::Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"tuple variant",
        ))
    }

    fn struct_variant<V: de::Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"struct variant",
        ))
    }
}

/// An object's key, after the opening quote was peeked (serde_json's
/// `MapKey`): a string, or a number or boolean in quotes when asked for one.
struct MapKey<'a, 'b> {
    de: &'a mut Deserializer<'b>,
}

macro_rules! deserialize_numeric_key {
    ($($method:ident => $delegate:ident),* $(,)?) => {
        $(
            fn $method<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
                self.de.eat_char();
                match self.de.peek()? {
                    Some(b'0'..=b'9' | b'-') => {}
                    _ => return Err(self.de.error(Code::ExpectedNumericKey)),
                }
                let value = self.de.$delegate(visitor)?;
                match self.de.peek()? {
                    Some(b'"') => self.de.eat_char(),
                    _ => return Err(self.de.peek_error(Code::ExpectedDoubleQuote)),
                }
                Ok(value)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for MapKey<'_, 'de> {
    type Error = Error;

    #[inline]
    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.de.eat_char();
        self.de.scratch.clear();
        match self.de.read.parse_str(&mut self.de.scratch)? {
            Reference::Borrowed(s) => visitor.visit_borrowed_str(s),
            Reference::Copied(s) => visitor.visit_str(s),
        }
    }

    deserialize_numeric_key!(
        deserialize_i8 => deserialize_number,
        deserialize_i16 => deserialize_number,
        deserialize_i32 => deserialize_number,
        deserialize_i64 => deserialize_number,
        deserialize_i128 => do_deserialize_i128,
        deserialize_u8 => deserialize_number,
        deserialize_u16 => deserialize_number,
        deserialize_u32 => deserialize_number,
        deserialize_u64 => deserialize_number,
        deserialize_u128 => do_deserialize_u128,
        deserialize_f32 => deserialize_number,
        deserialize_f64 => deserialize_number,
    );

    fn deserialize_bool<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.de.eat_char();
        let peek = match self.de.next_char()? {
            Some(b) => b,
            None => return Err(self.de.peek_error(Code::EofWhileParsingValue)),
        };
        let value = match peek {
            b't' => {
                self.de.parse_ident(b"rue\"")?;
                visitor.visit_bool(true)
            }
            b'f' => {
                self.de.parse_ident(b"alse\"")?;
                visitor.visit_bool(false)
            }
            _ => {
                self.de.scratch.clear();
                let s = self.de.read.parse_str(&mut self.de.scratch)?;
                Err(de::Error::invalid_type(Unexpected::Str(&s), &visitor))
            }
        };
        value.map_err(|err| self.de.fix_position(err))
    }

    #[inline]
    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        // Keys cannot be null.
        visitor.visit_some(self)
    }

    #[inline]
    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        if name == RAW_VALUE_TOKEN {
            return self.de.deserialize_raw_value(visitor);
        }
        visitor.visit_newtype_struct(self)
    }

    #[inline]
    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_enum(self.de, name, variants, visitor)
    }

    #[inline]
    fn deserialize_bytes<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_bytes(self.de, visitor)
    }

    #[inline]
    fn deserialize_byte_buf<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_bytes(self.de, visitor)
    }

    forward_to_deserialize_any! {
        char str string unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}
