//! Every bound and timeout of the daemon, in one place: those an operator
//! sets (`warden.*`, [`Limits`], with their defaults) and those fixed here
//! (each says why it is what it is).
//!
//! Each bound turns a kind of exhaustion into a refusal while normal sync
//! goes on; each timeout is at least as long as what MISP itself would
//! wait, so the guard never gives up first.

use std::time::Duration;

/// What one client, or all of them, may take of the box. Each bound turns
/// an exhaustion attack into refusals while normal sync goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Client connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Client connections open at once from one address; more are closed
    /// at once (MISP's own parallel sync stays far below the default).
    pub max_connections_per_source: usize,
    /// Bodies decoded and judged at once (CPU-bound work); more wait.
    pub max_concurrent_inspections: usize,
    /// Bytes of bodies held in memory at once, received and decoded, over
    /// all exchanges; a request that would exceed it gets a 503.
    pub body_budget_bytes: u64,
    /// Longest wait for a request head, and idle time between requests.
    pub header_timeout: std::time::Duration,
    /// Longest wait for a whole request body (slow senders).
    pub body_timeout: std::time::Duration,
    /// Largest decoded / encoded size ratio of a compressed body.
    pub max_decompression_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 4096,
            max_connections_per_source: 256,
            max_concurrent_inspections: 4,
            body_budget_bytes: 1024 * 1024 * 1024,
            header_timeout: std::time::Duration::from_secs(30),
            body_timeout: std::time::Duration::from_secs(300),
            max_decompression_ratio: 200,
        }
    }
}

/// Longest TLS handshake (from the first byte) a client may take; also the
/// wait for a client's first byte.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for an upstream's complete response: MISP's own curl
/// timeout, so the guard never gives up before MISP would, and a stalled
/// peer never holds a task for longer.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(300);

/// Longest silence on a client connection (no byte either way): longer than
/// the longest legitimate one, an upstream taking [`RESPONSE_TIMEOUT`].
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(330);

/// Longest wait for a TCP and TLS connection to an upstream.
pub const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest DNS lookup of a feed or allowlisted name (CONNECT proxy).
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a refused request's body is read (and thrown away) at most, so
/// the client hears the refusal instead of a reset.
pub const DISCARD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long exchanges in flight may take to finish after SIGTERM.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the config file is looked at for changes (read once two
/// looks agree).
pub const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Largest request head accepted (HTTP/1.1 buffer, HTTP/2 header list).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Streams one HTTP/2 client may have open at once.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 32;

/// Decoded output a compressed body may always reach, whatever its ratio:
/// MISP events repeat their field names, and a 1 MiB event can compress a
/// thousandfold. Past this floor `max_decompression_ratio` applies; memory
/// stays bounded by `max_body_bytes` and the body budget either way.
pub const RATIO_FLOOR: u64 = 8 << 20;

/// Events whose verdict the guard remembers (their sightings and
/// proposals go where they went): about 16 MiB when full; the oldest are
/// forgotten first.
pub const REMEMBERED_EVENTS: usize = 256 * 1024;
