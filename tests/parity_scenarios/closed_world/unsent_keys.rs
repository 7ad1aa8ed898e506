//! The other items of the closed-world spec: keys MISP acts on that its
//! own sync never sends, in pushed events.

use super::*;

/// Keys MISP acts on that its own sync never sends, in pushed events.
pub fn event_keys() -> Vec<Scenario> {
    let add = |name, edits: &[Edit], key| {
        push_cw(name, AD_PATH, edited(PUSHED_EVENT, edits))
            .expect(refuse(&[UNKNOWN_KEY, key]))
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's own push").body(file(PUSHED_EVENT)))
    };
    let edit = |name, edits: &[Edit], key| {
        push_cw(name, ed_path(EV_PUSH), edited(PUSHED_EVENT, edits))
            .expect(refuse(&[UNKNOWN_KEY, key]))
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's own edit push").body(file(PUSHED_EVENT)))
    };
    let attribute_tag = json!([{"id": "9", "attribute_id": "4101", "tag_id": "3", "local": 0,
                                 "relationship_type": null, "Tag": tag_row("tlp:green")}]);
    cold(vec![
        add(
            "event: a top-level Sighting beside Event (stored by MISP)",
            &[set(
                "/Sighting",
                json!([{"id": "40", "attribute_id": "4101", "event_id": "1204", "org_id": "1",
                        "date_sighting": "1727772200", "uuid": "5e200000-0000-4000-8000-000000000002",
                        "source": "", "type": "0", "attribute_uuid": A1,
                        "Organisation": {"id": "1", "uuid": ORG_A, "name": "ORG-A"}}]),
            )],
            "Sighting",
        ),
        add(
            "event: AttributeTag (saved by local tag id on some paths)",
            &[set("/Event/Attribute/0/AttributeTag", attribute_tag)],
            "AttributeTag",
        ),
        add(
            "event: EventTag on add",
            &[set(
                "/Event/EventTag",
                json!([{"id": "1", "event_id": "1204", "tag_id": "3", "local": 0,
                        "relationship_type": null, "Tag": tag_row("tlp:green")}]),
            )],
            "EventTag",
        ),
        add(
            "event: an empty tag_ids list",
            &[set("/Event/Attribute/0/tag_ids", json!([]))],
            "tag_ids",
        ),
        add(
            "event: orgc as a name (MISP creates or matches the org by name)",
            &[set("/Event/orgc", json!("ORG-B"))],
            "orgc",
        ),
        add(
            "event: breakOnDuplicate",
            &[set("/Event/breakOnDuplicate", json!(true))],
            "breakOnDuplicate",
        ),
        add(
            "attribute: encrypt (MISP zips it as a malware sample)",
            &[set("/Event/Attribute/0/encrypt", json!(true))],
            "encrypt",
        ),
        add(
            "attribute: data_raw (written to disk raw)",
            &[set("/Event/Attribute/0/data_raw", json!("MZ"))],
            "data_raw",
        ),
        add(
            "attribute: base64 (copied to data)",
            &[set("/Event/Attribute/0/base64", json!("TVo="))],
            "base64",
        ),
        edit(
            "edit: a tag marked deleted (MISP detaches it)",
            &[set("/Event/Tag/0/deleted", json!(true))],
            "deleted",
        ),
        edit(
            "edit: fast_update",
            &[set("/Event/fast_update", json!(true))],
            "fast_update",
        ),
        edit(
            "edit: xml_version beside Event",
            &[set("/xml_version", json!("2.5.1"))],
            "xml_version",
        ),
        push_tax(
            "edit: the only tlp tag marked deleted (required taxonomy)",
            ed_path(EV_PUSH),
            edited(
                PUSHED_EVENT,
                &[set(
                    "/Event/Tag",
                    json!([{"name": "tlp:clear", "deleted": true}, tag_row("type:OSINT")]),
                )],
            ),
        )
        .expect(refuse(&[UNKNOWN_KEY, "deleted"]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own edit push").body(file(PUSHED_EVENT))),
        pull_cw(
            "pulled event: AttributeTag (MISP's answer never has one)",
            view_path(EV_PULL, ""),
            edited(
                PULLED_EVENT,
                &[set(
                    "/Event/Attribute/0/AttributeTag",
                    json!([{"id": "9", "attribute_id": "5001", "tag_id": "3", "local": false,
                            "relationship_type": null, "Tag": {"id": "3", "name": "tlp:green"}}]),
                )],
            ),
        )
        .expect(refuse(&[UNKNOWN_KEY, "AttributeTag"]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own answer").response(file(PULLED_EVENT))),
        push_cw(
            "add: a named parameter MISP's sync never sends",
            "/events/add/metadata:1/disable_background_processing:1",
            file(PUSHED_EVENT),
        )
        .expect(refuse(&[UNKNOWN_KEY, "disable_background_processing"]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own push").path(AD_PATH)),
        push_cw(
            "edit: fast_update as a named parameter",
            format!("{}/fast_update:1", ed_path(EV_PUSH)),
            file(PUSHED_EVENT),
        )
        .expect(refuse(&[UNKNOWN_KEY, "fast_update"]))
        .misp_guard(Expect::Allow)
        .twin(twin("MISP's own edit push").path(leak(&ed_path(EV_PUSH)))),
        push_cw(
            "edit: the body names another event than the path",
            ed_path(EV_PUSH),
            edited(PUSHED_EVENT, &[set("/Event/uuid", json!(EV_OTHER))]),
        )
        .expect(refuse(&[MALFORMED]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event of the path").body(file(PUSHED_EVENT)))
        .twin(
            twin("by MISP's numeric id (after a 404 with Location)")
                .path("/events/edit/1204/metadata:1")
                .body(file(PUSHED_EVENT))
                .misp_guard(mg_endpoint()),
        ),
    ])
}
