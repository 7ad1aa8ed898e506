//! `misp-warden eval` is the daemon's judge: the same exchange, given to
//! `eval` on the command line and sent through the live daemon in the
//! namespace lab (TPROXY, real TLS, curl or raw bytes), gets the same
//! verdict by the same rule — on the head (names, transport, framing,
//! target, method), on the body, on decoding, and on the response.
//!
//! Each case is written once: the request as a client sends it, with the
//! verdict expected. The test runs `eval` with the flags that describe
//! that request, sends it live, and compares both with the expectation and
//! with each other. Needs root; skips otherwise.

mod lab;

use lab::Lab;
use lab::misp::{brotli, gzip};
use serde_json::{Value, json};
use std::io::Write;
use std::process::Command;

const HOST: &str = "misp.partner.example";
const PARTNER: &str = "203.0.113.20";
const EVENT: &str = "5f1c3a2e-1111-4222-8333-444455556666";
const PUSH: &str = "/events/add/metadata:1";
const VIEW: &str = "/events/view/5f1c3a2e-1111-4222-8333-444455556666/deleted[]:0/deleted[]:1/excludeGalaxy:1/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0";

fn config() -> Value {
    let mut c = lab::misp::config();
    c["allowlist"]["domains"] = json!(["updates.example"]);
    c
}

fn event(tag: &str, info: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"Event": {
        "uuid": EVENT, "info": info, "distribution": "1", "published": true,
        "Tag": [{"name": tag, "colour": "#ffffff", "exportable": true}],
        "Attribute": [{"uuid": "5f1c3a2e-2222-4222-8333-444455556666", "type": "comment",
                       "category": "Other", "value": "lab value", "distribution": "5",
                       "to_ids": false, "timestamp": "1700000000"}],
        "Object": []
    }}))
    .unwrap()
}

/// What is sent, and how: curl for ordinary requests, raw bytes for what
/// curl will not send.
enum Send {
    /// A request with this method, path, header lines and body.
    Request {
        method: &'static str,
        path: String,
        headers: Vec<String>,
        body: Vec<u8>,
        /// Plaintext HTTP to this `host:port` instead of TLS to the partner.
        plaintext_to: Option<&'static str>,
    },
    /// These exact bytes over TLS to the partner (SNI: the partner's name).
    Raw(Vec<u8>),
}

struct Case {
    name: &'static str,
    send: Send,
    /// The remote's answer (a pull): status and body.
    answer: Option<Vec<u8>>,
    /// `None`: allowed; `Some(rule)`: refused by that rule id.
    expect: Option<&'static str>,
}

fn request(method: &'static str, path: &str, headers: &[&str], body: Vec<u8>) -> Send {
    Send::Request {
        method,
        path: path.to_string(),
        headers: headers.iter().map(|h| h.to_string()).collect(),
        body,
        plaintext_to: None,
    }
}

fn cases() -> Vec<Case> {
    let mut bomb_plain = b"{\"Event\": {\"info\": \"".to_vec();
    bomb_plain.extend(std::iter::repeat_n(b' ', 48 << 20));
    bomb_plain.extend(b"\"}}");
    // 1 MiB of an ordinary event compressing about a thousandfold.
    let mut repetitive = json!({"Event": {"uuid": EVENT, "info": "x", "distribution": "1",
        "Tag": [{"name": "tlp:green"}], "Attribute": [], "Object": []}});
    repetitive["Event"]["info"] = json!(" ".repeat(1 << 20));
    let repetitive = serde_json::to_vec(&repetitive).unwrap();
    let gz = |b: &[u8]| gzip(b);
    let related = serde_json::to_vec(&json!({"Event": {
        "uuid": EVENT, "info": "x", "distribution": "1", "Tag": [{"name": "tlp:green"}],
        "Attribute": [], "Object": [],
        "RelatedEvent": [{"Event": {"id": "7", "uuid": "6a2d1f3b-0c8e-4d4f-9b72-3e5a7c9d1f22",
            "info": "another event's title", "distribution": "1", "date": "2026-01-01",
            "Org": {"id": "1", "name": "x", "uuid": "6a2d1f3b-0c8e-4d4f-9b72-3e5a7c9d1f23"}}}]
    }}))
    .unwrap();
    vec![
        // The head.
        Case {
            name: "an allowed push",
            send: request("POST", PUSH, &[], event("tlp:green", "allowed")),
            answer: None,
            expect: None,
        },
        Case {
            name: "Host naming another instance than the server name",
            send: request("GET", "/servers/getVersion", &["Host: misp.rogue.example"], vec![]),
            answer: None,
            expect: Some("name_mismatch"),
        },
        Case {
            name: "a method override header",
            send: request("POST", PUSH, &["X-HTTP-Method-Override: DELETE"], event("tlp:green", "x")),
            answer: None,
            expect: Some("endpoint"),
        },
        Case {
            name: "Connection naming a field",
            send: request("GET", "/servers/getVersion", &["Connection: keep-alive, Content-Encoding"], vec![]),
            answer: None,
            expect: Some("malformed_head"),
        },
        Case {
            name: "two Content-Type headers",
            send: request("POST", PUSH, &["Content-Type: application/json"], event("tlp:green", "x")),
            answer: None,
            expect: Some("malformed_head"),
        },
        Case {
            name: "plaintext to an allowlisted domain",
            send: Send::Request {
                method: "GET",
                path: "/".into(),
                headers: vec!["Host: updates.example".into()],
                body: vec![],
                plaintext_to: Some("updates.example:443"),
            },
            answer: None,
            expect: Some("unknown_destination"),
        },
        Case {
            name: "a named parameter MISP's pull does not send",
            send: request("GET", &format!("/events/view/{EVENT}/includeGranularCorrelations:1"), &[], vec![]),
            answer: None,
            expect: Some("unknown_key"),
        },
        Case {
            name: "Content-Length beside Transfer-Encoding",
            send: Send::Raw(
                format!(
                    "POST {PUSH} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n"
                )
                .into_bytes(),
            ),
            answer: None,
            expect: Some("ambiguous_framing"),
        },
        // The body.
        Case {
            name: "a blocked tag",
            send: request("POST", PUSH, &[], event("tlp:red", "blocked")),
            answer: None,
            expect: Some("blocked_tags"),
        },
        Case {
            name: "a key MISP's sync never sends",
            send: request(
                "POST",
                PUSH,
                &[],
                serde_json::to_vec(&json!({"Event": {"uuid": EVENT, "distribution": "1",
                    "EventTag": [{"Tag": {"name": "tlp:green"}}]}}))
                .unwrap(),
            ),
            answer: None,
            expect: Some("unknown_key"),
        },
        // Decoding.
        Case {
            name: "1 MiB compressing a thousandfold (under the ratio's floor)",
            send: request("POST", PUSH, &["Content-Encoding: gzip"], gz(&repetitive)),
            answer: None,
            expect: None,
        },
        Case {
            name: "48 MiB compressing past the ratio",
            send: request("POST", PUSH, &["Content-Encoding: gzip"], gz(&bomb_plain)),
            answer: None,
            expect: Some("max_body_bytes"),
        },
        Case {
            name: "an encoding nobody decodes",
            send: request("POST", PUSH, &["Content-Encoding: compress"], event("tlp:green", "x")),
            answer: None,
            expect: Some("content_encoding"),
        },
        Case {
            name: "a blocked event under gzip then brotli",
            send: request(
                "POST",
                PUSH,
                &["Content-Encoding: gzip, br"],
                brotli(&gzip(&event("tlp:red", "stacked"))),
            ),
            answer: None,
            expect: Some("blocked_tags"),
        },
        // The response.
        Case {
            name: "a pulled event",
            send: request("GET", VIEW, &[], vec![]),
            answer: Some(event("tlp:green", "pulled")),
            expect: None,
        },
        Case {
            name: "a pulled event showing another event it never saw",
            send: request("GET", VIEW, &[], vec![]),
            answer: Some(related),
            expect: Some("unjudged_event"),
        },
        Case {
            name: "a pulled event with a blocked tag",
            send: request("GET", VIEW, &[], vec![]),
            answer: Some(event("tlp:red", "pulled")),
            expect: Some("blocked_tags"),
        },
    ]
}

/// The rule id in a refusal message: `… (rule instances.x.blocked_tags) …`.
fn rule_of(message: &str) -> Option<String> {
    let rest = message.split("(rule ").nth(1)?;
    let path = rest.split(')').next()?;
    Some(path.rsplit('.').next()?.to_string())
}

/// `eval`'s verdict on the case: `None` for allow, else the rule id.
fn eval(lab: &Lab, c: &Case, config: &std::path::Path, n: usize) -> Option<String> {
    let (method, path, headers, body, plaintext_to) = match &c.send {
        Send::Request {
            method,
            path,
            headers,
            body,
            plaintext_to,
        } => (
            method.to_string(),
            path.clone(),
            headers.clone(),
            body.clone(),
            *plaintext_to,
        ),
        Send::Raw(bytes) => {
            // The head's lines as flags; the (chunked) body as sent.
            let text = String::from_utf8_lossy(bytes).into_owned();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let mut lines = head.lines();
            let mut first = lines.next().unwrap().split(' ');
            let (m, p) = (first.next().unwrap(), first.next().unwrap());
            let headers = lines.map(str::to_string).collect();
            (
                m.to_string(),
                p.to_string(),
                headers,
                body.as_bytes().to_vec(),
                None,
            )
        }
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_misp-warden"));
    cmd.args(["eval", "--config"]).arg(config);
    cmd.args(["--from", "192.0.2.10", "--method", &method, "--path", &path]);
    match plaintext_to {
        Some(to) => cmd.args(["--to", to, "--plaintext"]),
        None => cmd.args(["--to", HOST]),
    };
    for h in &headers {
        cmd.args(["--header", h]);
    }
    // What curl adds: the body's type (a second one when the case gives one).
    if !body.is_empty() {
        cmd.args(["--header", "Content-Type: application/json"]);
    }
    let file = lab.dir().join(format!("eval-{n}.body"));
    std::fs::write(&file, &body).unwrap();
    cmd.arg("--body").arg(&file);
    if let Some(answer) = &c.answer {
        let file = lab.dir().join(format!("eval-{n}.answer"));
        std::fs::write(&file, answer).unwrap();
        cmd.arg("--response").arg(&file);
    }
    let out = cmd.output().expect("run eval");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    match out.status.code() {
        Some(0) => None,
        Some(3) => Some(rule_of(&stdout).unwrap_or_else(|| panic!("{}: {stdout}", c.name))),
        other => panic!(
            "{}: eval exited {other:?}: {stdout}{}",
            c.name,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The live daemon's verdict on the case.
fn live(lab: &Lab, c: &Case, n: usize) -> Option<String> {
    if let Some(answer) = &c.answer {
        let Send::Request { method, path, .. } = &c.send else {
            unreachable!()
        };
        lab.set_routes(
            0,
            &json!([{"method": method, "path": path, "status": 200,
                     "body_b64": lab::base64(answer)}]),
        );
    }
    let (status, body) = match &c.send {
        Send::Raw(bytes) => {
            let answer = lab.send_raw(&format!("{PARTNER}:443"), Some(HOST), bytes);
            let text = String::from_utf8_lossy(&answer).into_owned();
            let status = text
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse::<u16>().ok())
                .unwrap_or(0);
            let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
            (status, body.unwrap_or_default())
        }
        Send::Request {
            method,
            path,
            headers,
            body,
            plaintext_to,
        } => {
            let file = lab.dir().join(format!("live-{n}.body"));
            std::fs::File::create(&file)
                .unwrap()
                .write_all(body)
                .unwrap();
            let data = format!("@{}", file.display());
            let url = match plaintext_to {
                Some(to) => format!("http://{to}{path}"),
                None => format!("https://{HOST}{path}"),
            };
            let mut args: Vec<&str> = vec!["--http1.1", "--globoff", "--path-as-is", "-X", method];
            let resolve;
            if plaintext_to.is_some() {
                resolve = "updates.example:443:203.0.113.30".to_string();
                args.extend(["--resolve", &resolve]);
            }
            for h in headers {
                args.extend(["-H", h]);
            }
            if !body.is_empty() {
                args.extend([
                    "-H",
                    "Content-Type: application/json",
                    "--data-binary",
                    &data,
                ]);
            }
            args.push(&url);
            let r = lab.curl(&args);
            (r.status, r.text())
        }
    };
    match status {
        200 => None,
        400 | 403 => {
            let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| {
                panic!("{}: a {status} that is not JSON ({e}): {body}", c.name)
            });
            let message = v["message"].as_str().unwrap_or_default();
            Some(rule_of(message).unwrap_or_else(|| panic!("{}: {message}", c.name)))
        }
        other => panic!("{}: the daemon answered {other}: {body}", c.name),
    }
}

#[test]
fn eval_and_the_daemon_give_the_same_verdict_by_the_same_rule() {
    let Some(mut lab) = Lab::new("onejudge") else {
        return;
    };
    lab.start_remote(&["203.0.113.20:443"], Some("partner"));
    lab.start_remote(&["203.0.113.30:443"], Some("partner"));
    let config = config();
    lab.start_warden(&config);
    let config_file = lab.write_config(&config);
    let mut failures = Vec::new();
    for (n, c) in cases().iter().enumerate() {
        let by_eval = eval(&lab, c, &config_file, n);
        let by_daemon = live(&lab, c, n);
        let want = c.expect.map(str::to_string);
        if by_eval != want || by_daemon != want {
            failures.push(format!(
                "{}: expected {want:?}, eval {by_eval:?}, daemon {by_daemon:?}",
                c.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "eval and the daemon disagree:\n{}\n{}",
        failures.join("\n"),
        lab.warden_log()
    );
}
