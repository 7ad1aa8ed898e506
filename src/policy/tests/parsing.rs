//! Bodies the engine cannot read as MISP would: malformed and undeclared
//! bodies, verdicts independent of key order, JSON escapes, messages that
//! never quote a value, and what fuzzing found.

use super::*;

#[test]
fn malformed_bodies_are_blocked() {
    let cfg = config();
    let raw = |body: &[u8]| push_raw(&cfg, "/events/add/metadata:1", body);
    let good = event().to_string();
    raw(good.as_bytes()).expect("the base event passes");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("not JSON", b"message".to_vec()),
        ("truncated", good.as_bytes()[..good.len() - 3].to_vec()),
        ("trailing garbage", format!("{good} x").into_bytes()),
        ("UTF-8 BOM", [b"\xEF\xBB\xBF".as_slice(), good.as_bytes()].concat()),
        ("no Event key", br#"{"event":{"distribution":"1"}}"#.to_vec()),
        ("Event in an array", format!("[{good}]").into_bytes()),
        ("duplicate Tag key", br#"{"Event":{"distribution":"1","Tag":[],"Tag":[{"name":"tlp:red"}]}}"#.to_vec()),
        ("duplicate distribution", br#"{"Event":{"distribution":"1","distribution":"0"}}"#.to_vec()),
        ("duplicate Event", br#"{"Event":{"distribution":"1"},"Event":{"distribution":"0"}}"#.to_vec()),
        ("duplicate attribute type", br#"{"Event":{"distribution":"1","Attribute":[{"type":"ip-src","category":"Other","type":"email"}]}}"#.to_vec()),
        ("missing distribution", br#"{"Event":{"info":"x"}}"#.to_vec()),
        ("distribution 0.0", br#"{"Event":{"distribution":0.0}}"#.to_vec()),
        ("distribution \"00\"", br#"{"Event":{"distribution":"00"}}"#.to_vec()),
        ("distribution \" 0\"", br#"{"Event":{"distribution":" 0"}}"#.to_vec()),
        ("distribution 6", br#"{"Event":{"distribution":6}}"#.to_vec()),
        ("distribution -1", br#"{"Event":{"distribution":-1}}"#.to_vec()),
        ("distribution huge", br#"{"Event":{"distribution":1e400}}"#.to_vec()),
        ("distribution null", br#"{"Event":{"distribution":null}}"#.to_vec()),
        ("attribute without type", br#"{"Event":{"distribution":"1","Attribute":[{"category":"Other"}]}}"#.to_vec()),
        ("object without distribution", br#"{"Event":{"distribution":"1","Object":[{"name":"x","Attribute":[]}]}}"#.to_vec()),
        ("Attribute as an object", br#"{"Event":{"distribution":"1","Attribute":{"0":{"type":"a","category":"b"}}}}"#.to_vec()),
        ("Tag as a string", br#"{"Event":{"distribution":"1","Tag":"tlp:red"}}"#.to_vec()),
        ("tag without name", br#"{"Event":{"distribution":"1","Tag":[{"id":"1"}]}}"#.to_vec()),
        ("tag name not a string", br#"{"Event":{"distribution":"1","Tag":[{"name":7}]}}"#.to_vec()),
        ("sharing group without uuid", br#"{"Event":{"distribution":"4","SharingGroup":{"name":"x"}}}"#.to_vec()),
        ("sharing group as a non-empty array", br#"{"Event":{"distribution":"4","SharingGroup":[{"uuid":"b9e656ba-b9c0-4506-83ed-7b54b43a57cb"}]}}"#.to_vec()),
        ("lone surrogate", br#"{"Event":{"distribution":"1","Tag":[{"name":"tlp:\ud800red"}]}}"#.to_vec()),
        ("deep nesting", format!(
            "{{\"Event\":{{\"distribution\":\"1\",\"Note\":[{}{{\"distribution\":\"1\"}}{}]}}}}",
            "{\"distribution\":\"1\",\"Note\":[".repeat(200),
            "]}".repeat(200)
        ).into_bytes()),
        ("relationship to an unknown type", br#"{"Event":{"distribution":"1","Relationship":[{"distribution":"1","related_object_type":"Organisation","related_object":{"Organisation":{"name":"x"}}}]}}"#.to_vec()),
    ];
    for (name, body) in cases {
        let b = raw(&body).expect_err(name);
        assert!(
            matches!(
                b.rule,
                Rule::MalformedBody | Rule::UninspectableRelation | Rule::UnknownKey
            ),
            "{name}: {b}"
        );
    }
    // Shapes PHP produces for empty values are understood, not refused.
    raw(br#"{"Event":{"distribution":"1","SharingGroup":[],"Tag":null,"Attribute":null,"Object":[],"Galaxy":[]}}"#)
        .expect("PHP empties");
}

/// The long lists are judged while they are read (model/event.rs): the
/// verdict must not depend on where they stand among the event's keys, and
/// nothing after the first refused element may go unparsed.
#[test]
fn list_verdicts_do_not_depend_on_key_order() {
    let cfg = config();
    let raw = |body: &str| push_raw(&cfg, "/events/add/metadata:1", body.as_bytes());
    let bad_attribute = r#"{"type":"email","category":"Other","distribution":"5"}"#;
    let bad_object = r#"{"name":"person","distribution":"5"}"#;
    // Lists first, then the event's own fields: the event's tag still wins,
    // then attributes before objects, as misp-guard orders them.
    let lists_first = format!(
        r#"{{"Event":{{"Object":[{bad_object}],"Attribute":[{bad_attribute}],"Tag":[{{"name":"tlp:red"}}],"distribution":"1"}}}}"#
    );
    assert_eq!(raw(&lists_first).unwrap_err().rule, Rule::BlockedTag);
    let no_tag = lists_first.replace("tlp:red", "tlp:green");
    assert_eq!(raw(&no_tag).unwrap_err().rule, Rule::BlockedAttributeType);
    let no_attribute = no_tag.replace("email", "ip-src");
    assert_eq!(
        raw(&no_attribute).unwrap_err().rule,
        Rule::BlockedObjectType
    );
    // A refused element does not end the reading: a malformed one after it
    // makes the whole body malformed, exactly as when nothing was refused.
    let late_malformed = format!(
        r#"{{"Event":{{"distribution":"1","Attribute":[{bad_attribute},{{"category":"Other"}}]}}}}"#
    );
    assert_eq!(raw(&late_malformed).unwrap_err().rule, Rule::MalformedBody);
    // A second list under the same key is a duplicate, whichever list is
    // refused.
    let twice = format!(
        r#"{{"Event":{{"distribution":"1","Attribute":[],"Attribute":[{bad_attribute}]}}}}"#
    );
    let b = raw(&twice).unwrap_err();
    assert_eq!(b.rule, Rule::MalformedBody, "{b}");
    assert!(b.message.contains("duplicate field `Attribute`"), "{b}");
    // Judged keys beside a wrapped event are not what MISP reads and never
    // what its sync sends: refused by name, whatever they hold, before or
    // after the event. An event wrapped twice is refused the same way.
    for outer in [
        format!(
            r#"{{"Attribute":[{bad_attribute}],"Event":{{"distribution":"1","Attribute":[]}}}}"#
        ),
        r#"{"Event":{"distribution":"1","Attribute":[]},"Attribute":[]}"#.to_string(),
        r#"{"Event":{"distribution":"1"},"Tag":[{"name":"tlp:green"}]}"#.to_string(),
        r#"{"uuid":"5f1e6a37-0b0c-4c8e-9d5e-1a2b3c4d5e6f","Event":{"distribution":"1"}}"#
            .to_string(),
        r#"{"Event":{"Event":{"distribution":"1"}}}"#.to_string(),
        r#"{"Event":{"distribution":"1","Event":{"distribution":"1"}}}"#.to_string(),
        r#"{"Event":{"distribution":"1","response":"2"}}"#.to_string(),
        r#"{"Event":{"distribution":"1","request":{}}}"#.to_string(),
    ] {
        let b = raw(&outer).unwrap_err();
        assert_eq!(b.rule, Rule::UnknownKey, "{outer}: {b}");
    }
    // Its harmless twins: the event alone, keys MISP's push answer puts
    // beside it, and an explicit null where the event would be.
    raw(r#"{"Event":{"distribution":"1","Attribute":[]}}"#).expect("wrapped event alone");
    raw(r#"{"Event":{"distribution":"1"},"errors":[],"saved":true}"#).expect("answer keys beside");
    raw(r#"{"distribution":"1","Event":null}"#).expect("null event: the bare event is read");
}

#[test]
fn parse_error_messages_never_quote_body_values() {
    let cfg = config();
    let body = br#"{"Event":{"distribution":"SECRET-VALUE-DO-NOT-LOG"}}"#;
    let b = evaluate(
        &cfg,
        &exchange(
            "192.0.2.10",
            "misp-partner.example",
            "POST",
            "/events/add",
            body,
        ),
    )
    .unwrap_err();
    assert!(!b.to_string().contains("SECRET"), "{b}");
    let body =
        br#"{"Event":{"distribution":"1","Attribute":[{"category":"x","type":["SECRET-VALUE"]}]}}"#;
    let b = push(
        &cfg,
        "192.0.2.10",
        "misp-partner.example",
        "/events/add",
        &serde_json::from_slice(body).unwrap(),
    )
    .unwrap_err();
    assert!(!b.to_string().contains("SECRET"), "{b}");
}

#[test]
fn json_escapes_are_read_as_the_receiver_reads_them() {
    let cfg = config();
    let raw = |body: &str| push_raw(&cfg, "/events/add", body.as_bytes());
    for body in [
        r#"{"Event":{"distribution":"1","Tag":[{"name":"tlp:\u0072ed"}]}}"#,
        r#"{"Event":{"distribution":"1","Tag":[{"name":"TLP:\u0052ED"}]}}"#,
        r#"{"Event":{"distribution":"\u0030"}}"#,
        r#"{"Event":{"distribution":"1","Attribute":[{"type":"pass\u0070ort-number","category":"Other"}]}}"#,
        r#"{"Event":{"distribution":"1","Object":[{"name":"PERSO\u004e","distribution":"1"}]}}"#,
        r#"{"\u0045vent":{"distribution":"0"}}"#,
    ] {
        assert!(raw(body).is_err(), "{body}");
    }
}

/// JSON escapes in the body's text (`\u0072`, not Rust's `\u{72}`, which
/// never reaches the engine as an escape): a tag value and the keys around
/// it are read as MISP's `json_decode` reads them, so the refusal is the
/// blocked tag the escapes spell — a guard that skipped an escaped key it
/// does not know would let it through, one that refused it unread would
/// name another rule. Each with an allowed twin, pushed and pulled.
#[test]
fn json_unicode_escapes_in_tags_and_keys_are_judged_as_decoded() {
    let cfg = config();
    let plain = event().to_string();
    let tag = r#""Tag":[{"name":"tlp:green"}]"#;
    assert!(plain.contains(tag), "{plain}");
    let red = r#""Tag":[{"name":"tlp:red"}]"#;
    // (what, replacements in the plain event's text for the blocked body,
    // then for its allowed twin)
    type Edits<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, Edits, Edits); 4] = [
        (
            "escaped tag value",
            &[(tag, r#""Tag":[{"name":"tlp:\u0072ed"}]"#)],
            &[(tag, r#""Tag":[{"name":"tlp:\u0067reen"}]"#)],
        ),
        (
            "escaped key Tag",
            &[(tag, r#""T\u0061g":[{"name":"tlp:red"}]"#)],
            &[(tag, r#""T\u0061g":[{"name":"tlp:green"}]"#)],
        ),
        (
            "escaped key name, escaped value",
            &[(tag, r#""Tag":[{"n\u0061me":"tlp:\u0072ed"}]"#)],
            &[(tag, r#""Tag":[{"n\u0061me":"tlp:green"}]"#)],
        ),
        (
            "escaped key Event",
            &[(r#"{"Event":"#, r#"{"\u0045vent":"#), (tag, red)],
            &[(r#"{"Event":"#, r#"{"\u0045vent":"#)],
        ),
    ];
    let edit = |edits: Edits| {
        edits.iter().fold(plain.clone(), |text, (from, to)| {
            assert!(text.contains(from), "{from} not in {text}");
            text.replacen(from, to, 1)
        })
    };
    let pull_raw = |body: &str| {
        evaluate(
            &cfg,
            &Case {
                response: Some((
                    body.as_bytes(),
                    ResponseContext {
                        user_org_uuid: None,
                        status: None,
                    },
                )),
                ..exchange("198.51.100.20", "misp-inside.example", "GET", VIEW, b"")
            },
        )
    };
    for (what, blocked, allowed) in cases {
        let (bad, good) = (edit(blocked), edit(allowed));
        assert!(
            bad.contains("\\u00") && good.contains("\\u00"),
            "{what}: no escape sent"
        );
        for (how, result) in [
            (
                "push",
                push_raw(&cfg, "/events/add/metadata:1", bad.as_bytes()),
            ),
            ("pull", pull_raw(&bad)),
        ] {
            let b = result.expect_err(&format!("{what} ({how}) allowed"));
            assert_eq!(b.rule, Rule::BlockedTag, "{what} ({how}): {b}");
            assert!(
                b.message.contains("event has blocked tag: tlp:red"),
                "{what} ({how}): {:?}",
                b.message
            );
            assert_eq!(b.owner.as_deref(), Some("instances.inside"), "{what}");
        }
        push_raw(&cfg, "/events/add/metadata:1", good.as_bytes())
            .unwrap_or_else(|b| panic!("{what} twin (push) blocked: {b}"));
        pull_raw(&good).unwrap_or_else(|b| panic!("{what} twin (pull) blocked: {b}"));
    }
}

#[test]
fn push_bodies_must_be_declared_json() {
    let cfg = config();
    let body = event().to_string();
    let with = |ct: Option<&str>| {
        evaluate(
            &cfg,
            &Case {
                request_content_type: ct,
                ..exchange(
                    "192.0.2.10",
                    "misp-partner.example",
                    "POST",
                    "/events/add",
                    body.as_bytes(),
                )
            },
        )
    };
    with(Some("application/json")).expect("json");
    with(Some("Application/JSON; charset=UTF-8")).expect("json with charset");
    for ct in [
        None,
        Some("application/xml"),
        Some("text/xml"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
        Some(""),
    ] {
        let b = with(ct).unwrap_err();
        assert_eq!(b.rule, Rule::MalformedBody, "{ct:?}: {b}");
    }
}

#[test]
fn fuzzing_findings_stay_fixed() {
    let cfg = config();
    // A pulled body with a `response` member beside the event.
    let clean = event();
    let mut bad = event();
    bad["Event"]["Tag"][0]["name"] = json!("tlp:red");
    let body = json!({"Event": clean["Event"], "response": bad});
    let b = pull(
        &cfg,
        "198.51.100.20",
        "misp-inside.example",
        VIEW,
        &body,
        None,
    )
    .unwrap_err();
    assert_eq!(b.rule, Rule::MalformedBody, "{b}");
    // Look-alike tag names MySQL's collation would take for the blocked one.
    for name in [
        "ｔｌｐ:ｒｅｄ",
        "tlp:red\u{a0}",
        "tlp:r\u{200b}ed",
        "tlp:réd",
    ] {
        let mut e = event();
        e["Event"]["Tag"][0]["name"] = json!(name);
        let b = push(
            &cfg,
            "192.0.2.10",
            "misp-partner.example",
            "/events/add",
            &e,
        )
        .unwrap_err();
        assert_eq!(b.rule, Rule::BlockedTag, "{name:?}: {b}");
    }
    // An embedded galaxy cluster without a distribution still has its
    // sharing group checked against X-UserOrgUUID.
    let mut e = event();
    e["Event"]["Galaxy"] = json!([{"GalaxyCluster": [{"SharingGroup": sharing_group(SG_OTHER, &[ORG_MEMBER], false)}]}]);
    pull(
        &cfg,
        "198.51.100.20",
        "misp-inside.example",
        VIEW,
        &e,
        Some(ORG_OUTSIDER),
    )
    .expect_err("cluster SG");
    pull(
        &cfg,
        "198.51.100.20",
        "misp-inside.example",
        VIEW,
        &e,
        Some(ORG_MEMBER),
    )
    .expect("member");
    // Invalid UTF-8 in a field no rule reads.
    let mut raw = event().to_string().into_bytes();
    let at = raw.windows(4).position(|w| w == b"test").unwrap();
    raw[at] = 0xFF;
    let b = evaluate(
        &cfg,
        &exchange(
            "192.0.2.10",
            "misp-partner.example",
            "POST",
            "/events/add",
            &raw,
        ),
    )
    .unwrap_err();
    assert!(b.message.contains("not UTF-8"), "{b}");
}

/// `[]` (and a body where MISP sends none) are recognised with JSON's four
/// whitespace bytes around them only: a form feed or a vertical tab makes
/// a document PHP's `json_decode` refuses, so it is not the empty answer
/// MISP's sync reads (a fuzzing finding: Rust's ASCII whitespace has the
/// form feed).
#[test]
fn short_bodies_are_trimmed_of_json_whitespace_only() {
    let cfg = config();
    let filter = br#"{"minimal": 1, "published": 1}"#;
    let answer = |body: &[u8]| {
        evaluate(
            &cfg,
            &Case {
                response: Some((body, ResponseContext::default())),
                ..exchange(
                    "192.0.2.10",
                    "misp-partner.example",
                    "POST",
                    "/galaxy_clusters/restSearch",
                    filter,
                )
            },
        )
    };
    let reset_key = |body: &[u8]| {
        evaluate(
            &cfg,
            &exchange(
                "192.0.2.10",
                "misp-partner.example",
                "POST",
                "/users/resetauthkey/me",
                body,
            ),
        )
    };
    for json_space in [&b"[]"[..], b" \t\r\n[]\r\n"] {
        answer(json_space).expect("[] in JSON whitespace");
    }
    for body in [&b""[..], b" \r\n\t", b"[]", b"\n{}\n"] {
        reset_key(body).expect("nothing in JSON whitespace");
    }
    for other in [&b"\x0c[]"[..], b"[]\x0b", b"\x0c"] {
        let b = answer(other).unwrap_err();
        assert_eq!(b.rule, Rule::MalformedBody, "{other:?}: {b}");
    }
    for other in [&b"\x0c"[..], b"\x0b[]"] {
        let b = reset_key(other).unwrap_err();
        assert_eq!(b.rule, Rule::MalformedBody, "{other:?}: {b}");
    }
}
