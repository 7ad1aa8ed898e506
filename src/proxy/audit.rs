//! The record of one exchange: filled as its stages go, written once as
//! the audit line and the metrics when it ends.
//!
//! Only names, ids, sizes and rule ids go in: never a header value or a
//! body (auth keys, attribute values).

use super::Conn;
use super::Proxy;
use super::refusal::Refusal;
use crate::policy::{Block, RequestKind, endpoint::Direction, printable};
use http::StatusCode;
use std::time::{Duration, Instant};

/// A body above this size is judged off the async worker's queue
/// ([`tokio::task::block_in_place`]): its parse takes milliseconds.
const LARGE_BODY: usize = 256 * 1024;

pub(super) struct Audit {
    started: Instant,
    /// The source instance's id once the head told, else the client address.
    pub source: String,
    /// The destination instance's id (or name) once the head told, else the
    /// address dialled.
    pub destination: String,
    pub method: String,
    pub path: String,
    /// The refusal, or in monitor mode the first would-be refusal.
    block: Option<Block>,
    /// Whether `block` was only noted (monitor mode) and the exchange went on.
    would_block: bool,
    /// Why the exchange could not be completed, when it could not (not a
    /// refusal by the rules): the rule id to log (`upstream`, `busy`) and why.
    error: Option<(&'static str, String)>,
    pub bytes_in: usize,
    pub bytes_out: usize,
    /// For the metrics: what kind of exchange, once the head told.
    direction: &'static str,
    endpoint: &'static str,
    /// Time spent decoding and judging bodies.
    inspecting: Duration,
}

impl Audit {
    pub fn new(conn: &Conn, request: &http::request::Parts) -> Audit {
        Audit {
            started: Instant::now(),
            source: conn.peer.ip().to_string(),
            destination: conn.destination.to_string(),
            method: printable(request.method.as_str()),
            path: printable(request.uri.path()),
            block: None,
            would_block: false,
            error: None,
            bytes_in: 0,
            bytes_out: 0,
            direction: "unknown",
            endpoint: "-",
            inspecting: Duration::ZERO,
        }
    }

    /// Remembers what kind of exchange this is, for the metrics.
    pub fn kind(&mut self, kind: &RequestKind) {
        (self.direction, self.endpoint) = match kind {
            RequestKind::Sync { endpoint, .. } => (
                match endpoint.direction {
                    Direction::Push => "push",
                    Direction::Pull => "pull",
                    Direction::Control => "control",
                },
                endpoint.name,
            ),
            RequestKind::Allowlisted => ("allowlist", "-"),
            RequestKind::Feed { .. } => ("feed", "-"),
        };
    }

    /// Notes a refusal in monitor mode: the exchange goes on. The first
    /// one is what the line reports.
    pub fn would_block(&mut self, block: Block) {
        if self.block.is_none() {
            self.block = Some(block);
            self.would_block = true;
        }
    }

    /// Notes why the exchange ended without being forwarded.
    pub fn refused(&mut self, refusal: &Refusal) {
        match refusal {
            Refusal::Blocked(block) => {
                self.block = Some(block.clone());
                self.would_block = false;
            }
            Refusal::Upstream(e) => self.error = Some(("upstream", e.to_string())),
            Refusal::Busy => self.error = Some(("busy", super::refusal::BUSY.to_string())),
        }
    }

    /// Runs one inspection of a body of `size` bytes, adding its time to
    /// the total. A large body is decoded and judged with the runtime told
    /// first, so that the worker's other tasks (small sync calls) move to
    /// another thread instead of waiting behind it.
    pub fn inspect<T>(&mut self, size: usize, judge: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let result = if size > LARGE_BODY {
            tokio::task::block_in_place(judge)
        } else {
            judge()
        };
        self.inspecting += start.elapsed();
        result
    }

    /// Time spent waiting for a verdict judged elsewhere (a body judged
    /// while it arrived: from its last byte to the verdict).
    pub fn inspected(&mut self, took: Duration) {
        self.inspecting += took;
    }

    /// The one audit line of the exchange, and its metrics.
    pub fn log(&self, proxy: &Proxy, conn: &Conn, status: StatusCode) {
        let ms = self.started.elapsed().as_millis() as u64;
        let status = status.as_u16();
        let (verdict, rule, event) = match &self.block {
            Some(b) if self.would_block => ("would_block", b.rule.id(), b.event_uuid.as_deref()),
            Some(b) => ("block", b.rule.id(), b.event_uuid.as_deref()),
            None if self.error.is_some() => {
                ("error", self.error.as_ref().map_or("-", |e| e.0), None)
            }
            None => ("allow", "-", None),
        };
        let event = event.unwrap_or("-");
        let metrics = &proxy.metrics;
        metrics.exchange(
            &crate::metrics::ExchangeRecord {
                direction: self.direction,
                endpoint: self.endpoint,
                verdict,
                rule,
            },
            self.bytes_in,
            self.bytes_out,
        );
        if !self.inspecting.is_zero() {
            metrics.inspection(self.inspecting);
        }
        let message = match (&self.block, &self.error) {
            (Some(block), None) => block.to_string(),
            (Some(block), Some((_, e))) => format!("{block}; {e}"),
            (None, Some((_, e))) => e.clone(),
            (None, None) => "allowed".to_string(),
        };
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    conn = conn.id, src = %self.source, dst = %self.destination,
                    method = %self.method, path = %self.path, verdict, rule, event,
                    status, bytes_in = self.bytes_in, bytes_out = self.bytes_out, ms,
                    "{message}"
                )
            };
        }
        if verdict == "allow" {
            line!(info)
        } else {
            line!(warn)
        }
    }
}
