//! One accepted connection, up to the point where HTTP takes over.
//!
//! Refusals here close the connection without a word: there is no HTTP yet
//! to answer in, and nothing has been forwarded. Only what cannot become an
//! HTTP exchange is refused here (no original destination, a direct dial of
//! the listener, a protocol that is neither TLS nor HTTP, a failed
//! handshake); everything else — an unknown source included — is judged
//! per request, so that every refusal MISP could act on is a 403 saying
//! which rule refused.

use super::exchange;
use super::framing::{Facts, Watch};
use super::idle::Idle;
use super::read_ahead::ReadAhead;
use super::{Conn, Proxy};
use crate::config::limits::HANDSHAKE_TIMEOUT;
use crate::net::canonical_ip;
use crate::tls::leaf::LeafName;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::Watcher;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// What a connection's first byte says it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// A TLS handshake record.
    Tls,
    /// An HTTP method's first letter: plaintext sync.
    Http,
    /// Anything else: refused, closed unanswered.
    Other,
}

pub fn sniff(first: u8) -> Sniffed {
    match first {
        TLS_HANDSHAKE => Sniffed::Tls,
        b if b.is_ascii_uppercase() => Sniffed::Http,
        _ => Sniffed::Other,
    }
}

/// The SNI name as the rest of the guard compares it: no trailing dot,
/// lower case.
pub fn normalise_sni(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Takes an accepted connection to the point where HTTP runs on it, then
/// serves it until it closes.
pub async fn handle(
    proxy: Arc<Proxy>,
    id: u64,
    stream: TcpStream,
    peer: SocketAddr,
    graceful: Watcher,
) {
    let destination = match crate::net::listener::original_destination(&stream, &proxy.listeners) {
        Ok(Some(d)) => SocketAddr::new(canonical_ip(d.ip()), d.port()),
        Ok(None) => {
            return tracing::warn!(
                conn = id, %peer,
                "refused: connection dialled the listener itself, not redirected by nftables; nothing to forward to"
            );
        }
        Err(e) => {
            return tracing::warn!(conn = id, %peer, "refused: original destination unknown: {e}");
        }
    };
    tracing::debug!(conn = id, %peer, %destination, "accepted");

    let mut first = [0u8; 1];
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        Ok(_) => return tracing::debug!(conn = id, %peer, "closed before sending anything"),
        Err(_) => {
            return tracing::info!(conn = id, %peer, "refused: nothing sent within the handshake timeout");
        }
    }

    let sniffed = sniff(first[0]);
    if sniffed == Sniffed::Tls {
        intercept_tls(
            proxy,
            id,
            ReadAhead::new(stream),
            peer,
            destination,
            graceful,
        )
        .await;
    } else if sniffed == Sniffed::Http {
        // An HTTP method: plaintext sync (an instance at http://).
        let framing = Facts::default();
        let conn = Arc::new(Conn {
            id,
            peer,
            destination,
            sni: None,
            tls: false,
            framing: framing.clone(),
        });
        let io = Idle::new(Watch::new(stream, framing));
        serve(proxy, conn, TokioIo::new(io), graceful).await;
    } else {
        tracing::warn!(
            conn = id, %peer, %destination, verdict = "block", rule = "protocol",
            "refused: neither TLS nor HTTP (first byte 0x{:02x}); closed without forwarding",
            first[0]
        );
    }
}

/// Terminates TLS from a client that was going to `destination` — a
/// transparent connection, or a CONNECT tunnel — and serves HTTP on it.
pub async fn intercept_tls<IO>(
    proxy: Arc<Proxy>,
    id: u64,
    io: IO,
    peer: SocketAddr,
    destination: SocketAddr,
    graceful: Watcher,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, accept_tls(&proxy, io, destination));
    match handshake.await {
        Ok(Ok((tls, sni))) => {
            let framing = Facts::default();
            let conn = Arc::new(Conn {
                id,
                peer,
                destination,
                sni,
                tls: true,
                framing: framing.clone(),
            });
            // (Over HTTP/2 the watch stands aside at the preface.)
            let io = Idle::new(Watch::new(tls, framing));
            serve(proxy, conn, TokioIo::new(io), graceful).await;
        }
        Ok(Err(e)) => {
            proxy.metrics.handshake_failed(e.cause());
            tracing::info!(conn = id, %peer, %destination, "TLS handshake failed: {e}")
        }
        Err(_) => {
            proxy.metrics.handshake_failed("timeout");
            tracing::info!(conn = id, %peer, %destination, "TLS handshake timed out")
        }
    }
}

/// Reads the ClientHello, mints (or reuses) a leaf for its SNI name — or
/// the address dialled when there is none — and completes the handshake.
/// A failure says its cause for the metrics: `client_hello`, `certificate`
/// (no leaf could be made) or `handshake`.
async fn accept_tls<IO>(
    proxy: &Proxy,
    stream: IO,
    destination: SocketAddr,
) -> Result<(tokio_rustls::server::TlsStream<IO>, Option<String>), HandshakeError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream)
        .await
        .map_err(HandshakeError::ClientHello)?;
    let sni = start.client_hello().server_name().map(normalise_sni);
    let config = match proxy.in_force().server_tls_for(destination) {
        Some(own) => own,
        None => {
            let leaf = match &sni {
                Some(name) => LeafName::Dns(name.clone()),
                None => LeafName::Ip(destination.ip()),
            };
            let (config, cached) = proxy
                .leaves
                .server_config(&leaf)
                .map_err(HandshakeError::Certificate)?;
            proxy.metrics.leaf_lookup(cached);
            config
        }
    };
    let tls = start
        .into_stream(config)
        .await
        .map_err(HandshakeError::Handshake)?;
    Ok((tls, sni))
}

/// Why a client's TLS handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("bad ClientHello: {0}")]
    ClientHello(std::io::Error),
    /// No leaf could be made for the name asked.
    #[error("{0}")]
    Certificate(crate::tls::TlsError),
    #[error("{0}")]
    Handshake(std::io::Error),
}

impl HandshakeError {
    /// For the metrics: `client_hello`, `certificate` or `handshake`.
    pub fn cause(&self) -> &'static str {
        match self {
            HandshakeError::ClientHello(_) => "client_hello",
            HandshakeError::Certificate(_) => "certificate",
            HandshakeError::Handshake(_) => "handshake",
        }
    }
}

async fn serve<I>(proxy: Arc<Proxy>, conn: Arc<Conn>, io: TokioIo<I>, graceful: Watcher)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = {
        let proxy = proxy.clone();
        let conn = conn.clone();
        service_fn(move |request| exchange::handle(proxy.clone(), conn.clone(), request))
    };
    let connection = proxy.http.serve_connection(io, service);
    if let Err(e) = graceful.watch(connection).await {
        tracing::debug!(conn = conn.id, "connection ended: {e}");
    }
}
