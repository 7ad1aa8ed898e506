//! Reading bodies for the rules: one JSON document, objects where MISP has
//! objects, and parse errors turned into reasons that quote no content.

use super::model::ObjectOnly;
use super::{Block, Rule};

type Outcome = Result<(), Block>;

/// Reads a body as `T`. The whole body must be UTF-8 first: serde_json
/// checks the strings it reads, but not those it skips, and MISP's reader
/// (PHP's `json_decode`) refuses the whole document over one bad byte.
pub(super) fn parse<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, Block> {
    parse_seed(body, std::marker::PhantomData::<T>)
}

/// [`parse`] with a seed: a reader that carries state (the event's judge).
pub(super) fn parse_seed<'a, S: serde::de::DeserializeSeed<'a>>(
    body: &'a [u8],
    seed: S,
) -> Result<S::Value, Block> {
    if body.is_empty() {
        return Err(malformed("empty message body"));
    }
    // Checked once, here: parsed from `str`, serde_json does not check
    // every string again.
    let text = std::str::from_utf8(body).map_err(|e| {
        malformed(&format!(
            "invalid JSON body: not UTF-8 at byte {}",
            e.valid_up_to()
        ))
    })?;
    let mut reader = serde_json::Deserializer::from_str(text);
    let value = seed.deserialize(&mut reader).map_err(|e| json_error(&e))?;
    reader.end().map_err(|e| json_error(&e))?;
    Ok(value)
}

/// A body that must be a JSON object (serde's derived structs would also
/// take an array).
pub(super) fn parse_object<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, Block> {
    parse::<ObjectOnly<T>>(body).map(|o| o.0)
}

pub(super) fn malformed(why: &str) -> Block {
    Block::new(Rule::MalformedBody, why.to_string())
}

/// A parse error as a reason. serde quotes offending *values* in double
/// quotes; those are cut out so no content reaches a log line. Field names
/// (in backticks) and positions stay: they say what was wrong.
fn json_error(e: &serde_json::Error) -> Block {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => "invalid JSON body",
        Category::Data => "body does not have the shape MISP sends",
    };
    let mut detail = String::new();
    let mut in_quotes = false;
    for c in e.to_string().chars() {
        match c {
            '"' if !in_quotes => {
                in_quotes = true;
                detail.push_str("\"…");
            }
            '"' => {
                in_quotes = false;
                detail.push('"');
            }
            _ if in_quotes => {}
            c if c.is_control() => {}
            c => detail.push(c),
        }
    }
    malformed(&format!("{what}: {detail}"))
}

/// The key around a wrapped element must name what it wraps.
pub(super) fn expect_key(key: &str, want: &str) -> Outcome {
    if key == want {
        Ok(())
    } else {
        Err(malformed(&format!(
            "expected a `{want}` element, found `{}`",
            super::printable(key)
        )))
    }
}
