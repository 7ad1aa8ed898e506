//! JSON writing helpers: strings, keys and values, and closing a list or
//! an object appended to a `String`.

use std::fmt::Write as _;

/// Writes `v` as a JSON string (as PHP's `json_encode` with
/// `JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE`, which MISP uses).
pub fn js(o: &mut String, v: &str) {
    o.push('"');
    for c in v.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
}

/// `"key":"value",`
pub fn kv(o: &mut String, key: &str, value: &str) {
    js(o, key);
    o.push(':');
    js(o, value);
    o.push(',');
}

/// `"key":raw,` (numbers, booleans, null, nested JSON).
pub fn kr(o: &mut String, key: &str, raw: &str) {
    js(o, key);
    o.push(':');
    o.push_str(raw);
    o.push(',');
}

/// Drops a trailing comma before a closing bracket.
pub fn close(o: &mut String, bracket: char) {
    if o.ends_with(',') {
        o.pop();
    }
    o.push(bracket);
}
