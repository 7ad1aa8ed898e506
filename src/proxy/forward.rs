//! Forwarding an exchange the judge let through: where it goes (the
//! original destination, verified for the name MISP meant), sending it on a
//! pooled connection (once more on a fresh one if the pooled one had been
//! closed), and the answer's head — its body is the caller's to read (whole
//! when the judge will read it) or to stream to the client as it arrives.

use super::Conn;
use super::message::upstream_request;
use super::refusal::Refusal;
use super::reply::Body;
use super::upstream::{Streamed, Target, TlsTarget, UpstreamError};
use super::{InForce, Proxy};
use crate::body::{Payment, Received};
use crate::tls::leaf::LeafName;
use http::Request;
use std::sync::Arc;
use tokio::time::Instant;

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
    pub body: Received,
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

/// Sends upstream and reads the answer's head, before `deadline` (the time
/// MISP itself would wait for the whole answer). Its body, when there is
/// one (not for HEAD), is handed over unread: its connection goes back to
/// the pool once the body has been read to its end.
pub(super) async fn send(
    proxy: &Arc<Proxy>,
    target: &Target,
    outgoing: Outgoing<'_>,
    head: bool,
    deadline: Instant,
) -> Result<(http::response::Parts, Option<Streamed>), Refusal> {
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
        let (parts, incoming) = response.into_parts();
        if head {
            proxy.pool.put(target.clone(), sender);
            return Ok((parts, None));
        }
        let (pool_owner, target) = (proxy.clone(), target.clone());
        let done = Box::new(move || pool_owner.pool.put(target, sender));
        Ok((parts, Some(Streamed::new(incoming, done))))
    };
    tokio::time::timeout_at(deadline, work)
        .await
        .unwrap_or_else(|_| Err(answer_timeout(target)))
}

/// The refusal when the upstream's answer did not come in time.
pub(super) fn answer_timeout(target: &Target) -> Refusal {
    Refusal::Upstream(UpstreamError::Timeout(format!(
        "{} did not answer within {}s",
        target.addr,
        crate::config::limits::RESPONSE_TIMEOUT.as_secs()
    )))
}

fn upstream_failed(target: &Target, e: hyper::Error) -> Refusal {
    Refusal::Upstream(UpstreamError::Failed(format!("{}: {e}", target.addr)))
}
