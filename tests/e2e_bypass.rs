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
//! Needs root; skips otherwise.

mod lab;

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
