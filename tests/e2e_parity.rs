//! Verdict parity, live: every misp-guard scenario of `tests/parity.rs`
//! (and every twin) replayed through the running daemon in the namespace
//! lab (`tests/lab/mod.rs`), each expecting **misp-guard's verdict from the
//! scenario table** (`tests/parity_scenarios/`), as `tests/parity.rs` does
//! for `eval` — never what `eval` says, so a policy bug shared by `eval`
//! and the daemon fails here too. (`eval`'s verdict is shown beside a
//! failure, to tell a daemon bug from a policy bug.)
//!
//! For every run:
//!
//! - **misp-guard allows** → the client gets the remote's answer unchanged
//!   (status and bytes), and the remote received exactly that request,
//!   body byte for byte;
//! - **misp-guard blocks** → the client gets a 403 with MISP's JSON error
//!   shape (`{"name": "Forbidden", "message", "url"}`) whose message says
//!   what misp-guard's reason says (its text, or ours for it where the
//!   wording is known to differ: `WORDING_GAPS`; an unknown source too:
//!   CONTRACT.md wants every block answered so). Nothing blocked crosses.
//!   Where the block falls is read from the table as well: misp-guard
//!   judges the request first and the response after it, so a blocked run
//!   whose very request (method, path, client, destination, body) is
//!   allowed in another run of the table is refused on its response — the
//!   request went out once and not a byte of the response body reaches the
//!   client; any other blocked run is refused on its request — the remote
//!   receives no request at all (so no pushed body).
//!
//! # The lab mapping
//!
//! The parity config's addresses are both client IPs and destinations. In
//! the lab a client sits in `NAME-in` and a destination in `NAME-out`, so
//! the runs are grouped by their client, and each group gets its own copy of
//! the parity config (same rules, compartments, feeds, allowlist, host
//! names), put in force with SIGHUP before the group runs:
//!
//! | instance  | parity IP     | as the client (`in0`) | as a destination (`out0`)          |
//! |-----------|---------------|-----------------------|------------------------------------|
//! | alpha_1   | 192.0.2.11    | 192.0.2.11            | 203.0.113.111 / 2001:db8:2::111    |
//! | alpha_2   | 192.0.2.12    | 192.0.2.12            | 203.0.113.112 / 2001:db8:2::112    |
//! | bravo_1   | 198.51.100.21 | 192.0.2.21            | 203.0.113.121 / 2001:db8:2::121    |
//! | bravo_2   | 198.51.100.22 | 192.0.2.22            | 203.0.113.122 / 2001:db8:2::122    |
//! | charlie_1 | 203.0.113.31  | 192.0.2.31            | 203.0.113.131 / 2001:db8:2::131    |
//! | delta_1   | 2001:db8::41  | 2001:db8:1::41        | 203.0.113.141 / 2001:db8:2::141    |
//!
//! In a group, the client instance's `ip` is its `in0` address and every
//! other instance's is its `out0` address of the client's family (delta_1,
//! the IPv6 instance, pulls and pushes over IPv6; the others over IPv4).
//! Names that are no instance get `out0` addresses too:
//! downloads.mirror.example .150, lists.zone-x.test .151,
//! nowhere.zone-a.example .152, feed1.mirror.example .161,
//! feed2.mirror.example .162 (203.0.113.x). The unknown clients keep their
//! parity addresses (they appear in the reason): 192.0.2.200 on `in0`, and
//! 203.0.113.90 as a /32 on `in0` with a host route back to it on the
//! gateway. Port 4444 (the `dst_port_not_allowed` scenarios) gets a TPROXY
//! rule of its own on the gateway, next to the lab's 80/443.
//!
//! Four pulls have alpha_1 pull from itself, which no lab can place on both
//! sides: their group adds `alpha_1_client`, a copy of alpha_1 (same
//! compartment and rules) with host `alpha1-client.lab.example` at alpha_1's
//! `in0` address, and alpha_1 is the destination. A pull is judged by the
//! destination's rules, so the verdicts and reasons are alpha_1's.
//!
//! The remote MISP listens on every `out0` address above with a certificate
//! for every host name and address, signed by the lab's `remote-ca` (the
//! daemon's `upstream_ca`). For each run it serves the scenario's response
//! fixture (and response headers, e.g. `X-UserOrgUUID`) with 200 for the
//! exact method and path; a scenario without a response gets `204 No
//! Content`, which the daemon does not judge.
//!
//! Needs root; without it the test says it skipped.

mod lab;
mod parity_scenarios;

#[path = "e2e_parity/lab_setup.rs"]
mod lab_setup;
#[path = "e2e_parity/mapping.rs"]
mod mapping;
#[path = "e2e_parity/replay.rs"]
mod replay;

use lab::Lab;
use lab_setup::{extend_lab, guard, outside_addresses, reload, remote_certificate};
use mapping::{Client, Parity, is_v6};
use parity_scenarios::*;
use replay::{RequestKey, Run, replay, request_key};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn misp_guard_scenarios_through_the_live_daemon_give_misp_guards_verdicts() {
    let started = Instant::now();
    let Some(mut lab) = Lab::new("parity") else {
        return;
    };
    let parity = Parity::load();
    extend_lab(&lab);
    remote_certificate(&lab, &parity);
    let listen: Vec<String> = outside_addresses()
        .iter()
        .map(|a| {
            if is_v6(a) {
                format!("[{a}]:443")
            } else {
                format!("{a}:443")
            }
        })
        .collect();
    let listen: Vec<&str> = listen.iter().map(String::as_str).collect();
    lab.start_remote(&listen, Some("parity"));
    let tmp = tempfile::tempdir().expect("temporary directory");

    // Every scenario and twin, labelled as tests/parity.rs labels them.
    let mut scenarios = 0;
    let mut runs: Vec<Run> = Vec::new();
    for (group, list) in all_groups() {
        scenarios += list.len();
        for (i, s) in list.iter().enumerate() {
            let label = format!("{group} #{} {}", i + 1, s.name);
            let mut main = s.clone();
            main.twins.clear();
            runs.push(Run {
                label: label.clone(),
                client: parity.client(&main),
                scenario: main,
            });
            for t in &s.twins {
                let twin = twin_scenario(s, t).unwrap_or_else(|e| panic!("[{label}] twin: {e}"));
                runs.push(Run {
                    label: format!("{label} / twin: {}", t.what),
                    client: parity.client(&twin),
                    scenario: twin,
                });
            }
        }
    }
    // Requests misp-guard lets through: those of every run it allows.
    let allowed_requests: HashSet<RequestKey> = runs
        .iter()
        .filter(|r| matches!(r.scenario.expect, Expect::Allow))
        .map(|r| request_key(&r.scenario))
        .collect();
    // One config per client, in order of first appearance.
    let mut clients: Vec<Client> = Vec::new();
    for r in &runs {
        if !clients.contains(&r.client) {
            clients.push(r.client.clone());
        }
    }
    let setup = started.elapsed();

    let mut failures = Vec::new();
    let (mut allowed, mut blocked) = (0, 0);
    for (n, client) in clients.iter().enumerate() {
        let config = parity.config_for(client);
        if n == 0 {
            lab.start_warden(&config);
        } else {
            reload(&lab, &config, n);
        }
        // Instances differ between clients: render the ruleset again, as an
        // operator does after changing them.
        guard(&lab);
        let group: Vec<&Run> = runs.iter().filter(|r| &r.client == client).collect();
        eprintln!("client {}: {} runs", client.label(), group.len());
        for run in group {
            match replay(&lab, &parity, run, &allowed_requests, tmp.path()) {
                Ok(o) if o.blocked => blocked += 1,
                Ok(_) => allowed += 1,
                Err(e) => failures.push(format!("[{}] ({}) {e}", run.label, client.label())),
            }
        }
    }
    eprintln!(
        "live parity: {scenarios} scenarios, {} runs ({allowed} allowed, {blocked} blocked), {} configs, {} disagreements; setup {:.1?}, total {:.1?}",
        runs.len(),
        clients.len(),
        failures.len(),
        setup,
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} runs: the live daemon does not give misp-guard's verdict:\n{}",
        failures.len(),
        runs.len(),
        failures.join("\n")
    );
}
