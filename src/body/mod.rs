//! Bodies: read off the wire whole and paid for out of one memory budget,
//! then decoded as their receiver will read them — each step bounded.
//!
//! - [`receive`] — a body read whole within `max_body_bytes`, every byte
//!   paid for as it arrives ([`budget`]), kept as the chunks it came in.
//! - [`codings`] — content codings undone within a [`DecodePlan`]: the
//!   decoding limits live there once (`max_body_bytes`, the
//!   decompression ratio past its floor, zstd's window). The plan is made
//!   before a decoder runs, so its memory can be paid for first. A large
//!   decoded body goes into memory mapped for it ([`buffer`]).
//!
//! Nothing here judges: a body that cannot be read or decoded is an error
//! the caller turns into a refusal (the judge's `content_encoding` or
//! `max_body_bytes`, the daemon's 503 when the budget is spent).

pub mod budget;
pub mod buffer;
pub mod codings;
pub mod receive;

pub use budget::{Budget, Payment, Spent, hold};
pub use buffer::give_back;
pub use codings::{Coding, DecodeError, DecodePlan, Decoded, decode, parse_codings};
pub use receive::{ReadError, Received, declared_length, discard, read};
