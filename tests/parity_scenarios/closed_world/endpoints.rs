//! The other items of the closed-world spec: the control endpoints, the
//! data of events sent apart from them, and the answers to pushes.

use super::*;

/// The control endpoints and the data of events pushed or pulled apart
/// from them (proposals, sightings), and the answers to pushes.
pub fn endpoints_and_answers() -> Vec<Scenario> {
    let proposals = format!("/events/pushProposals/{EV_PUSH}");
    let bulk = format!("/sightings/bulkSaveSightings/{EV_PUSH}");
    let proposals_index =
        |name, response: Payload, expect| pull_cw(name, SA_PATH, response).expect(expect);
    let answer = |name, path: String, response: Payload, expect| {
        Scenario::new(name, "POST", path, BRAVO_2, TO_BRAVO_1)
            .request(file(PUSHED_EVENT))
            .response(response)
            .expect(expect)
            .misp_guard(Expect::Allow)
    };
    let cluster_in_answer = |distribution: &str| {
        let doc: Value = serde_json::from_slice(&payload_bytes(&file(CLUSTER_VIEW))).unwrap();
        let mut cluster = doc["GalaxyCluster"].clone();
        let galaxy = cluster["Galaxy"].take();
        cluster["distribution"] = json!(distribution);
        for k in ["Note", "Opinion", "Relationship", "RelationshipInbound"] {
            cluster.as_object_mut().unwrap().remove(k);
        }
        let mut g = galaxy;
        g["GalaxyCluster"] = json!([cluster]);
        set("/Event/Galaxy", json!([g]))
    };
    cold(vec![
        Scenario::new(
            "getAvailableSyncFilteringRules (every tag and org name)",
            "GET",
            "/servers/getAvailableSyncFilteringRules",
            ALPHA_2,
            TO_ALPHA_1,
        )
        .response(json_payload(
            json!({"organisations": ["ORG-A", "ORG-B", "ORG-C"],
                                      "tags": ["tlp:green", "tlp:red", "closed world: a tag"]}),
        ))
        .expect(refuse(&[ENDPOINT]))
        .misp_guard(Expect::Allow)
        .twin(
            twin("getVersion")
                .path("/servers/getVersion")
                .response(json_payload(json!({"version": "2.5.1", "perm_sync": true,
                    "perm_sighting": true, "perm_galaxy_editor": true, "perm_analyst_data": true,
                    "request_encoding": ["gzip", "br"], "filter_sightings": true}))),
        ),
        push_cw(
            "filterEventIdsForPush: a key beside uuid and timestamp",
            "/events/filterEventIdsForPush",
            edited(
                FILTER_EVENT_IDS,
                &[set("/0/Event/info", json!("closed world"))],
            ),
        )
        .expect(refuse(&[UNKNOWN_KEY, "info"]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own").body(file(FILTER_EVENT_IDS))),
        push_cw(
            "proposals pushed for an event never let through",
            proposals.clone(),
            file(PROPOSALS_PUSH),
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_PUSH]))
        .misp_guard(mg_endpoint())
        .twin(
            twin("the event was let through")
                .seen(EV_PUSH)
                .misp_guard(mg_endpoint()),
        ),
        push_cw(
            "proposals pushed under another event's path",
            proposals.clone(),
            edited(PROPOSALS_PUSH, &[set("/0/event_uuid", json!(EV_OTHER))]),
        )
        .seen(EV_PUSH)
        .expect(Expect::Block(Vec::new()))
        .misp_guard(mg_endpoint())
        .twin(
            twin("MISP's own")
                .body(file(PROPOSALS_PUSH))
                .misp_guard(mg_endpoint()),
        ),
        push_cw(
            "proposal of a passport number",
            proposals,
            edited(PROPOSALS_PUSH, &[set("/0/type", json!("passport-number"))]),
        )
        .seen(EV_PUSH)
        .expect(refuse(&[TYPES, "passport-number"]))
        .misp_guard(mg_endpoint())
        .twin(
            twin("MISP's own")
                .body(file(PROPOSALS_PUSH))
                .misp_guard(mg_endpoint()),
        ),
        push_cw(
            "sightings pushed for an event never let through",
            bulk.clone(),
            file(SIGHTINGS_PUSH),
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_PUSH]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_PUSH)),
        push_cw(
            "sightings pushed in a Sighting wrapper",
            bulk,
            Payload::Bytes({
                let rows: Value =
                    serde_json::from_slice(&payload_bytes(&file(SIGHTINGS_PUSH))).unwrap();
                serde_json::to_vec(&json!({ "Sighting": rows })).unwrap()
            }),
        )
        .seen(EV_PUSH)
        .expect(Expect::Block(Vec::new()))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own").body(file(SIGHTINGS_PUSH))),
        proposals_index(
            "proposals pulled for an event never let through",
            file(PROPOSALS_INDEX),
            refuse(&[UNJUDGED_EVENT, EV_PULL]),
        )
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_PULL)),
        proposals_index(
            "proposals pulled: one of an event never let through",
            edited(
                PROPOSALS_INDEX,
                &[set("/1/ShadowAttribute/event_uuid", json!(EV_UNSEEN))],
            ),
            refuse(&[UNJUDGED_EVENT, EV_UNSEEN]),
        )
        .seen(EV_PULL)
        .misp_guard(Expect::Allow)
        .twin(twin("both of the event let through").response(file(PROPOSALS_INDEX))),
        proposals_index(
            "proposals pulled: a passport number",
            edited(
                PROPOSALS_INDEX,
                &[set("/0/ShadowAttribute/type", json!("passport-number"))],
            ),
            refuse(&[TYPES, "passport-number"]),
        )
        .seen(EV_PULL)
        .twin(twin("MISP's own").response(file(PROPOSALS_INDEX))),
        pull_cw(
            "proposals index: searchall (a content oracle)",
            SA_PATH.replace("/page:1", "/page:1/searchall:203.0.113"),
            file(PROPOSALS_INDEX),
        )
        .seen(EV_PULL)
        .expect(refuse(&[UNKNOWN_KEY, "searchall"]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own").path(SA_PATH)),
        answer(
            "push answer: RelatedEvent of an event never let through back",
            AD_PATH.to_string(),
            file(PUSH_ANSWER),
            refuse(&[UNJUDGED_EVENT, EV_SEEN]),
        )
        .twin(twin("the related event was let through").seen(EV_SEEN))
        .twin(
            twin("MISP's answer when it refuses the event")
                .status(403)
                .response(json_payload(
                    json!({"saved": false, "name": "Could not add Event",
                    "message": "Could not add Event", "url": "/events/add",
                    "errors": {"Event": ["Event already exists"]}}),
                )),
        )
        .twin(
            twin("MISP's answer when the event exists")
                .status(404)
                .response(json_payload(json!({"name": "Event already exists",
                    "message": "Event already exists", "url": "/events/add/metadata:1"}))),
        ),
        answer(
            "push answer: RelatedEvent in distribution 0",
            AD_PATH.to_string(),
            edited(
                PUSH_ANSWER,
                &[set(
                    "/Event/RelatedEvent",
                    json!([related_event(EV_SEEN, "0")]),
                )],
            ),
            refuse(&[DISTRIBUTION]),
        )
        .seen(EV_SEEN)
        .twin(twin("MISP's own answer").response(file(PUSH_ANSWER))),
        answer(
            "push answer: another event than the one pushed (edit by id)",
            ed_path(EV_PUSH),
            edited(PUSH_ANSWER, &[set("/Event/uuid", json!(EV_OTHER))]),
            refuse(&[UNJUDGED_EVENT, EV_OTHER]),
        )
        .seen(EV_SEEN)
        .twin(twin("MISP's own answer").response(file(PUSH_ANSWER))),
        answer(
            "push answer: a galaxy cluster in distribution 0",
            AD_PATH.to_string(),
            edited(PUSH_ANSWER, &[cluster_in_answer("0")]),
            refuse(&[DISTRIBUTION]),
        )
        .seen(EV_SEEN)
        .twin(
            twin("the cluster in distribution 1")
                .response(edited(PUSH_ANSWER, &[cluster_in_answer("1")])),
        ),
    ])
}
