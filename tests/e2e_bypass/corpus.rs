//! The bypass corpus itself: the blocked event with its marker, the raw
//! HTTP/1.1 requests built around it, and every case with the refusal it
//! expects.

use super::*;

pub const HOST: &str = "misp.partner.example";
pub const PARTNER: &str = "203.0.113.20";
const UUID: &str = "5f1c3a2e-1111-4222-8333-444455556666";

/// An event blocked by its tag, carrying `BLOCKED-n` — or, for `n` = 0, an
/// allowed event (tag tlp:green, no marker).
pub fn event_text(n: usize) -> String {
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
pub fn request(head: &[&str], body: &[u8]) -> Vec<u8> {
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
pub fn push(extra: &[&str], body: &[u8]) -> Vec<u8> {
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
pub enum Expect {
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

pub struct Case {
    pub name: String,
    pub ip: &'static str,
    pub sni: Option<&'static str>,
    pub bytes: Vec<u8>,
    pub expect: Expect,
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

pub fn corpus() -> Vec<Case> {
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
