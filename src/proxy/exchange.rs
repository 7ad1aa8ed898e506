//! One request and its response: a short pipeline of stages, each judged
//! before the next begins —
//!
//! 1. [`judge_head`] — who, where, which endpoint — before the body is read,
//!    so a refused push is answered without ever sending `100 Continue`;
//! 2. [`read_request`] — the body, whole, within the limits;
//! 3. [`judge_request`] — the body decoded and judged;
//! 4. [`forward`] — the original bytes sent on, the answer read whole (or
//!    streamed when nothing in it is judged);
//! 5. [`judge_answer`] — the answer decoded and judged, before a byte of it
//!    reaches the client.
//!
//! The bytes forwarded are always the ones received: decoding is only for
//! looking. In monitor mode every stage is judged and logged the same, and
//! a refusal by the rules becomes a "would block" note instead of a 403.
//! What cannot be done at all — a body that cannot be read, an upstream that
//! does not answer, an ambiguous length — is refused in both modes.

use super::Conn;
use super::audit::Audit;
use super::forward::{Outgoing, UpstreamAnswer, Wanted, declared_length, send, upstream_target};
use super::message::client_response;
use super::refusal::Refusal;
use super::reply::Body;
use super::upstream::Streamed;
use super::{InForce, Proxy};
use crate::body::{self, Payment};
use crate::config::{Config, Mode};
use crate::policy::{self, Block, Connection, RequestFacts, RequestKind, Rule, SourceSpec};
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Either;
use hyper::body::Incoming;
use std::convert::Infallible;
use std::sync::Arc;

/// What the client is answered with: a body of the guard's making or
/// judged whole, or one streamed from upstream as it arrives.
pub type ClientBody = Either<Body, Streamed>;

/// What one exchange carries through its stages.
struct Ctx<'a> {
    proxy: &'a Arc<Proxy>,
    /// The config in force when the exchange began: a reload never changes
    /// the rules halfway through it.
    in_force: &'a InForce,
    conn: &'a Conn,
    audit: Audit,
    /// `warden.mode: monitor`: judge and log, refuse nothing the rules
    /// would refuse.
    monitor: bool,
}

impl Ctx<'_> {
    fn config(&self) -> &Config {
        &self.in_force.config
    }

    /// Enforce: a refusal ends the exchange. Monitor: a refusal by the
    /// rules is noted, and the exchange goes on without the judgement it
    /// could not reach (`None`); any other refusal ends it in both modes.
    fn judged<T>(&mut self, verdict: Result<T, Refusal>) -> Result<Option<T>, Refusal> {
        match verdict {
            Ok(v) => Ok(Some(v)),
            Err(Refusal::Blocked(block)) if self.monitor => {
                self.audit.would_block(block);
                Ok(None)
            }
            Err(refusal) => Err(refusal),
        }
    }
}

/// Serves one request: runs the pipeline, answers a refusal MISP-style,
/// writes the audit line.
pub async fn handle(
    proxy: Arc<Proxy>,
    conn: Arc<Conn>,
    request: Request<Incoming>,
) -> Result<Response<ClientBody>, Infallible> {
    let in_force = proxy.in_force();
    let (parts, incoming) = request.into_parts();
    let mut ctx = Ctx {
        proxy: &proxy,
        in_force: &in_force,
        conn: &conn,
        audit: Audit::new(&conn, &parts),
        monitor: in_force.config.warden.mode == Mode::Monitor,
    };
    let response = match exchange(&mut ctx, parts, incoming).await {
        Ok(response) => response,
        Err(refusal) => {
            if let Refusal::Upstream(e) = &refusal {
                proxy.metrics.upstream_failed(e.cause());
            }
            ctx.audit.refused(&refusal);
            refusal.answer(&ctx.audit.path).map(Either::Left)
        }
    };
    ctx.audit.log(&proxy, &conn, response.status());
    Ok(response)
}

/// The pipeline (see the module docs).
async fn exchange(
    ctx: &mut Ctx<'_>,
    parts: http::request::Parts,
    incoming: Incoming,
) -> Result<Response<ClientBody>, Refusal> {
    let max_body = ctx.config().warden.max_body_bytes;
    let kind = match judge_head(ctx, &parts) {
        Ok(kind) => kind,
        Err(refusal) => {
            body::discard(incoming, &parts.headers, max_body).await;
            return Err(refusal);
        }
    };
    let (raw, paid) = read_request(ctx, &parts, incoming).await?;
    let facts = judge_request(ctx, kind.as_ref(), &parts, &raw).await?;
    let is_head = parts.method == Method::HEAD;
    let judged_answer = kind.as_ref().is_some_and(policy::response_is_judged);
    let wanted = match (is_head, judged_answer) {
        (true, _) => Wanted::Head,
        (false, true) => Wanted::Whole,
        (false, false) => Wanted::Streamed,
    };
    let (response, answer) = forward(ctx, &parts, raw, paid, wanted).await?;
    let (raw, _paid) = match answer {
        UpstreamAnswer::Streamed(body) => {
            ctx.audit.bytes_out = declared_length(&response.headers);
            return Ok(client_response(response, Either::Right(body), false));
        }
        UpstreamAnswer::Whole(raw, paid) => (raw, paid),
    };
    ctx.audit.bytes_out = raw.len();
    if judged_answer && let Some(kind) = &kind {
        judge_answer(ctx, kind, &facts, &response, &raw).await?;
    }
    Ok(client_response(
        response,
        Either::Left(Body::new(raw)),
        is_head,
    ))
}

/// Stage 1: who, where, which endpoint (`None` in monitor mode after a
/// would-be refusal: the exchange goes on unjudged).
fn judge_head<'c>(
    ctx: &mut Ctx<'c>,
    parts: &http::request::Parts,
) -> Result<Option<RequestKind<'c>>, Refusal> {
    let conn = ctx.conn;
    let connection = Connection {
        source: SourceSpec::Ip(conn.peer.ip()),
        destination_ip: Some(conn.destination.ip()),
        port: conn.destination.port(),
        tls: conn.tls,
        sni: conn.sni.as_deref(),
    };
    let framing = conn.framing.take(parts);
    let head = policy::judge_head(&ctx.in_force.config, &connection, parts, framing);
    match &head {
        Ok(admitted) => {
            ctx.audit.source = admitted.source.id.clone();
            ctx.audit.destination = admitted.destination.clone();
            ctx.audit.kind(&admitted.kind);
        }
        // An ambiguous length is refused in monitor mode too: there is no
        // one message to forward.
        Err(b) if b.rule == Rule::AmbiguousFraming => return Err(Refusal::Blocked(b.clone())),
        Err(_) => {}
    }
    ctx.judged(head.map(|a| a.kind).map_err(Refusal::from))
}

/// Stage 2: the request body, complete, within `max_body_bytes` and
/// `body_timeout_seconds`, paid for out of the budget as it arrives. It is
/// never streamed through uninspected, in either mode.
async fn read_request(
    ctx: &mut Ctx<'_>,
    parts: &http::request::Parts,
    mut incoming: Incoming,
) -> Result<(Bytes, Payment), Refusal> {
    let warden = &ctx.in_force.config.warden;
    let timeout = warden.limits.body_timeout;
    let mut paid = Payment::default();
    let read = body::read(
        &mut incoming,
        &parts.headers,
        warden.max_body_bytes,
        "request",
        &ctx.proxy.budget,
        &mut paid,
    );
    let refusal = match tokio::time::timeout(timeout, read).await {
        Ok(Ok(raw)) => {
            ctx.audit.bytes_in = raw.len();
            return Ok((raw, paid));
        }
        Ok(Err(e)) => Refusal::from(e),
        Err(_) => Refusal::Blocked(Block::new(
            Rule::MalformedBody,
            format!(
                "the request body did not arrive within {}s (warden.body_timeout_seconds)",
                timeout.as_secs()
            ),
        )),
    };
    // Refused before the client finished sending: let it finish (bounded),
    // so it reads the answer. A stalled or broken one is not waited for.
    if !matches!(&refusal, Refusal::Blocked(b) if b.rule == Rule::MalformedBody) {
        body::discard(incoming, &parts.headers, warden.max_body_bytes).await;
    }
    Err(refusal)
}

/// Stage 3: the request body decoded and judged.
async fn judge_request(
    ctx: &mut Ctx<'_>,
    kind: Option<&RequestKind<'_>>,
    parts: &http::request::Parts,
    raw: &[u8],
) -> Result<RequestFacts, Refusal> {
    let Some(kind) = kind.filter(|k| policy::request_is_judged(k)) else {
        return Ok(RequestFacts::default());
    };
    let (config, verdicts) = (&ctx.in_force.config, &ctx.proxy.verdicts);
    let verdict = inspect(ctx, &parts.headers, raw, || {
        policy::judge_request_body(config, kind, &parts.headers, raw, verdicts)
    })
    .await;
    // (In monitor mode, after a would-be refusal, nothing is known.)
    Ok(ctx.judged(verdict)?.unwrap_or_default())
}

/// Stage 4: the original bytes sent on, the answer read as `wanted`. The
/// answer is paid for apart: the request (its bytes, and their share of the
/// budget) is let go once the answer has begun.
async fn forward(
    ctx: &mut Ctx<'_>,
    parts: &http::request::Parts,
    raw: Bytes,
    paid: Payment,
    wanted: Wanted,
) -> Result<(http::response::Parts, UpstreamAnswer), Refusal> {
    let host = policy::host_name(parts).ok().flatten();
    let target = upstream_target(ctx.in_force, ctx.conn, host);
    let outgoing = Outgoing {
        parts,
        target: parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        body: raw,
        _paid: paid,
    };
    let limit = ctx.config().warden.max_body_bytes;
    send(ctx.proxy, &target, outgoing, wanted, limit).await
}

/// Stage 5: the answer decoded and judged, before a byte of it reaches the
/// client.
async fn judge_answer(
    ctx: &mut Ctx<'_>,
    kind: &RequestKind<'_>,
    facts: &RequestFacts,
    response: &http::response::Parts,
    raw: &[u8],
) -> Result<(), Refusal> {
    let (config, verdicts) = (&ctx.in_force.config, &ctx.proxy.verdicts);
    let verdict = inspect(ctx, &response.headers, raw, || {
        policy::judge_response(config, kind, facts, response, raw, verdicts)
    })
    .await;
    ctx.judged(verdict).map(|_| ())
}

/// Runs `judge` on a body with these header fields, in an inspection slot
/// (`max_concurrent_inspections`), with the memory its decoding may take
/// paid for first and given back once judged (the decoded copy is never
/// forwarded).
async fn inspect<T>(
    ctx: &mut Ctx<'_>,
    headers: &http::HeaderMap,
    raw: &[u8],
    judge: impl FnOnce() -> Result<T, Block>,
) -> Result<T, Refusal> {
    let proxy = ctx.proxy;
    let warden = &ctx.in_force.config.warden;
    let _slot = proxy.inspections.acquire().await;
    ctx.audit.inspect(raw.len(), || {
        let plan = policy::decode_plan(headers, raw.len(), warden)?;
        let _decoding = body::hold(&proxy.budget, plan.memory())?;
        Ok(judge()?)
    })
}
