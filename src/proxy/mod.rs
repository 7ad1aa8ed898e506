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
//! - [`message`] — the HTTP messages apart from any judgement: names,
//!   bodies within the limit, decoding, the message forwarded.
//! - [`upstream`] — the verified connection to the real destination, pooled.
//! - [`reply`] — the guard's own answers, MISP-style JSON.
//!
//! What every connection shares lives in [`Proxy`]; what a reload replaces
//! lives in [`Loaded`], swapped atomically: an exchange keeps the `Loaded`
//! it started with, so a reload never changes the rules halfway through a
//! request.

mod connect;
pub mod connection;
mod exchange;
mod idle;
mod message;
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
/// Longest wait for a request head, including the idle time between
/// requests on a kept-alive HTTP/1.1 connection.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a complete request body, and for an upstream's
/// complete response: MISP's own curl timeout, so the guard never gives up
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
}

impl Proxy {
    pub fn new(
        loaded: Loaded,
        leaves: LeafMinter,
        listeners: Vec<SocketAddr>,
        metrics: Arc<Metrics>,
    ) -> Proxy {
        let mut http = auto::Builder::new(TokioExecutor::new());
        http.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .max_buf_size(MAX_HEAD_BYTES.max(8192));
        http.http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(32)
            .max_header_list_size(MAX_HEAD_BYTES as u32);
        Proxy {
            loaded: ArcSwap::from_pointee(loaded),
            leaves,
            pool: upstream::Pool::default(),
            listeners,
            next_connection: AtomicU64::new(1),
            http,
            metrics,
        }
    }

    /// The config in force now.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.loaded.load_full()
    }

    /// Puts a new, fully validated config in force for the next request.
    /// Pooled upstream connections were verified under the old trust, so
    /// they go.
    pub fn replace(&self, loaded: Loaded) {
        self.loaded.store(Arc::new(loaded));
        self.pool.clear();
    }

    /// Accepts connections on `listener` until `stop` fires; each one is
    /// handled on its own task, watched by `graceful` so shutdown can tell
    /// it to finish and wait for it. The loop's handle on `graceful` goes
    /// when it returns, so the daemon can then take it back to shut down.
    /// `explicit`: the listener is the CONNECT proxy port, not a
    /// transparent one.
    pub async fn accept_loop(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        explicit: bool,
        graceful: Arc<hyper_util::server::graceful::GracefulShutdown>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.changed() => return,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
                    let proxy = self.clone();
                    let watcher = graceful.watcher();
                    if explicit {
                        let tunnel = graceful.watcher();
                        tokio::spawn(async move {
                            connect::handle(proxy, id, stream, peer, watcher, tunnel).await;
                        });
                    } else {
                        tokio::spawn(async move {
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
