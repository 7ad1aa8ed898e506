//! Reading bodies for the rules: one JSON document, objects where MISP has
//! objects, and parse errors turned into reasons that quote no content.
//!
//! Every body goes through the one deserializer of [`crate::json`], whole
//! (eval, the tests, a body received before it is judged) or while it
//! arrives (the daemon): the same bytes get the same reading.

use super::model::ObjectOnly;
use super::{Block, Rule};
use crate::json::{self, Arrival, Category};
use std::cell::Cell;

type Outcome = Result<(), Block>;

/// A body for the rules: all there, or arriving (reads wait for it).
#[derive(Clone, Copy, Debug)]
pub(super) enum Body<'a> {
    Whole(&'a [u8]),
    Arriving(&'a Arrival),
}

impl<'a> Body<'a> {
    fn deserializer(self) -> json::Deserializer<'a> {
        match self {
            Body::Whole(bytes) => json::Deserializer::from_slice(bytes),
            Body::Arriving(arrival) => json::Deserializer::new(arrival),
        }
    }

    /// Whether the body is empty: for an arriving one, once its first byte
    /// or its end is in (a body that failed counts as not empty: reading
    /// it says why).
    pub(super) fn is_empty(self) -> bool {
        match self {
            Body::Whole(bytes) => bytes.is_empty(),
            Body::Arriving(arrival) => arrival.wait_is_empty().unwrap_or(false),
        }
    }

    /// Whether the body, without JSON whitespace around it, is one of
    /// `texts` (short ones without whitespace: `[]`, `{}`). Waits for the
    /// whole body. JSON's whitespace, not Rust's ASCII whitespace: a form
    /// feed makes `\x0c[]` a document PHP's `json_decode` refuses.
    pub(super) fn trimmed_is(self, texts: &[&[u8]]) -> bool {
        match self {
            Body::Whole(bytes) => trimmed_in(bytes.iter().copied(), texts),
            Body::Arriving(arrival) => {
                arrival.wait_end().is_ok()
                    && trimmed_in(arrival.chunks().flat_map(|c| c.iter().copied()), texts)
            }
        }
    }

    /// The first byte that is not UTF-8 (`Ok(Some(offset))`), once the
    /// whole body is in; `Err` when it did not arrive whole.
    fn utf8_error(self) -> Result<Option<usize>, json::Failed> {
        match self {
            Body::Whole(bytes) => Ok(std::str::from_utf8(bytes).err().map(|e| e.valid_up_to())),
            Body::Arriving(arrival) => arrival.check_utf8().map(Result::err),
        }
    }
}

/// Whether `bytes`, without JSON whitespace around them, are one of
/// `texts`. The texts have no whitespace inside: whitespace between two
/// other bytes rules them all out, and so does a byte past the longest.
fn trimmed_in(bytes: impl Iterator<Item = u8>, texts: &[&[u8]]) -> bool {
    let longest = texts.iter().map(|t| t.len()).max().unwrap_or(0);
    let mut inner = Vec::new();
    let mut gap = false;
    for b in bytes {
        if is_json_space(b) {
            gap |= !inner.is_empty();
            continue;
        }
        if gap || inner.len() >= longest {
            return false;
        }
        inner.push(b);
    }
    texts.contains(&&inner[..])
}

/// JSON's four whitespace bytes (RFC 8259, and PHP's `json_decode`).
fn is_json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Reads a body as `T`. The whole body must be UTF-8: MISP's reader
/// (PHP's `json_decode`) refuses the whole document over one bad byte,
/// skipped values included.
pub(super) fn parse<'a, T: serde::Deserialize<'a>>(body: Body<'a>) -> Result<T, Block> {
    parse_seed(body, std::marker::PhantomData::<T>)
}

/// [`parse`] with a seed: a reader that carries state (the event's judge).
/// A body refused for its shape is read a second time, slowly, to say
/// where in it the fault is (`Event.Attribute[3].AttributeTag`): the first
/// reading, the one every body gets, keeps no path.
pub(super) fn parse_seed<'a, S: serde::de::DeserializeSeed<'a> + Clone>(
    body: Body<'a>,
    seed: S,
) -> Result<S::Value, Block> {
    if SERDE_JSON.get() {
        return reference::parse_seed(body, seed);
    }
    if body.is_empty() {
        return Err(malformed("empty message body"));
    }
    let mut reader = body.deserializer();
    match seed.clone().deserialize(&mut reader) {
        Ok(value) => match reader.end() {
            Ok(()) => Ok(value),
            Err(e) => Err(refusal(body, seed, &e)),
        },
        Err(e) => Err(refusal(body, seed, &e)),
    }
}

/// Why a body could not be read. The first byte that is not UTF-8 comes
/// first, wherever it is — the reading stopped where its first fault was,
/// which may come before — so the reason does not depend on how far a
/// reading got: it is the one the whole body earns.
fn refusal<'a, S: serde::de::DeserializeSeed<'a>>(
    body: Body<'a>,
    seed: S,
    e: &json::Error,
) -> Block {
    match body.utf8_error() {
        Err(failed) => return unfinished(&failed),
        Ok(Some(at)) => return not_utf8(at),
        Ok(None) => {}
    }
    match e.classify() {
        Category::Data => shape_error(body, seed, e),
        Category::Io => match e.failure() {
            Some(failed) => unfinished(failed),
            None => json_error(false, &e.to_string()),
        },
        Category::Syntax | Category::Eof => json_error(false, &e.to_string()),
    }
}

fn not_utf8(at: usize) -> Block {
    malformed(&format!("invalid JSON body: not UTF-8 at byte {at}"))
}

/// A body that stopped arriving (the daemon refuses it for its own
/// reason; this one is never the last word).
fn unfinished(failed: &json::Failed) -> Block {
    malformed(&format!(
        "the body did not arrive whole: {}",
        super::printable(&failed.0)
    ))
}

/// A body whose JSON is fine but whose shape is not MISP's: where, and
/// whether it is a key MISP's sync never sends (the closed model's
/// refusal) or something else out of place.
fn shape_error<'a, S: serde::de::DeserializeSeed<'a>>(
    body: Body<'a>,
    seed: S,
    first: &json::Error,
) -> Block {
    let mut track = serde_path_to_error::Track::new();
    let mut reader = body.deserializer();
    let traced = seed.deserialize(serde_path_to_error::Deserializer::new(
        &mut reader,
        &mut track,
    ));
    shape_refusal(traced.is_err(), track, &first.to_string())
}

fn shape_refusal(traced: bool, track: serde_path_to_error::Track, message: &str) -> Block {
    let path = if traced {
        track.path().to_string()
    } else {
        String::from("?")
    };
    let path = super::printable(&path);
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
    let mut b = json_error(true, message);
    b.message = format!("{} (at {path})", b.message);
    b
}

/// A body that must be a JSON object (serde's derived structs would also
/// take an array).
pub(super) fn parse_object<'a, T: serde::Deserialize<'a>>(body: Body<'a>) -> Result<T, Block> {
    parse::<ObjectOnly<T>>(body).map(|o| o.0)
}

pub(super) fn malformed(why: &str) -> Block {
    Block::new(Rule::MalformedBody, why.to_string())
}

/// A parse error as a reason (`data`: the JSON is fine, its shape is
/// not). serde quotes offending *values* in double quotes; those are cut
/// out so no content reaches a log line. Field names (in backticks) and
/// positions stay: they say what was wrong.
fn json_error(data: bool, message: &str) -> Block {
    let what = if data {
        "body does not have the shape MISP sends"
    } else {
        "invalid JSON body"
    };
    let mut detail = String::new();
    let mut in_quotes = false;
    for c in message.chars() {
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

thread_local! {
    /// Whether this thread's judge reads with serde_json ([`with_serde_json`]).
    static SERDE_JSON: Cell<bool> = const { Cell::new(false) };
}

/// Runs `judge` with this thread's judge reading whole bodies the way it
/// did before [`crate::json`]: `str::from_utf8`, then serde_json's
/// `from_str` (a compressed body decoded whole first). Kept as the
/// reference the new reader is held to — by the `json` fuzz target and the
/// policy benchmark, which compare verdicts and speed — not for use.
/// Bodies must be whole (an arriving body panics).
#[doc(hidden)]
pub fn with_serde_json<T>(judge: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SERDE_JSON.set(self.0);
        }
    }
    let _restore = Restore(SERDE_JSON.replace(true));
    judge()
}

/// Whether this thread reads with serde_json (see [`with_serde_json`]).
pub(super) fn reading_with_serde_json() -> bool {
    SERDE_JSON.get()
}

/// The reading before [`crate::json`], kept as the reference.
mod reference {
    use super::*;

    pub(super) fn parse_seed<'a, S: serde::de::DeserializeSeed<'a> + Clone>(
        body: Body<'a>,
        seed: S,
    ) -> Result<S::Value, Block> {
        let body = match body {
            Body::Whole(bytes) => bytes,
            Body::Arriving(arrival) => match arrival.chunks().collect::<Vec<_>>()[..] {
                [] => &[][..],
                [one] if arrival.is_ended() => &one[..],
                _ => panic!("the serde_json reader reads whole bodies only"),
            },
        };
        if body.is_empty() {
            return Err(malformed("empty message body"));
        }
        let text = std::str::from_utf8(body).map_err(|e| not_utf8(e.valid_up_to()))?;
        let mut reader = serde_json::Deserializer::from_str(text);
        let value = match seed.clone().deserialize(&mut reader) {
            Ok(v) => v,
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                let mut track = serde_path_to_error::Track::new();
                let mut again = serde_json::Deserializer::from_str(text);
                let traced = seed.deserialize(serde_path_to_error::Deserializer::new(
                    &mut again, &mut track,
                ));
                return Err(shape_refusal(traced.is_err(), track, &e.to_string()));
            }
            Err(e) => return Err(json_error(false, &e.to_string())),
        };
        reader
            .end()
            .map_err(|e| json_error(false, &e.to_string()))?;
        Ok(value)
    }
}
