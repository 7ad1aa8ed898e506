//! JSON read while it arrives: a `serde::Deserializer` over a body whose
//! chunks are still coming in, for the judge to run *while* a body is
//! received rather than after.
//!
//! # Why
//!
//! The daemon used to receive a whole body, then judge it, then forward
//! it: the judge's time came on top of the transfer. Judged on a thread of
//! its own while the body arrives, the verdict is ready when the last byte
//! is. serde_json can read from an `io::Read` that blocks, but only a byte
//! at a time through its `IoRead` — about a quarter of its speed on a
//! slice — and it cannot borrow strings from such a source. This
//! deserializer reads chunks in place: as fast as serde_json on a slice
//! when the body is all there, and it waits, cheaply, when it is not.
//!
//! # How
//!
//! - [`Arrival`] is the body as it arrives: an append-only list of chunks
//!   (`bytes::Bytes`, as hyper hands them, each kept whole — the very
//!   chunks the daemon forwards afterwards, no copy), shared between the
//!   receiving task, which appends and never blocks ([`Arrival::push`],
//!   [`Arrival::finish`], [`Arrival::fail`]; a [`Producer`] fails the body
//!   if it is dropped first), and the judge's thread, which waits on a
//!   condition variable for what has not arrived. Chunks never move, so a
//!   string read from one can be borrowed for as long as the `Arrival`
//!   lives (`Cow<'a, str>` in the judge's model, as before).
//! - [`Deserializer`] reads the current chunk directly: strings are
//!   scanned eight bytes at a time for `"`, `\`, control characters and
//!   bytes that are not ASCII; values skipped with `IgnoredAny` (most of a
//!   body) go through the same scan and a bracket stack. Only when it
//!   reaches the end of a chunk does it ask for the next one — waiting if
//!   need be — and only a string that straddles two chunks is copied (into
//!   a scratch buffer, then handed over as a transient `&str`); numbers,
//!   literals and escapes are read byte by byte and never notice a
//!   boundary.
//! - UTF-8 is checked as the bytes are scanned: a byte that is not ASCII
//!   ends the eight-byte scan and its character is checked there (across a
//!   boundary if it straddles one); outside strings, such a byte is a
//!   syntax error anyway. No second pass over the body.
//!
//! # What it promises, next to serde_json
//!
//! The same observable behaviour as `serde_json::Deserializer::from_str`
//! on `std::str::from_utf8(body)`, for every body and every way of cutting
//! it into chunks — the deserializer follows serde_json 1.0's, token for
//! token (`de/`):
//!
//! - the same bodies accepted and refused, by values read and by values
//!   skipped: whitespace, escapes (`\u` surrogate pairs must pair when a
//!   string is read; any four hex digits pass when it is skipped, as in
//!   serde_json), control characters in strings, numbers as `u64`, `i64`
//!   or `f64` with serde_json's overflow rules and its float rounding, 128
//!   levels of nesting for values read (none for skipped ones), trailing
//!   characters refused by [`Deserializer::end`];
//! - the same visitor calls: `visit_borrowed_str` for a string in one
//!   chunk without escapes, `visit_str` otherwise (serde_json borrows
//!   across what would be a boundary here: a visitor that needs a borrowed
//!   string must take an owned one too — the judge's `Cow` does); raw
//!   values (`serde_json::value::RawValue`'s protocol) likewise, borrowed
//!   or owned;
//! - errors of the same [`Category`], with serde_json's wording and its
//!   line and column, never quoting the body but where serde_json does
//!   (`invalid type: string "…"`).
//!
//! One difference: a body that is not UTF-8 is refused
//! (`invalid UTF-8`) where the first bad byte is met, even inside a value
//! skipped — serde_json's `from_slice` does not check skipped strings, and
//! `from_str` cannot be handed such a body at all. The judge
//! (`policy/read.rs`) asks for the first bad byte of the whole body
//! ([`Arrival::check_utf8`]) whenever a reading fails, so its refusal is
//! the one it gave before: `not UTF-8 at byte N`.
//!
//! Only what has arrived is ever read, and only once: a reader that gets
//! ahead of the producer waits. A failed body ([`Arrival::fail`]) is an
//! error of category `Io` for the reader waiting for it.

mod arrival;
mod de;
mod error;
mod read;

pub use arrival::{Arrival, Failed, Producer, Reader};
pub use de::{Deserializer, RAW_VALUE_TOKEN};
pub use error::{Category, Error};

/// Reads a `T` from a body as it arrives, then checks its end.
pub fn from_arrival<'a, T: serde::Deserialize<'a>>(arrival: &'a Arrival) -> Result<T, Error> {
    Deserializer::new(arrival).read_to_end()
}

/// Reads a `T` from a body that is all there.
pub fn from_slice<'a, T: serde::Deserialize<'a>>(slice: &'a [u8]) -> Result<T, Error> {
    Deserializer::from_slice(slice).read_to_end()
}

#[cfg(test)]
mod tests;
