//! One run: what is expected (the table, not `eval`, which is only shown
//! beside a failure), and the replay of a group's runs through the daemon.

use super::*;
use mapping::host_port;

/// What `misp-warden eval` says of a scenario, in a line; shown beside a
/// failure only, never expected.
fn eval_says(s: &Scenario, tmp: &Path) -> String {
    let out = eval_command(s, tmp, true)
        .output()
        .expect("run misp-warden eval");
    format!(
        "{} (exit {:?})",
        String::from_utf8_lossy(&out.stdout).trim(),
        out.status.code()
    )
}

/// A request as the remote would receive it: method, path, client,
/// destination, body.
pub type RequestKey = (String, String, String, String, Vec<u8>);

pub fn request_key(s: &Scenario) -> RequestKey {
    (
        s.method.to_string(),
        s.path.clone(),
        s.from.to_string(),
        s.to.to_string(),
        s.body.as_ref().map(payload_bytes).unwrap_or_default(),
    )
}

fn show_expect(e: &Expect) -> String {
    match e {
        Expect::Allow => "allow".to_string(),
        Expect::Block(reasons) => format!("block: {}", reasons.join(" … ")),
    }
}

pub struct Run {
    pub label: String,
    pub scenario: Scenario,
    pub client: Client,
}

/// What one live run gave, for the report.
#[derive(Default)]
pub struct Outcome {
    pub blocked: bool,
}

/// The UUIDs in a text (the guard's messages name events by UUID).
fn uuids(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(35))
        .filter(|&i| {
            b[i..i + 36].iter().enumerate().all(|(j, c)| match j {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
        })
        .map(|i| &text[i..i + 36])
        .collect()
}

/// A distinctive piece of a response body: all of a short one, else the
/// first 32 bytes from its middle on that are in none of `avoid` (what the
/// guard may legitimately repeat: misp-guard's reason, the event UUIDs it
/// names, and the path).
fn needle<'a>(body: &'a [u8], avoid: &[&[u8]]) -> &'a [u8] {
    if body.len() <= 48 {
        return body;
    }
    let mid = body.len() / 2 - 16;
    (mid..body.len() - 32)
        .chain(0..mid)
        .map(|i| &body[i..i + 32])
        .find(|w| !avoid.iter().any(|a| contains(a, w)))
        .unwrap_or(&body[mid..mid + 32])
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s.into_owned()
    }
}

/// Replays one run live and compares it with misp-guard's verdict from the
/// table. `allowed_requests`: every request some run of the table expects
/// allowed. `Err` describes the disagreement, with eval's verdict and the
/// daemon's log lines of the run.
pub fn replay(
    lab: &Lab,
    parity: &Parity,
    run: &Run,
    allowed_requests: &HashSet<RequestKey>,
    tmp: &Path,
) -> Result<Outcome, String> {
    let s = &run.scenario;
    let expected = &s.expect;
    let (host, port) = host_port(s.to);
    let dest = parity.destination(host, run.client.v6());

    // What the remote answers this exchange with.
    let (status, served) = match &s.response {
        Some(p) => (200u16, payload_bytes(p)),
        None => (204, Vec::new()),
    };
    let headers: serde_json::Map<String, Value> = s
        .response_headers
        .iter()
        .map(|h| {
            let (k, v) = h.split_once(':').expect("Name: value");
            (k.trim().to_string(), json!(v.trim()))
        })
        .collect();
    let resolve = if is_v6(dest) {
        format!("{host}:{port}:[{dest}]")
    } else {
        format!("{host}:{port}:{dest}")
    };
    // The events this scenario's proposals, sightings or analyst data belong
    // to: a guard that has been running let each through before (the table
    // gives misp-guard's verdicts, which know no memory). Synced first, the
    // way MISP would have: pushed, or pulled through the same path.
    let seen = parity_scenarios::seen_events(s);
    let warm_event = |uuid: &str| {
        serde_json::to_vec(&json!({"Event": {"uuid": uuid, "info": "synced before",
            "distribution": "1", "published": true, "Tag": [{"name": "tlp:clear"}],
            "Attribute": [], "Object": []}}))
        .unwrap()
    };
    let view = |uuid: &str| format!("/events/view/{uuid}/deleted[]:0/deleted[]:1/excludeGalaxy:1");
    let mut routes = vec![json!({"method": s.method, "path": s.path, "status": status,
                 "headers": headers, "body_b64": lab::base64(&served)})];
    for uuid in &seen {
        routes.push(json!({"method": "GET", "path": view(uuid), "status": 200,
            "body_b64": lab::base64(&warm_event(uuid))}));
    }
    lab.set_routes(0, &Value::Array(routes));
    for uuid in &seen {
        let base = format!("https://{host}:{port}");
        let common = [
            "--http1.1",
            "--globoff",
            "--path-as-is",
            "--interface",
            run.client.address(),
            "--resolve",
            &resolve,
        ];
        let warm = if s.response.is_some() {
            lab.curl(&[&common[..], &[&format!("{base}{}", view(uuid))]].concat())
        } else {
            let file = tmp.join(format!("warm-{uuid}.json"));
            std::fs::write(&file, warm_event(uuid)).unwrap();
            let data = format!("@{}", file.display());
            let url = format!("{base}/events/add");
            lab.curl(
                &[
                    &common[..],
                    &[
                        "-H",
                        "Content-Type: application/json",
                        "--data-binary",
                        &data,
                        &url,
                    ],
                ]
                .concat(),
            )
        };
        if warm.status != 200 {
            return Err(format!(
                "warming the guard with event {uuid} failed: {} {}",
                warm.status,
                warm.text()
            ));
        }
    }

    let records_before = lab.records(0).len();
    let log_before = lab.warden_log().len();
    let url = format!("https://{host}:{port}{}", s.path);
    let body_file = s.body.as_ref().map(|b| payload_file(b, tmp));
    let data = body_file
        .as_ref()
        .map(|f| format!("@{}", f.to_str().unwrap()));
    let mut args: Vec<&str> = vec![
        "--http1.1",
        "--globoff",
        "--path-as-is",
        "--interface",
        run.client.address(),
        "--resolve",
        &resolve,
        "-H",
        "Expect:",
    ];
    match s.method {
        "HEAD" => args.push("--head"),
        "GET" => {}
        m => args.extend(["-X", m]),
    }
    if let Some(d) = &data {
        args.extend(["-H", "Content-Type: application/json", "--data-binary", d]);
    }
    args.push(&url);
    let c = lab.curl(&args);

    let records = lab.records(0);
    let new = &records[records_before.min(records.len())..];
    let log = lab.warden_log();
    let log_lines = log
        .get(log_before..)
        .unwrap_or_default()
        .trim_end()
        .to_string();
    let sent = s.body.as_ref().map(payload_bytes);
    let disagree = |what: String| {
        Err(format!(
            "{what}\n    misp-guard: {}\n    eval: {}\n    live: status {} (curl exit {}) {}{}\n    daemon log:\n      {}",
            show_expect(expected),
            eval_says(s, tmp),
            c.status,
            c.exit,
            show(&c.body),
            c.stderr.trim(),
            log_lines.replace('\n', "\n      ")
        ))
    };

    match expected {
        Expect::Allow => {
            if c.status != status {
                return disagree(format!(
                    "misp-guard allows, the daemon answered {}",
                    c.status
                ));
            }
            if s.method != "HEAD" && c.body != served {
                return disagree("the client did not get the remote's answer unchanged".into());
            }
            match new {
                [r] if r.method == s.method
                    && r.path == s.path
                    && r.body == sent.clone().unwrap_or_default() => {}
                _ => {
                    return disagree(format!(
                        "the remote should have received exactly this request, got {:?}",
                        new.iter()
                            .map(|r| format!("{} {} ({} bytes)", r.method, r.path, r.body.len()))
                            .collect::<Vec<_>>()
                    ));
                }
            }
            Ok(Outcome::default())
        }
        Expect::Block(wanted) => {
            let outcome = Outcome { blocked: true };
            if c.status != 403 {
                return disagree(format!(
                    "misp-guard blocks, the daemon answered {}",
                    c.status
                ));
            }
            let answer: Value = match serde_json::from_slice(&c.body) {
                Ok(v) => v,
                Err(e) => return disagree(format!("the 403 is not JSON: {e}")),
            };
            let message = answer["message"].as_str().unwrap_or_default();
            let shape = answer.as_object().is_some_and(|o| {
                o.len() == 3
                    && o.keys()
                        .all(|k| ["name", "message", "url"].contains(&k.as_str()))
            });
            if !shape || answer["name"] != "Forbidden" || !answer["url"].is_string() {
                return disagree(format!("the 403 is not MISP's error shape: {answer}"));
            }
            match reason_matches(wanted, message) {
                Ok(None) => {}
                Ok(Some(note)) => eprintln!("[{}] known wording gap: {note}", run.label),
                Err(e) => {
                    return disagree(format!(
                        "the 403's message does not say misp-guard's reason: {e}"
                    ));
                }
            }
            // The guard's own three fields are all the client got; the
            // response can only have leaked into the message.
            let mut own: Vec<&[u8]> = wanted.iter().map(|w| w.as_bytes()).collect();
            own.push(s.path.as_bytes());
            own.extend(uuids(message).into_iter().map(str::as_bytes));
            let needle = needle(&served, &own);
            if !served.is_empty() && contains(message.as_bytes(), needle) {
                return disagree("the blocked response body reached the client".into());
            }
            // Nothing blocked crosses.
            if let Some(sent) = &sent
                && new.iter().any(|r| &r.body == sent)
            {
                return disagree("the blocked body reached the remote".into());
            }
            // misp-guard judges the request before the response: a request
            // the table allows elsewhere passes, and this run is refused on
            // its response.
            let request_blocked =
                s.response.is_none() || !allowed_requests.contains(&request_key(s));
            if request_blocked && !new.is_empty() {
                return disagree(format!(
                    "blocked on the request, yet the remote received {} request(s)",
                    new.len()
                ));
            }
            let forwarded_once = matches!(new, [r] if r.method == s.method && r.path == s.path);
            if !request_blocked && !forwarded_once {
                return disagree(format!(
                    "blocked on the response: the request should have gone out once, the remote got {}",
                    new.len()
                ));
            }
            Ok(outcome)
        }
    }
}
