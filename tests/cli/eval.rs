//! `eval`: verdicts and exit codes, usage errors, encoded bodies, the
//! content type, and a feed's non-200 answer.

use super::*;

/// `eval` of a push from bravo_2 to bravo_1 at /events/add, plus `extra`.
fn eval_push(config: &Path, extra: &[&str]) -> Out {
    let mut args: Vec<String> = vec![
        "eval".into(),
        "--config".into(),
        config.display().to_string(),
        "--from".into(),
        "198.51.100.22".into(),
        "--to".into(),
        "bravo1.zone-b.example:443".into(),
        "--method".into(),
        "POST".into(),
        "--path".into(),
        "/events/add/metadata:1".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    warden(args)
}

fn assert_block(out: &Out, reason: &str) {
    assert_eq!(
        out.code,
        Some(3),
        "expected block (exit 3): stdout {} stderr {}",
        out.stdout,
        out.stderr
    );
    let line = out.stdout.trim_end();
    assert!(line.starts_with("block: "), "stdout: {line:?}");
    assert!(
        line.contains(reason),
        "{line:?} does not contain {reason:?}"
    );
    assert_eq!(line.lines().count(), 1, "stdout: {line:?}");
}

fn assert_allow(out: &Out) {
    assert_eq!(
        out.code,
        Some(0),
        "expected allow (exit 0): stdout {} stderr {}",
        out.stdout,
        out.stderr
    );
    assert_eq!(out.stdout.trim_end(), "allow");
}

fn assert_usage_error(out: &Out, mentions: &str) {
    assert_eq!(
        out.code,
        Some(2),
        "expected exit 2: stdout {} stderr {}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.trim().is_empty(),
        "no verdict may be printed: {}",
        out.stdout
    );
    assert!(
        out.stderr.contains(mentions),
        "stderr does not mention {mentions:?}: {}",
        out.stderr
    );
}

#[test]
fn eval_blocks_a_body_that_is_not_json() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in [
        ("text.txt", &b"this is not an event"[..]),
        ("half.json", &br#"{"Event": {"distribution": "1""#[..]),
        ("binary.bin", &[0xff, 0xfe, 0x00, 0x01][..]),
    ] {
        let path = write(dir.path(), name, body);
        let out = eval_push(&config_path(), &["--body", path.to_str().unwrap()]);
        assert_block(&out, "invalid JSON body");
    }
}

#[test]
fn eval_with_a_missing_body_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-body.json");
    let out = eval_push(&config_path(), &["--body", missing.to_str().unwrap()]);
    assert_usage_error(&out, "no-such-body.json");
    out.one_error_line();
}

#[test]
fn eval_with_a_bad_config_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config_value();
    c["instances"]["bravo_1"]["port"] = json!("443a");
    let bad = write_json(dir.path(), "config.json", &c);
    let body = fixture("event_allowed.json");
    let out = eval_push(&bad, &["--body", body.to_str().unwrap()]);
    assert_usage_error(&out, "instances.bravo_1.port");
    out.one_error_line();

    let out = eval_push(
        &dir.path().join("absent.json"),
        &["--body", body.to_str().unwrap()],
    );
    assert_usage_error(&out, "absent.json");
    out.one_error_line();
}

#[test]
fn eval_without_a_required_flag_is_a_usage_error() {
    let config = config_path();
    let config = config.to_str().unwrap();
    let full = [
        ("--config", config),
        ("--from", "198.51.100.22"),
        ("--to", "bravo1.zone-b.example:443"),
        ("--method", "GET"),
        ("--path", "/servers/getVersion"),
    ];
    // The complete command is allowed; each flag left out is a usage error.
    let args = |skip: Option<usize>| {
        let mut v = vec!["eval".to_string()];
        for (i, (k, val)) in full.iter().enumerate() {
            if Some(i) != skip {
                v.push(k.to_string());
                v.push(val.to_string());
            }
        }
        v
    };
    assert_allow(&warden(args(None)));
    for (i, (flag, _)) in full.iter().enumerate() {
        let out = warden(args(Some(i)));
        assert_usage_error(&out, flag);
    }
}

#[test]
fn eval_with_a_malformed_header_is_a_usage_error() {
    let out = eval_push(&config_path(), &["--header", "no colon here"]);
    assert_usage_error(&out, "--header");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn eval_reads_a_gzip_request_body_as_the_receiver_would() {
    let dir = tempfile::tempdir().unwrap();
    let blocked = write(
        dir.path(),
        "blocked.json.gz",
        &gzip(&std::fs::read(fixture("event_tag_blocked.json")).unwrap()),
    );
    let allowed = write(
        dir.path(),
        "allowed.json.gz",
        &gzip(&std::fs::read(fixture("event_allowed.json")).unwrap()),
    );
    let gz = ["--header", "Content-Encoding: gzip"];

    let out = eval_push(
        &config_path(),
        &[&gz[..], &["--body", blocked.to_str().unwrap()]].concat(),
    );
    assert_block(&out, "event has blocked tag: tlp:red");

    let out = eval_push(
        &config_path(),
        &[&gz[..], &["--body", allowed.to_str().unwrap()]].concat(),
    );
    assert_allow(&out);

    // The header name is case-insensitive, like HTTP's.
    let out = eval_push(
        &config_path(),
        &[
            "--header",
            "content-encoding: GZIP",
            "--body",
            blocked.to_str().unwrap(),
        ],
    );
    assert_block(&out, "event has blocked tag: tlp:red");

    // Without the header the compressed bytes are no JSON: refused too.
    let out = eval_push(&config_path(), &["--body", allowed.to_str().unwrap()]);
    assert_block(&out, "invalid JSON body");

    // A header that claims gzip on a plain body: refused.
    let out = eval_push(
        &config_path(),
        &[
            &gz[..],
            &["--body", fixture("event_allowed.json").to_str().unwrap()],
        ]
        .concat(),
    );
    assert_block(&out, "Content-Encoding");
}

#[test]
fn eval_reads_a_gzip_response_body() {
    let dir = tempfile::tempdir().unwrap();
    let blocked = write(
        dir.path(),
        "blocked.json.gz",
        &gzip(&std::fs::read(fixture("event_attribute_tag_blocked.json")).unwrap()),
    );
    let out = warden([
        "eval",
        "--config",
        config_path().to_str().unwrap(),
        "--from",
        "192.0.2.12",
        "--to",
        "alpha1.zone-a.example:443",
        "--method",
        "GET",
        "--path",
        "/events/view/6e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        "--response",
        blocked.to_str().unwrap(),
        "--response-header",
        "Content-Encoding: gzip",
    ]);
    assert_block(&out, "attribute with a blocked tag: tlp:red");
}

#[test]
fn eval_blocks_an_unknown_content_encoding() {
    let body = fixture("event_allowed.json");
    for encoding in ["compress", "x-custom", "gzip;q=1"] {
        let header = format!("Content-Encoding: {encoding}");
        let out = eval_push(
            &config_path(),
            &["--header", &header, "--body", body.to_str().unwrap()],
        );
        assert_eq!(
            out.code,
            Some(3),
            "{encoding}: stdout {} stderr {}",
            out.stdout,
            out.stderr
        );
        assert!(
            out.stdout.starts_with("block: "),
            "{encoding}: {}",
            out.stdout
        );
    }
    let out = eval_push(
        &config_path(),
        &[
            "--header",
            "Content-Encoding: compress",
            "--body",
            body.to_str().unwrap(),
        ],
    );
    assert_block(&out, "unsupported content encoding compress");
}

#[test]
fn eval_reads_the_content_type_and_defaults_it_to_json() {
    let body = fixture("event_allowed.json");
    let body = body.to_str().unwrap();
    assert_allow(&eval_push(&config_path(), &["--body", body]));
    assert_allow(&eval_push(
        &config_path(),
        &[
            "--body",
            body,
            "--header",
            "Content-Type: application/json; charset=utf-8",
        ],
    ));
    for ct in ["application/xml", "application/x-www-form-urlencoded"] {
        let header = format!("Content-Type: {ct}");
        let out = eval_push(&config_path(), &["--body", body, "--header", &header]);
        assert_block(&out, "only application/json is inspected");
    }
}

#[test]
fn eval_passes_a_feeds_non_200_answer_as_misp_guard_does() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty", b"");
    let run = |status: Option<&str>| {
        let mut args = vec![
            "eval",
            "--config",
            config_path().to_str().unwrap().to_owned().leak(),
            "--from",
            "192.0.2.11",
            "--to",
            "feed1.mirror.example:443",
            "--method",
            "GET",
            "--path",
            "/doc/misp/feed-osint/manifest.json",
            "--response",
            empty.to_str().unwrap().to_owned().leak(),
        ];
        if let Some(s) = status {
            args.extend(["--response-status", s.to_owned().leak()]);
        }
        warden(args)
    };
    assert_allow(&run(Some("304")));
    assert_block(&run(None), "empty message body");
    assert_usage_error(&run(Some("99")), "response-status");
}
