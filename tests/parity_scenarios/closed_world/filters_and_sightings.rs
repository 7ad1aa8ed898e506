//! Classes 1 and 2 of the closed world: filters switched off on the
//! index endpoints, and sightings pulls that add values.

use super::*;

/// 1. Filters switched off: `events/index` and `galaxy_clusters/restSearch`
///    read a `request` member instead of the body, case variants, `search`
///    prefixes, the last of duplicate keys; the full index answers.
pub fn filters() -> Vec<Scenario> {
    let misp_index = || {
        twin("MISP's own index request").body(json_payload(json!({"minimal": 1, "published": 1})))
    };
    let misp_index_rules = || {
        twin("MISP's index request with its pull rules").body(json_payload(json!({
            "tag": ["tlp:green", "!tlp:red"], "org": ["ORG-B"],
            "type_attribute": ["ip-src"], "type_object": ["domain-ip"],
            "minimal": 1, "published": 1})))
    };
    let index = |name, body: Value, expect| {
        post_cw(name, INDEX, json_payload(body))
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(misp_index())
            .twin(misp_index_rules())
    };
    let misp_clusters = || {
        twin("MISP's own cluster search (pull)").body(json_payload(
            json!({"published": 1, "minimal": 1, "custom": 1}),
        ))
    };
    let misp_clusters_push = || {
        twin("MISP's own cluster search (push)").body(json_payload(
            json!({"published": 1, "minimal": 1, "custom": 1, "uuid": [CL1]}),
        ))
    };
    let clusters = |name, body: Value, expect| {
        post_cw(name, CLUSTER_SEARCH, json_payload(body))
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(misp_clusters())
            .twin(misp_clusters_push())
            .twin(
                twin("MISP's cluster search for one event").body(json_payload(
                    json!({"published": 1, "minimal": 1, "custom": 1, "eventid": 88}),
                )),
            )
    };
    let index_answer = |name, response: Payload, expect| {
        Scenario::new(name, "POST", INDEX, ALPHA_2, TO_ALPHA_1)
            .request(json_payload(json!({"minimal": 1, "published": 1})))
            .response(response)
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's minimal index").response(file(INDEX_MINIMAL)))
            .twin(
                twin("304, nothing changed since the ETag")
                    .response(Payload::Bytes(Vec::new()))
                    .status(304),
            )
    };
    let clusters_answer = |name, response: Payload, expect| {
        Scenario::new(name, "POST", CLUSTER_SEARCH, ALPHA_2, TO_ALPHA_1)
            .request(json_payload(
                json!({"published": 1, "minimal": 1, "custom": 1}),
            ))
            .response(response)
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's minimal cluster list").response(file(CLUSTERS_MINIMAL)))
            .twin(twin("no clusters").response(json_payload(json!({"response": []}))))
    };
    cold(vec![
        index(
            "index: a `request` member replaces the body",
            json!({"minimal": 1, "published": 1, "request": {"minimal": 0, "published": [0, 1]}}),
            refuse(&[UNKNOWN_KEY, "request"]),
        ),
        index(
            "index: `Minimal` (MISP lower-cases the key, the last one wins)",
            json!({"minimal": 1, "published": 1, "Minimal": 0}),
            refuse(&[UNKNOWN_KEY, "Minimal"]),
        ),
        index(
            "index: `searchminimal` (MISP strips the prefix)",
            json!({"minimal": 1, "published": 1, "searchminimal": 0}),
            refuse(&[UNKNOWN_KEY, "searchminimal"]),
        ),
        post_cw(
            "index: `minimal` twice, the last one 1 (PHP keeps the last)",
            INDEX,
            raw(r#"{"minimal": 0, "published": 1, "minimal": 1}"#),
        )
        .expect(refuse(&[MALFORMED]))
        .misp_guard(Expect::Allow)
        .twin(misp_index()),
        post_cw(
            "index: `minimal` twice, the last one 0",
            INDEX,
            raw(r#"{"minimal": 1, "published": 1, "minimal": 0}"#),
        )
        .expect(refuse(&[MALFORMED]))
        .misp_guard(block(
            "{'minimal': 1, 'published': 1} is required for /events/index requests",
        ))
        .twin(misp_index()),
        post_cw(
            "index: no `minimal` at all (MISP answers the full index)",
            INDEX,
            json_payload(json!({"published": 1})),
        )
        .expect(refuse(&[MINIMAL]))
        .twin(misp_index())
        .twin(
            twin("minimal and published as MISP's own true")
                .body(json_payload(json!({"minimal": true, "published": true}))),
        )
        .twin(
            twin("minimal and published as the strings \"1\"")
                .body(json_payload(json!({"minimal": "1", "published": "1"})))
                .misp_guard(block(
                    "{'minimal': 1, 'published': 1} is required for /events/index requests",
                )),
        ),
        index(
            "index: a content oracle (`value`)",
            json!({"minimal": 1, "published": 1, "value": "198.51.100.7"}),
            refuse(&[UNKNOWN_KEY, "value"]),
        ),
        index(
            "index: `order` (passed raw into ORDER BY)",
            json!({"minimal": 1, "published": 1, "order": "Event.info ASC"}),
            refuse(&[UNKNOWN_KEY, "order"]),
        ),
        index_answer(
            "index answer: the full index (titles, tags, orgs)",
            file(INDEX_FULL),
            refuse(&[UNKNOWN_KEY]),
        ),
        index_answer(
            "index answer: a minimal row with a `Tag`",
            edited(
                INDEX_MINIMAL,
                &[set("/1/Tag", json!([{"name": "tlp:amber"}]))],
            ),
            refuse(&[UNKNOWN_KEY, "Tag"]),
        ),
        clusters(
            "cluster search: a `request` member replaces the body",
            json!({"published": 1, "minimal": 1, "custom": 1, "request": {"minimal": 0}}),
            refuse(&[UNKNOWN_KEY, "request"]),
        ),
        clusters(
            "cluster search: a filter MISP's sync never sends (`distribution`)",
            json!({"published": 1, "minimal": 1, "custom": 1, "distribution": "0"}),
            refuse(&[UNKNOWN_KEY, "distribution"]),
        ),
        post_cw(
            "cluster search: `minimal` twice, the last one 1",
            CLUSTER_SEARCH,
            raw(r#"{"published": 1, "minimal": 0, "custom": 1, "minimal": 1}"#),
        )
        .expect(refuse(&[MALFORMED]))
        .misp_guard(Expect::Allow)
        .twin(misp_clusters()),
        clusters_answer(
            "cluster search answer: full clusters",
            file(CLUSTERS_FULL),
            refuse(&[UNKNOWN_KEY]),
        ),
    ])
}

/// 2. Sightings pulls: `includeAttribute`/`includeEvent` add values, types
///    and titles; the answer carries attribute values of any event.
pub fn sightings_pulls() -> Vec<Scenario> {
    let misp = json!({"returnFormat": "json", "last": 0, "includeUuid": true, "uuid": [EV_PULL]});
    let request = |name, body: Value, expect| {
        post_cw(name, SIGHTINGS_SEARCH, json_payload(body))
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's own sightings pull").body(json_payload(misp.clone())))
            .twin(
                twin("MISP's own, with its sighting blocklist").body(json_payload(json!({
                    "returnFormat": "json", "last": 0, "includeUuid": true,
                    "uuid": [EV_PULL, EV_SEEN], "org_id": [format!("!{ORG_C}")]}))),
            )
    };
    let answer = |name, response: Payload, expect| {
        Scenario::new(name, "POST", SIGHTINGS_SEARCH, ALPHA_2, TO_ALPHA_1)
            .request(json_payload(misp.clone()))
            .response(response)
            .expect(expect)
            .misp_guard(Expect::Allow)
    };
    let mut with_attribute = misp.clone();
    with_attribute["includeAttribute"] = json!(true);
    let mut with_event = misp.clone();
    with_event["includeEvent"] = json!(true);
    cold(vec![
        request(
            "sightings pull: includeAttribute",
            with_attribute.clone(),
            refuse(&[UNKNOWN_KEY, "includeAttribute"]),
        ),
        request(
            "sightings pull: includeEvent",
            with_event,
            refuse(&[UNKNOWN_KEY, "includeEvent"]),
        ),
        request(
            "sightings pull: a `request` member replaces the body",
            json!({"request": with_attribute}),
            refuse(&[UNKNOWN_KEY, "request"]),
        ),
        answer(
            "sightings answer: of an event the guard never let through",
            file(SIGHTINGS_ANSWER),
            refuse(&[UNJUDGED_EVENT, EV_PULL]),
        )
        .twin(twin("the event was let through").seen(EV_PULL))
        .twin(twin("no sightings").response(json_payload(json!({"response": []})))),
        answer(
            "sightings answer: one of another event, never let through",
            edited(
                SIGHTINGS_ANSWER,
                &[set("/response/1/Sighting/event_uuid", json!(EV_UNSEEN))],
            ),
            refuse(&[UNJUDGED_EVENT, EV_UNSEEN]),
        )
        .seen(EV_PULL)
        .twin(twin("both of the event let through").response(file(SIGHTINGS_ANSWER))),
        answer(
            "sightings answer: with the attribute (includeAttribute's answer)",
            edited(
                SIGHTINGS_ANSWER,
                &[set(
                    "/response/0/Sighting/Attribute",
                    json!({"id": "5001", "value": "203.0.113.77", "uuid": PA1,
                           "type": "ip-src", "category": "Network activity", "to_ids": true}),
                )],
            ),
            refuse(&[UNKNOWN_KEY, "Attribute"]),
        )
        .seen(EV_PULL)
        .twin(twin("without it").response(file(SIGHTINGS_ANSWER))),
        answer(
            "sightings answer: with the event (includeEvent's answer)",
            edited(
                SIGHTINGS_ANSWER,
                &[set(
                    "/response/0/Sighting/Event",
                    json!({"id": "88", "uuid": EV_PULL, "orgc_id": "5", "org_id": "5",
                           "info": "closed world: an event as MISP 2.5 answers its own pull",
                           "Orgc": {"name": "ORG-B"}}),
                )],
            ),
            refuse(&[UNKNOWN_KEY, "Event"]),
        )
        .seen(EV_PULL)
        .twin(twin("without it").response(file(SIGHTINGS_ANSWER))),
    ])
}
