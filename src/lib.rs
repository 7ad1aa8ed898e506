//! misp-warden: a transparent guard for MISP server synchronisation.
//!
//! The crate is a library with a thin binary on top (`src/main.rs` only
//! parses the command line; [`cli`] runs each subcommand). The modules
//! follow the data path of one sync connection:
//!
//! ```text
//!   nftables (TPROXY) ──▶ net::listener ──▶ proxy::accept ──▶ proxy::workers ──▶ proxy::connection
//!   (the ruleset: nftables)                                 (TLS: tls::leaf, a CA: tls::ca)
//!        ──▶ proxy::exchange ──┬─▶ policy::judge_head      (routing, endpoints)
//!                              ├─▶ proxy::judging: body::read ─▶ policy::judge_request_body
//!                              ├─▶ proxy::forward ─▶ proxy::upstream (tls::upstream)
//!                              ├─▶ proxy::judging: body::read ─▶ policy::judge_response
//!                              └─▶ proxy::audit (telemetry, metrics)
//!   (a large body is judged on a thread of its own while body::read
//!    receives it: json::Arrival carries its chunks across)
//! ```
//!
//! - [`config`] — misp-guard's `config.json` plus the `warden` section,
//!   validated into a [`config::Config`] that cannot be half-valid; every
//!   bound and timeout in [`config::limits`].
//! - [`misp`] — MISP's vocabulary (UUIDs, how its database compares names,
//!   object templates): a leaf both the config and the judge read.
//! - [`net`] — transparent listeners, the original destination, dropping
//!   privileges.
//! - [`tls`] — the interception CA, minted leaves, the verified upstream.
//! - [`proxy`] — the data path, one module per stage (accept, connection,
//!   exchange, forward, upstream, audit); a connection lives on one of the
//!   per-CPU connection threads (`workers`).
//! - [`body`] — bodies read whole (as the chunks they came in, never
//!   copied into one piece to be forwarded), paid for out of one memory
//!   budget, and decoded within bounds (whole, or as they arrive).
//! - [`json`] — the JSON reader the judge reads bodies with: a
//!   `serde::Deserializer` over a body whose chunks may still be
//!   arriving ([`json::Arrival`]), waiting for bytes not there yet.
//! - [`policy`] — the judge, pure: the head, the request body, the
//!   response; what `misp-warden eval` runs too.
//! - [`daemon`] — start-up order, signals, reload; [`preflight`] — what
//!   `run` (and `check`) needs beyond a valid config.
//! - [`telemetry`], [`metrics`] — the audit log and the Prometheus series.
//! - [`nftables`] — the ruleset rendered from the config.
//! - [`cli`] — the subcommands `check`, `eval`, `nft`, `ca init`.
//!
//! Each module uses only those listed in a layer below its own, so none
//! can be read only after a module that depends on it, and there is no
//! circle:
//!
//! ```text
//!   cli
//!   daemon
//!   preflight            nftables
//!   proxy
//!   metrics  telemetry
//!   policy
//!   tls  body
//!   config
//!   misp  net  json
//! ```
//!
//! # Errors
//!
//! Two kinds, kept apart:
//!
//! - **Refusals** are the product. Every one is a [`policy::Block`]: the
//!   [`policy::Rule`] that refused (a stable id for logs and metrics), a
//!   message worded for an operator (never an attribute value or a body),
//!   the config key of the rule and the event concerned. They are decided
//!   by the judge ([`policy`]) or by a transport limit (a body too large or
//!   too slow, an ambiguous length), which names a rule of its own; the
//!   data path carries them as one `Refusal` and answers each MISP-style.
//!   Failures that are no refusal — an upstream that fails, a spent memory
//!   budget — travel the same way and answer 502/504/503.
//! - **Start-up and reload errors** are typed per module —
//!   [`config::LoadError`] (the key and what was expected),
//!   [`preflight::PreflightError`], [`net::listener::BindError`] and
//!   [`net::privilege::PrivilegeError`] (the right that is missing),
//!   [`tls::TlsError`] (the file or key to fix) — and gathered in
//!   [`daemon::StartError`]: one line, exit 1. A reload that fails logs the
//!   same line and keeps the config in force.
//!
//! No error crosses a module border as a bare `String`.

pub mod body;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod json;
pub mod metrics;
pub mod misp;
pub mod net;
pub mod nftables;
pub mod policy;
pub mod preflight;
pub mod proxy;
pub mod telemetry;
pub mod tls;
