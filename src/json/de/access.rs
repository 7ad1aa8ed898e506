//! What a visitor walks inside a compound value: the elements of an array
//! ([`SeqAccess`]), the entries of an object ([`MapAccess`]), and an enum's
//! variant, in an object (`{"Variant": …}`, [`VariantAccess`]) or alone
//! (`"Variant"`, [`UnitVariantAccess`]).
//!
//! # Why apart
//!
//! These are serde's access types, handed to a visitor by the
//! `Deserializer` impl (`deserialize.rs`) and driven by it: they own the
//! punctuation between the values — commas, colons, the closing bracket
//! seen ahead — with serde_json's errors for each (a trailing comma, a key
//! that is not a string, a missing colon), while every value in between
//! goes back to the deserializer. An object's key goes to [`MapKey`]
//! (`key.rs`).

use super::Deserializer;
use super::key::MapKey;
use crate::json::error::{Code, Error};
use crate::json::read::Result;
use serde::de::{self, Unexpected};

pub(super) struct SeqAccess<'a, 'b> {
    de: &'a mut Deserializer<'b>,
    first: bool,
}

impl<'a, 'b> SeqAccess<'a, 'b> {
    pub(super) fn new(de: &'a mut Deserializer<'b>) -> Self {
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

pub(super) struct MapAccess<'a, 'b> {
    de: &'a mut Deserializer<'b>,
    first: bool,
}

impl<'a, 'b> MapAccess<'a, 'b> {
    pub(super) fn new(de: &'a mut Deserializer<'b>) -> Self {
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

pub(super) struct VariantAccess<'a, 'b> {
    pub(super) de: &'a mut Deserializer<'b>,
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

pub(super) struct UnitVariantAccess<'a, 'b> {
    pub(super) de: &'a mut Deserializer<'b>,
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

impl Deserializer<'_> {
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
}
