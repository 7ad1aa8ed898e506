//! `misp-warden run`: the daemon's life from start to exit.
//!
//! Start-up happens on one thread, in an order that matters:
//!
//! 1. load and validate the config, the account and every file it names
//!    (`preflight`, what `check` runs too) — an invalid one is a one-line
//!    error, and nothing has been bound or written;
//! 2. bind every listener with `IP_TRANSPARENT` (needs `CAP_NET_ADMIN`);
//! 3. load the interception CA, or create it on first start;
//! 4. read every trust anchor and client key the config names;
//! 5. drop to the service account with no capabilities at all;
//! 6. only then start the async runtime's worker threads, and say `ready`.
//!
//! Then it serves until SIGTERM (or SIGINT): `/readyz` turns false, the
//! listeners close, exchanges in flight finish within [`DRAIN_TIMEOUT`],
//! exit 0. SIGHUP reloads, and so does a change of the config file (polled
//! every [`WATCH_INTERVAL`], acted on once it stopped changing, so a file
//! caught half-written is not read): the new file is validated completely
//! and its files read before it replaces the old config; an invalid one is
//! logged, counted, and the old one stays.

use crate::config::limits::{DRAIN_TIMEOUT, WATCH_INTERVAL};
use crate::config::{Config, LoadError};
use crate::metrics::Metrics;
use crate::net::listener::BindError;
use crate::net::privilege::PrivilegeError;
use crate::net::{listener, privilege};
use crate::preflight::PreflightError;
use crate::proxy::workers::Workers;
use crate::proxy::{InForce, Proxy};
use crate::tls::TlsError;
use crate::tls::leaf::LeafMinter;
use hyper_util::server::graceful::GracefulShutdown;
use std::path::Path;
use std::sync::Arc;
use tokio::signal::unix::{SignalKind, signal};

/// Why the daemon could not start (or had to stop): `misp-warden run`
/// prints it as one line and exits 1.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config file is missing, unreadable or invalid (the key named).
    #[error(transparent)]
    Config(#[from] LoadError),
    /// What `check` refuses too: the account, the files the config names.
    #[error("{}: {source}", path.display())]
    Preflight {
        path: std::path::PathBuf,
        source: PreflightError,
    },
    /// A transparent listener (the right it needs is named).
    #[error(transparent)]
    Bind(#[from] BindError),
    /// `warden.metrics_listen` or `warden.proxy_listen`.
    #[error("warden.{key}: cannot listen on {addr}: {source}")]
    Listen {
        key: &'static str,
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// The CA, a certificate, a key, an upstream trust anchor.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The account, or dropping to it (the right it needs is named).
    #[error(transparent)]
    Privileges(#[from] PrivilegeError),
    /// The runtime, its signal handlers, its listeners.
    #[error("cannot {what}: {source}")]
    Runtime {
        what: &'static str,
        source: std::io::Error,
    },
}

/// Everything start-up prepared, privileges already dropped.
struct Started {
    listeners: Vec<std::net::TcpListener>,
    /// `warden.metrics_listen`, bound while privileged (it may be a low port).
    metrics_listener: Option<std::net::TcpListener>,
    /// `warden.proxy_listen`: the explicit CONNECT proxy port.
    proxy_listener: Option<std::net::TcpListener>,
    proxy: Proxy,
    account: privilege::Account,
}

/// Reads and validates the config file; also returns the SHA-256 of its
/// bytes (hex), which the metrics show so an operator can tell which file
/// is in force.
fn load(path: &Path) -> Result<(Config, String), LoadError> {
    let text = crate::config::read_text(path)?;
    let config = Config::from_json(&text).map_err(|source| LoadError::Invalid {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((config, sha256_hex(text.as_bytes())))
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

pub fn run(path: &Path) -> Result<(), StartError> {
    let started = start(path)?;
    // Threads exist only from here on: privileges are already gone. This
    // one accepts, answers signals and serves the metrics; the connections
    // are served by one thread per CPU (`proxy::workers`).
    let main = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(runtime("start the runtime"))?;
    let workers = Workers::per_cpu().map_err(runtime("start the connection threads"))?;
    main.block_on(serve(path, started, workers))
}

/// Steps 1–5, on the one thread the process has.
fn start(path: &Path) -> Result<Started, StartError> {
    let (config, hash) = load(path)?;
    // Everything `check` checks, before anything is bound or written: a
    // config refused here leaves no CA behind.
    let ready = crate::preflight::check(path, &config).map_err(|source| StartError::Preflight {
        path: path.to_path_buf(),
        source,
    })?;
    crate::telemetry::init(config.warden.log_format);
    let listeners = config
        .warden
        .listen
        .iter()
        .map(|addr| listener::bind_transparent(*addr))
        .collect::<Result<Vec<_>, _>>()?;
    let plain = |key: &'static str, addr: Option<std::net::SocketAddr>| {
        addr.map(|addr| {
            std::net::TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .map_err(|source| StartError::Listen { key, addr, source })
        })
        .transpose()
    };
    let metrics_listener = plain("metrics_listen", config.warden.metrics_listen)?;
    let proxy_listener = plain("proxy_listen", config.warden.proxy_listen)?;
    let (leaves, created) =
        LeafMinter::load_or_create(&config.warden.ca_cert, &config.warden.ca_key)?;
    if created {
        tracing::warn!(
            "created a new interception CA: {} — MISP must trust this certificate (system store or per-server cert_file)",
            config.warden.ca_cert.display()
        );
    }
    // The CA's fingerprint, for the metrics (a pair must hold one CA).
    let ca_sha256 = crate::tls::read_certs(&config.warden.ca_cert)?
        .first()
        .map_or_else(String::new, |der| sha256_hex(der));
    let (user, group) = (ready.user, ready.group);
    let listen = config.warden.listen.clone();
    let loaded = InForce::new(config)?;
    for id in loaded
        .config
        .instances
        .iter()
        .filter(|i| !i.tls.verify)
        .map(|i| &i.id)
    {
        tracing::warn!(
            "instances.{id}.tls.verify is false: the upstream certificate of {id} is NOT verified"
        );
    }
    let account = privilege::drop_privileges(&user, &group)?;
    let metrics = Arc::new(Metrics::new());
    metrics.config_in_force(&hash);
    metrics.ca_in_force(&ca_sha256);
    Ok(Started {
        listeners,
        metrics_listener,
        proxy_listener,
        proxy: Proxy::new(loaded, leaves, listen, metrics),
        account,
    })
}

/// Step 6 and the rest of the daemon's life: accept, reload on SIGHUP,
/// drain on SIGTERM.
async fn serve(path: &Path, started: Started, workers: Workers) -> Result<(), StartError> {
    let proxy = Arc::new(started.proxy);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let graceful = Arc::new(GracefulShutdown::new());
    let (listeners, mut addrs) = register(started.listeners, started.proxy_listener)?;
    let workers = Arc::new(workers);
    let mut loops = tokio::task::JoinSet::new();
    loops.spawn(
        proxy
            .clone()
            .accept_loop(listeners, workers.clone(), graceful.clone(), stopped),
    );
    let _metrics_server = match started.metrics_listener {
        Some(l) => {
            let l = tokio::net::TcpListener::from_std(l)
                .map_err(runtime("register the metrics listener"))?;
            addrs.push(format!("metrics on {}", local_addr(&l)));
            let task = tokio::spawn(crate::metrics::serve(proxy.metrics.clone(), l));
            Some(AbortOnDrop(task))
        }
        None => None,
    };
    // Installed before `ready` is said: a SIGTERM sent on seeing it drains.
    let signals = Signals::new()?;
    let account = &started.account;
    tracing::info!(
        "misp-warden ready: mode {}, listening on {}, running as {} ({}:{}) with no capabilities",
        proxy.in_force().config.warden.mode.as_str(),
        addrs.join(" "),
        account.user,
        account.uid,
        account.gid
    );
    proxy.metrics.set_ready(true);
    signals.serve_until_stopped(path, &proxy).await;
    // Not ready any more, then the listeners close: from the line below on,
    // no new connection is taken.
    proxy.metrics.set_ready(false);
    let _ = stop.send(true);
    while loops.join_next().await.is_some() {}
    drain(graceful).await;
    // The accept loop, its only other owner, has ended.
    if let Ok(workers) = Arc::try_unwrap(workers) {
        workers.shutdown();
    }
    tracing::info!("stopped");
    Ok(())
}

fn runtime(what: &'static str) -> impl Fn(std::io::Error) -> StartError {
    move |source| StartError::Runtime { what, source }
}

fn local_addr(l: &tokio::net::TcpListener) -> String {
    l.local_addr().map(|a| a.to_string()).unwrap_or_default()
}

/// The bound listeners handed to the runtime, each marked explicit (the
/// CONNECT proxy) or transparent, and how the `ready` line names them.
#[allow(clippy::type_complexity)]
fn register(
    transparent: Vec<std::net::TcpListener>,
    explicit: Option<std::net::TcpListener>,
) -> Result<(Vec<(tokio::net::TcpListener, bool)>, Vec<String>), StartError> {
    let mut addrs = Vec::new();
    let mut listeners = Vec::new();
    let explicit = explicit.into_iter().map(|l| (l, true));
    let transparent = transparent.into_iter().map(|l| (l, false));
    for (std_listener, explicit) in transparent.chain(explicit) {
        let listener = tokio::net::TcpListener::from_std(std_listener)
            .map_err(runtime("register a listener"))?;
        let addr = local_addr(&listener);
        addrs.push(if explicit {
            format!("CONNECT proxy on {addr}")
        } else {
            addr
        });
        listeners.push((listener, explicit));
    }
    Ok((listeners, addrs))
}

/// The signals the daemon answers: SIGTERM and SIGINT stop it, SIGHUP
/// reloads.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals, StartError> {
        Ok(Signals {
            term: signal(SignalKind::terminate()).map_err(runtime("handle SIGTERM"))?,
            int: signal(SignalKind::interrupt()).map_err(runtime("handle SIGINT"))?,
            hup: signal(SignalKind::hangup()).map_err(runtime("handle SIGHUP"))?,
        })
    }

    /// Reloads on SIGHUP and on a settled change of the config file, until
    /// SIGTERM or SIGINT.
    async fn serve_until_stopped(mut self, path: &Path, proxy: &Proxy) {
        let mut watch = tokio::time::interval(WATCH_INTERVAL);
        watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut file = FileWatch::new(path);
        let at_start = start_only(&proxy.in_force().config.warden);
        loop {
            tokio::select! {
                _ = self.term.recv() => break,
                _ = self.int.recv() => break,
                _ = self.hup.recv() => {
                    file.loaded();
                    reload(path, proxy, &at_start);
                }
                _ = watch.tick() => if file.settled_change() {
                    tracing::info!("{} changed", path.display());
                    reload(path, proxy, &at_start);
                }
            }
        }
    }
}

/// Waits up to [`DRAIN_TIMEOUT`] for the exchanges in flight, then cuts
/// what is left.
async fn drain(graceful: Arc<GracefulShutdown>) {
    tracing::info!(
        "stopping: listeners closed, waiting up to {}s for exchanges in flight",
        DRAIN_TIMEOUT.as_secs()
    );
    match Arc::try_unwrap(graceful) {
        Ok(graceful) => {
            if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
                .await
                .is_err()
            {
                tracing::warn!(
                    "connections still open after {}s were cut",
                    DRAIN_TIMEOUT.as_secs()
                );
            }
        }
        Err(_) => tracing::warn!("could not wait for open connections"),
    }
}

/// The settings read once, at start: what a reload changes in them waits
/// for the next restart.
fn start_only(w: &crate::config::Warden) -> [(&'static str, String); 12] {
    let l = &w.limits;
    [
        ("warden.listen", format!("{:?}", w.listen)),
        ("warden.metrics_listen", format!("{:?}", w.metrics_listen)),
        ("warden.proxy_listen", format!("{:?}", w.proxy_listen)),
        ("warden.log_format", format!("{:?}", w.log_format)),
        ("warden.ca_cert", format!("{:?}", w.ca_cert)),
        ("warden.ca_key", format!("{:?}", w.ca_key)),
        ("warden.user", format!("{:?}", w.user)),
        ("warden.group", format!("{:?}", w.group)),
        ("warden.max_connections", l.max_connections.to_string()),
        (
            "warden.max_concurrent_inspections",
            l.max_concurrent_inspections.to_string(),
        ),
        ("warden.body_budget_bytes", l.body_budget_bytes.to_string()),
        (
            "warden.header_timeout_seconds",
            l.header_timeout.as_secs().to_string(),
        ),
    ]
}

/// Replaces the config in force with the file's, if — and only if — the
/// file is valid and everything it names can be read. A start-only setting
/// that differs from the one the daemon started with is named in a warning
/// at every reload until a restart (compared with the start, not with the
/// config last in force, so a second reload does not hide it).
fn reload(path: &Path, proxy: &Proxy, at_start: &[(&'static str, String)]) {
    let result = load(path)
        .map_err(StartError::from)
        .and_then(|(config, hash)| {
            let waiting: Vec<&str> = start_only(&config.warden)
                .iter()
                .zip(at_start)
                .filter(|(new, old)| new.1 != old.1)
                .map(|(new, _)| new.0)
                .collect();
            if !waiting.is_empty() {
                tracing::warn!(
                    "{} changed: read at start only, in effect after the next restart",
                    waiting.join(", ")
                );
            }
            InForce::new(config)
                .map(|in_force| (in_force, hash))
                .map_err(StartError::from)
        });
    match result {
        Ok((loaded, hash)) => {
            let instances = loaded.config.instances.len();
            proxy.replace(loaded);
            proxy.metrics.reload(true);
            proxy.metrics.config_in_force(&hash);
            tracing::info!(
                "reloaded {}: {instances} instances; new exchanges use it",
                path.display()
            );
        }
        Err(e) => {
            proxy.metrics.reload(false);
            tracing::error!("reload refused, the previous config stays in force: {e}");
        }
    }
}

/// Aborts a background task when dropped (the metrics server ends with the
/// daemon).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What identifies one version of the config file: a change of any of
/// these is a change of the file (an editor's rename gives a new inode, a
/// rewrite in place a new mtime or size).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<std::time::SystemTime>,
    len: u64,
    inode: u64,
    device: u64,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        // metadata() follows symlinks: a swapped link target is a change.
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp {
            modified: m.modified().ok(),
            len: m.len(),
            inode: m.ino(),
            device: m.dev(),
        })
    }
}

/// Polls the config file. A change is acted on only once two polls in a
/// row see the same new version, so a file being written is not read
/// halfway; a file that vanished is no change (the old config stays).
struct FileWatch<'p> {
    path: &'p Path,
    /// The version last loaded (or refused).
    loaded: Option<Stamp>,
    /// A new version seen once, waiting to be seen again.
    pending: Option<Stamp>,
}

impl<'p> FileWatch<'p> {
    fn new(path: &'p Path) -> FileWatch<'p> {
        FileWatch {
            path,
            loaded: Stamp::of(path),
            pending: None,
        }
    }

    /// The file as it is now is the one in force (a SIGHUP just read it).
    fn loaded(&mut self) {
        self.loaded = Stamp::of(self.path);
        self.pending = None;
    }

    /// Whether the file changed since it was last loaded and has stayed
    /// the same since the previous poll.
    fn settled_change(&mut self) -> bool {
        let now = Stamp::of(self.path);
        if now.is_none() || now == self.loaded {
            self.pending = None;
            return false;
        }
        if now == self.pending {
            self.loaded = now;
            self.pending = None;
            return true;
        }
        self.pending = now;
        false
    }
}
