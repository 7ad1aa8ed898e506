//! The data path: from an accepted connection to a verdict on every
//! request it carries. One module per stage, in the order a connection
//! meets them:
//!
//! 1. [`accept`] — one loop over every listener; the connection limits.
//! 2. [`connection`] — where the connection was going, who sent it, TLS or
//!    plaintext (sniffed from the first byte), the TLS handshake with a
//!    minted leaf, then HTTP/1.1 or HTTP/2 as the client chose (the
//!    explicit proxy port, [`connect`], judges a CONNECT first and then
//!    hands the tunnel to the same stage). Around the client's bytes: a
//!    bound on silence (`idle`), larger reads under TLS (`read_ahead`), a
//!    watch on HTTP/1.1 framing (`framing`).
//! 3. [`exchange`] — each request on it, a short pipeline: judge the head,
//!    receive and judge the body, forward it, receive and judge the answer,
//!    answer — never a byte of a body before its verdict. A body is
//!    received and judged in [`judging`]: a large one while it arrives, on
//!    a thread of its own.
//! 4. [`forward`] — where it goes (the original destination, verified for
//!    the name MISP meant) and the answer's head; over [`upstream`]'s
//!    pooled connections.
//! 5. [`audit`] — the exchange's one log line and its metrics.
//!
//! Every refusal is a [`Refusal`] (`refusal.rs`), answered MISP-style
//! (`reply.rs`); the message that goes on is built in `message.rs`.
//!
//! What every connection shares lives in [`Proxy`]; what a reload replaces
//! lives in [`InForce`], swapped atomically: an exchange keeps the
//! `InForce` it started with, so a reload never changes the rules halfway
//! through a request.

mod accept;
mod audit;
mod connect;
pub mod connection;
mod exchange;
mod forward;
mod framing;
mod idle;
mod judging;
mod message;
mod read_ahead;
mod refusal;
mod reply;
mod upstream;
pub mod workers;

use crate::body;
use crate::config::Config;
use crate::config::limits::{MAX_HEAD_BYTES, MAX_STREAMS_PER_CONNECTION};
use crate::metrics::Metrics;
use crate::tls::leaf::LeafMinter;
use crate::tls::upstream::UpstreamTls;
use arc_swap::ArcSwap;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// What is known about a connection before its first request.
#[derive(Debug)]
pub struct Conn {
    /// For the log: every line of one connection carries it.
    pub id: u64,
    pub peer: SocketAddr,
    /// Where the client was going (TPROXY: the socket's local address).
    pub destination: SocketAddr,
    /// The TLS server name the client sent, lower-cased; `None` without TLS
    /// or without SNI.
    pub sni: Option<String>,
    /// Whether the client spoke TLS: the upstream leg speaks what it spoke.
    pub tls: bool,
    /// What the framing watch saw of each HTTP/1.1 request head.
    pub framing: framing::Facts,
}

/// What a config load produces, in force until the next reload replaces it
/// as a whole.
pub struct InForce {
    pub config: Config,
    pub upstream_tls: UpstreamTls,
    /// By instance id: the instance's own certificate, presented to clients
    /// connecting *to* it (inbound sync) instead of a minted leaf.
    pub server_tls: HashMap<String, Arc<rustls::ServerConfig>>,
}

impl InForce {
    /// Validates and prepares a config: reads its trust anchors, client
    /// keys and server certificates. Nothing is swapped in unless all of it
    /// succeeded.
    pub fn new(config: Config) -> Result<InForce, crate::tls::TlsError> {
        let upstream_tls = UpstreamTls::build(&config)?;
        let server_tls = crate::tls::instance_server_configs(&config)?;
        Ok(InForce {
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
    in_force: ArcSwap<InForce>,
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
    budget: body::Budget,
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
        in_force: InForce,
        leaves: LeafMinter,
        listeners: Vec<SocketAddr>,
        metrics: Arc<Metrics>,
    ) -> Proxy {
        let limits = in_force.config.warden.limits.clone();
        let mut http = auto::Builder::new(TokioExecutor::new());
        http.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_buf_size(MAX_HEAD_BYTES.max(8192));
        http.http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
            .max_header_list_size(MAX_HEAD_BYTES as u32);
        let budget = body::Budget::new(limits.body_budget_bytes);
        metrics.watch_body_budget(limits.body_budget_bytes, budget.usage());
        let verdicts = Arc::new(crate::policy::EventVerdicts::new(
            crate::config::limits::REMEMBERED_EVENTS,
        ));
        let remembered = verdicts.clone();
        metrics.watch_remembered_events(move || remembered.len() as u64);
        Proxy {
            in_force: ArcSwap::from_pointee(in_force),
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
    pub fn in_force(&self) -> Arc<InForce> {
        self.in_force.load_full()
    }

    /// Puts a new, fully validated config in force for the next request.
    /// Pooled upstream connections were verified under the old trust, so
    /// they go; so do the verdicts on events when the rules that gave them
    /// changed.
    pub fn replace(&self, in_force: InForce) {
        let same_rules = self.in_force().config.same_rules(&in_force.config);
        self.in_force.store(Arc::new(in_force));
        self.pool.clear();
        if !same_rules {
            self.verdicts.clear();
        }
    }
}
