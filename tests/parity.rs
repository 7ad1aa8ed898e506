//! Verdict parity with misp-guard, through the real binary.
//!
//! Every pull (39) and push (68) scenario of misp-guard's scenario suite and
//! its non-feed unit tests are replayed with `misp-warden eval` against
//! `tests/fixtures/parity/config.json`, a config with the same structure as
//! misp-guard's test config (four compartments with the same `can_reach`
//! graph, six instances, one allowing the auth-key refresh, one requiring the
//! `tlp` taxonomy) but our own names and documentation addresses. The
//! fixtures are our own, written from MISP's JSON shapes.
//!
//! Instances, by their misp-guard counterparts:
//!
//! | ours      | misp-guard   | compartment | client IP       | host                    |
//! |-----------|--------------|-------------|-----------------|-------------------------|
//! | alpha_1   | instance_1_1 | zone_a (1)  | 192.0.2.11      | alpha1.zone-a.example   |
//! | alpha_2   | instance_1_2 | zone_a (1)  | 192.0.2.12      | alpha2.zone-a.example   |
//! | bravo_1   | instance_2_1 | zone_b (2)  | 198.51.100.21   | bravo1.zone-b.example   |
//! | bravo_2   | instance_2_2 | zone_b (2)  | 198.51.100.22   | bravo2.zone-b.example   |
//! | charlie_1 | instance_1_3 | zone_c (3)  | 203.0.113.31    | charlie1.zone-c.example |
//! | delta_1   | instance_1_4 | zone_d (4)  | 2001:db8::41    | delta1.zone-d.example   |
//!
//! Each scenario asserts the exit code (0 allow, 3 block) and that the
//! printed reason contains misp-guard's reason text. Where our wording is
//! known to differ while the verdict is the same, `WORDING_GAPS` (in
//! `tests/parity_scenarios/model.rs`) says how;
//! such a match is accepted and reported on stderr (`--nocapture`).
//!
//! Most blocked scenarios also run an *allowed twin*: the same exchange with
//! only the offending value changed (see [`fixture_twins`]), so a rule that
//! blocked everything would not pass. Where a fixture carries a second
//! problem behind the first (as misp-guard's do, to pin the order of the
//! checks), the twin expects that second reason.
//!
//! The scenarios themselves live in `tests/parity_scenarios/`, shared
//! with `tests/e2e_parity.rs`, which replays them through the live daemon.

mod parity_scenarios;

use parity_scenarios::*;

// ---------------------------------------------------------------------------
// Running

/// Runs every scenario of a group and its twins; fails once, listing every
/// scenario that did not give misp-guard's verdict.
fn replay(group: &str, scenarios: &[Scenario]) {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let mut failures = Vec::new();
    let mut runs = 0;
    for (i, s) in scenarios.iter().enumerate() {
        let label = format!("{group} #{} {}", i + 1, s.name);
        runs += 1;
        match check_eval(&s.expect, &run_eval(s, tmp.path())) {
            Ok(None) => {}
            Ok(Some(note)) => eprintln!("[{label}] known wording gap: {note}"),
            Err(e) => failures.push(format!("[{label}] {e}")),
        }
        for t in &s.twins {
            let label = format!("{label} / twin: {}", t.what);
            let twin = match twin_scenario(s, t) {
                Ok(twin) => twin,
                Err(e) => {
                    failures.push(format!("[{label}] bad twin: {e}"));
                    continue;
                }
            };
            runs += 1;
            match check_eval(&twin.expect, &run_eval(&twin, tmp.path())) {
                Ok(None) => {}
                Ok(Some(note)) => eprintln!("[{label}] known wording gap: {note}"),
                Err(e) => failures.push(format!("[{label}] {e}")),
            }
        }
    }
    eprintln!(
        "{group}: {} scenarios, {runs} runs, {} failures",
        scenarios.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of the {group} runs differ from misp-guard:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// misp-guard's pull scenarios (39)

#[test]
fn misp_guard_pull_scenarios() {
    let scenarios = pull_scenarios();
    assert_eq!(scenarios.len(), 39, "misp-guard has 39 pull scenarios");
    replay("pull", &scenarios);
}

// ---------------------------------------------------------------------------
// misp-guard's push scenarios (68)

#[test]
fn misp_guard_push_scenarios() {
    let scenarios = push_scenarios();
    assert_eq!(scenarios.len(), 68, "misp-guard has 68 push scenarios");
    replay("push", &scenarios);
}

// ---------------------------------------------------------------------------
// misp-guard's unit tests (feeds aside), and misp-guard 1.3's feed unit tests

#[test]
fn misp_guard_unit_tests() {
    replay("unit", &unit_scenarios());
}

#[test]
fn misp_guard_feed_tests() {
    replay("feed", &feed_scenarios());
}
