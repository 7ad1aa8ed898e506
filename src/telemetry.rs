//! Logging: one line per decision and per notable event, on stderr (which
//! journald and container runtimes collect) — readable text, or one JSON
//! object per line when `warden.log_format` is `json`.
//!
//! What may appear in a line is fixed by the callers: instance ids,
//! addresses, methods, paths (control characters stripped), rule ids, event
//! UUIDs, sizes — never a header value, attribute value, auth key or body.
//! `RUST_LOG` filters as usual (default `info`), but only for misp-warden's
//! own lines: the libraries underneath (hyper, h2, rustls) are held at
//! `info` whatever `RUST_LOG` says, because their debug output describes
//! the messages they carry, and those carry secrets.

use crate::config::LogFormat;
use std::io::IsTerminal;
use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::prelude::*;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let libraries_at_info =
        filter_fn(|meta| meta.target().starts_with("misp_warden") || *meta.level() <= Level::INFO);
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let layer = match format {
        LogFormat::Text => lines.with_ansi(std::io::stderr().is_terminal()).boxed(),
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter).with_filter(libraries_at_info))
        .try_init();
}
