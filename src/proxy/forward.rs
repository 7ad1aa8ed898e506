//! Forwarding an exchange the judge let through: where it goes (the
//! original destination, verified for the name MISP meant), sending it on a
//! pooled connection (once more on a fresh one if the pooled one had been
//! closed), and the answer — read whole when the judge will read it,
//! streamed to the client as it arrives when it will not.

use super::Conn;
use super::message::upstream_request;
use super::refusal::Refusal;
use super::reply::Body;
use super::upstream::{Streamed, Target, TlsTarget, UpstreamError};
use super::{InForce, Proxy};
use crate::body::{self, Payment};
use crate::config::limits::RESPONSE_TIMEOUT;
use crate::tls::leaf::LeafName;
use bytes::Bytes;
use http::Request;
use std::sync::Arc;

/// Where to forward: always the original destination; over TLS when the
/// client spoke TLS, verified for the client's SNI name, else the host of
/// the instance at that address, else the name the request gives (`host`),
/// else the address.
pub(super) fn upstream_target(in_force: &InForce, conn: &Conn, host: Option<String>) -> Target {
    let addr = conn.destination;
    if !conn.tls {
        return Target { addr, tls: None };
    }
    let instance = in_force
        .config
        .instances_at(addr.ip())
        .find(|i| i.port == addr.port());
    let name = conn
        .sni
        .clone()
        .or_else(|| instance.map(|i| i.host.clone()))
        .or(host);
    let name = match name {
        Some(n) => match n.parse::<std::net::IpAddr>() {
            Ok(ip) => LeafName::Ip(ip),
            Err(_) => LeafName::Dns(n),
        },
        None => LeafName::Ip(addr.ip()),
    };
    Target {
        addr,
        tls: Some(TlsTarget {
            name,
            config: in_force.upstream_tls.for_instance(instance),
        }),
    }
}

/// A request on its way upstream, with what it holds of the body budget.
pub(super) struct Outgoing<'a> {
    pub parts: &'a http::request::Parts,
    pub target: &'a str,
    pub body: Bytes,
    /// The request body's share of the budget: given back with the body,
    /// once the answer has begun (the request will not be sent again).
    pub _paid: Payment,
}

impl Outgoing<'_> {
    fn request(&self) -> Result<Request<Body>, Refusal> {
        Ok(upstream_request(
            self.parts,
            self.target,
            self.body.clone(),
        )?)
    }
}

/// How the answer is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wanted {
    /// Whole, within `max_body_bytes`: the judge will read it.
    Whole,
    /// As it arrives: nothing in it is judged.
    Streamed,
    /// The head only (an answer to HEAD has no body).
    Head,
}

/// The upstream's answer.
pub(super) enum UpstreamAnswer {
    /// Read whole, with its share of the body budget.
    Whole(Bytes, Payment),
    Streamed(Streamed),
}

/// The Content-Length a response declares (for the log of a streamed one).
pub(super) fn declared_length(headers: &http::HeaderMap) -> usize {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Sends upstream and reads the answer as `wanted`, within the time MISP
/// itself would wait. A streamed answer's connection goes back to the pool
/// when its body is complete.
pub(super) async fn send(
    proxy: &Arc<Proxy>,
    target: &Target,
    outgoing: Outgoing<'_>,
    wanted: Wanted,
    limit: u64,
) -> Result<(http::response::Parts, UpstreamAnswer), Refusal> {
    let work = async {
        let (mut sender, reused) = proxy.pool.get(target).await?;
        let response = match sender.send_request(outgoing.request()?).await {
            Ok(response) => response,
            // A kept-alive connection the server closed as we reused it:
            // the request was never processed, so it is sent again, once,
            // on a new connection.
            Err(e) if reused && (e.is_incomplete_message() || e.is_canceled()) => {
                tracing::debug!(
                    "pooled connection to {} was closed, reconnecting: {e}",
                    target.addr
                );
                sender = proxy.pool.connect(target).await?;
                sender
                    .send_request(outgoing.request()?)
                    .await
                    .map_err(|e| upstream_failed(target, e))?
            }
            Err(e) => return Err(upstream_failed(target, e)),
        };
        // Answered: the request will not be sent again.
        drop(outgoing);
        let (parts, mut incoming) = response.into_parts();
        let answer = match wanted {
            Wanted::Streamed => {
                let (pool_owner, target) = (proxy.clone(), target.clone());
                let done = Box::new(move || pool_owner.pool.put(target, sender));
                return Ok((
                    parts,
                    UpstreamAnswer::Streamed(Streamed::new(incoming, done)),
                ));
            }
            Wanted::Head => UpstreamAnswer::Whole(Bytes::new(), Payment::default()),
            Wanted::Whole => {
                let mut paid = Payment::default();
                let raw = body::read(
                    &mut incoming,
                    &parts.headers,
                    limit,
                    "response",
                    &proxy.budget,
                    &mut paid,
                )
                .await?;
                UpstreamAnswer::Whole(raw, paid)
            }
        };
        proxy.pool.put(target.clone(), sender);
        Ok((parts, answer))
    };
    tokio::time::timeout(RESPONSE_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| {
            Err(Refusal::Upstream(UpstreamError::Timeout(format!(
                "{} did not answer within {}s",
                target.addr,
                RESPONSE_TIMEOUT.as_secs()
            ))))
        })
}

fn upstream_failed(target: &Target, e: hyper::Error) -> Refusal {
    Refusal::Upstream(UpstreamError::Failed(format!("{}: {e}", target.addr)))
}
