//! Accepting connections: one loop over every listener, the connection
//! limits (in all, and per client address), then a task per connection on
//! one of the connection threads ([`Workers`]).
//!
//! Past `max_connections` new clients wait in the kernel's backlog, not in
//! memory here; past `max_connections_per_source` a client's new
//! connection is closed at once (counted, and logged at most once a
//! second).

use super::workers::Workers;
use super::{Proxy, connect, connection};
use crate::metrics::Metrics;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

impl Proxy {
    /// Accepts connections on every listener until `stop` fires; each one
    /// is handled on its own task, watched by `graceful` so shutdown can
    /// tell it to finish and wait for it. The loop's handle on `graceful`
    /// goes when it returns, so the daemon can then take it back to shut
    /// down. Each listener comes with whether it is the CONNECT proxy port
    /// (`true`) rather than a transparent one.
    ///
    /// One loop for all listeners: it holds one connection slot while it
    /// waits, whichever listener the next client comes to. (A loop per
    /// listener would hold one slot each, and serve fewer connections than
    /// `max_connections` says.)
    pub async fn accept_loop(
        self: Arc<Self>,
        listeners: Vec<(tokio::net::TcpListener, bool)>,
        workers: Arc<Workers>,
        graceful: Arc<hyper_util::server::graceful::GracefulShutdown>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut turn = 0usize;
        loop {
            // A connection slot first: past `max_connections`, new clients
            // wait in the kernel's backlog instead of costing memory here.
            let slot = tokio::select! {
                slot = self.connections.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => return,
                },
                _ = stop.changed() => return,
            };
            turn = turn.wrapping_add(1);
            let (accepted, explicit) = tokio::select! {
                accepted = accept_any(&listeners, turn) => accepted,
                _ = stop.changed() => return,
            };
            match accepted {
                Ok((stream, peer)) => {
                    // Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d.
                    let peer = SocketAddr::new(crate::net::canonical_ip(peer.ip()), peer.port());
                    let Some(source) = SourceSlot::take(&self, peer.ip()) else {
                        self.metrics.connection_refused("per_source");
                        refused_per_source(peer.ip(), &self);
                        continue; // `stream` closes here
                    };
                    let _ = stream.set_nodelay(true);
                    // Moved to the thread that will serve it: registered
                    // with that thread's reactor, not this one's.
                    let stream = match stream.into_std() {
                        Ok(stream) => stream,
                        Err(e) => {
                            tracing::warn!("accepted connection lost: {e}");
                            continue;
                        }
                    };
                    let open = OpenConnection::new(self.metrics.clone());
                    let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
                    let proxy = self.clone();
                    let watcher = graceful.watcher();
                    let tunnel = explicit.then(|| graceful.watcher());
                    workers.spawn(async move {
                        let _held = (slot, source, open);
                        let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
                            return;
                        };
                        match tunnel {
                            Some(tunnel) => {
                                connect::handle(proxy, id, stream, peer, watcher, tunnel).await
                            }
                            None => connection::handle(proxy, id, stream, peer, watcher).await,
                        }
                    });
                }
                Err(e) => {
                    // Out of descriptors or memory: back off instead of
                    // spinning, keep the listener.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// The next connection on any of `listeners`, and whether that listener is
/// the CONNECT proxy port. The listener asked first moves with `turn`, so a
/// busy one cannot starve the others.
fn accept_any(
    listeners: &[(tokio::net::TcpListener, bool)],
    turn: usize,
) -> impl std::future::Future<Output = (std::io::Result<(tokio::net::TcpStream, SocketAddr)>, bool)> + '_
{
    std::future::poll_fn(move |cx| {
        let n = listeners.len();
        for i in 0..n {
            let (listener, explicit) = &listeners[(turn + i) % n];
            if let std::task::Poll::Ready(accepted) = listener.poll_accept(cx) {
                return std::task::Poll::Ready((accepted, *explicit));
            }
        }
        std::task::Poll::Pending
    })
}

/// Counts a client connection as open for as long as it lives.
struct OpenConnection(Arc<Metrics>);

impl OpenConnection {
    fn new(metrics: Arc<Metrics>) -> OpenConnection {
        metrics.connection_opened();
        OpenConnection(metrics)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connection_closed();
    }
}

/// One of a client address's connections (`max_connections_per_source`);
/// counted while it lives.
struct SourceSlot {
    proxy: Arc<Proxy>,
    ip: std::net::IpAddr,
}

impl SourceSlot {
    /// A slot for a new connection from `ip` (canonical), or `None` when
    /// it has all it may have.
    fn take(proxy: &Arc<Proxy>, ip: std::net::IpAddr) -> Option<SourceSlot> {
        let limit = proxy
            .in_force()
            .config
            .warden
            .limits
            .max_connections_per_source;
        let mut open = proxy.per_source.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(SourceSlot {
            proxy: proxy.clone(),
            ip,
        })
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self
            .proxy
            .per_source
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Logs a refusal by the per-source limit, at most once a second: a client
/// hammering the limit must not flood the log as well.
fn refused_per_source(ip: std::net::IpAddr, proxy: &Proxy) {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if LAST.swap(now, Ordering::Relaxed) != now {
        tracing::warn!(
            src = %ip,
            "refused: {ip} already has {} connections open (warden.max_connections_per_source); closed (further refusals this second are only counted)",
            proxy.in_force().config.warden.limits.max_connections_per_source
        );
    }
}
