//! Raw values: serde_json's `RawValue` protocol — a value's text, unparsed,
//! handed over as a one-entry map — borrowed from the body when it lies in
//! one chunk, copied when it straddles two.
//!
//! # Why apart
//!
//! A protocol of its own, private to serde_json and followed to the letter
//! so that `Box<RawValue>` and the judge's `RawJson` read from this
//! deserializer as from serde_json's: the newtype name
//! [`RAW_VALUE_TOKEN`] asks for it, and the answer is a map with that one
//! key. The text is found by skipping the value (`ignore.rs`) between two
//! marks the reader takes ([`Reader::begin_raw`], [`Reader::end_raw`]).
//!
//! [`Reader::begin_raw`]: crate::json::read::Reader::begin_raw
//! [`Reader::end_raw`]: crate::json::read::Reader::end_raw

use super::Deserializer;
use crate::json::error::Error;
use crate::json::read::{RawStart, Result};
use serde::de;
use serde::forward_to_deserialize_any;

/// The name serde_json's `RawValue` asks a deserializer for: the value's
/// text, unparsed.
pub const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

impl<'b> Deserializer<'b> {
    /// serde_json's raw value: the value's text, skipped, handed to the
    /// visitor as a one-entry map (`RAW_VALUE_TOKEN` → the text), borrowed
    /// when it lies in one chunk.
    pub(super) fn deserialize_raw_value<V: de::Visitor<'b>>(
        &mut self,
        visitor: V,
    ) -> Result<V::Value> {
        self.parse_whitespace()?;
        let start: RawStart = self.read.begin_raw()?;
        self.ignore_value()?;
        match self.read.end_raw(start) {
            Ok(borrowed) => visitor.visit_map(RawMap {
                value: Some(RawText::Borrowed(borrowed)),
            }),
            Err(owned) => visitor.visit_map(RawMap {
                value: Some(RawText::Owned(owned)),
            }),
        }
    }
}

/// A raw value's text, borrowed from the body or copied out of it.
enum RawText<'b> {
    Borrowed(&'b str),
    Owned(String),
}

/// A raw value as serde_json hands it over: one entry, `RAW_VALUE_TOKEN`
/// → the text.
struct RawMap<'b> {
    value: Option<RawText<'b>>,
}

impl<'de> de::MapAccess<'de> for RawMap<'de> {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.value.is_none() {
            return Ok(None);
        }
        seed.deserialize(RawKey).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        match self.value.take().expect("a key first") {
            RawText::Borrowed(s) => seed.deserialize(de::value::BorrowedStrDeserializer::new(s)),
            RawText::Owned(s) => seed.deserialize(de::value::StringDeserializer::new(s)),
        }
    }
}

struct RawKey;

impl<'de> de::Deserializer<'de> for RawKey {
    type Error = Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_str(RAW_VALUE_TOKEN)
    }

    forward_to_deserialize_any! {
        bool u8 u16 u32 u64 u128 i8 i16 i32 i64 i128 f32 f64 char str string seq
        bytes byte_buf map struct option unit newtype_struct ignored_any
        unit_struct tuple_struct tuple enum identifier
    }
}
