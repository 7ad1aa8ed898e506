//! The bypass corpus: tricks a sender could try to get a blocked event past
//! the guard, each sent byte for byte through the live daemon in the
//! namespace lab (`scripts/lab/raw_client.py` writes the bytes as they are;
//! `scripts/lab/h2_client.py` speaks HTTP/2 frame by frame).
//!
//! Every blocked case carries a marker (`BLOCKED-<n>`) in its event. A case
//! passes only on the refusal it expects, read from every byte the client
//! got back (kept when the connection is reset afterwards): a 403 with
//! MISP's JSON error and then a closed connection, or, where the HTTP
//! parser refuses the bytes before any request exists, exactly its status
//! and a closed connection. No answer at all is a failure, not a refusal.
//! The corpus passes when, at the end, no byte any remote received on any
//! connection — parsed or not (`remote_misp.py --capture`) — holds a
//! marker, searched raw and decoded by `scripts/lab/find_markers.py`, a
//! decoder of its own (Python's zlib, brotli, zstandard), never the
//! guard's. A control sent straight to a remote of its own, with broken
//! framing and hidden encodings, proves the search finds what it looks for.
//! A few harmless variants (no SNI, a compressed clean event) are twins
//! that must pass as their plain form does.
//!
//! The closed-world family (issue 13) runs here too, from the table
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
//!
//! Needs root; skips otherwise.

mod lab;
mod parity_scenarios;

use lab::Lab;
use lab::misp::{PUSH, brotli, config, deflate, gzip, zstd};
use serde_json::{Value, json};
use std::io::Write;

const HOST: &str = "misp.partner.example";
const PARTNER: &str = "203.0.113.20";
const UUID: &str = "5f1c3a2e-1111-4222-8333-444455556666";

/// An event blocked by its tag, carrying `BLOCKED-n` — or, for `n` = 0, an
/// allowed event (tag tlp:green, no marker).
fn event_text(n: usize) -> String {
    let (tag, value) = if n == 0 {
        ("tlp:green".to_string(), "allowed value".to_string())
    } else {
        ("tlp:red".to_string(), format!("BLOCKED-{n}"))
    };
    json!({"Event": {"uuid": UUID, "info": "bypass corpus", "distribution": "1", "published": true,
        "Tag": [{"name": tag}],
        "Attribute": [{"type": "comment", "category": "Other", "value": value, "distribution": "5"}]}})
    .to_string()
}

/// An event blocked only by what `body` says, with `BLOCKED-n` in it.
/// `body` is the JSON text of the `Event` object's members after `uuid`.
fn raw_event(n: usize, members: &str) -> String {
    format!(
        r#"{{"Event": {{"uuid": "{UUID}", "info": "BLOCKED-{n}", "published": true, {members}}}}}"#
    )
}

/// An HTTP/1.1 request: `head` lines (request line first, no Host unless
/// given), then Host and Content-Length unless `head` has them, then the
/// body.
fn request(head: &[&str], body: &[u8]) -> Vec<u8> {
    let mut text = String::new();
    let has = |name: &str| {
        head.iter()
            .any(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
    };
    for line in head {
        text.push_str(line);
        text.push_str("\r\n");
    }
    if !has("host") {
        text.push_str(&format!("Host: {HOST}\r\n"));
    }
    if !has("content-length") && !has("transfer-encoding") && !body.is_empty() {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if !has("connection") {
        text.push_str("Connection: close\r\n");
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A JSON push of `body` with extra header lines.
fn push(extra: &[&str], body: &[u8]) -> Vec<u8> {
    let line = format!("POST {PUSH} HTTP/1.1");
    let mut head = vec![line.as_str(), "Content-Type: application/json"];
    head.extend_from_slice(extra);
    request(&head, body)
}

fn push_to(target: &str, body: &[u8]) -> Vec<u8> {
    let line = format!("POST {target} HTTP/1.1");
    request(&[&line, "Content-Type: application/json"], body)
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Expect {
    /// Refused by the guard: exactly one final response, a 403 with MISP's
    /// JSON error (`application/json`, `{"name": "Forbidden", "message",
    /// "url"}`; for HEAD, the header without a body), then the connection
    /// closed (every case asks for that). An interim `100 Continue` may come
    /// first only when the request asked for it.
    Forbidden,
    /// A length given two ways (RFC 9112 §6.3): exactly one final
    /// response, a 400 with MISP's JSON error (`"name": "Bad Request"`),
    /// then the connection closed whatever the request asked.
    Ambiguous,
    /// Refused by the HTTP parser: the bytes never became a request, so
    /// nothing was judged or forwarded. Exactly one response with this
    /// status (4xx) and no body, then the connection closed.
    Unparsable(u16),
    /// Exactly these final statuses, in order, then closed; every 403
    /// carries MISP's JSON error.
    Statuses(&'static [u16]),
}

struct Case {
    name: String,
    ip: &'static str,
    sni: Option<&'static str>,
    bytes: Vec<u8>,
    expect: Expect,
}

fn case(name: &str, bytes: Vec<u8>) -> Case {
    Case {
        name: name.into(),
        ip: PARTNER,
        sni: Some(HOST),
        bytes,
        expect: Expect::Forbidden,
    }
}

/// A case the HTTP parser refuses with `status` before any request exists.
fn unparsable(name: &str, bytes: Vec<u8>, status: u16) -> Case {
    Case {
        expect: Expect::Unparsable(status),
        ..case(name, bytes)
    }
}

fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    let blocked = |n: usize| event_text(n).into_bytes();
    let allowed = event_text(0).into_bytes();

    // Encodings.
    for (name, coding, encode) in [
        ("gzip", "gzip", gzip as fn(&[u8]) -> Vec<u8>),
        ("deflate", "deflate", deflate),
        ("br", "br", brotli),
        ("zstd", "zstd", zstd),
        ("case GZIP", "GZIP", gzip),
        ("spaces around", "  gzip  ", gzip),
        ("x-gzip", "x-gzip", gzip),
    ] {
        let ce = format!("Content-Encoding: {coding}");
        cases.push(case(
            &format!("encoding {name}"),
            push(&[&ce], &encode(&blocked(next()))),
        ));
    }
    cases.push(case(
        "encoding stacked gzip, br",
        push(
            &["Content-Encoding: gzip, br"],
            &brotli(&gzip(&blocked(next()))),
        ),
    ));
    cases.push(case(
        "encoding unknown",
        push(&["Content-Encoding: compress"], &blocked(next())),
    ));
    cases.push(case(
        "encoding declared, body plain",
        push(&["Content-Encoding: gzip"], &blocked(next())),
    ));
    cases.push(case(
        "encoding in two headers, body encoded once",
        push(
            &["Content-Encoding: gzip", "Content-Encoding: br"],
            &gzip(&blocked(next())),
        ),
    ));
    cases.push(case(
        "encoding named in Connection (would be dropped on the way)",
        push(
            &[
                "Content-Encoding: gzip",
                "Connection: close, Content-Encoding",
            ],
            &gzip(&blocked(next())),
        ),
    ));
    let mut twin = case(
        "twin: a clean event, gzip",
        push(&["Content-Encoding: gzip"], &gzip(&allowed)),
    );
    twin.expect = Expect::Statuses(&[200]);
    cases.push(twin);

    // Framing.
    let body = blocked(next());
    let mut chunked = Vec::new();
    for (i, piece) in body.chunks(50).enumerate() {
        chunked.extend(format!("{:x};ext{i}=\"v\"\r\n", piece.len()).bytes());
        chunked.extend_from_slice(piece);
        chunked.extend(b"\r\n");
    }
    chunked.extend(b"0\r\nX-Trailer: t\r\nContent-Type: text/plain\r\n\r\n");
    cases.push(case(
        "chunked with extensions and trailers",
        push(&["Transfer-Encoding: chunked"], &chunked),
    ));
    let body = blocked(next());
    let mut te = format!("{:x}\r\n", body.len()).into_bytes();
    te.extend_from_slice(&body);
    te.extend(b"\r\n0\r\n\r\n");
    // Refused before the body is read: 400 JSON, connection closed.
    cases.push(Case {
        expect: Expect::Ambiguous,
        ..case(
            "Content-Length with Transfer-Encoding",
            push(&["Content-Length: 5", "Transfer-Encoding: chunked"], &te),
        )
    });
    // The same with the lengths in the other order, and on a kept-alive
    // connection: the framing watch sees what hyper drops.
    let te2 = te.clone();
    let mut keep = push(
        &[
            "Transfer-Encoding: chunked",
            "Content-Length: 5",
            "Connection: keep-alive",
        ],
        &te2,
    );
    keep.extend(push(&[], &blocked(next())));
    cases.push(Case {
        expect: Expect::Ambiguous,
        ..case("Transfer-Encoding, then Content-Length, kept alive", keep)
    });
    let body = blocked(next());
    let two = [
        format!("Content-Length: {}", body.len()),
        "Content-Length: 10".into(),
    ];
    cases.push(unparsable(
        "two differing Content-Lengths",
        push(&[&two[0], &two[1]], &body),
        400,
    ));
    let mut pipelined = push(&["Connection: keep-alive"], &allowed);
    pipelined.extend(push(&[], &blocked(next())));
    let mut pipe = case("pipelined: allowed, then blocked", pipelined);
    pipe.expect = Expect::Statuses(&[200, 403]);
    cases.push(pipe);
    cases.push(case(
        "Expect: 100-continue, body sent anyway",
        push(&["Expect: 100-continue"], &blocked(next())),
    ));
    let line = format!("POST {PUSH} HTTP/1.0");
    cases.push(case(
        "HTTP/1.0",
        request(&[&line, "Content-Type: application/json"], &blocked(next())),
    ));
    let line = format!("POST https://{HOST}{PUSH} HTTP/1.1");
    cases.push(case(
        "absolute-form target",
        request(&[&line, "Content-Type: application/json"], &blocked(next())),
    ));
    let big = format!("X-Big: {}", "a".repeat(100_000));
    cases.push(unparsable(
        "oversized header",
        push(&[&big], &blocked(next())),
        431,
    ));
    cases.push(unparsable(
        "space before the colon",
        request(
            &[
                &format!("POST {PUSH} HTTP/1.1"),
                "Content-Type : application/json",
            ],
            &blocked(next()),
        ),
        400,
    ));
    cases.push(unparsable(
        "control byte in a header name",
        push(&["X-Odd\u{7f}: 1"], &blocked(next())),
        400,
    ));
    cases.push(case(
        "method override header",
        push(&["X-HTTP-Method-Override: GET"], &blocked(next())),
    ));

    // JSON.
    let plain = r#""distribution": "1", "Tag": [{"name": "tlp:green"}], "Attribute": []"#;
    for (name, members) in [
        ("duplicate key in Event", r#""distribution": "1", "distribution": "0", "Tag": []"#.to_string()),
        (
            "duplicate key in a tag",
            r#""distribution": "1", "Tag": [{"name": "tlp:green", "name": "tlp:red"}]"#.into(),
        ),
        (
            "duplicate key in an attribute",
            r#""distribution": "1", "Attribute": [{"type": "comment", "type": "passport-number", "category": "Other", "value": "x"}]"#.into(),
        ),
        ("distribution \"0\"", r#""distribution": "0""#.into()),
        ("distribution 0", r#""distribution": 0"#.into()),
        ("distribution 0.0", r#""distribution": 0.0"#.into()),
        ("distribution \"00\"", r#""distribution": "00""#.into()),
        ("distribution \" 0\"", r#""distribution": " 0""#.into()),
        ("distribution 1e400", r#""distribution": 1e400"#.into()),
        ("unicode escape in a tag", r#""distribution": "1", "Tag": [{"name": "tlp:\u0072ed"}]"#.into()),
        ("tag in upper case", r#""distribution": "1", "Tag": [{"name": "TLP:RED"}]"#.into()),
        ("fullwidth tag", "\"distribution\": \"1\", \"Tag\": [{\"name\": \"ｔｌｐ:ｒｅｄ\"}]".into()),
        (
            "escaped attribute type",
            r#""distribution": "1", "Attribute": [{"type": "passport\u002dnumber", "category": "Other", "value": "x"}]"#.into(),
        ),
        (
            "object name in other case",
            r#""distribution": "1", "Object": [{"name": "Person", "Attribute": []}]"#.into(),
        ),
        (
            "object name escaped",
            r#""distribution": "1", "Object": [{"name": "\u0070erson", "Attribute": []}]"#.into(),
        ),
        ("Tag as an object, not a list", r#""distribution": "1", "Tag": {"name": "tlp:red"}"#.into()),
        (
            "deep nesting",
            format!(r#""distribution": "0", "x": {}1{}"#, "[".repeat(5000), "]".repeat(5000)),
        ),
    ] {
        let n = next();
        cases.push(case(&format!("json: {name}"), push(&[], raw_event(n, &members).as_bytes())));
    }
    let n = next();
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(blocked(n));
    cases.push(case("json: UTF-8 BOM", push(&[], &bom)));
    let n = next();
    cases.push(case(
        "json: event wrapped in an array",
        push(&[], format!("[{}]", event_text(n)).as_bytes()),
    ));
    let n = next();
    cases.push(case(
        "json: Event as an array",
        push(
            &[],
            format!(
                r#"{{"Event": [{}]}}"#,
                &event_text(n)[9..event_text(n).len() - 1]
            )
            .as_bytes(),
        ),
    ));
    let n = next();
    cases.push(case(
        "json: clean Event, blocked one in `response`",
        push(
            &[],
            format!(
                r#"{{"Event": {{"uuid": "{UUID}", {plain}}}, "response": {}}}"#,
                event_text(n)
            )
            .as_bytes(),
        ),
    ));

    // Paths and methods.
    for target in [
        "/Events/add/metadata:1",
        "//events/add/metadata:1",
        "/./events/add/metadata:1",
        "/events/../events/add/metadata:1",
        "/events%2Fadd/metadata:1",
        "/%65vents/add/metadata:1",
        "/events/add/metadata:1/",
        "/events/add/metadata:1;x=1",
        "/events/add/metadata:1?x=1",
        "/events/edit/5f1c3a2e-1111-4222-8333-444455556666/metadata:1?",
    ] {
        cases.push(case(
            &format!("path {target}"),
            push_to(target, &blocked(next())),
        ));
    }
    for method in ["HEAD", "OPTIONS", "TRACE", "PUT", "PATCH", "DELETE"] {
        let line = format!("{method} {PUSH} HTTP/1.1");
        cases.push(case(
            &format!("method {method} on a push endpoint"),
            request(&[&line, "Content-Type: application/json"], &blocked(next())),
        ));
    }

    // Naming.
    let mut c = case(
        "Host differs from SNI",
        push(&["Host: misp.rogue.example"], &blocked(next())),
    );
    c.sni = Some(HOST);
    cases.push(c);
    let mut c = case(
        "SNI an allowlisted domain, address an instance",
        push(&["Host: updates.example"], &blocked(next())),
    );
    c.sni = Some("updates.example");
    cases.push(c);
    let mut c = case(
        "SNI an instance, address another host",
        push(&[], &blocked(next())),
    );
    c.ip = "203.0.113.30";
    cases.push(c);
    let mut c = case("no SNI", push(&[], &blocked(next())));
    c.sni = None;
    cases.push(c);
    let mut c = case("twin: no SNI, clean event", push(&[], &allowed));
    c.sni = None;
    c.expect = Expect::Statuses(&[200]);
    cases.push(c);
    cases
}

/// The statuses of every response `raw_client.py` parsed, in order.
fn statuses(r: &Value) -> Vec<u64> {
    r["responses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| x["status"].as_u64().unwrap_or(0))
        .collect()
}

/// Whether `body` is MISP's JSON error for a refusal: `{"name":
/// "Forbidden", "message": non-empty, "url"}`.
fn misp_error(body: &[u8]) -> Result<(), String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the 403's body is not JSON ({e}): {:?}", lossy(body)))?;
    let message = v["message"].as_str().unwrap_or_default();
    if v["name"] != "Forbidden" || message.is_empty() || !v["url"].is_string() {
        return Err(format!("the 403's body is not MISP's JSON error: {v}"));
    }
    Ok(())
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether what the client got back (`raw_client.py`'s report) is exactly
/// the refusal, or the answer, `c` expects.
fn judge(c: &Case, r: &Value) -> Result<(), String> {
    let responses = r["responses"].as_array().cloned().unwrap_or_default();
    let trailing = lab::base64_decode(r["trailing_b64"].as_str().unwrap_or_default());
    if !trailing.is_empty() {
        return Err(format!(
            "bytes after the last response that are no response: {:?}",
            lossy(&trailing)
        ));
    }
    if let Some(cut) = responses.iter().find(|x| x["complete"] != true) {
        return Err(format!("a response cut short: {cut}"));
    }
    // The refusal is the end of the exchange: every case asks for `close`.
    let end = r["end"].as_str().unwrap_or_default();
    if !matches!(end, "closed" | "reset" | "send") {
        return Err(format!(
            "the connection did not end after the answer ({end})"
        ));
    }
    let (interim, finals): (Vec<&Value>, Vec<&Value>) = responses
        .iter()
        .partition(|x| x["status"].as_u64().unwrap_or(0) < 200);
    let asked = contains(&c.bytes.to_ascii_lowercase(), b"\r\nexpect: 100-continue");
    let interim_ok = interim.is_empty()
        || (asked
            && interim.len() == 1
            && interim[0]["status"] == 100
            && responses[0]["status"] == 100);
    if !interim_ok {
        return Err("an interim response that was not asked for".into());
    }
    let finals: Vec<(u64, &Value)> = finals
        .into_iter()
        .map(|x| (x["status"].as_u64().unwrap_or(0), x))
        .collect();
    let want: Vec<u64> = match c.expect {
        Expect::Forbidden => vec![403],
        Expect::Ambiguous => vec![400],
        Expect::Unparsable(status) => vec![u64::from(status)],
        Expect::Statuses(want) => want.iter().map(|&s| u64::from(s)).collect(),
    };
    let got: Vec<u64> = finals.iter().map(|(s, _)| *s).collect();
    if got != want {
        return Err(if got.is_empty() {
            "no answer at all".to_string()
        } else {
            format!("final statuses {got:?}, not {want:?}")
        });
    }
    for (i, (status, x)) in finals.iter().enumerate() {
        let body = lab::base64_decode(x["body_b64"].as_str().unwrap_or_default());
        let header = |name: &str| {
            x["headers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|h| h[0].as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
                .and_then(|h| h[1].as_str())
                .map(str::to_string)
        };
        match (c.expect, status) {
            (Expect::Unparsable(_), _) if !body.is_empty() => {
                return Err(format!(
                    "the parser's refusal has a body: {:?}",
                    lossy(&body)
                ));
            }
            (Expect::Ambiguous, 400) => {
                if header("content-type").as_deref() != Some("application/json") {
                    return Err(format!("a 400 that is not JSON: {x}"));
                }
                let v: Value = serde_json::from_slice(&body)
                    .map_err(|e| format!("the 400's body is not JSON ({e})"))?;
                if v["name"] != "Bad Request" || !v["message"].is_string() {
                    return Err(format!("the 400's body is not MISP's JSON error: {v}"));
                }
            }
            (_, 403) => {
                if header("content-type").as_deref() != Some("application/json") {
                    return Err(format!("a 403 that is not JSON: {x}"));
                }
                // The only response to a HEAD is the first one, bodiless.
                if i == 0 && c.bytes.starts_with(b"HEAD ") {
                    if !body.is_empty() {
                        return Err("a body in the answer to HEAD".into());
                    }
                } else {
                    misp_error(&body)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `scripts/lab/find_markers.py` over every byte and every record of
/// `remotes`: its report, `{"connections", "bytes", "records", "found"}`.
fn find_markers(lab: &Lab, remotes: &[usize]) -> Value {
    let python = format!("{}/.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    let script = format!("{}/scripts/lab/find_markers.py", env!("CARGO_MANIFEST_DIR"));
    assert!(
        std::path::Path::new(&python).exists(),
        "{python} is missing: run scripts/test.sh once (it creates .venv with brotli and zstandard)"
    );
    let mut cmd = std::process::Command::new("timeout");
    cmd.args(["300", &python, &script]);
    for &r in remotes {
        cmd.arg("--capture").arg(lab.capture_dir(r));
        cmd.arg("--record").arg(lab.record_file(r));
    }
    let out = cmd.output().expect("run find_markers.py");
    assert!(
        out.status.success(),
        "find_markers.py failed: {}",
        lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("find_markers.py: {e}: {}", lossy(&out.stderr)))
}

#[test]
fn no_trick_in_the_corpus_gets_a_blocked_event_past_the_guard() {
    let Some(mut lab) = Lab::new("bypass") else {
        return;
    };
    let partner = lab.start_remote(&["203.0.113.20:443"], Some("partner"));
    let elsewhere = lab.start_remote(&["203.0.113.30:443"], Some("partner"));
    let mut c = config();
    c["allowlist"]["domains"] = json!(["updates.example"]);
    let internal = &mut c["instances"]["misp_internal"];
    internal["blocked_attribute_types"] = json!(["passport-number"]);
    internal["blocked_object_types"] = json!(["person"]);
    lab.start_warden(&c);

    let cases = corpus();
    let spec: Vec<Value> = cases
        .iter()
        .map(|c| json!({"ip": c.ip, "port": 443, "sni": c.sni, "data_b64": lab::base64(&c.bytes)}))
        .collect();
    let file = lab.dir().join("cases.json");
    std::fs::write(&file, serde_json::to_vec(&spec).unwrap()).unwrap();
    let ca = lab.dir().join("warden-ca.pem");
    let script = format!("{}/scripts/lab/raw_client.py", env!("CARGO_MANIFEST_DIR"));
    let out = lab
        .ns_cmd("in", "timeout")
        .args(["300", "python3", &script])
        .arg(&ca)
        .arg(&file)
        .output()
        .unwrap();
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "raw_client.py: {e}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(results.len(), cases.len());

    let mut failures = Vec::new();
    for (c, r) in cases.iter().zip(&results) {
        let verdict = judge(c, r);
        eprintln!(
            "{:<60} {:<8} {:?} {}",
            c.name,
            if verdict.is_ok() { "ok" } else { "FAILED" },
            statuses(r),
            r["end"]
        );
        if let Err(why) = verdict {
            failures.push(format!(
                "{}: expected {:?}: {why}\n    got {r}",
                c.name, c.expect
            ));
        }
    }

    // An IP literal as SNI (Python will not send one; openssl will).
    let request = push(&[], &event_text(900).into_bytes());
    let mut openssl = lab
        .ns_cmd("in", "timeout")
        .args([
            "20",
            "openssl",
            "s_client",
            "-quiet",
            "-connect",
            "203.0.113.20:443",
        ])
        .args(["-servername", "203.0.113.20", "-CAfile"])
        .arg(&ca)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    openssl.stdin.take().unwrap().write_all(&request).unwrap();
    let answer = String::from_utf8_lossy(&openssl.wait_with_output().unwrap().stdout).into_owned();
    eprintln!("IP-literal SNI: {}", answer.lines().next().unwrap_or(""));
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    if !head.starts_with("HTTP/1.1 403 ")
        || !head
            .to_ascii_lowercase()
            .contains("\r\ncontent-type: application/json")
        || misp_error(body.as_bytes()).is_err()
    {
        failures.push(format!(
            "IP-literal SNI: expected a 403 with MISP's JSON error, got {answer:?}"
        ));
    }

    // HTTP/2, frame by frame.
    let h2 = |args: &[&str]| -> Value {
        let python = format!("{}/.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
        let script = format!("{}/scripts/lab/h2_client.py", env!("CARGO_MANIFEST_DIR"));
        let out = lab
            .ns_cmd("in", "timeout")
            .args(["60", &python, &script])
            .arg(&ca)
            .args(args)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "h2_client.py {args:?}: {e}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    };
    let allowed_file = lab.dir().join("allowed.json");
    let blocked_file = lab.dir().join("blocked.json");
    std::fs::write(&allowed_file, event_text(0)).unwrap();
    std::fs::write(&blocked_file, event_text(901)).unwrap();
    let (a, b) = (
        allowed_file.to_str().unwrap(),
        blocked_file.to_str().unwrap(),
    );
    let streams = h2(&["streams", a, b]);
    eprintln!("h2 streams: {streams}");
    let refusal = &streams["streams"][1];
    let json_403 = refusal["content_type"] == "application/json"
        && misp_error(&lab::base64_decode(
            refusal["body_b64"].as_str().unwrap_or(""),
        ))
        .is_ok();
    if streams["statuses"] != json!([200, 403, 200]) || !json_403 {
        failures.push(format!(
            "h2 streams: expected 200, 403 (MISP's JSON error), 200: {streams}"
        ));
    }
    let flood = h2(&["continuation-flood"]);
    eprintln!("h2 CONTINUATION flood: {flood}");
    if flood["continuations_sent"].as_u64().unwrap() >= 2000 {
        failures.push(format!("a CONTINUATION flood was not stopped: {flood}"));
    }
    let reset = h2(&["reset-mid-body", b]);
    eprintln!("h2 reset mid-body: {reset}");
    if reset["after_reset"] != 200 {
        failures.push(format!(
            "the connection did not survive a stream reset: {reset}"
        ));
    }
    // The daemon is still there and still judging.
    let c = lab::misp::push(
        &lab,
        &format!("https://{HOST}{PUSH}"),
        &event_text(0).into_bytes(),
        &[],
    );
    if c.status != 200 {
        failures.push(format!("after the corpus an allowed push got {}", c.status));
    }

    // Whatever arrived, on any connection, parsed or not: never a marker,
    // searched raw and decoded by a decoder of the test's own. The daemon is
    // stopped first, so that every upstream connection is closed and every
    // byte it sent was read (and drained) by the remotes.
    lab.stop_warden();
    let search = find_markers(&lab, &[partner, elsewhere]);
    eprintln!(
        "searched {} connections, {} bytes, {} records",
        search["connections"], search["bytes"], search["records"]
    );
    assert!(
        search["connections"].as_u64().unwrap_or(0) > 0,
        "the partner received nothing at all: the allowed twins should have arrived"
    );
    for f in search["found"].as_array().unwrap() {
        failures.push(format!(
            "a blocked event reached a remote: {} in {} ({})",
            f["marker"], f["where"], f["how"]
        ));
    }
    let elsewhere_got = lab.received(elsewhere);
    if !elsewhere_got.is_empty() || !lab.records(elsewhere).is_empty() {
        failures.push(format!(
            "a host that is no instance received {} connections",
            elsewhere_got.len()
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of the corpus failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The control for the corpus's last check: requests sent straight to a
/// remote of their own (from `NAME-out`, no guard on the way), each with a
/// marker behind broken framing or an encoding its headers hide. The
/// remote must keep every byte, parsed or not, record the requests it could
/// not parse, and `find_markers.py` must find every marker.
#[test]
fn the_marker_search_finds_markers_behind_broken_framing_and_hidden_encodings() {
    let Some(mut lab) = Lab::new("markers") else {
        return;
    };
    // Port 4443: nothing the guard forwards could go there.
    let control = lab.start_remote(&["203.0.113.21:4443"], Some("rogue"));
    let line = "POST /events/add/metadata:1 HTTP/1.1";
    let head = |extra: &[&str]| {
        let mut h = vec![line, "Content-Type: application/json"];
        h.extend_from_slice(extra);
        h.join("\r\n").into_bytes()
    };
    let raw = |extra: &[&str], body: &[u8]| {
        let mut b = head(extra);
        b.extend(b"\r\nHost: misp.rogue.example\r\nConnection: close\r\n\r\n");
        b.extend_from_slice(body);
        b
    };
    let ev = |n: usize| event_text(n).into_bytes();
    let chunked = |body: &[u8], size_line: &str| {
        let mut b = format!("{size_line}\r\n").into_bytes();
        b.extend_from_slice(body);
        b.extend(b"\r\n0\r\n\r\n");
        b
    };
    // (what it probes, bytes, whether the remote cannot parse it)
    let controls: Vec<(&str, Vec<u8>, bool)> = vec![
        (
            "Content-Length shorter than the body: the rest is never read",
            raw(&["Content-Length: 5"], &ev(9001)),
            false,
        ),
        (
            "gzip body behind a chunk size that is no number",
            raw(
                &["Transfer-Encoding: chunked", "Content-Encoding: gzip"],
                &chunked(&gzip(&ev(9002)), "zz"),
            ),
            true,
        ),
        (
            "br body behind a Transfer-Encoding the remote does not take",
            raw(
                &["Transfer-Encoding: gzip, chunked", "Content-Encoding: br"],
                &chunked(
                    &brotli(&ev(9003)),
                    &format!("{:x}", brotli(&ev(9003)).len()),
                ),
            ),
            true,
        ),
        (
            "zstd body behind a Content-Length that is no number",
            raw(
                &["Content-Length: 1e3", "Content-Encoding: zstd"],
                &zstd(&ev(9004)),
            ),
            true,
        ),
        (
            "deflate body after a chunk shorter than its size line says",
            raw(
                &["Transfer-Encoding: chunked", "Content-Encoding: deflate"],
                &chunked(&deflate(&ev(9005)), "4"),
            ),
            true,
        ),
        (
            "gzip body after a request line the remote refuses (HTTP/9.9)",
            {
                let mut b =
                    b"POST /events/add/metadata:1 HTTP/9.9\r\nContent-Encoding: gzip\r\n\r\n"
                        .to_vec();
                b.extend(gzip(&ev(9006)));
                b
            },
            true,
        ),
        (
            "zstd of br of gzip, declared as nothing, framed well",
            {
                let body = zstd(&brotli(&gzip(&ev(9007))));
                raw(&[&format!("Content-Length: {}", body.len())], &body)
            },
            false,
        ),
        (
            "br of gzip, declared the other way round, framed well",
            {
                let body = brotli(&gzip(&ev(9008)));
                raw(
                    &[
                        "Content-Encoding: br, gzip",
                        &format!("Content-Length: {}", body.len()),
                    ],
                    &body,
                )
            },
            false,
        ),
    ];
    let spec: Vec<Value> = controls
        .iter()
        .map(|(_, bytes, _)| {
            json!({"ip": "203.0.113.21", "port": 4443, "sni": "misp.rogue.example",
                   "data_b64": lab::base64(bytes)})
        })
        .collect();
    let file = lab.dir().join("controls.json");
    std::fs::write(&file, serde_json::to_vec(&spec).unwrap()).unwrap();
    let script = format!("{}/scripts/lab/raw_client.py", env!("CARGO_MANIFEST_DIR"));
    let out = lab
        .ns_cmd("out", "timeout")
        .args(["120", "python3", &script])
        .arg(lab.dir().join("rogue-ca.pem"))
        .arg(&file)
        .output()
        .unwrap();
    let results: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("raw_client.py: {e}: {}", lossy(&out.stderr)));
    for ((what, _, _), r) in controls.iter().zip(&results) {
        eprintln!("{what:<65} {:?} {}", statuses(r), r["end"]);
    }

    // Every connection, every byte (the remote drained what it did not read).
    let received = lab.received(control);
    assert_eq!(received.len(), controls.len(), "one connection per control");
    for (c, (what, bytes, _)) in received.iter().zip(&controls) {
        assert_eq!(
            &c.bytes, bytes,
            "{what}: the capture is not every byte sent"
        );
        // Only the first control shows its marker as it is: the others
        // are found by decoding, or not at all.
        let shown = contains(bytes, b"BLOCKED-");
        assert_eq!(shown, what.starts_with("Content-Length shorter"), "{what}");
    }
    // Every request it could not parse is recorded all the same.
    let refused = controls.iter().filter(|(_, _, refused)| *refused).count();
    let errors: Vec<String> = lab
        .records(control)
        .iter()
        .filter_map(|r| r.error.clone())
        .collect();
    eprintln!("records with an error: {errors:?}");
    assert_eq!(errors.len(), refused, "{errors:?}");

    let search = find_markers(&lab, &[control]);
    let found: std::collections::BTreeSet<String> = search["found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["marker"].as_str().unwrap().to_string())
        .collect();
    let want: std::collections::BTreeSet<String> =
        (9001..=9008).map(|n| format!("BLOCKED-{n}")).collect();
    eprintln!("found: {}", search["found"]);
    assert_eq!(found, want, "the search missed a marker");
}

// ---------------------------------------------------------------------------
// The closed-world family (issue 13), live

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
