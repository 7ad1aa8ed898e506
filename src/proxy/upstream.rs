//! The upstream leg: connecting to the original destination, TLS verified
//! against the name MISP meant, HTTP/1.1, and a small keep-alive pool per
//! destination so a sync job's hundreds of requests do not each pay a
//! handshake.

use super::read_ahead::ReadAhead;
use super::reply::Body;
use crate::tls::leaf::LeafName;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use tokio::net::TcpStream;

use crate::config::limits::UPSTREAM_CONNECT_TIMEOUT as CONNECT_TIMEOUT;
/// Idle connections kept per destination: at least as many as MISP runs
/// sync jobs at once, or every request beyond them pays a new TCP and TLS
/// handshake upstream (the benchmark saw one in three at 32 clients with 8).
const IDLE_PER_KEY: usize = 64;

/// Where a request goes, and how to talk to it. Connections are pooled by
/// all of it: a connection verified for one name is never reused for
/// another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub addr: SocketAddr,
    /// `None` for plaintext HTTP.
    pub tls: Option<TlsTarget>,
}

#[derive(Debug, Clone)]
pub struct TlsTarget {
    /// The name the certificate must be valid for (sent as SNI unless it is
    /// an address).
    pub name: LeafName,
    pub config: Arc<ClientConfig>,
}

impl PartialEq for TlsTarget {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.config, &other.config)
    }
}
impl Eq for TlsTarget {}
impl std::hash::Hash for TlsTarget {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        (Arc::as_ptr(&self.config) as usize).hash(state);
    }
}

/// Why the upstream could not be used; decides 502 or 504.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream failed: {0}")]
    Timeout(String),
    #[error("upstream failed: {0}")]
    Failed(String),
}

impl UpstreamError {
    /// For the metrics and the log: `timeout` or `failed`.
    pub fn cause(&self) -> &'static str {
        match self {
            UpstreamError::Timeout(_) => "timeout",
            UpstreamError::Failed(_) => "failed",
        }
    }
}

/// Idle upstream connections, each kept for the connection thread that
/// opened it (see [`super::workers`]): its task runs there, so a request
/// from another thread would cross threads at every step.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<Idle>,
}

type Idle = HashMap<ThreadId, HashMap<Target, Vec<SendRequest<Body>>>>;

impl Pool {
    /// A ready connection to `target`, and whether it was reused: pooled if
    /// one is alive, else new.
    pub async fn get(&self, target: &Target) -> Result<(SendRequest<Body>, bool), UpstreamError> {
        let here = std::thread::current().id();
        loop {
            let candidate = self
                .lock()
                .get_mut(&here)
                .and_then(|idle| idle.get_mut(target))
                .and_then(|v| v.pop());
            match candidate {
                Some(mut sender) => {
                    if !sender.is_closed() && sender.ready().await.is_ok() {
                        return Ok((sender, true));
                    }
                }
                None => break,
            }
        }
        Ok((self.connect(target).await?, false))
    }

    /// A new connection to `target`, within [`CONNECT_TIMEOUT`].
    pub async fn connect(&self, target: &Target) -> Result<SendRequest<Body>, UpstreamError> {
        tokio::time::timeout(CONNECT_TIMEOUT, connect(target))
            .await
            .map_err(|_| {
                UpstreamError::Timeout(format!(
                    "no connection to {} within {}s",
                    target.addr,
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
    }

    /// Returns a connection whose exchange is complete.
    pub fn put(&self, target: Target, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.lock();
        let list = idle
            .entry(std::thread::current().id())
            .or_default()
            .entry(target)
            .or_default();
        list.retain(|s| !s.is_closed());
        if list.len() < IDLE_PER_KEY {
            list.push(sender);
        }
    }

    /// Forgets every idle connection (after a reload changed trust).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn connect(target: &Target) -> Result<SendRequest<Body>, UpstreamError> {
    let tcp = TcpStream::connect(target.addr)
        .await
        .map_err(|e| UpstreamError::Failed(format!("cannot connect to {}: {e}", target.addr)))?;
    let _ = tcp.set_nodelay(true);
    match &target.tls {
        None => handshake(TokioIo::new(tcp)).await,
        Some(tls) => {
            let name = match &tls.name {
                LeafName::Dns(n) => ServerName::try_from(n.clone())
                    .map_err(|e| UpstreamError::Failed(format!("invalid server name {n}: {e}")))?,
                LeafName::Ip(ip) => ServerName::IpAddress((*ip).into()),
            };
            let stream = tokio_rustls::TlsConnector::from(tls.config.clone())
                .connect(name, ReadAhead::new(tcp))
                .await
                .map_err(|e| {
                    UpstreamError::Failed(format!(
                        "TLS to {} as {} failed: {e}",
                        target.addr, tls.name
                    ))
                })?;
            handshake(TokioIo::new(stream)).await
        }
    }
}

async fn handshake<T>(io: TokioIo<T>) -> Result<SendRequest<Body>, UpstreamError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::Builder::new()
        .handshake(io)
        .await
        .map_err(|e| UpstreamError::Failed(format!("HTTP handshake failed: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("upstream connection ended: {e}");
        }
    });
    Ok(sender)
}

/// A response body handed to the client as it arrives — for responses the
/// policy does not read (push answers, allowlisted sites), so that they
/// cost no memory and no wait. Once the body is complete, `done` runs
/// (returning the upstream connection to the pool). Trailers are not
/// passed on: the buffered path drops them too.
pub struct Streamed {
    body: hyper::body::Incoming,
    done: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Streamed {
    pub fn new(body: hyper::body::Incoming, done: Box<dyn FnOnce() + Send + Sync>) -> Streamed {
        Streamed {
            body,
            done: Some(done),
        }
    }
}

impl Streamed {
    /// Runs `done` once, when the body is complete.
    fn finish(&mut self) {
        if let Some(done) = self.done.take() {
            done();
        }
    }
}

impl Drop for Streamed {
    fn drop(&mut self) {
        // An empty body is never polled; a body dropped unfinished leaves
        // its connection to close (it cannot carry another request).
        if hyper::body::Body::is_end_stream(&self.body) {
            self.finish();
        }
    }
}

impl hyper::body::Body for Streamed {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, hyper::Error>>> {
        use std::task::Poll;
        loop {
            let polled = std::pin::Pin::new(&mut self.body).poll_frame(cx);
            match polled {
                Poll::Ready(Some(Ok(frame))) if frame.is_trailers() => continue,
                Poll::Ready(None) => {
                    self.finish();
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Ok(frame))) => {
                    // The last frame of a body of known length: hyper will
                    // not poll again, so the connection is free now.
                    if self.body.is_end_stream() {
                        self.finish();
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                other => return other,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}
