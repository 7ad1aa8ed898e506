//! The judge, pure: no sockets, no files, no clocks. The daemon and
//! `misp-warden eval` both call it, with the same inputs, so what `eval`
//! says is what the daemon does.
//!
//! An exchange meets the judge in stages, in the order its parts arrive:
//!
//! 1. **The head** ([`judge_head`], `head.rs`) — from the connection (who
//!    dialled where, TLS or not, the server name) and the request head:
//!    framing, the source instance, names that must agree, the [`route`]
//!    (instances and compartments, or the allowlist and feeds), the
//!    transport, and the method and path against the endpoint table
//!    ([`endpoint`]). It admits the request as a [`RequestKind`].
//! 2. **The request body** ([`judge_request_body`], `content.rs`) —
//!    decoded as the receiver will read it, within the bounds of its
//!    [`decode_plan`], then judged by the source instance's rules (push data
//!    belongs to its source).
//! 3. **The response** ([`judge_response`], `content.rs`) — likewise, by
//!    the destination's rules (pulled data belongs to the instance that
//!    answers), or a feed's.
//!
//! [`evaluate`] runs the three on one exchange. The rules themselves
//! (`rules/`) walk a closed model of what MISP sends (`model/`): every key
//! is judged or known harmless, anything else is refused by name. Data that
//! belongs to an event the body does not show whole (sightings, proposals)
//! is judged by the guard's [memory of events](EventVerdicts) it let
//! through.
//!
//! Every stage answers `Ok` or a [`Block`] naming the [`Rule`] that
//! refused (`verdict.rs`).

mod content;
pub mod endpoint;
mod evaluate;
mod feed;
mod head;
mod memory;
pub mod model;
mod read;
mod route;
mod rules;
mod verdict;

pub use crate::misp::{PHP_TRIM, is_uuid, normalise};

pub use content::{
    decode_plan, judge_request_body, judge_request_body_arriving, judge_response,
    judge_response_arriving, request_is_judged, response_is_judged,
};
pub use endpoint::{Direction, Endpoint, RequestBody, ResponseBody, classify};
pub use evaluate::{Case, evaluate};
pub use feed::FeedFile;
pub use head::{Admitted, Connection, Framing, SourceSpec, host_name, judge_head, single};
pub use memory::{EventVerdicts, Flow};
#[doc(hidden)]
pub use read::with_serde_json;
pub use route::{Destination, KindInConfig, RequestKind, Route, route, source_instance};
pub use rules::{RequestFacts, ResponseContext};
pub use verdict::{Block, Rule, printable};

#[cfg(test)]
mod tests;
