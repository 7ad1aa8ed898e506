//! The parent's run: the bodies generated and written, the sanity checks
//! that the rules are live, then memory and throughput for each row.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use misp_warden::config::Config;

use crate::deployment::{
    BLOCKED_SG_UUID, SG_UUID, build_config, decode_gzip, evaluate_allowed, evaluate_push,
};
use crate::die;
use crate::generator::{Generated, generate};
use crate::measure::{Memory, Throughput, Workload, measure_interleaved, measure_memory};
use crate::report::{print_json, print_table};

pub struct Row {
    pub label: String,
    pub body_bytes: usize,
    pub encoded_bytes: Option<usize>,
    pub attributes: usize,
    pub objects: usize,
    pub throughput: Throughput,
    pub memory: Option<Memory>,
}

fn write_file(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| die(&format!("write {}: {e}", path.display())));
}

pub fn parent(json: bool, seconds: u64) -> ExitCode {
    let config = build_config();
    let dir = tempfile::tempdir().unwrap_or_else(|e| die(&format!("temp dir: {e}")));
    let progress = |msg: &str| {
        if !json {
            eprint!("{msg}");
            let _ = std::io::stderr().flush();
        }
    };

    progress("generating events…");
    let events: Vec<(String, Generated)> = [(1usize, 1u64), (10, 10), (100, 100)]
        .into_iter()
        .map(|(mb, seed)| (format!("event {mb} MB"), generate(mb * 1_000_000, seed)))
        .collect();
    sanity_checks(&config, &events[0].1.body);
    let ten = &events[1].1;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&ten.body).expect("in memory");
    let gz = enc.finish().expect("in memory");
    if decode_gzip(&config, &gz).as_ref() != ten.body.as_slice() {
        die("gzip round trip changed the body");
    }
    for (label, g) in &events {
        evaluate_allowed(&config, &g.body, label);
    }

    progress(" peak memory (child processes)…");
    let mut memory = Vec::new();
    for (i, (_, g)) in events.iter().enumerate() {
        let path = dir.path().join(format!("event-{i}.json"));
        write_file(&path, &g.body);
        memory.push(measure_memory(&path, false));
    }
    let gz_path = dir.path().join("event-10MB.json.gz");
    write_file(&gz_path, &gz);
    let gz_memory = measure_memory(&gz_path, true);

    progress(&format!(" throughput (~{seconds} s)…"));
    let biggest = &events[2].1.body;
    let mut workloads: Vec<Workload> = events
        .iter()
        .map(|(label, g)| Workload::new(g.body.len(), || evaluate_allowed(&config, &g.body, label)))
        .collect();
    workloads.push(Workload::new(ten.body.len(), || {
        let decoded = decode_gzip(&config, &gz);
        evaluate_allowed(&config, &decoded, "10 MB gzip");
    }));
    // The floor for any serde_json-based check: the biggest body only
    // checked for well-formedness, no model built, no rule run.
    workloads.push(Workload::new(biggest.len(), || {
        if serde_json::from_slice::<serde::de::IgnoredAny>(biggest).is_err() {
            die("generated event is not JSON");
        }
    }));
    measure_interleaved(&mut workloads, Duration::from_secs(seconds));
    progress(" done\n");

    let mut rows: Vec<Row> = events
        .iter()
        .zip(memory)
        .zip(&workloads)
        .map(|(((label, g), memory), w)| Row {
            label: label.clone(),
            body_bytes: g.body.len(),
            encoded_bytes: None,
            attributes: g.attributes,
            objects: g.objects,
            throughput: w.result(),
            memory,
        })
        .collect();
    rows.push(Row {
        label: "event 10 MB, gzip".into(),
        body_bytes: ten.body.len(),
        encoded_bytes: Some(gz.len()),
        attributes: ten.attributes,
        objects: ten.objects,
        throughput: workloads[3].result(),
        memory: gz_memory,
    });
    let floor = workloads[4].result();

    if json {
        print_json(&rows, &floor);
    } else {
        print_table(&rows, &floor);
    }
    ExitCode::SUCCESS
}

/// The rules are live and reach every level: the 1 MB event with one value
/// changed (its last occurrence: the event's tags, the last attribute or
/// object, the last galaxy cluster, the last sharing group) is refused by
/// the rule that value breaks.
fn sanity_checks(config: &Config, body: &[u8]) {
    let text = std::str::from_utf8(body).expect("generated JSON is UTF-8");
    let sg_from = format!("\"uuid\":\"{SG_UUID}\"");
    let sg_to = format!("\"uuid\":\"{}\"", BLOCKED_SG_UUID.to_uppercase());
    // The last galaxy cluster's whole tag name, so that its value can be
    // swapped for a blocked one without adding a key MISP never sends.
    let cluster_tag = {
        let key = "\"tag_name\":\"";
        let Some(at) = text.rfind(key) else {
            die("sanity check: the 1 MB event has no galaxy cluster tag_name");
        };
        let value = &text[at + key.len()..];
        let end = value
            .char_indices()
            .find(|&(i, c)| c == '"' && !value[..i].ends_with('\\'))
            .map_or(value.len(), |(i, _)| i);
        format!("{key}{}\"", &value[..end])
    };
    for (from, to, rule) in [
        (
            sg_from.as_str(),
            sg_to.as_str(),
            "blocked_sharing_groups_uuids",
        ),
        (
            "\"distribution\":\"3\",\"sharing_group_id\":null",
            "\"distribution\":\"0\",\"sharing_group_id\":null",
            "blocked_distribution_levels",
        ),
        (
            cluster_tag.as_str(),
            "\"tag_name\":\"tlp:red\"",
            "blocked_tags",
        ),
        (
            "\"name\":\"tlp:green\"",
            "\"name\":\"TLP:RED\"",
            "blocked_tags",
        ),
        (
            "\"category\":\"Network activity\"",
            "\"category\":\"Internal reference\"",
            "blocked_attribute_categories",
        ),
        (
            "\"type\":\"sha256\"",
            "\"type\":\"malware-sample\"",
            "blocked_attribute_types",
        ),
        (
            "\"name\":\"domain-ip\"",
            "\"name\":\"bank-account\"",
            "blocked_object_types",
        ),
        (
            "\"distribution\":\"3\"",
            "\"distribution\":\"0\"",
            "blocked_distribution_levels",
        ),
    ] {
        let Some(at) = text.rfind(from) else {
            die(&format!("sanity check: the 1 MB event has no {from}"));
        };
        let poisoned = format!("{}{to}{}", &text[..at], &text[at + from.len()..]);
        match evaluate_push(config, poisoned.as_bytes()) {
            Err(b) if b.rule.id() == rule => {}
            other => die(&format!(
                "sanity check: replacing the last {from} by {to} should be refused by {rule}, got {other:?}"
            )),
        }
    }
}
