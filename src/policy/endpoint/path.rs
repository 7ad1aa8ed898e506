//! Reading a request target the way a web framework would, refusing
//! whatever it could read two ways: percent-decoding that would change how
//! the path splits, dot and empty segments, `;` parameters, queries.

use super::super::{Block, Rule};

/// Splits an origin-form target into percent-decoded segments, refusing
/// everything ambiguous (see the module docs).
pub(super) fn decode_target(target: &str) -> Result<Vec<String>, Block> {
    let refuse = |why: &str| Err(Block::new(Rule::Endpoint, format!("path refused: {why}")));
    let Some(path) = target.strip_prefix('/') else {
        return refuse("not an origin-form path");
    };
    if path.contains('?') {
        return refuse("query strings are not used by MISP sync");
    }
    if path.contains('#') {
        return refuse("fragment in request target");
    }
    let mut out = Vec::new();
    for raw in path.split('/') {
        let seg = match percent_decode(raw) {
            Some(s) => s,
            None => return refuse("malformed or disallowed percent-encoding"),
        };
        if seg.is_empty() {
            return refuse("empty path segment");
        }
        if seg == "." || seg == ".." {
            return refuse("dot segment");
        }
        if !seg.bytes().all(allowed_segment_byte) {
            return refuse("character not used in MISP sync paths");
        }
        out.push(seg);
    }
    Ok(out)
}

/// Bytes a decoded segment may contain: MISP's controllers, actions, UUIDs,
/// ids and named parameters (`deleted[]:0`, `excludeLocalTags:1`, `.json`).
fn allowed_segment_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'[' | b']')
}

/// Decodes `%XX` escapes. Returns `None` for a malformed escape or one that
/// decodes to `/`, `\`, `%`, a control byte or a non-ASCII byte: each would
/// change how a server splits or reads the path.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            let b = u8::from_str_radix(hex, 16).ok()?;
            if b == b'/' || b == b'\\' || b == b'%' || b.is_ascii_control() || !b.is_ascii() {
                return None;
            }
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// CakePHP reads a trailing `.json` as the response type; the action is the
/// same with or without it.
pub(super) fn strip_json_suffix(mut segments: Vec<String>) -> (Vec<String>, bool) {
    if let Some(last) = segments.last_mut()
        && let Some(stem) = last.strip_suffix(".json")
        && !stem.is_empty()
    {
        *last = stem.to_string();
        return (segments, true);
    }
    (segments, false)
}

/// A parameter's key or value as a message shows it: what the path
/// allows (letters, digits, `_[]-.`), bounded.
pub(super) fn printable_param(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Splits `key:value` / `key[]:value`. The key is letters, digits and `_`
/// with an optional `[]`; the value has no further `:`.
pub(super) fn named_param(seg: &str) -> Option<(&str, &str)> {
    let (key, value) = seg.split_once(':')?;
    let name = key.strip_suffix("[]").unwrap_or(key);
    let key_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let value_ok = !value.contains(':') && !value.contains('[') && !value.contains(']');
    (key_ok && value_ok).then_some((key, value))
}

pub(super) fn is_decimal_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A method name as it may appear in a message: printable ASCII, bounded.
pub(super) fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(16)
        .collect()
}
