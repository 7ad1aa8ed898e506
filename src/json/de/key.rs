//! An object's key, as serde_json reads one: a string, or — when the
//! type asks for one — a number or a boolean written in quotes (`{"1": …}`
//! into a map keyed by integers).
//!
//! # Why apart
//!
//! A key is read by a `Deserializer` of its own ([`MapKey`], serde_json's
//! `MapKey`) rather than by the main one: the same text means something
//! else in a key (`"1"` is a number there, `null` cannot be one), and
//! serde_json's errors for it differ (`ExpectedNumericKey`,
//! `ExpectedDoubleQuote`). It starts after the opening quote was peeked
//! by [`MapAccess`](super::access::MapAccess) or the variant access, and
//! hands everything that is not a key's business back to the main
//! deserializer.

use super::{Deserializer, RAW_VALUE_TOKEN};
use crate::json::error::{Code, Error};
use crate::json::read::{Reference, Result};
use serde::de::{self, Unexpected};
use serde::forward_to_deserialize_any;

/// An object's key, after the opening quote was peeked (serde_json's
/// `MapKey`): a string, or a number or boolean in quotes when asked for one.
pub(super) struct MapKey<'a, 'b> {
    pub(super) de: &'a mut Deserializer<'b>,
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
