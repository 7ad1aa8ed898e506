//! The explicit proxy (`warden.proxy_listen`): HTTP CONNECT, for sites
//! whose MISP already sends its sync through misp-guard (`Proxy.host` and
//! `Proxy.port`), so misp-warden can take its place without touching MISP.
//!
//! A CONNECT names where the client wants to go; that target is judged
//! before a single byte goes anywhere. It must be an instance — by its
//! `host` or its IP, looked up in the config, never in DNS — on that
//! instance's port, or a feed or allowlisted destination (only these are
//! looked up in DNS: the upstream certificate must then prove the name).
//! Anything else gets a 403 JSON answer. An accepted tunnel is handled
//! exactly like a transparent connection to the same destination: TLS
//! terminated with a leaf for the SNI name, every request judged by the
//! same rules, forwarded over a verified connection. Only CONNECT is
//! served: plaintext requests through the proxy are refused.

use super::Proxy;
use super::connection::intercept_tls;
use super::read_ahead::ReadAhead;
use super::reply::{self, Body};
use crate::config::Config;
use crate::net::canonical_ip;
use crate::policy::{self, Block, Destination, Route, Rule, printable};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::net::TcpStream;

use crate::config::limits::RESOLVE_TIMEOUT;

/// Serves one client of the proxy port: its CONNECT, then the tunnel.
/// `tunnel` watches the tunnel for a graceful shutdown once it exists.
pub async fn handle(
    proxy: Arc<Proxy>,
    id: u64,
    stream: TcpStream,
    peer: SocketAddr,
    graceful: Watcher,
    tunnel: Watcher,
) {
    // Taken by the one CONNECT that is accepted.
    let tunnel = std::sync::Mutex::new(Some(tunnel));
    let tunnel = Arc::new(tunnel);
    let service = {
        let proxy = proxy.clone();
        service_fn(move |request| {
            let watcher = tunnel.lock().ok().and_then(|mut w| w.take());
            connect(proxy.clone(), id, peer, request, watcher)
        })
    };
    let mut http = auto::Builder::new(TokioExecutor::new()).http1_only();
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(proxy.in_force().config.warden.limits.header_timeout);
    let connection = http.serve_connection_with_upgrades(TokioIo::new(stream), service);
    if let Err(e) = graceful.watch(connection).await {
        tracing::debug!(conn = id, "proxy connection ended: {e}");
    }
}

async fn connect(
    proxy: Arc<Proxy>,
    id: u64,
    peer: SocketAddr,
    mut request: Request<Incoming>,
    tunnel: Option<Watcher>,
) -> Result<Response<Body>, Infallible> {
    let target = request
        .uri()
        .authority()
        .map(|a| printable(a.as_str()))
        .unwrap_or_else(|| printable(&request.uri().to_string()));
    let refuse = |block: Block| {
        let message = format!("Blocked by misp-warden: {block}");
        tracing::warn!(
            conn = id, src = %peer.ip(), dst = %target, method = "CONNECT",
            verdict = "block", rule = block.rule.id(), "{block}"
        );
        proxy.metrics.exchange(
            &crate::metrics::ExchangeRecord {
                direction: "connect",
                endpoint: "-",
                verdict: "block",
                rule: block.rule.id(),
            },
            0,
            0,
        );
        Ok(reply::json_error(StatusCode::FORBIDDEN, &message, &target))
    };
    if request.method() != Method::CONNECT {
        return refuse(Block::new(
            Rule::Endpoint,
            "this proxy port takes CONNECT (HTTPS sync) only",
        ));
    }
    let Some(tunnel) = tunnel else {
        return refuse(Block::new(
            Rule::Endpoint,
            "one CONNECT per proxy connection",
        ));
    };
    let destination = match destination(&proxy.in_force().config, peer.ip(), &request).await {
        Ok(d) => d,
        Err(block) => return refuse(block),
    };
    tracing::info!(
        conn = id, src = %peer.ip(), dst = %target, method = "CONNECT",
        "tunnel to {destination}"
    );
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                intercept_tls(
                    proxy,
                    id,
                    ReadAhead::new(TokioIo::new(upgraded)),
                    peer,
                    destination,
                    tunnel,
                )
                .await
            }
            Err(e) => tracing::debug!(conn = id, "CONNECT upgrade failed: {e}"),
        }
    });
    Ok(Response::new(Body::default()))
}

/// Where a CONNECT may go: the instance or allowlisted host it names, as
/// the policy routes it from this source.
async fn destination(
    config: &Config,
    source: IpAddr,
    request: &Request<Incoming>,
) -> Result<SocketAddr, Block> {
    let bad = || {
        Block::new(
            Rule::UnknownDestination,
            "a CONNECT target must be host:port",
        )
    };
    let authority = request.uri().authority().ok_or_else(bad)?;
    let port = authority.port_u16().ok_or_else(bad)?;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let ip = host.parse::<IpAddr>().ok().map(canonical_ip);
    let source = policy::source_instance(config, source)?;
    let route = policy::route(
        config,
        source,
        &Destination {
            ip,
            name: if ip.is_some() { None } else { Some(host) },
            port,
        },
    )?;
    if let Route::Sync { destination, .. } = route {
        // Instances are where the config says, whatever DNS would answer.
        return Ok(SocketAddr::new(destination.ip, port));
    }
    // Any other route (a feed, the allowlist) was reached by a name: an
    // address that is no instance has none.
    let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)));
    match lookup.await {
        Ok(Ok(mut addrs)) => addrs.next().ok_or_else(|| {
            Block::new(
                Rule::UnknownDestination,
                format!("{}: no address", printable(host)),
            )
        }),
        _ => Err(Block::new(
            Rule::UnknownDestination,
            format!("{}: cannot be resolved", printable(host)),
        )),
    }
}
