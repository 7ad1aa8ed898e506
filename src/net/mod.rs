//! The network edge of the appliance: the transparent listeners nftables
//! hands connections to, recovering where each connection was going, and
//! giving up every privilege once the listeners are bound.
//!
//! Both jobs need root (or `CAP_NET_ADMIN`, `CAP_SETUID`, `CAP_SETGID`,
//! `CAP_SETPCAP`) and both happen before the async runtime starts a single
//! thread: capabilities are per thread in Linux, so dropping them while
//! worker threads exist would leave those threads privileged.

pub mod listener;
pub mod privilege;

use std::net::IpAddr;

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, as a dual-stack socket
/// reports IPv4 peers) are the IPv4 address they map.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}
