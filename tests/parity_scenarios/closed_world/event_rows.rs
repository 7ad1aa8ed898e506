//! Classes 5 to 7 of the closed world: copies of referenced elements, the
//! required taxonomy at every level, and relationship targets and analyst
//! data of events.

use super::*;

/// 5. Copies: `Object[].ObjectReference[].Attribute`/`.Object` carry
///    columns of the element referenced, which may be one the sync
///    preparation removed from the event.
pub fn reference_copies() -> Vec<Scenario> {
    let view = view_path(EV_PULL, "");
    let copy = "/Event/Object/0/ObjectReference/0/Attribute";
    let answer = |name, edits: &[Edit], expect| {
        pull_cw(name, view.clone(), edited(PULLED_EVENT, edits))
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's own answer (a copy of an attribute of the event, a placeholder for one of another event)").response(file(PULLED_EVENT)))
    };
    let object_reference = |copy: Value| {
        json!({"id": "63", "uuid": "4e200000-0000-4000-8000-000000000003", "timestamp": "1727690000",
               "object_id": "41", "referenced_uuid": copy["uuid"], "referenced_id": "42",
               "referenced_type": "1", "relationship_type": "related-to", "comment": "",
               "deleted": false, "event_id": "88", "source_uuid": PO1, "Object": copy})
    };
    let with_object_reference = |copy: Value| {
        let doc: Value = serde_json::from_slice(&payload_bytes(&file(PULLED_EVENT))).unwrap();
        let mut refs = doc["Event"]["Object"][0]["ObjectReference"].clone();
        refs.as_array_mut().unwrap().push(object_reference(copy));
        set("/Event/Object/0/ObjectReference", refs)
    };
    cold(vec![
        answer(
            "reference copy: of an attribute the event does not contain",
            &[
                set(&format!("{copy}/uuid"), json!(ABSENT)),
                set(
                    "/Event/Object/0/ObjectReference/0/referenced_uuid",
                    json!(ABSENT),
                ),
            ],
            refuse(&[MALFORMED]),
        ),
        answer(
            "reference copy: of a passport number",
            &[set(&format!("{copy}/type"), json!("passport-number"))],
            refuse(&[TYPES, "passport-number"]),
        ),
        answer(
            "reference copy: in a blocked category",
            &[set(&format!("{copy}/category"), json!("Person"))],
            refuse(&[CATEGORIES, "Person"]),
        ),
        answer(
            "reference copy: in distribution 0",
            &[level(&format!("{copy}/distribution"), 0)],
            refuse(&[DISTRIBUTION]),
        ),
        answer(
            "reference copy: of an object the event does not contain",
            &[with_object_reference(json!({
                "distribution": "5", "sharing_group_id": "0", "uuid": ABSENT_OBJECT,
                "name": "domain-ip", "meta-category": "network"}))],
            refuse(&[MALFORMED]),
        )
        .twin(
            twin("a placeholder for an object of another event").response(edited(
                PULLED_EVENT,
                &[with_object_reference(json!({
                    "name": "", "meta-category": "Object from another event",
                    "category": "Object from another event", "type": "", "value": "",
                    "uuid": ABSENT_OBJECT}))],
            )),
        ),
        answer(
            "reference copy: of an object of a blocked type",
            &[with_object_reference(json!({
                "distribution": "5", "sharing_group_id": "0", "uuid": PO1,
                "name": "person", "meta-category": "misc"}))],
            refuse(&[OBJECT_TYPES, "person"]),
        ),
    ])
}

/// 6. Required taxonomy: the same at every level (`tlp:clear` beside
///    `tlp:amber` at event level), and on edit judged on what MISP stores
///    (`Tag`, never `EventTag`).
pub fn required_taxonomy() -> Vec<Scenario> {
    let clear_amber = json!([tag_row("tlp:clear"), tag_row("tlp:amber")]);
    cold(vec![
        push_tax(
            "required taxonomy: tlp:clear beside tlp:amber (push)",
            AD_PATH,
            edited(PUSHED_EVENT, &[set("/Event/Tag", clear_amber.clone())]),
        )
        .expect(refuse(&[REQUIRED]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own push (tlp:green)").body(file(PUSHED_EVENT)))
        .twin(twin("tlp:clear alone").edit(set("/Event/Tag", json!([tag_row("tlp:clear")])))),
        push_tax(
            "required taxonomy: on edit, EventTag tlp:clear, Tag tlp:amber",
            ed_path(EV_PUSH),
            edited(
                PUSHED_EVENT,
                &[
                    set("/Event/Tag", json!([tag_row("tlp:amber")])),
                    set(
                        "/Event/EventTag",
                        json!([{"id": "1", "event_id": "1204", "tag_id": "3", "local": 0,
                                "relationship_type": null, "Tag": tag_row("tlp:clear")}]),
                    ),
                ],
            ),
        )
        .expect(refuse(&[UNKNOWN_KEY, "EventTag"]))
        .misp_guard(block("event is missing required taxonomy: tlp"))
        .twin(twin("MISP's own edit push").body(file(PUSHED_EVENT))),
        Scenario::new(
            "required taxonomy: tlp:clear beside tlp:amber (pull)",
            "GET",
            view_path(EV_PULL, ""),
            ALPHA_1,
            TO_DELTA_1,
        )
        .response(edited(PULLED_EVENT, &[set("/Event/Tag", clear_amber)]))
        .expect(refuse(&[REQUIRED]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own answer (tlp:green)").response(file(PULLED_EVENT))),
    ])
}

/// 7. Relationship targets and analyst data of events: an event's row
///    without its tags, or data attached to an event, goes only where the
///    guard let that event go.
pub fn event_targets() -> Vec<Scenario> {
    let analyst_push = |name, from, to, body| {
        Scenario::new(name, "POST", "/analyst_data/pushAnalystData", from, to).request(file(body))
    };
    cold(vec![
        analyst_push(
            "relationship to an event never let through (push)",
            ALPHA_1,
            TO_ALPHA_2,
            ANALYST_PUSH_RELATIONSHIP,
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_SEEN]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_SEEN)),
        // The owner requires the tlp taxonomy: misp-guard checks the
        // target's (absent) tags and refuses; the guard asks whether it let
        // the event, tags and all, through.
        analyst_push(
            "relationship to an event never let through (push, required taxonomy)",
            DELTA_1,
            TO_ALPHA_1,
            ANALYST_PUSH_RELATIONSHIP,
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_SEEN]))
        .misp_guard(block("event is missing required taxonomies"))
        .twin(
            twin("the event was let through")
                .seen(EV_SEEN)
                .misp_guard(block("event is missing required taxonomies")),
        ),
        analyst_push(
            "note on an event never let through (push)",
            ALPHA_1,
            TO_ALPHA_2,
            ANALYST_PUSH_NOTE,
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_PUSH]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_PUSH)),
        pull_cw(
            "relationship to an event never let through (pull)",
            "/analyst_data/index/Relationship/uuid[]:d0300000-0000-4000-8000-000000000005.json",
            file(ANALYST_INDEX),
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_SEEN]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_SEEN)),
        pull_cw(
            "note on an event never let through (pull)",
            "/analyst_data/index/Note/uuid[]:d0100000-0000-4000-8000-000000000007.json",
            Payload::Bytes(analyst_note_on_event_index()),
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_PULL]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_PULL)),
    ])
}

/// `GET /analyst_data/index/Note/…` answered with a note on an event.
fn analyst_note_on_event_index() -> Vec<u8> {
    let doc: Value = serde_json::from_slice(&payload_bytes(&file(ANALYST_PUSH_NOTE))).unwrap();
    let mut note = doc["Note"].clone();
    note["id"] = json!("7");
    note["object_uuid"] = json!(EV_PULL);
    note["locked"] = json!(false);
    note["_canEdit"] = json!(false);
    serde_json::to_vec(&json!([{ "Note": note }])).unwrap()
}
