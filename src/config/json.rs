//! The config file as a JSON document walked with key paths: strict
//! parsing (duplicate keys refused), and accessors that know where they are,
//! so every error says which key is wrong and what was expected.

use crate::net::canonical_ip;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// A config that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted key path (`instances.instance_1.port`), or the file name.
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

pub(super) type R<T> = Result<T, ConfigError>;

/// Letters, digits and hyphens in dot-separated labels of 1..63 bytes.
pub(super) fn valid_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// How a value is shown after "got": JSON for scalars, the kind for the rest.
pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::String(s) if s.chars().count() > 60 => {
            let cut: String = s.chars().take(60).collect();
            format!("{cut:?}…")
        }
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        other => other.to_string(),
    }
}

/// A value and the path it was found at.
pub(super) struct Field<'a> {
    pub path: String,
    pub value: &'a Value,
}

impl<'a> Field<'a> {
    pub(super) fn fail<T>(&self, expected: &str) -> R<T> {
        Err(ConfigError::new(
            &self.path,
            format!("expected {expected}, got {}", describe(self.value)),
        ))
    }

    pub(super) fn str(&self) -> R<&'a str> {
        match self.value.as_str() {
            Some(s) => Ok(s),
            None => self.fail("a string"),
        }
    }

    pub(super) fn nonempty_str(&self) -> R<&'a str> {
        match self.value.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => self.fail("a non-empty string"),
        }
    }

    pub(super) fn bool(&self) -> R<bool> {
        match self.value.as_bool() {
            Some(b) => Ok(b),
            None => self.fail("true or false"),
        }
    }

    pub(super) fn port(&self) -> R<u16> {
        match self.value.as_u64() {
            Some(p @ 1..=65535) => Ok(p as u16),
            _ => self.fail("an integer 1..65535"),
        }
    }

    pub(super) fn ip(&self) -> R<IpAddr> {
        match self.value.as_str().and_then(|s| s.parse::<IpAddr>().ok()) {
            Some(ip) => Ok(canonical_ip(ip)),
            None => self.fail("an IPv4 or IPv6 address"),
        }
    }

    pub(super) fn socket_addr(&self) -> R<SocketAddr> {
        match self
            .value
            .as_str()
            .and_then(|s| s.parse::<SocketAddr>().ok())
        {
            Some(a) => Ok(a),
            None => self.fail("IP:PORT (e.g. \"0.0.0.0:8888\" or \"[::]:8888\")"),
        }
    }

    pub(super) fn hostname(&self) -> R<String> {
        match self.value.as_str() {
            Some(s) if valid_hostname(s) => Ok(s.to_ascii_lowercase()),
            _ => self.fail("a host name"),
        }
    }

    pub(super) fn array(&self) -> R<&'a Vec<Value>> {
        match self.value.as_array() {
            Some(a) => Ok(a),
            None => self.fail("an array"),
        }
    }

    pub(super) fn str_list(&self) -> R<Vec<String>> {
        self.array()?
            .iter()
            .enumerate()
            .map(|(i, item)| match item.as_str() {
                Some(s) => Ok(s.to_string()),
                None => Err(ConfigError::new(
                    format!("{}[{i}]", self.path),
                    format!("expected a string, got {}", describe(item)),
                )),
            })
            .collect()
    }

    /// Rule values as the engine compares them: trimmed (MISP trims what it
    /// stores) and lower-cased.
    pub(super) fn lower_list(&self) -> R<Vec<String>> {
        Ok(self
            .str_list()?
            .iter()
            .map(|s| crate::misp::normalise(s).into_owned())
            .collect())
    }

    pub(super) fn lower_set(&self) -> R<HashSet<String>> {
        Ok(self.lower_list()?.into_iter().collect())
    }
}

/// An object whose keys are taken one by one; [`Obj::finish`] refuses
/// whatever is left, so a misspelt rule name is an error, not a rule that
/// silently does nothing.
pub(super) struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
    taken: HashSet<&'a str>,
    /// Every key asked for, present or not: what an unknown key was
    /// probably meant to be is among them.
    known: Vec<String>,
}

impl<'a> Obj<'a> {
    pub(super) fn new(path: &str, v: &'a Value) -> R<Self> {
        match v.as_object() {
            Some(map) => Ok(Obj {
                path: path.to_string(),
                map,
                taken: HashSet::new(),
                known: Vec::new(),
            }),
            None => Err(ConfigError::new(
                if path.is_empty() { "(top level)" } else { path },
                format!("expected an object, got {}", describe(v)),
            )),
        }
    }

    fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(super) fn optional(&mut self, key: &str) -> Option<Field<'a>> {
        self.known.push(key.to_string());
        let (k, v) = self.map.get_key_value(key)?;
        self.taken.insert(k.as_str());
        Some(Field {
            path: self.child(key),
            value: v,
        })
    }

    pub(super) fn required(&mut self, key: &str) -> R<Field<'a>> {
        let path = self.child(key);
        self.optional(key)
            .ok_or_else(|| ConfigError::new(path, "missing (this key is required)"))
    }

    /// All entries, for maps keyed by user-chosen names.
    pub(super) fn drain(&mut self) -> Vec<(String, &'a Value)> {
        self.map.iter().map(|(k, v)| (k.clone(), v)).collect()
    }

    pub(super) fn finish(self) -> R<()> {
        for k in self.map.keys() {
            if !self.taken.contains(k.as_str()) {
                let message = match did_you_mean(k, &self.known) {
                    Some(known) => format!("unknown key (did you mean {known:?}?)"),
                    None => "unknown key".to_string(),
                };
                return Err(ConfigError::new(self.child(k), message));
            }
        }
        Ok(())
    }
}

/// The known key an unknown one was most likely meant to be: the closest
/// by edit distance (case aside), if it is close enough to be a slip —
/// a letter or two, a missing plural `s`, a dash for an underscore.
pub(super) fn did_you_mean<'k>(unknown: &str, known: &'k [String]) -> Option<&'k str> {
    let unknown = unknown.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&unknown, &k.to_ascii_lowercase()), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// A JSON document parsed like `serde_json::Value`, except that an object
/// with the same key twice is an error (the first or the last would win
/// depending on the reader, and a config must mean one thing).
pub(super) struct StrictValue(pub Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictValue(v) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}
