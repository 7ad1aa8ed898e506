//! Logging: one line per decision and per notable event, on stderr (which
//! journald and container runtimes collect).
//!
//! What may appear in a line is fixed by the callers: instance ids,
//! addresses, methods, paths, rule ids, event UUIDs, sizes — never a header
//! value, attribute value, auth key or body. `RUST_LOG` filters as usual
//! (default `info`).

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
