//! Why an exchange was not forwarded — one type for every stage — and the
//! answer the client gets for it.
//!
//! A refusal by the rules (or by a transport limit, which names a rule of
//! its own: `max_body_bytes`, `malformed_body`, `ambiguous_framing`) is a
//! [`Refusal::Blocked`]: 403 with MISP's JSON error, or 400 and a closed
//! connection when the message's length was ambiguous. An upstream that
//! fails is a 502 (504 when it stalls); a spent body budget a 503, which
//! MISP retries. Every answer is MISP-style JSON (see [`super::reply`]).

use super::reply::{self, Body};
use super::upstream::UpstreamError;
use crate::body::{ReadError, Spent};
use crate::policy::{Block, Rule};
use http::{Response, StatusCode};

/// Why an exchange was not forwarded.
#[derive(Debug)]
pub(super) enum Refusal {
    /// By a rule (of the judge, or a transport limit).
    Blocked(Block),
    /// The upstream failed or stalled.
    Upstream(UpstreamError),
    /// The body budget is spent: 503, try again.
    Busy,
}

impl From<Block> for Refusal {
    fn from(b: Block) -> Self {
        Refusal::Blocked(b)
    }
}

impl From<Spent> for Refusal {
    fn from(_: Spent) -> Self {
        Refusal::Busy
    }
}

impl From<UpstreamError> for Refusal {
    fn from(e: UpstreamError) -> Self {
        Refusal::Upstream(e)
    }
}

/// The transport limits on reading a body, named by the rule they are.
impl From<ReadError> for Refusal {
    fn from(e: ReadError) -> Self {
        let rule = match &e {
            ReadError::Busy => return Refusal::Busy,
            ReadError::TooLarge { .. } => Rule::BodyTooLarge,
            ReadError::Broken { .. } => Rule::MalformedBody,
        };
        Refusal::Blocked(Block::new(rule, e.to_string()))
    }
}

impl Refusal {
    /// The answer to the client, for a request to `path`.
    pub(super) fn answer(&self, path: &str) -> Response<Body> {
        match self {
            Refusal::Blocked(block) if block.rule == Rule::AmbiguousFraming => {
                // Not a verdict on the content: the message itself cannot
                // be read one way only. 400, and the connection is closed
                // after the answer (RFC 9112 §6.3).
                let message = format!("Refused by misp-warden: {block}");
                let mut reply = reply::json_error(StatusCode::BAD_REQUEST, &message, path);
                reply.headers_mut().insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
                reply
            }
            Refusal::Blocked(block) => {
                let message = format!("Blocked by misp-warden: {block}");
                reply::json_error(StatusCode::FORBIDDEN, &message, path)
            }
            Refusal::Upstream(e) => {
                let status = match e {
                    UpstreamError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
                    UpstreamError::Failed(_) => StatusCode::BAD_GATEWAY,
                };
                reply::json_error(status, &format!("misp-warden: {e}"), path)
            }
            Refusal::Busy => reply::json_error(StatusCode::SERVICE_UNAVAILABLE, BUSY, path),
        }
    }
}

/// What a client hears when the body budget is spent.
pub(super) const BUSY: &str =
    "misp-warden is busy: the memory for bodies (warden.body_budget_bytes) is spent; try again";
