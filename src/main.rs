//! The `misp-warden` command line. Parsing only: each subcommand calls one
//! function of the library (`misp_warden::cli`).

use clap::{Parser, Subcommand};
use misp_warden::cli;
use std::path::PathBuf;
use std::process::ExitCode;

/// A transparent guard for MISP server synchronisation: it applies
/// misp-guard's rules to what MISP pushes and pulls, without MISP knowing.
#[derive(Parser)]
#[command(name = "misp-warden", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon in the foreground: bind the transparent listeners, drop
    /// privileges, guard every sync connection nftables hands over. Logs to
    /// stderr. SIGHUP, or a change of the config file, reloads it; SIGTERM
    /// drains and exits 0.
    Run {
        /// The config file (a misp-guard config.json works unchanged).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Validate a config file and print a short summary (exit 0 valid, 1 invalid).
    Check {
        /// The config file (a misp-guard config.json works unchanged).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Judge one exchange with the daemon's own judge, no network: the same
    /// head, body, decoding and response stages the daemon applies, on a
    /// connection and request built from these flags. Prints `allow` (exit 0)
    /// or `block: <reason>` (exit 3); exit 2 on a usage or config error.
    Eval {
        /// The config file whose rules decide.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The client: an instance id or a client IP address.
        #[arg(long, value_name = "SRC")]
        from: String,
        /// The destination: an instance id, or a host name or IP with an
        /// optional :PORT (default: the port of the instance, feed or
        /// allowlisted URL it names, else 443).
        #[arg(long, value_name = "DST")]
        to: String,
        /// The HTTP method, e.g. POST.
        #[arg(long, value_name = "M")]
        method: String,
        /// The request target as sent, e.g. /events/add/metadata:1.
        #[arg(long, value_name = "P")]
        path: String,
        /// The request body (a push).
        #[arg(long, value_name = "FILE")]
        body: Option<PathBuf>,
        /// A request header, 'Name: value', as the client sends it (Host
        /// defaults to the name in --to, Content-Type to application/json).
        #[arg(long = "header", value_name = "'K: V'")]
        headers: Vec<String>,
        /// The client speaks plaintext HTTP (default: TLS, with the name in
        /// --to as its server name).
        #[arg(long)]
        plaintext: bool,
        /// An event UUID the daemon would remember having let through between
        /// --from and --to (push) or --to and --from (pull): sightings and
        /// proposals of an event are judged by that memory.
        #[arg(long = "seen-event", value_name = "UUID")]
        seen_events: Vec<String>,
        /// The response body (a pull); without it only the request is judged.
        #[arg(long, value_name = "FILE")]
        response: Option<PathBuf>,
        /// A response header, 'Name: value' (Content-Encoding and X-UserOrgUUID are read).
        #[arg(long = "response-header", value_name = "'K: V'")]
        response_headers: Vec<String>,
        /// The response's HTTP status (default 200): 204, 304 and 1xx carry no
        /// content; a feed's non-200 answers pass as misp-guard passes them.
        #[arg(long = "response-status", value_name = "CODE", value_parser = clap::value_parser!(u16).range(100..=599))]
        response_status: Option<u16>,
    },
    /// Print the nftables ruleset that hands this config's sync traffic to the
    /// daemon (load it with `nft -f -`). Exit 2 on an invalid config, instances
    /// of an address family with no listener for it, or an unknown mode.
    Nft {
        /// The config file the daemon runs with.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Where MISP runs: gateway (this box routes MISP's traffic),
        /// container-host (MISP in containers on this host) or same-host.
        #[arg(long, value_name = "MODE", default_value = "gateway")]
        mode: String,
        /// NAT redirect instead of TPROXY, for kernels without TPROXY.
        #[arg(long)]
        nat: bool,
    },
    /// Manage the local interception CA.
    Ca {
        #[command(subcommand)]
        action: CaAction,
    },
}

#[derive(Subcommand)]
enum CaAction {
    /// Create DIR/ca.pem and DIR/ca.key (mode 0600).
    Init {
        /// Where to write ca.pem and ca.key (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Replace an existing CA.
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { cli::EVAL_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Run { config } => match misp_warden::daemon::run(&config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("misp-warden: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Check { config } => cli::check(&config),
        Command::Eval {
            config,
            from,
            to,
            method,
            path,
            body,
            headers,
            response,
            response_headers,
            response_status,
            plaintext,
            seen_events,
        } => cli::eval(&cli::EvalArgs {
            config: &config,
            from: &from,
            to: &to,
            method: &method,
            path: &path,
            body: body.as_deref(),
            headers: &headers,
            response: response.as_deref(),
            response_headers: &response_headers,
            response_status,
            plaintext,
            seen_events: &seen_events,
        }),
        Command::Nft { config, mode, nat } => cli::nft(&config, &mode, nat),
        Command::Ca {
            action: CaAction::Init { dir, force },
        } => cli::ca_init(&dir, force),
    }
}
