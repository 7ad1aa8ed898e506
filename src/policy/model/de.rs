//! How MISP's loose JSON is read: the forms PHP produces for one value
//! (`"3"` or `3`, `true` or `"1"`, `[]` for an unset object, `null` for an
//! empty list) are accepted exactly, and anything else is an error, which
//! the engine turns into a block. Everything MISP has as an object must be
//! an object here too (serde's derived structs would also read an array).

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

type Str<'a> = Cow<'a, str>;

/// `{"Key": {...}}`: one element wrapped in an object with exactly one key
/// (relationship targets, shadow attributes of the proposals index). The
/// caller checks the key.
#[derive(Debug)]
pub struct Wrapped<'a, T> {
    pub key: Str<'a>,
    pub inner: T,
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for Wrapped<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a, T>(PhantomData<(&'a (), T)>);
        impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for V<'a, T> {
            type Value = Wrapped<'a, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object with exactly one key wrapping the element")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let Some(key) = map.next_key::<Str<'de>>()? else {
                    return Err(de::Error::custom(
                        "empty object where a wrapped element was expected",
                    ));
                };
                let inner = map.next_value::<ObjectOnly<T>>()?.0;
                if map.next_key::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(
                        "more than one key around a wrapped element",
                    ));
                }
                Ok(Wrapped { key, inner })
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A value kept as its JSON text, to be read later (its shape depends on
/// a key that may come after it): serde_json's raw-value protocol, which
/// both the judge's reader and serde_json speak. Borrowed from the body
/// when the value lies in one piece of it, else copied.
#[derive(Debug)]
pub struct RawJson<'a>(pub Str<'a>);

impl RawJson<'_> {
    /// The value's text, as it is in the body.
    pub fn get(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawJson<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = RawJson<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any valid JSON value")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<RawJson<'a>, A::Error> {
                if map.next_key::<RawKey>()?.is_none() {
                    return Err(de::Error::invalid_type(de::Unexpected::Map, &self));
                }
                map.next_value::<Str<'de>>().map(RawJson)
            }
        }
        d.deserialize_newtype_struct(crate::json::RAW_VALUE_TOKEN, V(PhantomData))
    }
}

/// The one key of a raw value's map.
struct RawKey;

impl<'de> Deserialize<'de> for RawKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("raw value")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawKey, E> {
                if s == crate::json::RAW_VALUE_TOKEN {
                    Ok(RawKey)
                } else {
                    Err(E::custom("unexpected raw value"))
                }
            }
        }
        d.deserialize_identifier(V)
    }
}

/// A distribution level 0..=5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Distribution(pub u8);

impl<'de> Deserialize<'de> for Distribution {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Distribution;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a distribution level 0..5, as a number or a one-digit string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Distribution, E> {
                match v {
                    0..=5 => Ok(Distribution(v as u8)),
                    _ => Err(E::custom("distribution level out of range 0..5")),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Distribution, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("distribution level out of range 0..5"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Distribution, E> {
                match v.as_bytes() {
                    [d @ b'0'..=b'5'] => Ok(Distribution(d - b'0')),
                    _ => Err(E::custom("distribution level is not one of \"0\"..\"5\"")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `minimal: 1` / `published: 1`: what misp-guard's Python `== 1` takes
/// (`1`, `1.0`, `true`), and `"1"`, which MISP's PHP reads the same way
/// (`!empty("1")`, `published = '1'`). Any other value means "not 1".
pub(super) fn flag_one<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::Number(n) => n.as_f64() == Some(1.0),
        serde_json::Value::String(s) => s == "1",
        _ => false,
    })
}

/// `true`/`false`, `0`/`1` or `"0"`/`"1"`: PHP sends booleans all three ways.
pub(super) fn loose_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a boolean, 0/1 or \"0\"/\"1\"")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
            match v {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(E::custom("expected 0 or 1")),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
            u64::try_from(v)
                .map_err(|_| E::custom("expected 0 or 1"))
                .and_then(|v| self.visit_u64(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            match v {
                "0" | "" => Ok(false),
                "1" => Ok(true),
                _ => Err(E::custom("expected \"0\" or \"1\"")),
            }
        }
    }
    d.deserialize_any(V)
}

/// A JSON object read as `T`, and nothing else. serde's derived structs
/// also accept an array (fields by position), which would let
/// `["ip-src", "Other"]` pass for an attribute; MISP never sends that shape,
/// so it is refused.
#[derive(Debug)]
pub struct ObjectOnly<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = ObjectOnly<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ObjectOnly<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(ObjectOnly)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

pub(super) fn object<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(ObjectOnly::<T>::deserialize(d)?.0)
}

/// A list of objects that PHP may also send as `null`.
pub(super) fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(opt_list(d)?.unwrap_or_default())
}

/// A list of objects whose absence matters; `null` counts as absent.
pub(super) fn opt_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<ObjectOnly<T>>>::deserialize(d)?.map(|v| v.into_iter().map(|o| o.0).collect()))
}

/// An object that PHP sends as `null` or as an empty array `[]` when unset.
/// A non-empty array is refused. Written as a visitor rather than an
/// untagged enum, which would buffer every object before reading it.
pub(super) fn opt_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object, null or an empty array")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
            match seq.next_element::<IgnoredAny>()? {
                None => Ok(None),
                Some(_) => Err(de::Error::custom(
                    "expected an object, got a non-empty array",
                )),
            }
        }
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }
    d.deserialize_any(V(PhantomData))
}

/// [`opt_list`] as a type, for hand-written visitors.
pub struct ObjectList<T>(pub Option<Vec<T>>);

impl<T> ObjectList<T> {
    /// [`list`]'s reading: absent is empty.
    pub fn or_empty(self) -> Vec<T> {
        self.0.unwrap_or_default()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        opt_list(d).map(ObjectList)
    }
}

/// [`opt_object`] as a type, for hand-written visitors.
pub struct OptObject<T>(pub Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OptObject<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        opt_object(d).map(OptObject)
    }
}

/// A struct MISP's sync sends, **closed**: the fields written out are the
/// keys the rules judge; the keys after `harmless` are known to MISP and
/// read by no rule (their values are skipped, syntax checked); any other
/// key is an error naming it (`unknown field`), and so is a second copy of
/// any key. A harmless key whose JSON name is no Rust identifier is
/// written `ident as "json-name"`. `with analyst data` adds the `Note`,
/// `Opinion` and `Relationship` lists MISP attaches to most elements (as
/// `notes`, `opinions`, `relationships`).
macro_rules! closed_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident<$lt:lifetime> with analyst data {
            $($fields:tt)*
        }
        harmless { $($harmless:tt)* }
    ) => {
        closed_struct! {
            $(#[$meta])*
            pub struct $name<$lt> {
                $($fields)*
                #[serde(rename = "Note", borrow, default, deserialize_with = "crate::policy::model::de::list")]
                pub notes: Vec<AnalystData<$lt>>,
                #[serde(rename = "Opinion", borrow, default, deserialize_with = "crate::policy::model::de::list")]
                pub opinions: Vec<AnalystData<$lt>>,
                #[serde(rename = "Relationship", borrow, default, deserialize_with = "crate::policy::model::de::list")]
                pub relationships: Vec<AnalystData<$lt>>,
            }
            harmless { $($harmless)* }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident $(<$lt:lifetime>)? {
            $($fields:tt)*
        }
        harmless { $($key:ident $(as $json:literal)?),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(non_snake_case)]
        pub struct $name $(<$lt>)? {
            $($fields)*
            $(
                #[allow(dead_code)]
                #[serde(default $(, rename = $json)?)]
                $key: serde::de::IgnoredAny,
            )*
        }
    };
}
pub(crate) use closed_struct;
