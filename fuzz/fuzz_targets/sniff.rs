//! The first bytes of a connection: `sniff(first byte)`, then the
//! ClientHello path of `accept_tls` (src/proxy/connection.rs): the bytes go
//! through `tokio_rustls::LazyConfigAcceptor`, the SNI name through
//! `normalise_sni`, and a leaf is minted for it by a `LeafMinter` made once
//! from a CA generated in a temporary directory.
//!
//! Invariants: `sniff` says TLS exactly for 0x16 and HTTP exactly for an
//! upper-case ASCII letter; a normalised name has no trailing dot and no
//! upper-case ASCII; minting may fail with an error, never panic, and a
//! leaf minted twice comes from the cache the second time.

#![no_main]

use libfuzzer_sys::fuzz_target;
use misp_warden::proxy::connection::{Sniffed, normalise_sni, sniff};
use misp_warden::tls::leaf::{LeafMinter, LeafName};
use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

struct State {
    runtime: tokio::runtime::Runtime,
    minter: LeafMinter,
    /// Keeps the CA's directory alive for the whole run.
    _dir: tempfile::TempDir,
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (minter, created) =
            LeafMinter::load_or_create(&dir.path().join("ca.pem"), &dir.path().join("ca.key"))
                .expect("a CA in a fresh directory");
        assert!(created);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        State {
            runtime,
            minter,
            _dir: dir,
        }
    })
}

/// Reads the fuzz input in small, uneven pieces (as a socket would deliver
/// them), then end of file; discards what is written (alerts).
struct Input<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl AsyncRead for Input<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.data.len().min(buf.remaining()).min(self.chunk);
        let (head, tail) = self.data.split_at(n);
        buf.put_slice(head);
        self.data = tail;
        self.chunk = self.chunk % 4096 * 3 + 1;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Input<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(&first) = data.first() else { return };
    let sniffed = sniff(first);
    assert_eq!(sniffed == Sniffed::Tls, first == 0x16);
    assert_eq!(sniffed == Sniffed::Http, first.is_ascii_uppercase());
    if sniffed != Sniffed::Tls {
        return;
    }

    let state = state();
    let io = Input {
        data,
        chunk: 1 + data.len() % 7,
    };
    let sni = state.runtime.block_on(async {
        let acceptor =
            tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io);
        match acceptor.await {
            Ok(start) => Some(start.client_hello().server_name().map(normalise_sni)),
            Err(_) => None,
        }
    });
    let Some(Some(name)) = sni else { return };
    assert!(!name.ends_with('.'), "trailing dot kept: {name:?}");
    assert!(
        !name.bytes().any(|b| b.is_ascii_uppercase()),
        "upper case kept: {name:?}"
    );

    let leaf = LeafName::Dns(name);
    match state.minter.server_config(&leaf) {
        Ok((config, _)) => {
            assert!(config.alpn_protocols.iter().any(|p| p == b"http/1.1"));
            let (again, cached) = state.minter.server_config(&leaf).expect("minted before");
            assert!(cached, "a fresh leaf for {leaf} was not cached");
            assert!(std::sync::Arc::ptr_eq(&config, &again));
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
