//! The closed-world family (issue 13), live, from the table
//! `tests/closed_world.rs` replays through `eval`
//! (`tests/parity_scenarios/closed_world/`): each refusal and each of its
//! harmless twins — MISP 2.5's own requests and answers — sent as MISP's
//! client sends it, the partner answering with the table's answer. A run
//! refused on its request carries its marker (`X-Case: BLOCKED-<n>`) and
//! none may reach the partner; a run refused on its answer must get the
//! client a 403 with MISP's JSON error naming the rule and nothing of the
//! answer; a twin must get the partner's answer byte for byte. Each run
//! has its own copies of the family's event uuids, and the events it needs
//! the daemon to remember are synced through it first, in its flow.

use super::*;
use answers::{contains, find_markers, lossy, statuses};
use corpus::{HOST, PARTNER, request};

/// One run of the closed-world table (`tests/parity_scenarios/
/// closed_world/`) as the lab sends it: every event uuid of the family
/// replaced by this run's own copy, so that what the daemon remembers of
/// one run cannot help another.
struct WorldRun {
    label: String,
    method: &'static str,
    path: String,
    body: Vec<u8>,
    /// What the remote answers (status, body), when the table has an answer.
    answer: Option<(u16, Vec<u8>)>,
    /// The answer's headers (`X-UserOrgUUID`).
    answer_headers: serde_json::Map<String, Value>,
    /// The table's verdict, its words with this run's uuids.
    expect: Option<Vec<String>>,
    /// Refused on the request (nothing may reach the remote: the request
    /// carries a marker) or on the answer (the request goes out once; not a
    /// byte of the answer reaches the client).
    on_request: bool,
    /// Events the daemon must have let through first, in this run's flow.
    seen: Vec<String>,
    /// `X-Case`: a marker (`BLOCKED-n`) for a request refused, else `run-n`.
    case: String,
}

/// `uuid`'s copy for run `n`: the same first 24 characters, then `n` and
/// the uuid's last digits (the same length, so no body changes size).
fn world_uuid(uuid: &str, n: usize) -> String {
    format!("{}{n:06x}{}", &uuid[..24], &uuid[30..])
}

fn world_text(text: &str, n: usize) -> String {
    parity_scenarios::closed_world::EVENT_UUIDS
        .iter()
        .fold(text.to_string(), |t, u| t.replace(u, &world_uuid(u, n)))
}

fn world_bytes(bytes: &[u8], n: usize) -> Vec<u8> {
    match std::str::from_utf8(bytes) {
        Ok(text) => world_text(text, n).into_bytes(),
        Err(_) => bytes.to_vec(),
    }
}

/// Every run of the table, in order, numbered from 1.
fn world_runs() -> Vec<WorldRun> {
    use parity_scenarios::{Expect as Verdict, Scenario, payload_bytes, twin_scenario};
    let mut table: Vec<(String, Scenario)> = Vec::new();
    for (group, list) in parity_scenarios::closed_world::closed_world_groups() {
        for s in list {
            let label = format!("{group}: {}", s.name);
            for t in &s.twins {
                let twin = twin_scenario(&s, t).unwrap_or_else(|e| panic!("{label}: {e}"));
                table.push((format!("{label} / twin: {}", t.what), twin));
            }
            let mut main = s.clone();
            main.twins.clear();
            table.insert(table.len() - s.twins.len(), (label, main));
        }
    }
    // A request the table allows somewhere is refused, where it is, on its
    // answer (as tests/e2e_parity.rs reads the table).
    let key = |s: &Scenario| {
        (
            s.method,
            s.path.clone(),
            s.body.as_ref().map(payload_bytes).unwrap_or_default(),
        )
    };
    let allowed: Vec<_> = table
        .iter()
        .filter(|(_, s)| matches!(s.expect, Verdict::Allow))
        .map(|(_, s)| key(s))
        .collect();
    let mut markers = 0;
    table
        .into_iter()
        .enumerate()
        .map(|(i, (label, s))| {
            let n = i + 1;
            let answer = s.response.as_ref().map(|p| {
                (
                    s.response_status.unwrap_or(200),
                    world_bytes(&payload_bytes(p), n),
                )
            });
            let expect = match &s.expect {
                Verdict::Allow => None,
                Verdict::Block(words) => Some(words.iter().map(|w| world_text(w, n)).collect()),
            };
            let on_request = expect.is_some() && (answer.is_none() || !allowed.contains(&key(&s)));
            let case = if on_request {
                markers += 1;
                format!("BLOCKED-{}", 2000 + markers)
            } else {
                format!("run-{n}")
            };
            let answer_headers = s
                .response_headers
                .iter()
                .map(|h| {
                    let (k, v) = h.split_once(':').expect("Name: value");
                    (k.trim().to_string(), json!(world_text(v.trim(), n)))
                })
                .collect();
            WorldRun {
                label,
                answer_headers,
                method: s.method,
                path: world_text(&s.path, n),
                body: world_bytes(&s.body.as_ref().map(payload_bytes).unwrap_or_default(), n),
                answer,
                expect,
                on_request,
                seen: parity_scenarios::seen_events(&s)
                    .iter()
                    .map(|u| world_uuid(u, n))
                    .collect(),
                case,
            }
        })
        .collect()
}

/// A request as MISP's client sends it (SST, AM:3459-3478), with the
/// run's `X-Case` header.
fn world_request(method: &str, path: &str, case: &str, body: &[u8]) -> Vec<u8> {
    let line = format!("{method} {path} HTTP/1.1");
    let case = format!("X-Case: {case}");
    let mut head = vec![
        line.as_str(),
        "Accept: application/json",
        "User-Agent: MISP 2.5.1",
        case.as_str(),
    ];
    if method == "POST" {
        head.push("Content-Type: application/json");
    }
    request(&head, body)
}

/// An event every rule of the lab's closed-world config lets through.
fn warm_event(uuid: &str) -> Vec<u8> {
    json!({"Event": {"uuid": uuid, "info": "warm-up", "date": "2024-09-01", "threat_level_id": "3",
        "analysis": "2", "published": true, "distribution": "1", "sharing_group_id": "0",
        "timestamp": "1725000000", "Tag": [{"name": "tlp:clear"}], "Attribute": [], "Object": []}})
    .to_string()
    .into_bytes()
}

/// The JSON strings of an answer long enough to recognise and not what
/// the guard may name in a refusal (uuids, the request path, the rule's
/// words): none may reach the client in a refusal.
fn distinctive_strings(body: &[u8], path: &str, words: &[String]) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        walk(&v, &mut all);
    }
    let is_uuid = |s: &str| {
        s.len() == 36
            && s.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    all.retain(|s| {
        s.len() >= 10
            && !is_uuid(s)
            && !path.contains(s.as_str())
            && !words.iter().any(|w| w.contains(s.as_str()))
    });
    all.sort();
    all.dedup();
    all
}

/// Whether the client got exactly what `r` expects: the remote's answer
/// unchanged (status and bytes) for a run the table allows, else one 403
/// with MISP's JSON error naming the rule, nothing of a refused answer in
/// it, then a closed connection.
fn judge_world(r: &WorldRun, got: &Value) -> Result<(), String> {
    let responses = got["responses"].as_array().cloned().unwrap_or_default();
    let trailing = lab::base64_decode(got["trailing_b64"].as_str().unwrap_or_default());
    if !trailing.is_empty() {
        return Err(format!(
            "bytes after the last response: {:?}",
            lossy(&trailing)
        ));
    }
    if responses.iter().any(|x| x["complete"] != true) {
        return Err("a response cut short".into());
    }
    if !matches!(got["end"].as_str(), Some("closed" | "reset" | "send")) {
        return Err(format!("the connection did not end ({})", got["end"]));
    }
    let [only] = responses.as_slice() else {
        return Err(format!(
            "{} responses, not one: {:?}",
            responses.len(),
            statuses(got)
        ));
    };
    let status = only["status"].as_u64().unwrap_or(0);
    let body = lab::base64_decode(only["body_b64"].as_str().unwrap_or_default());
    match &r.expect {
        None => {
            let (want, served) = r.answer.clone().unwrap_or((204, Vec::new()));
            if status != u64::from(want) {
                return Err(format!(
                    "allowed, yet answered {status}, not the remote's {want}: {}",
                    lossy(&body)
                ));
            }
            if body != served {
                return Err("the client did not get the remote's answer unchanged".into());
            }
        }
        Some(words) => {
            if status != 403 {
                return Err(format!(
                    "to be refused, yet answered {status}: {}",
                    lossy(&body)
                ));
            }
            let v: Value = serde_json::from_slice(&body)
                .map_err(|e| format!("the 403 is not JSON ({e}): {}", lossy(&body)))?;
            let shape = v.as_object().is_some_and(|o| {
                o.len() == 3
                    && ["name", "message", "url"]
                        .iter()
                        .all(|k| o.contains_key(*k))
            });
            if !shape || v["name"] != "Forbidden" {
                return Err(format!("the 403 is not MISP's JSON error: {v}"));
            }
            let message = v["message"].as_str().unwrap_or_default();
            if let Some(w) = words.iter().find(|w| !message.contains(w.as_str())) {
                return Err(format!("the refusal does not say {w:?}: {message}"));
            }
            if let Some((_, served)) = &r.answer {
                let text = lossy(&body);
                let distinctive = distinctive_strings(served, &r.path, words);
                // (A search for nothing would pass whatever leaked.)
                if distinctive.is_empty() && !r.on_request {
                    return Err("the refused answer has nothing to search the 403 for".into());
                }
                if let Some(s) = distinctive.into_iter().find(|s| text.contains(s.as_str())) {
                    return Err(format!(
                        "the refused answer reached the client ({s:?}): {text}"
                    ));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn the_closed_world_family_through_the_live_daemon() {
    use parity_scenarios::closed_world::view_path;
    let Some(mut lab) = Lab::new("world") else {
        return;
    };
    let partner = lab.start_remote(&["203.0.113.20:443"], Some("partner"));
    // Both sides judge by the rules of the parity config's delta_1, the
    // strictest (the tlp taxonomy required), which every twin satisfies.
    let mut c = config();
    for id in ["misp_internal", "misp_partner"] {
        let inst = &mut c["instances"][id];
        inst["taxonomies_rules"] = json!({"required_taxonomies": ["tlp"],
            "allowed_tags": {"tlp": ["tlp:clear", "tlp:white", "tlp:green"]},
            "blocked_tags": ["tlp:rainbow", "tlp:red"]});
        inst["blocked_sharing_groups_uuids"] = json!([parity_scenarios::closed_world::SG_BLOCKED]);
        inst["blocked_attribute_types"] = json!(["passport-number", "email"]);
        inst["blocked_attribute_categories"] = json!(["Person"]);
        inst["blocked_object_types"] = json!(["person"]);
    }
    lab.start_warden(&c);

    // The sequence: before each run, the events it needs the daemon to
    // remember, synced through it in the run's flow (pulled when the run
    // has an answer — the data flows from the partner — else pushed).
    let runs = world_runs();
    let mut routes = Vec::new();
    let mut sequence: Vec<(Option<usize>, Vec<u8>, String)> = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        for (k, uuid) in r.seen.iter().enumerate() {
            let case = format!("warm-{}-{k}", i + 1);
            let when = json!({"X-Case": case});
            if r.answer.is_some() {
                let path = view_path(uuid, "");
                routes.push(json!({"method": "GET", "path": path, "when_headers": when,
                    "status": 200, "body_b64": lab::base64(&warm_event(uuid))}));
                sequence.push((None, world_request("GET", &path, &case, b""), case));
            } else {
                routes.push(json!({"method": "POST", "path": PUSH, "when_headers": when,
                    "status": 204, "body_b64": ""}));
                sequence.push((
                    None,
                    world_request("POST", PUSH, &case, &warm_event(uuid)),
                    case,
                ));
            }
        }
        let (status, served) = r.answer.clone().unwrap_or((204, Vec::new()));
        routes.push(json!({"method": r.method, "path": r.path,
            "when_headers": {"X-Case": r.case}, "status": status,
            "headers": r.answer_headers, "body_b64": lab::base64(&served)}));
        sequence.push((
            Some(i),
            world_request(r.method, &r.path, &r.case, &r.body),
            r.case.clone(),
        ));
    }
    lab.set_routes(partner, &json!(routes));
    let spec: Vec<Value> = sequence
        .iter()
        .map(|(_, bytes, _)| {
            json!({"ip": PARTNER, "port": 443, "sni": HOST, "data_b64": lab::base64(bytes)})
        })
        .collect();
    let file = lab.dir().join("world.json");
    std::fs::write(&file, serde_json::to_vec(&spec).unwrap()).unwrap();
    let script = format!("{}/scripts/lab/raw_client.py", env!("CARGO_MANIFEST_DIR"));
    let out = lab
        .ns_cmd("in", "timeout")
        .args(["600", "python3", &script])
        .arg(lab.dir().join("warden-ca.pem"))
        .arg(&file)
        .output()
        .unwrap();
    let results: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("raw_client.py: {e}: {}", lossy(&out.stderr)));
    assert_eq!(results.len(), sequence.len());

    let records = lab.records(partner);
    let received = |case: &str| {
        records
            .iter()
            .filter(|rec| rec.header("X-Case") == Some(case))
            .count()
    };
    let mut failures = Vec::new();
    let (mut refused, mut passed) = (0, 0);
    for ((run, _, case), got) in sequence.iter().zip(&results) {
        let Some(i) = run else {
            // A warm-up: an event every rule lets through.
            let ok = matches!(statuses(got).as_slice(), [200] | [204]);
            if !ok {
                failures.push(format!("warm-up {case}: {got}"));
            }
            continue;
        };
        let r = &runs[*i];
        let mut verdict = judge_world(r, got);
        // Refused on its answer: the request itself went out, once.
        if verdict.is_ok() && r.expect.is_some() && !r.on_request && received(case) != 1 {
            verdict = Err(format!(
                "refused on the answer, yet the remote received the request {} times",
                received(case)
            ));
        }
        // Allowed: the request arrived once.
        if verdict.is_ok() && r.expect.is_none() && received(case) != 1 {
            verdict = Err(format!(
                "allowed, yet the remote received the request {} times",
                received(case)
            ));
        }
        eprintln!(
            "{:<100} {:<6} {:?}",
            r.label,
            if verdict.is_ok() { "ok" } else { "FAILED" },
            statuses(got)
        );
        match verdict {
            Ok(()) if r.expect.is_some() => refused += 1,
            Ok(()) => passed += 1,
            Err(why) => failures.push(format!(
                "{} ({} {}): {why}\n    got {got}",
                r.label, r.method, r.path
            )),
        }
    }
    eprintln!(
        "closed world live: {} runs ({refused} refused, {passed} passed as MISP sent them), {} warm-ups, {} failures",
        runs.len(),
        sequence.len() - runs.len(),
        failures.len()
    );

    // No request the guard refused reached the partner, in any byte.
    lab.stop_warden();
    let search = find_markers(&lab, &[partner]);
    for f in search["found"].as_array().unwrap() {
        failures.push(format!(
            "a refused request reached the partner: {} in {} ({})",
            f["marker"], f["where"], f["how"]
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of the closed-world runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The closed-world corpus itself, without a lab: every run has its own
/// event uuids, every refusal on the request a marker, every refusal on
/// the answer something to search the client's bytes for, every twin a
/// request with no marker.
#[test]
fn the_closed_world_corpus_is_well_formed() {
    let runs = world_runs();
    assert!(runs.len() > 150, "{} runs", runs.len());
    let mut labels = std::collections::HashSet::new();
    for r in &runs {
        assert!(labels.insert(r.label.clone()), "two runs {:?}", r.label);
        for u in parity_scenarios::closed_world::EVENT_UUIDS {
            let shown = |b: &[u8]| contains(b, u.as_bytes());
            assert!(
                !shown(r.path.as_bytes())
                    && !shown(&r.body)
                    && !r.answer.as_ref().is_some_and(|(_, a)| shown(a))
                    && !r.seen.iter().any(|s| s == u),
                "{}: the family's own uuid {u} left in",
                r.label
            );
        }
        match (&r.expect, r.on_request) {
            (Some(_), true) => assert!(r.case.starts_with("BLOCKED-"), "{}", r.label),
            (Some(words), false) => {
                let (_, served) = r.answer.as_ref().expect("refused on an answer it has");
                assert!(
                    !distinctive_strings(served, &r.path, words).is_empty(),
                    "{}: nothing to search the client's bytes for",
                    r.label
                );
                assert!(r.case.starts_with("run-"), "{}", r.label);
            }
            (None, _) => assert!(r.case.starts_with("run-"), "{}", r.label),
        }
    }
    let markers = runs
        .iter()
        .filter(|r| r.case.starts_with("BLOCKED-"))
        .count();
    let on_answer = runs
        .iter()
        .filter(|r| r.expect.is_some() && !r.on_request)
        .count();
    eprintln!(
        "closed-world corpus: {} runs, {markers} refused on the request, {on_answer} on the answer",
        runs.len()
    );
    assert!(markers > 0 && on_answer > 0);
}
