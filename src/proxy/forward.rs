//! Forwarding an exchange the head stage let through: where it goes (the
//! original destination, verified for the name MISP meant), sending it on a
//! pooled connection (once more on a fresh one if the pooled one had been
//! closed), and the answer — read whole when the policy will judge it,
//! streamed to the client as it arrives when it will not.

use super::bodies::{self, Held};
use super::connection::Conn;
use super::exchange::Refusal;
use super::message::upstream_request;
use super::reply::Body;
use super::upstream::{Streamed, Target, TlsTarget, UpstreamError};
use super::{Loaded, Proxy, RESPONSE_TIMEOUT};
use crate::policy::Block;
use crate::tls::leaf::LeafName;
use bytes::Bytes;
use http::Request;
use std::sync::Arc;

/// Where to forward: always the original destination; over TLS when the
/// client spoke TLS, verified for the client's SNI name, else the host of
/// the instance at that address, else the name the request gives (`host`),
/// else the address.
pub(super) fn upstream_target(loaded: &Loaded, conn: &Conn, host: Option<String>) -> Target {
    let addr = conn.destination;
    if !conn.tls {
        return Target { addr, tls: None };
    }
    let instance = loaded
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
            config: loaded.upstream_tls.for_instance(instance),
        }),
    }
}

/// A request on its way upstream, with what it holds of the body budget.
pub(super) struct Outgoing<'a> {
    pub parts: &'a http::request::Parts,
    pub target: &'a str,
    pub body: Bytes,
    /// The request body's share of the budget: given back with the body.
    pub _held: Held,
}

impl Outgoing<'_> {
    fn request(&self) -> Result<Request<Body>, Block> {
        upstream_request(self.parts, self.target, self.body.clone())
    }
}

/// A response from upstream: read whole (to be judged), or to be streamed.
pub(super) enum Upstreamed {
    Whole(Bytes),
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

/// Sends upstream and reads the whole response within the time MISP itself
/// would wait — or, with `stream`, hands the response body on as it comes,
/// the connection going back to the pool when it is complete.
#[allow(clippy::too_many_arguments)]
pub(super) async fn send(
    proxy: &Arc<Proxy>,
    target: &Target,
    outgoing: Outgoing<'_>,
    is_head: bool,
    stream: bool,
    limit: u64,
    held: &mut Held,
) -> Result<(http::response::Parts, Upstreamed), Refusal> {
    let work = async {
        let request = || outgoing.request();
        let (mut sender, reused) = proxy.pool.get(target).await.map_err(Refusal::Upstream)?;
        let response = match sender.send_request(request()?).await {
            Ok(response) => response,
            // A kept-alive connection the server closed as we reused it:
            // the request was never processed, so it is sent again, once,
            // on a new connection.
            Err(e) if reused && (e.is_incomplete_message() || e.is_canceled()) => {
                tracing::debug!(
                    "pooled connection to {} was closed, reconnecting: {e}",
                    target.addr
                );
                sender = proxy
                    .pool
                    .connect(target)
                    .await
                    .map_err(Refusal::Upstream)?;
                sender
                    .send_request(request()?)
                    .await
                    .map_err(|e| upstream_failed(target, e))?
            }
            Err(e) => return Err(upstream_failed(target, e)),
        };
        // Answered: the request will not be sent again.
        drop(outgoing);
        let (parts, incoming) = response.into_parts();
        if stream {
            let (pool_owner, target) = (proxy.clone(), target.clone());
            let done = Box::new(move || pool_owner.pool.put(target, sender));
            return Ok((parts, Upstreamed::Streamed(Streamed::new(incoming, done))));
        }
        let raw = if is_head {
            Bytes::new()
        } else {
            let mut incoming = incoming;
            bodies::read(
                &mut incoming,
                &parts.headers,
                limit,
                "response",
                &proxy.budget,
                held,
            )
            .await?
        };
        proxy.pool.put(target.clone(), sender);
        Ok((parts, Upstreamed::Whole(raw)))
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
