//! misp-warden: a transparent guard for MISP server synchronisation.
//!
//! The crate is a library with a thin binary on top (`src/main.rs` only
//! parses the command line). Modules follow the data path:
//!
//! - [`config`] — misp-guard's `config.json` plus the `warden` section,
//!   validated into a [`config::Config`] that cannot be half-valid.
//! - [`policy`] — the rule engine, pure (no I/O): routing, the sync
//!   endpoint table, and misp-guard's content rules.
//! - [`body`] — content-encoding decoding with a bound on the decoded size.
//! - [`tls`] — the local interception CA.
//! - [`nftables`] — the ruleset that diverts the config's sync traffic.
//! - [`preflight`] — what `run` needs besides a valid config (account,
//!   files and their permissions, the CA), checked by `check` too.
//! - [`cli`] — the subcommands `check`, `eval`, `nft` and `ca init`.

pub mod body;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod metrics;
pub mod misp;
pub mod net;
pub mod nftables;
pub mod policy;
pub mod preflight;
pub mod proxy;
pub mod telemetry;
pub mod tls;
