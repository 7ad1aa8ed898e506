//! `misp-warden run`: the daemon's life from start to exit.
//!
//! Start-up happens on one thread, in an order that matters:
//!
//! 1. load and validate the config — an invalid one is a one-line error;
//! 2. bind every listener with `IP_TRANSPARENT` (needs `CAP_NET_ADMIN`);
//! 3. load the interception CA, or create it on first start;
//! 4. read every trust anchor and client key the config names;
//! 5. drop to the service account with no capabilities at all;
//! 6. only then start the async runtime's worker threads, and say `ready`.
//!
//! Then it serves until SIGTERM (or SIGINT): stop accepting, let exchanges
//! in flight finish within [`DRAIN_TIMEOUT`], exit 0. SIGHUP reloads: the
//! new file is validated completely and its files read before it replaces
//! the old config; an invalid one is logged and the old one stays.

use crate::config::Config;
use crate::net::{listener, privilege};
use crate::proxy::{Loaded, Proxy};
use crate::tls::leaf::LeafMinter;
use hyper_util::server::graceful::GracefulShutdown;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

/// How long SIGTERM waits for exchanges in flight.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything start-up prepared, privileges already dropped.
struct Started {
    listeners: Vec<std::net::TcpListener>,
    proxy: Proxy,
    account: privilege::Account,
}

pub fn run(path: &Path) -> Result<(), String> {
    crate::telemetry::init();
    let started = start(path)?;
    // Worker threads exist only from here on: privileges are already gone.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(serve(path, started))
}

/// Steps 1–5, on the one thread the process has.
fn start(path: &Path) -> Result<Started, String> {
    let config = Config::load(path).map_err(|e| e.to_string())?;
    let listeners = config
        .warden
        .listen
        .iter()
        .map(|addr| listener::bind_transparent(*addr))
        .collect::<Result<Vec<_>, _>>()?;
    let (leaves, created) =
        LeafMinter::load_or_create(&config.warden.ca_cert, &config.warden.ca_key)?;
    if created {
        tracing::warn!(
            "created a new interception CA: {} — MISP must trust this certificate (system store or per-server cert_file)",
            config.warden.ca_cert.display()
        );
    }
    let (user, group) = privilege::resolve(&config.warden.user, &config.warden.group)?;
    let listen = config.warden.listen.clone();
    let loaded = Loaded::new(config)?;
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
    Ok(Started {
        listeners,
        proxy: Proxy::new(loaded, leaves, listen),
        account,
    })
}

/// Step 6 and the rest of the daemon's life: accept, reload on SIGHUP,
/// drain on SIGTERM.
async fn serve(path: &Path, started: Started) -> Result<(), String> {
    let proxy = Arc::new(started.proxy);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let graceful = Arc::new(GracefulShutdown::new());
    let mut loops = tokio::task::JoinSet::new();
    let mut addrs = Vec::new();
    for std_listener in started.listeners {
        let listener = tokio::net::TcpListener::from_std(std_listener)
            .map_err(|e| format!("cannot register a listener: {e}"))?;
        addrs.push(
            listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default(),
        );
        loops.spawn(
            proxy
                .clone()
                .accept_loop(listener, graceful.clone(), stopped.clone()),
        );
    }
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let account = &started.account;
    tracing::info!(
        "misp-warden ready: mode {}, listening on {}, running as {} ({}:{}) with no capabilities",
        proxy.loaded().config.warden.mode.as_str(),
        addrs.join(" "),
        account.user,
        account.uid,
        account.gid
    );
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => reload(path, &proxy),
        }
    }
    // Listeners close first: from the line below on, no new connection is
    // taken.
    let _ = stop.send(true);
    while loops.join_next().await.is_some() {}
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
    tracing::info!("stopped");
    Ok(())
}

/// Replaces the config in force with the file's, if — and only if — the
/// file is valid and everything it names can be read.
fn reload(path: &Path, proxy: &Proxy) {
    let result = Config::load(path)
        .map_err(|e| e.to_string())
        .and_then(|config| {
            let old = &proxy.loaded().config.warden;
            if config.warden.listen != old.listen
                || config.warden.ca_cert != old.ca_cert
                || config.warden.ca_key != old.ca_key
                || config.warden.user != old.user
                || config.warden.group != old.group
            {
                tracing::warn!("warden.listen, ca_cert, ca_key, user and group take effect at the next restart only");
            }
            Loaded::new(config)
        });
    match result {
        Ok(loaded) => {
            let instances = loaded.config.instances.len();
            proxy.replace(loaded);
            tracing::info!(
                "reloaded {}: {instances} instances; new exchanges use it",
                path.display()
            );
        }
        Err(e) => tracing::error!("reload refused, the previous config stays in force: {e}"),
    }
}
