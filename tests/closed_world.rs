//! The closed world (issue 13), through the real binary: each class of the
//! issue replayed with `misp-warden eval` on the parity config, expecting
//! the verdict of the closed-world spec — a refusal naming the rule (and
//! the key, or the event, it is about) — and every refusal's harmless
//! twins passing: the exact requests and answers of MISP 2.5's own sync.
//! The scenarios and why each is what it is: `tests/parity_scenarios/
//! closed_world/`; the documents: `tests/fixtures/closed_world/`.
//!
//! Where misp-guard's verdict differs from ours, the run says so on stderr
//! (`--nocapture`), one line per difference, for the migration
//! guide (docs/migration.md): `[migration] <case>: misp-warden <verdict>; misp-guard
//! <verdict>`.

mod parity_scenarios;

use parity_scenarios::closed_world::*;
use parity_scenarios::*;

fn show(e: &Expect) -> String {
    let word = |w: &&str| {
        w.trim_start_matches("(rule ")
            .trim_end_matches(')')
            .to_string()
    };
    match e {
        Expect::Allow => "allows".into(),
        Expect::Block(w) if w.is_empty() => "refuses".into(),
        Expect::Block(w) => format!(
            "refuses ({})",
            w.iter().map(word).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Runs every scenario of a class and its twins through `eval`; fails
/// once, listing every run that did not give the spec's verdict.
fn replay(group: &str, scenarios: &[Scenario]) {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let mut failures = Vec::new();
    let mut runs = 0;
    assert!(!scenarios.is_empty(), "{group}: no scenarios");
    for (i, s) in scenarios.iter().enumerate() {
        let label = format!("{group} #{} {}", i + 1, s.name);
        // Every refusal has a harmless twin that must pass, and every twin
        // here is one.
        if matches!(s.expect, Expect::Block(_)) {
            assert!(
                s.twins.iter().any(|t| matches!(t.expect, Expect::Allow)),
                "[{label}] a refusal without a harmless twin"
            );
        }
        let mut all = vec![(label.clone(), s.clone())];
        for t in &s.twins {
            let twin = twin_scenario(s, t).unwrap_or_else(|e| panic!("[{label}] bad twin: {e}"));
            all.push((format!("{label} / twin: {}", t.what), twin));
        }
        for (label, run) in all {
            runs += 1;
            if let Some(mg) = &run.misp_guard {
                eprintln!(
                    "[migration] {label}: misp-warden {}; misp-guard {}",
                    show(&run.expect),
                    show(mg)
                );
            }
            match check_eval(&run.expect, &run_eval(&run, tmp.path())) {
                Ok(_) => {}
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
        "{} of the {group} runs differ from the closed-world spec:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn group(name: &str) -> Vec<Scenario> {
    closed_world_groups()
        .into_iter()
        .find(|(g, _)| *g == name)
        .unwrap_or_else(|| panic!("no group {name}"))
        .1
}

#[test]
fn class_1_filters_switched_off() {
    replay("1 filters switched off", &filters());
}

#[test]
fn class_2_sightings_pulls() {
    replay("2 sightings pulls", &sightings_pulls());
}

#[test]
fn class_3_correlations_in_views() {
    replay("3 correlations in views", &correlations());
}

#[test]
fn class_4_galaxy_cluster_extras() {
    replay("4 galaxy cluster extras", &cluster_extras());
}

#[test]
fn class_5_reference_copies() {
    replay("5 reference copies", &reference_copies());
}

#[test]
fn class_6_required_taxonomy() {
    replay("6 required taxonomy", &required_taxonomy());
}

#[test]
fn class_7_event_targets_and_analyst_data_of_events() {
    replay(
        "7 event targets and analyst data of events",
        &event_targets(),
    );
}

#[test]
fn event_keys_misp_s_sync_never_sends() {
    replay(
        "event keys MISP's sync never sends",
        &group("event keys MISP's sync never sends"),
    );
}

#[test]
fn endpoints_proposals_sightings_push_answers() {
    replay(
        "endpoints, proposals, sightings, push answers",
        &endpoints_and_answers(),
    );
}

/// The documents the twins send are what MISP sends: JSON, and every event
/// uuid of the family in them is one of the family's (so the live corpus
/// can give each run its own copies).
#[test]
fn the_family_is_whole() {
    let groups = closed_world_groups();
    assert_eq!(groups.len(), 9, "seven classes and two more groups");
    let mut refusals = 0;
    let mut twins = 0;
    for (g, list) in &groups {
        for s in list {
            assert!(
                matches!(s.expect, Expect::Block(_)),
                "[{g}] {}: the scenarios are refusals, the twins pass",
                s.name
            );
            assert!(
                s.seen.is_some(),
                "[{g}] {}: says what the guard remembers (none by default)",
                s.name
            );
            refusals += 1;
            twins += s.twins.len();
            for p in [&s.body, &s.response].into_iter().flatten() {
                let bytes = payload_bytes(p);
                if !bytes.is_empty() {
                    let text = String::from_utf8(bytes).expect("UTF-8");
                    // Duplicate keys are written as text on purpose; the
                    // rest must be JSON.
                    if !text.contains(r#""minimal": 0, "published": 1, "minimal": 1"#)
                        && !text.contains(r#""minimal": 1, "published": 1, "minimal": 0"#)
                        && !text.contains(r#""minimal": 0, "custom": 1, "minimal": 1"#)
                    {
                        serde_json::from_str::<serde_json::Value>(&text)
                            .unwrap_or_else(|e| panic!("[{g}] {}: {e}", s.name));
                    }
                }
            }
        }
    }
    eprintln!("closed world: {refusals} refusals, {twins} twins");
    assert!(refusals >= 60, "{refusals} refusals");
}
