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
