//! One request and its response: a short pipeline of stages, each judged
//! before the next begins —
//!
//! 1. [`judge_head`] — who, where, which endpoint — before the body is read,
//!    so a refused push is answered without ever sending `100 Continue`;
//! 2. [`receive_request`] — the body, whole, within the limits, and judged
//!    (a large one while it arrives: see [`super::judging`]);
//! 3. [`forward`] — the bytes received sent on, the answer's head read;
//! 4. [`receive_answer`] — the answer's body received whole and judged
//!    before a byte of it reaches the client (or, when nothing in it is
//!    judged, streamed to the client as it arrives).
//!
//! The bytes forwarded are always the ones received: decoding is only for
//! looking. In monitor mode every stage is judged and logged the same, and
//! a refusal by the rules becomes a "would block" note instead of a 403.
//! What cannot be done at all — a body that cannot be read, an upstream that
//! does not answer, an ambiguous length — is refused in both modes.

use super::Conn;
use super::audit::Audit;
use super::forward::{Outgoing, answer_timeout, send, upstream_target};
use super::judging::{ArrivingJudge, Judged, NotReceived, Receiving};
use super::message::client_response;
use super::refusal::Refusal;
use super::reply::Body;
use super::upstream::{Streamed, Target};
use super::{InForce, Proxy};
use crate::body::{self, Payment, Received};
use crate::config::limits::RESPONSE_TIMEOUT;
use crate::config::{Config, Mode};
use crate::json::Arrival;
use crate::policy::{
    self, Block, Connection, KindInConfig, RequestFacts, RequestKind, Rule, SourceSpec,
};
use http::{Method, Request, Response};
use http_body_util::Either;
use hyper::body::Incoming;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::time::Instant;

/// What the client is answered with: a body of the guard's making or
/// judged whole, or one streamed from upstream as it arrives.
pub type ClientBody = Either<Body, Streamed>;

/// What one exchange carries through its stages.
struct Ctx<'a> {
    proxy: &'a Arc<Proxy>,
    /// The config in force when the exchange began: a reload never changes
    /// the rules halfway through it. (By its `Arc`: a large body's judge
    /// holds it on a thread of its own.)
    in_force: &'a Arc<InForce>,
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
    if ctx.audit.bytes_in.max(ctx.audit.bytes_out) >= body::buffer::LARGE {
        // A large request body is gone by now (sent, or refused), and so
        // is a refused answer's; an answer sent on goes back when the
        // client has it (reply::Body).
        body::give_back();
    }
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
    let (raw, paid, facts) = receive_request(ctx, kind.as_ref(), &parts, incoming).await?;
    let is_head = parts.method == Method::HEAD;
    let judged = kind.filter(policy::response_is_judged);
    let host = policy::host_name(&parts).ok().flatten();
    let target = upstream_target(ctx.in_force, ctx.conn, host);
    // The time MISP itself gives the whole answer.
    let deadline = Instant::now() + RESPONSE_TIMEOUT;
    let (response, answer) = forward(ctx, &parts, &target, raw, paid, is_head, deadline).await?;
    let answered = match (answer, judged) {
        (Some(answer), None) => {
            ctx.audit.bytes_out = body::declared_length(&response.headers).unwrap_or(0) as usize;
            return Ok(client_response(response, Either::Right(answer), false));
        }
        (None, None) => Received::default(),
        (body, Some(kind)) => {
            let answer = Answer {
                kind: &kind,
                facts: &facts,
                response: &response,
                target: &target,
                deadline,
            };
            receive_answer(ctx, answer, body).await?
        }
    };
    Ok(client_response(
        response,
        Either::Left(Body::from_chunks(answered.into_chunks())),
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
/// `body_timeout_seconds`, paid for out of the budget as it arrives, and
/// judged. It is never streamed through uninspected, in either mode.
async fn receive_request(
    ctx: &mut Ctx<'_>,
    kind: Option<&RequestKind<'_>>,
    parts: &http::request::Parts,
    mut incoming: Incoming,
) -> Result<(Received, Payment, RequestFacts), Refusal> {
    let (proxy, in_force) = (ctx.proxy, ctx.in_force);
    let warden = &in_force.config.warden;
    let timeout = warden.limits.body_timeout;
    let receiving = Receiving {
        proxy,
        warden,
        headers: &parts.headers,
        what: "request",
        deadline: Instant::now() + timeout,
    };
    let received = match kind.filter(|k| policy::request_is_judged(k)) {
        None => receiving
            .unjudged(&mut incoming)
            .await
            .map(|(body, paid)| Judged {
                body,
                paid,
                verdict: Ok(RequestFacts::default()),
            }),
        Some(kind) => {
            let config = &in_force.config;
            let whole = |raw: &[u8]| {
                policy::judge_request_body(config, kind, &parts.headers, raw, &proxy.verdicts)
            };
            let arriving = || -> ArrivingJudge<RequestFacts> {
                let (in_force, proxy) = (in_force.clone(), proxy.clone());
                let (key, headers) = (KindInConfig::of(kind, config), parts.headers.clone());
                Box::new(move |raw: &Arrival| {
                    let config = &in_force.config;
                    let kind = key.resolve(config);
                    policy::judge_request_body_arriving(
                        config,
                        &kind,
                        &headers,
                        raw,
                        &proxy.verdicts,
                    )
                })
            };
            receiving
                .judged(&mut incoming, &mut ctx.audit, whole, arriving)
                .await
        }
    };
    let refusal = match received {
        Ok(Judged {
            body,
            paid,
            verdict,
        }) => {
            ctx.audit.bytes_in = body.len();
            // (In monitor mode, after a would-be refusal, nothing is known.)
            let facts = ctx.judged(verdict)?.unwrap_or_default();
            return Ok((body, paid, facts));
        }
        Err(NotReceived::Read(e)) => Refusal::from(e),
        Err(NotReceived::Late) => Refusal::Blocked(Block::new(
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

/// Stage 3: the bytes received sent on, the answer's head read. The
/// answer is paid for apart: the request (its bytes, and their share of the
/// budget) is let go once the answer has begun.
async fn forward(
    ctx: &mut Ctx<'_>,
    parts: &http::request::Parts,
    target: &Target,
    raw: Received,
    paid: Payment,
    is_head: bool,
    deadline: Instant,
) -> Result<(http::response::Parts, Option<Streamed>), Refusal> {
    let outgoing = Outgoing {
        parts,
        target: parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        body: raw,
        _paid: paid,
    };
    send(ctx.proxy, target, outgoing, is_head, deadline).await
}

/// An answer the judge reads, and what it is judged with.
struct Answer<'x> {
    kind: &'x RequestKind<'x>,
    facts: &'x RequestFacts,
    response: &'x http::response::Parts,
    target: &'x Target,
    /// When the answer must be all there.
    deadline: Instant,
}

/// Stage 4: the answer's body (none for HEAD) received whole within
/// `max_body_bytes` and judged, before a byte of it reaches the client.
async fn receive_answer(
    ctx: &mut Ctx<'_>,
    answer: Answer<'_>,
    body: Option<Streamed>,
) -> Result<Received, Refusal> {
    let (proxy, in_force) = (ctx.proxy, ctx.in_force);
    let config = &in_force.config;
    let receiving = Receiving {
        proxy,
        warden: &config.warden,
        headers: &answer.response.headers,
        what: "response",
        deadline: answer.deadline,
    };
    let whole = |raw: &[u8]| {
        let (kind, facts, response) = (answer.kind, answer.facts, answer.response);
        policy::judge_response(config, kind, facts, response, raw, &proxy.verdicts)
    };
    let arriving = || -> ArrivingJudge<()> {
        let (in_force, proxy) = (in_force.clone(), proxy.clone());
        let key = KindInConfig::of(answer.kind, config);
        let facts = answer.facts.clone();
        let mut head = Response::new(());
        *head.status_mut() = answer.response.status;
        *head.headers_mut() = answer.response.headers.clone();
        let (head, ()) = head.into_parts();
        Box::new(move |raw: &Arrival| {
            let config = &in_force.config;
            let kind = key.resolve(config);
            policy::judge_response_arriving(config, &kind, &facts, &head, raw, &proxy.verdicts)
        })
    };
    let received = match body {
        Some(mut body) => {
            receiving
                .judged(&mut body, &mut ctx.audit, whole, arriving)
                .await
        }
        // HEAD: the empty body is what the judge reads.
        None => Ok(Judged {
            body: Received::default(),
            paid: Payment::default(),
            verdict: super::judging::inspect(
                proxy,
                &config.warden,
                &mut ctx.audit,
                receiving.headers,
                &[],
                || whole(&[]),
            )
            .await,
        }),
    };
    match received {
        Ok(Judged { body, verdict, .. }) => {
            ctx.audit.bytes_out = body.len();
            ctx.judged(verdict)?;
            Ok(body)
        }
        Err(NotReceived::Read(e)) => Err(Refusal::from(e)),
        Err(NotReceived::Late) => Err(answer_timeout(answer.target)),
    }
}
