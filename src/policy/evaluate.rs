//! One whole exchange judged by every stage, in the daemon's order:
//! `misp-warden eval` is this function, and the policy's tests drive it.

use super::Block;
use super::content::{judge_request_body, judge_response};
use super::head::{Connection, Framing, judge_head};
use super::memory::EventVerdicts;
use crate::config::Config;

/// One whole exchange, for [`evaluate`]: what the connection said, the
/// request head and body as received, and optionally the response.
#[derive(Debug, Clone, Copy)]
pub struct Case<'a> {
    pub connection: Connection<'a>,
    pub request: &'a http::request::Parts,
    pub framing: Framing,
    /// The request body as received (still encoded; empty when none).
    pub request_body: &'a [u8],
    /// The response head and body as received, when it is to be judged.
    pub response: Option<(&'a http::response::Parts, &'a [u8])>,
}

/// Runs every stage on one exchange, in the daemon's order: the head, the
/// request body, the response. `misp-warden eval` is this function.
pub fn evaluate(config: &Config, case: &Case, memory: &EventVerdicts) -> Result<(), Block> {
    let admitted = judge_head(config, &case.connection, case.request, case.framing)?;
    let kind = admitted.kind;
    let facts = judge_request_body(
        config,
        &kind,
        &case.request.headers,
        case.request_body,
        memory,
    )?;
    if let Some((response, body)) = case.response {
        judge_response(config, &kind, &facts, response, body, memory)?;
    }
    Ok(())
}
