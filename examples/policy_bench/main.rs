//! Benchmark of the policy engine on large MISP events.
//!
//! What it measures: `misp_warden::policy::evaluate` on a push
//! (`POST /events/add/metadata:1`, source instance to destination instance,
//! with realistic non-empty block rules) of generated MISP events of about
//! 1 MB, 10 MB and 100 MB, and of the 10 MB event sent gzip-encoded (decoded
//! with `misp_warden::body::decode` first, as the daemon does). The events
//! look like what MISP serialises for a push — attributes with every field
//! MISP sends, objects, tags, sharing groups, event reports, galaxies — and
//! nothing in them matches a block rule, so every run takes the allow path:
//! the whole body is parsed and every element checked. The program aborts
//! if the verdict is not "allow", and first checks on the 1 MB event that
//! one blocked value at the deepest places (last attribute, object, galaxy
//! cluster, sharing group, event tag) is refused, so the rules are live.
//!
//! For each body it prints
//! - throughput in MB/s (1 MB = 10^6 bytes of decoded JSON), median and
//!   best of repeated runs on one thread, so the figures are per core. The
//!   bodies are timed interleaved, round after round, so that a noisy phase
//!   of the machine does not land on one row only;
//! - peak memory of one evaluation, measured in a fresh child process (the
//!   program re-runs itself with `--measure-one FILE`): how far the peak RSS
//!   (`VmHWM`, reset through `/proc/self/clear_refs` once the body is read)
//!   rises above the RSS just before evaluation (`eval peak`), that rise
//!   divided by the body size, and the body plus that rise divided by the
//!   body size (`total/body`: the whole cost of holding and judging a body);
//! - as a reference, serde_json merely skipping the 100 MB body
//!   (`IgnoredAny`): the floor for any serde_json-based check.
//!
//! Run it with
//!
//! ```text
//! cargo run --release --example policy_bench                   # table
//! cargo run --release --example policy_bench -- --json         # JSON
//! cargo run --release --example policy_bench -- --seconds 30   # longer timing
//! cargo run --release --example policy_bench -- --readers      # old vs new reader
//! ```
//!
//! `--readers` (module `readers`) puts the judge's JSON reader before
//! (serde_json) and now (`misp_warden::json`) side by side on the same
//! bodies — whole, as one chunk, in 16 KiB chunks — and merely skipping;
//! then times the judge running while a body arrives: the delay from the
//! last byte to the verdict.
//!
//! The events come from a deterministic PRNG (the same bytes every run).
//! Memory figures need Linux (`/proc/self/status`). A run takes about 15 s
//! on a 2-core machine (12 s of it timing, see `--seconds`).
//!
//! This file holds the usage and the dispatch; the modules, by job:
//! `deployment` (the config and a judged push), the event `generator` with
//! its `rng`, `json_text` and `values`, `measure` (memory and throughput),
//! `run` (the parent's run and its sanity checks) and `report`.

mod deployment;
mod generator;
mod json_text;
mod measure;
mod readers;
mod report;
mod rng;
mod run;
mod values;

use std::process::ExitCode;

use crate::measure::child;
use crate::run::parent;

fn die(msg: &str) -> ! {
    eprintln!("policy_bench: FAILED: {msg}");
    std::process::exit(2);
}

const USAGE: &str = "usage: policy_bench [--json | --readers] [--seconds N]
  --json       print JSON instead of a table
  --readers    the judge's JSON reader, serde_json before and misp_warden::json now, side by
               side; then the judge while a body arrives (delay from last byte to verdict)
  --seconds N  time spent on throughput runs, all bodies interleaved (default 12)
(internal: policy_bench --measure-one FILE [--gzip])";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--measure-one") {
        return child(&args[1..]);
    }
    let mut json = false;
    let mut readers = false;
    let mut seconds = 12;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--readers" => readers = true,
            "--seconds" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => seconds = n,
                _ => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if readers {
        return readers::readers(seconds);
    }
    parent(json, seconds)
}
