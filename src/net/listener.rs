//! Transparent listeners and original-destination recovery.
//!
//! With nftables `tproxy`, a connection MISP opens to a remote instance is
//! delivered to our socket unchanged: the accepted socket's *local* address
//! is the address MISP dialled. That needs `IP_TRANSPARENT` on the listening
//! socket. With NAT `redirect` (hosts without TPROXY) the local address is
//! ours and the kernel keeps the original in conntrack, read with
//! `SO_ORIGINAL_DST` / `IP6T_SO_ORIGINAL_DST`.
//!
//! A connection whose recovered destination is the listener itself was not
//! redirected at all (someone dialled the guard directly): there is nowhere
//! to forward it, so it is refused.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpListener};

/// Pending connections the kernel may queue per listener.
const BACKLOG: i32 = 1024;

/// A transparent listener that could not be made: which step, and which
/// right is missing when it is a permission error.
#[derive(Debug, thiserror::Error)]
#[error("cannot {step} listener {addr}: {source}{}", hint(source))]
pub struct BindError {
    pub step: &'static str,
    pub addr: SocketAddr,
    pub source: io::Error,
}

fn hint(e: &io::Error) -> &'static str {
    if e.raw_os_error() == Some(nix::libc::EPERM) {
        " (needs root or CAP_NET_ADMIN)"
    } else if e.raw_os_error() == Some(nix::libc::EACCES) {
        " (a port below 1024 needs root or CAP_NET_BIND_SERVICE)"
    } else {
        ""
    }
}

/// Binds a transparent listener. IPv6 listeners are v6-only, so
/// `0.0.0.0:P` and `[::]:P` can both be bound.
pub fn bind_transparent(addr: SocketAddr) -> Result<TcpListener, BindError> {
    let fail = |step: &'static str, source: io::Error| BindError { step, addr, source };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| fail("create", e))?;
    socket
        .set_reuse_address(true)
        .map_err(|e| fail("configure", e))?;
    match addr {
        SocketAddr::V4(_) => socket.set_ip_transparent_v4(true),
        SocketAddr::V6(_) => socket
            .set_only_v6(true)
            .and_then(|_| socket.set_ip_transparent_v6(true)),
    }
    .map_err(|e| fail("set IP_TRANSPARENT on", e))?;
    socket
        .bind(&SockAddr::from(addr))
        .map_err(|e| fail("bind", e))?;
    socket.listen(BACKLOG).map_err(|e| fail("listen on", e))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| fail("configure", e))?;
    Ok(socket.into())
}

/// Where an accepted connection was going.
///
/// TPROXY: the local address. NAT redirect: the conntrack original, when
/// the kernel has one that differs from the local address. `None` when the
/// destination is one of our own listeners (a direct connection).
pub fn original_destination<S: std::os::fd::AsFd>(
    stream: &S,
    listeners: &[SocketAddr],
) -> io::Result<Option<SocketAddr>> {
    let socket = socket2::SockRef::from(stream);
    let local = socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("not an IP socket"))?;
    let natted = match local {
        SocketAddr::V4(_) => socket.original_dst_v4(),
        SocketAddr::V6(_) => socket.original_dst_v6(),
    }
    .ok()
    .and_then(|a| a.as_socket());
    let destination = match natted {
        Some(original) if original != local => original,
        _ => local,
    };
    // A wildcard listener's port is never a sync port (configs that try
    // are refused), so a connection to it on any address was dialled
    // directly.
    let is_listener = listeners.iter().any(|l| {
        l.port() == destination.port()
            && (l.ip() == destination.ip()
                || (l.ip().is_unspecified() && l.is_ipv4() == destination.is_ipv4()))
    });
    Ok((!is_listener).then_some(destination))
}
