//! The data path: from an accepted connection to a verdict on every
//! request it carries.
//!
//! Each stage has its module:
//!
//! - [`connection`] — one accepted connection: where it was going, who sent
//!   it, TLS or plaintext (sniffed from the first byte), the TLS handshake
//!   with a minted leaf, then HTTP/1.1 or HTTP/2 as the client chose.
//! - [`connect`] — the explicit proxy port: a CONNECT judged before the
//!   tunnel opens, then the tunnel handled as a transparent connection.
//! - [`exchange`] — one request on it: judged by the [`crate::policy`]
//!   stages as its head and body arrive, forwarded byte for byte or refused,
//!   and the response judged before a byte of it reaches the client.
//! - [`forward`] — where an exchange goes and how: the original
//!   destination, the pooled connection, the answer read whole or streamed.
//! - [`message`] — the HTTP messages apart from any judgement: names and
//!   the message forwarded.
//! - [`bodies`] — bodies read whole, decoded, and paid for out of one
//!   memory budget.
//! - [`upstream`] — the verified connection to the real destination, pooled.
//! - [`reply`] — the guard's own answers, MISP-style JSON.
//!
//! What every connection shares lives in [`Proxy`]; what a reload replaces
//! lives in [`Loaded`], swapped atomically: an exchange keeps the `Loaded`
//! it started with, so a reload never changes the rules halfway through a
//! request.

mod bodies;
mod connect;
pub mod connection;
mod exchange;
mod forward;
mod framing;
mod idle;
mod message;
mod read_ahead;
mod reply;
mod upstream;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::tls::leaf::LeafMinter;
use crate::tls::upstream::UpstreamTls;
use arc_swap::ArcSwap;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Longest TLS handshake (from the first byte) a client may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for an upstream's complete response: MISP's own curl
/// timeout, so the guard never gives up
/// before MISP would, and a stalled peer never holds a task for longer.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(300);
/// Largest request head accepted (HTTP/1.1 buffer, HTTP/2 header list).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// What a config load produces; replaced as a whole on reload.
pub struct Loaded {
    pub config: Config,
    pub upstream_tls: UpstreamTls,
    /// By instance id: the instance's own certificate, presented to clients
    /// connecting *to* it (inbound sync) instead of a minted leaf.
    pub server_tls: HashMap<String, Arc<rustls::ServerConfig>>,
}

impl Loaded {
    /// Validates and prepares a config: reads its trust anchors, client
    /// keys and server certificates. Nothing is swapped in unless all of it
    /// succeeded.
    pub fn new(config: Config) -> Result<Loaded, String> {
        let upstream_tls = UpstreamTls::build(&config)?;
        let server_tls = crate::tls::instance_server_configs(&config)?;
        Ok(Loaded {
            config,
            upstream_tls,
            server_tls,
        })
    }

    /// The certificate to present for a connection to `destination`: the
    /// instance's own when it has one configured.
    pub fn server_tls_for(&self, destination: SocketAddr) -> Option<Arc<rustls::ServerConfig>> {
        self.config
            .instances_at(destination.ip())
            .find(|i| i.port == destination.port())
            .and_then(|i| self.server_tls.get(&i.id))
            .cloned()
    }
}

/// State shared by every connection.
pub struct Proxy {
    loaded: ArcSwap<Loaded>,
    leaves: LeafMinter,
    pool: upstream::Pool,
    /// The listeners' own addresses: a connection dialled straight to one
    /// of them has no original destination to forward to.
    listeners: Vec<SocketAddr>,
    /// Numbers connections for the log.
    next_connection: AtomicU64,
    http: auto::Builder<TokioExecutor>,
    pub metrics: Arc<Metrics>,
    /// Memory for bodies (`warden.body_budget_bytes`).
    budget: bodies::Budget,
    /// The verdicts on events judged so far, by which their sightings and
    /// proposals are judged (see [`crate::policy::EventVerdicts`]).
    verdicts: Arc<crate::policy::EventVerdicts>,
    /// Inspections running at once (`warden.max_concurrent_inspections`).
    inspections: tokio::sync::Semaphore,
    /// Connections open at once (`warden.max_connections`), over every
    /// listener: a permit is taken before each accept.
    connections: Arc<tokio::sync::Semaphore>,
    /// Connections open per client address
    /// (`warden.max_connections_per_source`).
    per_source: std::sync::Mutex<HashMap<std::net::IpAddr, usize>>,
}

impl Proxy {
    pub fn new(
        loaded: Loaded,
        leaves: LeafMinter,
        listeners: Vec<SocketAddr>,
        metrics: Arc<Metrics>,
    ) -> Proxy {
        let limits = loaded.config.warden.limits.clone();
        let mut http = auto::Builder::new(TokioExecutor::new());
        http.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_buf_size(MAX_HEAD_BYTES.max(8192));
        http.http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(32)
            .max_header_list_size(MAX_HEAD_BYTES as u32);
        let budget = bodies::Budget::new(limits.body_budget_bytes);
        metrics.watch_body_budget(limits.body_budget_bytes, budget.usage());
        let verdicts = Arc::new(crate::policy::EventVerdicts::default());
        let remembered = verdicts.clone();
        metrics.watch_remembered_events(move || remembered.len() as u64);
        Proxy {
            loaded: ArcSwap::from_pointee(loaded),
            leaves,
            pool: upstream::Pool::default(),
            listeners,
            next_connection: AtomicU64::new(1),
            http,
            metrics,
            budget,
            verdicts,
            inspections: tokio::sync::Semaphore::new(limits.max_concurrent_inspections),
            connections: Arc::new(tokio::sync::Semaphore::new(limits.max_connections)),
            per_source: Default::default(),
        }
    }

    /// The config in force now.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.loaded.load_full()
    }

    /// Puts a new, fully validated config in force for the next request.
    /// Pooled upstream connections were verified under the old trust, so
    /// they go; so do the verdicts on events when the rules that gave them
    /// changed.
    pub fn replace(&self, loaded: Loaded) {
        let same_rules = self.loaded().config.same_rules(&loaded.config);
        self.loaded.store(Arc::new(loaded));
        self.pool.clear();
        if !same_rules {
            self.verdicts.clear();
        }
    }

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
                    let open = OpenConnection::new(self.metrics.clone());
                    let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
                    let proxy = self.clone();
                    let watcher = graceful.watcher();
                    if explicit {
                        let tunnel = graceful.watcher();
                        tokio::spawn(async move {
                            let _held = (slot, source, open);
                            connect::handle(proxy, id, stream, peer, watcher, tunnel).await;
                        });
                    } else {
                        tokio::spawn(async move {
                            let _held = (slot, source, open);
                            connection::handle(proxy, id, stream, peer, watcher).await;
                        });
                    }
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
            .loaded()
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
            proxy.loaded().config.warden.limits.max_connections_per_source
        );
    }
}
