//! The bypass corpus: tricks a sender could try to get a blocked event past
//! the guard, each sent byte for byte through the live daemon in the
//! namespace lab (`scripts/lab/raw_client.py` writes the bytes as they are;
//! `scripts/lab/h2_client.py` speaks HTTP/2 frame by frame).
//!
//! Every blocked case carries a marker (`BLOCKED-<n>`) in its event. A case
//! passes when the client got no 2xx for it; the corpus passes when, at the
//! end, no request the remote MISP recorded — decoded as its headers say —
//! contains a marker. A few harmless variants (no SNI, a compressed clean
//! event) are twins that must pass as their plain form does.
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
    /// Refused: every final status 4xx or 5xx, or no answer at all
    /// (an interim `100 Continue` is no answer).
    Blocked,
    /// Exactly these statuses, in order.
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
        expect: Expect::Blocked,
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
    cases.push(case(
        "Content-Length with Transfer-Encoding",
        push(&["Content-Length: 5", "Transfer-Encoding: chunked"], &te),
    ));
    let body = blocked(next());
    let two = [
        format!("Content-Length: {}", body.len()),
        "Content-Length: 10".into(),
    ];
    cases.push(case(
        "two differing Content-Lengths",
        push(&[&two[0], &two[1]], &body),
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
    cases.push(case("oversized header", push(&[&big], &blocked(next()))));
    cases.push(case(
        "space before the colon",
        request(
            &[
                &format!("POST {PUSH} HTTP/1.1"),
                "Content-Type : application/json",
            ],
            &blocked(next()),
        ),
    ));
    cases.push(case(
        "control byte in a header name",
        push(&["X-Odd\u{7f}: 1"], &blocked(next())),
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
        let statuses: Vec<u16> = r["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap() as u16)
            .collect();
        let ok = match c.expect {
            Expect::Blocked => statuses.iter().all(|s| *s >= 400 || *s < 200),
            Expect::Statuses(want) => statuses == want,
        };
        eprintln!("{:<60} {statuses:?} {}", c.name, r["error"]);
        if !ok {
            failures.push(format!(
                "{}: expected {:?}, got {statuses:?} ({})",
                c.name, c.expect, r
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
    if !answer.starts_with("HTTP/1.1 4") {
        failures.push(format!("IP-literal SNI: {answer}"));
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
    if streams["statuses"] != json!([200, 403, 200]) {
        failures.push(format!("h2 streams: {streams}"));
    }
    let flood = h2(&["continuation-flood"]);
    eprintln!("h2 CONTINUATION flood: {flood}");
    if flood["continuations_sent"].as_u64().unwrap() >= 2000 {
        failures.push(format!("a CONTINUATION flood was not stopped: {flood}"));
    }
    let reset = h2(&["reset-mid-body", b]);
    eprintln!("h2 reset mid-body: {reset}");
    if reset["after_reset"].is_null() {
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

    // Whatever arrived: never a marker, decoded as the receiver would.
    for r in lab.records(partner).iter().chain(&lab.records(elsewhere)) {
        let codings: Vec<&str> = r
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-encoding"))
            .map(|(_, v)| v.as_str())
            .collect();
        let codings = misp_warden::body::parse_codings(codings).unwrap_or_default();
        let body = misp_warden::body::decode(&r.body, &codings, 1 << 30)
            .map(|b| b.into_vec())
            .unwrap_or_else(|_| r.body.clone());
        if String::from_utf8_lossy(&body).contains("BLOCKED-") {
            failures.push(format!(
                "a blocked event reached the remote: {} {}",
                r.method, r.path
            ));
        }
    }
    assert!(
        lab.records(elsewhere).is_empty(),
        "nothing reaches a host that is no instance"
    );
    assert!(
        failures.is_empty(),
        "{} of the corpus failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
