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
/// A body refused for its shape is read a second time, slowly, to say
/// where in it the fault is (`Event.Attribute[3].AttributeTag`): the first
/// reading, the one every body gets, keeps no path.
pub(super) fn parse_seed<'a, S: serde::de::DeserializeSeed<'a> + Clone>(
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
    let value = match seed.clone().deserialize(&mut reader) {
        Ok(v) => v,
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            return Err(shape_error(text, seed, &e));
        }
        Err(e) => return Err(json_error(&e)),
    };
    reader.end().map_err(|e| json_error(&e))?;
    Ok(value)
}

/// A body whose JSON is fine but whose shape is not MISP's: where, and
/// whether it is a key MISP's sync never sends (the closed model's
/// refusal) or something else out of place.
fn shape_error<'a, S: serde::de::DeserializeSeed<'a>>(
    text: &'a str,
    seed: S,
    first: &serde_json::Error,
) -> Block {
    let mut track = serde_path_to_error::Track::new();
    let mut reader = serde_json::Deserializer::from_str(text);
    let traced = seed.deserialize(serde_path_to_error::Deserializer::new(
        &mut reader,
        &mut track,
    ));
    let path = match traced {
        Err(_) => track.path().to_string(),
        Ok(_) => String::from("?"),
    };
    let path = super::printable(&path);
    let message = first.to_string();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let key = rest.split('`').next().unwrap_or_default();
        // The path ends with the key itself; the root is written ".".
        let place = match path.rsplit_once('.') {
            Some((parent, _)) if !parent.is_empty() => parent.to_string(),
            _ => "the top level".to_string(),
        };
        return Block::new(
            Rule::UnknownKey,
            format!(
                "a key MISP's sync never sends here: `{}` in {place}",
                super::printable(key)
            ),
        );
    }
    let mut b = json_error(first);
    b.message = format!("{} (at {path})", b.message);
    b
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
