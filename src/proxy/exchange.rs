//! One request and its response: judged, then forwarded byte for byte or
//! refused.
//!
//! The policy stages run as the parts arrive: the head (who, where, which
//! endpoint) before the body is read — so a refused push is answered
//! without ever sending `100 Continue` — then the decoded body, then, once
//! the upstream answered, the decoded response. The bytes forwarded are
//! always the ones received: decoding is only for looking.
//!
//! In monitor mode every stage is judged and logged the same, and a refusal
//! becomes a "would block" note instead of a 403. What cannot be done at
//! all — a body that cannot be read, an upstream that does not answer — is
//! refused in both modes.

use super::bodies::{self, BodyError, Held};
use super::connection::Conn;
use super::forward::{Outgoing, Upstreamed, declared_length, send, upstream_target};
use super::message::client_response;
use super::reply::{self, Body};
use super::upstream::{Streamed, UpstreamError};
use super::{Loaded, Proxy};
use crate::config::Mode;
use crate::policy::{self, Block, Connection, RequestKind, Rule, SourceSpec, printable};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Either;
use hyper::body::Incoming;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

/// A body above this size is judged off the async worker's queue
/// ([`tokio::task::block_in_place`]): its parse takes milliseconds.
const LARGE_BODY: usize = 256 * 1024;

/// Why an exchange was not forwarded.
pub(super) enum Refusal {
    Blocked(Block),
    Upstream(UpstreamError),
    /// The body budget is spent: 503, try again.
    Busy,
}

impl From<Block> for Refusal {
    fn from(b: Block) -> Self {
        Refusal::Blocked(b)
    }
}

impl From<BodyError> for Refusal {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Blocked(b) => Refusal::Blocked(b),
            BodyError::Busy => Refusal::Busy,
        }
    }
}

/// The audit record of one exchange, filled as it goes and logged once.
/// Only names, ids, sizes and rule ids: never a header value or body.
struct Audit {
    source: String,
    destination: String,
    method: String,
    path: String,
    /// The refusal, or in monitor mode the first would-be refusal.
    block: Option<Block>,
    /// Whether `block` was only noted (monitor mode) and the exchange went on.
    would_block: bool,
    /// Why the exchange could not be completed, when it could not (not a
    /// refusal by the rules): the rule id to log (`upstream`, `busy`) and why.
    error: Option<(&'static str, String)>,
    bytes_in: usize,
    bytes_out: usize,
    /// For the metrics: what kind of exchange, once the head told.
    direction: &'static str,
    endpoint: &'static str,
    /// Time spent decoding and judging bodies.
    inspecting: std::time::Duration,
}

impl Audit {
    /// Remembers what kind of exchange this is, for the metrics.
    fn kind(&mut self, exchange: &RequestKind) {
        use crate::policy::endpoint::Direction;
        (self.direction, self.endpoint) = match exchange {
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

    /// Runs one inspection of a body of `size` bytes, adding its time to
    /// the total. A large body is decoded and judged with the runtime told
    /// first, so that the worker's other tasks (small sync calls) move to
    /// another thread instead of waiting behind it.
    fn inspect<T>(&mut self, size: usize, judge: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let result = if size > LARGE_BODY {
            tokio::task::block_in_place(judge)
        } else {
            judge()
        };
        self.inspecting += start.elapsed();
        result
    }
}

/// What the client is answered with: a body of the guard's making or
/// judged whole, or one streamed from upstream as it arrives.
pub type ClientBody = http_body_util::Either<Body, Streamed>;

pub async fn handle(
    proxy: Arc<Proxy>,
    conn: Arc<Conn>,
    request: Request<Incoming>,
) -> Result<Response<ClientBody>, Infallible> {
    let started = Instant::now();
    let loaded = proxy.loaded();
    let mut audit = Audit {
        source: conn.peer.ip().to_string(),
        destination: conn.destination.to_string(),
        method: printable(request.method().as_str()),
        path: printable(request.uri().path()),
        block: None,
        would_block: false,
        error: None,
        bytes_in: 0,
        bytes_out: 0,
        direction: "unknown",
        endpoint: "-",
        inspecting: std::time::Duration::ZERO,
    };
    let path = audit.path.clone();
    let monitor = loaded.config.warden.mode == Mode::Monitor;
    let response = match exchange(&proxy, &loaded, &conn, request, &mut audit, monitor).await {
        Ok(response) => response,
        Err(Refusal::Blocked(block)) if block.rule == Rule::AmbiguousFraming => {
            // Not a verdict on the content: the message itself cannot be
            // read one way only. 400, and the connection is closed after
            // the answer (RFC 9112 §6.3).
            let message = format!("Refused by misp-warden: {block}");
            audit.block = Some(block);
            audit.would_block = false;
            let mut reply = reply::json_error(StatusCode::BAD_REQUEST, &message, &path);
            reply.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            reply.map(Either::Left)
        }
        Err(Refusal::Blocked(block)) => {
            let message = format!("Blocked by misp-warden: {block}");
            audit.block = Some(block);
            audit.would_block = false;
            reply::json_error(StatusCode::FORBIDDEN, &message, &path).map(Either::Left)
        }
        Err(Refusal::Upstream(e)) => {
            let (status, message, cause) = match e {
                UpstreamError::Timeout(m) => (StatusCode::GATEWAY_TIMEOUT, m, "timeout"),
                UpstreamError::Failed(m) => (StatusCode::BAD_GATEWAY, m, "failed"),
            };
            proxy.metrics.upstream_failed(cause);
            let reply = reply::json_error(
                status,
                &format!("misp-warden: upstream failed: {message}"),
                &path,
            );
            audit.error = Some(("upstream", format!("upstream failed: {message}")));
            reply.map(Either::Left)
        }
        Err(Refusal::Busy) => {
            let message = "misp-warden is busy: the memory for bodies (warden.body_budget_bytes) is spent; try again";
            audit.error = Some(("busy", message.to_string()));
            reply::json_error(StatusCode::SERVICE_UNAVAILABLE, message, &path).map(Either::Left)
        }
    };
    log(&proxy, &conn, &audit, response.status(), started);
    Ok(response)
}

/// The one audit line of an exchange, and its metrics.
fn log(proxy: &Proxy, conn: &Conn, audit: &Audit, status: StatusCode, started: Instant) {
    let ms = started.elapsed().as_millis() as u64;
    let status = status.as_u16();
    let (verdict, rule, event) = match &audit.block {
        Some(b) if audit.would_block => ("would_block", b.rule.id(), b.event_uuid.as_deref()),
        Some(b) => ("block", b.rule.id(), b.event_uuid.as_deref()),
        None if audit.error.is_some() => ("error", audit.error.as_ref().map_or("-", |e| e.0), None),
        None => ("allow", "-", None),
    };
    let event = event.unwrap_or("-");
    let metrics = &proxy.metrics;
    metrics.exchange(
        &crate::metrics::ExchangeRecord {
            direction: audit.direction,
            endpoint: audit.endpoint,
            verdict,
            rule,
        },
        audit.bytes_in,
        audit.bytes_out,
    );
    if !audit.inspecting.is_zero() {
        metrics.inspection(audit.inspecting);
    }
    let message = match (&audit.block, &audit.error) {
        (Some(block), None) => block.to_string(),
        (Some(block), Some((_, e))) => format!("{block}; {e}"),
        (None, Some((_, e))) => e.clone(),
        (None, None) => "allowed".to_string(),
    };
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                conn = conn.id, src = %audit.source, dst = %audit.destination,
                method = %audit.method, path = %audit.path, verdict, rule, event,
                status, bytes_in = audit.bytes_in, bytes_out = audit.bytes_out, ms,
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

/// Enforce: a refusal ends the exchange. Monitor: it is noted, and the
/// exchange goes on without the judgement it could not reach.
fn judged<T>(
    result: Result<T, Block>,
    audit: &mut Audit,
    monitor: bool,
) -> Result<Option<T>, Refusal> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(block) if monitor => {
            if audit.block.is_none() {
                audit.block = Some(block);
                audit.would_block = true;
            }
            Ok(None)
        }
        Err(block) => Err(Refusal::Blocked(block)),
    }
}

async fn exchange(
    proxy: &Arc<Proxy>,
    loaded: &Loaded,
    conn: &Conn,
    request: Request<Incoming>,
    audit: &mut Audit,
    monitor: bool,
) -> Result<Response<ClientBody>, Refusal> {
    let config = &loaded.config;
    let (parts, incoming) = request.into_parts();

    // The head: who, where, which endpoint.
    let connection = Connection {
        source: SourceSpec::Ip(conn.peer.ip()),
        destination_ip: Some(conn.destination.ip()),
        port: conn.destination.port(),
        tls: conn.tls,
        sni: conn.sni.as_deref(),
    };
    let framing = conn.framing.take(&parts);
    let head = policy::judge_head(config, &connection, &parts, framing);
    if let Ok(admitted) = &head {
        audit.source = admitted.source.id.clone();
        audit.destination = admitted.destination.clone();
    }
    // An ambiguous length is refused in monitor mode too: there is no one
    // message to forward.
    let ambiguous = matches!(&head, Err(b) if b.rule == Rule::AmbiguousFraming);
    let exchange = match judged(head.map(|a| a.exchange), audit, monitor && !ambiguous) {
        Ok(exchange) => exchange,
        Err(refusal) => {
            bodies::discard(incoming, &parts.headers, config.warden.max_body_bytes).await;
            return Err(refusal);
        }
    };
    if let Some(exchange) = &exchange {
        audit.kind(exchange);
    }
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let limits = &config.warden.limits;
    // What this exchange holds of the body budget, until it ends.
    let mut held = Held::default();

    // The body, complete, within the limit (it is never streamed through
    // uninspected, in either mode).
    let mut incoming = incoming;
    let read = tokio::time::timeout(
        limits.body_timeout,
        bodies::read(
            &mut incoming,
            &parts.headers,
            config.warden.max_body_bytes,
            "request",
            &proxy.budget,
            &mut held,
        ),
    )
    .await
    .map_err(|_| {
        BodyError::Blocked(Block::new(
            Rule::MalformedBody,
            format!(
                "the request body did not arrive within {}s (warden.body_timeout_seconds)",
                limits.body_timeout.as_secs()
            ),
        ))
    })
    .and_then(|r| r);
    let raw = match read {
        Ok(raw) => raw,
        Err(e) => {
            // Refused before the client finished sending: let it finish
            // (bounded), so it reads the answer. A stalled one is not waited
            // for again.
            if !matches!(&e, BodyError::Blocked(b) if b.rule == Rule::MalformedBody) {
                bodies::discard(incoming, &parts.headers, config.warden.max_body_bytes).await;
            }
            return Err(e.into());
        }
    };
    audit.bytes_in = raw.len();
    // What the response stage needs to know of the request (in monitor
    // mode, after a would-be refusal, nothing).
    let mut facts = policy::RequestFacts::default();
    if let Some(exchange) = exchange.as_ref().filter(|e| policy::request_is_judged(e)) {
        let _slot = proxy.inspections.acquire().await;
        let verdict = audit.inspect(raw.len(), || {
            // Decoding takes memory of its own, paid for first and given
            // back once judged (the decoded copy is never forwarded).
            let plan = policy::decode_plan(&parts.headers, raw.len(), &config.warden)?;
            let _decoding = bodies::hold(&proxy.budget, plan.memory())?;
            Ok(policy::judge_request_body(
                config,
                exchange,
                &parts.headers,
                &raw,
                &proxy.verdicts,
            )?)
        });
        if let Some(judged) = judged(verdict_of(verdict)?, audit, monitor)? {
            facts = judged;
        }
    }

    // Forward the original bytes.
    let host = policy::host_name(&parts).ok().flatten();
    let upstream = upstream_target(loaded, conn, host);
    let is_head = parts.method == Method::HEAD;
    let outgoing = Outgoing {
        parts: &parts,
        target,
        body: raw,
        _held: held,
    };
    // A response the policy does not read is passed on as it arrives.
    let judge_response = exchange
        .as_ref()
        .is_some_and(|e| policy::response_is_judged(e));
    let stream = !judge_response && !is_head;
    // The response is paid for apart: `send` lets the request go (its
    // bytes, and their share of the budget) once the answer has begun.
    let mut held = Held::default();
    let (response_parts, upstreamed) = send(
        proxy,
        &upstream,
        outgoing,
        is_head,
        stream,
        config.warden.max_body_bytes,
        &mut held,
    )
    .await?;
    let response_raw = match upstreamed {
        Upstreamed::Streamed(body) => {
            audit.bytes_out = declared_length(&response_parts.headers);
            return Ok(client_response(response_parts, Either::Right(body), false));
        }
        Upstreamed::Whole(raw) => raw,
    };
    audit.bytes_out = response_raw.len();

    // The response, before a byte of it reaches the client.
    if let Some(exchange) = exchange.as_ref().filter(|_| judge_response) {
        let _slot = proxy.inspections.acquire().await;
        let verdict = audit.inspect(response_raw.len(), || {
            let plan =
                policy::decode_plan(&response_parts.headers, response_raw.len(), &config.warden)?;
            let _decoding = bodies::hold(&proxy.budget, plan.memory())?;
            Ok(policy::judge_response(
                config,
                exchange,
                &facts,
                &response_parts,
                &response_raw,
                &proxy.verdicts,
            )?)
        });
        judged(verdict_of(verdict)?, audit, monitor)?;
    }
    Ok(client_response(
        response_parts,
        Either::Left(Body::new(response_raw)),
        is_head,
    ))
}

/// A body's verdict, apart from what is no verdict at all (the budget
/// spent: refused in both modes).
fn verdict_of<T>(result: Result<T, BodyError>) -> Result<Result<T, Block>, Refusal> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(BodyError::Blocked(block)) => Ok(Err(block)),
        Err(BodyError::Busy) => Err(Refusal::Busy),
    }
}
